"""Query-string listings: the page number is a query parameter and the pager is script.

Seen on `info/iList.jsp?node_id=..&cat_id=..&cur_page=N`, on Hanweb's disclosure module
`/module/xxgk/search.jsp?infotypeId=..&jdid=..&divid=..&currpage=N` (rows in
`tr.tr_main_value_odd`), and on `list.jsp?...&pageNo=N` columns whose articles are
`content.jsp?code=...`. The pager's links are `javascript:` calls (`goPage(3)`,
`toPage('3')`) or a form's hidden field, so the link family sees none of them; but the page
prints how many pages there are (共5页, 页次：1/5, 第1/5页) or says so in a script
(`totalPage = 5`).

By page shape: a page parameter (one of PAGE_PARAMS in this page's URL, else one the page's
scripts, onclick handlers or form fields name) and a page count. Every page is asked for by setting the
parameter in this page's URL, in place, so the URLs match those the site's own links use.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy.http import TextResponse

from nianbao.crawler.listings.model import Listing, PageRequest

# Page parameters of real list platforms, most specific first ("page" last: Hanweb's data
# proxy link carries a `page=1` that is not a pager).
PAGE_PARAMS = ("currpage", "cur_page", "curpage", "currentpage", "pageno", "page_no", "pagenum",
               "pageindex", "page")
PAGE_COUNT_RES = (
    re.compile(r"共\s*(\d{1,4})\s*页"),
    re.compile(r"页次\s*[:：]?\s*\d{1,4}\s*/\s*(\d{1,4})"),
    re.compile(r"第\s*\d{1,4}\s*/\s*(\d{1,4})\s*页"),
    re.compile(r"\b(?:totalPages?|pageCount|totalPageCount|page_count|maxPage)\s*[=:]\s*['\"]?(\d{1,4})\b",
               re.I),
)
MAX_PAGES = 1000


def parse(response: TextResponse) -> Listing:
    count = _page_count(response.text)
    if not count or count < 2:
        return Listing()
    param, current = _page_param(response.url, _pager_code(response))
    if param is None:
        return Listing()
    first = 0 if current == 0 else 1  # some platforms count pages from 0
    numbers = [n for n in range(first, first + min(count, MAX_PAGES)) if n != current]
    return Listing(pages=[PageRequest(_with_param(response.url, param, n)) for n in numbers])


def _page_count(text: str) -> int | None:
    for pattern in PAGE_COUNT_RES:
        match = pattern.search(text)
        if match:
            return int(match.group(1))
    return None


def _pager_code(response: TextResponse) -> str:
    """Where a script pager names its parameter: scripts, onclick handlers, `javascript:`
    links and form fields. Not ordinary links: a navigation link with `?page=` says nothing
    about this list, and a pager of plain links is the link family's."""
    parts = response.xpath("//script/text() | //@onclick | //a/@href[starts-with(normalize-space(.), 'javascript')]").getall()
    parts += [f'name="{name}"' for name in response.xpath("//input/@name | //select/@name").getall()]
    return "\n".join(parts)


def _page_param(url: str, text: str) -> tuple[str | None, int]:
    """The page parameter's name as written and the current page number (1 when absent)."""
    for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if key.lower() in PAGE_PARAMS:
            return key, int(value) if value.isdigit() else 1
    named = {}
    for match in re.finditer(r"[?&]([A-Za-z_]+)=|name\s*=\s*['\"]([A-Za-z_]+)['\"]", text):
        name = match.group(1) or match.group(2)
        named.setdefault(name.lower(), name)
    for candidate in PAGE_PARAMS:
        if candidate in named:
            return named[candidate], 1
    return None, 1


def _with_param(url: str, param: str, number: int) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == param for key, _ in query):
        query = [(key, str(number) if key == param else value) for key, value in query]
    else:
        query.append((param, str(number)))
    return urlunsplit(parts._replace(query=urlencode(query), fragment=""))

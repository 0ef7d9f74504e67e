"""TRS WCM listings: the pager is written by JavaScript.

`createPageHTML(countPage, currentPage, "index", "html")` means pages index.html,
index_1.html ... index_{countPage-1}.html beside the current page. Variants put an element id
first or a record count last, so the call is read by argument shape: the first two integers are
the page count and current page, the two strings after them the page name and extension. The
older form declares `var countPage = N` (and `var currentPage = 0`) and pages by the current
file's name.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urljoin, urlsplit

from scrapy.http import TextResponse

from nianbao.crawler.listings.model import Listing, PageRequest

CREATE_PAGE_RE = re.compile(r"createPageHTML\s*\(([^)]*)\)")
COUNT_PAGE_RE = re.compile(r"\bvar\s+countPage\s*=\s*['\"]?(\d+)")
MAX_PAGES = 1000


def parse(response: TextResponse) -> Listing:
    listing = Listing()
    text = response.text
    for match in CREATE_PAGE_RE.finditer(text):
        pager = _read_call(match.group(1))
        if pager:
            count, name, ext = pager
            listing.pages.extend(_pages(response.url, count, name, ext))
    if not listing.pages:
        count = COUNT_PAGE_RE.search(text)
        if count:
            name, ext = _current_name(response.url)
            listing.pages.extend(_pages(response.url, int(count.group(1)), name, ext))
    return listing


def _read_call(arguments: str) -> tuple[int, str, str] | None:
    args = [arg.strip().strip("'\"") for arg in arguments.split(",")]
    numbers = [i for i, arg in enumerate(args) if arg.isdigit()]
    if len(numbers) < 2:
        return None
    count_index, current_index = numbers[0], numbers[1]
    names = [arg for arg in args[current_index + 1 :] if arg and not arg.isdigit()]
    if len(names) < 2 or not re.fullmatch(r"[\w.-]+", names[0]) or not names[1].isalnum():
        return None
    return int(args[count_index]), names[0], names[1]


def _current_name(url: str) -> tuple[str, str]:
    base = posixpath.basename(urlsplit(url).path) or "index.html"
    stem, _, ext = base.partition(".")
    stem = re.sub(r"_\d+$", "", stem)
    return stem or "index", ext or "html"


def _pages(url: str, count: int, name: str, ext: str) -> list[PageRequest]:
    count = min(count, MAX_PAGES)
    files = [f"{name}.{ext}"] + [f"{name}_{i}.{ext}" for i in range(1, count)]
    return [PageRequest(urljoin(url, file)) for file in files]


def article_parts(response: TextResponse) -> list[str]:
    """URLs of the further parts of a TRS article split over pages, in order.

    An article page calls `createPageHTML(2, 0, "t20190918_693227", "shtml")`: part two is
    `t20190918_693227_1.shtml`. Only a call naming this very page counts (a listing's pager
    names "index").
    """
    base = posixpath.basename(urlsplit(response.url).path)
    stem, _, ext = base.partition(".")
    if not stem or not ext:
        return []
    for match in CREATE_PAGE_RE.finditer(response.text):
        pager = _read_call(match.group(1))
        if pager and pager[1] == stem and pager[2] == ext and pager[0] > 1:
            return [page.url for page in _pages(response.url, pager[0], stem, ext)[1:]]
    return []

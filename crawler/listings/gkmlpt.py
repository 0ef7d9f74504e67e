"""Guangdong gkmlpt (政府信息公开目录平台): a shell page run by script, lists from a JSON API.

`GET {site}/gkmlpt/index` answers a shell whose script holds
`window._CONFIG = {SID: '...', TREE: [...], API_ROOT: '.../gkmlpt/api', ...}`; the browser
shows a column as `{site}/gkmlpt/index#{category}`. The list itself comes from
`GET {API_ROOT}/all/{category}?page=N&sid={SID}` (pages from 1), answering
`{"classify": {"id", "name", "post_count"}, "articles": [...], "total": N}`.

A registry source names a column in one of three ways (README, "The agency registry"):

- `{site}/gkmlpt/index#{category}`: the address bar's URL; the shell page gives SID and API;
- `{site}/gkmlpt/index`: every category of the TREE whose name reads as an annual-report
  column (年报, 年度报告);
- `{site}/gkmlpt/api/all/{category}?sid={SID}`: the API itself.

Several sites share one platform host (`host/siteA/gkmlpt/...`, `host/siteB/gkmlpt/...`) and
even category ids; only the SID tells them apart. Nothing here is keyed by host: the SID read
from a site's own shell page travels in every API URL built from it.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import chompjs
from scrapy.http import TextResponse

from nianbao.crawler.cleanup import to_simplified
from nianbao.crawler.listings.model import Entry, Listing, PageRequest

CONFIG_RE = re.compile(r"window\._CONFIG\s*=\s*(?=\{)")
SHELL_PATH_RE = re.compile(r"^(?P<site>.*?)/gkmlpt/", re.I)
# A TREE category whose name says it holds the annual reports (names are often traditional).
REPORT_COLUMN_RE = re.compile(r"年报|年度报告|年度工作报告")
CHINA = timezone(timedelta(hours=8))
MAX_PAGES = 200


def parse(response: TextResponse) -> Listing:
    data = json_reply(response)
    if data is not None:
        return _api_reply(response, data)
    if "_CONFIG" in response.text and CONFIG_RE.search(response.text):
        return _shell(response)
    return Listing()


def json_reply(response: TextResponse) -> dict | None:
    """The reply's JSON object when the body is one (whatever the Content-Type said)."""
    text = response.text.lstrip("\ufeff \t\r\n")
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


# --- the shell page -----------------------------------------------------------------------

def _shell(response: TextResponse) -> Listing:
    config = _config(response.text)
    sid = str(config.get("SID") or "").strip()
    if not sid:
        return Listing()  # no SID, no list: the page then fails as "no list entries"
    api_root = _api_root(response.url, config.get("API_ROOT"))
    if api_root is None:
        return Listing()
    category = _asked_category(response)
    categories = [category] if category else _report_columns(config.get("TREE"))
    return Listing(pages=[
        PageRequest(f"{api_root}/all/{cat}?" + urlencode({"page": 1, "sid": sid}))
        for cat in categories
    ])


def _config(text: str) -> dict:
    match = CONFIG_RE.search(text)
    try:
        config = chompjs.parse_js_object(text[match.end():])
    except ValueError:  # not an object literal after all
        return {}
    return config if isinstance(config, dict) else {}


def _api_root(page_url: str, declared) -> str | None:
    if isinstance(declared, str) and declared.strip():
        root = declared.strip().rstrip("/")
        return root if "://" in root else _join(page_url, root)
    parts = urlsplit(page_url)
    site = SHELL_PATH_RE.match(parts.path)
    if not site:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"{site['site']}/gkmlpt/api", "", ""))


def _join(page_url: str, path: str) -> str:
    parts = urlsplit(page_url)
    if path.startswith("//"):
        return f"{parts.scheme}:{path}"
    if not path.startswith("/"):
        path = "/" + path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _asked_category(response: TextResponse) -> str | None:
    """The category named in the source's fragment (`index#721`); downloads drop fragments,
    so it is read from the URL that was asked for (the first one, before any redirect)."""
    request = getattr(response, "request", None)
    if request is None:
        return None
    asked = request.meta.get("redirect_urls", [request.url])[0]
    match = re.search(r"\d+", urlsplit(asked).fragment)
    return match.group(0) if match else None


def _report_columns(tree) -> list[str]:
    found = []
    for node in _walk(tree):
        name = to_simplified(str(node.get("name") or ""))
        if REPORT_COLUMN_RE.search(name) and node.get("id") is not None and not node.get("jump_url"):
            found.append(str(node["id"]))
    return found


def _walk(nodes):
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, dict):
            yield node
            yield from _walk(node.get("children"))


# --- the JSON API -------------------------------------------------------------------------

def _api_reply(response: TextResponse, data: dict) -> Listing:
    articles = data.get("articles")
    if not isinstance(articles, list):
        return Listing()  # another JSON document (an error object, another API): no listing
    listing = Listing()
    for article in articles:
        entry = _entry(response, article)
        if entry is not None:
            listing.entries.append(entry)
    page = _page_number(response.url)
    count = _post_count(data)
    size = len(articles)
    if size == 0:
        # An empty column (count 0), or a page past the end of a list of unknown length. A
        # first page with nothing on it while the count says otherwise is not a listing.
        listing.says_empty = not count or page > 1
    elif page == 1 and count is not None:
        last = min(math.ceil(count / size), MAX_PAGES)
        listing.pages = [PageRequest(_with_page(response.url, n)) for n in range(2, last + 1)]
    elif count is None:
        listing.pages = [PageRequest(_with_page(response.url, page + 1))]
    # A later page with a known count asks for nothing: the first page asked for them all.
    return listing


def _entry(response: TextResponse, article) -> Entry | None:
    if not isinstance(article, dict):
        return None
    href = article.get("url") or article.get("post_url")
    title = article.get("title")
    if not isinstance(href, str) or not href.strip() or not isinstance(title, str):
        return None
    try:
        # A report is its URL without fragment (`post_1550012.html#1201` names the column the
        # platform shows it in, not another document).
        url = response.urljoin(href.strip()).split("#", 1)[0]
    except ValueError:
        return None
    if not url.startswith(("http://", "https://")):
        return None
    return Entry(url=url, title=re.sub(r"\s+", " ", title).strip(), date=_published(article))


def _published(article: dict) -> str | None:
    """The publication day the platform shows. `date` is the day of writing (成文日期): not
    a publication date, so it is not used here."""
    shown = article.get("display_publish_time")
    if isinstance(shown, (int, float)) and not isinstance(shown, bool) and shown > 0:
        seconds = shown / 1000 if shown > 1e11 else shown  # some platforms give milliseconds
        try:
            return datetime.fromtimestamp(seconds, CHINA).date().isoformat()
        except (OverflowError, OSError, ValueError):
            pass
    created = article.get("created_at")
    if isinstance(created, str):
        match = re.match(r"((?:19|20)\d\d)-(\d\d)-(\d\d)", created.strip())
        if match:
            return "-".join(match.groups())
    return None


def _post_count(data: dict) -> int | None:
    classify = data.get("classify")
    for value in ((classify or {}).get("post_count") if isinstance(classify, dict) else None,
                  data.get("total")):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _page_number(url: str) -> int:
    value = dict(parse_qsl(urlsplit(url).query)).get("page", "1")
    return int(value) if value.isdigit() else 1


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    return urlunsplit(parts._replace(query=urlencode([("page", page), *query])))

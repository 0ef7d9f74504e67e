"""Hanweb (大汉 JCMS) listings: the list is XML inside a script, further pages via a data proxy.

The column page carries the first group of records as CDATA in
`<script type="text/xml"><datastore><nextgroup>..</nextgroup><recordset><record>..`; an HTML
link extractor never sees them. Later groups come from the data proxy, which answers XML with
the same `<record>` items and, usually, `<totalrecord>`. Real sites differ in two ways:

- the proxy's path: `/module/web/jpage/dataproxy.jsp`, `/module/jpage/dataproxy.jsp` (a 404
  on some sites that name it), `/module/jslib/jquery/jpage/dataproxy.jsp`;
- the method: POST with `startrecord/endrecord/perpage` in the query and the column's
  parameters (`columnid`, `unitid`, `webid`...) as a form, or GET with all of them in the query.

So the column page asks for its second group the way the page names (its `<nextgroup>` link or
the jpage call's `proxyUrl`, POSTed), with the other paths and methods as alternatives the
spider tries in turn when a way fails (`PageRequest.alternatives`). The reply that answers
asks for the remaining groups the same way it was asked: once a way works, no more probing.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector
from scrapy.http import TextResponse

from nianbao.crawler.listings.model import Listing, PageRequest
from nianbao.crawler.listings.links import parse_anchors

RECORD_RE = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
NEXTGROUP_RE = re.compile(r"<nextgroup>\s*<!\[CDATA\[(.*?)\]\]>\s*</nextgroup>", re.S | re.I)
HREF_RE = re.compile(r"href\s*=\s*['\"]([^'\"]+)['\"]", re.I)
TOTAL_RE = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|totalRecord\s*[:=]\s*['\"]?(\d+)", re.I)
PERPAGE_RE = re.compile(r"<perpage>\s*(\d+)\s*</perpage>|perPage\s*[:=]\s*['\"]?(\d+)", re.I)
PROXY_URL_RE = re.compile(r"proxyUrl\s*:\s*['\"]([^'\"]+)['\"]", re.I)
RECORDSET_RE = re.compile(r"<recordset\b", re.I)
RANGE_KEYS = ("startrecord", "endrecord", "perpage")
# Where real sites serve the proxy; a page's own choice is tried first.
PROXY_PATHS = ("/module/web/jpage/dataproxy.jsp", "/module/jpage/dataproxy.jsp",
               "/module/jslib/jquery/jpage/dataproxy.jsp")
MAX_GROUPS = 200


def parse(response: TextResponse) -> Listing:
    text = response.text
    records = RECORD_RE.findall(text)
    listing = Listing()
    for fragment in records:
        listing.extend(parse_anchors(Selector(text=fragment), response.urljoin, response.url))
    listing.pages = []  # pager links inside records are not pages of this column
    asked = _asked(response)
    if asked is not None:  # a data-proxy reply
        listing.pages.extend(_after_reply(asked, text, len(records)))
        # No records where the list's length is unknown (or 0): the list simply ended here.
        # Records were expected (the total says so): not a listing, so the next way is tried.
        total = _first_int(TOTAL_RE, text)
        listing.says_empty = not records and bool(RECORDSET_RE.search(text)) and not total
    elif records:
        listing.pages.extend(_second_group(response, text, len(records)))
    return listing


def _asked(response: TextResponse) -> tuple[str, str, dict[str, str], list[tuple[str, str]]] | None:
    """How a data-proxy reply was asked for: (proxy URL without query, method, the range
    parameters, the column's parameters from the form body (POST) or the query (GET)); None
    for any other page."""
    parts = urlsplit(response.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    span = {k: v for k, v in query if k in RANGE_KEYS}
    if "startrecord" not in span:
        return None
    request = getattr(response, "request", None)
    method = request.method.upper() if request is not None else "GET"
    if method == "POST":
        body = request.body.decode("utf-8", "replace") if request.body else ""
        params = parse_qsl(body, keep_blank_values=True)
    else:
        params = query
    params = [(k, v) for k, v in params if k not in RANGE_KEYS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), method, span, params


def _after_reply(asked, text: str, seen: int) -> list[PageRequest]:
    proxy, method, span, params = asked
    try:
        start, end = int(span["startrecord"]), int(span["endrecord"])
    except (KeyError, ValueError):
        return []
    size = max(end - start + 1, 1)
    total = _first_int(TOTAL_RE, text)
    asked_perpage = span.get("perpage", "")
    perpage = _first_int(PERPAGE_RE, text) or (int(asked_perpage) if asked_perpage.isdigit() else size)
    if seen == 0 or (total is None and seen < size) or (total is not None and end >= total):
        return []  # an empty or short group, or the total reached: this was the last one
    if total is None:
        return [_group(proxy, method, params, end + 1, end + size, perpage)]
    # The total is known: ask for every remaining group now, the way this one was asked
    # (a later reply asks again with the same boundaries: Scrapy's filter drops those).
    return [
        _group(proxy, method, params, first, min(first + size - 1, total), perpage)
        for first in range(end + 1, total + 1, size)
    ][:MAX_GROUPS]


def _second_group(response: TextResponse, text: str, seen: int) -> list[PageRequest]:
    nextgroup = NEXTGROUP_RE.search(text)
    href = HREF_RE.search(nextgroup.group(1)) if nextgroup else None
    if not href:
        return []
    total = _first_int(TOTAL_RE, text)
    if total is not None and total <= seen:
        return []  # the column page holds the whole list
    link = urlsplit(response.urljoin(href.group(1).replace("&amp;", "&")))
    params = [(k, v) for k, v in parse_qsl(link.query, keep_blank_values=True)
              if k not in RANGE_KEYS and k != "page"]
    declared = [link.path]
    proxy_url = PROXY_URL_RE.search(text)
    if proxy_url:
        declared.append(urlsplit(response.urljoin(proxy_url.group(1))).path)
    origin = (link.scheme, link.netloc)
    perpage = _first_int(PERPAGE_RE, text) or seen
    end = 2 * seen if total is None else min(2 * seen, total)
    ways = [
        _group(urlunsplit((*origin, path, "", "")), method, params, seen + 1, end, perpage)
        for path in _unique(declared + list(PROXY_PATHS))
        for method in ("POST", "GET")
    ]
    first, *others = ways
    return [PageRequest(first.url, first.method, first.formdata, tuple(others))]


def _group(proxy: str, method: str, params, start: int, end: int, perpage: int) -> PageRequest:
    span = [("startrecord", str(start)), ("endrecord", str(end)), ("perpage", str(perpage))]
    if method == "POST":
        return PageRequest(url=f"{proxy}?{urlencode(span)}", method="POST", formdata=tuple(params))
    return PageRequest(url=f"{proxy}?{urlencode([*span, *params])}")


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _first_int(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    if not match:
        return None
    return int(next(group for group in match.groups() if group))

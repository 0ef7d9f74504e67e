"""Hanweb (大汉 JCMS) listings: the list is XML inside a script, further pages via a data proxy.

The column page carries the first group of records as CDATA in
`<script type="text/xml"><datastore><nextgroup>..</nextgroup><recordset><record>..`; an HTML
link extractor never sees them. Later groups come from the data proxy named in `<nextgroup>`
(`/module/web/jpage/dataproxy.jsp?...`, path differs between sites), POSTed with
`startrecord/endrecord/perpage` in the query and the column parameters in the form body; the
reply is XML with the same `<record>` items and, usually, `<totalrecord>`.
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
RANGE_KEYS = ("startrecord", "endrecord", "perpage")
MAX_GROUPS = 200


def parse(response: TextResponse) -> Listing:
    text = response.text
    records = RECORD_RE.findall(text)
    listing = Listing()
    for fragment in records:
        listing.extend(parse_anchors(Selector(text=fragment), response.urljoin, response.url))
    listing.pages = []  # pager links inside records are not pages of this column
    listing.pages.extend(_further_groups(response, text, len(records)))
    return listing


def _further_groups(response: TextResponse, text: str, seen: int) -> list[PageRequest]:
    total = _first_int(TOTAL_RE, text)
    requested = dict(parse_qsl(urlsplit(response.url).query))
    if "startrecord" in requested:  # a data-proxy reply: ask for the next group, if any
        start, end = int(requested["startrecord"]), int(requested["endrecord"])
        size = end - start + 1
        if seen == 0 or (total is None and seen < size) or (total is not None and end >= total):
            return []  # an empty or short group, or the total reached: this was the last one
        # When the column page knew the total it already asked for every group; asking again
        # with the same boundaries is a duplicate Scrapy's filter drops.
        proxy, form = _strip_range(response.url), tuple(response.request.meta.get("hanweb_form", ()))
        last = end + size if total is None else min(end + size, total)
        return [_group(proxy, form, end + 1, last, _first_int(PERPAGE_RE, text) or size)]

    nextgroup = NEXTGROUP_RE.search(text)
    if not nextgroup or seen == 0:
        return []
    href = HREF_RE.search(nextgroup.group(1))
    if not href:
        return []
    proxy_url = response.urljoin(href.group(1).replace("&amp;", "&"))
    parts = urlsplit(proxy_url)
    form = tuple((k, v) for k, v in parse_qsl(parts.query) if k not in RANGE_KEYS and k != "page")
    proxy = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    perpage = _first_int(PERPAGE_RE, text) or seen
    if total is None:
        return [_group(proxy, form, seen + 1, 2 * seen, perpage)]
    return [
        _group(proxy, form, start, min(start + seen - 1, total), perpage)
        for start in range(seen + 1, total + 1, seen)
    ][:MAX_GROUPS]


def _group(proxy: str, form, start: int, end: int, perpage: int) -> PageRequest:
    query = urlencode({"startrecord": start, "endrecord": end, "perpage": perpage})
    return PageRequest(url=f"{proxy}?{query}", method="POST", formdata=tuple(form))


def _strip_range(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _first_int(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    if not match:
        return None
    return int(next(group for group in match.groups() if group))

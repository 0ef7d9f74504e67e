"""Listing-page parsers, one small module per portal family.

A family reads a listing response and returns what it found: entries (candidate article links
with the title and date shown in the list) and further listing pages to fetch. Families are
parsed by page shape, not by vendor name, and several may apply to one page (a TRS page has
ordinary links *and* a script-written pager), so `parse_listing` runs them all and merges.
A JSON reply is read by the JSON families only (there is no HTML in it to look at).
"""

from __future__ import annotations

from scrapy.http import TextResponse

from nianbao.crawler.listings import annual_module, gkmlpt, hanweb, links, query_pager, trs
from nianbao.crawler.listings.model import Entry, Listing, PageRequest

__all__ = ["Entry", "Listing", "PageRequest", "parse_listing"]


def parse_listing(response: TextResponse) -> Listing:
    """Run every family on the page and merge their findings (duplicates removed)."""
    merged = Listing()
    json_families = (gkmlpt,)
    html_families = (hanweb, trs, gkmlpt, query_pager, annual_module, links)
    # parsel reads a JsonResponse as JSON whatever its body: XPath cannot run on it.
    is_json = gkmlpt.json_reply(response) is not None or response.selector.type == "json"
    for family in json_families if is_json else html_families:
        merged.extend(family.parse(response))
    return Listing(entries=_unique_entries(merged.entries), pages=_unique(merged.pages),
                   says_empty=merged.says_empty)


def _unique_entries(entries: list[Entry]) -> list[Entry]:
    """One entry per URL; a family that knows the entry is a report (a dedicated annual-report
    module) wins over the plain link family's reading of the same link."""
    by_url: dict[str, Entry] = {}
    for entry in entries:
        kept = by_url.get(entry.url)
        if kept is None or (entry.is_report and not kept.is_report):
            by_url[entry.url] = entry if kept is None else Entry(
                entry.url, kept.title, kept.date or entry.date, is_report=True)
    return list(by_url.values())


def _unique(items, key=lambda item: item):
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out

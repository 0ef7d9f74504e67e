"""Listing-page parsers, one small module per portal family.

A family reads a listing response and returns what it found: entries (candidate article links
with the title and date shown in the list) and further listing pages to fetch. Families are
parsed by page shape, not by vendor name, and several may apply to one page (a TRS page has
ordinary links *and* a script-written pager), so `parse_listing` runs them all and merges.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from nianbao.crawler.listings import hanweb, links, trs
from nianbao.crawler.listings.model import Entry, Listing, PageRequest

__all__ = ["Entry", "Listing", "PageRequest", "parse_listing"]


def parse_listing(response: TextResponse) -> Listing:
    """Run every family on the page and merge their findings (duplicates removed)."""
    merged = Listing()
    for family in (hanweb, trs, links):
        merged.extend(family.parse(response))
    return Listing(entries=_unique(merged.entries, key=lambda e: e.url), pages=_unique(merged.pages))


def _unique(items, key=lambda item: item):
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out

"""Listing-page parsers, one small module per portal family.

A family reads a listing response and returns what it found: entries (candidate article links
with the title and date shown in the list) and further listing pages to fetch. Families are
parsed by page shape, not by vendor name, and several may apply to one page (a TRS page has
ordinary links *and* a script-written pager), so `parse_listing` runs them all and merges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scrapy.http import TextResponse


@dataclass(frozen=True)
class Entry:
    """A link in a listing: absolute URL, the title shown (or its title attribute), the date."""

    url: str
    title: str
    date: str | None = None


@dataclass(frozen=True)
class PageRequest:
    """Another listing page to fetch (GET, or POST with a form body for data proxies)."""

    url: str
    method: str = "GET"
    formdata: tuple[tuple[str, str], ...] = ()


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    pages: list[PageRequest] = field(default_factory=list)

    def extend(self, other: "Listing") -> None:
        self.entries.extend(other.entries)
        self.pages.extend(other.pages)


def parse_listing(response: TextResponse) -> Listing:
    """Run every family on the page and merge their findings (duplicates removed)."""
    from crawler.listings import hanweb, links, trs

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

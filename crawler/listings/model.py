"""What a listing family returns: entries (candidate report links) and more pages to fetch."""

from __future__ import annotations

from dataclasses import dataclass, field


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

"""What a listing family returns: entries (candidate report links) and more pages to fetch."""

from __future__ import annotations

from dataclasses import dataclass, field

from nianbao.crawler.cleanup import normalize_title


@dataclass(frozen=True)
class Entry:
    """A link in a listing: absolute URL, the title shown (or its title attribute), the date.

    Every listing title passes through here, whichever family read it, so this is where it is
    normalised like body text (``cleanup.normalize_title``: pinyin ruby debris, traditional ->
    simplified, full-width letters and digits, whitespace): a traditional listing whose titles
    read '…年度報(bào)告' was not recognised as a report, so the report was never fetched.
    ``title`` is the normalised title (what is classified, parsed for a year and handed on as
    the report's listing title); ``raw_title`` is the title as the listing showed it.
    """

    url: str
    title: str
    date: str | None = None
    raw_title: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw_title", self.raw_title or self.title)
        object.__setattr__(self, "title", normalize_title(self.title))


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

"""What a listing family returns: entries (candidate report links) and more pages to fetch."""

from __future__ import annotations

from dataclasses import dataclass, field

from nianbao.crawler.cleanup import normalize_title


@dataclass(frozen=True)
class Entry:
    """A link in a listing: absolute URL, the title shown (or its title attribute), the date.

    `is_report`: the listing itself says the entry is an annual report (a dedicated
    annual-report module lists nothing else, often under titles such as "2019年度"), so it is
    fetched whatever its title reads like.

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
    is_report: bool = False
    raw_title: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw_title", self.raw_title or self.title)
        object.__setattr__(self, "title", normalize_title(self.title))


@dataclass(frozen=True)
class PageRequest:
    """Another listing page to fetch (GET, or POST with a form body for data proxies).

    `alternatives`: other ways to ask for the same page, tried in order when this one fails
    (an HTTP error, or an answer that is not a listing): Hanweb's data proxy lives at one of
    several paths and answers GET or POST depending on the site. A request with alternatives
    is a probe; only the failure of the last alternative is a failed listing.
    """

    url: str
    method: str = "GET"
    formdata: tuple[tuple[str, str], ...] = ()
    alternatives: tuple["PageRequest", ...] = ()

    def fallback(self) -> "PageRequest | None":
        """The next way to ask, carrying the ones after it; None when none is left."""
        if not self.alternatives:
            return None
        first, *rest = self.alternatives
        return PageRequest(first.url, first.method, first.formdata, tuple(rest))


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    pages: list[PageRequest] = field(default_factory=list)
    # The page states in its data that this list (or this page of it) is empty: a JSON or XML
    # reply with a count of 0, or a page past the end of a list whose length was not given.
    says_empty: bool = False

    def extend(self, other: "Listing") -> None:
        self.entries.extend(other.entries)
        self.pages.extend(other.pages)
        self.says_empty = self.says_empty or other.says_empty

"""What the spider hands to the pipelines: plain dataclasses.

Their `repr` is short (URL, sizes), never the page: Scrapy logs items, and a dropped 8 MB page
printed in full once wrote 144 MB to stderr.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from nianbao.crawler.encoding import Decoded, decode_html

# Between the raw bytes of the parts of a split article in `ReportPage.body`, and so in
# versions.raw_page: re-extraction cuts a stored page there (crawler/report_extract.py).
PART_SEPARATOR = b"\n<!-- nianbao: next part -->\n"


@dataclass(frozen=True)
class FetchedFile:
    """An attachment of a report page as downloaded (read later, by the pipeline)."""

    url: str  # the link as the page gave it
    final_url: str
    body: bytes
    content_type: str

    def __repr__(self) -> str:
        return f"FetchedFile({_short(self.url)}: {len(self.body)} bytes {self.content_type})"


@dataclass(frozen=True)
class ReportPage:
    """A fetched report page (or attachment), before extraction.

    `html` is the page decoded by Scrapy (header, BOM, meta, then crawler.encoding's repair);
    None when the report is a binary document (PDF, DOC...) that cannot be read as text.
    """

    agency_id: str
    url: str
    final_url: str
    html: str | None
    body: bytes
    encoding: str
    fetched_at: str
    listing_title: str | None = None
    listing_date: str | None = None
    known_kind: str | None = None  # the kind stored for this URL before this crawl, if any
    known_length: int | None = None  # characters of its stored text, if any
    known_document: bool = False  # stored as a document file (PDF, DOC...), not a page
    # Further parts of an article split over pages (TRS `createPageHTML` on an article), decoded.
    more_parts: tuple[str, ...] = ()
    content_type: str = ""  # the answer's Content-Type header
    # Attachments the page links (crawler.documents.following), fetched before the page is
    # handed on; and those that could not be fetched, with the reason.
    files: tuple[FetchedFile, ...] = ()
    missing_files: tuple[tuple[str, str], ...] = ()
    etag: str | None = None  # the answer's ETag header, if any
    last_modified: str | None = None  # its Last-Modified header, if any
    # decode_html(body, encoding) as the encoding middleware computed it for a one-part page
    # (crawler.middlewares.decoded_of), so that it is not computed twice.
    decoded: Decoded | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def decoding(self) -> Decoded:
        """What decoding `body` cost: NULs dropped, bytes read in the other Chinese charset,
        bytes lost. The same pure function the encoding middleware made `html` with, so the
        counts describe `html` (and, for a split article, all its parts: `body` holds them)."""
        if self.decoded is not None and not self.more_parts:
            return self.decoded
        return decode_html(self.body, self.encoding)

    def __repr__(self) -> str:
        html = "document" if self.html is None else f"{len(self.html)} chars"
        parts = f", {1 + len(self.more_parts)} parts" if self.more_parts else ""
        files = f", {len(self.files)} files" if self.files else ""
        return (f"ReportPage({self.agency_id} {_short(self.url)}: {len(self.body)} bytes "
                f"{self.encoding}, {html}{parts}{files})")


@dataclass(frozen=True)
class ReportSeen:
    """A known live report that answered as itself without being extracted: a 304 to a
    conditional request, or the very bytes its stored validators name, read by the same
    extractor version (answer: 'not_modified' or 'same_bytes'). An unchanged sighting: no
    version, no finding, anything held for the report cleared (store.freshness.seen)."""

    agency_id: str
    url: str
    report_id: int
    answer: str
    fetched_at: str
    # What the store holds for the report, so that a feed export (`scrapy crawl -O`) of a
    # re-crawl still says which report it is; the store is not written from these.
    title: str | None = None
    year: int | None = None
    kind: str | None = None
    published_date: str | None = None

    def __repr__(self) -> str:
        return f"ReportSeen({self.agency_id} {_short(self.url)}: {self.answer})"


@dataclass(frozen=True)
class ReportGone:
    """A report URL that answers as gone: 404 or 410, a soft 404, a redirect to the home page.

    Evidence only: the store removes the report after a later crawl confirms it.
    reason: http_404, http_410, soft_404 or redirect_home.
    """

    agency_id: str
    url: str
    http_status: int | None
    reason: str = ""

    def __repr__(self) -> str:
        return f"ReportGone({self.agency_id} {_short(self.url)}: {self.reason or self.http_status})"


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

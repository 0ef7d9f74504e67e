"""What the spider hands to the pipelines: plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass


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

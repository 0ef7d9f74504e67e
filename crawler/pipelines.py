"""Item pipelines: extract the text of a fetched report, then store it.

Small classes with `from_crawler`; a rejected item raises DropItem with a reason a person can
read, and the reason also goes to the fetch log so `nianbao crawl` shows it per agency.
"""

from __future__ import annotations

import dataclasses

from scrapy.exceptions import DropItem

from nianbao.crawler.classify import ANNUAL_REPORT, classify_title, report_year
from nianbao.crawler.cleanup import to_simplified
from nianbao.crawler.extract import ExtractionError, extract_report
from nianbao.crawler.items import ReportGone, ReportPage
from nianbao.crawler.store_access import crawl_id_of, store_for
from nianbao.storage.models import PURPOSE_REPORT, ReportFetch
from nianbao.storage.store import BINARY_ENCODING


# A known report whose new text is under this share of its stored length is suspect.
COLLAPSE_RATIO = 0.3
COLLAPSE_MIN_LENGTH = 200  # short texts vary too much to judge
# A rejection reason goes to the log and to fetch_log.error: a sentence, not a page (an
# exception's text can quote megabytes of input).
MAX_REASON = 300


def _collapsed(known_length: int | None, new_length: int) -> bool:
    return bool(known_length) and known_length >= COLLAPSE_MIN_LENGTH and new_length < known_length * COLLAPSE_RATIO


class _CrawlerPipeline:
    """Both pipelines need the crawler (for the shared store and the crawl id) and its stats."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class ExtractPipeline(_CrawlerPipeline):
    """ReportPage -> storage.ReportFetch (clean simplified text, title, year, date, kind)."""

    def process_item(self, item):
        if not isinstance(item, ReportPage):
            return item
        if item.html is None:
            return self._attachment_report(item)
        if item.known_document:
            # Stored as a document file; an HTML answer at its URL is an error page.
            self._reject(item, "a document report now answers with an HTML page: not recorded")
        decoding = item.decoding
        if decoding.undecodable:
            # Not a problem of extraction: the site served something that is not text. It is a
            # failed fetch of the report (purpose 'report'), so the agency's crawl is incomplete.
            self._reject(item, f"undecodable: {decoding.describe()}", purpose=PURPOSE_REPORT)
        try:
            extracted = extract_report(
                item.html, item.final_url,
                listing_title=item.listing_title, listing_date=item.listing_date,
            )
            if item.more_parts:
                extracted = self._with_parts(extracted, item)
        except ExtractionError as exc:
            self._reject(item, f"extraction failed: {exc}")
        except Exception as exc:  # a bug or an input nobody foresaw: log it, keep crawling
            self._reject(item, f"extraction crashed: {type(exc).__name__}: {exc}")
        if item.known_kind == ANNUAL_REPORT and extracted.kind != ANNUAL_REPORT and item.final_url != item.url:
            # A known report URL that now redirects to something else (often the home page) is
            # not a new version of the report; it is a site problem until it answers 404/410.
            self._reject(item, f"redirected to a page that is not the report: {item.final_url}")
        if _collapsed(item.known_length, len(extracted.text)):
            # An anti-bot or error page served with 200 looks like a report that lost most of
            # its text. A real correction rarely does that; keep the stored version and say so.
            self._reject(item, f"text shrank from {item.known_length} to {len(extracted.text)} "
                               "characters: not recorded as a new version (check the page)")
        self.stats.inc_value(f"nianbao/extracted/{extracted.method}")
        return ReportFetch(
            agency_id=item.agency_id,
            url=item.url,
            title=extracted.title,
            text=extracted.text,
            kind=extracted.kind,
            year=extracted.year,
            title_year=extracted.title_year,
            text_year=extracted.text_year,
            year_basis=extracted.year_basis,
            published_date=extracted.published_date,
            raw_page=item.body,
            raw_encoding=item.encoding,
            fetched_at=item.fetched_at,
            crawl_id=crawl_id_of(self.crawler),
            final_url=item.final_url,
            attachments=extracted.attachments,
            decoding_loss=decoding.bad_bytes,
            decoding_note=decoding.describe(),
        )

    @staticmethod
    def _with_parts(extracted, item: ReportPage):
        """Append the text (and attachments) of the further parts of a split article."""
        texts, attachments = [extracted.text], list(extracted.attachments)
        for part in item.more_parts:
            more = extract_report(part, item.final_url, listing_title=extracted.title)
            texts.append(more.text)
            attachments.extend(a for a in more.attachments if a not in attachments)
        return dataclasses.replace(
            extracted, text="\n".join(t for t in texts if t), attachments=tuple(attachments)
        )

    def _attachment_report(self, item: ReportPage) -> ReportFetch:
        """A report published only as a PDF/DOC: keep the file and the listing's metadata.

        Its text stays empty until document extraction exists; the raw file is stored, so it
        can be extracted later without a re-crawl.
        """
        title = to_simplified(item.listing_title or item.url.rsplit("/", 1)[-1])
        self.stats.inc_value("nianbao/attachment_reports")
        year = report_year(title)
        return ReportFetch(
            agency_id=item.agency_id, url=item.url, title=title, text="",
            kind=classify_title(title), year=year, title_year=year,
            year_basis="title" if year else None,
            published_date=item.listing_date, raw_page=item.body, raw_encoding=BINARY_ENCODING,
            fetched_at=item.fetched_at, crawl_id=crawl_id_of(self.crawler),
            final_url=item.final_url,
        )

    def _reject(self, item: ReportPage, reason: str, purpose: str = "extract"):
        reason = reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
        self.stats.inc_value("nianbao/rejected_pages")
        store_for(self.crawler).log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=item.agency_id, url=item.url,
            status=None, error=reason, purpose=purpose,
        )
        raise DropItem(reason)


class StorePipeline(_CrawlerPipeline):
    """Write reports (new / changed / unchanged / restored) and removals to the store."""

    def process_item(self, item):
        store = store_for(self.crawler)
        if isinstance(item, ReportFetch):
            outcome = store.record_report(item)
            self.stats.inc_value(f"nianbao/reports/{outcome}")
        elif isinstance(item, ReportGone):
            removed = store.mark_removed(
                agency_id=item.agency_id, url=item.url, http_status=item.http_status,
                crawl_id=crawl_id_of(self.crawler),
            )
            self.stats.inc_value("nianbao/reports/removed" if removed else "nianbao/reports/gone_unknown")
        return item

"""Item pipelines: judge and extract a fetched report, then store it.

Small classes with `from_crawler`; a rejected item raises DropItem with a reason a person can
read, and the reason also goes to the fetch log so `nianbao crawl` shows it per agency.
Whether a page is plausibly the report it would replace is decided by crawler/plausibility.py
against what the store holds for the URL (not against the listing's title).
"""

from __future__ import annotations

import dataclasses

from scrapy.exceptions import DropItem

from nianbao.crawler.classify import classify_title, report_year
from nianbao.crawler.cleanup import to_simplified
from nianbao.crawler.extract import ExtractionError, extract_report
from nianbao.crawler.items import ReportGone, ReportPage
from nianbao.crawler.plausibility import GONE, TRANSIENT, KnownReport, has_end, judge_page, judge_text
from nianbao.crawler.store_access import crawl_id_of, store_for
from nianbao.config.registry import parse_duration
from nianbao.storage.history import HELD
from nianbao.storage.models import ReportFetch
from nianbao.storage import BINARY_ENCODING


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
        known = self._known(item)
        verdict = judge_page(url=item.url, final_url=item.final_url, html=item.html,
                             body=item.body, content_type=item.content_type, known=known)
        if verdict is not None and verdict.kind == GONE:
            return self._gone(item, verdict.reason)
        if verdict is not None and verdict.kind == TRANSIENT:
            self._reject(item, f"{verdict.reason}: not the report, not recorded as a new version")
        suspect = verdict.reason if verdict else None
        if item.html is None:
            return dataclasses.replace(self._attachment_report(item), suspect=suspect)
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
        text_verdict = judge_text(kind=extracted.kind, text=extracted.text, known=known, html=item.html)
        if text_verdict is not None and text_verdict.kind == TRANSIENT:
            self._reject(item, f"{text_verdict.reason}: not recorded as a new version")
        if suspect is None and text_verdict is not None:
            suspect = text_verdict.reason
        if suspect:
            self.stats.inc_value("nianbao/suspect_pages")
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
            suspect=suspect,
        )

    def _known(self, item: ReportPage) -> KnownReport | None:
        """What the store holds for this URL: the judge compares with that, whatever the
        listing's title says now."""
        row = store_for(self.crawler).history.known_report(item.agency_id, item.url)
        if row is None:
            return None
        return KnownReport(kind=row["kind"], title=row["title"], text_length=row["text_length"] or 0,
                           document=row["raw_encoding"] == BINARY_ENCODING,
                           content_hash=row["content_hash"],
                           ended=None if row["raw_encoding"] == BINARY_ENCODING else has_end(row["raw_tail"]))

    def _gone(self, item: ReportPage, reason: str) -> ReportGone:
        """A page that says the report is not there: evidence of a removal, not a version.
        The fetch log says so ('gone:' is not a failure of the site)."""
        self.stats.inc_value(f"nianbao/gone/{reason}")
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=item.agency_id, url=item.url,
            status=None, error=f"gone: {reason} (answered at {item.final_url})"[:500],
            purpose="extract",
        )
        return ReportGone(agency_id=item.agency_id, url=item.url, http_status=None, reason=reason)

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

    def _reject(self, item: ReportPage, reason: str):
        self.stats.inc_value("nianbao/rejected_pages")
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=item.agency_id, url=item.url,
            status=None, error=reason, purpose="extract",
        )
        raise DropItem(reason)


class StorePipeline(_CrawlerPipeline):
    """Write reports (new / changed / unchanged / restored) to the store; hold suspect pages
    and evidence of removals until a later crawl confirms them (NIANBAO_CONFIRM_*_AFTER)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.confirm_change_after = parse_duration(
            crawler.settings.get("NIANBAO_CONFIRM_CHANGE_AFTER")).total_seconds()

    def process_item(self, item):
        store = store_for(self.crawler)
        if isinstance(item, ReportFetch):
            if item.suspect:
                outcome = store.history.record_suspect(item, confirm_after=self.confirm_change_after)
                if outcome == HELD:  # the page did not become a version: the fetch log says why
                    store.crawls.log_fetch(
                        crawl_id=item.crawl_id, agency_id=item.agency_id, url=item.url, status=None,
                        error=f"held: {item.suspect}; recorded only if a later crawl sees the same text",
                        purpose="extract")
            else:
                outcome = store.history.record_report(item)
            self.stats.inc_value(f"nianbao/reports/{outcome}")
        elif isinstance(item, ReportGone):
            noted = store.history.note_gone(
                agency_id=item.agency_id, url=item.url, reason=item.reason or "gone",
                http_status=item.http_status, crawl_id=crawl_id_of(self.crawler),
            )
            self.stats.inc_value("nianbao/reports/gone_evidence" if noted else "nianbao/reports/gone_unknown")
        return item

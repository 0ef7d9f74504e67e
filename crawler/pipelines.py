"""Item pipelines: judge and extract a fetched report, then store it.

Small classes with `from_crawler`; a rejected item raises DropItem with a reason a person can
read, and the reason also goes to the fetch log so `nianbao crawl` shows it per agency.
Whether a page is plausibly the report it would replace is decided by crawler/plausibility.py
against what the store holds for the URL (not against the listing's title).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from scrapy.exceptions import DropItem

from nianbao.config.issuers import IssuerIndex
from nianbao.crawler.extract import EXTRACTOR_VERSION, PLACEHOLDER, ExtractionError
from nianbao.crawler.items import ReportGone, ReportPage, ReportSeen
from nianbao.crawler.documents.combine import read_file
from nianbao.crawler.documents.isolate import DocumentLimits
from nianbao.crawler.report_extract import (
    extract_document,
    extract_pages,
    reextract_stored_files,
    reextraction,
    stored_fields,
    stored_page,
    take_in_files,
)
from nianbao.crawler.plausibility import GONE, TRANSIENT, KnownReport, has_end, judge_page, judge_text
from nianbao.crawler.store_access import batch_for, crawl_id_of, store_for
from nianbao.config.registry import parse_duration
from nianbao.storage.held import HELD
from nianbao.storage.models import PURPOSE_REPORT, AgencyRecord, ReportFetch, content_hash
from nianbao.storage import BINARY_ENCODING, AttachmentFile, with_attachment_marks

# A rejection reason goes to the log and to fetch_log.error: a sentence, not a page (an
# exception's text can quote megabytes of input).
MAX_REASON = 300

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class _Document:
    """What ExtractPipeline._judge says of a binary file linked as the report: read it."""

    suspect: str | None


def _asyncio_reactor() -> bool:
    """Is the reactor asyncio's (threads can be awaited)? Not when no reactor runs (a test
    calling the pipeline directly)."""
    from scrapy.utils.reactor import is_asyncio_reactor_installed, is_reactor_installed

    return is_reactor_installed() and is_asyncio_reactor_installed()


def _known(row) -> KnownReport | None:
    """What the store holds for the page's URL (history.known_report): the judge compares
    with that, whatever the listing's title says now."""
    if row is None:
        return None
    return KnownReport(kind=row["kind"], title=row["title"], text_length=row["text_length"] or 0,
                       document=row["raw_encoding"] == BINARY_ENCODING,
                       content_hash=row["content_hash"],
                       ended=None if row["raw_encoding"] == BINARY_ENCODING else has_end(row["raw_tail"]))


def _bounded(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


class _CrawlerPipeline:
    """Both pipelines need the crawler (for the shared store and the crawl id) and its stats."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class ExtractPipeline(_CrawlerPipeline):
    """ReportPage -> storage.ReportFetch (clean simplified text, title, year, date, kind, issuer).

    A report whose stored text an older extractor made (EXTRACTOR_VERSION) is first
    re-extracted from its stored raw page and recorded as such: what this fetch is then
    compared with is what this extractor makes of the stored page, so a change of extraction
    is never taken for a change of the report (nor judged suspect against the old text).
    """

    def __init__(self, crawler):
        super().__init__(crawler)
        self._issuers: IssuerIndex | None = None
        self._synced: set[str] = set()
        self.document_limits = DocumentLimits.from_settings(crawler.settings)
        self.workers = crawler.settings.getint("NIANBAO_EXTRACT_WORKERS")
        self._pool: ProcessPoolExecutor | None = None

    def open_spider(self, spider=None):
        """Start the extraction worker now, before any request is in flight: starting a
        process blocks the reactor thread for the seconds it takes to import the extractor,
        and downloads waiting meanwhile would time out."""
        pool = self._worker_pool()
        if pool is not None:
            pool.submit(int).result()

    def close_spider(self, spider=None):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _worker_pool(self) -> ProcessPoolExecutor | None:
        """The extraction processes (NIANBAO_EXTRACT_WORKERS), started on first use; None
        to extract on the reactor thread (no workers, or a reactor other than asyncio's)."""
        if self.workers <= 0:
            return None
        if self._pool is None:
            from scrapy.utils.reactor import is_asyncio_reactor_installed

            if not is_asyncio_reactor_installed():
                self.workers = 0
                return None
            # forkserver: workers start from a clean process, not a fork of the reactor's
            # (threads, sockets, the SQLite connection); they import the extractor once.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["nianbao.crawler.report_extract"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    def _extract_inline(self, item: ReportPage):
        return extract_pages((item.html, *item.more_parts), item.final_url,
                             listing_title=item.listing_title, listing_date=item.listing_date)

    async def _extract_in_worker(self, item: ReportPage, pool: ProcessPoolExecutor):
        """extract_pages in a worker process: the reactor thread goes on downloading and
        storing meanwhile (both cores busy). A dead worker is replaced next time."""
        try:
            return await asyncio.wrap_future(pool.submit(
                extract_pages, (item.html, *item.more_parts), item.final_url,
                listing_title=item.listing_title, listing_date=item.listing_date))
        except BrokenProcessPool:  # a worker died (killed, out of memory)
            self.stats.inc_value("nianbao/extract_workers_lost")
            self._pool = None
            return self._extract_inline(item)


    def counts_for(self, agency_id: str, issuer: str | None) -> str | None:
        """The agency a report found on `agency_id`'s site and naming `issuer` counts for,
        against the whole registry (its index is built on first use). Without a registry (a
        spider that has none) the host; `nianbao check` decides again against its registry."""
        registry = getattr(self.crawler.spider, "registry", None)
        if registry is None:
            return agency_id
        if self._issuers is None:
            self._issuers = IssuerIndex(registry.agencies)
        counted = self._issuers.counts_for(agency_id, issuer)
        if counted is not None and counted != agency_id and counted not in self._synced:
            # The crawl synced only its own agencies; the issuer's row must exist too.
            store_for(self.crawler).agencies.sync([AgencyRecord.from_agency(registry.get(counted))])
            self._synced.add(counted)
        return counted

    async def process_item(self, item):
        """A ReportFetch, a ReportGone, or DropItem. The text is extracted in a worker process
        (NIANBAO_EXTRACT_WORKERS) and files are read in their child processes from a thread,
        so the reactor thread goes on downloading meanwhile."""
        if not isinstance(item, ReportPage):
            return item
        judged = self._judge(item)
        if isinstance(judged, ReportGone):
            return judged
        if isinstance(judged, _Document):  # a file linked as the report: its text is the report's
            file = await self._read_file(item.url, item.body, item.content_type, item.final_url)
            return dataclasses.replace(self._attachment_report(item, file), suspect=judged.suspect)
        pool = self._worker_pool()
        if pool is None:
            extracted = self._attempt(lambda: self._extract_inline(item))
        else:
            try:
                extracted = await self._extract_in_worker(item, pool)
            except Exception as exc:  # noqa: BLE001 - judged like an inline failure
                extracted = exc
        self._check_extracted(item, extracted)
        files = await self._read_files(item)
        return self._read(item, *judged, extracted, files)

    @staticmethod
    def _attempt(extract):
        try:
            return extract()
        except Exception as exc:  # noqa: BLE001 - judged in _check_extracted
            return exc

    def _judge(self, item: ReportPage):
        """Before extraction: catch up an older extractor's text, judge the page against the
        store. A ReportGone, a _Document to read, or (known, suspect, decoding) to extract;
        DropItem for a page that is not the report."""
        history = store_for(self.crawler).history
        row = history.known_report(item.agency_id, item.url)
        if self._catch_up(item, row):
            row = history.known_report(item.agency_id, item.url)  # as re-extracted
        known = _known(row)
        verdict = judge_page(url=item.url, final_url=item.final_url, html=item.html,
                             body=item.body, content_type=item.content_type, known=known)
        if verdict is not None and verdict.kind == GONE:
            return self._gone(item, verdict.reason)
        if verdict is not None and verdict.kind == TRANSIENT:
            self._reject(item, f"{verdict.reason}: not the report, not recorded as a new version")
        suspect = verdict.reason if verdict else None
        if item.html is None:
            return _Document(suspect)
        self._check_files(item)
        decoding = item.decoding
        if decoding.undecodable:
            # Not a problem of extraction: the site served something that is not text. It is a
            # failed fetch of the report (purpose 'report'), so the agency's crawl is incomplete.
            self._reject(item, f"undecodable: {decoding.describe()}", purpose=PURPOSE_REPORT)
        return known, suspect, decoding

    def _check_extracted(self, item: ReportPage, extracted) -> None:
        """Extraction raised: the page is rejected (the fetch log says why)."""
        if isinstance(extracted, ExtractionError):
            self._reject(item, f"extraction failed: {extracted}")
        if isinstance(extracted, Exception):  # a bug or an input nobody foresaw: log it, keep crawling
            self._reject(item, f"extraction crashed: {type(extracted).__name__}: {extracted}")

    def _read(self, item: ReportPage, known, suspect, decoding, extracted, files) -> ReportFetch:
        """After extraction and the files' reading: judge the text."""
        files_read_first = False
        if files:
            files_read_first = self._read_first(item, extracted.text, files)
            # the files' tables (text rows) are read with the text they add: the statistics
            # of a report that only points at its PDF are there
            extracted = take_in_files(extracted, files, (item.html, *item.more_parts))
        text_verdict = judge_text(kind=extracted.kind, text=extracted.text, known=known, html=item.html)
        if text_verdict is not None and text_verdict.kind == TRANSIENT:
            self._reject(item, f"{text_verdict.reason}: not recorded as a new version")
        if suspect is None and text_verdict is not None:
            suspect = text_verdict.reason
        if suspect is None and known is not None and decoding.bad_bytes:
            # Bytes no charset could read were dropped: the text may differ from the stored
            # one only by the damage. Held until a later crawl reads the same text again.
            suspect = f"damaged: {decoding.describe()}"
        if suspect:
            self.stats.inc_value("nianbao/suspect_pages")
        self.stats.inc_value(f"nianbao/extracted/{extracted.method}")
        if extracted.method == PLACEHOLDER:  # stored without text: say why, once per page
            logger.info("%s: %s", item.url, _bounded(extracted.reasons[-1] if extracted.reasons else PLACEHOLDER))
        return self._fetch(item, extracted, raw_encoding=item.encoding, suspect=suspect,
                           decoding_loss=decoding.bad_bytes, decoding_note=decoding.describe(),
                           files=files, raw_page=with_attachment_marks(item.body, files),
                           files_read_first=files_read_first)

    def _read_first(self, item: ReportPage, page_text: str, files) -> bool:
        """Is the stored text this page's own text, made without some of these files? Then
        what the files add is nianbao reading more, not the report changing."""
        store = store_for(self.crawler)
        known = store.history.known_report(item.agency_id, item.url)
        if known is None or known["content_hash"] != content_hash(page_text):
            return False
        before = store.attachments.urls(item.agency_id, item.url)
        return any(f.url not in before and f.text for f in files)

    def _check_files(self, item: ReportPage) -> None:
        """A file this report was read with before that could not be fetched now (a timeout,
        a 5xx, a 404 of the file alone): without it the text would look changed, so nothing is
        recorded this time. A file never read before is simply left out (fetch_log says why)."""
        if not item.missing_files:
            return
        before = store_for(self.crawler).attachments.urls(item.agency_id, item.url)
        lost = [(url, reason) for url, reason in item.missing_files if url in before]
        if lost:
            url, reason = lost[0]
            self._reject(item, f"attachment {url} could not be fetched ({reason}): "
                               "not recorded this time", purpose="attachment")

    async def _read_files(self, item: ReportPage):
        """Each fetched attachment read (in a child process, under the document limits)."""
        files = []
        for fetched in item.files:
            file = await self._read_file(fetched.url, fetched.body, fetched.content_type, fetched.final_url)
            if file.extraction_status != "ok":
                logger.info("%s: attachment %s: %s (%s)", item.url, fetched.url,
                            file.extraction_status, _bounded(file.reason))
            files.append(file)
        broken = [f for f in files if f.extraction_status == "malformed"]
        if broken:
            # A file read before that is broken now (cut in transfer, a gateway's junk) is
            # damage, not a new text: the report waits for a crawl that reads it whole.
            before = store_for(self.crawler).attachments.urls(item.agency_id, item.url, status="ok")
            damaged = [f for f in broken if f.url in before]
            if damaged:
                self._reject(item, f"attachment {damaged[0].url} was read before and is unreadable now "
                                   f"({damaged[0].reason}): not recorded this time", purpose="attachment")
        return tuple(files)

    async def _read_file(self, url: str, body: bytes, content_type: str, final_url: str | None) -> AttachmentFile:
        """A file read in a child process, or what reading the same bytes with this extractor
        gave before (store.attachments.reading): an unchanged file is not read again.

        The child is waited for in a thread under the asyncio reactor: a read takes from a
        third of a second (the child's start) to NIANBAO_DOCUMENT_TIMEOUT, and on the reactor
        thread it stopped every download meanwhile (most of a first crawl of a portal with
        PDF reports)."""
        before = store_for(self.crawler).attachments.reading(
            hashlib.sha256(body).hexdigest(), EXTRACTOR_VERSION)
        if before is not None:
            self.stats.inc_value("nianbao/attachments/known")
            return AttachmentFile(url=url, body=body, content_type=content_type, kind=before["kind"],
                                  extraction_status=before["extraction_status"],
                                  reason=before["reason"] or "", text=before["text"], pages=before["pages"],
                                  final_url=final_url if final_url and final_url != url else None)
        read = functools.partial(read_file, url, body, content_type, final_url=final_url,
                                 limits=self.document_limits)
        file = await asyncio.to_thread(read) if _asyncio_reactor() else read()
        self.stats.inc_value(f"nianbao/attachments/{file.extraction_status}")
        return file

    def _fetch(self, item: ReportPage, extracted, *, raw_page: bytes | None = None, **more) -> ReportFetch:
        return ReportFetch(
            agency_id=item.agency_id, url=item.url,
            raw_page=item.body if raw_page is None else raw_page,
            fetched_at=item.fetched_at, crawl_id=crawl_id_of(self.crawler),
            final_url=item.final_url, listing_title=item.listing_title,
            listing_date=item.listing_date,
            counts_for=self.counts_for(item.agency_id, extracted.issuer),
            # A split article's headers describe its first part only: no validators (nor for
            # a page linking files: storage.history keeps none for it).
            etag=None if item.more_parts else item.etag,
            last_modified=None if item.more_parts else item.last_modified,
            **stored_fields(extracted), **more,
        )

    def _catch_up(self, item: ReportPage, known) -> bool:
        """Re-extract the stored page of a report an older extractor read (see the class);
        True if it tried (the stored row may have changed)."""
        store = store_for(self.crawler)
        if known is None or (known["extractor_version"] is not None
                             and known["extractor_version"] >= EXTRACTOR_VERSION):
            return False
        for row in store.history.stored_pages(report_id=known["id"]):
            try:
                extracted, files = reextract_stored_files(
                    stored_page(row, store.history.raw_page(row["raw_version_id"])),
                    store.attachments.content, self.document_limits)
            except Exception as exc:  # the fetch is still extracted and compared as before
                self.stats.inc_value("nianbao/reextract/failed")
                self.crawler.spider.logger.warning(
                    "Re-extraction of the stored page of %s failed: %s", _bounded(item.url),
                    _bounded(f"{type(exc).__name__}: {exc}"))
                continue
            outcome = store.history.record_reextraction(reextraction(
                row, extracted, crawl_id=crawl_id_of(self.crawler), files=files,
                counts_for=self.counts_for(row["agency_id"], extracted.issuer)))
            self.stats.inc_value(f"nianbao/reextract/{outcome}")
        return True

    def _gone(self, item: ReportPage, reason: str) -> ReportGone:
        """A page that says the report is not there: evidence of a removal, not a version.
        The fetch log says so ('gone:' is not a failure of the site)."""
        self.stats.inc_value(f"nianbao/gone/{reason}")
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=item.agency_id, url=item.url,
            status=None, error=_bounded(f"gone: {reason} (answered at {item.final_url})"),
            purpose="extract",
        )
        return ReportGone(agency_id=item.agency_id, url=item.url, http_status=None, reason=reason)

    def _attachment_report(self, item: ReportPage, file: AttachmentFile) -> ReportFetch:
        """A report published only as a file linked from a listing: the file read (its text
        is the report's) is kept, and the listing gives title and date
        (crawler.report_extract.extract_document)."""
        self.stats.inc_value("nianbao/attachment_reports")
        if file.extraction_status != "ok":
            logger.info("%s: %s (%s)", item.url, file.extraction_status, _bounded(file.reason))
        extracted = extract_document(item.url, item.listing_title, item.listing_date, file)
        return self._fetch(item, extracted, raw_encoding=BINARY_ENCODING, files=(file,))

    def _reject(self, item: ReportPage, reason: str, purpose: str = "extract"):
        reason = _bounded(reason)
        self.stats.inc_value("nianbao/rejected_pages")
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=item.agency_id, url=item.url,
            status=None, error=reason, purpose=purpose,
        )
        raise DropItem(reason)


class StorePipeline(_CrawlerPipeline):
    """Write reports (new / changed / unchanged / restored) to the store; hold suspect pages
    and evidence of removals until a later crawl confirms them (NIANBAO_CONFIRM_*_AFTER);
    unchanged reports seen without extraction (ReportSeen) in batches."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.confirm_change_after = parse_duration(
            crawler.settings.get("NIANBAO_CONFIRM_CHANGE_AFTER")).total_seconds()

    def process_item(self, item):
        # With the other writes of the next fraction of a second (storage/batch.py); the
        # item's own writes stay one unit (a savepoint) inside the batch.
        with batch_for(self.crawler).write():
            return self._store(item)

    def _store(self, item):
        store = store_for(self.crawler)
        if isinstance(item, (ReportFetch, ReportGone)):
            # Unchanged sightings buffered so far are written first: a page at an unknown URL
            # is judged against them (storage/moves.py: was the report seen at its own URL in
            # this crawl? then a copy of it is no move). Nothing buffered: nothing written.
            store.freshness.flush()
        if isinstance(item, ReportFetch):
            if item.suspect:
                outcome = store.held.record_suspect(item, confirm_after=self.confirm_change_after)
                if outcome == HELD:  # the page did not become a version: the fetch log says why
                    store.crawls.log_fetch(
                        crawl_id=item.crawl_id, agency_id=item.agency_id, url=item.url, status=None,
                        error=f"held: {item.suspect}; recorded only if a later crawl sees the same text",
                        purpose="extract")
            else:
                outcome = store.history.record_report(item)
            self.stats.inc_value(f"nianbao/reports/{outcome}")
        elif isinstance(item, ReportSeen):
            # Batched: one transaction per SEEN_BATCH unchanged reports, the rest at close.
            store.freshness.seen(report_id=item.report_id, agency_id=item.agency_id,
                                 crawl_id=crawl_id_of(self.crawler), at=item.fetched_at,
                                 answer=item.answer)
            self.stats.inc_value("nianbao/reports/unchanged")
        elif isinstance(item, ReportGone):
            noted = store.held.note_gone(
                agency_id=item.agency_id, url=item.url, reason=item.reason or "gone",
                http_status=item.http_status, crawl_id=crawl_id_of(self.crawler),
            )
            self.stats.inc_value("nianbao/reports/gone_evidence" if noted else "nianbao/reports/gone_unknown")
        return item

    def close_spider(self, spider=None):
        store_for(self.crawler).freshness.flush()

"""The one spider: start from every agency's listing pages, follow pagination, fetch reports.

Agency differences are data (config/agencies.yaml); portal families are code
(crawler/listings/). The spider only decides what to follow:

- listing pages: pagination of any family, at most NIANBAO_MAX_LISTING_PAGES per source;
- report pages: links whose listed title looks like a report (crawler.classify.is_report_link),
  plus the reports already in the store that the re-check rotation says are due (to notice
  changes and removals; NIANBAO_RECHECK_KNOWN_EVERY), asked first, so that a report still at
  its URL is seen there before a copy elsewhere could be taken for a move; a listing showing an
  unknown URL makes every known report of the agency due (a redesign moves them all); a link to
  a URL the store does not know waits until the agency's known reports have all answered
  (crawler/spiders/known_first.py), so a moved report is judged knowing what its old URL said;
- `discover` sources: the report column found under them (crawler/spiders/columns.py).

Re-crawls cost little when nothing changed: a known report is asked for conditionally (its
stored ETag / Last-Modified); a 304, or the very bytes of its current page under the same
extractor version, is a ReportSeen (an unchanged sighting, no extraction). Listing paging
stops at a page whose report links are all known, within NIANBAO_FULL_PASS_EVERY of a full
pass (every page followed in a complete crawl); otherwise every page is followed.

Every request carries its agency id; OriginGuardMiddleware refuses those (and their redirects)
outside the agency's configured origins, with the reason in the fetch log.

A listing page that answers but is not a listing (a block page, a soft 404, a redirect home,
junk) is a failed listing fetch (crawler/listings/validity.py), so the crawl is not complete
for that agency. A report URL answering 404/410 becomes a ReportGone item, which is only
evidence: a later crawl must confirm it (storage/held.py `settle`). Any other failure
(timeout, 5xx, connection refused, anti-bot answer, a refused request or redirect) is only
logged, so it can never mark a report removed. Every request that does not yield a page
leaves a reason in fetch_log.
"""

from __future__ import annotations

import email.utils
import hashlib
from dataclasses import replace
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from nianbao.config.registry import Agency, Registry, load_registry, parse_duration
from nianbao.crawler.classify import is_report_link
from nianbao.crawler.documents import is_document_response
from nianbao.crawler.documents.following import AttachmentFollowing
from nianbao.crawler.extract import EXTRACTOR_VERSION
from nianbao.crawler.items import PART_SEPARATOR, ReportGone, ReportPage, ReportSeen
from nianbao.crawler.listings import Entry, Listing, PageRequest, parse_listing, trs
from nianbao.crawler.listings.validity import ListingShape, listing_problem, shape_of
from nianbao.crawler.middlewares import FETCH_LOG_ID_KEY, decoded_of
from nianbao.crawler.spiders.columns import ColumnDiscovery
from nianbao.crawler.spiders.known_first import KnownReportsFirst
from nianbao.crawler.store_access import crawl_id_of, store_for
from nianbao import __version__
from nianbao.storage.models import utc_now
from nianbao.storage import BINARY_ENCODING
from nianbao.storage.freshness import ANSWER_NOT_MODIFIED, ANSWER_SAME_BYTES, Validators

GONE_STATUSES = (404, 410)


class ReportsSpider(ColumnDiscovery, KnownReportsFirst, AttachmentFollowing, scrapy.Spider):
    name = "reports"

    def __init__(self, agency: str | None = None, registry: Registry | None = None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A registry already loaded and validated by the caller (`nianbao crawl`), if any.
        self.registry = registry
        # `-a agency=a,b` or `nianbao crawl --agency a --agency b`
        self.agency_ids = [part.strip() for part in (agency or "").split(",") if part.strip()]
        self.agencies: tuple[Agency, ...] = ()
        self._listing_pages: dict[tuple[str, str], set[PageRequest]] = {}
        self._capped_sources: set[tuple[str, str]] = set()
        # Report requests bypass Scrapy's duplicate filter (so a report redirected to a page
        # fetched before is still seen, e.g. to the home page): this set keeps one per URL.
        self._report_urls: set[tuple[str, str]] = set()
        # Per agency: validators of its live reports, their URLs, those the rotation skips,
        # whether its paging may stop early, and the listing pages it did not follow.
        self._validators: dict[str, dict[str, Validators]] = {}
        self._listing_validators: dict[str, dict[str, tuple[str | None, str | None]]] = {}
        self._live: dict[str, set[str]] = {}
        self._not_due: dict[str, set[str]] = {}
        self._may_stop_paging: dict[str, bool] = {}
        self._unfollowed: dict[tuple[str, str], set[PageRequest]] = {}
        # Per agency: its known reports the rotation skipped, until a listing shows a new URL.
        self._skipped_known: dict[str, list[dict]] = {}
        # Per agency: its live reports by URL, as the store holds them.
        self._known_by_url: dict[str, dict[str, dict]] = {}

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        # The User-Agent names nianbao and NIANBAO_CONTACT_URL, also when the contact URL comes
        # from `-s`; a USER_AGENT given explicitly (above project priority) is left alone.
        if settings.getpriority("USER_AGENT") <= SETTINGS_PRIORITIES["project"]:
            contact = settings.get("NIANBAO_CONTACT_URL")
            settings.set("USER_AGENT", f"nianbao/{__version__} (+{contact})", priority="spider")

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        registry = spider.registry or load_registry(crawler.settings.get("NIANBAO_CONFIG"))
        # The whole registry stays on the spider: whose a report is (`counts_for`) is decided
        # against every agency, not only those crawled.
        spider.registry = registry
        spider.agencies = registry.select(spider.agency_ids)
        # Also how OriginGuardMiddleware finds a request's agency (request.meta["agency_id"]).
        spider.by_id = {agency.id: agency for agency in spider.agencies}
        spider.max_listing_pages = crawler.settings.getint("NIANBAO_MAX_LISTING_PAGES")
        spider.recheck_known = crawler.settings.getbool("NIANBAO_RECHECK_KNOWN_REPORTS")
        spider.conditional = crawler.settings.getbool("NIANBAO_CONDITIONAL_REQUESTS")
        spider.recheck_every = _seconds(crawler.settings, "NIANBAO_RECHECK_KNOWN_EVERY")
        spider.recheck_recent = _seconds(crawler.settings, "NIANBAO_RECHECK_RECENT")
        spider.full_pass_every = _seconds(crawler.settings, "NIANBAO_FULL_PASS_EVERY")
        crawler.signals.connect(spider.request_dropped, signal=scrapy.signals.request_dropped)
        spider.connect_known_first(crawler)
        return spider

    async def start(self):
        store = store_for(self.crawler)
        now = utc_now()
        full_passes = (store.freshness.last_full_pass([a.id for a in self.agencies])
                       if self.full_pass_every > 0 else {})
        for agency in self.agencies:
            known_reports = store.history.known_reports(agency.id)
            self._live[agency.id] = {known["url"] for known in known_reports}
            self._known_by_url[agency.id] = {known["url"]: known for known in known_reports}
            self._validators[agency.id] = store.freshness.validators(agency.id)
            self._listing_validators[agency.id] = store.crawls.listing_validators(agency.id)
            due = store.freshness.due_reports(agency.id, now=now, every=self.recheck_every,
                                              recent=self.recheck_recent)
            self._not_due[agency.id] = self._live[agency.id] - due
            last_full = full_passes.get(agency.id)
            self._may_stop_paging[agency.id] = last_full is not None and _within(
                last_full, now, self.full_pass_every)
            rechecks = []
            if self.recheck_known:
                self._skipped_known[agency.id] = [k for k in known_reports if k["url"] not in due]
                for known in known_reports:
                    if known["url"] in due:
                        request = self._recheck_request(agency, known)
                        if request is not None:
                            rechecks.append(request)
            # Before any listing of the agency can link an unknown URL (known_first.py).
            self.expect_known(agency.id, (request.url for request in rechecks))
            for source in agency.sources:
                if source in agency.discover_sources:
                    for request in self.discovered_source_requests(agency, source):
                        yield request
                else:
                    yield self._listing_request(agency, source, PageRequest(source))
            for request in rechecks:
                yield request

    def _recheck_request(self, agency: Agency, known: dict):
        # The stored title stands in for the listing's; the stored date is not the listing's
        # (it may be the page's), so it is not handed on as one. Asked first (priority 1).
        entry = Entry(known["url"], known["title"], None)
        return self._report_request(
            agency, entry, known_kind=known["kind"], known_length=known["text_length"],
            known_document=known["raw_encoding"] == BINARY_ENCODING, priority=1,
        )

    def _recheck_skipped(self, agency: Agency):
        """A listing shows a URL the store does not know: a new report, or a known one that
        moved (a redesign moves them all). Every known report the rotation skipped is asked
        now, and the unknown URL waits for their answers too (known_first.py), so that a move
        is judged against them (storage/moves.py), never against reports left unasked."""
        skipped = self._skipped_known.pop(agency.id, None)
        if not skipped:
            return
        self.crawler.stats.inc_value("nianbao/reports/rechecked_after_new_url", len(skipped))
        self._not_due[agency.id] = set()
        requests = [r for r in (self._recheck_request(agency, known) for known in skipped)
                    if r is not None]
        self.expect_known(agency.id, (request.url for request in requests))
        for request in requests:
            yield request

    # --- listings -------------------------------------------------------------------------
    def parse_listing(self, response, agency_id: str, source: str):
        agency = self.by_id[agency_id]
        store = store_for(self.crawler)
        requested = _requested_url(response)
        known = store.crawls.listing_shape(agency_id, requested)
        if response.status == 304:
            # Not modified since its last good fetch: read as that fetch (what it listed).
            listing = _replayed(known)
            if listing is None:
                self._fail(response.request, "304 Not Modified, but no earlier reading of this "
                           "listing to stand for it", "nianbao/listing_rejected")
                return
            self.crawler.stats.inc_value("nianbao/listing_not_modified")
            store.crawls.record_listing(
                agency_id, requested, crawl_id=crawl_id_of(self.crawler), entries=known["entries"],
                pages=known["pages"], signature=known["signature"], etag=known["etag"],
                last_modified=known["last_modified"], replay=known["replay"])
        else:
            listing = yield from self._read_listing(response, agency_id, requested, known)
            if listing is None:
                return
        column = response.request.meta.get("column")
        if column is not None:
            yield from self.column_listing_read(agency, column, listing, response.url)
        yield from self._follow(response, agency, source, listing)

    def _read_listing(self, response, agency_id: str, requested: str, known):
        """The listing a 200 answer holds, remembered as the last good fetch; None (and the
        failure logged, a fallback yielded) when the answer is no listing."""
        store = store_for(self.crawler)
        try:
            listing = parse_listing(response) if isinstance(response, TextResponse) else None
        except ValueError as exc:  # a JSON answer: Scrapy gives it a selector without XPath
            self._fail(response.request, f"not a listing: unreadable as a page ({exc})",
                       "nianbao/listing_rejected")
            return None
        last_good = (ListingShape(known["entries"], known["pages"], frozenset(known["signature"]))
                     if known else None)
        problem = listing_problem(response, listing, requested_url=requested, last_good=last_good)
        if problem:
            self._fail(response.request, f"not a listing: {problem}", "nianbao/listing_rejected")
            fallback = self._fallback(response.request)
            if fallback is not None:
                yield fallback
            column = response.request.meta.get("column")
            if column is not None:
                yield from self.column_listing_problem(self.by_id[agency_id], column, problem)
            return None
        shape = shape_of(response, listing)
        replay = _replay_of(listing) if _replayable(response.request) else None
        store.crawls.record_listing(agency_id, requested, crawl_id=crawl_id_of(self.crawler),
                                    entries=shape.entries, pages=shape.pages,
                                    signature=shape.signature, etag=_header(response, b"ETag"),
                                    last_modified=_settled_last_modified(response), replay=replay)
        return listing

    def _follow(self, response, agency: Agency, source: str, listing):
        """Request the listing's report links and (unless paging stops here) its pages."""
        agency_id = agency.id
        listed = new = 0
        for entry in listing.entries:
            if entry.url == response.url or not (entry.is_report or is_report_link(entry.title)):
                continue
            listed += 1
            if entry.url in self._not_due[agency_id]:  # known, live, checked recently
                self.crawler.stats.inc_value("nianbao/reports/not_due")
                continue
            if entry.url not in self._live[agency_id]:
                new += 1
                yield from self._recheck_skipped(agency)
            # Off the agency's origins? OriginGuardMiddleware refuses it and logs why.
            request = self._report_request(agency, entry)
            if request is not None and self.admit(agency_id, request) is not None:
                yield request
        if listed and not new and self._may_stop_paging[agency_id]:
            # Every report this page lists is known: older pages hold known reports too (lists
            # run newest first). A full pass within NIANBAO_FULL_PASS_EVERY read them.
            self._unfollowed.setdefault((agency_id, source), set()).update(listing.pages)
            self.crawler.stats.inc_value("nianbao/listing_paging_stopped")
            return
        for page in listing.pages:
            request = self._listing_request(agency, source, page)
            if request is not None:
                yield request

    def listing_pages_skipped(self) -> dict[str, int]:
        """agency id -> listing pages found but not followed (paging stopped early) and not
        fetched by another way either; absent: a full pass."""
        skipped: dict[str, int] = {}
        for (agency_id, source), pages in self._unfollowed.items():
            left = len(pages - self._listing_pages.get((agency_id, source), set()))
            if left:
                skipped[agency_id] = skipped.get(agency_id, 0) + left
        return skipped

    def _listing_request(self, agency: Agency, source: str, page: PageRequest,
                         column: dict | None = None):
        # Count distinct pages per source: pagers repeat their links on every page, and a
        # windowed pager ("1 ... 10 下一页") would exhaust a count of requests halfway.
        pages = self._listing_pages.setdefault((agency.id, source), set())
        if page not in pages:
            if len(pages) >= self.max_listing_pages:
                self._report_cap(agency, source)
                return None
            pages.add(page)
        # A request with alternatives is a probe: its failure is logged (purpose
        # 'listing_probe') but is not a failed listing, because the next way is tried, and
        # the failure of the last one is.
        meta = {"agency_id": agency.id, "purpose": "listing_probe" if page.alternatives else "listing",
                "listing_page": page}
        if column is not None:  # a discovered column's first page: judged as the column too
            meta["column"] = column
        kwargs = dict(
            callback=self.parse_listing,
            errback=self.listing_failed,
            cb_kwargs={"agency_id": agency.id, "source": source},
            meta=meta,
            # A source whose fragment names a column of a script-run page (gkmlpt's
            # `index#721`): two columns are two listings although the download is the same
            # page, and Scrapy's fingerprint ignores fragments.
            dont_filter=page.url == source and bool(urlsplit(source).fragment),
        )
        if page.method == "POST":
            # A list of pairs: a form may repeat a key (`appid=1&appid=1`), as sites send it.
            return scrapy.FormRequest(page.url, formdata=list(page.formdata), **kwargs)
        etag, last_modified = (self._listing_validators.get(agency.id, {}).get(page.url, (None, None))
                               if self.conditional and not page.alternatives else (None, None))
        headers = {name: value for name, value in (("If-None-Match", etag),
                                                   ("If-Modified-Since", last_modified)) if value}
        if headers:
            meta["handle_httpstatus_list"] = [304]  # read as the last good fetch (parse_listing)
        return scrapy.Request(page.url, headers=headers or None, **kwargs)

    def _fallback(self, request):
        """The next way to ask for a listing page whose way just failed, if there is one."""
        page = request.meta.get("listing_page")
        fallback = page.fallback() if page is not None else None
        if fallback is None:
            return None
        agency = self.by_id[request.meta["agency_id"]]
        self.logger.info("Listing %s did not answer as a listing; trying %s %s",
                         _short(request.url), fallback.method, _short(fallback.url))
        return self._listing_request(agency, request.cb_kwargs["source"], fallback)

    def _report_cap(self, agency: Agency, source: str) -> None:
        """Say once per source, in the fetch log, that pages were left unfetched."""
        self.crawler.stats.inc_value("nianbao/listing_page_cap_reached")
        if (agency.id, source) in self._capped_sources:
            return
        self._capped_sources.add((agency.id, source))
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=agency.id, url=source, status=None,
            error=f"listing has more than {self.max_listing_pages} pages "
                  "(NIANBAO_MAX_LISTING_PAGES); the rest were not fetched",
            purpose="listing_cap",  # not a failing site: see monitor.findings
        )

    def listing_failed(self, failure):
        self._discarded(failure)
        column = failure.request.meta.get("column")
        if column is not None:
            yield from self.column_fetch_failed(self.by_id[failure.request.meta["agency_id"]],
                                                column, failure)
        fallback = self._fallback(failure.request)
        if fallback is not None:
            yield fallback
            return
        if failure.check(IgnoreRequest):  # robots.txt or the origin guard: logged, not a failure
            self.logger.info("Listing not fetched: %s (%s)", failure.request.url,
                             _short(failure.getErrorMessage()))
            return
        # The fetch log already has the row; count it so the summary and stats show it.
        self.crawler.stats.inc_value("nianbao/listing_failures")
        self.logger.warning("Listing failed: %s (%s)", failure.request.url,
                            _short(failure.getErrorMessage()))

    def _fail(self, request, reason: str, stat: str) -> None:
        """An answer that looked fine (it is in fetch_log without an error) was useless."""
        self.crawler.stats.inc_value(stat)
        fetch_id = request.meta.get(FETCH_LOG_ID_KEY)
        if fetch_id is not None:
            store_for(self.crawler).crawls.fail_fetch(fetch_id, reason)
        self.logger.warning("%s: %s", _short(request.url), _short(reason))

    def _discarded(self, failure) -> None:
        """A response that was downloaded and then thrown away (a redirect loop, a body too
        large once decompressed) reaches an errback as IgnoreRequest; its fetch_log row says
        200 or 302 without an error. Say why, so nobody reads it as a good fetch."""
        if failure.check(IgnoreRequest) and not failure.check(HttpError):  # HttpError: status logged
            fetch_id = failure.request.meta.get(FETCH_LOG_ID_KEY)
            if fetch_id is not None:
                store_for(self.crawler).crawls.fail_fetch(
                    fetch_id, f"discarded after download: {_short(failure.getErrorMessage())}")

    def request_dropped(self, request, spider=None):
        """Scrapy's duplicate filter dropped a request (a redirect to a page fetched before):
        nothing was read for it, so the fetch log says so.

        A listing page redirected to another page of the crawl (a pager's last page sent back
        to the first) was read there: not a failure. One redirected back to itself (a loop,
        or a gateway's cookie check) was read nowhere: a failed listing fetch."""
        if request.meta.get("purpose") == "report":
            self.known_request_done(request)
        redirects = request.meta.get("redirect_urls")
        if not redirects or "agency_id" not in request.meta:
            return
        purpose = request.meta.get("purpose")
        if request.url in redirects:
            self.crawler.stats.inc_value("nianbao/redirect_loops")
            error = f"redirect loop: {_short(redirects[0])} redirects back to {_short(request.url)}; nothing read"
        else:
            error = f"redirected to {_short(request.url)}, a page already fetched in this crawl"
            purpose = f"{purpose}_redirect" if purpose == "listing" else purpose
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=request.meta["agency_id"],
            url=redirects[0], status=None, error=error, purpose=purpose,
        )

    # --- reports --------------------------------------------------------------------------
    def _report_request(self, agency: Agency, entry: Entry, known_kind: str | None = None,
                        known_length: int | None = None, known_document: bool = False,
                        priority: int = 0):
        if (agency.id, entry.url) in self._report_urls:
            return None
        self._report_urls.add((agency.id, entry.url))
        meta = {"agency_id": agency.id, "purpose": "report"}
        headers = {}
        validators = self._validators.get(agency.id, {}).get(entry.url)
        if self.conditional and validators is not None and validators.extractor_version == EXTRACTOR_VERSION:
            if validators.etag:
                headers["If-None-Match"] = validators.etag
            if validators.last_modified:
                headers["If-Modified-Since"] = validators.last_modified
            if headers:
                # Only a request that asked conditionally takes a 304 as an answer.
                meta["handle_httpstatus_list"] = [304]
        return scrapy.Request(
            entry.url,
            headers=headers or None,
            dont_filter=True,  # deduplicated above; see _report_urls
            callback=self.parse_report,
            errback=self.report_failed,
            cb_kwargs={
                "agency_id": agency.id,
                "listing_title": entry.title,
                "listing_date": entry.date,
                "known_kind": known_kind,
                "known_length": known_length,
                "known_document": known_document,
            },
            meta=meta,
            priority=priority,
        )

    def _unchanged(self, response, agency_id: str) -> ReportSeen | None:
        """A known report that answered as itself: a 304, or the bytes its validators name
        read by this extractor version (a split article's validators hash all its parts, so
        its first part alone never matches). None: extract it."""
        url = _requested_url(response)
        validators = self._validators.get(agency_id, {}).get(url)
        if validators is None or validators.extractor_version != EXTRACTOR_VERSION:
            return None
        if response.status == 304:
            answer = ANSWER_NOT_MODIFIED
        elif hashlib.sha256(response.body).hexdigest() == validators.raw_sha256:
            answer = ANSWER_SAME_BYTES
        else:
            return None
        self.crawler.stats.inc_value(f"nianbao/reports/{answer}")
        known = self._known_by_url.get(agency_id, {}).get(url) or {}
        return ReportSeen(agency_id=agency_id, url=url, report_id=validators.report_id,
                          answer=answer, fetched_at=utc_now(), title=known.get("title"),
                          year=known.get("year"), kind=known.get("kind"),
                          published_date=known.get("published_date"))

    def parse_report(self, response, agency_id, listing_title, listing_date, known_kind,
                     known_length, known_document):
        seen = self._unchanged(response, agency_id)
        if seen is not None:
            yield seen
            return
        if response.status == 304:  # a 304 we did not ask for: nothing to read, nothing lost
            self._fail(response.request, "304 Not Modified to a request that was not conditional",
                       "nianbao/unexpected_304")
            return
        is_text = isinstance(response, TextResponse) and not _is_document(response)
        page = ReportPage(
            agency_id=agency_id,
            url=_requested_url(response),
            final_url=response.url,
            html=response.text if is_text else None,
            body=response.body,
            encoding=response.encoding if is_text else BINARY_ENCODING,
            fetched_at=utc_now(),
            listing_title=listing_title,
            listing_date=listing_date,
            known_kind=known_kind,
            known_length=known_length,
            known_document=known_document,
            content_type=(response.headers.get(b"Content-Type") or b"").decode("latin-1"),
            etag=_header(response, b"ETag"),
            last_modified=_settled_last_modified(response),
            decoded=decoded_of(response) if is_text else None,
        )
        parts = trs.article_parts(response) if is_text else []
        # the last part (or the page) goes on to its attachments (crawler/documents/following.py)
        yield self._next_part(page, parts) if parts else self.with_attachments(page)

    def _next_part(self, page: ReportPage, remaining: list[str]):
        """Fetch the next part of a split article; the last one hands on the whole report."""
        return scrapy.Request(
            remaining[0],
            dont_filter=True,  # a dropped duplicate would silently lose the whole report
            callback=self.parse_part,
            errback=self.part_failed,
            cb_kwargs={"page": page, "remaining": remaining[1:]},
            meta={"agency_id": page.agency_id, "purpose": "report"},
        )

    def parse_part(self, response, page: ReportPage, remaining: list[str]):
        if not isinstance(response, TextResponse):
            self.logger.warning("Part %s of %s is not a page; report skipped", response.url, page.url)
            self.known_done(page.agency_id, page.url)
            return
        page = replace(
            page,
            more_parts=(*page.more_parts, response.text),
            # Raw bytes of every part, so that extraction can be re-run on the whole report.
            body=page.body + PART_SEPARATOR + response.body,
        )
        yield self._next_part(page, remaining) if remaining else self.with_attachments(page)

    def part_failed(self, failure):
        # Without all its parts the text would look changed: record nothing this time.
        self.known_request_done(failure.request)
        if not failure.check(IgnoreRequest):
            self.crawler.stats.inc_value("nianbao/report_failures")
        self._discarded(failure)
        self.logger.warning("Part failed: %s (%s)", failure.request.url,
                            _short(failure.getErrorMessage()))

    def report_failed(self, failure):
        request = failure.request
        self._discarded(failure)
        if failure.check(HttpError) and failure.value.response.status in GONE_STATUSES:
            status = failure.value.response.status
            yield ReportGone(
                agency_id=request.meta["agency_id"],
                url=request.meta.get("redirect_urls", [request.url])[0],
                http_status=status,
                reason=f"http_{status}",
            )
            return  # the re-check ends when the pipelines have recorded the evidence
        self.known_request_done(request)  # no item: nothing to wait for
        if failure.check(IgnoreRequest):  # robots.txt or the origin guard: logged, not a failure
            self.logger.info("Not fetched: %s (%s)", request.url, _short(failure.getErrorMessage()))
            return
        self.crawler.stats.inc_value("nianbao/report_failures")
        self.logger.warning("Report failed: %s (%s)", request.url, _short(failure.getErrorMessage()))


def _is_document(response) -> bool:
    """A PDF/DOC/... file, whatever Scrapy guessed: its first bytes, then its Content-Type
    and extension (crawler.documents.sniff)."""
    content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
    return is_document_response(response.body, content_type, response.url)


def _replayable(request) -> bool:
    """A listing a 304 may stand for: asked by GET, without other ways to ask, and without a
    fragment naming a column of a script-run page (two columns, one download)."""
    page = request.meta.get("listing_page")
    return (request.method == "GET" and not (page is not None and page.alternatives)
            and not urlsplit(request.url).fragment and not urlsplit(_first_url(request)).fragment)


def _first_url(request) -> str:
    return request.meta.get("redirect_urls", [request.url])[0]


def _replay_of(listing) -> dict | None:
    """What a 304 must give again: the report links (every field the spider reads) and the
    pager (GET pages only; a listing with other pages is not replayed)."""
    if any(page.method != "GET" or page.alternatives or page.formdata for page in listing.pages):
        return None
    entries = [[e.url, e.title, e.date, e.is_report] for e in listing.entries
               if e.is_report or is_report_link(e.title)]
    return {"entries": entries, "pages": [page.url for page in listing.pages]}


def _replayed(known) -> Listing | None:
    replay = known and known.get("replay")
    if not replay:
        return None
    return Listing(entries=[Entry(url, title, date, is_report=bool(is_report))
                            for url, title, date, is_report in replay["entries"]],
                   pages=[PageRequest(url) for url in replay["pages"]])


def _header(response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1")[:500] if value else None


# A Last-Modified this close to the answer's own time may name the same second as an edit
# still to come: If-Modified-Since with it would get a 304 for that edit (HTTP dates have
# whole seconds). Such a page is compared by its bytes instead.
SETTLED_AFTER = 60


def _settled_last_modified(response) -> str | None:
    value = _header(response, b"Last-Modified")
    if value is None:
        return None
    try:
        modified = email.utils.parsedate_to_datetime(value)
        served = email.utils.parsedate_to_datetime(_header(response, b"Date") or value)
    except (TypeError, ValueError, IndexError):
        return None
    if modified.tzinfo is None or served.tzinfo is None:
        return None
    if served.tzinfo is not None and (served - modified).total_seconds() < SETTLED_AFTER:
        return None
    return value


def _seconds(settings, name: str) -> float:
    """A duration setting in seconds ('3d', '12h', 0)."""
    return parse_duration(settings.get(name) or 0).total_seconds()


def _within(earlier: str, now: str, seconds: float) -> bool:
    import datetime as dt

    def parse(value: str) -> dt.datetime:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parse(now) - parse(earlier)).total_seconds() <= seconds


def _short(text: str, limit: int = 300) -> str:
    """Log lines stay bounded whatever a server sends."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _requested_url(response) -> str:
    """The URL we asked for (a report's identity), not where redirects ended."""
    return response.request.meta.get("redirect_urls", [response.url])[0]

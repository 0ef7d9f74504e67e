"""The one spider: start from every agency's listing pages, follow pagination, fetch reports.

Agency differences are data (config/agencies.yaml); portal families are code
(crawler/listings/). The spider only decides what to follow:

- listing pages: pagination of any family, at most NIANBAO_MAX_LISTING_PAGES per source;
- report pages: links whose listed title looks like a report (crawler.classify.is_report_link),
  plus every report already in the store (to notice removals and moves); a link to a URL the
  store does not know waits until the agency's known reports have all answered
  (crawler/spiders/known_first.py), so a moved report is judged knowing what its old URL said;
- `discover` sources: the report column found under them (crawler/spiders/columns.py).

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

from dataclasses import replace
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from nianbao.config.registry import Agency, Registry, load_registry
from nianbao.crawler.classify import is_report_link
from nianbao.crawler.documents import is_document_response
from nianbao.crawler.documents.following import AttachmentFollowing
from nianbao.crawler.items import PART_SEPARATOR, ReportGone, ReportPage
from nianbao.crawler.listings import Entry, PageRequest, parse_listing, trs
from nianbao.crawler.listings.validity import ListingShape, listing_problem, shape_of
from nianbao.crawler.middlewares import FETCH_LOG_ID_KEY
from nianbao.crawler.spiders.columns import ColumnDiscovery
from nianbao.crawler.spiders.known_first import KnownReportsFirst
from nianbao.crawler.store_access import crawl_id_of, store_for
from nianbao import __version__
from nianbao.storage.models import utc_now
from nianbao.storage import BINARY_ENCODING

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
        crawler.signals.connect(spider.request_dropped, signal=scrapy.signals.request_dropped)
        spider.connect_known_first(crawler)
        return spider

    async def start(self):
        store = store_for(self.crawler)
        for agency in self.agencies:
            rechecks = []
            if self.recheck_known:
                for known in store.history.known_reports(agency.id):
                    # The stored title stands in for the listing's; the stored date is not the
                    # listing's (it may be the page's), so it is not handed on as one.
                    entry = Entry(known["url"], known["title"], None)
                    request = self._report_request(
                        agency, entry, known_kind=known["kind"], known_length=known["text_length"],
                        known_document=known["raw_encoding"] == BINARY_ENCODING, priority=1,
                    )
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

    # --- listings -------------------------------------------------------------------------
    def parse_listing(self, response, agency_id: str, source: str):
        agency = self.by_id[agency_id]
        store = store_for(self.crawler)
        requested = _requested_url(response)
        try:
            listing = parse_listing(response) if isinstance(response, TextResponse) else None
        except ValueError as exc:  # a JSON answer: Scrapy gives it a selector without XPath
            self._fail(response.request, f"not a listing: unreadable as a page ({exc})",
                       "nianbao/listing_rejected")
            return
        known = store.crawls.listing_shape(agency_id, requested)
        last_good = (ListingShape(known["entries"], known["pages"], frozenset(known["signature"]))
                     if known else None)
        problem = listing_problem(response, listing, requested_url=requested, last_good=last_good)
        column = response.request.meta.get("column")
        if problem:
            self._fail(response.request, f"not a listing: {problem}", "nianbao/listing_rejected")
            fallback = self._fallback(response.request)
            if fallback is not None:
                yield fallback
            if column is not None:
                yield from self.column_listing_problem(agency, column, problem)
            return
        if column is not None:
            yield from self.column_listing_read(agency, column, listing, response.url)
        shape = shape_of(response, listing)
        store.crawls.record_listing(agency_id, requested, crawl_id=crawl_id_of(self.crawler),
                                    entries=shape.entries, pages=shape.pages,
                                    signature=shape.signature)
        for entry in listing.entries:
            if entry.url == response.url or not (entry.is_report or is_report_link(entry.title)):
                continue
            # Off the agency's origins? OriginGuardMiddleware refuses it and logs why.
            request = self._report_request(agency, entry)
            if request is not None and self.admit(agency_id, request) is not None:
                yield request
        for page in listing.pages:
            request = self._listing_request(agency, source, page)
            if request is not None:
                yield request

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
        return scrapy.Request(page.url, **kwargs)

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
        return scrapy.Request(
            entry.url,
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
            meta={"agency_id": agency.id, "purpose": "report"},
            priority=priority,
        )

    def parse_report(self, response, agency_id, listing_title, listing_date, known_kind,
                     known_length, known_document):
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


def _short(text: str, limit: int = 300) -> str:
    """Log lines stay bounded whatever a server sends."""
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _requested_url(response) -> str:
    """The URL we asked for (a report's identity), not where redirects ended."""
    return response.request.meta.get("redirect_urls", [response.url])[0]

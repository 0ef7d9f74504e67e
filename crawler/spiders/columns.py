"""The spider's part for `discover` sources: find the report column, use it, notice it moved.

ReportsSpider mixes this in. For a source written `{url, discover: true}`:

- a column recorded in report_columns (storage/columns.py) is crawled as the source's listing;
- none yet: discovery (crawler/discovery.py) fetches the source, the candidate columns on it
  and the disclosure pages it links to (up to NIANBAO_DISCOVERY_DEPTH links away), records the
  best column and crawls it; nothing found is a failed listing fetch (the crawl is then not
  complete for the agency, so no `missing` follows from it);
- the recorded column answering as gone (404/410, a soft 404, a redirect home, no listing, no
  reports listed while the agency has live reports) counts one failure for this crawl; a
  timeout, a 5xx or a block page counts nothing. After FAILURES_BEFORE_REDISCOVERY crawls in a
  row the source is searched again, once per crawl; a different column replaces the old one
  with one `column_moved` finding.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from nianbao.config.registry import Agency
from nianbao.crawler.discovery import (
    Candidate,
    Search,
    candidates,
    column_gone,
    column_score,
    page_links,
    reports_listed,
)
from nianbao.crawler.listings import PageRequest, parse_listing
from nianbao.crawler.listings.validity import listing_problem
from nianbao.crawler.store_access import crawl_id_of, store_for

from nianbao.storage.models import PURPOSE_DISCOVERY
GONE_STATUSES = (404, 410)


class ColumnDiscovery:
    """Mixin of ReportsSpider (which provides `_listing_request`, `crawler`, `logger`)."""

    def discovered_source_requests(self, agency: Agency, source: str):
        """The requests of one `discover` source at the start of a crawl."""
        column = store_for(self.crawler).columns.current(agency.id, source)
        if column is not None:
            yield self._column_request(agency, column)
            return
        yield from self._search(agency, source, rediscovery=False)

    def _column_request(self, agency: Agency, column: dict):
        return self._listing_request(agency, column["column_url"], PageRequest(column["column_url"]),
                                     column=column)

    # --- searching --------------------------------------------------------------------------
    def _search(self, agency: Agency, source: str, *, rediscovery: bool):
        # (agency, source) searched in this crawl; kept on the spider without touching its __init__
        searched = self.__dict__.setdefault("_searched_sources", set())
        if (agency.id, source) in searched:  # once per source and crawl, whatever fails
            return
        searched.add((agency.id, source))
        search = Search(agency.id, source, self.crawler.settings.getint("NIANBAO_DISCOVERY_DEPTH"),
                        rediscovery=rediscovery)
        self.crawler.stats.inc_value("nianbao/discovery/searches")
        yield self._discovery_request(search, Candidate(source, "", 0.0, "the source", follow=True), 0)

    def _discovery_request(self, search: Search, candidate: Candidate, depth: int):
        search.seen.add(candidate.url)
        search.pending += 1
        return scrapy.Request(
            candidate.url, callback=self.parse_discovery, errback=self.discovery_failed,
            dont_filter=True,  # counted in search.pending: a dropped duplicate would never end it
            cb_kwargs={"search": search, "candidate": candidate, "depth": depth},
            meta={"agency_id": search.agency_id, "purpose": PURPOSE_DISCOVERY},
        )

    def parse_discovery(self, response, search: Search, candidate: Candidate, depth: int):
        try:
            if isinstance(response, TextResponse):
                yield from self._read_discovery_page(response, search, candidate, depth)
        finally:
            search.pending -= 1
        if search.pending == 0:
            yield from self._conclude(search)

    def _read_discovery_page(self, response, search: Search, candidate: Candidate, depth: int):
        agency = self.by_id[search.agency_id]
        try:
            listing = parse_listing(response)
        except ValueError:
            listing = None
        # Any page read may be the column (a disclosure page given as the source may be it); a
        # page reached only as a disclosure page scores by its reports alone.
        if listing is not None and not listing_problem(
                response, listing, requested_url=candidate.url):
            reports = reports_listed(listing, response.url)
            if reports:
                search.confirmed.append(column_score(candidate, reports))
        if not candidate.follow or depth >= search.depth:
            return
        allowed = lambda url: agency.origins.refusal(url) is None  # noqa: E731
        columns, follow = candidates(page_links(response), allowed, search.refused)
        for found in columns:
            if found.url not in search.seen:
                yield self._discovery_request(search, found, depth + 1)
        if depth + 1 < search.depth:
            for found in follow:
                if found.url not in search.seen:
                    yield self._discovery_request(search, found, depth + 1)

    def discovery_failed(self, failure):
        search: Search = failure.request.cb_kwargs["search"]
        search.pending -= 1
        search.notes.append(f"{failure.request.url}: {failure.getErrorMessage()[:120]}")
        if search.pending == 0:
            yield from self._conclude(search)

    def _conclude(self, search: Search):
        """All of a search's pages are in: record the best column and crawl it."""
        store = store_for(self.crawler)
        agency = self.by_id[search.agency_id]
        best = search.best()
        if best is None:
            self.crawler.stats.inc_value("nianbao/discovery/nothing_found")
            error = (f"discovery: no annual-report column found within {search.depth} link(s) of "
                     "this page (a column is a page linked as 年报/年度报告 or under ndbg-like URLs "
                     "that lists reports)")
            if search.refused:
                hosts = sorted({urlsplit(c.url).netloc for c in search.refused})
                error += (f"; candidate columns on hosts outside the agency's origins were not "
                          f"fetched (add to `domains` if they are the agency's): {', '.join(hosts[:3])}")
            if search.notes:
                error += f"; failed: {'; '.join(search.notes[:2])}"
            # purpose 'listing': the agency's listing could not be read, so the crawl is not
            # complete for it (no `missing` follows from an empty search).
            store.crawls.log_fetch(crawl_id=crawl_id_of(self.crawler), agency_id=agency.id,
                                   url=search.source, status=None, error=error[:600],
                                   purpose="listing")
            self.logger.warning("%s: %s", agency.id, error[:300])
            return
        finding = store.columns.record_found(
            agency.id, search.source, best.url, score=best.score, reason=best.reason,
            crawl_id=crawl_id_of(self.crawler))
        if finding is not None:
            self.crawler.stats.inc_value("nianbao/discovery/column_moved")
            self.logger.warning("%s: the report column moved to %s", agency.id, best.url)
        self.logger.info("%s: report column %s (%s, score %.1f)", agency.id, best.url,
                         best.reason, best.score)
        yield self._column_request(agency, store.columns.current(agency.id, search.source))

    # --- judging the recorded column ----------------------------------------------------------
    def column_listing_read(self, agency: Agency, column: dict, listing, page_url: str):
        """The column answered as a listing: fine if it lists reports (or the agency has none
        yet); a listing without any report while the agency has live reports is gone."""
        store = store_for(self.crawler)
        if reports_listed(listing, page_url) or not store.history.known_reports(agency.id):
            store.columns.record_ok(column["id"], crawl_id=crawl_id_of(self.crawler))
            return
        yield from self.column_failed(agency, column, "the column lists no reports any more")

    def column_listing_problem(self, agency: Agency, column: dict, problem: str):
        if column_gone(problem):
            yield from self.column_failed(agency, column, problem)

    def column_fetch_failed(self, agency: Agency, column: dict, failure):
        if failure.check(HttpError) and failure.value.response.status in GONE_STATUSES:
            yield from self.column_failed(agency, column, f"HTTP {failure.value.response.status}")
        elif not failure.check(IgnoreRequest):
            self.logger.info("%s: column %s failed transiently (%s); not counted", agency.id,
                             column["column_url"], failure.getErrorMessage()[:120])

    def column_failed(self, agency: Agency, column: dict, reason: str):
        store = store_for(self.crawler)
        failures = store.columns.record_failure(column["id"], crawl_id=crawl_id_of(self.crawler),
                                                reason=reason[:300])
        self.crawler.stats.inc_value("nianbao/discovery/column_failures")
        self.logger.warning("%s: report column %s failed (%s), %d crawl(s) in a row", agency.id,
                            column["column_url"], reason[:200], failures)
        if store.columns.due_for_rediscovery({**column, "failures": failures}):
            yield from self._search(agency, column["source_url"], rediscovery=True)

"""Known reports first: a page at a URL the store does not know is judged only after every
known report of its agency has answered in this crawl.

Whether an unknown URL's page is a known report that moved (storage/moves.py) depends on what
the agency's known URLs answered in this crawl: a known report seen at its own URL is never
moved (its copy elsewhere is another page), and a report whose text changed a little with the
move is matched only once its old URL answered as gone. With concurrent downloads the answers
come in any order, and Scrapy priorities only order the queue, not the answers: a slow 404 of
an old URL would arrive after its new URL was recorded as a `new` report (then `removed` after
confirmation), and a slow re-check of a report after a copy of it was taken for a move.

So, per agency, report requests for URLs the store does not know are parked until each of
the agency's known-report re-checks has finished: its page or gone-evidence went through the
item pipelines (item_scraped / item_dropped / item_error: the store has written it), or it
ended without an item (a transient failure, a refused request, a dropped redirect, a split
article with a lost part). The findings are then right when they are written, which matters
because the daemon's delivery job may send them while a crawl is still running
(monitor/jobs.py `deliver_job`): nothing is written first and mended later.

Nothing is ever lost: when the spider goes idle with requests still parked (an end of a
re-check nobody counted), they are all released and the crawl goes on (the fetch log and
stats say so).
"""

from __future__ import annotations

from collections.abc import Iterable

import scrapy
from scrapy.exceptions import DontCloseSpider

# Scrapy stats: report requests parked behind known re-checks, and those released only when
# the spider went idle (a re-check whose end was not seen: should stay 0).
STAT_PARKED = "nianbao/reports/parked_behind_known"
STAT_RELEASED_AT_IDLE = "nianbao/reports/released_at_idle"


class KnownReportsFirst:
    """Mixin of ReportsSpider (needs `crawler`, `logger`); `connect_known_first` from
    from_crawler, `expect_known` before an agency's requests are yielded, `admit` for every
    report request of a listing."""

    def connect_known_first(self, crawler) -> None:
        # agency id -> the known report URLs requested whose re-check has not finished
        self._awaiting: dict[str, set[str]] = {}
        # agency id -> every known report URL requested in this crawl
        self._known_urls: dict[str, set[str]] = {}
        # agency id -> report requests for unknown URLs waiting for the re-checks
        self._parked: dict[str, list[scrapy.Request]] = {}
        for signal in (scrapy.signals.item_scraped, scrapy.signals.item_dropped,
                       scrapy.signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)
        crawler.signals.connect(self._release_when_idle, signal=scrapy.signals.spider_idle)

    def expect_known(self, agency_id: str, urls: Iterable[str]) -> None:
        """These known report URLs of the agency are being re-checked in this crawl."""
        urls = set(urls)
        self._known_urls.setdefault(agency_id, set()).update(urls)
        self._awaiting.setdefault(agency_id, set()).update(urls)

    def admit(self, agency_id: str, request: scrapy.Request) -> scrapy.Request | None:
        """The request to send now, or None when it is parked (a URL the store does not know
        while the agency's re-checks are still out)."""
        if not self._awaiting.get(agency_id) or request.url in self._known_urls.get(agency_id, ()):
            return request
        self._parked.setdefault(agency_id, []).append(request)
        self.crawler.stats.inc_value(STAT_PARKED)
        return None

    def known_done(self, agency_id: str | None, url: str | None) -> None:
        """The re-check of a known report URL finished (whatever it answered): when it was
        the agency's last, its parked requests go out."""
        waiting = self._awaiting.get(agency_id)
        if not waiting or url not in waiting:
            return
        waiting.discard(url)
        if not waiting:
            self._release(agency_id)

    def known_request_done(self, request) -> None:
        """A request (a report or one of its parts) ended without an item for its report."""
        page = request.cb_kwargs.get("page")
        if page is not None:  # a part of a split article: the report is the page's URL
            self.known_done(page.agency_id, page.url)
            return
        url = request.meta.get("redirect_urls", [request.url])[0]
        self.known_done(request.meta.get("agency_id"), url)

    def _item_done(self, item, *args, **kwargs) -> None:
        self.known_done(getattr(item, "agency_id", None), getattr(item, "url", None))

    def _release(self, agency_id: str) -> int:
        parked = self._parked.pop(agency_id, [])
        for request in parked:
            self.crawler.engine.crawl(request)
        return len(parked)

    def _release_when_idle(self, spider=None) -> None:
        released = 0
        for agency_id in list(self._parked):
            unfinished = len(self._awaiting.get(agency_id, ()))
            count = self._release(agency_id)
            released += count
            self.logger.warning("%s: %d report requests released at idle; %d known re-checks "
                                "ended unseen", agency_id, count, unfinished)
            self._awaiting.pop(agency_id, None)
        if released:
            self.crawler.stats.inc_value(STAT_RELEASED_AT_IDLE, released)
            raise DontCloseSpider

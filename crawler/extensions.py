"""CrawlRecorder: one `crawls` row per run, the registry synced, removals settled, a summary,
retention applied.

At the end of a crawl: the crawl is finished in the store (which decides, per agency, whether
it saw every listing page), an agency whose known reports answered as gone all at once is
marked as having a site problem (no removal), and evidence of removals from the agencies whose
listings answered normally is counted or confirmed (`store.held.settle`).
"""

from __future__ import annotations

import json
import logging

from scrapy import signals

from nianbao.config.deadlines import DEADLINE_RULES
from nianbao.config.registry import parse_duration
from nianbao.crawler.store_access import batch_for, close_store, crawl_id_of, set_crawl_id, store_for
from nianbao.storage.freshness import Retention
from nianbao.storage.models import AgencyRecord, utc_now

logger = logging.getLogger(__name__)

# Scrapy logs a full traceback when robots.txt cannot be downloaded. For a dead site that is
# noise (one per agency, thousands in a big crawl); the fetch log already has the reason.
ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"


class _NoTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


class CrawlRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self._ticking = None

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        robots_logger = logging.getLogger(ROBOTS_LOGGER)
        if not any(isinstance(f, _NoTraceback) for f in robots_logger.filters):
            robots_logger.addFilter(_NoTraceback())
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.item_error, signal=signals.item_error)
        return extension

    def spider_opened(self, spider):
        store = store_for(self.crawler)
        agencies = getattr(spider, "agencies", ())
        store.agencies.sync(AgencyRecord.from_agency(a) for a in agencies)
        # The coverage view computes due dates from this table; keep it as the law says.
        store.agencies.sync_deadline_rules(DEADLINE_RULES)
        set_crawl_id(self.crawler, store.crawls.start([a.id for a in agencies]))
        batch = batch_for(self.crawler)
        if not batch.closed:
            # The open batch is committed at most NIANBAO_COMMIT_EVERY seconds after it opened,
            # also when no further write comes to commit it.
            from twisted.internet.task import LoopingCall

            self._ticking = LoopingCall(self._tick, batch)
            self._ticking.start(batch.max_seconds / 2, now=False)

    def _tick(self, batch) -> None:
        try:
            batch.tick()
        except Exception:  # noqa: BLE001 - batch.lost says so; the crawl ends as 'failed'
            logger.exception("Committing the crawl's writes failed")

    def item_error(self, item, response, spider, failure):
        """A pipeline crashed on a report (a bug, an input nobody foresaw): Scrapy logs it and
        drops the item. The fetch log says so too, so the page counts as not read (the crawl is
        not complete for a report the store does not have yet) instead of vanishing."""
        agency_id, url = getattr(item, "agency_id", None), getattr(item, "url", None)
        if agency_id is None or url is None:
            return
        error = f"{type(failure.value).__name__}: {failure.value}"
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=agency_id, url=url, status=None,
            error=f"processing failed: {error[:300]}", purpose="extract")
        self.crawler.stats.inc_value("nianbao/pipeline_errors")

    def spider_closed(self, spider, reason):
        crawl_id = crawl_id_of(self.crawler)
        store = store_for(self.crawler)
        if self._ticking is not None and self._ticking.running:
            self._ticking.stop()
        batch = batch_for(self.crawler)
        try:
            batch.close()  # what the crawl wrote, committed before it is judged
        except Exception:  # noqa: BLE001 - the batch is lost: see below
            logger.exception("Committing the crawl's last writes failed")
        if batch.lost:
            # Writes of this crawl were rolled back: what is stored of it is not all it saw, so
            # it must not count as complete for any agency (nor confirm removals).
            logger.error("Some writes of this crawl were lost: it is recorded as 'failed'")
            reason = "failed"
        if crawl_id is not None:
            store.freshness.flush()  # the unchanged sightings still buffered
            stats = json.loads(json.dumps(self.crawler.stats.get_stats(), default=str))
            skipped = getattr(spider, "listing_pages_skipped", dict)()
            store.crawls.finish(crawl_id, finish_reason=reason, stats=stats,
                                listing_pages_skipped=skipped)
            if reason == "finished":
                self._settle_removals(store, crawl_id)
                self._prune(store)
            for row in store.crawls.summary(crawl_id):
                logger.info(
                    "%s: %d reports found, %d new, %d changed, %d removed, %d held, %d fetch errors",
                    row.agency_id, row.reports_found, row.new, row.changed, row.removed,
                    row.held, row.fetch_errors,
                )
        close_store(self.crawler)

    def _prune(self, store) -> None:
        """Retention (NIANBAO_KEEP_SIGHTINGS, NIANBAO_KEEP_FETCH_LOG): see store.freshness.prune."""
        settings = self.crawler.settings
        retention = Retention(sightings=_keep(settings.get("NIANBAO_KEEP_SIGHTINGS")),
                              fetch_log=_keep(settings.get("NIANBAO_KEEP_FETCH_LOG")))
        deleted = store.freshness.prune(retention, now=utc_now())
        for table, count in deleted.items():
            self.crawler.stats.set_value(f"nianbao/pruned/{table}", count)

    def _settle_removals(self, store, crawl_id: int) -> None:
        outcomes = store.crawls.outcomes(crawl_id)
        waves = set()
        for agency_id, (gone, live) in store.held.gone_counts(crawl_id).items():
            if store.held.is_wave(gone, live):
                waves.add(agency_id)
                note = (f"{gone} of {live} known reports answered as gone in one crawl: a site "
                        "problem (redesign, outage), not removals")
                store.crawls.mark_site_problem(crawl_id, agency_id, gone_reports=gone, note=note)
                logger.warning("%s: %s", agency_id, note)
        good = [a for a, outcome in outcomes.items() if outcome == "ok" and a not in waves]
        confirm_after = parse_duration(
            self.crawler.settings.get("NIANBAO_CONFIRM_REMOVAL_AFTER")).total_seconds()
        removed = store.held.settle(crawl_id, good_agencies=good, confirm_after=confirm_after)
        self.crawler.stats.set_value("nianbao/reports/removed_confirmed", len(removed))


def _keep(value) -> float | None:
    """A retention setting in seconds; None (keep everything) for "" or "forever"."""
    if value in (None, "", "forever"):
        return None
    return parse_duration(value).total_seconds()

"""CrawlRecorder: one `crawls` row per run, the registry synced, a summary at the end."""

from __future__ import annotations

import json
import logging

from scrapy import signals

from nianbao.config.deadlines import DEADLINE_RULES
from nianbao.crawler.store_access import close_store, crawl_id_of, set_crawl_id, store_for
from nianbao.storage.models import AgencyRecord

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

    @classmethod
    def from_crawler(cls, crawler):
        extension = cls(crawler)
        robots_logger = logging.getLogger(ROBOTS_LOGGER)
        if not any(isinstance(f, _NoTraceback) for f in robots_logger.filters):
            robots_logger.addFilter(_NoTraceback())
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider):
        store = store_for(self.crawler)
        agencies = getattr(spider, "agencies", ())
        store.agencies.sync(AgencyRecord.from_agency(a) for a in agencies)
        # The coverage view computes due dates from this table; keep it as the law says.
        store.agencies.sync_deadline_rules(DEADLINE_RULES)
        set_crawl_id(self.crawler, store.crawls.start([a.id for a in agencies]))

    def spider_closed(self, spider, reason):
        crawl_id = crawl_id_of(self.crawler)
        store = store_for(self.crawler)
        if crawl_id is not None:
            stats = json.loads(json.dumps(self.crawler.stats.get_stats(), default=str))
            store.crawls.finish(crawl_id, finish_reason=reason, stats=stats)
            for row in store.crawls.summary(crawl_id):
                logger.info(
                    "%s: %d reports found, %d new, %d changed, %d removed, %d fetch errors",
                    row.agency_id, row.reports_found, row.new, row.changed, row.removed,
                    row.fetch_errors,
                )
        close_store(self.crawler)

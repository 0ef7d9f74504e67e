"""Run the reports spider in this process (the way `nianbao crawl` does).

Twisted's reactor cannot be restarted, so one process runs one crawl; callers that crawl
repeatedly (tests, the daemon) start `nianbao crawl` as a child process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from nianbao.config.registry import Registry
from nianbao.crawler.spiders.reports import ReportsSpider
from nianbao.crawler.store_access import crawl_id_of


def crawl_settings(config_path: Path, db_path: Path, overrides: Mapping[str, str] = {}) -> Settings:
    settings = Settings()
    settings.setmodule("nianbao.crawler.settings", priority="project")
    settings.set("NIANBAO_CONFIG", str(config_path), priority="cmdline")
    settings.set("NIANBAO_DB", str(db_path), priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(settings: Settings, agency_ids: Sequence[str] = (),
              registry: Registry | None = None) -> int | None:
    """Crawl and return the id of the `crawls` row (None if the crawl never opened).

    registry: the registry the caller already loaded and validated (else the spider loads
    NIANBAO_CONFIG itself), so that a large registry is not read twice.
    """
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(ReportsSpider)
    process.crawl(crawler, agency=",".join(agency_ids) or None, registry=registry)
    process.start()
    return crawl_id_of(crawler)

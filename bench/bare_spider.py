"""The baselines of the crawl comparison, run as a child process:

    python -m nianbao.bench.bare_spider URLS.json OUT.json [--middlewares CONFIG DB]

A bare Scrapy spider (Scrapy's defaults) downloads the URLs of URLS.json (the pages a
nianbao crawl fetched: [url, agency_id, purpose] rows) and does nothing with them. With
`--middlewares`, the same spider runs with nianbao's downloader middlewares and extension
(origin guard, retry backoff, charset repair, the fetch log into DB; the agencies of CONFIG):
what nianbao costs before its spider logic and pipelines. Both sides get the same politeness
settings from bench.crawl_bench (no delay, no AutoThrottle, the same concurrency).
OUT.json: Scrapy's stats (elapsed_time_seconds, response_count, bytes).
"""

from __future__ import annotations

import json
import sys

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, rows=(), **kwargs):
        super().__init__(**kwargs)
        self.rows = rows

    async def start(self):
        for url, agency_id, purpose in self.rows:
            yield scrapy.Request(url, callback=self.parse, errback=self.failed, dont_filter=True,
                                 meta={"agency_id": agency_id, "purpose": purpose})

    def parse(self, response):
        return None

    def failed(self, failure):
        return None


class MiddlewaresSpider(BareSpider):
    """The bare spider plus what nianbao's middlewares need of a spider: the agencies."""

    name = "middlewares"

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        from nianbao.config.registry import load_registry

        spider = super().from_crawler(crawler, *args, **kwargs)
        registry = load_registry(crawler.settings.get("NIANBAO_CONFIG"))
        spider.registry = registry
        spider.agencies = registry.agencies
        spider.by_id = {agency.id: agency for agency in registry.agencies}
        return spider


def main(argv: list[str]) -> None:
    urls_file, out_file, *rest = argv
    rows = json.loads(open(urls_file, encoding="utf-8").read())
    overrides = json.loads(rest[rest.index("--settings") + 1]) if "--settings" in rest else {}
    if "--middlewares" in rest:
        config, db = rest[rest.index("--middlewares") + 1: rest.index("--middlewares") + 3]
        settings = Settings()
        settings.setmodule("nianbao.crawler.settings", priority="project")
        settings.set("ITEM_PIPELINES", {}, priority="project")
        settings.set("SPIDER_MODULES", [], priority="project")
        settings.update({"NIANBAO_CONFIG": config, "NIANBAO_DB": db}, priority="cmdline")
        spider = MiddlewaresSpider
    else:
        settings = Settings()
        spider = BareSpider
    settings.update({"LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False, **overrides}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, rows=rows)
    process.start()
    stats = json.loads(json.dumps(crawler.stats.get_stats(), default=str))
    with open(out_file, "w", encoding="utf-8") as out:
        json.dump(stats, out)


if __name__ == "__main__":
    main(sys.argv[1:])

"""CrawlProgress: what a crawl is doing while it runs (hours at scale, silent until now).

On a terminal (stderr is a tty) one status line is redrawn in place twice a second:

    agencies 3/12 done · 148 pages · 21 reports · 2 errors · now: www.a.gov.cn, xxgk.b.gov.cn

Log records that Scrapy writes meanwhile first clear that line, so nothing is overwritten.
Elsewhere (a pipe, a file) one plain line every NIANBAO_PROGRESS_INTERVAL seconds (default
30), with a time stamp, and a last one at the end. The daemon's crawl children run with it
off (their output is a file of which only the tail is kept, for a failure's reason).

Counts come from Scrapy's signals: pages are responses received; reports are items scraped;
errors are download failures and responses with status >= 400; an agency is done when it had
requests and none of its requests is waiting in the scheduler or the downloader any more (the
number can move back when a listing's next page is scheduled). Current hosts are the hosts of
requests in the downloader now.

Setting NIANBAO_PROGRESS: 'auto' (default: a tty line on a terminal, plain lines otherwise),
'tty', 'plain' or 'off'. Hand-written rather than rich's Live display: Scrapy's log handler
writes to the stderr it captured at start, which Live cannot redirect, and a line with \\r is
all a crawl needs.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

HOSTS_SHOWN = 3
TTY_REFRESH = 0.5
CLEAR_LINE = "\r\x1b[K"


class _ClearLine(logging.Filter):
    """Clears the status line before a log record is written to the same terminal."""

    def __init__(self, progress: CrawlProgress) -> None:
        super().__init__()
        self.progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self.progress.clear()
        return True


class CrawlProgress:
    def __init__(self, crawler, mode: str, interval: float, stream=None):
        self.crawler = crawler
        self.stream = stream or sys.stderr
        self.mode = mode
        self.interval = TTY_REFRESH if mode == "tty" else interval
        self.outstanding: Counter[str] = Counter()  # agency -> requests scheduled, not done
        self.active_hosts: Counter[str] = Counter()  # host -> requests in the downloader
        self.seen: set[str] = set()
        self.total = 0
        self.pages = self.reports = self.errors = 0
        self.drawn = False
        self.loop: task.LoopingCall | None = None
        self.filters: list[tuple[logging.Handler, _ClearLine]] = []
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler):
        mode = str(crawler.settings.get("NIANBAO_PROGRESS", "auto")).lower()
        if mode == "off":
            raise NotConfigured
        if mode == "auto":
            mode = "tty" if sys.stderr.isatty() else "plain"
        if mode not in ("tty", "plain"):
            raise NotConfigured(f"NIANBAO_PROGRESS={mode!r}: expected auto, tty, plain or off")
        interval = crawler.settings.getfloat("NIANBAO_PROGRESS_INTERVAL", 30.0)
        extension = cls(crawler, mode, max(interval, 0.1))
        for signal, handler in (
            (signals.spider_opened, extension.spider_opened),
            (signals.spider_closed, extension.spider_closed),
            (signals.request_scheduled, extension.request_scheduled),
            (signals.request_dropped, extension.request_finished),
            (signals.request_reached_downloader, extension.request_reached_downloader),
            (signals.request_left_downloader, extension.request_left_downloader),
            (signals.response_received, extension.response_received),
            (signals.item_scraped, extension.item_scraped),
        ):
            crawler.signals.connect(handler, signal=signal)
        return extension

    # -- signals -----------------------------------------------------------------------------

    def spider_opened(self, spider):
        self.total = len(getattr(spider, "agencies", ()) or ())
        if self.mode == "tty":
            for handler in logging.getLogger().handlers:
                clear = _ClearLine(self)
                handler.addFilter(clear)
                self.filters.append((handler, clear))
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        for handler, clear in self.filters:
            handler.removeFilter(clear)
        self.active_hosts.clear()
        self.show(final=True)

    def request_scheduled(self, request, spider):
        agency = request.meta.get("agency_id")
        if agency:
            self.seen.add(agency)
            self.outstanding[agency] += 1

    def request_finished(self, request, spider):
        agency = request.meta.get("agency_id")
        if agency and self.outstanding[agency] > 0:
            self.outstanding[agency] -= 1

    def request_reached_downloader(self, request, spider):
        self.active_hosts[urlsplit(request.url).hostname or "?"] += 1

    def request_left_downloader(self, request, spider):
        host = urlsplit(request.url).hostname or "?"
        if self.active_hosts[host] > 0:
            self.active_hosts[host] -= 1
        self.request_finished(request, spider)

    def response_received(self, response, request, spider):
        self.pages += 1
        if response.status >= 400:
            self.errors += 1

    def item_scraped(self, item, response, spider):
        self.reports += 1

    # -- output ------------------------------------------------------------------------------

    @property
    def done(self) -> int:
        return sum(1 for agency in self.seen if self.outstanding[agency] <= 0)

    def line(self, final: bool = False) -> str:
        stats = self.crawler.stats
        failures = stats.get_value("downloader/exception_count", 0) if stats else 0
        hosts = [host for host, n in self.active_hosts.most_common() if n > 0]
        shown = ", ".join(hosts[:HOSTS_SHOWN]) + (f" +{len(hosts) - HOSTS_SHOWN}"
                                                  if len(hosts) > HOSTS_SHOWN else "")
        done = self.total if final and self.total else self.done
        parts = [f"agencies {done}/{self.total} done", f"{self.pages} pages",
                 f"{self.reports} reports", f"{self.errors + failures} errors"]
        if shown:
            parts.append(f"now: {shown}")
        parts.append(f"{time.monotonic() - self.started:.0f}s")
        return " · ".join(parts)

    def show(self, final: bool = False) -> None:
        try:
            if self.mode == "tty":
                self.stream.write(CLEAR_LINE + self.line(final) + ("\n" if final else ""))
                self.drawn = not final
            else:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S")
                what = "crawl finished" if final else "crawl progress"
                self.stream.write(f"{stamp} {what}: {self.line(final)}\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed pipe must not stop the crawl
            pass

    def clear(self) -> None:
        if self.drawn:
            try:
                self.stream.write(CLEAR_LINE)
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self.drawn = False

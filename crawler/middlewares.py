"""Downloader middlewares: retry backoff, charset repair, and the fetch log."""

from __future__ import annotations

import asyncio
import time

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from nianbao.crawler.encoding import choose_encoding
from nianbao.crawler.store_access import crawl_id_of, store_for

STARTED_AT_KEY = "nianbao_started_at"
# request.meta key: the id of the fetch_log row of the request's latest attempt, so a spider
# callback can say why an answer that looked fine was useless (`store.crawls.fail_fetch`).
FETCH_LOG_ID_KEY = "nianbao_fetch_log_id"


class RetryBackoffMiddleware:
    """Delay each retry exponentially: BASE * 2**(n-1) seconds before the n-th retry.

    Scrapy's RetryMiddleware re-schedules a failed request at once, which hammers a portal that
    is already struggling. Sleeping here (an awaitable, so other requests go on) spaces retries.
    """

    def __init__(self, base: float, maximum: float):
        self.base = base
        self.maximum = maximum

    @classmethod
    def from_crawler(cls, crawler):
        base = crawler.settings.getfloat("NIANBAO_RETRY_BACKOFF_BASE")
        if base <= 0 or not crawler.settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        return cls(base, crawler.settings.getfloat("NIANBAO_RETRY_BACKOFF_MAX"))

    def delay_for(self, retry_times: int) -> float:
        if retry_times <= 0:
            return 0.0
        return min(self.maximum, self.base * 2 ** (retry_times - 1))

    async def process_request(self, request: Request) -> None:
        delay = self.delay_for(request.meta.get("retry_times", 0))
        if delay:
            await asyncio.sleep(delay)


class EncodingRepairMiddleware:
    """Re-decode pages whose declared charset is wrong (see crawler.encoding)."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        content_type = response.headers.get(b"Content-Type")
        encoding = choose_encoding(
            response.body, content_type.decode("latin-1") if content_type else None
        )
        if encoding and encoding != response.encoding:
            self.stats.inc_value(f"nianbao/encoding_repaired/{response.encoding}->{encoding}")
            return response.replace(encoding=encoding)
        return response


class FetchLogMiddleware:
    """Write one fetch_log row per request attempt: URL, status, duration, size, error.

    Sits innermost (closest to the network) so retries and redirects each get their row, and
    a user can read why a site failed without the Scrapy log.
    """

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        request.meta[STARTED_AT_KEY] = time.monotonic()

    def process_response(self, request: Request, response: Response) -> Response:
        self._log(request, status=response.status, size=len(response.body), error=None)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._log(request, status=None, size=None, error=describe_exception(exception))
        return None

    def _log(self, request: Request, *, status, size, error) -> None:
        started = request.meta.get(STARTED_AT_KEY)
        duration_ms = int((time.monotonic() - started) * 1000) if started is not None else None
        request.meta[FETCH_LOG_ID_KEY] = store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler),
            agency_id=request.meta.get("agency_id"),
            url=request.url,
            method=request.method,
            status=status,
            error=error,
            duration_ms=duration_ms,
            size_bytes=size,
            purpose=request.meta.get("purpose") or _guess_purpose(request),
        )


def _guess_purpose(request: Request) -> str | None:
    return "robots" if request.url.endswith("/robots.txt") else None


def describe_exception(exception: BaseException) -> str:
    """A short readable reason, e.g. 'TimeoutError: Getting ... took longer than 30 seconds'."""
    text = str(exception).strip() or repr(exception)
    return f"{type(exception).__name__}: {text}"[:500]

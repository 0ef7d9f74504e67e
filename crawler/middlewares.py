"""Downloader middlewares: retry backoff, charset repair and repaired decoding, and the fetch log."""

from __future__ import annotations

import asyncio
import functools
import time

from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse

from nianbao.crawler.encoding import Decoded, choose_encoding, decode_html
from nianbao.crawler.store_access import crawl_id_of, store_for

STARTED_AT_KEY = "nianbao_started_at"


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
    """Decode pages in the charset they really use, with repairs (see crawler.encoding).

    A page whose declared charset is wrong gets the right one; a page that no single charset
    reads cleanly (a NUL byte, a GBK paragraph in a UTF-8 page) becomes a response whose
    `text` is `decode_html`'s repaired text, so neither the listing parsers nor the report
    extraction ever see U+FFFD or control characters. The body stays the bytes as served.
    """

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response) -> Response:
        if not isinstance(response, TextResponse):
            return response
        content_type = response.headers.get(b"Content-Type")
        chosen = choose_encoding(
            response.body, content_type.decode("latin-1") if content_type else None
        )
        encoding = chosen or response.encoding
        if chosen and chosen != response.encoding:
            self.stats.inc_value(f"nianbao/encoding_repaired/{response.encoding}->{chosen}")
        decoded = decode_html(response.body, encoding)
        if decoded.repaired:
            self._count(decoded)
            return response.replace(cls=repaired_class(type(response)), encoding=encoding, decoded=decoded)
        if chosen and chosen != response.encoding:
            return response.replace(encoding=chosen)
        return response

    def _count(self, decoded: Decoded) -> None:
        self.stats.inc_value("nianbao/decoding/repaired_pages")
        for name in ("nul_bytes", "recovered_bytes", "bad_bytes"):
            if getattr(decoded, name):
                self.stats.inc_value(f"nianbao/decoding/{name}", getattr(decoded, name))
        if decoded.undecodable:
            self.stats.inc_value("nianbao/decoding/undecodable_pages")


class RepairedText:
    """Mixin for a TextResponse class: `text` is `decode_html`'s repaired decoding.

    `decoded` may be handed in by the middleware (it has just computed it); a copy made with
    `replace()` decodes its own body again, so a replaced body never shows stale text.
    """

    def __init__(self, *args, decoded: Decoded | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._decoded = decoded

    @property
    def decoded(self) -> Decoded:
        if self._decoded is None:
            self._decoded = decode_html(self.body, self.encoding)
        return self._decoded

    @property
    def text(self) -> str:
        return self.decoded.text


@functools.cache
def repaired_class(response_class: type[TextResponse]) -> type[TextResponse]:
    """HtmlResponse -> RepairedHtmlResponse (and so on): still an instance of the original
    class, so spiders and Scrapy's own code treat it the same."""
    return type(f"Repaired{response_class.__name__}", (RepairedText, response_class), {})


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
        store_for(self.crawler).log_fetch(
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

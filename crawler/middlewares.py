"""Downloader middlewares: retry backoff (and Retry-After), charset repair and repaired
decoding, the fetch log, and the origin guard."""

from __future__ import annotations

import datetime
import email.utils
import functools
import logging
import re
import time
import weakref
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater
from w3lib.url import safe_url_string

from nianbao.config.origins import PRIVATE_ADDRESS, Origin, OriginPolicy, Refusal, scheme_refusal
from nianbao.crawler.encoding import Decoded, choose_encoding, decode_html
from nianbao.crawler.resolver import PrivateAddressError, PublicAddressResolver, address_refusal
from nianbao.crawler.store_access import batch_for, crawl_id_of, store_for

logger = logging.getLogger(__name__)

STARTED_AT_KEY = "nianbao_started_at"
# request.meta key: the id of the fetch_log row of the request's latest attempt, so a spider
# callback can say why an answer that looked fine was useless (`store.crawls.fail_fetch`).
FETCH_LOG_ID_KEY = "nianbao_fetch_log_id"


# When the retry of a request may go out at the earliest (time.monotonic()), as the server
# asked with Retry-After; set on the failed request, copied with its meta to the retry.
RETRY_NOT_BEFORE_KEY = "nianbao_retry_not_before"
# The answers whose Retry-After says when to ask again (RFC 9110 section 10.2.3, RFC 6585).
RETRY_AFTER_STATUSES = frozenset({429, 503})
DELAY_SECONDS_RE = re.compile(r"[0-9]+")


def parse_retry_after(value: str, now: datetime.datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds ("120") or an HTTP-date
    ("Wed, 21 Oct 2015 07:28:00 GMT"). A date in the past means 0; anything else is None."""
    value = value.strip()
    if DELAY_SECONDS_RE.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, as every HTTP-date is
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - now).total_seconds())


async def _sleep(seconds: float) -> None:
    """Wait on a reactor timer: the reactor thread goes on serving every other request.

    deferLater works under any reactor; asyncio.sleep only under the asyncio one, and
    scrapy.utils.asyncio.sleep needs Scrapy 2.18 (we support 2.13).
    """
    # Imported here: at module load it would install Twisted's default reactor.
    from twisted.internet import reactor

    await maybe_deferred_to_future(deferLater(reactor, seconds))


class RetryBackoffMiddleware:
    """Wait before each retry: BASE * 2**(n-1) seconds before the n-th (capped at MAX), or
    longer if a 429/503 said Retry-After (capped at NIANBAO_RETRY_AFTER_MAX).

    Scrapy's RetryMiddleware (550) re-schedules a failed request at once, which hammers a portal
    that is already struggling. This one sits at 560: its process_response sees the 429/503
    before RetryMiddleware does and notes on the request when to ask again; RetryMiddleware
    copies the request, meta included, into the retry, whose process_request here then waits.
    A wait beyond the cap is cut to the cap (the retry goes out early rather than never).
    """

    def __init__(self, base: float, maximum: float, retry_after_max: float, stats=None):
        self.base = base
        self.maximum = maximum
        self.retry_after_max = retry_after_max
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        base = settings.getfloat("NIANBAO_RETRY_BACKOFF_BASE")
        retry_after_max = settings.getfloat("NIANBAO_RETRY_AFTER_MAX")
        if not settings.getbool("RETRY_ENABLED") or (base <= 0 and retry_after_max <= 0):
            raise NotConfigured
        return cls(base, settings.getfloat("NIANBAO_RETRY_BACKOFF_MAX"), retry_after_max, crawler.stats)

    def delay_for(self, retry_times: int) -> float:
        if retry_times <= 0 or self.base <= 0:
            return 0.0
        return min(self.maximum, self.base * 2 ** (retry_times - 1))

    def retry_after(self, response: Response) -> float | None:
        """The capped wait a 429/503 asks for, None if it asks for none (or nothing readable)."""
        if response.status not in RETRY_AFTER_STATUSES or self.retry_after_max <= 0:
            return None
        header = response.headers.get(b"Retry-After")
        if header is None:
            return None
        seconds = parse_retry_after(header.decode("latin-1"), datetime.datetime.now(datetime.timezone.utc))
        if seconds is None:
            self._count("unreadable")
            return None
        if seconds > self.retry_after_max:
            self._count("capped")
            return self.retry_after_max
        return seconds

    async def process_request(self, request: Request) -> None:
        delay = self.delay_for(request.meta.get("retry_times", 0))
        not_before = request.meta.get(RETRY_NOT_BEFORE_KEY)
        if not_before is not None:
            self._count("waited")
            delay = max(delay, not_before - time.monotonic())
        if delay > 0:
            await _sleep(delay)

    def process_response(self, request: Request, response: Response) -> Response:
        # Always reset: a note from an earlier 503 must not delay a retry after a timeout.
        request.meta.pop(RETRY_NOT_BEFORE_KEY, None)
        seconds = self.retry_after(response)
        if seconds:
            request.meta[RETRY_NOT_BEFORE_KEY] = time.monotonic() + seconds
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        request.meta.pop(RETRY_NOT_BEFORE_KEY, None)
        return None

    def _count(self, outcome: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"nianbao/retry_after/{outcome}")


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
            response = response.replace(encoding=chosen)
        _DECODED[response] = decoded  # what the report's item would compute again (decoded_of)
        return response

    def _count(self, decoded: Decoded) -> None:
        self.stats.inc_value("nianbao/decoding/repaired_pages")
        for name in ("nul_bytes", "recovered_bytes", "bad_bytes"):
            if getattr(decoded, name):
                self.stats.inc_value(f"nianbao/decoding/{name}", getattr(decoded, name))
        if decoded.undecodable:
            self.stats.inc_value("nianbao/decoding/undecodable_pages")


# The decoding of the responses left as Scrapy decodes them (their body in their encoding), for
# as long as each response lives: a report's item reads its repair counts from here instead of
# decoding the page once more on the reactor thread.
_DECODED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def decoded_of(response: Response) -> Decoded | None:
    """`decode_html(response.body, response.encoding)` as EncodingRepairMiddleware computed it,
    or None (a response it did not see, or one replaced since)."""
    if isinstance(response, RepairedText):
        return response.decoded
    return _DECODED.get(response)


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
        with batch_for(self.crawler).write():  # committed with the next ones (storage/batch.py)
            request.meta[FETCH_LOG_ID_KEY] = self._insert(request, status=status, size=size, error=error,
                                                          duration_ms=duration_ms)

    def _insert(self, request: Request, *, status, size, error, duration_ms) -> int:
        return store_for(self.crawler).crawls.log_fetch(
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


# Exceptions that carry no message, in words a site operator can act on. Others without one
# fall back to their docstring's first line.
_SILENT_EXCEPTIONS = {
    "ResponseDataLossError": "the connection closed before the whole body arrived "
                             "(fewer bytes than its Content-Length)",
}


def describe_exception(exception: BaseException) -> str:
    """A short readable reason, e.g. 'TimeoutError: Getting ... took longer than 30 seconds'."""
    name = type(exception).__name__
    text = str(exception).strip()
    if not text:
        doc = (type(exception).__doc__ or "").strip().splitlines()
        text = _SILENT_EXCEPTIONS.get(name) or (doc[0] if doc else repr(exception))
    return f"{name}: {text}"[:500]


class OriginGuardMiddleware:
    """Refuse every request outside its agency's configured origins, before it goes out.

    Everything the crawl fetches passes here: listing pages, reports, article parts, known
    reports, robots.txt, and every redirect (Scrapy sends a redirect as a new request, through
    the middlewares again). A request is refused when config/origins.py says so (a scheme other
    than http(s), another host, another port) or when its host is not named in the
    configuration and resolves to a non-public address (crawler/resolver.py, which also checks
    the address the connection really uses). Redirects to non-HTTP schemes never become
    requests: NonHttpRedirectMiddleware refuses them.

    A refusal is an IgnoreRequest with a readable reason: FetchLogMiddleware writes it to
    fetch_log ("IgnoreRequest: offsite: port 8081 not configured for ..."), stats count it
    (nianbao/refused/<kind>), and the spider's errbacks treat it as "not fetched", never as a
    failure or a removal (only a 404/410 answer removes a report).

    Priority: before robots.txt (100), so that a refused request never asks for a robots.txt.
    """

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self._crawl_policy = None
        self._resolver_ready = False

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        self._prepare_resolver()
        refusal = self._policy(request).refusal(request.url)
        if refusal is None:
            refusal = await self._address_refusal(request.url)
        if refusal is not None:
            request.meta.pop(STARTED_AT_KEY, None)  # copied from the redirected request
            count_refusal(self.stats, refusal)
            raise IgnoreRequest(self._describe(request, refusal))

    # --- policy ---------------------------------------------------------------------------
    def _policy(self, request: Request) -> OriginPolicy:
        agency = getattr(self.crawler.spider, "by_id", {}).get(request.meta.get("agency_id"))
        return agency.origins if agency is not None else self._whole_crawl()

    def _whole_crawl(self) -> OriginPolicy:
        """Every agency's origins: for requests of no agency (robots.txt and its redirects)."""
        if self._crawl_policy is None:
            agencies = getattr(self.crawler.spider, "agencies", ())
            self._crawl_policy = OriginPolicy.union(agency.origins for agency in agencies)
        return self._crawl_policy

    def _prepare_resolver(self) -> None:
        """Tell the resolver which names are configured. Done at the first request: the reactor
        installs the resolver when the crawl starts, after the middlewares are built."""
        if self._resolver_ready:
            return
        self._resolver_ready = True
        from twisted.internet import reactor

        resolver = getattr(reactor, "resolver", None)
        if isinstance(resolver, PublicAddressResolver):
            resolver.trust(self._whole_crawl().named_hosts)
        else:
            logger.warning("TWISTED_DNS_RESOLVER is %s, not PublicAddressResolver: addresses are "
                           "checked before each request but not at connection time", type(resolver).__name__)

    async def _address_refusal(self, url: str) -> Refusal | None:
        """A host not named in the configuration (a subdomain of a configured domain) must
        resolve to a public address. Asked through the reactor's resolver and its cache, the
        one the connection uses."""
        host = Origin.from_url(url).host
        named = self._whole_crawl().named_hosts
        if host in named:
            return None  # configured as given: any address (a test or intranet portal)
        from twisted.internet import reactor

        try:
            address = await maybe_deferred_to_future(reactor.resolve(host))
        except PrivateAddressError as exc:
            return Refusal(PRIVATE_ADDRESS, exc.reason)
        except Exception:  # no answer: the download fails the same way and is logged then
            return None
        reason = address_refusal(host, address, named)
        return Refusal(PRIVATE_ADDRESS, reason) if reason else None

    @staticmethod
    def _describe(request: Request, refusal: Refusal) -> str:
        redirected_from = request.meta.get("redirect_urls")
        if redirected_from:
            return f"{refusal} (redirect from {redirected_from[-1]})"
        return str(refusal)


class NonHttpRedirectMiddleware:
    """Refuse a redirect to a non-HTTP scheme (javascript:, mailto:, file:, data:, ftp:, tel:...).

    Scrapy's RedirectMiddleware would either pass such a 3xx on as a failed response or fail
    on a target it cannot make a request of (`javascript:...`), both counted as site failures.
    Sitting just outside it (it answers at 600, this at 610), this middleware turns them into
    an IgnoreRequest with the reason, written to fetch_log here: an exception raised while
    responses go back is not shown to FetchLogMiddleware.
    """

    REDIRECT_STATUSES = (301, 302, 303, 307, 308)

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if (response.status not in self.REDIRECT_STATUSES or not location
                or request.meta.get("dont_redirect") or request.meta.get("handle_httpstatus_all")
                or response.status in request.meta.get("handle_httpstatus_list", ())):
            return response  # not a redirect Scrapy would follow
        target = _redirect_target(request.url, location)
        refusal = scheme_refusal(target)
        if refusal is None:
            return response  # an http(s) redirect: OriginGuardMiddleware checks the new request
        count_refusal(self.crawler.stats, refusal)
        reason = f"{refusal} (redirect from {request.url})"
        store_for(self.crawler).crawls.log_fetch(
            crawl_id=crawl_id_of(self.crawler), agency_id=request.meta.get("agency_id"),
            url=target, method=request.method, status=None,
            error=describe_exception(IgnoreRequest(reason)), purpose=request.meta.get("purpose"),
        )
        raise IgnoreRequest(reason)


def count_refusal(stats, refusal: Refusal) -> None:
    stats.inc_value("nianbao/refused")
    stats.inc_value(f"nianbao/refused/{refusal.kind}")


def _redirect_target(url: str, location: bytes) -> str:
    """Where a Location header points, resolved the way Scrapy's RedirectMiddleware does."""
    target = safe_url_string(location.decode("latin-1"))
    if target.startswith("//"):
        target = f"{urlsplit(url).scheme}:{target}"
    return urljoin(url, target)


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request that waits for a host's robots.txt
    judged by it.

    Scrapy (2.13) parks the requests that arrive while a host's robots.txt is downloading on
    one Deferred, each awaiting it through `maybe_deferred_to_future`, whose callback returns
    None: the first waiter gets the parser and every later one gets None, which Scrapy reads as
    "no robots.txt, everything allowed". A crawl's first requests to a host (its listing, then
    the re-checks of its known reports, asked at once) were so sent whatever robots.txt said.
    Here each waiter gets its own Deferred, relayed the parser without consuming it.
    """

    async def robot_parser(self, request: Request):
        from scrapy.utils.httpobj import urlparse_cached
        from twisted.internet.defer import Deferred

        pending = self._parsers.get(urlparse_cached(request).netloc)
        if not isinstance(pending, Deferred):
            return await super().robot_parser(request)
        waiter: Deferred = Deferred()

        def relay(result):
            waiter.callback(result)
            return result  # the next waiter gets the parser too

        pending.addBoth(relay)
        return await maybe_deferred_to_future(waiter)

"""Fetch one page politely outside a crawl: what `nianbao extract URL` reads.

The crawl's rules, with the standard library instead of Scrapy (the CLI never loads Scrapy or
Twisted): nianbao's User-Agent, robots.txt obeyed (parsed by Protego, the crawl's parser; a
robots.txt that is missing or cannot be fetched allows everything, as in the crawl), one
request and no retries, the crawl's timeout and size cap, only http and https (also for
redirects, each checked against its host's robots.txt), gzip and deflate answers decompressed
within the cap. Every failure is a `FetchError` whose message is one line a person can read.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from protego import Protego

__all__ = ["FetchError", "Fetched", "fetch"]

SCHEMES = ("http", "https")
ROBOTS_MAX_BYTES = 512 * 1024


class FetchError(Exception):
    """The page could not be fetched; the message says why in one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked for
    final_url: str  # after redirects
    status: int
    content_type: str | None
    body: bytes = field(repr=False)


def fetch(url: str, *, user_agent: str, timeout: float = 30.0, max_bytes: int = 32 * 1024 * 1024) -> Fetched:
    """GET `url` once, politely; raise FetchError with the reason when there is no page."""
    _check_scheme(url)
    robots = _Robots(user_agent, timeout)
    robots.check(url)
    opener = urllib.request.build_opener(_CheckedRedirects(robots))
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"})
    try:
        with opener.open(request, timeout=timeout) as answer:
            body = _read(answer, max_bytes)
            return Fetched(url=url, final_url=answer.geturl(), status=answer.status,
                           content_type=answer.headers.get("Content-Type"), body=body)
    except urllib.error.HTTPError as err:
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise FetchError(f"{url}: cannot connect: {_reason(err.reason)}") from None
    except (TimeoutError, socket.timeout):
        raise FetchError(f"{url}: no answer within {timeout:g} s") from None
    except (http.client.HTTPException, ConnectionError, OSError) as err:
        raise FetchError(f"{url}: {type(err).__name__}: {_reason(err)}") from None


def _check_scheme(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError as err:
        raise FetchError(f"{url}: not a URL ({err})") from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise FetchError(f"{url}: only http:// and https:// URLs are fetched")


def _reason(reason) -> str:
    return str(getattr(reason, "strerror", None) or reason)


def _read(answer, max_bytes: int) -> bytes:
    body = answer.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise FetchError(f"{answer.geturl()}: larger than {max_bytes} bytes")
    coding = (answer.headers.get("Content-Encoding") or "").strip().lower()
    if coding in ("gzip", "x-gzip", "deflate"):
        # a header-detecting window reads gzip and zlib; max_length keeps a zip bomb bounded
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
        try:
            body = inflater.decompress(body, max_bytes + 1)
        except zlib.error as err:
            raise FetchError(f"{answer.geturl()}: broken {coding} body ({err})") from None
        if len(body) > max_bytes or inflater.unconsumed_tail:
            raise FetchError(f"{answer.geturl()}: larger than {max_bytes} bytes once decompressed")
    return body


class _Robots:
    """robots.txt per host, fetched once, with the same User-Agent."""

    def __init__(self, user_agent: str, timeout: float):
        self.user_agent = user_agent
        self.timeout = timeout
        self._parsers: dict[str, Protego | None] = {}

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        origin = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), "", "", ""))
        if origin not in self._parsers:
            self._parsers[origin] = self._load(origin + "/robots.txt")
        parser = self._parsers[origin]
        if parser is not None and not parser.can_fetch(url, self.user_agent):
            raise FetchError(f"{url}: robots.txt of {parts.netloc} does not allow nianbao to fetch it")

    def _load(self, robots_url: str) -> Protego | None:
        request = urllib.request.Request(robots_url, headers={"User-Agent": self.user_agent})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                text = answer.read(ROBOTS_MAX_BYTES).decode("utf-8", errors="replace")
        except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError):
            return None  # missing, refused or broken: no rules, as in the crawl
        return Protego.parse(text)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http/https URLs that robots.txt allows."""

    def __init__(self, robots: _Robots):
        self.robots = robots

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        target = urljoin(req.full_url, newurl)
        _check_scheme(target)
        self.robots.check(target)
        return super().redirect_request(req, fp, code, msg, headers, target)

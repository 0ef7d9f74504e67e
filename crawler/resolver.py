"""The DNS resolver of the crawl: Scrapy's caching resolver, plus a check of every answer.

A link or redirect that passes the origin check (config/origins.py) can still lead to a name
that resolves to a loopback, private or link-local address: a subdomain of a configured
domain, or a configured name re-pointed between two lookups (DNS rebinding). Checking the
name in a middleware and connecting later would leave that gap open, so the check sits where
the connection gets its address: Twisted's HTTP client asks the reactor's resolver, which is
this class (setting TWISTED_DNS_RESOLVER). An answer that is not a public address is refused
unless the name is written in the configuration (a source's host or a `domains` entry, e.g.
a test portal on 127.0.0.1 or an intranet portal): the connection then never starts.

OriginGuardMiddleware (crawler/middlewares.py) tells the resolver which names are configured
(`trust`) and asks it before a request goes out, so that the usual refusal is an
IgnoreRequest with a readable reason; this class is the last line, for the rare answer that
changes between that question and the connection.
"""

from __future__ import annotations

import logging
import urllib.request
from urllib.parse import urlsplit

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from nianbao.config.origins import OriginError, non_public, normalize_host

logger = logging.getLogger(__name__)


class PrivateAddressError(DNSLookupError):
    """A name resolved to an address the crawl must not connect to. (A DNSLookupError, so that
    Twisted treats it as a failed lookup: no connection, no traceback.)"""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # str() adds Twisted's "DNS lookup failed: " prefix


class PublicAddressResolver(CachingThreadedResolver):
    """CachingThreadedResolver that refuses non-public answers for names not configured."""

    def __init__(self, reactor, cache_size: int, timeout: float):
        super().__init__(reactor, cache_size, timeout)
        # Proxies from the environment are reached by their own name: they are not links.
        self.trusted: set[str] = set(_proxy_hosts())
        self._warned: set[str] = set()

    def trust(self, hosts) -> None:
        """Names that may resolve to any address (those written in the configuration)."""
        self.trusted.update(hosts)

    def getHostByName(self, name, timeout=()):
        return self.lookup(name, timeout).addCallback(self._vet, name)

    def lookup(self, name, timeout=()):
        """The answer for `name` (cached). Tests override this to map names to addresses."""
        return super().getHostByName(name, timeout)

    def _vet(self, address: str, name: str) -> str:
        reason = address_refusal(name, address, self.trusted)
        if reason is None:
            return address
        if name not in self._warned:
            self._warned.add(name)
            logger.warning("Not connecting: %s", reason)
        raise PrivateAddressError(reason)


def address_refusal(name: str, address: str, trusted) -> str | None:
    """Why the crawl must not connect to `address` for `name`, or None: a non-public address is
    only for names in `trusted` (those written in the configuration)."""
    try:
        host = normalize_host(name)
    except OriginError:
        host = name
    if host in trusted:
        return None
    try:
        kind = non_public(address)
    except ValueError:
        return f"unusable address {address!r} for {host}"
    if kind is None:
        return None
    return f"private address {address} ({kind}) for {host}, a host not named in the configuration"


def _proxy_hosts() -> set[str]:
    hosts = set()
    for scheme, url in urllib.request.getproxies().items():
        if scheme == "no":  # the no_proxy list, not a proxy
            continue
        try:
            hosts.add(normalize_host(urlsplit(url if "://" in url else f"http://{url}").hostname or ""))
        except (OriginError, ValueError):
            continue
    return hosts

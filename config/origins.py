"""Where a crawl may go: the origins (scheme, host, port) an agency's configuration allows.

An agency's `sources` and `domains` name the places its crawl may visit; every link and every
redirect is compared with them here, before anything is fetched. The rules:

- Only http and https are followed. `javascript:`, `mailto:`, `file:`, `data:`, `ftp:`,
  `tel:` and every other scheme are refused.
- Hosts compare case-insensitively, without a trailing dot, IDNA-encoded (`政府.cn` and
  `xn--mxtq1m.cn` are one host). A configured host name also covers its subdomains
  (`example.gov.cn` covers `xxgk.example.gov.cn`), as Scrapy's `allowed_domains` does; an IP
  address covers only itself.
- Ports compare after the defaults are filled in (http 80, https 443). A host configured on
  its default port (a source without a port, a `domains` entry without a port) allows http
  on 80 and https on 443: real portals switch between the two on the same host, and a demanding
  user expects both. Any other port must be configured: a source `http://h:8080/` allows
  http on 8080 only; a `domains` entry `h:8080` allows port 8080 with either scheme.
- A URL with user info (`http://a.gov.cn@10.0.0.1/`) is refused: URL parsers disagree on
  where its host is, and no portal needs one.
- An IP address that is not public (loopback, private, link-local, ...: `non_public`) is
  named as such when refused, so the log says why. Names that *resolve* to such addresses
  are checked when the crawler resolves them (see nianbao.crawler.resolver): only hosts
  named in the configuration may be private (tests, intranet portals).

Pure functions and frozen values, no I/O: the crawler asks `OriginPolicy.refusal(url)`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Hosts that WHATWG URL parsers (browsers, many HTTP stacks) and inet_aton read as an IPv4
# address although `ipaddress` does not: 127.1, 0x7f.0.0.1, 017700000001, 2130706433.
_LEGACY_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}")
# Underscores are not valid in host names but occur on real sites; they are accepted.
_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))

# Refusal kinds (stats keys: nianbao/refused/<kind>).
SCHEME = "scheme"
OFFSITE = "offsite"
PRIVATE_ADDRESS = "private_address"
BAD_URL = "bad_url"


class OriginError(ValueError):
    """A host, port or URL that cannot be reduced to an origin; str() says why."""

    def __init__(self, message: str, kind: str = BAD_URL):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Refusal:
    """Why a URL is not fetched: a kind (for stats) and a sentence (for the fetch log)."""

    kind: str
    reason: str

    def __str__(self) -> str:
        return self.reason


def normalize_host(host: str) -> str:
    """Lowercase ASCII form of a host: no trailing dot, IDNA-encoded, IP addresses canonical.

    IDNA is applied the way Scrapy's URL handling (w3lib) applies it (NFKC, then the stdlib
    codec), so a configured host and the host of a request Scrapy built compare equal.
    """
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.endswith("."):  # the root label: "www.a.gov.cn." is "www.a.gov.cn"
        host = host[:-1]
    if not host:
        raise OriginError("no host")
    try:
        ascii_host = host if host.isascii() else unicodedata.normalize("NFKC", host).encode("idna").decode("ascii")
    except UnicodeError:
        raise OriginError(f"{host!r} is not a valid host name") from None
    ascii_host = ascii_host.lower()
    address = ip_literal(ascii_host)
    if address is not None:  # one spelling per address: 127.1 and 0x7f.0.0.1 are 127.0.0.1
        return str(address)
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise OriginError(f"{host!r} is not a valid host name")
    return ascii_host


def ip_literal(host: str) -> IPAddress | None:
    """The IP address a (normalised) host spells, legacy IPv4 forms included; else None."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if not _LEGACY_IPV4.fullmatch(host):
            return None
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def non_public(address: IPAddress | str) -> str | None:
    """Why an address must not be reached from a public host ('loopback', 'private', ...), or
    None for a public unicast address."""
    address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if any(address in network for network in _RFC1918 if network.version == address.version):
        return "private"
    if not address.is_global or address.is_reserved:
        return "non-public"  # shared (CGNAT), documentation, benchmarking, reserved ranges
    return None


@dataclass(frozen=True)
class Origin:
    """Where a URL's request goes: scheme, normalised host, port (defaults filled in)."""

    scheme: str
    host: str
    port: int

    @classmethod
    def from_url(cls, url: str) -> "Origin":
        """The origin of an http(s) URL; OriginError for anything else."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise OriginError(f"bad URL: {exc}") from None
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise OriginError(f"scheme: {scheme or '(none)'}", SCHEME)
        if "@" in parts.netloc:
            raise OriginError("bad URL: user info in the address")
        if not parts.hostname:
            raise OriginError("bad URL: no host")
        try:
            host = normalize_host(parts.hostname)
        except OriginError as exc:
            raise OriginError(f"bad URL: {exc}") from None
        return cls(scheme, host, port if port is not None else DEFAULT_PORTS[scheme])

    @property
    def on_default_port(self) -> bool:
        return self.port == DEFAULT_PORTS[self.scheme]


def scheme_refusal(url: str) -> Refusal | None:
    """A Refusal if the URL's scheme is not http(s) (whatever its host), else None."""
    scheme = urlsplit(url.strip()).scheme.lower() if ":" in url else ""
    if scheme in DEFAULT_PORTS:
        return None
    return Refusal(SCHEME, f"scheme: {scheme or '(none)'}")


@dataclass(frozen=True)
class AllowedOrigin:
    """One configured place: a host, and either its default ports or one explicit port.

    scheme None means either scheme (a `domains` entry); port None means the default port of
    whichever scheme (http 80, https 443).
    """

    host: str
    port: int | None = None
    scheme: str | None = None

    @classmethod
    def from_source(cls, url: str) -> "AllowedOrigin":
        origin = Origin.from_url(url)
        if origin.on_default_port:
            return cls(origin.host)
        return cls(origin.host, origin.port, origin.scheme)

    @classmethod
    def from_domain(cls, entry: str) -> "AllowedOrigin":
        """A `domains` entry: `host`, `host:port`, `[v6]:port`; no scheme, path or user info."""
        entry = entry.strip()
        if not entry or any(c in entry for c in "/?#@\\ "):
            raise OriginError(f"{entry!r} is not a host name")
        try:
            parts = urlsplit("//" + entry)
            port = parts.port
        except ValueError:
            raise OriginError(f"{entry!r} has an invalid port") from None
        if not parts.hostname:
            raise OriginError(f"{entry!r} is not a host name")
        host = normalize_host(parts.hostname)
        if port == 0:
            raise OriginError(f"{entry!r} has an invalid port")
        if port in (None, *DEFAULT_PORTS.values()):
            return cls(host)
        return cls(host, port)

    @property
    def is_address(self) -> bool:
        return ip_literal(self.host) is not None

    def covers_host(self, host: str) -> bool:
        if host == self.host:
            return True
        return not self.is_address and host.endswith("." + self.host)

    def admits_port(self, origin: Origin) -> bool:
        if self.port is None:
            return origin.on_default_port
        return origin.port == self.port and self.scheme in (None, origin.scheme)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        text = host if self.port is None else f"{host}:{self.port}"
        return f"{self.scheme}://{text}" if self.scheme else text


class OriginPolicy:
    """The allowed origins of one agency (or of a whole crawl): `refusal(url)` says whether a
    URL may be fetched, and if not, why."""

    def __init__(self, allowed: Iterable[AllowedOrigin]):
        self.allowed = tuple(dict.fromkeys(allowed))
        self._by_host: dict[str, list[AllowedOrigin]] = {}
        for rule in self.allowed:
            self._by_host.setdefault(rule.host, []).append(rule)

    @classmethod
    def union(cls, policies: Iterable["OriginPolicy"]) -> "OriginPolicy":
        return cls(rule for policy in policies for rule in policy.allowed)

    @property
    def named_hosts(self) -> frozenset[str]:
        """Hosts written in the configuration (subdomains they cover are not named)."""
        return frozenset(self._by_host)

    def _rules_for(self, host: str) -> list[AllowedOrigin]:
        """The configured entries whose host is `host` or a parent domain of it."""
        rules = list(self._by_host.get(host, ()))
        if ip_literal(host) is None:
            labels = host.split(".")
            for start in range(1, len(labels)):
                rules.extend(r for r in self._by_host.get(".".join(labels[start:]), ()) if not r.is_address)
        return rules

    def refusal(self, url: str) -> Refusal | None:
        """None if the URL is inside the configured origins, else the Refusal."""
        try:
            origin = Origin.from_url(url)
        except OriginError as exc:
            return Refusal(exc.kind, str(exc))
        rules = self._rules_for(origin.host)
        if any(rule.admits_port(origin) for rule in rules):
            return None
        if not rules:
            address = ip_literal(origin.host)
            kind = non_public(address) if address is not None else None
            if kind:
                return Refusal(PRIVATE_ADDRESS, f"private address {address} ({kind}) is not a configured origin")
            return Refusal(OFFSITE, f"offsite: host {origin.host} not configured")
        if any(rule.port == origin.port for rule in rules):  # the port is, with the other scheme
            return Refusal(OFFSITE, f"offsite: {origin.scheme} on port {origin.port} not configured for {origin.host}")
        return Refusal(OFFSITE, f"offsite: port {origin.port} not configured for {origin.host}")

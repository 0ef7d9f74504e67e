"""The agency registry: load ``agencies.yaml`` once, validate it, hand out frozen objects.

The YAML shape is a public interface (other tools write it)::

    agencies:
      - id: bozhou-mzj              # unique, [a-z0-9-]+
        name: 亳州市民政局
        kind: department            # department | government
        region: 安徽省亳州市         # optional
        start_year: 2012            # first year a report is expected
        sources:                    # listing pages where the agency publishes its reports
          - https://example.gov.cn/col/col1422/index.html
          - url: https://example.gov.cn/xxgk/   # a site root or disclosure page: the crawler
            discover: true                      # finds the annual-report column under it

Optional fields: per agency `domains` (extra hosts of its reports, `host` or `host:port`; see
config/origins.py for what a crawl may visit), `deadline: "MM-DD"`
(overrides the legal deadline, a day of year Y+1), `notify` (apprise URLs) and `schedule`
(crawl intervals); at the top, `notify` (URLs, or subscriptions by region and kind:
config/subscriptions.py) and `schedule` for every agency, and `public_url` (where the store
is served, for links in messages). A `sources` entry
is a URL (a listing page), or a mapping `{url: URL, discover: true}` naming a site root or a
disclosure page from which the crawler finds the annual-report column itself (crawler/discovery.py);
`{url: URL}` or `discover: false` is the same as the plain URL. Unknown fields are
rejected so that a typo such as ``start_yaer`` is caught at load time instead of silently
ignored, and so is a key given twice in one mapping (YAML would keep the last one silently).
Every problem is reported as one line naming the file, the agency (id, else its position in
the list) and the field.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gc
import hashlib
import ipaddress
import math
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from nianbao.config.deadlines import FIRST_REPORT_YEAR, parse_month_day
from nianbao.config.origins import AllowedOrigin, Origin, OriginError, OriginPolicy
from nianbao.config.subscriptions import Subscription, check_public_url

DEFAULT_CONFIG_PATH = Path("config") / "agencies.yaml"
# libyaml's safe loader when PyYAML has it (about 10x faster: a registry of 150,000 agencies
# is read by every crawl child), else the pure-Python one. Both are safe loaders.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONFIG_ENV_VAR = "NIANBAO_CONFIG"

# Patterns are used with fullmatch: `$` would also match before a final newline.
ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
# The Regulations on Open Government Information took effect in 2008: no earlier report.
EARLIEST_START_YEAR = FIRST_REPORT_YEAR

# -- durations ----------------------------------------------------------------------------------
# ASCII digits only ([0-9], not \d, which also takes "٦٠"); no unit means seconds.
DURATION_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw]?)\s*")
DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
DURATION_EXAMPLES = "45s, 30m, 12h, 1d or 2w"
# Crawl intervals: under a second is a loop, not a schedule; over a year misses a yearly report.
MIN_INTERVAL = datetime.timedelta(seconds=1)
MAX_INTERVAL = datetime.timedelta(days=366)

# -- URLs and hosts -----------------------------------------------------------------------------
# One DNS label (RFC 1123): letters, digits and inner dashes, 1 to 63 characters.
LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
MAX_HOST_LENGTH = 253
# No URL has these (RFC 3986): whitespace, control characters, invisible format characters
# (zero-width space, BOM, direction marks: pasted from web pages, unseen in an editor); and a
# backslash, which browsers read as a slash while Scrapy keeps it.
URL_FORBIDDEN_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\\]")
BAD_PERCENT_RE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# host, [IPv6] or [IPv6]:port, or host:port (after the check that there is no userinfo)
NETLOC_RE = re.compile(r"(?:\[(?P<ipv6>[^\]]*)\]|(?P<host>[^:\[\]]*))(?::(?P<port>.*))?")
SHOWN_CHARS = 60


def show(value: object) -> str:
    """A value for a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def parse_duration(value: object) -> datetime.timedelta:
    """'45s', '30m', '12h', '1d', '2w', or a number of seconds -> timedelta (never negative).

    Raises ValueError with a message for people, never OverflowError."""
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := DURATION_RE.fullmatch(value)):
        seconds = float(match.group(1)) * DURATION_UNITS[match.group(2)]
    else:
        raise ValueError(f"{show(value)} is not a duration such as {DURATION_EXAMPLES}")
    if math.isnan(seconds):
        raise ValueError(f"{show(value)} is not a duration such as {DURATION_EXAMPLES}")
    if seconds < 0:
        raise ValueError(f"{show(value)} is not a duration: it must not be negative")
    try:
        return datetime.timedelta(seconds=seconds)
    except OverflowError:  # also infinity
        raise ValueError(f"{show(value)} is too long a duration") from None


def format_duration(span: datetime.timedelta) -> str:
    """A timedelta in the largest unit that divides it: 90s, 2h, 366d."""
    seconds = span.total_seconds()
    for unit in ("w", "d", "h", "m"):
        size = DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


def check_interval(span: datetime.timedelta, low: datetime.timedelta,
                   high: datetime.timedelta) -> datetime.timedelta:
    if not low <= span <= high:
        raise ValueError(f"{format_duration(span)} is not from {format_duration(low)} "
                         f"to {format_duration(high)}")
    return span


def host_problem(host: str) -> str | None:
    """Why `host` is not a host name or IP address a crawl can visit, or None."""
    if not host:
        return "has no host"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if not host.isascii():
        # Pages link to such hosts in either form; the crawl compares hosts as text, so the
        # registry uses one: the ASCII (IDNA) form every HTTP request carries.
        try:
            ascii_form = host.encode("idna").decode("ascii")
        except UnicodeError:
            return f"{show(host)} is not a host name"
        return f"host {show(host)} is not ASCII: write it as {ascii_form!r}"
    # A final dot is the fully qualified spelling of the same host (origins compare without it).
    host = host[:-1] if host.endswith(".") and not host.endswith("..") else host
    if len(host) > MAX_HOST_LENGTH:
        return f"host name longer than {MAX_HOST_LENGTH} characters"
    labels = host.lower().split(".")
    bad = next((label for label in labels if not LABEL_RE.fullmatch(label)), None)
    if bad is not None:
        return (f"{show(host)} is not a host name: label {show(bad)} is not 1-63 letters, "
                "digits and inner dashes")
    if labels[-1].isdigit():  # a name ending in a number is read as an IPv4 address
        return f"{show(host)} is not an IP address"
    return None


DOMAIN_HINT = "(a domain is a host such as xxgk.example.gov.cn or xxgk.example.gov.cn:8080: no scheme or path)"


def check_domain(entry: str) -> str:
    """A `domains` entry: a host name or IP address with an optional :port (no scheme or
    path), returned in its canonical spelling (lowercase, default ports dropped)."""
    netloc = None
    if not any(c in entry for c in "/@?#\\"):
        netloc = NETLOC_RE.fullmatch(entry)
    if netloc is None:
        raise ValueError(f"{show(entry)} is not a host name with an optional port {DOMAIN_HINT}")
    port = netloc["port"]
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{show(entry)}: invalid port {show(port)}: not a number from 1 to 65535 "
                         f"{DOMAIN_HINT}")
    if netloc["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(netloc["ipv6"])
        except ValueError:
            raise ValueError(f"{show(entry)}: [{netloc['ipv6']}] is not an IPv6 address") from None
    else:
        host = netloc["host"]
        if not host.isascii():  # 政府.cn: links name it either way; kept in its IDNA form below
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise ValueError(f"{show(entry)} is not a valid host name {DOMAIN_HINT}") from None
        problem = host_problem(host)
        if problem:
            raise ValueError(f"{problem.replace('is not a host name', 'is not a valid host name')} "
                             f"{DOMAIN_HINT}")
    try:
        return str(AllowedOrigin.from_domain(entry))
    except OriginError as exc:
        raise ValueError(f"{exc} {DOMAIN_HINT}") from None


def check_source_url(url: str) -> str:
    """A `sources` entry: an absolute http(s) URL a crawl can fetch as written."""
    if URL_FORBIDDEN_RE.search(url):
        raise ValueError(f"{show(url)} contains a space, a control character or a backslash "
                         "(write a space as %20)")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed or non-IPv6 [bracket]
        raise ValueError(f"{show(url)} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{show(url)} is not an http(s) URL")
    if not parts.netloc:
        raise ValueError(f"{show(url)} has no host (expected http://host/...)")
    if "@" in parts.netloc:
        raise ValueError(f"{show(url)} must not contain a user name or password (user:pass@)")
    netloc = NETLOC_RE.fullmatch(parts.netloc)
    if netloc is None:
        raise ValueError(f"{show(url)}: {show(parts.netloc)} is not a host with an optional port")
    port = netloc["port"]
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{show(url)}: port {show(port)} is not a number from 1 to 65535")
    if netloc["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(netloc["ipv6"])
        except ValueError:
            raise ValueError(f"{show(url)}: [{netloc['ipv6']}] is not an IPv6 address") from None
    else:
        problem = host_problem(netloc["host"])
        if problem:
            raise ValueError(f"{show(url)}: {problem}")
    if BAD_PERCENT_RE.search(url):
        raise ValueError(f"{show(url)} has a % not followed by two hex digits (write % as %25)")
    return url


SourceUrl = Annotated[StrictStr, AfterValidator(check_source_url)]
Domain = Annotated[StrictStr, AfterValidator(check_domain)]


def check_apprise_urls(urls: tuple[str, ...]) -> tuple[str, ...]:
    if not urls:
        return urls
    import logging

    import apprise  # only when a config has notifications

    # apprise logs each URL it parses at DEBUG, secrets included: keep it quiet here.
    apprise_logger = logging.getLogger("apprise")
    level = apprise_logger.level
    apprise_logger.setLevel(logging.WARNING)
    try:
        for index, url in enumerate(urls):
            if not apprise.Apprise().add(url):
                raise ValueError(f"item {index + 1}: not a notification URL apprise understands")
    finally:
        apprise_logger.setLevel(level)
    return urls


class Schedule(BaseModel):
    """How often an agency is crawled: more often in the reporting season (Jan-Apr).

    Intervals are from 1s to 366d; the jitter from 0s to 366d."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    season_months: tuple[StrictInt, ...] = (1, 2, 3, 4)
    season_every: datetime.timedelta = datetime.timedelta(days=1)
    off_season_every: datetime.timedelta = datetime.timedelta(days=7)
    # Each next crawl moves by a random amount up to this, so that agencies on one host are
    # not all due at the same moment.
    jitter: datetime.timedelta = datetime.timedelta(hours=2)

    @field_validator("season_every", "off_season_every", "jitter", mode="before")
    @classmethod
    def _duration(cls, value: object) -> datetime.timedelta:
        return parse_duration(value)

    @field_validator("season_every", "off_season_every")
    @classmethod
    def _interval(cls, value: datetime.timedelta) -> datetime.timedelta:
        return check_interval(value, MIN_INTERVAL, MAX_INTERVAL)

    @field_validator("jitter")
    @classmethod
    def _jitter(cls, value: datetime.timedelta) -> datetime.timedelta:
        return check_interval(value, datetime.timedelta(0), MAX_INTERVAL)

    @field_validator("season_months")
    @classmethod
    def _months(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        for index, month in enumerate(value):
            if not 1 <= month <= 12:
                raise ValueError(f"item {index + 1}: {month} is not a month (1..12)")
        return value

    def interval(self, month: int) -> datetime.timedelta:
        return self.season_every if month in self.season_months else self.off_season_every


class ConfigError(Exception):
    """The registry cannot be used. ``str(error)`` is one line meant for people."""

    def __init__(self, message: str) -> None:
        # One line, whatever a file name or a parser's message brings along.
        super().__init__(" ".join(str(message).splitlines()))


class Agency(BaseModel):
    """One agency as declared in the registry (immutable after load)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    # Strict strings: YAML's !!binary bytes are not silently decoded into a name.
    id: StrictStr = Field(description="unique id, lowercase letters, digits and dashes")
    name: StrictStr = Field(min_length=1)
    kind: Literal["department", "government"]
    region: StrictStr | None = None
    start_year: int
    # Listing pages, as URLs, in file order (a `{url, discover}` mapping gives its url here).
    sources: tuple[SourceUrl, ...] = Field(min_length=1)
    # The sources written as `{url: ..., discover: true}`: site roots or disclosure pages from
    # which the crawler discovers the annual-report column (filled from `sources`, never
    # written in the YAML itself).
    discover_sources: tuple[SourceUrl, ...] = ()
    # Extra hosts (besides the hosts of `sources`) on which this agency's reports live,
    # e.g. a separate xxgk.* disclosure host; `host:port` for a port other than 80/443.
    domains: tuple[Domain, ...] = ()
    # Overrides the legal deadline: the report for year Y is due on this day of year Y+1.
    deadline: StrictStr | None = None
    # Apprise URLs notified of this agency's findings, besides the global ones.
    notify: tuple[StrictStr, ...] = ()
    # Overrides the global crawl schedule (fields not given keep the global values).
    schedule: dict | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_sources(cls, data: object) -> object:
        """`sources` items that are mappings: their URL stays in `sources` (same position, so
        errors name the right item), and `discover: true` adds it to `discover_sources`."""
        if not isinstance(data, dict):
            return data
        if "discover_sources" in data:
            raise ValueError("field 'discover_sources': unknown field "
                             "(write a source as {url: URL, discover: true})")
        sources = data.get("sources")
        if not isinstance(sources, list) or not any(isinstance(item, dict) for item in sources):
            return data
        urls, discover = [], []
        for index, item in enumerate(sources):
            if isinstance(item, dict):
                item = _source_mapping(item, index)
                if item["discover"]:
                    discover.append(item["url"])
                item = item["url"]
            urls.append(item)
        return {**data, "sources": urls, "discover_sources": discover}

    @field_validator("deadline")
    @classmethod
    def _check_deadline(cls, value: str | None) -> str | None:
        return parse_month_day(value) if value is not None else None

    @field_validator("notify")
    @classmethod
    def _check_notify(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_apprise_urls(value)

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: dict | None) -> dict | None:
        if value is not None:
            try:  # same fields and checks as the global schedule
                Schedule.model_validate(value)
            except ValidationError as exc:
                raise ValueError(_first_problem(exc)) from None
        return value

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not ID_PATTERN.fullmatch(value):
            raise ValueError("must match [a-z0-9-]+ (lowercase letters, digits, dashes)")
        return value

    @field_validator("start_year")
    @classmethod
    def _check_start_year(cls, value: int) -> int:
        latest = datetime.date.today().year
        if not EARLIEST_START_YEAR <= value <= latest:
            raise ValueError(f"must be a year between {EARLIEST_START_YEAR} and {latest}")
        return value

    @field_validator("sources")
    @classmethod
    def _check_sources(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            try:
                Origin.from_url(url)
            except OriginError as exc:
                raise ValueError(f"{url!r} is not an http(s) URL ({exc})") from None
        return value

    @functools.cached_property
    def origins(self) -> OriginPolicy:
        """Where this agency's crawl may go: its sources' origins plus `domains`.
        (Cached: the crawler asks for every link and redirect.)"""
        return OriginPolicy([
            *(AllowedOrigin.from_source(url) for url in self.sources),
            *(AllowedOrigin.from_domain(entry) for entry in self.domains),
        ])

    @property
    def hosts(self) -> frozenset[str]:
        """The host names of `origins` (without ports)."""
        return self.origins.named_hosts


class Registry(BaseModel):
    """All agencies of one registry file, in file order."""

    model_config = ConfigDict(frozen=True)

    path: str
    agencies: tuple[Agency, ...]
    # The plain URLs of the top-level `notify` (told of every finding) ...
    notify: tuple[str, ...] = ()
    # ... and its entries that select findings by region and kind (config/subscriptions.py).
    subscriptions: tuple[Subscription, ...] = ()
    schedule: Schedule = Schedule()
    # Where the store is served; links in notifications, feeds and reports start with it.
    public_url: str | None = None
    # SHA-256 of the file's bytes (hex) when loaded from a file: the store skips re-syncing
    # a registry it already holds. Empty for a registry built in code.
    sha256: str = ""

    def schedule_for(self, agency: Agency) -> Schedule:
        """The global schedule with the agency's overrides applied."""
        if not agency.schedule:
            return self.schedule
        return Schedule.model_validate({**self.schedule.model_dump(), **agency.schedule})

    @functools.cached_property
    def by_id(self) -> dict[str, Agency]:
        """Agency id -> agency (the first, should a hand-built Registry repeat an id)."""
        index: dict[str, Agency] = {}
        for agency in self.agencies:
            index.setdefault(agency.id, agency)
        return index

    @functools.cached_property
    def issuer_index(self):
        """config.issuers.IssuerIndex of the agencies (built once, when first needed)."""
        from nianbao.config.issuers import IssuerIndex

        return IssuerIndex(self.agencies)

    def get(self, agency_id: str) -> Agency:
        agency = self.by_id.get(agency_id)
        if agency is None:
            raise ConfigError(f"{self.path}: no agency with id {agency_id!r}")
        return agency

    def select(self, agency_ids: list[str] | tuple[str, ...] | None) -> tuple[Agency, ...]:
        """The agencies named (all when none are named); an unknown id is a ConfigError."""
        if not agency_ids:
            return self.agencies
        return tuple(self.get(agency_id) for agency_id in agency_ids)


def resolve_config_path(cli_value: str | os.PathLike | None = None) -> Path:
    """`--config`, else `$NIANBAO_CONFIG`, else `config/agencies.yaml`."""
    return Path(cli_value or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_PATH)


class RegistryLoader(SAFE_LOADER):
    """The safe loader, refusing a key given twice in one mapping.

    YAML itself would keep the last value and drop the first without a word: two `sources:`
    in one agency would crawl only one list. Merge keys (`<<: *base`) may still be overridden,
    as YAML intends: only the keys written in the mapping itself are compared.
    """

    def __init__(self, stream) -> None:
        super().__init__(stream)
        self._checked_nodes: set[int] = set()

    def flatten_mapping(self, node) -> None:
        # Called for each mapping before the merge rewrites node.value, and again for a
        # mapping merged into others, already rewritten: check each node once, the first time.
        if id(node) not in self._checked_nodes:
            self._checked_nodes.add(id(node))
            seen: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"duplicate key {key_node.value!r} (YAML would keep only the last)",
                        key_node.start_mark)
                seen.add(key)
        super().flatten_mapping(node)


def read_registry_text(path: Path) -> str:
    """The file's text; ConfigError when it cannot be read or is not UTF-8."""
    return decode_registry(path, read_registry_bytes(path))


def read_registry_bytes(path: Path, what: str = "a registry file") -> bytes:
    """The file's bytes; ConfigError when it cannot be read. what: the kind of file expected,
    for the message when the path is a directory (the registry or the CSV imported into it,
    monitor/registry_cmd.py: one reading, one set of messages)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not {what}") from None
    except PermissionError:
        raise ConfigError(f"{path}: cannot be read (permission denied)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return data


def decode_registry(path: Path, data: bytes) -> str:
    """The file's bytes as text; ConfigError when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{path}: line {line}: not UTF-8 text (byte {data[exc.start]:#04x}); "
                          "save the file as UTF-8") from None


def parse_registry_yaml(path: Path, text: str) -> object:
    """The YAML document; ConfigError naming the line when it is not valid YAML."""
    try:
        return yaml.load(text, Loader=RegistryLoader)
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        line = f" line {where.line + 1}" if where else ""
        raise ConfigError(f"{path}:{line} invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, BEL, ...)
        # The reader stops at the first such character; libyaml counts its position in bytes,
        # the pure-Python reader in characters: find the character itself.
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text.count("\n", 0, max(text.find(chr(code)), 0)) + 1
        raise ConfigError(f"{path}: line {line} invalid YAML: character #x{code:04x}: "
                          f"{exc.reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:  # the pure-Python loader on very deep nesting
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None


def load_registry(path: str | os.PathLike) -> Registry:
    """Read and validate a registry file; raise ConfigError with a one-line message.

    A file validated before is read back from the compiled registry cache (keyed by its
    SHA-256: config/registry_cache.py) instead of being parsed and validated again."""
    from nianbao.config import registry_cache

    path = Path(path)
    data = read_registry_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest()
    with _no_gc():
        cached = registry_cache.load(sha256, Registry)
        if cached is not None:
            return cached.model_copy(update={"path": str(path)})
        registry = validate_registry(path, decode_registry(path, data), sha256)
        registry_cache.save(registry, len(data))
    return registry


@contextlib.contextmanager
def _no_gc():
    """The cyclic garbage collector paused: building a registry's millions of objects (none
    of them garbage) otherwise triggers it over and over, which costs more than the build
    (a 150,000-agency registry reads back from its cache in 1 s instead of 3.5 s)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_registry(path: Path, text: str, sha256: str = "") -> Registry:
    """Parse and validate the registry's text (no cache); ConfigError when it is not valid."""
    raw = parse_registry_yaml(path, text)
    if raw is None:
        raise ConfigError(f"{path}: no registry in the file (it is empty, only comments or "
                          "null): expected a mapping with an 'agencies' list at the top")
    if not isinstance(raw, dict) or "agencies" not in raw:
        raise ConfigError(f"{path}: expected a mapping with an 'agencies' list at the top")
    unknown = sorted(set(raw) - {"agencies", "notify", "schedule", "public_url"}, key=repr)
    if unknown:
        raise ConfigError(f"{path}: unknown top-level field {show(unknown[0])}")
    notify, subscriptions = _notify_entries(path, raw.get("notify"))
    public_url = None
    if raw.get("public_url") is not None:
        try:
            public_url = check_public_url(raw["public_url"])
        except ValueError as exc:
            raise ConfigError(f"{path}: top level: field 'public_url': {exc}") from None
    try:
        # An absent or null schedule means the defaults; [] or 0 is a mistake, not a default.
        schedule = Schedule.model_validate({} if raw.get("schedule") is None else raw["schedule"])
    except ValidationError as exc:
        raise ConfigError(f"{path}: top level: field 'schedule': {_first_problem(exc)}") from None
    entries = raw["agencies"]
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: field 'agencies' must be a list")

    agencies: list[Agency] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        label = _entry_label(entry, index)
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: {label}: must be a mapping of fields")
        try:
            agency = Agency.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"{path}: {label}: {_first_problem(exc)}") from None
        if agency.id in seen:
            raise ConfigError(
                f"{path}: {label}: field 'id': duplicate of agency #{seen[agency.id] + 1}"
            )
        seen[agency.id] = index
        agencies.append(agency)
    return Registry(path=str(path), agencies=tuple(agencies), notify=notify,
                    subscriptions=subscriptions, schedule=schedule, public_url=public_url,
                    sha256=sha256)


def _notify_entries(path: Path, value: object) -> tuple[tuple[str, ...], tuple[Subscription, ...]]:
    """The top-level `notify` list: (plain URLs, subscriptions). A plain URL is one entry; a
    mapping {urls, region, kinds} another (config/subscriptions.py). ConfigError names the
    file, the entry and the field."""
    where = f"{path}: top level: field 'notify'"
    if value is None:
        return (), ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list")
    plain: list[str] = []
    subscriptions: list[Subscription] = []
    for index, entry in enumerate(value):
        label = f"{where}: entry {index + 1}"
        if isinstance(entry, str):
            try:
                check_apprise_urls((entry,))
            except ValueError:
                raise ConfigError(f"{label}: not a notification URL apprise understands") from None
            plain.append(entry)
        elif isinstance(entry, dict):
            try:
                subscription = Subscription.model_validate(entry)
            except ValidationError as exc:
                raise ConfigError(f"{label}: {_first_problem(exc)}") from None
            try:
                check_apprise_urls(subscription.urls)
            except ValueError as exc:
                raise ConfigError(f"{label}: field 'urls': {exc}") from None
            subscriptions.append(subscription)
        else:
            raise ConfigError(f"{label}: must be a notification URL or a mapping with 'urls' "
                              f"(and optional 'region', 'kinds'), not {show(entry)}")
    return tuple(plain), tuple(subscriptions)


SOURCE_KEYS = ("url", "discover")
SOURCE_SHAPE = "a source is a URL or a mapping {url: URL, discover: true}"


def _source_mapping(item: dict, index: int) -> dict:
    """A `sources` item written as a mapping: its `url` (checked with the other sources) and
    `discover` (a YAML boolean, false when absent). ValueError naming the item otherwise."""
    where = f"field 'sources': item {index + 1}"
    unknown = [key for key in item if key not in SOURCE_KEYS]
    if unknown:
        raise ValueError(f"{where}: unknown key {show(str(unknown[0]))} ({SOURCE_SHAPE})")
    if "url" not in item:
        raise ValueError(f"{where}: no 'url' ({SOURCE_SHAPE})")
    discover = item.get("discover", False)
    if not isinstance(discover, bool):
        raise ValueError(f"{where}: 'discover' must be true or false, not {show(discover)}")
    return {"url": item["url"], "discover": discover}


def _entry_label(entry: object, index: int) -> str:
    position = f"#{index + 1}"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"].strip():
        return f"agency {show(entry['id'].strip())} ({position})"
    return f"agency {position}"


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    # A misspelt field also makes the right one "missing": name the misspelling first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    location = [str(part) for part in error["loc"]]
    # In the words of the YAML file, not of Python ("valid tuple", "instance of Schedule").
    if error["type"] in ("model_type", "dict_type"):
        error = {**error, "msg": "must be a mapping of fields"}
    elif error["type"] in ("tuple_type", "list_type"):
        error = {**error, "msg": "must be a list"}
    if not location:
        return error["msg"].removeprefix("Value error, ")
    field = show(location[0])
    if error["type"] == "missing":
        return f"field {field}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"field {field}: unknown field"
    message = error["msg"].removeprefix("Value error, ")
    if len(location) > 1:
        message = f"item {int(location[1]) + 1}: {message}" if location[1].isdigit() else message
    return f"field {field}: {message}"

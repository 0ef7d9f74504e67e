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

Optional fields: per agency `domains` (extra hosts of its reports, `host` or `host:port`; see
config/origins.py for what a crawl may visit), `deadline: "MM-DD"`
(overrides the legal deadline, a day of year Y+1), `notify` (apprise URLs) and `schedule`
(crawl intervals); at the top, `notify` and `schedule` for every agency. Unknown fields are
rejected so that a typo such as ``start_yaer`` is caught at load time instead of silently
ignored. Every problem is reported
as one line naming the file, the agency (id, else its position in the list) and the field.
"""

from __future__ import annotations

import datetime
import functools
import os
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nianbao.config.deadlines import FIRST_REPORT_YEAR, parse_month_day
from nianbao.config.origins import AllowedOrigin, Origin, OriginError, OriginPolicy

DEFAULT_CONFIG_PATH = Path("config") / "agencies.yaml"
# libyaml's safe loader when PyYAML has it (about 10x faster: a registry of 150,000 agencies
# is read by every crawl child), else the pure-Python one. Both are safe loaders.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CONFIG_ENV_VAR = "NIANBAO_CONFIG"

ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# The Regulations on Open Government Information took effect in 2008: no earlier report.
EARLIEST_START_YEAR = FIRST_REPORT_YEAR
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(value: object) -> datetime.timedelta:
    """'30m', '12h', '1d', '2w' (or a number of seconds) -> timedelta."""
    if isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.timedelta(seconds=value)
    match = DURATION_RE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration such as 30m, 12h, 1d or 2w")
    return datetime.timedelta(seconds=float(match.group(1)) * DURATION_UNITS[match.group(2)])


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
    """How often an agency is crawled: more often in the reporting season (Jan-Apr)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    season_months: tuple[int, ...] = (1, 2, 3, 4)
    season_every: datetime.timedelta = datetime.timedelta(days=1)
    off_season_every: datetime.timedelta = datetime.timedelta(days=7)
    # Each next crawl moves by a random amount up to this, so that agencies on one host are
    # not all due at the same moment.
    jitter: datetime.timedelta = datetime.timedelta(hours=2)

    @field_validator("season_every", "off_season_every", "jitter", mode="before")
    @classmethod
    def _duration(cls, value: object) -> datetime.timedelta:
        return parse_duration(value)

    @field_validator("season_months")
    @classmethod
    def _months(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= month <= 12 for month in value):
            raise ValueError("months are 1..12")
        return value

    def interval(self, month: int) -> datetime.timedelta:
        return self.season_every if month in self.season_months else self.off_season_every


class ConfigError(Exception):
    """The registry cannot be used. ``str(error)`` is one line meant for people."""


class Agency(BaseModel):
    """One agency as declared in the registry (immutable after load)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(description="unique id, lowercase letters, digits and dashes")
    name: str = Field(min_length=1)
    kind: Literal["department", "government"]
    region: str | None = None
    start_year: int
    sources: tuple[str, ...] = Field(min_length=1)
    # Extra hosts (besides the hosts of `sources`) on which this agency's reports live,
    # e.g. a separate xxgk.* disclosure host; `host:port` for a port other than 80/443.
    domains: tuple[str, ...] = ()
    # Overrides the legal deadline: the report for year Y is due on this day of year Y+1.
    deadline: str | None = None
    # Apprise URLs notified of this agency's findings, besides the global ones.
    notify: tuple[str, ...] = ()
    # Overrides the global crawl schedule (fields not given keep the global values).
    schedule: dict | None = None

    @field_validator("domains")
    @classmethod
    def _check_domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Each entry in its canonical spelling (lowercase, IDNA, default ports dropped)."""
        canonical = []
        for entry in value:
            try:
                canonical.append(str(AllowedOrigin.from_domain(entry)))
            except OriginError as exc:
                raise ValueError(f"{exc} (e.g. xxgk.example.gov.cn or xxgk.example.gov.cn:8080, "
                                 "no scheme or path)") from None
        return tuple(canonical)

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
            Schedule.model_validate(value)  # same fields and checks as the global schedule
        return value

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
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
    notify: tuple[str, ...] = ()
    schedule: Schedule = Schedule()

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


def load_registry(path: str | os.PathLike) -> Registry:
    """Read and validate a registry file; raise ConfigError with a one-line message."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{line} invalid YAML: {problem}") from None

    if not isinstance(raw, dict) or "agencies" not in raw:
        raise ConfigError(f"{path}: expected a mapping with an 'agencies' list at the top")
    unknown = sorted(set(raw) - {"agencies", "notify", "schedule"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level field {unknown[0]!r}")
    try:
        notify = check_apprise_urls(tuple(_as_list(raw.get("notify"), "notify")))
        schedule = Schedule.model_validate(raw.get("schedule") or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: top level: field 'schedule': {_first_problem(exc)}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: top level: field 'notify': {exc}") from None
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
    return Registry(path=str(path), agencies=tuple(agencies), notify=notify, schedule=schedule)


def _as_list(value: object, field: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("must be a list")
    return value


def _entry_label(entry: object, index: int) -> str:
    position = f"#{index + 1}"
    if isinstance(entry, dict) and isinstance(entry.get("id"), str) and entry["id"].strip():
        return f"agency {entry['id'].strip()!r} ({position})"
    return f"agency {position}"


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    # A misspelt field also makes the right one "missing": name the misspelling first.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    location = [str(part) for part in error["loc"]]
    field = location[0] if location else "?"
    if error["type"] == "missing":
        return f"field {field!r}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"field {field!r}: unknown field"
    message = error["msg"].removeprefix("Value error, ")
    if len(location) > 1:
        message = f"item {int(location[1]) + 1}: {message}" if location[1].isdigit() else message
    return f"field {field!r}: {message}"

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

Optional fields may be added; unknown fields are rejected so that a typo such as
``start_yaer`` is caught at load time instead of silently ignored. Every problem is reported
as one line naming the file, the agency (id, else its position in the list) and the field.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG_PATH = Path("config") / "agencies.yaml"
CONFIG_ENV_VAR = "NIANBAO_CONFIG"

AGENCY_KINDS = ("department", "government")
ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
# The Regulations on Open Government Information took effect in 2008; a start year far
# outside that range is a typo, not a plan.
EARLIEST_START_YEAR = 2007


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
    # e.g. a separate xxgk.* disclosure host.
    domains: tuple[str, ...] = ()

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
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r} is not an http(s) URL")
        return value

    @property
    def hosts(self) -> frozenset[str]:
        """Hosts this agency's crawl may visit: those of its sources plus `domains`."""
        hosts = {urlsplit(url).hostname for url in self.sources}
        return frozenset(h for h in (*hosts, *self.domains) if h)


class Registry(BaseModel):
    """All agencies of one registry file, in file order."""

    model_config = ConfigDict(frozen=True)

    path: str
    agencies: tuple[Agency, ...]

    def get(self, agency_id: str) -> Agency:
        for agency in self.agencies:
            if agency.id == agency_id:
                return agency
        raise ConfigError(f"{self.path}: no agency with id {agency_id!r}")

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
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    unknown = sorted(set(raw) - {"agencies"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level field {unknown[0]!r}")
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
    return Registry(path=str(path), agencies=tuple(agencies))


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

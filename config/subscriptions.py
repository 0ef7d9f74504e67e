"""Who is told what: the registry's `notify` entries and its `public_url`.

A `notify` entry is either an apprise URL (told of every finding) or a subscription that
selects findings by region prefix and kind::

    notify:
      - mailto://user:pass@example.com            # every finding
      - urls: [dingtalk://TOKEN, json://hooks.example.org/nianbao]
        region: 安徽省                             # agencies whose region starts with this
        kinds: [missing, late]                     # only these finding kinds

`region` and `kinds` are both optional (absent: no filter on that). A provincial office
names its province once instead of listing thousands of agencies.

`public_url` is where the store is served (`nianbao serve` behind the office's web server):
notifications, feeds and reports link to `{public_url}/nianbao/reports/{report_id}` and
`{public_url}/nianbao/findings/{finding_id}` (see monitor/links.py).

This module imports no other nianbao package (config is the bottom layer), so the finding
kinds are listed here too; tests/test_subscriptions.py checks this list against the store's.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

# Every kind of finding the store may hold (storage/models.py FINDING_KINDS, plus the kinds
# of the document/redesign and statistics work: moved, column_moved, inconsistent).
FINDING_KIND_NAMES = ("new", "changed", "removed", "restored", "missing", "late",
                      "turned_up", "site_failing", "moved", "column_moved", "inconsistent")


class Subscription(BaseModel):
    """One notify entry: URLs, and which findings they get (None: no filter)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    urls: tuple[StrictStr, ...] = Field(min_length=1)
    region: StrictStr | None = None
    kinds: tuple[StrictStr, ...] | None = None

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise ValueError("must not be empty (leave it out to get every region)")
        return value

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one kind (leave it out to get every kind)")
        for index, kind in enumerate(value):
            if kind not in FINDING_KIND_NAMES:
                raise ValueError(f"item {index + 1}: {kind!r} is not a finding kind (one of "
                                 f"{', '.join(FINDING_KIND_NAMES)})")
        return tuple(dict.fromkeys(value))

    @property
    def selects_all(self) -> bool:
        return self.region is None and self.kinds is None

    def covers_region(self, region: str | None) -> bool:
        return self.region is None or (region or "").startswith(self.region)


def plain_subscription(url: str) -> Subscription:
    return Subscription(urls=(url,))


def check_public_url(value: Any) -> str:
    """An absolute http(s) URL without query or fragment; returned without a final '/'."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an http(s) URL such as https://nianbao.example.org")
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{text!r} is not an http(s) URL such as https://nianbao.example.org")
    if parts.query or parts.fragment or any(c.isspace() for c in text):
        raise ValueError(f"{text!r}: no spaces, query or fragment (links are added to it)")
    return text.rstrip("/")

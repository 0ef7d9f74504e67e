"""When an agency is next crawled: pure functions of a Schedule, the time and a random source.

The interval depends on the month of `now` as the daemon's host sees it (the reporting season,
January to April by default, is in local time), so callers pass an aware local datetime. The
store keeps times as ISO-8601 UTC text; `to_iso` and `from_iso` convert.
"""

from __future__ import annotations

import datetime as dt
import random

from nianbao.config.registry import Schedule
from nianbao.storage.models import utc_iso


def local_now() -> dt.datetime:
    """The current time, aware, in the host's time zone."""
    return dt.datetime.now().astimezone()


def _random_part(span: dt.timedelta, rng: random.Random) -> dt.timedelta:
    seconds = max(span.total_seconds(), 0.0)
    return dt.timedelta(seconds=rng.uniform(0.0, seconds)) if seconds else dt.timedelta(0)


def next_crawl_at(schedule: Schedule, now: dt.datetime, rng: random.Random) -> dt.datetime:
    """now + the interval for now's month (season or not) + a random jitter in [0, jitter]."""
    return now + schedule.interval(now.month) + _random_part(schedule.jitter, rng)


def first_crawl_at(schedule: Schedule, now: dt.datetime, rng: random.Random) -> dt.datetime:
    """An agency seen for the first time is due soon but not all at once: now + [0, jitter].

    With the default 2 h jitter a fresh install of many agencies spreads its first crawls
    over two hours instead of firing them in the first minute.
    """
    return now + _random_part(schedule.jitter, rng)


def to_iso(moment: dt.datetime) -> str:
    """An aware datetime -> '2026-01-05T06:00:00Z' (UTC, whole seconds, as the store keeps)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (see local_now)")
    return utc_iso(moment)


def from_iso(text: str) -> dt.datetime:
    """'2026-01-05T06:00:00Z' -> an aware UTC datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)

"""monitor/schedule.py: next crawl times from a Schedule, a time and a random source."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from nianbao.config.registry import Schedule
from nianbao.monitor.schedule import first_crawl_at, from_iso, next_crawl_at, to_iso

CST = dt.timezone(dt.timedelta(hours=8))
DEFAULT = Schedule()


@pytest.mark.parametrize(
    ("now", "schedule", "low", "high"),
    [
        pytest.param(dt.datetime(2026, 1, 5, 6, 0, tzinfo=CST), DEFAULT,
                     dt.timedelta(days=1), dt.timedelta(days=1, hours=2), id="season-daily"),
        pytest.param(dt.datetime(2026, 4, 30, 23, 0, tzinfo=CST), DEFAULT,
                     dt.timedelta(days=1), dt.timedelta(days=1, hours=2), id="last-season-day"),
        pytest.param(dt.datetime(2026, 5, 1, 0, 0, tzinfo=CST), DEFAULT,
                     dt.timedelta(days=7), dt.timedelta(days=7, hours=2), id="off-season-weekly"),
        pytest.param(dt.datetime(2026, 9, 1, tzinfo=CST),
                     Schedule(season_months=(9,), season_every="12h", jitter="0m"),
                     dt.timedelta(hours=12), dt.timedelta(hours=12), id="custom-season-no-jitter"),
        pytest.param(dt.datetime(2026, 10, 1, tzinfo=CST),
                     Schedule(off_season_every="2w", jitter="30m"),
                     dt.timedelta(weeks=2), dt.timedelta(weeks=2, minutes=30), id="two-weeks"),
    ],
)
def test_next_crawl_is_interval_of_the_month_plus_jitter(now, schedule, low, high):
    rng = random.Random(1)
    for _ in range(200):
        delay = next_crawl_at(schedule, now, rng) - now
        assert low <= delay <= high


def test_jitter_spreads_agencies():
    now = dt.datetime(2026, 2, 1, tzinfo=CST)
    rng = random.Random(7)
    times = {to_iso(next_crawl_at(DEFAULT, now, rng)) for _ in range(100)}
    assert len(times) > 90  # whole seconds over two hours: hardly any collide


def test_first_crawl_is_soon_but_spread():
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=CST)
    rng = random.Random(3)
    delays = [first_crawl_at(DEFAULT, now, rng) - now for _ in range(500)]
    assert all(dt.timedelta(0) <= d <= DEFAULT.jitter for d in delays)
    assert min(delays) < dt.timedelta(minutes=10) and max(delays) > dt.timedelta(minutes=110)
    assert first_crawl_at(Schedule(jitter="0m"), now, rng) == now


def test_same_seed_same_times():
    now = dt.datetime(2026, 3, 1, tzinfo=CST)
    assert next_crawl_at(DEFAULT, now, random.Random(5)) == next_crawl_at(DEFAULT, now, random.Random(5))


def test_iso_round_trip_is_utc_whole_seconds():
    moment = dt.datetime(2026, 1, 5, 6, 0, 30, 900000, tzinfo=CST)
    assert to_iso(moment) == "2026-01-04T22:00:30Z"
    assert from_iso("2026-01-04T22:00:30Z") == moment.replace(microsecond=0)
    with pytest.raises(ValueError):
        to_iso(dt.datetime(2026, 1, 5))

"""Retry-After: a 429 or 503 is retried no sooner than the server asks, never later than the cap.

Real crawls (`nianbao crawl` in a child process) of the fault server (tests/faults.py); every
wait is measured on the server, from the arrival times of the two attempts.
"""

from __future__ import annotations

import datetime
import json
import sqlite3

import pytest

from nianbao.crawler.middlewares import parse_retry_after
from tests.conftest import crawl
from tests.faults import LISTING_2, REPORTS, Fault

NOW = datetime.datetime(2024, 3, 18, 9, 41, 7, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    ("1", 1.0),
    (" 120 ", 120.0),
    ("0", 0.0),
    ("Mon, 18 Mar 2024 09:41:37 GMT", 30.0),  # IMF-fixdate, 30 s ahead
    ("Monday, 18-Mar-24 09:42:07 GMT", 60.0),  # the obsolete RFC 850 form
    ("Mon, 18 Mar 2024 09:41:37 -0000", 30.0),
    ("Sun, 17 Mar 2024 09:41:07 GMT", 0.0),  # already past: ask now
    ("-5", None),
    ("1.5", None),  # delay-seconds are whole digits
    ("soon", None),
    ("", None),
    ("３０", None),  # full-width digits are no delay-seconds
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


def config_for(server, tmp_path):
    return server.write_registry(tmp_path / "agencies.yaml")


def stored(db, path) -> list[dict]:
    connection = sqlite3.connect(db)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute("SELECT url, status, year, text FROM reports WHERE url LIKE ?", [f"%{path}"])
        return [dict(row) for row in rows]
    finally:
        connection.close()


def crawl_stats(db) -> dict:
    connection = sqlite3.connect(db)
    try:
        (stats,) = connection.execute("SELECT stats FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        connection.close()
    return json.loads(stats)


def gap(server, path) -> float:
    """Seconds between the first and the second request for `path`, on the server's clock."""
    hits = server.hits_for(path)
    assert [hit.attempt for hit in hits] == [1, 2], [str(hit) for hit in hits]
    return hits[1].at - hits[0].at


def test_a_503_with_retry_after_is_retried_no_sooner_than_asked(fault_server, tmp_path, db_path):
    report = REPORTS[2022]
    fault_server.script(report, Fault.status(503, retry_after=1))
    crawl(config_for(fault_server, tmp_path), db_path)
    rows = stored(db_path, report)
    assert [(row["status"], row["year"]) for row in rows] == [("live", 2022)]
    assert "全县交通运输系统共设立政务公开专栏22个" in rows[0]["text"]
    assert fault_server.hits_for(report)[0].fault == "503 Retry-After 1"
    assert gap(fault_server, report) >= 1.0
    assert crawl_stats(db_path)["nianbao/retry_after/waited"] == 1


def test_a_retry_after_beyond_the_cap_waits_the_cap(fault_server, tmp_path, db_path):
    capped, other_status = REPORTS[2020], REPORTS[2021]
    fault_server.script(capped, Fault.status(503, retry_after=3600))
    # Retry-After means nothing on a 500: plain backoff (0.05 s in tests)
    fault_server.script(other_status, Fault.status(500, retry_after=30))
    crawl(config_for(fault_server, tmp_path), db_path, settings={"NIANBAO_RETRY_AFTER_MAX": "1.5"})
    assert 1.5 <= gap(fault_server, capped) < 4.0
    assert gap(fault_server, other_status) < 1.0
    assert [row["status"] for row in stored(db_path, capped)] == ["live"]
    assert [row["status"] for row in stored(db_path, other_status)] == ["live"]
    stats = crawl_stats(db_path)
    assert stats["nianbao/retry_after/capped"] == stats["nianbao/retry_after/waited"] == 1


def test_a_429_is_retried_after_its_seconds_or_its_http_date(fault_server, tmp_path, db_path):
    by_seconds, by_date = REPORTS[2023], REPORTS[2019]
    fault_server.script(by_seconds, Fault.too_many_requests(retry_after=1))
    fault_server.script(by_date, Fault.too_many_requests(retry_after_date=2, json_body=True))
    crawl(config_for(fault_server, tmp_path), db_path)
    assert gap(fault_server, by_seconds) >= 1.0
    # the date is a whole second at least 2 s after the answer was sent
    assert gap(fault_server, by_date) >= 2.0
    assert len(stored(db_path, by_seconds)) == len(stored(db_path, by_date)) == 1


def test_retry_after_zero_means_no_wait_beyond_backoff(fault_server, tmp_path, db_path):
    report = REPORTS[2018]
    fault_server.script(report, Fault.status(503, retry_after=0), Fault.too_many_requests(retry_after="soon"))
    crawl(config_for(fault_server, tmp_path), db_path, settings={"RETRY_TIMES": "2"})
    hits = fault_server.hits_for(report)
    assert [hit.attempt for hit in hits] == [1, 2, 3]
    assert hits[2].at - hits[0].at < 1.0  # 0.05 s + 0.1 s of backoff
    assert crawl_stats(db_path)["nianbao/retry_after/unreadable"] == 1
    assert len(stored(db_path, report)) == 1


def test_waiting_for_a_retry_does_not_hold_up_other_requests(fault_server, tmp_path, db_path):
    """The wait is a reactor timer, not a sleep of the reactor thread: while the 2022 report
    waits 2 s, the slow second listing page comes back and its reports are fetched."""
    report = REPORTS[2022]
    fault_server.script(report, Fault.status(503, retry_after=2))
    fault_server.script(LISTING_2, Fault.delay(0.5))
    crawl(config_for(fault_server, tmp_path), db_path)
    first, retry = fault_server.hits_for(report)
    assert retry.at - first.at >= 2.0
    page_two = [fault_server.hits_for(REPORTS[year])[0].at for year in (2020, 2019, 2018)]
    assert all(first.at < at < retry.at - 0.5 for at in page_two), (first.at, page_two, retry.at)


def test_the_wait_works_under_a_reactor_without_asyncio(fault_server, tmp_path, db_path):
    """asyncio.sleep (the backoff's old wait) raised RuntimeError here and lost the report."""
    report = REPORTS[2021]
    fault_server.script(report, Fault.status(503, retry_after=1))
    result = crawl(config_for(fault_server, tmp_path), db_path,
                   settings={"TWISTED_REACTOR": "twisted.internet.epollreactor.EPollReactor"})
    assert "EPollReactor" in result.stderr
    assert gap(fault_server, report) >= 1.0
    assert len(stored(db_path, report)) == 1

"""Coverage rows (monitor/coverage.py): every status with its boundary days, the report that
counts, and agreement with the `coverage` SQL view on a real SQLite file."""

from __future__ import annotations

import datetime
import hashlib

import pytest

from nianbao.monitor.calendar import StoredAgency
from nianbao.monitor.coverage import LATE, MISSING, NOT_DUE, ON_TIME, STATUSES, compute_coverage
from nianbao.monitor.findings import today, verify_missing
from nianbao.storage import AgencyRecord, ReportFetch, Store
from nianbao.storage.part import fetch_all, fetch_one

D = datetime.date


# -- helpers shared with test_findings and test_check_cli -------------------------------------

def agency(agency_id: str, kind: str, start_year: int, deadline: str | None = None) -> AgencyRecord:
    return AgencyRecord(agency_id, f"{agency_id} 名称", kind, None, start_year,
                        (f"https://{agency_id}.example.gov.cn/list.html",), deadline)


def add_report(store: Store, agency_id: str, year: int | None, published: str | None, *,
               seen: str = "2020-01-01T08:00:00Z", kind: str = "annual_report",
               url: str | None = None, **extra) -> int:
    """Record one report page; return its report id."""
    url = url or f"https://{agency_id}.example.gov.cn/{year}-{published}-{kind}.html"
    title = f"{agency_id} {year}年政府信息公开工作年度报告"
    store.history.record_report(ReportFetch(
        agency_id=agency_id, url=url, title=title,
        text=f"{title}\n{hashlib.sha1(url.encode()).hexdigest()}", kind=kind, year=year,
        published_date=published, raw_page=b"<html></html>", raw_encoding="utf-8",
        fetched_at=seen, **extra,
    ))
    return fetch_one(store.db, "SELECT id FROM reports WHERE url = ?", (url,))["id"]


def good_crawl(store: Store, agency_ids, at: str | None = None) -> int:
    """A finished crawl in which every listing page of the agencies was fetched."""
    crawl_id = store.crawls.start(list(agency_ids), at=at)
    for agency_id in agency_ids:
        store.crawls.log_fetch(crawl_id=crawl_id, agency_id=agency_id, url=f"https://{agency_id}.example.gov.cn/",
                        status=200, error=None, purpose="listing", fetched_at=at)
    store.crawls.finish(crawl_id, finish_reason="finished", stats={}, at=at)
    return crawl_id


def first(agency_id: str, year: int, published: str, **extra) -> dict:
    """A row as store.coverage.first_annual_reports returns it."""
    return {"agency_id": agency_id, "year": year, "report_id": 1, "published_date": published,
            "published_basis": "page", "title": "t", "url": "u", "report_status": "live",
            "year_basis": "title", "title_year": year, "text_year": year, **extra}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "nianbao.db")
    yield s
    s.close()


# -- statuses, pure --------------------------------------------------------------------------

STATUS_CASES = [
    # id, kind, override, year, published (None: no report), as_of, status
    ("gov-before-deadline", "government", None, 2019, "2020-03-01", D(2026, 1, 1), ON_TIME),
    ("gov-published-on-deadline-is-on-time", "government", None, 2019, "2020-03-31", D(2026, 1, 1), ON_TIME),
    ("gov-published-day-after-is-late", "government", None, 2019, "2020-04-01", D(2026, 1, 1), LATE),
    ("dept-published-on-deadline-is-on-time", "department", None, 2019, "2020-01-31", D(2026, 1, 1), ON_TIME),
    ("dept-february-is-late-since-2019", "department", None, 2019, "2020-02-01", D(2026, 1, 1), LATE),
    ("dept-march-was-on-time-until-2018", "department", None, 2018, "2019-03-31", D(2026, 1, 1), ON_TIME),
    ("dept-april-2019-late-for-2018", "department", None, 2018, "2019-04-01", D(2026, 1, 1), LATE),
    ("override-makes-gov-report-late", "government", "01-31", 2019, "2020-02-15", D(2026, 1, 1), LATE),
    ("override-makes-dept-report-on-time", "department", "03-31", 2019, "2020-03-15", D(2026, 1, 1), ON_TIME),
    ("early-report-for-this-year", "government", None, 2026, "2026-11-01", D(2026, 11, 21), ON_TIME),
    ("as-of-deadline-day-is-not-due", "government", None, 2019, None, D(2020, 3, 31), NOT_DUE),
    ("as-of-day-after-deadline-is-missing", "government", None, 2019, None, D(2020, 4, 1), MISSING),
    ("dept-as-of-deadline-day-is-not-due", "department", None, 2019, None, D(2020, 1, 31), NOT_DUE),
    ("dept-as-of-day-after-is-missing", "department", None, 2019, None, D(2020, 2, 1), MISSING),
    ("override-deadline-day-not-due", "department", "06-30", 2019, None, D(2020, 6, 30), NOT_DUE),
    ("override-day-after-missing", "department", "06-30", 2019, None, D(2020, 7, 1), MISSING),
    ("report-counts-even-before-as-of-deadline", "government", None, 2019, "2020-01-05", D(2020, 2, 1), ON_TIME),
]


@pytest.mark.parametrize("kind, override, year, published, as_of, status",
                         [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
def test_status(kind, override, year, published, as_of, status):
    a = StoredAgency("a", kind, year, override)
    reports = [first("a", year, published)] if published else []
    rows = compute_coverage([a], reports, as_of)
    row = next(r for r in rows if r.year == year)
    assert row.status == status
    assert (row.report_id is not None) == (published is not None)


def test_rows_per_agency_and_year_in_order():
    agencies = [StoredAgency("b", "government", 2019), StoredAgency("a", "department", 2020)]
    reports = [first("a", 2022, "2022-01-10"), first("b", 2019, "2020-03-01"),
               first("zzz", 2019, "2020-03-01"),  # not an agency asked about
               first("b", 2017, "2018-03-01")]  # before b's start_year
    rows = compute_coverage(agencies, reports, D(2022, 1, 15))
    assert [(r.agency_id, r.year) for r in rows] == [
        ("b", 2019), ("b", 2020), ("b", 2021), ("a", 2020), ("a", 2021), ("a", 2022)]
    assert [r.status for r in rows] == [ON_TIME, MISSING, NOT_DUE, MISSING, NOT_DUE, ON_TIME]


def test_row_json():
    row = compute_coverage([StoredAgency("a", "department", 2019)],
                           [first("a", 2019, "2020-02-03")], D(2021, 1, 1))[0]
    data = row.to_json()
    assert data["deadline"] == "2020-01-31" and data["published_date"] == "2020-02-03"
    assert data["status"] == LATE and row.days_late == 3
    assert {"agency_id", "year", "status", "deadline", "report_id", "published_date",
            "report_status", "year_basis", "title_year"} <= data.keys()


# -- the report that counts, from a real store ------------------------------------------------

def rows_for(store: Store, as_of: datetime.date):
    agencies = [StoredAgency.from_row(r) for r in store.agencies.rows()]
    return {(r.agency_id, r.year): r for r in compute_coverage(agencies, store.coverage.first_annual_reports(), as_of)}


def test_first_seen_is_the_date_when_the_page_has_none(store):
    store.agencies.sync([agency("gov", "government", 2019)])
    # 23:30 UTC on 1 April is 07:30 on 2 April in China, where the deadlines are.
    report_id = add_report(store, "gov", 2019, None, seen="2020-04-01T23:30:00Z")
    row = rows_for(store, D(2021, 1, 1))[("gov", 2019)]
    assert (row.report_id, row.published_date, row.published_basis) == (report_id, D(2020, 4, 2), "first_seen")
    assert row.status == LATE


def test_earliest_annual_report_counts_and_other_kinds_never_do(store):
    store.agencies.sync([agency("dept", "department", 2019)])
    add_report(store, "dept", 2019, "2020-01-10", kind="other")  # a work plan: never counts
    later = add_report(store, "dept", 2019, "2020-03-01")
    earlier = add_report(store, "dept", 2019, "2020-01-30")
    add_report(store, "dept", None, "2020-01-01")  # year unknown: counts for no year
    row = rows_for(store, D(2021, 1, 1))[("dept", 2019)]
    assert row.report_id == earlier != later and row.status == ON_TIME


def test_only_other_kind_leaves_the_year_missing(store):
    store.agencies.sync([agency("dept", "department", 2019)])
    add_report(store, "dept", 2019, "2020-01-10", kind="other")
    assert rows_for(store, D(2021, 1, 1))[("dept", 2019)].status == MISSING


def test_removed_report_still_counts(store):
    store.agencies.sync([agency("gov", "government", 2019)])
    report_id = add_report(store, "gov", 2019, "2020-03-02")
    assert store.history.mark_removed(agency_id="gov", url=fetch_one(store.db, 
        "SELECT url FROM reports WHERE id = ?", (report_id,))["url"], http_status=404)
    row = rows_for(store, D(2021, 1, 1))[("gov", 2019)]
    assert (row.status, row.report_id, row.report_status) == (ON_TIME, report_id, "removed")


def test_year_attribution_columns_are_shown(store):
    store.agencies.sync([agency("gov", "government", 2017)])
    # titled "2018年度" but its statistics cover 2017: counted for 2017
    add_report(store, "gov", 2017, "2018-03-10", title_year=2018, text_year=2017, year_basis="text")
    row = rows_for(store, D(2021, 1, 1))[("gov", 2017)]
    assert (row.year_basis, row.title_year, row.status) == ("text", 2018, ON_TIME)
    assert rows_for(store, D(2021, 1, 1))[("gov", 2018)].status == MISSING


# -- the SQL view agrees with Python ------------------------------------------------------------

def test_coverage_view_equals_python_rows_as_of_today(store):
    from nianbao.config.deadlines import DEADLINE_RULES

    t = today()
    y = t.year
    yesterday = t - datetime.timedelta(days=1)
    store.agencies.sync([
        agency("dept", "department", y - 4),
        agency("gov", "government", y - 4),
        agency("not-due", "department", y - 1, "12-31"),  # due on 31 Dec of this year
        agency("due-today", "government", y - 1, t.strftime("%m-%d")),
        agency("due-yesterday", "government", y - 1, yesterday.strftime("%m-%d")),
        agency("nothing", "government", y),  # nothing expected yet
        agency("uncrawled", "government", y - 2),  # ...its report for y - 2: unverified
        agency("starts-next-year", "department", y + 1),  # nothing expected, even if reported
    ])
    store.agencies.sync_deadline_rules(DEADLINE_RULES)
    add_report(store, "dept", y - 4, f"{y - 3}-01-31")  # on the deadline day: on time
    add_report(store, "dept", y - 3, f"{y - 2}-02-01")  # a day late
    add_report(store, "dept", y, t.isoformat())  # this year's, already out
    add_report(store, "gov", y - 4, None, seen=f"{y - 3}-04-01T00:00:00Z")  # first_seen: late
    removed = add_report(store, "gov", y - 3, f"{y - 2}-03-01")
    store.history.mark_removed(agency_id="gov", url=fetch_one(store.db, 
        "SELECT url FROM reports WHERE id = ?", (removed,))["url"], http_status=410)
    add_report(store, "gov", y - 2, f"{y - 1}-05-01")
    add_report(store, "gov", y - 2, f"{y - 1}-03-01")  # the earlier one counts
    add_report(store, "gov", y - 2, f"{y - 1}-01-01", kind="other")
    add_report(store, "due-yesterday", y - 1, yesterday.isoformat(), url="https://x/late-ok")
    add_report(store, "starts-next-year", y + 1, t.isoformat())

    good_crawl(store, ["dept", "gov", "due-yesterday"])  # missing and verified, unlike...

    view = [dict(r) for r in fetch_all(store.db, "SELECT * FROM coverage ORDER BY agency_id, year")]
    agencies = [StoredAgency.from_row(r) for r in store.agencies.rows()]
    python = [
        row.to_json() for row in verify_missing(
            compute_coverage(agencies, store.coverage.first_annual_reports(), t),
            store.crawls.last_good())
    ]
    # every column of a CoverageRow, under the same name (verified as 1/0/NULL)
    assert view == sorted(python, key=lambda r: (r["agency_id"], r["year"]))
    assert {r["verified"] for r in view if r["status"] == MISSING} == {0, 1}
    assert {r["status"] for r in view} == set(STATUSES)
    by_key = {(r["agency_id"], r["year"]): r["status"] for r in view}
    assert by_key[("due-today", y - 1)] == NOT_DUE
    assert by_key[("not-due", y - 1)] == NOT_DUE
    assert not any(r["agency_id"] in ("nothing", "starts-next-year") for r in view)

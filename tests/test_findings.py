"""Findings of `check` (monitor/findings.py, storage/findings.py): missing, late, turned_up
and site_failing, each raised exactly once however often check or the daemon runs."""

from __future__ import annotations

import datetime

import pytest

from nianbao.config.deadlines import DEADLINE_RULES
from nianbao.config.registry import Agency, Registry
from nianbao.monitor.coverage import LATE, MISSING, ON_TIME
from nianbao.monitor.findings import SITE_FAILING_AFTER, raise_site_failing, run_check, today
from nianbao.storage import StorageError, Store
from nianbao.storage.part import fetch_all, fetch_one
from tests.test_coverage import add_report, agency

D = datetime.date
AS_OF = D(2022, 6, 1)


def registry(*records) -> Registry:
    return Registry(path="test.yaml", agencies=tuple(
        Agency(id=r.id, name=r.name, kind=r.kind, start_year=r.start_year, sources=r.sources,
               deadline=r.deadline)
        for r in records))


DEPT = agency("dept", "department", 2019)
GOV = agency("gov", "government", 2019)
REGISTRY = registry(DEPT, GOV)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "nianbao.db")
    s.agencies.sync([DEPT, GOV])
    yield s
    s.close()


def keys(store: Store, kind: str | None = None) -> list[str]:
    return [f["dedup_key"] for f in store.findings.rows(kind) if f["dedup_key"]]


def monitor_keys(store: Store) -> list[str]:
    return [k for k in keys(store) if not k.startswith(("new", "changed", "removed"))]


# -- missing, late, turned_up ------------------------------------------------------------------

@pytest.fixture
def reports(store):
    add_report(store, "dept", 2019, "2020-01-20")  # on time
    add_report(store, "dept", 2020, "2021-02-10")  # late (departments: 31 January)
    add_report(store, "gov", 2020, "2021-03-01")  # on time (governments: 31 March)
    # missing: dept 2021 (due 2022-01-31), gov 2019 (2020-03-31), gov 2021 (2022-03-31)
    crawl(store, {"dept": "ok", "gov": "ok"})  # the sites were looked at after every deadline


def test_each_finding_is_raised_once_across_repeated_runs(store, reports):
    for _ in range(3):
        rows = run_check(store, REGISTRY, AS_OF)
    statuses = {(r.agency_id, r.year): r.status for r in rows}
    assert statuses == {("dept", 2019): ON_TIME, ("dept", 2020): LATE, ("dept", 2021): MISSING,
                        ("gov", 2019): MISSING, ("gov", 2020): ON_TIME, ("gov", 2021): MISSING}
    assert sorted(monitor_keys(store)) == [
        "late:dept:2020", "missing:dept:2021", "missing:gov:2019", "missing:gov:2021"]
    late = store.findings.rows("late")[0]
    assert late["report_id"] is not None and late["year"] == 2020
    assert late["details"]["deadline"] == "2021-01-31"
    assert late["details"]["published_date"] == "2021-02-10" and late["details"]["days_late"] == 10
    missing = store.findings.rows("missing", agency_id="gov")[0]
    assert missing["details"]["deadline"] == "2020-03-31" and missing["report_id"] is None


def test_a_missing_report_that_turns_up_is_raised_once_late_and_turned_up(store, reports):
    run_check(store, REGISTRY, AS_OF)
    # gov 2019 appears, published months after its deadline
    add_report(store, "gov", 2019, "2020-05-01", seen="2022-06-02T01:00:00Z")
    for _ in range(3):
        run_check(store, REGISTRY, D(2022, 6, 3))
    assert keys(store, "turned_up") == ["turned_up:gov:2019"]
    assert keys(store, "late") == ["late:dept:2020", "late:gov:2019"]
    turned_up = store.findings.rows("turned_up")[0]
    assert turned_up["details"]["status"] == LATE and turned_up["details"]["published_date"] == "2020-05-01"


def test_a_report_the_monitor_could_not_see_turns_up_on_time(store, reports):
    run_check(store, REGISTRY, AS_OF)
    # dept 2021 was published on time, but the monitor only saw it later
    add_report(store, "dept", 2021, "2022-01-20", seen="2022-07-01T01:00:00Z")
    run_check(store, REGISTRY, D(2022, 7, 1))
    run_check(store, REGISTRY, D(2022, 7, 2))
    assert keys(store, "turned_up") == ["turned_up:dept:2021"]
    assert store.findings.rows("turned_up")[0]["details"]["status"] == ON_TIME
    assert "late:dept:2021" not in keys(store, "late")


def test_a_second_process_raises_nothing_new(store, reports, tmp_path):
    run_check(store, REGISTRY, AS_OF)
    before = monitor_keys(store)
    with Store(store.path) as other:
        run_check(other, REGISTRY, AS_OF)
    assert monitor_keys(store) == before


def test_a_future_day_or_no_record_writes_no_finding(store, reports):
    rows = run_check(store, REGISTRY, today() + datetime.timedelta(days=400))
    assert any(r.status == MISSING for r in rows)
    run_check(store, REGISTRY, AS_OF, record=False)
    assert monitor_keys(store) == []


def test_check_syncs_deadline_overrides_and_rules(store):
    late_by_override = agency("strict", "government", 2019, "01-15")
    reg = registry(DEPT, GOV, late_by_override)
    store.agencies.sync([late_by_override])
    add_report(store, "strict", 2019, "2020-02-01")  # fine by law, late by its own rule
    rows = run_check(store, reg, AS_OF, agency_ids=["strict"])
    assert [(r.year, r.status) for r in rows][0] == (2019, LATE)
    assert store.agencies.rows(["strict"])[0]["deadline"] == "01-15"
    assert fetch_one(store.db, "SELECT count(*) AS n FROM deadline_rules")["n"] == len(DEADLINE_RULES)
    assert keys(store, "late") == ["late:strict:2019"]


def test_sync_deadline_rules(store):
    assert store.agencies.sync_deadline_rules(DEADLINE_RULES) is True
    assert store.agencies.sync_deadline_rules(DEADLINE_RULES) is False  # unchanged: not rewritten
    assert store.agencies.sync_deadline_rules([(2008, None, None, 3, 31, "one rule")]) is True
    assert [dict(r) for r in fetch_all(store.db, "SELECT * FROM deadline_rules")] == [
        {"first_year": 2008, "last_year": None, "agency_kind": None, "month": 3, "day": 31,
         "basis": "one rule"}]


def test_record_finding_once_per_key_and_readable_errors(store):
    args = dict(agency_id="dept", year=2019, report_id=None, details={"x": 1},
                dedup_key="missing:dept:2019")
    first = store.findings.record("missing", **args)
    assert isinstance(first, int)
    assert store.findings.record("missing", **{**args, "details": {"x": 2}}) is None
    assert store.findings.rows("missing")[0]["details"] == {"x": 1}
    with pytest.raises(ValueError, match="finding kind"):
        store.findings.record("gone", **{**args, "dedup_key": "k"})
    with pytest.raises(StorageError, match="does not exist"):
        store.findings.record("missing", **{**args, "agency_id": "nope", "dedup_key": "k2"})


def test_missing_is_raised_only_after_a_complete_crawl_after_the_deadline(store):
    add_report(store, "dept", 2019, "2020-01-20")
    rows = run_check(store, REGISTRY, AS_OF)  # never crawled: nobody has looked yet
    assert {(r.agency_id, r.year): (r.status, r.verified) for r in rows if r.status == MISSING} == {
        ("dept", 2020): (MISSING, False), ("dept", 2021): (MISSING, False),
        ("gov", 2019): (MISSING, False), ("gov", 2020): (MISSING, False), ("gov", 2021): (MISSING, False)}
    assert monitor_keys(store) == []
    crawl(store, {"dept": "error", "gov": "ok"})  # dept's listing failed: still unverified
    run_check(store, REGISTRY, AS_OF)
    assert sorted(monitor_keys(store)) == ["missing:gov:2019", "missing:gov:2020", "missing:gov:2021"]
    crawl(store, {"dept": "ok"})
    run_check(store, REGISTRY, AS_OF)
    assert "missing:dept:2020" in monitor_keys(store)


def test_an_undated_report_first_seen_on_a_first_crawl_is_not_called_late(store):
    # No page date: published = the day first seen. Seen after its deadline, but no complete
    # crawl looked for it between the deadline and then: not known to be late.
    add_report(store, "dept", 2019, None, seen="2021-06-01T00:00:00Z")  # due 2020-01-31
    crawl(store, {"dept": "ok"})  # now: after the report was first seen
    rows = run_check(store, REGISTRY, AS_OF, agency_ids=["dept"])
    assert (rows[0].year, rows[0].status, rows[0].published_basis) == (2019, LATE, "first_seen")
    assert keys(store, "late") == []
    # A report that the complete crawl above (after its deadline) did not see, seen later:
    # late indeed.
    add_report(store, "dept", 2020, None, seen="2099-06-01T00:00:00Z")  # due 2021-01-31
    run_check(store, REGISTRY, AS_OF, agency_ids=["dept"])
    assert keys(store, "late") == ["late:dept:2020"]


# -- sites that keep failing ---------------------------------------------------------------------

def crawl(store: Store, outcomes: dict[str, str], *, finish: bool = True) -> int:
    """One crawl; outcomes: agency -> 'ok', 'error' (a listing times out), '404' (a listing
    answers 404) or 'report-error' (only a report page fails)."""
    crawl_id = store.crawls.start(list(outcomes))
    for agency_id, outcome in outcomes.items():
        listing = f"https://{agency_id}.example.gov.cn/list.html"
        status, error = {"ok": (200, None), "error": (None, "TimeoutError: took longer than 30 s"),
                         "404": (404, None), "report-error": (200, None)}[outcome]
        store.crawls.log_fetch(crawl_id=crawl_id, agency_id=agency_id, url=listing, status=status,
                        error=error, purpose="listing")
        if outcome == "report-error":
            store.crawls.log_fetch(crawl_id=crawl_id, agency_id=agency_id, url=listing + "?r",
                            status=500, error=None, purpose="report")
    if finish:
        store.crawls.finish(crawl_id, finish_reason="finished", stats={})
    return crawl_id


def test_site_failing_after_exactly_n_crawls_once_per_streak_and_again_after_recovery(store):
    assert SITE_FAILING_AFTER == 3
    first = crawl(store, {"dept": "error", "gov": "ok"})
    assert raise_site_failing(store, ["dept", "gov"]) == []
    crawl(store, {"dept": "404", "gov": "ok"})
    assert raise_site_failing(store, ["dept", "gov"]) == []
    third = crawl(store, {"dept": "error", "gov": "ok"})
    raised = raise_site_failing(store, ["dept", "gov"])
    assert [f["dedup_key"] for f in raised] == [f"site_failing:dept:{first}"]
    finding = store.findings.rows("site_failing")[0]
    assert finding["crawl_id"] == third and finding["details"]["crawls_in_a_row"] == 3
    crawls = finding["details"]["crawls"]
    assert [c["id"] for c in crawls] == [first, first + 1, third]
    assert crawls[0]["errors"][0]["error"].startswith("TimeoutError")
    assert crawls[1]["errors"][0]["status"] == 404
    # the streak goes on: nothing new, whoever asks
    crawl(store, {"dept": "error", "gov": "ok"})
    assert raise_site_failing(store, ["dept"]) == []
    run_check(store, REGISTRY, AS_OF)
    # recovery, then a new streak: reported again, once
    crawl(store, {"dept": "ok", "gov": "ok"})
    assert raise_site_failing(store, ["dept"]) == []
    again = [crawl(store, {"dept": "error"}) for _ in range(3)]
    assert [f["dedup_key"] for f in raise_site_failing(store, ["dept"])] == [
        f"site_failing:dept:{again[0]}"]
    assert raise_site_failing(store, ["dept"]) == []
    assert len(store.findings.rows("site_failing")) == 2


def test_only_listing_failures_of_the_agency_count(store):
    for _ in range(SITE_FAILING_AFTER):
        crawl(store, {"dept": "report-error", "gov": "ok"})
    assert raise_site_failing(store, ["dept", "gov"]) == []
    # crawls that did not cover the agency neither break nor extend its streak
    for _ in range(SITE_FAILING_AFTER - 1):
        crawl(store, {"gov": "error"})
        crawl(store, {"dept": "ok"})
    assert raise_site_failing(store, ["dept", "gov"]) == []


def test_a_crawl_still_running_is_not_counted(store):
    for _ in range(SITE_FAILING_AFTER - 1):
        crawl(store, {"dept": "error"})
    running = crawl(store, {"dept": "error"}, finish=False)
    assert raise_site_failing(store, ["dept"]) == []
    store.crawls.finish(running, finish_reason="finished", stats={})
    assert len(raise_site_failing(store, ["dept"])) == 1


def test_check_raises_site_failing_and_a_long_history_is_paged(store):
    for _ in range(60):  # more than one page of agency_crawls
        crawl(store, {"gov": "error"})
    run_check(store, REGISTRY, AS_OF)
    run_check(store, REGISTRY, AS_OF)
    failing = store.findings.rows("site_failing")
    assert [f["dedup_key"] for f in failing] == ["site_failing:gov:1"]
    assert failing[0]["details"]["crawls_in_a_row"] == 60
    assert len(failing[0]["details"]["crawls"]) == 10

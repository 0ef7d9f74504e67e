"""`nianbao status`: the daemon's heartbeat, the crawl schedule, findings not yet delivered."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from nianbao.monitor.daemon_cmd import status
from nianbao.monitor.notify import target_key
from nianbao.monitor.schedule import to_iso
from nianbao.storage import AgencyRecord, ReportFetch, Store
from nianbao.storage.schedule import CrawlResult
from nianbao.storage.part import fetch_one

pytestmark = pytest.mark.timeout(60)

HOOK = "json://127.0.0.1:9/hook"
AGENCY_HOOK = "json://127.0.0.1:9/only-b"


@pytest.fixture
def config(tmp_path):
    document = {
        "notify": [HOOK],
        "agencies": [
            {"id": "a", "name": "示例市民政局", "kind": "department", "start_year": 2019,
             "sources": ["http://127.0.0.1:9/a/"]},
            {"id": "b", "name": "示例县人民政府", "kind": "government", "start_year": 2019,
             "sources": ["http://127.0.0.1:9/b/"], "notify": [AGENCY_HOOK]},
        ],
    }
    path = tmp_path / "agencies.yaml"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "nianbao.db") as opened:
        opened.agencies.sync([
            AgencyRecord("a", "示例市民政局", "department", None, 2019, ("http://127.0.0.1:9/a/",)),
            AgencyRecord("b", "示例县人民政府", "government", None, 2019, ("http://127.0.0.1:9/b/",)),
        ])
        yield opened


def ago(**delta) -> str:
    return to_iso(dt.datetime.now(dt.UTC) - dt.timedelta(**delta))


def run_status(config, store, *extra):
    result = CliRunner().invoke(status, ["--config", str(config), "--db", str(store.path), *extra])
    return result


def status_json(config, store, *extra) -> dict:
    result = run_status(config, store, "--json", *extra)
    report = json.loads(result.output)
    # a health check: 0 only while a daemon runs, 3 when none does
    assert result.exit_code == (0 if report["daemon"]["running"] else 3), result.output
    return report


def add_finding(store, agency_id, year):
    store.history.record_report(ReportFetch(
        agency_id=agency_id, url=f"http://x/{agency_id}/{year}.html", title=f"{year}年年报",
        text="正文", kind="annual_report", year=year, published_date=None, raw_page=b"",
        raw_encoding="utf-8", fetched_at=ago(days=1)))
    return fetch_one(store.db, "SELECT max(id) AS id FROM findings")["id"]


@pytest.mark.parametrize(
    ("beat_age", "state", "running"),
    [
        pytest.param(5, "running", True, id="fresh"),
        pytest.param(5, "stopping", True, id="stopping-still-beating"),
        pytest.param(600, "running", False, id="stale: crashed"),
        pytest.param(5, "stopped", False, id="stopped"),
    ],
)
def test_daemon_running_is_a_fresh_beat_not_stopped(config, store, beat_age, state, running):
    store.heartbeat.beat(pid=4321, hostname="host-1", started_at=ago(hours=1), state=state,
               at=ago(seconds=beat_age))
    report = status_json(config, store)
    assert report["daemon"]["running"] is running
    assert (report["daemon"]["pid"], report["daemon"]["hostname"]) == (4321, "host-1")
    text = run_status(config, store).output
    assert text.startswith("Daemon: running" if running else "Daemon: not running")
    assert "pid 4321 on host-1" in text


def test_stale_after_is_an_option(config, store):
    store.heartbeat.beat(pid=1, hostname="h", started_at=ago(hours=1), state="running", at=ago(seconds=200))
    assert not status_json(config, store)["daemon"]["running"]
    assert status_json(config, store, "--stale-after", "5m")["daemon"]["running"]


def test_never_started(config, store):
    report = status_json(config, store)
    assert report["daemon"] == {"running": False}
    assert "never started" in run_status(config, store).output


def test_schedule_per_agency(config, store):
    store.schedule.add({"a": ago(minutes=1), "b": ago(minutes=2)})
    assert store.schedule.claim_due(due_by=ago(seconds=0), limit=1, pid=99) == ["b"]
    crawl_id = store.crawls.start(["a"])
    store.schedule.claim_due(due_by=ago(seconds=0), limit=5, pid=99)
    store.schedule.finish([CrawlResult(agency_id="a", outcome="errors", finished_at=ago(seconds=1),
                                        next_crawl_at=ago(days=-1), crawl_id=crawl_id,
                                        error="2 failed requests")])
    report = status_json(config, store)
    rows = {r["agency_id"]: r for r in report["agencies"]["rows"]}
    assert report["agencies"]["scheduled"] == 2 and report["agencies"]["running"] == 1
    assert report["agencies"]["failing"] == 1
    assert rows["a"]["last_outcome"] == "errors" and rows["a"]["last_crawl_id"] == crawl_id
    assert rows["b"]["running_since"] and rows["a"]["running_since"] is None
    assert [r["agency_id"] for r in report["agencies"]["rows"]] == ["b", "a"]  # running first
    text = run_status(config, store).output
    assert "1 crawling now" in text and "示例市民政局" in text and "(in 24h)" in text


def test_findings_not_yet_delivered_to_every_target(config, store):
    first = add_finding(store, "a", 2020)  # targets: HOOK
    second = add_finding(store, "b", 2020)  # targets: HOOK and AGENCY_HOOK
    report = status_json(config, store)
    assert report["undelivered"]["targets"] == 2
    assert report["undelivered"]["findings"] == 2
    assert {(f["id"], f["targets_pending"]) for f in report["undelivered"]["latest"]} == {
        (first, 1), (second, 2)}

    for finding in (first, second):
        store.deliveries.record([finding], target_key=target_key(HOOK), target=HOOK, delivered=True)
    store.deliveries.record([second], target_key=target_key(AGENCY_HOOK), target=AGENCY_HOOK,
                          delivered=False, error="down")
    report = status_json(config, store)
    assert report["undelivered"]["findings"] == 1
    assert report["undelivered"]["latest"][0]["id"] == second
    store.deliveries.record([second], target_key=target_key(AGENCY_HOOK), target=AGENCY_HOOK,
                          delivered=True)
    assert status_json(config, store)["undelivered"]["findings"] == 0
    attempts = fetch_one(store.db, "SELECT attempts FROM deliveries WHERE finding_id = ? AND target = ?",
                          (second, AGENCY_HOOK))["attempts"]
    assert attempts == 2


def test_missing_database_and_bad_config(config, tmp_path):
    result = CliRunner().invoke(status, ["--config", str(config), "--db",
                                         str(tmp_path / "none.db")])
    assert result.exit_code == 1 and "no database" in result.output
    assert not (tmp_path / "none.db").exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("agencies: [{id: x}]", encoding="utf-8")
    result = CliRunner().invoke(status, ["--config", str(bad), "--db", str(tmp_path / "n.db")])
    assert result.exit_code == 2
    assert result.output.startswith("nianbao: config error:")

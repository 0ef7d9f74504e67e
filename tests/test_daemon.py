"""`nianbao daemon` as a real child process against the demo portal on 127.0.0.1.

Short intervals and a config schedule of seconds make a day's work happen in a few seconds;
the crawl children are real Scrapy crawls. Every test kills what it started.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import FAST_SETTINGS, REPO, run_nianbao
from tests.test_notify import Receiver

pytestmark = pytest.mark.timeout(60)

AGENCIES = {"demo-trs", "demo-hanweb", "demo-gbk", "demo-trad", "demo-dead"}
TRS_LISTING = "/trs/xxgk/ndbg/index.html"


def query(db, sql, params=()):
    connection = sqlite3.connect(db, timeout=10)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute(sql, params)]
    finally:
        connection.close()


def safe_query(db, sql, params=()):
    """query(), or [] while the daemon has not created the file or its tables yet."""
    try:
        return query(db, sql, params) if Path(db).exists() else []
    except sqlite3.OperationalError:
        return []


def schedule_rows(db):
    try:
        return {r["agency_id"]: r for r in query(db, "SELECT * FROM agency_schedule")}
    except sqlite3.OperationalError:  # the daemon has not created the file yet
        return {}


def wait_for(predicate, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the daemon exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def configure(config: Path, notify=(), **schedule) -> Path:
    """The demo registry with a schedule of seconds (jitter 0: first crawls at once)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    if notify:
        document["notify"] = list(notify)
    document["schedule"] = {"jitter": "0m", "season_every": "1d", "off_season_every": "1d",
                            **schedule}
    config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return config


class Daemon:
    """`nianbao daemon` in a child process; its log goes to a file (a pipe could fill up)."""

    def __init__(self, config, db, log, *extra, settings=None):
        flags = []
        for name, value in {**FAST_SETTINGS, **(settings or {})}.items():
            flags += ["--crawl-setting", f"{name}={value}"]
        self.log_path = log
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "daemon", "--config", str(config),
             "--db", str(db), "--dispatch-every", "1", "--heartbeat-every", "1",
             "--stop-grace", "5", *flags, *extra],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self, timeout=30) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def output(self) -> str:
        return Path(self.log_path).read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def daemons(tmp_path):
    started: list[Daemon] = []

    def start(config, db, *extra, settings=None):
        daemon = Daemon(config, db, tmp_path / "daemon.log", *extra, settings=settings)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()
    # Crawl children run in their own process group: make sure none outlives the test.
    for row in query_claims(tmp_path / "nianbao.db"):
        try:
            os.killpg(row["running_pid"], signal.SIGKILL)
        except (ProcessLookupError, PermissionError, TypeError):
            pass


def query_claims(db):
    try:
        return query(db, "SELECT running_pid FROM agency_schedule WHERE running_pid IS NOT NULL")
    except sqlite3.OperationalError:
        return []


def status_json(config, db) -> dict:
    result = run_nianbao("status", "--config", str(config), "--db", str(db), "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def crawls_overlap(db) -> list[str]:
    """Agencies that two crawls covered at overlapping times."""
    spans: dict[str, list[tuple[str, str]]] = {}
    for crawl in query(db, "SELECT started_at, finished_at, agency_ids FROM crawls"):
        for agency_id in json.loads(crawl["agency_ids"]):
            spans.setdefault(agency_id, []).append(
                (crawl["started_at"], crawl["finished_at"] or "9999"))
    overlapping = []
    for agency_id, times in spans.items():
        times.sort()
        if any(later[0] < earlier[1] for earlier, later in zip(times, times[1:])):
            overlapping.append(agency_id)
    return overlapping


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


def test_daemon_crawls_every_agency_beats_notifies_and_stops_cleanly(
        portal, demo_config, db_path, daemons, receiver):
    config = configure(demo_config, notify=[receiver.url()])
    daemon = daemons(config, db_path, "--batch-size", "2")
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and set(r) == AGENCIES
                    and all(x["last_crawl_at"] for x in r.values()) and r,
                    45, "every agency crawled", daemon.proc)
    # Batches of two: three crawl children, each with its own crawls row.
    crawls = query(db_path, "SELECT id, agency_ids, finish_reason FROM crawls ORDER BY id")
    assert len(crawls) == 3 and all(len(json.loads(c["agency_ids"])) <= 2 for c in crawls)
    assert {a for c in crawls for a in json.loads(c["agency_ids"])} == AGENCIES
    assert {r["last_crawl_id"] for r in rows.values()} == {c["id"] for c in crawls}
    assert rows["demo-gbk"]["last_outcome"] == "ok"
    assert rows["demo-dead"]["last_outcome"] == "errors"
    assert "Connection" in rows["demo-dead"]["last_error"]
    assert rows["demo-dead"]["failures_in_a_row"] == 1
    assert all(r["next_crawl_at"] > r["last_crawl_at"] and r["running_since"] is None
               for r in rows.values())
    assert query(db_path, "SELECT count(*) n FROM reports")[0]["n"] > 10

    # Notifications follow each crawl: every `new` finding reaches the receiver once.
    findings = query(db_path, "SELECT id FROM findings")
    wait_for(lambda: len(safe_query(db_path, "SELECT 1 FROM deliveries WHERE status = "
                                             "'delivered'")) == len(findings),
             20, "deliveries", daemon.proc)
    sent = [line for _, body in receiver.posts for line in body["message"].splitlines()]
    assert len(receiver.posts) >= 3 and len(sent) >= len(findings)

    status = status_json(config, db_path)
    assert status["undelivered"]["findings"] == 0
    assert status["daemon"]["running"] and status["daemon"]["pid"] == daemon.proc.pid
    assert status["agencies"]["scheduled"] == 5
    assert {r["agency_id"] for r in status["agencies"]["rows"]} == AGENCIES

    code, seconds = daemon.stop()
    assert code == 0 and seconds < 15
    assert query(db_path, "SELECT state FROM daemon_heartbeat")[0]["state"] == "stopped"
    assert not status_json(config, db_path)["daemon"]["running"]
    assert "Traceback" not in daemon.output()


def test_restart_keeps_the_job_store_and_never_crawls_an_agency_twice_at_once(
        portal, demo_config, db_path, daemons):
    config = configure(demo_config, season_every="0.1m", off_season_every="0.1m")  # 6 s
    job_store = Path(f"{db_path}.scheduler")
    first = daemons(config, db_path)
    wait_for(lambda: safe_query(db_path, "SELECT 1 FROM crawls WHERE finished_at IS NOT NULL"),
             45, "a first crawl", first.proc)
    assert first.stop()[0] == 0
    assert job_store.exists()
    jobs = query(job_store, "SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id")
    assert [j["id"] for j in jobs] == ["check", "deliver", "dispatch"]
    check_time = jobs[0]["next_run_time"]
    crawls_before = len(query(db_path, "SELECT id FROM crawls"))

    second = daemons(config, db_path)
    # Agencies come due again every 6 s: the second daemon crawls them again.
    wait_for(lambda: len(query(db_path, "SELECT id FROM crawls WHERE finished_at IS NOT NULL"))
             >= crawls_before + 1, 45, "a crawl by the restarted daemon", second.proc)
    jobs = query(job_store, "SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id")
    assert [j["id"] for j in jobs] == ["check", "deliver", "dispatch"]  # not duplicated
    assert jobs[0]["next_run_time"] == check_time  # kept, not rescheduled
    assert "job check kept" in second.output()
    assert second.stop()[0] == 0
    assert crawls_overlap(db_path) == []
    assert not query(db_path, "SELECT 1 FROM agency_schedule WHERE running_since IS NOT NULL")
    assert "another daemon" not in second.output()


def test_a_second_daemon_refuses_to_start(portal, demo_config, db_path, daemons):
    config = configure(demo_config)
    first = daemons(config, db_path)
    wait_for(lambda: safe_query(db_path, "SELECT 1 FROM daemon_heartbeat"),
             30, "a heartbeat", first.proc)
    result = run_nianbao("daemon", "--config", str(config), "--db", str(db_path), timeout=30)
    assert result.returncode == 1
    assert "another daemon is running" in result.stderr
    assert first.stop()[0] == 0


def test_sigterm_during_a_crawl_exits_0_and_leaves_a_consistent_store(
        portal, demo_config, db_path, daemons):
    from storage import Store

    config = configure(demo_config)
    portal.set_delay(TRS_LISTING, 30)
    daemon = daemons(config, db_path, "--batch-size", "5",
                     settings={"DOWNLOAD_TIMEOUT": "60"})
    wait_for(lambda: ("GET", TRS_LISTING) in portal.requests, 45, "the slow listing requested",
             daemon.proc)
    claims = query(db_path, "SELECT agency_id, running_pid FROM agency_schedule "
                            "WHERE running_since IS NOT NULL")
    assert {c["agency_id"] for c in claims} == AGENCIES
    child = claims[0]["running_pid"]
    assert child != daemon.proc.pid

    code, seconds = daemon.stop()
    assert code == 0 and seconds < 20  # the 30 s request was not waited for
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the crawl child is gone too
    assert not query(db_path, "SELECT 1 FROM agency_schedule WHERE running_since IS NOT NULL "
                              "OR running_pid IS NOT NULL")
    # Interrupted agencies stay due: they are crawled again right after a restart.
    assert all(r["last_outcome"] is None for r in schedule_rows(db_path).values())
    with Store(db_path) as store:
        assert store.integrity_problems() == []
    assert query(db_path, "SELECT state FROM daemon_heartbeat")[0]["state"] == "stopped"


def test_a_crawl_past_its_time_limit_is_stopped_and_the_daemon_goes_on(
        portal, demo_config, db_path, daemons):
    config = configure(demo_config, season_every="0.1m", off_season_every="0.1m")
    portal.set_delay(TRS_LISTING, 40)
    daemon = daemons(config, db_path, "--crawl-timeout", "3", "--stop-grace", "3",
                     settings={"DOWNLOAD_TIMEOUT": "60"})
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    r.get("demo-trs", {}).get("last_outcome") == "timeout" and r,
                    45, "a timeout", daemon.proc)
    assert "longer than 3s" in rows["demo-trs"]["last_error"]
    assert rows["demo-trs"]["running_since"] is None
    assert daemon.proc.poll() is None

    portal.set_delay(TRS_LISTING, 0)
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    r["demo-trs"]["last_outcome"] in ("ok", "errors") and r,
                    45, "the next crawl after the timeout", daemon.proc)
    assert rows["demo-trs"]["failures_in_a_row"] == 0 or rows["demo-trs"]["last_outcome"] == "errors"
    assert daemon.stop()[0] == 0
    assert crawls_overlap(db_path) == []


def test_a_crashing_crawl_child_is_recorded_and_the_daemon_goes_on(
        portal, demo_config, db_path, daemons):
    config = configure(demo_config, season_every="0.05m", off_season_every="0.05m")
    daemon = daemons(config, db_path, settings={"LOG_LEVEL": "BOGUS"})
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    all((x["failures_in_a_row"] or 0) >= 2 for x in r.values()) and r,
                    45, "two failed crawls", daemon.proc)
    assert {r["last_outcome"] for r in rows.values()} == {"failed"}
    assert "Unknown level: 'BOGUS'" in rows["demo-trs"]["last_error"]
    assert "exited with status 1" in rows["demo-trs"]["last_error"]
    assert daemon.proc.poll() is None
    assert daemon.stop()[0] == 0


def test_the_daemon_process_does_not_import_scrapy():
    code = ("import sys, monitor.daemon, monitor.daemon_cmd, monitor.notify;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_job_raises_deadline_findings_and_notifies(tmp_path, receiver):
    """The daily job, in process (it needs no crawl): missing reports -> findings -> messages."""
    from monitor.daemon import DaemonOptions, check_job, deliver_job

    config = tmp_path / "agencies.yaml"
    config.write_text(yaml.safe_dump({
        "notify": [receiver.url()],
        "agencies": [{"id": "quiet-mzj", "name": "示例市民政局", "kind": "department",
                      "start_year": 2019, "sources": ["http://127.0.0.1:9/index.html"]}],
    }, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "nianbao.db"
    options = DaemonOptions().as_job_args()
    check_job(str(config), str(db), options)
    missing = query(db, "SELECT id, year FROM findings WHERE kind = 'missing' ORDER BY year")
    assert missing and missing[0]["year"] == 2019
    assert len(safe_query(db, "SELECT 1 FROM deliveries WHERE status = 'delivered'")) == len(missing)
    titles = [body["title"] for _, body in receiver.posts]
    assert any("missing" in title for title in titles)
    # The agency is scheduled for its first crawl; running the jobs again sends nothing new.
    assert schedule_rows(db)["quiet-mzj"]["next_crawl_at"]
    posts = len(receiver.posts)
    check_job(str(config), str(db), options)
    deliver_job(str(config), str(db), options)
    assert len(receiver.posts) == posts

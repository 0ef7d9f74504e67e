"""`nianbao daemon` as a real child process against the demo portal on 127.0.0.1.

Short intervals and a config schedule of seconds make a day's work happen in a few seconds;
the crawl children are real Scrapy crawls. Every test kills what it started.

Timing: a crawl child needs several seconds to start (interpreter, Scrapy, the registry) on a
loaded machine, so no test relies on one being quick: time limits are generous, slow pages
are far slower than any limit, and every wait is bounded well below the test's timeout.
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

from nianbao.storage.part import fetch_one
from tests.conftest import FAST_SETTINGS, REPO, run_nianbao, query
from tests.test_notify import Receiver, posted_ids

pytestmark = pytest.mark.timeout(60)

AGENCIES = {"demo-trs", "demo-hanweb", "demo-gbk", "demo-trad", "demo-dead"}
TRS_LISTING = "/trs/xxgk/ndbg/index.html"


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
    """The demo registry's first five agencies (one per portal style, the dead one included)
    with a schedule of seconds (jitter 0: first crawls at once)."""
    document = yaml.safe_load(config.read_text(encoding="utf-8"))
    document["agencies"] = [a for a in document["agencies"] if a["id"] in AGENCIES]
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
            [sys.executable, "-m", "nianbao", "daemon", "--config", str(config),
             "--db", str(db), "--dispatch-every", "1", "--heartbeat-every", "1",
             "--stop-grace", "5", *flags, *extra],
            cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self, timeout=60) -> tuple[int, float]:
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
    report = json.loads(result.stdout)
    assert result.returncode == (0 if report["daemon"]["running"] else 3), result.stderr
    return report


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


@pytest.mark.timeout(200)
def test_daemon_crawls_every_agency_beats_notifies_and_stops_cleanly(
        portal, demo_config, db_path, daemons, receiver):
    config = configure(demo_config, notify=[receiver.url()])
    daemon = daemons(config, db_path, "--batch-size", "2")
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and set(r) == AGENCIES
                    and all(x["last_crawl_at"] for x in r.values()) and r,
                    90, "every agency crawled", daemon.proc)
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

    # Notifications follow each crawl: every `new` finding of an annual report reaches the
    # receiver once (a work plan's, kind 'other', is not told).
    findings = query(db_path, "SELECT f.id FROM findings f LEFT JOIN reports r ON r.id = f.report_id "
                              "WHERE f.kind != 'new' OR r.kind = 'annual_report'")
    assert len(findings) < len(query(db_path, "SELECT id FROM findings"))
    wait_for(lambda: len(safe_query(db_path, "SELECT 1 FROM deliveries WHERE status = "
                                             "'delivered'")) == len(findings),
             30, "deliveries", daemon.proc)
    sent = [line for _, body in receiver.posts for line in body["message"].splitlines()]
    assert len(receiver.posts) >= 3 and len(sent) >= len(findings)

    status = status_json(config, db_path)
    assert status["undelivered"]["findings"] == 0
    assert status["daemon"]["running"] and status["daemon"]["pid"] == daemon.proc.pid
    assert status["agencies"]["scheduled"] == 5
    assert {r["agency_id"] for r in status["agencies"]["rows"]} == AGENCIES

    code, seconds = daemon.stop()
    assert code == 0 and seconds < 30
    assert query(db_path, "SELECT state FROM daemon_heartbeat")[0]["state"] == "stopped"
    assert not status_json(config, db_path)["daemon"]["running"]
    assert "Traceback" not in daemon.output()


@pytest.mark.timeout(300)
def test_restart_keeps_the_job_store_and_never_crawls_an_agency_twice_at_once(
        portal, demo_config, db_path, daemons):
    config = configure(demo_config, season_every="0.1m", off_season_every="0.1m")  # 6 s
    job_store = Path(f"{db_path}.scheduler")
    first = daemons(config, db_path)
    wait_for(lambda: safe_query(db_path, "SELECT 1 FROM crawls WHERE finished_at IS NOT NULL"),
             90, "a first crawl", first.proc)
    assert first.stop()[0] == 0
    assert job_store.exists()
    jobs = query(job_store, "SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id")
    assert [j["id"] for j in jobs] == ["check", "deliver", "dispatch"]
    check_time = jobs[0]["next_run_time"]
    crawls_before = len(query(db_path, "SELECT id FROM crawls"))

    second = daemons(config, db_path)
    # Agencies come due again every 6 s: the second daemon crawls them again.
    wait_for(lambda: len(query(db_path, "SELECT id FROM crawls WHERE finished_at IS NOT NULL"))
             >= crawls_before + 1, 90, "a crawl by the restarted daemon", second.proc)
    jobs = query(job_store, "SELECT id, next_run_time FROM apscheduler_jobs ORDER BY id")
    assert [j["id"] for j in jobs] == ["check", "deliver", "dispatch"]  # not duplicated
    assert jobs[0]["next_run_time"] == check_time  # kept, not rescheduled
    assert "job check kept" in second.output()
    assert second.stop()[0] == 0
    assert crawls_overlap(db_path) == []
    assert not query(db_path, "SELECT 1 FROM agency_schedule WHERE running_since IS NOT NULL")
    assert "another daemon" not in second.output()


def write_job_store(config: Path, db_path: Path, refs: dict[str, str]) -> None:
    """`<db>.scheduler` as an older version wrote it: the daemon's three jobs, each stored
    under the function reference refs[job id]. Such a reference need not resolve today: while
    writing, it is made to resolve (a module put in place, or a function added to one)."""
    import types

    from nianbao.monitor import daemon, jobs
    from nianbao.monitor.daemon_options import DaemonOptions

    with pytest.MonkeyPatch.context() as patch:
        for job_id, ref in refs.items():
            module_name, name = ref.split(":")
            if module_name not in sys.modules:
                try:
                    __import__(module_name)
                except ImportError:
                    patch.setitem(sys.modules, module_name, types.ModuleType(module_name))
            patch.setattr(sys.modules[module_name], name, getattr(jobs, f"{job_id}_job"),
                          raising=False)
        scheduler = daemon.build_scheduler(str(db_path))
        scheduler.start(paused=True)
        try:
            for spec in daemon.job_specs(str(config.resolve()), str(db_path.resolve()),
                                         DaemonOptions()):
                scheduler.add_job(jobstore="default", **{**spec, "func": refs[spec["id"]]})
        finally:
            scheduler.shutdown(wait=False)


def stored_refs(db_path: Path) -> dict[str, str]:
    import pickle

    return {row["id"]: pickle.loads(row["job_state"])["func"]
            for row in query(f"{db_path}.scheduler", "SELECT id, job_state FROM apscheduler_jobs")}


@pytest.mark.timeout(120)
def test_jobs_stored_under_references_that_no_longer_resolve_are_replaced(
        portal, demo_config, db_path, daemons):
    """A job store written when the job functions lived elsewhere: two under the module that
    used to hold them (it still exists, the functions do not), one under a module that is gone.
    APScheduler cannot load such a job; the daemon writes each anew and runs it."""
    config = configure(demo_config)
    old = {"dispatch": "nianbao.monitor.daemon:dispatch_job",
           "check": "nianbao.monitor.daemon:check_job",
           "deliver": "nianbao.monitor.scheduled_tasks:send_pending"}
    write_job_store(config, db_path, old)
    assert stored_refs(db_path) == old

    daemon = daemons(config, db_path)
    # dispatch ran (it syncs the registry into agency_schedule before it crawls)
    wait_for(lambda: set(schedule_rows(db_path)) == AGENCIES, 60, "the first dispatch",
             daemon.proc)
    assert stored_refs(db_path) == {"dispatch": "nianbao.monitor.jobs:dispatch_job",
                                    "check": "nianbao.monitor.jobs:check_job",
                                    "deliver": "nianbao.monitor.jobs:deliver_job"}
    assert daemon.stop()[0] == 0
    log = daemon.output()
    assert "Traceback" not in log and "Unable to restore job" not in log
    for job_id, ref in old.items():
        assert f"job {job_id} stored by an older version cannot be loaded" in log
        assert ref in log
        assert f"job {job_id} replaced" in log


@pytest.mark.timeout(330)
def test_a_second_daemon_refuses_to_start(portal, demo_config, db_path, daemons):
    config = configure(demo_config)
    portal.set_delay(TRS_LISTING, 120)  # the first daemon's crawl child stays busy
    # Beats every 30 s: to a second daemon beating every 0.5 s, the first one's last beat
    # soon looks stale. The flock on <db>.lock does not care.
    first = daemons(config, db_path, "--heartbeat-every", "30",
                    settings={"DOWNLOAD_TIMEOUT": "180"})
    wait_for(lambda: ("GET", TRS_LISTING) in portal.requests, 60, "the first daemon's crawl",
             first.proc)
    child = query(db_path, "SELECT running_pid FROM agency_schedule "
                           "WHERE agency_id = 'demo-trs'")[0]["running_pid"]
    time.sleep(2)  # older than 3 x 0.5 s
    result = run_nianbao("daemon", "--config", str(config), "--db", str(db_path),
                         "--heartbeat-every", "0.5", "--dispatch-every", "1", timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr  # one line
    assert "another daemon is running" in result.stderr
    assert f"pid {first.proc.pid}" in result.stderr
    # The first daemon, its crawl child and its heartbeat are untouched.
    assert first.proc.poll() is None
    os.kill(child, 0)
    assert query(db_path, "SELECT pid FROM daemon_heartbeat")[0]["pid"] == first.proc.pid
    assert first.stop()[0] == 0
    # Once it is gone, a daemon starts again on the same database (the lock went with it).
    again = daemons(config, db_path)
    wait_for(lambda: query(db_path, "SELECT pid FROM daemon_heartbeat")[0]["pid"]
             == again.proc.pid, 60, "the new daemon's heartbeat", again.proc)
    assert again.stop()[0] == 0


@pytest.mark.timeout(150)
def test_sigterm_during_a_crawl_exits_0_and_leaves_a_consistent_store(
        portal, demo_config, db_path, daemons):
    from nianbao.storage import Store

    config = configure(demo_config)
    portal.set_delay(TRS_LISTING, 120)
    daemon = daemons(config, db_path, "--batch-size", "5",
                     settings={"DOWNLOAD_TIMEOUT": "180"})
    wait_for(lambda: ("GET", TRS_LISTING) in portal.requests, 60, "the slow listing requested",
             daemon.proc)
    claims = query(db_path, "SELECT agency_id, running_pid FROM agency_schedule "
                            "WHERE running_since IS NOT NULL")
    assert {c["agency_id"] for c in claims} == AGENCIES
    child = claims[0]["running_pid"]
    assert child != daemon.proc.pid

    code, seconds = daemon.stop()
    assert code == 0 and seconds < 45  # the 120 s request was not waited for (grace 5 s)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the crawl child is gone too
    assert not query(db_path, "SELECT 1 FROM agency_schedule WHERE running_since IS NOT NULL "
                              "OR running_pid IS NOT NULL")
    # Interrupted agencies stay due: they are crawled again right after a restart.
    assert all(r["last_outcome"] is None for r in schedule_rows(db_path).values())
    # The crawl is closed (by the child, 'shutdown', or for it, 'interrupted'), with what it
    # did for each agency; an interruption is no failure of the sites.
    [crawl] = query(db_path, "SELECT id, finished_at, finish_reason FROM crawls")
    assert crawl["finished_at"] and crawl["finish_reason"] in ("shutdown", "interrupted")
    outcomes = query(db_path, "SELECT agency_id, outcome FROM crawl_agencies WHERE crawl_id = ?",
                     (crawl["id"],))
    assert {o["agency_id"] for o in outcomes} == AGENCIES
    assert "failed" not in {o["outcome"] for o in outcomes}
    # Nothing was raised or sent after the interruption.
    assert not query(db_path, "SELECT 1 FROM findings WHERE kind = 'site_failing'")
    with Store(db_path) as store:
        assert store.history.integrity_problems() == []
    assert query(db_path, "SELECT state FROM daemon_heartbeat")[0]["state"] == "stopped"


@pytest.mark.timeout(400)
def test_a_crawl_past_its_time_limit_is_stopped_and_the_daemon_goes_on(
        portal, demo_config, db_path, daemons):
    # A limit of 25 s leaves room for a slow start of the child on a loaded machine, and for
    # the whole next crawl, which has the same limit (12 s timed it out again on a 2-core
    # machine running two test workers and benchmarks); the listing takes 300 s, so the
    # limit is what ends the first crawl, whatever the load.
    config = configure(demo_config, season_every="0.1m", off_season_every="0.1m")
    portal.set_delay(TRS_LISTING, 300)
    daemon = daemons(config, db_path, "--crawl-timeout", "25", "--stop-grace", "5",
                     settings={"DOWNLOAD_TIMEOUT": "400"})
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    r.get("demo-trs", {}).get("last_outcome") == "timeout" and r,
                    150, "a timeout", daemon.proc)
    assert "longer than 25s" in rows["demo-trs"]["last_error"]
    assert rows["demo-trs"]["running_since"] is None
    assert daemon.proc.poll() is None
    # The crawl is closed as 'timeout' (even when the child closed it on SIGTERM itself). In
    # crawl_agencies the agency whose listing never answered is not 'ok' (the monitor did not
    # see it), and no agency of an incomplete crawl counts as completely seen.
    crawl_id = rows["demo-trs"]["last_crawl_id"]
    assert query(db_path, "SELECT finish_reason FROM crawls WHERE id = ?",
                 (crawl_id,))[0]["finish_reason"] == "timeout"
    outcomes = {o["agency_id"]: o["outcome"] for o in query(
        db_path, "SELECT agency_id, outcome FROM crawl_agencies WHERE crawl_id = ?", (crawl_id,))}
    assert outcomes["demo-trs"] in ("failed", "errors")
    assert "ok" not in outcomes.values()

    portal.set_delay(TRS_LISTING, 0)
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    r["demo-trs"]["last_outcome"] in ("ok", "errors") and r,
                    150, "the next crawl after the timeout", daemon.proc)
    assert rows["demo-trs"]["failures_in_a_row"] == 0 or rows["demo-trs"]["last_outcome"] == "errors"
    assert daemon.stop()[0] == 0
    assert crawls_overlap(db_path) == []


@pytest.mark.timeout(180)
def test_a_crashing_crawl_child_is_recorded_and_the_daemon_goes_on(
        portal, demo_config, db_path, daemons):
    config = configure(demo_config, season_every="0.05m", off_season_every="0.05m")
    daemon = daemons(config, db_path, settings={"LOG_LEVEL": "BOGUS"})
    rows = wait_for(lambda: (r := schedule_rows(db_path)) and
                    all((x["failures_in_a_row"] or 0) >= 2 for x in r.values()) and r,
                    90, "two failed crawls", daemon.proc)
    assert {r["last_outcome"] for r in rows.values()} == {"failed"}
    assert "Unknown level: 'BOGUS'" in rows["demo-trs"]["last_error"]
    assert "exited with status 1" in rows["demo-trs"]["last_error"]
    assert daemon.proc.poll() is None
    assert daemon.stop()[0] == 0


def test_the_daemon_process_does_not_import_scrapy():
    code = ("import sys, nianbao.monitor.daemon, nianbao.monitor.daemon_cmd, nianbao.monitor.notify,"
            " nianbao.monitor.jobs, nianbao.monitor.batch_crawl, nianbao.cli;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_job_raises_deadline_findings_and_notifies(tmp_path, receiver):
    """The daily job, in process (it needs no crawl): missing reports -> findings -> messages.
    A report is only known to be missing once a complete crawl of the agency (its listing
    pages all fetched) ran after the deadline."""
    from nianbao.monitor.daemon_options import DaemonOptions
    from nianbao.monitor.jobs import check_job, deliver_job
    from nianbao.storage import Store

    config = tmp_path / "agencies.yaml"
    config.write_text(yaml.safe_dump({
        "notify": [receiver.url()],
        "agencies": [{"id": "quiet-mzj", "name": "示例市民政局", "kind": "department",
                      "start_year": 2019, "sources": ["http://127.0.0.1:9/index.html"]}],
    }, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "nianbao.db"
    options = DaemonOptions().as_job_args()

    # Never crawled: nobody has looked for its reports, so none is called missing.
    check_job(str(config), str(db), options)
    assert not query(db, "SELECT 1 FROM findings WHERE kind = 'missing'")
    assert receiver.posts == []
    # The agency is scheduled for its first crawl.
    assert schedule_rows(db)["quiet-mzj"]["next_crawl_at"]

    # A complete crawl now, after every past deadline: its listing was fetched and nothing
    # was on it.
    with Store(db) as store:
        crawl_id = store.crawls.start(["quiet-mzj"])
        store.crawls.log_fetch(crawl_id=crawl_id, agency_id="quiet-mzj", purpose="listing",
                        url="http://127.0.0.1:9/index.html", status=200, error=None)
        store.crawls.finish(crawl_id, finish_reason="finished", stats={})
    check_job(str(config), str(db), options)
    missing = query(db, "SELECT id, year FROM findings WHERE kind = 'missing' ORDER BY year")
    assert missing and missing[0]["year"] == 2019
    assert len(safe_query(db, "SELECT 1 FROM deliveries WHERE status = 'delivered'")) == len(missing)
    kinds = [f["kind"] for _, body in receiver.posts for f in body["findings"]]
    assert "missing" in kinds
    assert any("逾期未发布" in body["title"] for _, body in receiver.posts)
    # Running the jobs again raises and sends nothing new.
    posts = len(receiver.posts)
    check_job(str(config), str(db), options)
    deliver_job(str(config), str(db), options)
    assert len(receiver.posts) == posts
    assert len(query(db, "SELECT id FROM findings WHERE kind = 'missing'")) == len(missing)


@pytest.fixture
def stopping():
    from nianbao.monitor.shutdown import STOPPING

    STOPPING.clear()
    yield STOPPING
    STOPPING.clear()


def one_agency_config(tmp_path, notify) -> Path:
    config = tmp_path / "agencies.yaml"
    config.write_text(yaml.safe_dump({
        "notify": list(notify),
        "agencies": [{"id": "quiet-mzj", "name": "示例市民政局", "kind": "department",
                      "start_year": 2019, "sources": ["http://127.0.0.1:9/index.html"]}],
        "schedule": {"jitter": "0m"},
    }, allow_unicode=True), encoding="utf-8")
    return config


def test_a_stop_during_the_check_skips_its_delivery(tmp_path, receiver, stopping, monkeypatch):
    from nianbao.monitor import jobs
    from nianbao.monitor.daemon_options import DaemonOptions

    config = one_agency_config(tmp_path, [receiver.url()])
    db = tmp_path / "nianbao.db"

    def check_then_sigterm(store, registry, as_of, record=True):
        store.findings.record("missing", agency_id="quiet-mzj", year=2019, report_id=None,
                             details={}, dedup_key="missing:quiet-mzj:2019")
        stopping.set()  # SIGTERM arrives while the check runs
        return []

    monkeypatch.setattr(jobs, "start_check", check_then_sigterm)
    jobs.check_job(str(config), str(db), DaemonOptions().as_job_args())
    assert query(db, "SELECT 1 FROM findings")  # recorded: sent after the restart
    assert receiver.posts == [] and not query(db, "SELECT 1 FROM deliveries")
    stopping.clear()
    jobs.deliver_job(str(config), str(db), DaemonOptions().as_job_args())
    assert len(receiver.posts) == 1


def test_an_interrupted_batch_gets_no_findings_or_notifications(
        tmp_path, receiver, stopping, monkeypatch):
    from nianbao.monitor import jobs
    from nianbao.monitor.daemon_options import DaemonOptions

    config = one_agency_config(tmp_path, [receiver.url()])
    db = tmp_path / "nianbao.db"
    crawled, followed = [], []

    def interrupted_crawl(store, registry, config_path, db_path, batch, opts, rng):
        crawled.append(list(batch))
        stopping.set()  # SIGTERM during the crawl

    monkeypatch.setattr(jobs, "crawl_batch", interrupted_crawl)
    monkeypatch.setattr(jobs, "after_crawl", lambda *args: followed.append(args))
    jobs.dispatch_job(str(config), str(db), DaemonOptions().as_job_args())
    assert crawled == [["quiet-mzj"]] and followed == []
    assert not query(db, "SELECT 1 FROM agency_schedule WHERE running_since IS NOT NULL")


def test_a_timed_out_crawl_the_child_closed_itself_is_closed_as_timeout(tmp_path):
    """Scrapy closes its crawl ('shutdown') on the SIGTERM of the time limit; the daemon
    re-closes it as 'timeout' (so its agencies are never 'ok' in crawl_agencies), keeping the
    child's stats. A crawl the child never closed is closed for it."""
    from nianbao.monitor.batch_crawl import close_crawl
    from nianbao.monitor.processes import ChildResult
    from nianbao.storage import AgencyRecord, Store

    with Store(tmp_path / "nianbao.db") as store:
        store.agencies.sync([AgencyRecord("a", "A", "department", None, 2019, ("http://a/",))])

        def crawl(reason=None):
            crawl_id = store.crawls.start(["a"])
            store.crawls.log_fetch(crawl_id=crawl_id, agency_id="a", purpose="listing",
                            url="http://a/", status=200, error=None)
            if reason:
                store.crawls.finish(crawl_id, finish_reason=reason, stats={"items": 3})
            return store.crawls.find(["a"], started_since="2000-01-01T00:00:00Z")

        def outcome(crawl_id):
            row = fetch_one(store.db, "SELECT c.finish_reason, a.outcome, c.stats FROM crawls c "
                             "JOIN crawl_agencies a ON a.crawl_id = c.id WHERE c.id = ?",
                             (crawl_id,))
            return row["finish_reason"], row["outcome"], json.loads(row["stats"])

        timed_out = ChildResult(returncode=0, timed_out=True)
        row = crawl("shutdown")
        assert close_crawl(store, row, timed_out) == "timeout"
        reason, result, stats = outcome(row["id"])
        # its listing was fetched before the time ran out: 'unknown', neither ok nor failing
        assert (reason, result, stats["items"], stats["child_finish_reason"]) == (
            "timeout", "unknown", 3, "shutdown")
        row = crawl()
        assert close_crawl(store, row, ChildResult(returncode=-9, interrupted=True)) == "interrupted"
        assert outcome(row["id"])[:2] == ("interrupted", "ok")
        row = crawl()
        assert close_crawl(store, row, ChildResult(returncode=-9)) == "crashed"
        assert outcome(row["id"])[:2] == ("crashed", "unknown")
        # a crash before the agency's listing was fetched: the site could not be seen at all
        unreached = store.crawls.start(["a"])
        row = store.crawls.find(["a"], started_since="2000-01-01T00:00:00Z")
        assert row["id"] == unreached
        assert close_crawl(store, row, ChildResult(returncode=-9)) == "crashed"
        assert outcome(unreached)[:2] == ("crashed", "failed")
        row = crawl("finished")
        assert close_crawl(store, row, ChildResult(returncode=0)) is None
        assert outcome(row["id"])[:2] == ("finished", "ok")


@pytest.mark.timeout(200)
def test_notifications_go_out_while_a_long_crawl_runs(portal, demo_config, db_path, daemons,
                                                        receiver):
    """dispatch has its executor, check and deliver another: a crawl that takes hours does
    not hold up the daily check or deliveries."""
    from nianbao.storage import Store

    config = configure(demo_config, notify=[receiver.url()])
    portal.set_delay(TRS_LISTING, 120)
    daemon = daemons(config, db_path, "--batch-size", "5", "--deliver-every", "1",
                     settings={"DOWNLOAD_TIMEOUT": "180"})
    wait_for(lambda: ("GET", TRS_LISTING) in portal.requests, 60, "the slow listing requested",
             daemon.proc)
    with Store(db_path) as store:
        finding = store.findings.record("missing", agency_id="demo-gbk", year=2001,
                                       report_id=None, details={"summary": "by hand"},
                                       dedup_key="missing:demo-gbk:2001")
    wait_for(lambda: finding in posted_ids(receiver), 45,
             "the finding delivered while the crawl runs", daemon.proc)
    assert query(db_path, "SELECT running_since FROM agency_schedule "
                          "WHERE agency_id = 'demo-trs'")[0]["running_since"]  # still crawling
    code, seconds = daemon.stop()
    assert code == 0 and seconds < 45
    assert "Traceback" not in daemon.output()


def test_a_crawl_child_reads_only_its_batch_of_the_registry(tmp_path):
    """At 150,000 agencies the child must not parse the whole registry for one batch."""
    from nianbao.config.registry import load_registry
    from nianbao.monitor.batch_crawl import batch_registry

    config = tmp_path / "agencies.yaml"
    config.write_text(yaml.safe_dump({"agencies": [
        {"id": f"a-{i}", "name": f"示例局{i}", "kind": "department", "start_year": 2019,
         "sources": [f"https://a{i}.example.gov.cn/"], "deadline": "01-20"} for i in range(50)
    ]}, allow_unicode=True), encoding="utf-8")
    registry = load_registry(config)
    with batch_registry(registry, ["a-3", "a-41"]) as path:
        subset = load_registry(path)
    assert [a.id for a in subset.agencies] == ["a-3", "a-41"]
    assert subset.agencies[0] == registry.get("a-3")  # every field carried over, validated alike
    assert not path.exists()  # removed once the child is done

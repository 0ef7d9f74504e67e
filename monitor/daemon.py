"""`nianbao daemon`: crawl each agency on its schedule, check deadlines daily, notify.

One long-lived process with an APScheduler 3 BackgroundScheduler. It never imports Scrapy or
Twisted: crawls run in child processes (`python -m monitor.cli crawl --agency ...`), because
Twisted's reactor cannot be restarted in one process.

Jobs (fixed ids, in a persistent SQLAlchemy job store in a separate SQLite file beside the
database, `<db>.scheduler`, so a restart neither loses nor duplicates them; coalesce=True,
max_instances=1, no misfire limit: a run missed while the daemon was down happens once when
it is back):

- dispatch (every --dispatch-every): claims the agencies due now (agency_schedule in the
  store: next_crawl_at <= now, no crawl running) in batches of --batch-size, crawls each batch
  in one child process with a time limit (Scrapy keeps per-host politeness inside it),
  records each agency's outcome and next due time, raises site_failing findings, delivers
  notifications. Only agencies due when the run started are taken, so a long backlog does
  not keep the worker busy forever.
- check (daily at --check-at): raises missing/late findings, then delivers notifications.
- deliver (every --deliver-every): retries failed deliveries, sends findings raised by other
  processes (a `nianbao crawl` run by hand).

dispatch runs on one executor thread; check and deliver share another, so that a dispatch run
of hundreds of batches never delays the daily check. Each job opens its own Store; every write
is a BEGIN IMMEDIATE transaction with a busy_timeout, so concurrent writers (the two job
threads, the crawl child) wait for each other instead of failing. Two senders never send the
same finding (see monitor.notify: findings are claimed before each message).

The heartbeat (every --heartbeat-every) is written by a plain thread of its own, started
before anything slow (loading and syncing a registry of 150,000 agencies), so a busy daemon
never looks dead.

One daemon per database: the daemon holds an exclusive flock on `<db>.lock` for its whole
life; a second one exits 1 at once. The lock goes with the process, however it dies.

SIGTERM/SIGINT: the handler (installed first thing) only sets an event. The main thread then
stops the scheduler (no new jobs), a running crawl child gets SIGTERM (Scrapy closes the spider
and finishes the current write; every store write is a transaction) and up to --stop-grace
seconds before SIGKILL, its agencies' claims are released (they stay due, so they are crawled
again soon after a restart); no site_failing findings or notifications follow an interrupted
batch; a delivery run stops before its next message (one message in flight is finished);
the heartbeat says 'stopped' and the process exits 0.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

# monitor.notify first: importing it redacts apprise's log before the registry loads its URLs
from nianbao.monitor.notify import deliver_pending  # isort: skip
from nianbao.config.registry import ConfigError, Registry, load_registry
from nianbao.monitor.findings import raise_site_failing, run_check, today
from nianbao.monitor.schedule import first_crawl_at, from_iso, local_now, next_crawl_at, to_iso
from nianbao.storage import AgencyRecord, Store
from nianbao.storage.deliveries import pid_alive
from nianbao.storage.heartbeat import DAEMON_RUNNING, DAEMON_STOPPED, DAEMON_STOPPING
from nianbao.storage.schedule import CRAWL_ERRORS, CRAWL_FAILED, CRAWL_OK, CRAWL_TIMEOUT, CrawlResult

logger = logging.getLogger("nianbao.daemon")

DISPATCH_JOB, CHECK_JOB, DELIVER_JOB = "dispatch", "check", "deliver"
CRAWL_EXECUTOR, NOTIFY_EXECUTOR = "default", "notify"
# `nianbao status` calls a daemon dead when its last beat is older than this many heartbeat
# intervals of DEFAULT_HEARTBEAT_SECONDS (status --stale-after for another interval).
STALE_BEATS = 3
DEFAULT_HEARTBEAT_SECONDS = 30.0
OUTPUT_TAIL_CHARS = 3000
POLL_SECONDS = 0.2

# Set by SIGTERM/SIGINT: jobs that have not started return at once, a running crawl is stopped.
STOPPING = threading.Event()


class DaemonError(Exception):
    """The daemon cannot start (e.g. another one is running); the message is for people."""


@dataclass(frozen=True)
class DaemonOptions:
    """How the daemon runs (`nianbao daemon --help`). Durations are in seconds."""

    dispatch_every: float = 60.0
    batch_size: int = 200
    crawl_timeout: float = 2 * 3600.0
    stop_grace: float = 60.0
    check_at: str = "06:00"
    deliver_every: float = 600.0
    heartbeat_every: float = DEFAULT_HEARTBEAT_SECONDS
    notify_limit: int = 20  # messages per notification target per delivery run
    crawl_settings: tuple[str, ...] = ()  # NAME=VALUE, passed to the crawl child as -s

    def as_job_args(self) -> dict:
        """Plain values for the job store's pickles (no classes of ours inside)."""
        values = asdict(self)
        values["crawl_settings"] = list(self.crawl_settings)
        return values

    @classmethod
    def from_job_args(cls, values: dict) -> DaemonOptions:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in values.items() if k in known}
        values["crawl_settings"] = tuple(values.get("crawl_settings", ()))
        return cls(**values)


# -- the registry, cached between runs (150,000 agencies take a while to validate) ---------------

_registry_cache: dict[str, tuple[tuple[int, int], Registry]] = {}
_synced: dict[tuple[str, str], tuple[int, int]] = {}
# The dispatch and the check threads both load and sync: once at a time, not twice at once.
_registry_lock = threading.Lock()
_sync_lock = threading.Lock()


def _file_stamp(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def current_registry(config_path: str) -> Registry:
    """The registry, re-read only when the file changed. Raises ConfigError."""
    with _registry_lock:
        try:
            stamp = _file_stamp(config_path)
        except OSError:
            raise ConfigError(f"{config_path}: file not found") from None
        cached = _registry_cache.get(config_path)
        if cached and cached[0] == stamp:
            return cached[1]
        registry = load_registry(config_path)
        _registry_cache[config_path] = (stamp, registry)
        return registry


def sync_schedule(store: Store, registry: Registry, config_path: str,
                  rng: random.Random | None = None) -> None:
    """Agencies of the registry in the agencies table and in agency_schedule (new ones due
    within their jitter); agencies that left the registry leave the schedule. Done again only
    when the registry file changed."""
    with _sync_lock:
        _sync_schedule(store, registry, config_path, rng)


def _sync_schedule(store: Store, registry: Registry, config_path: str,
                   rng: random.Random | None) -> None:
    key = (str(store.path), config_path)
    stamp = _registry_cache.get(config_path, ((0, 0), None))[0]
    if _synced.get(key) == stamp:
        return
    rng = rng or random.Random()
    store.agencies.sync(AgencyRecord.from_agency(a) for a in registry.agencies)
    scheduled = store.schedule.agency_ids()
    wanted = {a.id: a for a in registry.agencies}
    now = local_now()
    added = store.schedule.add({
        agency_id: to_iso(first_crawl_at(registry.schedule_for(agency), now, rng))
        for agency_id, agency in wanted.items() if agency_id not in scheduled
    })
    dropped = store.schedule.drop(scheduled - wanted.keys())
    if added or dropped:
        logger.info("schedule: %d agencies added, %d dropped", added, dropped)
    _synced[key] = stamp


# -- the crawl child ---------------------------------------------------------------------------


@dataclass
class ChildResult:
    """How a crawl child ended. returncode: its exit status (negative: killed by a signal).
    timed_out: stopped for running past the limit. interrupted: stopped because the daemon is
    stopping. output: the tail of its stdout and stderr. seconds: how long it ran."""

    returncode: int | None
    timed_out: bool = False
    interrupted: bool = False
    output: str = ""
    seconds: float = 0.0
    pid: int | None = None


@contextlib.contextmanager
def batch_registry(registry: Registry, agency_ids: Sequence[str]):
    """A registry file with only the batch's agencies, for the crawl child.

    The child would otherwise read and validate the whole registry (150,000 agencies: tens of
    seconds) for the few hundred it crawls. The entries come from the registry the daemon
    already validated, so the child's own validation of them cannot fail differently.
    """
    wanted = set(agency_ids)
    document = {"agencies": [
        agency.model_dump(mode="json", exclude_defaults=True)
        for agency in registry.agencies if agency.id in wanted
    ]}
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".yaml",
                                     prefix="nianbao-batch-") as handle:
        yaml.safe_dump(document, handle, allow_unicode=True, sort_keys=False)
        handle.flush()
        yield Path(handle.name)


def crawl_command(config_path: str, db_path: str, agency_ids: Sequence[str],
                  settings: Sequence[str] = ()) -> list[str]:
    command = [sys.executable, "-m", "nianbao", "crawl", "--config", config_path,
               "--db", db_path]
    for setting in settings:
        command.append(f"-s{setting}")
    for agency_id in agency_ids:
        command += ["--agency", agency_id]
    return command


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(command: Sequence[str], *, timeout: float, grace: float,
              stop: threading.Event | None = None, on_start=None) -> ChildResult:
    """Run a command in its own process group with a time limit.

    On timeout, or when `stop` is set, the group gets SIGTERM and, `grace` seconds later,
    SIGKILL. on_start(pid) is called once the child exists. Output goes to a temporary file
    (a pipe nobody reads would block a chatty child); its tail is returned.
    """
    stop = stop or threading.Event()
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        result = ChildResult(returncode=None, pid=process.pid)
        try:
            if on_start:
                on_start(process.pid)
            kill_at = None
            while True:
                try:
                    result.returncode = process.wait(timeout=POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if kill_at is None and (stop.is_set() or now - started > timeout):
                    result.interrupted = stop.is_set()
                    result.timed_out = not result.interrupted
                    logger.warning("crawl child %d: %s; sending SIGTERM", process.pid,
                                   "daemon stopping" if result.interrupted
                                   else f"running longer than {timeout:g}s")
                    _signal_group(process.pid, signal.SIGTERM)
                    kill_at = now + grace
                elif kill_at is not None and now > kill_at:
                    logger.warning("crawl child %d did not stop within %gs; SIGKILL",
                                   process.pid, grace)
                    _signal_group(process.pid, signal.SIGKILL)
                    kill_at = float("inf")
        except BaseException:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
            raise
        result.seconds = time.monotonic() - started
        output.seek(0, os.SEEK_END)
        output.seek(max(output.tell() - 4 * OUTPUT_TAIL_CHARS, 0))
        result.output = output.read().decode("utf-8", "replace")[-OUTPUT_TAIL_CHARS:]
    return result


# -- jobs (module-level functions with plain arguments: the job store pickles references) -------


def _options(options: dict | DaemonOptions) -> DaemonOptions:
    return options if isinstance(options, DaemonOptions) else DaemonOptions.from_job_args(options)


def _job_registry(config_path: str, job: str) -> Registry | None:
    """The registry a job runs with; None (the job is skipped) when the daemon is stopping
    or the registry file has become invalid (logged: the daemon keeps running)."""
    if STOPPING.is_set():
        return None
    try:
        return current_registry(config_path)
    except ConfigError as exc:
        logger.error("config error, %s skipped: %s", job, exc)
        return None


def dispatch_job(config_path: str, db_path: str, options: dict) -> None:
    """Crawl the agencies due now, batch by batch; record outcomes; notify."""
    registry = _job_registry(config_path, "dispatch")
    if registry is None:
        return
    opts = _options(options)
    rng = random.Random()
    with Store(db_path) as store:
        sync_schedule(store, registry, config_path, rng)
        due_by = to_iso(local_now())
        while not STOPPING.is_set():
            batch = store.schedule.claim_due(due_by=due_by, limit=opts.batch_size, pid=os.getpid())
            if not batch:
                break
            try:
                crawl_batch(store, registry, config_path, db_path, batch, opts, rng)
            finally:
                store.schedule.release_claims(batch)  # no-op when crawl_batch recorded the outcomes
            if STOPPING.is_set():
                # Stop now: findings and notifications wait for the next start (the daily
                # check raises site_failing for every agency; deliver sends what is pending).
                break
            after_crawl(store, registry, batch, opts)


def crawl_batch(store: Store, registry: Registry, config_path: str, db_path: str,
                batch: list[str], opts: DaemonOptions, rng: random.Random) -> None:
    """Crawl one claimed batch in a child process and record each agency's outcome."""
    started_at = to_iso(local_now() - dt.timedelta(seconds=1))
    logger.info("crawling %d agencies: %s", len(batch), _ids_preview(batch))
    with batch_registry(registry, batch) as batch_config:
        command = crawl_command(str(batch_config), db_path, batch, opts.crawl_settings)
        child = run_child(command, timeout=opts.crawl_timeout, grace=opts.stop_grace,
                          stop=STOPPING, on_start=lambda pid: store.schedule.set_running_pid(batch, pid))
    crawl = store.crawls.find(batch, started_since=started_at)
    crawl_id = crawl["id"] if crawl else None
    if crawl is not None:
        close_crawl(store, crawl, child)
    if child.interrupted:
        released = store.schedule.release_claims(batch)
        logger.info("crawl %s interrupted by shutdown; %d agencies stay due", crawl_id, released)
        return

    now = local_now()
    finished_at = to_iso(now)
    errors = store.crawls.errors(crawl_id) if crawl_id is not None else {}
    results = []
    for agency_id in batch:
        if child.timed_out:
            outcome = CRAWL_TIMEOUT
            error = f"crawl ran longer than {opts.crawl_timeout:g}s and was stopped"
        elif child.returncode != 0 or crawl is None:
            outcome = CRAWL_FAILED
            reason = (f"crawl child exited with status {child.returncode}"
                      if child.returncode != 0 else "crawl child started no crawl")
            error = f"{reason}\n{child.output.strip()}"
        elif agency_id in errors:
            outcome = CRAWL_ERRORS
            count, first = errors[agency_id]
            error = f"{count} failed requests in crawl {crawl_id}; first: {first}"
        else:
            outcome, error = CRAWL_OK, None
        try:
            schedule = registry.schedule_for(registry.get(agency_id))
        except ConfigError:  # left the registry during the crawl
            schedule = registry.schedule
        results.append(CrawlResult(
            agency_id=agency_id, outcome=outcome, finished_at=finished_at,
            next_crawl_at=to_iso(next_crawl_at(schedule, now, rng)), crawl_id=crawl_id,
            error=error))
    store.schedule.finish(results)
    counts = {o: sum(r.outcome == o for r in results)
              for o in (CRAWL_OK, CRAWL_ERRORS, CRAWL_FAILED, CRAWL_TIMEOUT)}
    logger.info("crawl %s (%d agencies) done in %.0fs: %s", crawl_id, len(batch), child.seconds,
                ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    if child.returncode != 0 and not child.timed_out:
        logger.error("crawl child failed (status %s): %s", child.returncode,
                     child.output.strip()[-500:])


def close_crawl(store: Store, crawl: dict, child: ChildResult) -> str | None:
    """Close the batch's crawls row through store.crawls.finish (which writes its
    crawl_agencies rows) when the child could not say how it ended; return the reason used.

    - killed before it closed the row: 'timeout', 'interrupted' (the daemon is stopping) or
      'crashed'. 'timeout' and 'crashed' make every agency's outcome 'failed'; 'interrupted'
      gives each agency ok/errors/unknown from the listing pages it did fetch.
    - stopped for its time limit, but it closed the row itself on SIGTERM (Scrapy's
      'shutdown'): re-closed as 'timeout', keeping its stats, so crawl_agencies agrees with
      agency_schedule (outcome 'timeout') and site_failing counts a site that always hangs.
    """
    finished = crawl["finished_at"] is not None
    if not finished:
        reason = ("timeout" if child.timed_out else "interrupted" if child.interrupted
                  else "crashed")
    elif child.timed_out and crawl["finish_reason"] != "timeout":
        reason = "timeout"
    else:
        return None
    try:
        stats = json.loads(crawl.get("stats") or "{}") if finished else {}
    except ValueError:
        stats = {}
    if not isinstance(stats, dict):
        stats = {}
    stats.update({"closed_by": "nianbao daemon", "returncode": child.returncode,
                  "seconds": round(child.seconds, 1)})
    if finished:
        stats["child_finish_reason"] = crawl["finish_reason"]
    store.crawls.finish(crawl["id"], finish_reason=reason, stats=stats)
    return reason


def after_crawl(store: Store, registry: Registry, batch: list[str], opts: DaemonOptions) -> None:
    """site_failing findings for the batch, then notifications. Failures are logged only."""
    try:
        raise_site_failing(store, batch)
    except Exception:
        logger.exception("raising site_failing findings failed")
    deliver(store, registry, opts)


def deliver(store: Store, registry: Registry, opts: DaemonOptions) -> None:
    """Send pending notifications; stops before its next message once the daemon stops."""
    if STOPPING.is_set():
        return
    try:
        report = deliver_pending(store, registry, limit=opts.notify_limit,
                                 should_stop=STOPPING.is_set)
    except Exception:
        logger.exception("notification delivery failed")
        return
    if report.delivered or report.failed:
        logger.info("notifications: %d delivered in %d messages, %d failed, %d waiting",
                    report.delivered, report.messages, report.failed, report.waiting)


def check_job(config_path: str, db_path: str, options: dict) -> None:
    """The daily check: raise findings for deadlines that passed, then notify."""
    registry = _job_registry(config_path, "check")
    if registry is None:
        return
    opts = _options(options)
    with Store(db_path) as store:
        sync_schedule(store, registry, config_path)
        try:
            # Deadlines are Chinese dates: "today" in China, not on the daemon's host.
            run_check(store, registry, as_of=today(), record=True)
        except Exception:
            logger.exception("the deadline check failed")
        if STOPPING.is_set():
            return  # the findings are recorded; the next start (or deliver run) sends them
        deliver(store, registry, opts)


def deliver_job(config_path: str, db_path: str, options: dict) -> None:
    """Retry failed deliveries and send findings raised elsewhere."""
    registry = _job_registry(config_path, "delivery")
    if registry is None:
        return
    with Store(db_path) as store:
        deliver(store, registry, _options(options))


@dataclass
class _Identity:
    pid: int = field(default_factory=os.getpid)
    hostname: str = field(default_factory=socket.gethostname)
    started_at: str = field(default_factory=lambda: to_iso(local_now()))


_identity = _Identity()


def write_heartbeat(db_path: str, state: str) -> None:
    with Store(db_path) as store:
        store.heartbeat.beat(pid=_identity.pid, hostname=_identity.hostname,
                   started_at=_identity.started_at, state=state)


class Heartbeat(threading.Thread):
    """Writes daemon_heartbeat every `every` seconds ('running', or 'stopping' once STOPPING
    is set) until stop(). A plain thread: nothing the daemon does (a registry sync, a long
    crawl, a check) can hold it up. A failed write is logged and tried again next beat."""

    def __init__(self, db_path: str, every: float):
        super().__init__(name="nianbao-heartbeat", daemon=True)
        self.db_path, self.every = db_path, every
        self.done = threading.Event()

    def beat(self) -> None:
        write_heartbeat(self.db_path, DAEMON_STOPPING if STOPPING.is_set() else DAEMON_RUNNING)

    def run(self) -> None:
        while not self.done.wait(self.every):
            try:
                self.beat()
            except Exception:
                logger.exception("heartbeat not written")

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=30)


# -- start and stop ----------------------------------------------------------------------------


def beat_age(heartbeat: dict, now: dt.datetime | None = None) -> float:
    now = now or dt.datetime.now(dt.UTC)
    return (now - from_iso(heartbeat["beat_at"])).total_seconds()


def daemon_alive(heartbeat: dict | None, stale_after: float) -> bool:
    """A daemon is running if its heartbeat is fresh and it did not say it stopped."""
    return bool(heartbeat and heartbeat["state"] != DAEMON_STOPPED
                and beat_age(heartbeat) <= stale_after)


def _is_crawl_child(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"nianbao" in cmdline and b"crawl" in cmdline


def lock_path(db_path: str | os.PathLike) -> Path:
    """The file whose flock says a daemon runs on the database: `<db>.lock`."""
    return Path(f"{db_path}.lock")


def acquire_daemon_lock(db_path: str | os.PathLike) -> int:
    """Take the exclusive flock on `<db>.lock` (without waiting) and write our pid into it;
    return its file descriptor, to keep open for the daemon's life (the kernel releases the
    lock when the process ends, however it ends). Raises DaemonError when another process
    holds it. The descriptor is not inherited by crawl children (close-on-exec)."""
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        try:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
        finally:
            os.close(fd)
        raise DaemonError(f"another daemon is running on {db_path} (pid {holder}, holds "
                          f"{path}); stop it first") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd


def release_daemon_lock(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
    except OSError:
        pass
    os.close(fd)  # closing the last descriptor releases the flock


def release_stale_claims(store: Store, grace: float) -> int:
    """At start: every claim is left over from a daemon that is gone. A crawl child it left
    running is stopped (SIGTERM, then SIGKILL after `grace`); the claims are released and the
    agencies stay due, so they are crawled again soon."""
    claims = store.schedule.claims()
    orphans = {c["running_pid"] for c in claims
               if c["running_pid"] and c["running_pid"] != os.getpid()
               and pid_alive(c["running_pid"]) and _is_crawl_child(c["running_pid"])}
    for pid in orphans:
        logger.warning("stopping crawl child %d left by an earlier daemon", pid)
        _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while orphans and time.monotonic() < deadline:
        orphans = {pid for pid in orphans if pid_alive(pid) and _is_crawl_child(pid)}
        time.sleep(POLL_SECONDS)
    for pid in orphans:
        _signal_group(pid, signal.SIGKILL)
    released = store.schedule.release_claims() if claims else 0
    if released:
        logger.info("released %d stale claims", released)
    return released


def job_specs(config_path: str, db_path: str, opts: DaemonOptions) -> list[dict]:
    """The persistent jobs, as keyword arguments of `add_job` (trigger objects included)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    hour, minute = parse_check_at(opts.check_at)
    args = [config_path, db_path, opts.as_job_args()]
    return [
        dict(id=DISPATCH_JOB, func="nianbao.monitor.daemon:dispatch_job", args=args,
             trigger=IntervalTrigger(seconds=opts.dispatch_every), name="dispatch crawls",
             executor=CRAWL_EXECUTOR),
        dict(id=CHECK_JOB, func="nianbao.monitor.daemon:check_job", args=args,
             trigger=CronTrigger(hour=hour, minute=minute), name="daily deadline check",
             executor=NOTIFY_EXECUTOR),
        dict(id=DELIVER_JOB, func="nianbao.monitor.daemon:deliver_job", args=args,
             trigger=IntervalTrigger(seconds=opts.deliver_every), name="deliver notifications",
             executor=NOTIFY_EXECUTOR),
    ]


def parse_check_at(value: str) -> tuple[int, int]:
    try:
        hour, minute = (int(part) for part in value.split(":"))
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    except ValueError:
        pass
    raise ValueError(f"{value!r} is not a time of day HH:MM")


def _same_job(job, spec: dict) -> bool:
    return (job.func_ref == spec["func"] and str(job.trigger) == str(spec["trigger"])
            and list(job.args) == list(spec["args"]) and job.name == spec["name"]
            and job.executor == spec["executor"])


def install_jobs(scheduler, config_path: str, db_path: str, opts: DaemonOptions) -> None:
    """Add the persistent jobs; a job already stored with the same definition is kept as is
    (with its next run time, so a run missed while the daemon was down happens now, once)."""
    for spec in job_specs(config_path, db_path, opts):
        existing = scheduler.get_job(spec["id"], jobstore="default")
        if existing is not None and _same_job(existing, spec):
            logger.info("job %s kept, next run %s", spec["id"], existing.next_run_time)
            continue
        first_run = {}
        if spec["id"] == DISPATCH_JOB:
            first_run["next_run_time"] = local_now()  # crawl soon
        elif existing is not None and str(existing.trigger) == str(spec["trigger"]):
            # Same times, other details (options, executor): keep its next run, so that a
            # check missed while the daemon was down still happens now.
            first_run["next_run_time"] = existing.next_run_time
        scheduler.add_job(replace_existing=True, jobstore="default", **spec, **first_run)
        logger.info("job %s %s", spec["id"], "replaced" if existing else "added")


class _QuietSkips(logging.Filter):
    """A dispatch still running when the next is due is the design (max_instances=1)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def build_scheduler(db_path: str):
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from apscheduler.schedulers.base import STATE_STOPPED

    class Scheduler(BackgroundScheduler):
        def _process_jobs(self):
            # APScheduler 3 wakes its thread for one more pass after shutdown(), which then
            # submits due jobs to executors already shut down (an error in the log).
            if self.state == STATE_STOPPED:
                return None
            return super()._process_jobs()

    logging.getLogger("apscheduler.scheduler").addFilter(_QuietSkips())
    # "Running job ..." every heartbeat is noise; job errors are still logged (ERROR).
    executors_log = logging.getLogger("apscheduler.executors")
    executors_log.setLevel(max(executors_log.getEffectiveLevel(), logging.WARNING))
    return Scheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{scheduler_db_path(db_path)}"),
                   "memory": MemoryJobStore()},
        # One thread for crawls, one for the check and deliveries (see the module docstring).
        executors={CRAWL_EXECUTOR: ThreadPoolExecutor(1), NOTIFY_EXECUTOR: ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )


def scheduler_db_path(db_path: str | os.PathLike) -> Path:
    """The job store's SQLite file: beside the database, `<db>.scheduler`."""
    return Path(f"{db_path}.scheduler")


def run_daemon(config_path: str | os.PathLike, db_path: str | os.PathLike,
               opts: DaemonOptions) -> int:
    """Run until SIGTERM/SIGINT; return the exit status (0). Raises ConfigError when the
    registry is unusable and DaemonError when another daemon is running.

    Order: signal handlers first (a SIGTERM at any point is a clean stop), then the lock,
    stale claims, the first heartbeat and the heartbeat thread, and only then the slow part
    (loading the registry; dispatch and check sync it into the store in their own jobs)."""
    config_path = str(Path(config_path).resolve())
    db_path = str(Path(db_path).resolve())
    parse_check_at(opts.check_at)
    STOPPING.clear()
    global _identity
    _identity = _Identity()

    def on_signal(signum, frame):
        if not STOPPING.is_set():
            logger.info("%s received: stopping (no new jobs; a running crawl gets %gs)",
                        signal.Signals(signum).name, opts.stop_grace)
        STOPPING.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    lock = heartbeat = None
    try:
        lock = acquire_daemon_lock(db_path)
        with Store(db_path) as store:
            release_stale_claims(store, opts.stop_grace)
        beating = Heartbeat(db_path, opts.heartbeat_every)
        beating.beat()
        beating.start()
        heartbeat = beating
        registry = current_registry(config_path)
        if not STOPPING.is_set():
            _run_scheduler(config_path, db_path, opts, registry)
        with Store(db_path) as store:
            store.schedule.release_claims()  # a safety net: crawl_batch released its own already
    finally:
        if heartbeat is not None:
            heartbeat.stop()
            write_heartbeat(db_path, DAEMON_STOPPED)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if lock is not None:
            release_daemon_lock(lock)
    logger.info("daemon stopped")
    return 0


def _run_scheduler(config_path: str, db_path: str, opts: DaemonOptions,
                   registry: Registry) -> None:
    """Start the jobs, wait for STOPPING, stop them (a running crawl child is stopped)."""
    scheduler = build_scheduler(db_path)
    try:
        scheduler.start(paused=True)
        install_jobs(scheduler, config_path, db_path, opts)
        scheduler.resume()
        logger.info("daemon %d running: %d agencies, config %s, db %s", os.getpid(),
                    len(registry.agencies), config_path, db_path)
        while not STOPPING.wait(0.5):
            pass
        write_heartbeat(db_path, DAEMON_STOPPING)
        # No new submissions (a job submitted after the executors shut down is an error);
        # jobs already queued return at once (STOPPING); a running crawl child is stopped.
        scheduler.pause()
        scheduler.shutdown(wait=True)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)


def _ids_preview(ids: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")

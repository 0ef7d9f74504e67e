"""`nianbao daemon`: crawl each agency on its schedule, check deadlines daily, notify.

One long-lived process with an APScheduler 3 BackgroundScheduler. It never imports Scrapy or
Twisted: crawls run in child processes (`python -m nianbao crawl --agency ...`), because
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

This module starts and stops the daemon and sets up the scheduler. The parts:
monitor.daemon_options (the options), monitor.jobs (the job bodies), monitor.batch_crawl
(one batch crawled and recorded), monitor.processes (crawl child processes),
monitor.registry_sync (the registry, cached and synced into the schedule),
monitor.heartbeat, monitor.daemon_lock (`<db>.lock`) and monitor.shutdown (the signals and
the STOPPING event).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nianbao.config.registry import Registry
from nianbao.monitor import jobs
from nianbao.monitor.daemon_lock import acquire_daemon_lock, release_daemon_lock
from nianbao.monitor.daemon_options import DaemonOptions, parse_check_at
from nianbao.monitor.heartbeat import Heartbeat
from nianbao.monitor.processes import stop_crawl_children
from nianbao.monitor.registry_sync import current_registry
from nianbao.monitor.schedule import local_now
from nianbao.monitor.shutdown import STOPPING, stopping_on_signals
from nianbao.storage import Store
from nianbao.storage.heartbeat import DAEMON_STOPPED, DAEMON_STOPPING

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log

DISPATCH_JOB, CHECK_JOB, DELIVER_JOB = "dispatch", "check", "deliver"
# --check-at is China time, whatever the host's zone: deadlines are China's days.
CHECK_TIMEZONE = "Asia/Shanghai"
CRAWL_EXECUTOR, NOTIFY_EXECUTOR = "default", "notify"


def release_stale_claims(store: Store, grace: float) -> int:
    """At start: every claim is left over from a daemon that is gone. A crawl child it left
    running is stopped (SIGTERM, then SIGKILL after `grace`); the claims are released and the
    agencies stay due, so they are crawled again soon."""
    claims = store.schedule.claims()
    stop_crawl_children({c["running_pid"] for c in claims if c["running_pid"]}, grace)
    released = store.schedule.release_claims() if claims else 0
    if released:
        logger.info("released %d stale claims", released)
    return released


def job_ref(func) -> str:
    """How the job store names a job's function: `module:name`."""
    return f"{func.__module__}:{func.__qualname__}"


def job_specs(config_path: str, db_path: str, opts: DaemonOptions) -> list[dict]:
    """The persistent jobs, as keyword arguments of `add_job` (trigger objects included)."""
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    hour, minute = parse_check_at(opts.check_at)
    args = [config_path, db_path, opts.as_job_args()]
    return [
        dict(id=DISPATCH_JOB, func=job_ref(jobs.dispatch_job), args=args,
             trigger=IntervalTrigger(seconds=opts.dispatch_every), name="dispatch crawls",
             executor=CRAWL_EXECUTOR),
        dict(id=CHECK_JOB, func=job_ref(jobs.check_job), args=args,
             trigger=CronTrigger(hour=hour, minute=minute, timezone=CHECK_TIMEZONE),
             name="daily deadline check",
             executor=NOTIFY_EXECUTOR),
        dict(id=DELIVER_JOB, func=job_ref(jobs.deliver_job), args=args,
             trigger=IntervalTrigger(seconds=opts.deliver_every), name="deliver notifications",
             executor=NOTIFY_EXECUTOR),
    ]


def _same_job(job, spec: dict) -> bool:
    # repr, not str: a trigger's repr has its time zone (a job stored before --check-at
    # became China time is replaced)
    return (job.func_ref == spec["func"] and repr(job.trigger) == repr(spec["trigger"])
            and list(job.args) == list(spec["args"]) and job.name == spec["name"]
            and job.executor == spec["executor"])


def _stored_job(scheduler, job_id: str):
    """(the job stored under job_id or None, whether a job is stored under it at all).

    A job whose function no longer resolves (a job store written by an older version that
    kept the job functions elsewhere, e.g. `nianbao.monitor.daemon:dispatch_job`) cannot be
    loaded: APScheduler imports a job's function to load it. It is (None, True), replaced
    like a new job, its next run time lost with it (as if the job store had been deleted)."""
    try:
        job = scheduler.get_job(job_id, jobstore="default")
    except LookupError as exc:
        logger.warning("job %s stored by an older version cannot be loaded: %s", job_id, exc)
        return None, True
    return job, job is not None


def install_jobs(scheduler, config_path: str, db_path: str, opts: DaemonOptions) -> None:
    """Add the persistent jobs; a job already stored with the same definition is kept as is
    (with its next run time, so a run missed while the daemon was down happens now, once)."""
    for spec in job_specs(config_path, db_path, opts):
        existing, stored = _stored_job(scheduler, spec["id"])
        if existing is not None and _same_job(existing, spec):
            logger.info("job %s kept, next run %s", spec["id"], existing.next_run_time)
            continue
        first_run = {}
        if spec["id"] == DISPATCH_JOB:
            first_run["next_run_time"] = local_now()  # crawl soon
        elif existing is not None and repr(existing.trigger) == repr(spec["trigger"]):
            # Same times, other details (options, executor): keep its next run, so that a
            # check missed while the daemon was down still happens now.
            first_run["next_run_time"] = existing.next_run_time
        # replace_existing overwrites the stored job, also one that could not be loaded
        scheduler.add_job(replace_existing=True, jobstore="default", **spec, **first_run)
        logger.info("job %s %s", spec["id"], "replaced" if stored else "added")


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
    with stopping_on_signals(opts.stop_grace):
        beating = Heartbeat(db_path, opts.heartbeat_every)  # the daemon's identity, from now
        lock = heartbeat = None
        try:
            lock = acquire_daemon_lock(db_path)
            with Store(db_path) as store:
                release_stale_claims(store, opts.stop_grace)
            beating.beat()
            beating.start()
            heartbeat = beating
            registry = current_registry(config_path)
            if not STOPPING.is_set():
                _run_scheduler(config_path, db_path, opts, registry, heartbeat)
            with Store(db_path) as store:
                store.schedule.release_claims()  # a safety net: crawl_batch released its own already
        finally:
            if heartbeat is not None:
                heartbeat.stop()
                heartbeat.write(DAEMON_STOPPED)
            if lock is not None:
                release_daemon_lock(lock)
    logger.info("daemon stopped")
    return 0


def _run_scheduler(config_path: str, db_path: str, opts: DaemonOptions,
                   registry: Registry, heartbeat: Heartbeat) -> None:
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
        heartbeat.write(DAEMON_STOPPING)
        # No new submissions (a job submitted after the executors shut down is an error);
        # jobs already queued return at once (STOPPING); a running crawl child is stopped.
        scheduler.pause()
        scheduler.shutdown(wait=True)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)

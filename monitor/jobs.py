"""The bodies of the daemon's three jobs: dispatch (crawl what is due), check (the daily
deadline check) and deliver (send pending notifications).

Module-level functions with plain arguments: the job store keeps each job as a reference,
`nianbao.monitor.jobs:dispatch_job`, with pickled arguments. Moving one changes its
reference; monitor.daemon.install_jobs replaces a job stored under a reference that no
longer resolves. Each job opens its own Store and returns at once when the daemon is
stopping.
"""

from __future__ import annotations

import logging
import os
import random

# monitor.notify first: importing it redacts apprise's log before the registry loads its URLs
from nianbao.monitor.notify import deliver_pending  # isort: skip
from nianbao.config.registry import ConfigError, Registry
from nianbao.monitor.batch_crawl import crawl_batch
from nianbao.monitor.daemon_options import DaemonOptions
from nianbao.monitor.findings import raise_inconsistent, raise_site_failing, start_check, today
from nianbao.monitor.registry_sync import current_registry, sync_schedule
from nianbao.monitor.schedule import local_now, to_iso
from nianbao.monitor.shutdown import STOPPING
from nianbao.storage import Store

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log


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


def after_crawl(store: Store, registry: Registry, batch: list[str], opts: DaemonOptions) -> None:
    """site_failing and inconsistent findings for the batch, then notifications. Failures are
    logged only."""
    try:
        raise_site_failing(store, batch)
    except Exception:
        logger.exception("raising site_failing findings failed")
    try:
        raise_inconsistent(store, batch)
    except Exception:
        logger.exception("raising inconsistent findings failed")
    deliver(store, registry, opts)


def deliver(store: Store, registry: Registry, opts: DaemonOptions) -> None:
    """Send pending notifications; stops before its next message once the daemon stops."""
    if STOPPING.is_set():
        return
    try:
        report = deliver_pending(store, registry, limit=opts.notify_limit,
                                 should_stop=STOPPING.is_set, public_url=opts.public_url)
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
            # Findings only: the rows (2.7 M at national scale) are never read.
            start_check(store, registry, as_of=today(), record=True)
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

"""One claimed batch of agencies: crawled in one child process, each agency's outcome and
next due time recorded, the batch's crawls row closed when the child could not close it.

Scrapy keeps per-host politeness inside the child, so a batch of hundreds of agencies is one
crawl. The caller (monitor.jobs.dispatch_job) claims the batch and releases it afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from nianbao.config.registry import ConfigError, Registry
from nianbao.monitor.daemon_options import DaemonOptions
from nianbao.monitor.processes import ChildResult, crawl_command, run_child
from nianbao.monitor.schedule import local_now, next_crawl_at, to_iso
from nianbao.monitor.shutdown import STOPPING
from nianbao.storage import Store
from nianbao.storage.schedule import CRAWL_ERRORS, CRAWL_FAILED, CRAWL_OK, CRAWL_TIMEOUT, CrawlResult

logger = logging.getLogger("nianbao.daemon")  # one logger name for the whole daemon's log


@contextlib.contextmanager
def batch_registry(registry: Registry, agency_ids: Sequence[str]):
    """A registry file with only the batch's agencies, for the crawl child.

    The child would otherwise read and validate the whole registry (150,000 agencies: tens of
    seconds) for the few hundred it crawls. The entries come from the registry the daemon
    already validated, so the child's own validation of them cannot fail differently.
    """
    # by id: the work is the batch's, whatever the size of the registry
    document = {"agencies": [
        registry.by_id[agency_id].model_dump(mode="json", exclude_defaults=True)
        for agency_id in dict.fromkeys(agency_ids) if agency_id in registry.by_id
    ]}
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".yaml",
                                     prefix="nianbao-batch-") as handle:
        yaml.safe_dump(document, handle, allow_unicode=True, sort_keys=False)
        handle.flush()
        yield Path(handle.name)


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
    """Close the batch's crawls row through Store.finish_crawl (which writes its
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


def _ids_preview(ids: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(ids[:n])
    return shown + (f" and {len(ids) - n} more" if len(ids) > n else "")

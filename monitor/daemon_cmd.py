"""`nianbao daemon`, `nianbao status` and `nianbao notify`.

Durations are given as seconds (`90`, `90s`) or as 30m, 12h, 1d, 2w, each within the bounds its
help shows; counts are whole numbers within theirs. A value out of bounds is a usage error
(exit status 2) before anything starts: a zero --crawl-timeout would time out every crawl.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys

import click

from nianbao.config.registry import ConfigError, format_duration, parse_duration
from nianbao.monitor.cli_options import (
    SCRAPY_SETTING,
    config_option,
    db_option,
    fail_config,
    load_or_fail,
    log_level_choice,
    public_url_option,
    resolve_paths,
)


class Duration(click.ParamType):
    """A length of time in seconds (float), from `low` to `high` seconds."""

    name = "DURATION"

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def convert(self, value, param, ctx):
        try:
            span = parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        if not self.low <= span.total_seconds() <= self.high:
            self.fail(f"{format_duration(span)} is not from {self.bounds}", param, ctx)
        return span.total_seconds()

    @property
    def bounds(self) -> str:
        return (f"{format_duration(dt.timedelta(seconds=self.low))} to "
                f"{format_duration(dt.timedelta(seconds=self.high))}")


class TimeOfDay(click.ParamType):
    """HH:MM (ASCII digits, 00:00 to 23:59) -> the same, zero-padded."""

    name = "HH:MM"
    PATTERN = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")  # fullmatch: no "06:00\n"

    def convert(self, value, param, ctx):
        match = self.PATTERN.fullmatch(str(value))
        if not match:
            self.fail(f"{value!r} is not a time of day HH:MM (00:00 to 23:59)", param, ctx)
        return f"{int(match.group(1)):02d}:{match.group(2)}"


MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
# Loop intervals of the daemon: under 0.1 s it only burns the CPU; over a day, it is not running.
DISPATCH_EVERY = Duration(0.1, DAY)
DELIVER_EVERY = Duration(0.1, DAY)
HEARTBEAT_EVERY = Duration(0.1, HOUR)
# A crawl of a batch may take hours (politeness delays), not a week; under a second, none ends.
CRAWL_TIMEOUT = Duration(1.0, 7 * DAY)
STOP_GRACE = Duration(1.0, HOUR)
STALE_AFTER = Duration(1.0, 7 * DAY)
# Counts: agency ids go on the crawl child's command line (batch), messages to one target.
MAX_COUNT = 10_000
COUNT = click.IntRange(1, MAX_COUNT)


def _paths(config_path, db_path):
    config, db = resolve_paths(config_path, db_path)
    return config, db, load_or_fail(config)


@click.command()
@config_option
@db_option
@click.option("--dispatch-every", type=DISPATCH_EVERY, default="60", show_default=True,
              help=f"How often agencies that are due are looked for ({DISPATCH_EVERY.bounds}).")
@click.option("--batch-size", type=COUNT, default=200, show_default=True,
              help="Agencies crawled together in one child process.")
@click.option("--crawl-timeout", type=CRAWL_TIMEOUT, default="2h", show_default=True,
              help="A crawl child running longer is stopped (outcome 'timeout'; "
                   f"{CRAWL_TIMEOUT.bounds}).")
@click.option("--stop-grace", type=STOP_GRACE, default="60", show_default=True,
              help="After SIGTERM, how long a crawl child may take to finish before SIGKILL "
                   f"({STOP_GRACE.bounds}).")
@click.option("--check-at", type=TimeOfDay(), default="06:00", show_default=True,
              help="Time of the daily deadline check, in China time (Asia/Shanghai), "
                   "whatever the host's time zone.")
@click.option("--deliver-every", type=DELIVER_EVERY, default="10m", show_default=True,
              help=f"How often failed notifications are retried ({DELIVER_EVERY.bounds}).")
@click.option("--heartbeat-every", type=HEARTBEAT_EVERY, default="30", show_default=True,
              help=f"How often the daemon records that it is alive ({HEARTBEAT_EVERY.bounds}).")
@click.option("--notify-limit", type=COUNT, default=20, show_default=True,
              help="Messages per notification target per delivery run.")
@click.option("--crawl-setting", "crawl_settings", multiple=True, type=SCRAPY_SETTING,
              help="Scrapy setting for the crawl children (repeatable), e.g. DOWNLOAD_DELAY=5.")
@click.option("--log-level", type=log_level_choice, default="INFO", show_default=True,
              help="Daemon log level.")
@public_url_option
def daemon(config_path, db_path, dispatch_every, batch_size, crawl_timeout, stop_grace,
           check_at, deliver_every, heartbeat_every, notify_limit, crawl_settings,
           log_level, public_url) -> None:
    """Run the monitor: crawl agencies on their schedule, check deadlines daily, notify.

    Stops cleanly on SIGTERM or SIGINT (exit status 0). See deploy/README.md for systemd.
    """
    from nianbao.monitor.daemon import run_daemon
    from nianbao.monitor.daemon_lock import DaemonError
    from nianbao.monitor.daemon_options import DaemonOptions

    # The registry is loaded (and validated: exit 2) by run_daemon, once, after its signal
    # handlers and heartbeat are up: 150,000 agencies take a while. The options were all
    # checked by their click types.
    config, db = resolve_paths(config_path, db_path)
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = DaemonOptions(
        dispatch_every=dispatch_every, batch_size=batch_size, crawl_timeout=crawl_timeout,
        stop_grace=stop_grace, check_at=check_at, deliver_every=deliver_every,
        heartbeat_every=heartbeat_every, notify_limit=notify_limit,
        crawl_settings=tuple(crawl_settings), public_url=public_url)
    try:
        sys.exit(run_daemon(config, db, options))
    except ConfigError as exc:
        fail_config(exc)
    except DaemonError as exc:
        click.echo(f"nianbao: {exc}", err=True)
        sys.exit(1)


# -- status -------------------------------------------------------------------------------------

LATEST_UNDELIVERED = 5
# `nianbao status` exit status when no daemon runs (LSB's "program is not running").
STATUS_NOT_RUNNING = 3


def collect_status(db_path, registry, *, stale_after: float, agency_limit: int | None) -> dict:
    """Everything `nianbao status` shows, as plain JSON-ready data."""
    from nianbao.monitor.heartbeat import beat_age, daemon_alive
    from nianbao.monitor.notify import targets_of
    from nianbao.storage import Store

    with Store(db_path) as store:
        heartbeat = store.heartbeat.read()
        rows = store.schedule.rows()
        targets = targets_of(registry)
        count, latest = store.deliveries.undelivered_findings(
            [(t.key, None if t.agency_ids is None else sorted(t.agency_ids), t.kinds)
             for t in targets],
            latest=LATEST_UNDELIVERED)
    daemon_info = {"running": daemon_alive(heartbeat, stale_after)}
    if heartbeat:
        daemon_info.update(heartbeat, beat_age_seconds=round(beat_age(heartbeat)))
    shown = rows if agency_limit is None else rows[:agency_limit]
    return {
        "daemon": daemon_info,
        "agencies": {
            "scheduled": len(rows),
            "running": sum(1 for r in rows if r["running_since"]),
            "failing": sum(1 for r in rows if r["failures_in_a_row"]),
            "rows": [{k: r[k] for k in ("agency_id", "name", "last_crawl_at", "last_outcome",
                                        "last_crawl_id", "next_crawl_at", "running_since",
                                        "failures_in_a_row", "last_error")} for r in shown],
            "not_shown": len(rows) - len(shown),
        },
        "undelivered": {
            "targets": len(targets),
            "findings": count,
            "latest": [{k: f[k] for k in ("id", "kind", "agency_id", "agency_name", "year",
                                          "detected_at", "targets_pending")} for f in latest],
        },
    }


def _when(iso: str | None, now: dt.datetime) -> str:
    if not iso:
        return "-"
    from nianbao.monitor.schedule import from_iso

    moment = from_iso(iso)
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if span >= 2 * size:  # "36h", not "2d"; "90m", not "2h"
            amount = f"{span / size:.0f}{unit}"
            break
    else:
        amount = f"{span:.0f}s"
    relative = f"in {amount}" if seconds > 0 else f"{amount} ago"
    return f"{moment.astimezone():%Y-%m-%d %H:%M} ({relative})"


def print_status(report: dict) -> None:
    from rich.console import Console

    from nianbao.monitor.finding_text import china_time, kind_label
    from rich.table import Table

    now = dt.datetime.now(dt.UTC)
    info = report["daemon"]
    if info["running"]:
        click.echo(f"Daemon: running (pid {info['pid']} on {info['hostname']}, started "
                   f"{_when(info['started_at'], now)}, last beat {info['beat_age_seconds']}s ago)")
    elif "pid" in info:
        click.echo(f"Daemon: not running (last seen pid {info['pid']} on {info['hostname']}, "
                   f"state {info['state']}, last beat {_when(info['beat_at'], now)})")
    else:
        click.echo("Daemon: not running (never started on this database)")

    agencies = report["agencies"]
    click.echo(f"Agencies: {agencies['scheduled']} scheduled, {agencies['running']} crawling now, "
               f"{agencies['failing']} failing")
    headers = ("agency", "name", "last crawl", "outcome", "next crawl", "running")
    cells = [(r["agency_id"], r["name"] or "", _when(r["last_crawl_at"], now),
              (r["last_outcome"] or "-") + (f" x{r['failures_in_a_row']}"
                                            if r["failures_in_a_row"] > 1 else ""),
              _when(r["next_crawl_at"], now),
              f"since {_when(r['running_since'], now)}" if r["running_since"] else "")
             for r in agencies["rows"]]
    console = Console()
    if cells and console.is_terminal:
        table = Table()
        for header in headers:
            table.add_column(header)
        for cell in cells:
            table.add_row(*cell)
        console.print(table)
    elif cells:
        click.echo("\t".join(headers))
        for cell in cells:
            click.echo("\t".join(cell))
    if agencies["not_shown"]:
        click.echo(f"... and {agencies['not_shown']} more agencies (--all lists them)")

    undelivered = report["undelivered"]
    if not undelivered["targets"]:
        click.echo("Notifications: no targets configured (add `notify:` to the config)")
        return
    click.echo(f"Findings not yet delivered to every target: {undelivered['findings']} "
               f"({undelivered['targets']} targets)")
    for f in undelivered["latest"]:
        year = f" {f['year']}" if f["year"] else ""
        click.echo(f"  #{f['id']} {kind_label(f['kind'])} ({f['kind']}) "
                   f"{f['agency_name'] or f['agency_id'] or ''}{year} detected "
                   f"{china_time(f['detected_at'])}, {f['targets_pending']} targets waiting")


@click.command()
@config_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--all", "show_all", is_flag=True, help="List every agency, not the first 50.")
@click.option("--stale-after", type=STALE_AFTER, default=None,
              help="A heartbeat older than this means no daemon runs [default: 90 s, three "
                   "beats of the daemon's default --heartbeat-every 30; pass about 3 x its "
                   f"interval when the daemon runs with another; {STALE_AFTER.bounds}].")
def status(config_path, db_path, as_json, show_all, stale_after) -> None:
    """Is a daemon running; last and next crawl per agency; findings not yet delivered.

    Usable as a health check. Exit status: 0 a daemon runs (its heartbeat is fresh); 3 no
    daemon runs (never started, stopped, or its heartbeat is older than --stale-after);
    1 no database; 2 a bad option or config.
    """
    from nianbao.monitor.heartbeat import DEFAULT_HEARTBEAT_SECONDS, STALE_BEATS

    _, db, registry = _paths(config_path, db_path)
    if not db.exists():
        click.echo(f"nianbao: no database at {db}", err=True)
        sys.exit(1)
    stale = STALE_BEATS * DEFAULT_HEARTBEAT_SECONDS if stale_after is None else stale_after
    report = collect_status(db, registry, stale_after=stale, agency_limit=None if show_all else 50)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_status(report)
    if not report["daemon"]["running"]:
        sys.exit(STATUS_NOT_RUNNING)


@click.command()
@config_option
@db_option
@click.option("--limit", type=COUNT, default=None,
              help="At most this many messages per target.")
@public_url_option
def notify(config_path, db_path, limit, public_url) -> None:
    """Deliver the findings not yet delivered, now.

    SIGTERM or Ctrl-C stops it after the message in flight (sent and recorded); the rest
    waits for the next run; exit status 0.
    """
    from nianbao.monitor.notify import deliver_pending
    from nianbao.monitor.shutdown import stopping_on_signals
    from nianbao.storage import Store

    _, db, registry = _paths(config_path, db_path)
    # Python's default SIGTERM would end the process between a send and its record, and that
    # message would go out again on the next run: stop between messages instead, as the
    # daemon does (there is no crawl child here: no grace period).
    with stopping_on_signals(stop_grace=0) as stopping, Store(db) as store:
        report = deliver_pending(store, registry, limit=limit, should_stop=stopping.is_set,
                                 public_url=public_url)
    click.echo(f"{report.targets} targets: delivered {report.delivered} findings in "
               f"{report.messages} messages, {report.failed} failed, {report.waiting} waiting")
    if stopping.is_set():
        click.echo("stopped by a signal: the rest waits for the next run", err=True)
    for line in report.errors:
        click.echo(f"  failed: {line}", err=True)
    if report.failed:
        sys.exit(1)

"""The small contracts of the `nianbao` command: --version, help texts that say China time,
the daily check scheduled in China time, `status` as a health check."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from nianbao import __version__
from tests.conftest import run_nianbao


def test_version():
    result = run_nianbao("--version", timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == f"nianbao, version {__version__}"


def test_help_says_china_time():
    from nianbao.monitor.check_cmd import check
    from nianbao.monitor.daemon_cmd import daemon

    check_help = CliRunner().invoke(check, ["--help"]).output
    assert "UTC" not in check_help and "today in China" in check_help
    daemon_help = " ".join(CliRunner().invoke(daemon, ["--help"]).output.split())
    assert "China time (Asia/Shanghai)" in daemon_help


def test_the_daily_check_runs_at_check_at_china_time():
    from nianbao.monitor.daemon import CHECK_JOB, job_specs
    from nianbao.monitor.daemon_options import DaemonOptions

    [check] = [s for s in job_specs("c.yaml", "d.db", DaemonOptions(check_at="06:30"))
               if s["id"] == CHECK_JOB]
    # whatever the host's zone: the next run is 06:30 in Shanghai, 22:30 UTC the day before
    start = dt.datetime(2027, 1, 10, 0, 0, tzinfo=dt.UTC)
    fire = check["trigger"].get_next_fire_time(None, start)
    assert fire.astimezone(dt.UTC) == dt.datetime(2027, 1, 10, 22, 30, tzinfo=dt.UTC)


def test_status_exit_codes_are_a_health_check(tmp_path):
    from nianbao.monitor.daemon_cmd import status
    from nianbao.monitor.schedule import to_iso
    from nianbao.storage import Store

    config = tmp_path / "agencies.yaml"
    config.write_text(json.dumps({"agencies": [{"id": "a", "name": "甲", "kind": "department",
                                                "start_year": 2019, "sources": ["http://127.0.0.1:9/"]}]},
                                 ensure_ascii=False), encoding="utf-8")
    db = tmp_path / "nianbao.db"
    args = ["--config", str(config), "--db", str(db)]
    assert CliRunner().invoke(status, args).exit_code == 1  # no database
    with Store(db) as store:
        pass
    never = CliRunner().invoke(status, args)
    assert never.exit_code == 3 and "never started" in never.output
    with Store(db) as store:
        now = dt.datetime.now(dt.UTC)
        store.heartbeat.beat(pid=1, hostname="h", started_at=to_iso(now), state="running")
    assert CliRunner().invoke(status, args).exit_code == 0
    assert CliRunner().invoke(status, [*args, "--json"]).exit_code == 0
    # a beat older than --stale-after: a dead daemon
    with Store(db) as store:
        store.db.execute("UPDATE daemon_heartbeat SET beat_at = ?",
                         [to_iso(now - dt.timedelta(minutes=10))])
        store.db.conn.commit()
    assert CliRunner().invoke(status, args).exit_code == 3
    assert CliRunner().invoke(status, [*args, "--stale-after", "1h"]).exit_code == 0

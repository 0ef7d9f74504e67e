"""The daemon's memory over many scheduled cycles: flat (issue 10).

A real `nianbao daemon` runs with every interval at its shortest (dispatch every second,
agencies due every second, deliveries and heartbeats every second), so each dispatch pass
crawls a batch in a real Scrapy child; its resident set size is read from /proc after a
warm-up and again after the last cycle. Counted in cycles (crawls finished), not seconds.
The 200-cycle run is a soak test (NIANBAO_SOAK=1; about 15 minutes); NIANBAO_DAEMON_CYCLES
sets another count.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.test_daemon import Daemon, safe_query, wait_for

WARM_UP = 10  # cycles before the first reading: imports, caches, the job store settle


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def finished_crawls(db: Path) -> int:
    rows = safe_query(db, "SELECT count(*) AS n FROM crawls WHERE finished_at IS NOT NULL")
    return rows[0]["n"] if rows else 0


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_daemon_rss_stays_flat_over_200_cycles(tmp_path, portal):
    cycles = int(os.environ.get("NIANBAO_DAEMON_CYCLES", "200"))
    config = tmp_path / "agencies.yaml"
    # Two agencies on the demo portal: each cycle is a real crawl of real pages.
    agencies = [{"id": f"soak-{n}", "name": f"测试局{n}", "kind": "department",
                 "start_year": 2019, "sources": [f"{portal.base_url}/trs/xxgk/ndbg/index.html"]}
                for n in range(2)]
    config.write_text(yaml.safe_dump(
        {"agencies": agencies,
         "schedule": {"jitter": "0s", "season_every": "1s", "off_season_every": "1s"}},
        allow_unicode=True), encoding="utf-8")
    db = tmp_path / "nianbao.db"
    daemon = Daemon(config, db, tmp_path / "daemon.log", "--deliver-every", "1")
    try:
        wait_for(lambda: finished_crawls(db) >= WARM_UP, 600, "the warm-up cycles", daemon.proc)
        before = rss_kb(daemon.proc.pid)
        wait_for(lambda: finished_crawls(db) >= WARM_UP + cycles, 3000,
                 f"{cycles} cycles", daemon.proc)
        after = rss_kb(daemon.proc.pid)
        code, _ = daemon.stop()
    finally:
        daemon.kill()
    # the readings, for the record (run with -s to see them; bench/README.md keeps them)
    print(f"daemon RSS after {WARM_UP} warm-up cycles: {before} kB; after {cycles} more: "
          f"{after} kB ({(after - before) / before:+.1%})")
    assert code == 0
    assert "Traceback" not in daemon.output()
    assert after <= before * 1.10, f"daemon RSS grew from {before} kB to {after} kB " \
                                   f"over {cycles} cycles"

"""Progress during `nianbao crawl`: real crawls of local sites, stderr a pipe (plain lines)
and a pseudo-terminal (one line redrawn in place)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import FAST_SETTINGS, REPO, query
from tests.local_sites import LocalSite, write_registry

pytestmark = pytest.mark.timeout(120)

# slow enough that progress is shown a few times before the end
SLOW = {**FAST_SETTINGS, "DOWNLOAD_DELAY": "0.25", "CONCURRENT_REQUESTS_PER_DOMAIN": "1",
        "NIANBAO_PROGRESS_INTERVAL": "0.3", "LOG_LEVEL": "WARNING"}
FINAL = re.compile(r"agencies (\d+)/(\d+) done · (\d+) pages · (\d+) reports · (\d+) errors")


@pytest.fixture
def sites(tmp_path):
    with LocalSite() as first, LocalSite() as second:
        first.listing("/col/list.html", [(f"/ndbg/t{y}.html", f"示例县人民政府{y}年政府信息公开工作年度报告")
                                         for y in (2019, 2020, 2021)])
        for y in (2019, 2020, 2021):
            first.report(f"/ndbg/t{y}.html", f"示例县人民政府{y}年政府信息公开工作年度报告", y)
        second.listing("/xxgk/index.html", [("/a/2020.html", "某某镇2020年政府信息公开工作年度报告")])
        second.report("/a/2020.html", "某某镇2020年政府信息公开工作年度报告", 2020)
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "xian-a", "sources": [first.url("/col/list.html")]},
                                {"id": "zhen-b", "name": "某某镇人民政府",
                                 "sources": [second.url("/xxgk/index.html"), second.url("/gone.html")]})
        yield config, tmp_path / "nianbao.db", (first, second)


def command(config, db):
    flags = [f"-s{k}={v}" for k, v in SLOW.items()]
    return [sys.executable, "-m", "nianbao", "crawl", "--config", str(config), "--db", str(db), *flags]


def test_plain_progress_lines_when_not_a_terminal(sites):
    config, db, _ = sites
    result = subprocess.run(command(config, db), cwd=REPO, capture_output=True, text=True,
                            timeout=100, env={**os.environ, "NIANBAO_PROGRESS": "auto"})
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if " crawl progress: " in line]
    assert len(lines) >= 2, result.stderr
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d crawl progress: agencies \d+/2 done", line)
               for line in lines)
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert any("now: 127.0.0.1" in line for line in lines)
    [final] = [line for line in result.stderr.splitlines() if " crawl finished: " in line]
    done, total, pages, reports, errors = map(int, FINAL.search(final).groups())
    crawl = query(db, "SELECT id FROM crawls")[0]["id"]
    fetched = query(db, "SELECT count(*) n FROM fetch_log WHERE crawl_id = ? AND status IS NOT NULL",
                    [crawl])[0]["n"]
    assert (done, total) == (2, 2)
    assert reports == query(db, "SELECT count(*) n FROM sightings WHERE crawl_id = ?", [crawl])[0]["n"] == 4
    assert errors >= 1  # /gone.html answers 404
    assert pages >= fetched - 2  # robots.txt is counted by Scrapy, not always by fetch_log


def test_a_terminal_gets_one_line_redrawn(sites):
    config, db, _ = sites
    leader, follower = os.openpty()
    try:
        proc = subprocess.Popen(command(config, db), cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=follower, env={**os.environ, "NIANBAO_PROGRESS": "auto"})
        os.close(follower)
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(timeout=100) == 0, output[-2000:]
    finally:
        os.close(leader)
    text = output.decode("utf-8", "replace")
    redraws = text.count("\r\x1b[K")
    assert redraws >= 3, text
    assert " crawl progress: " not in text  # the terminal gets the line, not log lines
    final = text.rsplit("\r\x1b[K", 1)[1]
    assert FINAL.search(final).groups()[:2] == ("2", "2") and final.endswith("\n") or final.endswith("\r\n")


def test_progress_off(sites):
    config, db, _ = sites
    result = subprocess.run(command(config, db), cwd=REPO, capture_output=True, text=True,
                            timeout=100, env={**os.environ, "NIANBAO_PROGRESS": "off"})
    assert result.returncode == 0
    assert "crawl progress" not in result.stderr and "crawl finished" not in result.stderr

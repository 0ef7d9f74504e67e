"""`make bench` cannot rot: its smoke variant (tiny portal, one run of each side, no timing
asserted) runs end to end, served by the threaded server (and by nginx when installed), and
writes its JSON. What is asserted is what must hold at any speed: the crawls stored every
report with clean text, and an unchanged re-crawl made no version and no finding."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from tests.conftest import REPO


def test_bench_smoke_runs_end_to_end(tmp_path):
    # nginx when installed (make bench installs it), else Python's threaded server: one run,
    # the harness is the same either way (the server is named in the JSON).
    server = "nginx" if shutil.which("nginx") else "threaded"
    flags = ["--no-nginx"] if server == "threaded" else []
    result = subprocess.run(
        [sys.executable, "-m", "nianbao.bench", "--smoke", "--skip", "micro,national",
         "--out", str(tmp_path), *flags],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    [written] = list(tmp_path.glob("smoke-*.json"))
    report = json.loads(written.read_text())
    assert report["server"] == server and report["smoke"] is True
    rows = {row["measurement"]: row for row in report["rows"]}
    first = rows["first crawl vs bare Scrapy spider (pages/s)"]
    quality = first["detail"]["text_quality"]
    # 5 agencies x 4 reports, the PDF attachments among them (real PDFs, read as files)
    assert quality["reports"] == 20 and quality["good"] == 20, quality
    assert first["detail"]["pages"] > 0 and first["median"] > 0
    for label in ("every known report re-checked", "production rotation, steady state"):
        recrawl = rows[f"unchanged re-crawl vs first crawl ({label})"]["detail"]
        assert (recrawl["versions"], recrawl["findings"]) == (0, 0)
    assert rows["unchanged re-crawl vs first crawl (every known report re-checked)"]["detail"]["not_modified"][0] \
        == (20 if server == "nginx" else 0)  # every report, PDFs too; the threaded server sends no ETag
    assert any(name.startswith("crawl peak RSS") for name in rows)


def test_bench_smoke_national_rows_through_the_whole_command(tmp_path):
    """`make bench` is one command: the national rows (tested alone in test_bench_national)
    go through the same table and JSON as the crawl rows."""
    result = subprocess.run(
        [sys.executable, "-m", "nianbao.bench", "--smoke", "--skip", "micro,crawl", "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    [written] = list(tmp_path.glob("smoke-*.json"))
    rows = {row["measurement"]: row for row in json.loads(written.read_text())["rows"]}
    assert rows["check"]["median"] > 0 and "check --json" in rows
    table = result.stdout.split("measurement", 1)[-1]  # the table, printed after the JSON
    assert "check --jsonl" in table and "written to" in result.stdout

"""The crawl measurements of `make bench`, each side in a child process, sides alternating.

- first crawl of the portal by nianbao vs a bare Scrapy spider downloading the same pages
  (pages/s; target >= 0.60x), and vs the bare spider with nianbao's middlewares only;
- unchanged re-crawl vs first crawl (wall, bytes received, versions, findings; targets
  <= 0.15x wall, <= 0.05x bytes, 0 versions, 0 findings): once re-checking every known report
  conditionally, once with the production rotation in steady state;
- peak RSS of a first crawl at two portal sizes (default 600 and 9,600 pages; flat).

Politeness is off on both sides (no delay, no AutoThrottle, no robots.txt, the same
concurrency), so the ratios measure nianbao's own cost.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nianbao.bench.portal import build
from nianbao.bench.serve import Server

REPO = Path(__file__).resolve().parent.parent
# The same on both sides of every comparison.
POLITENESS_OFF = {
    "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "ROBOTSTXT_OBEY": False,
    "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}
# Every known report re-checked (conditionally), every listing page followed.
EVERY_CRAWL = {"NIANBAO_RECHECK_KNOWN_EVERY": "0s", "NIANBAO_FULL_PASS_EVERY": "0s"}
# The production defaults, in steady state: no report was published within the last 30 days.
STEADY = {"NIANBAO_RECHECK_KNOWN_EVERY": "3d", "NIANBAO_RECHECK_RECENT": "0s", "NIANBAO_FULL_PASS_EVERY": "7d"}
PAGES_PER_AGENCY = 12  # 2 listing pages + 10 reports


def _peak_rss_child(command: list[str], env: dict | None = None) -> dict:
    """Run a child; its wall time and peak RSS in MB (its own rusage, via os.wait4)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command[:4])}... failed: {err.decode()[-3000:]}")
    return {"wall": time.perf_counter() - started, "peak_rss_mb": usage.ru_maxrss / 1024}


def nianbao_crawl(config: Path, db: Path, settings: dict) -> dict:
    flags = [f"-s{name}={value}" for name, value in {**POLITENESS_OFF, **settings}.items()]
    run = _peak_rss_child([sys.executable, "-m", "nianbao", "crawl", "--config", str(config),
                           "--db", str(db), "--log-level", "WARNING", *flags])
    with sqlite3.connect(db) as connection:
        crawl_id, stats = connection.execute("SELECT id, stats FROM crawls ORDER BY id DESC LIMIT 1").fetchone()
        stats = json.loads(stats)
        run["versions"] = connection.execute("SELECT count(*) FROM versions WHERE crawl_id = ?", (crawl_id,)).fetchone()[0]
        run["findings"] = connection.execute("SELECT count(*) FROM findings WHERE crawl_id = ?", (crawl_id,)).fetchone()[0]
        run["requests"] = connection.execute("SELECT count(*) FROM fetch_log WHERE crawl_id = ?", (crawl_id,)).fetchone()[0]
    run["elapsed"] = float(stats.get("elapsed_time_seconds") or run["wall"])
    run["pages"] = int(stats.get("response_received_count", 0))
    run["bytes"] = int(stats.get("downloader/response_bytes", 0))
    run["pages_per_s"] = run["pages"] / run["elapsed"] if run["elapsed"] else 0.0
    run["not_modified"] = int(stats.get("nianbao/reports/not_modified", 0))
    return run


def baseline_crawl(rows_file: Path, work: Path, *, middlewares: tuple[Path, Path] | None = None) -> dict:
    out = work / "baseline-stats.json"
    command = [sys.executable, "-m", "nianbao.bench.bare_spider", str(rows_file), str(out),
               "--settings", json.dumps(POLITENESS_OFF)]
    if middlewares:
        command += ["--middlewares", str(middlewares[0]), str(middlewares[1])]
    run = _peak_rss_child(command)
    stats = json.loads(out.read_text())
    run["elapsed"] = float(stats.get("elapsed_time_seconds") or run["wall"])
    run["pages"] = int(stats.get("response_received_count", 0))
    run["bytes"] = int(stats.get("downloader/response_bytes", 0))
    run["pages_per_s"] = run["pages"] / run["elapsed"] if run["elapsed"] else 0.0
    return run


def fetched_rows(db: Path) -> list[list]:
    """The pages a nianbao crawl fetched (answered 200): what the baselines download."""
    with sqlite3.connect(db) as connection:
        return [list(row) for row in connection.execute(
            "SELECT url, agency_id, purpose FROM fetch_log WHERE status = 200 ORDER BY id")]


def table_bytes(db: Path) -> dict[str, int]:
    """Bytes each table (with its indexes) takes in the file (SQLite's dbstat)."""
    with sqlite3.connect(db) as connection:
        indexes = dict(connection.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index'"))
        sizes: dict[str, int] = {}
        for name, size in connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = indexes.get(name, name)
            sizes[table] = sizes.get(table, 0) + size
    return sizes


def growth(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in after
            if after.get(name, 0) != before.get(name, 0)}


def text_quality(db: Path, expected: dict[str, str], base: str) -> dict:
    """Every report page's stored text holds its own sentence, simplified, without ruby
    debris, mojibake or chrome."""
    bad = []
    with sqlite3.connect(db) as connection:
        texts = {url: text for url, text in connection.execute("SELECT url, text FROM reports")}
    for path, marker in expected.items():
        text = texts.get(base + path)
        if text is None or marker not in text or "\ufffd" in text or "(bào)" in text \
                or "報" in text or "開" in text or "网站标识码" in text or "政府信息公开指南" in text:
            bad.append(path)
    return {"reports": len(expected), "good": len(expected) - len(bad), "bad_examples": bad[:5]}


def summary(name: str, target: str, unit: str, values: list[float], *, met=None, detail=None,
            peak_rss_mb=None) -> dict:
    return {"measurement": name, "target": target, "unit": unit, "runs": values,
            "median": statistics.median(values) if values else None,
            "min": min(values) if values else None, "max": max(values) if values else None,
            "peak_rss_mb": peak_rss_mb, "met": met, "detail": detail or {}}


def run(work: Path, *, agencies: int = 200, reports: int = 10, repeats: int = 3,
        rss_pages: tuple[int, ...] = (600, 9600), prefer_nginx: bool = True, log=print) -> tuple[list[dict], str]:
    """All crawl measurements; returns (rows, server kind)."""
    results: list[dict] = []
    portal_dir = work / "portal"
    portal = build(portal_dir, agencies, reports)
    log(f"portal: {agencies} agencies x {reports} reports, {len(portal.urls)} files in {portal_dir}")
    with Server(portal_dir, prefer_nginx=prefer_nginx) as server:
        log(f"served by {server.kind} at {server.base}")
        config = portal.write_registry(work / "agencies.yaml", server.base)
        first, bare, middle, again, steady = [], [], [], [], []
        quality = None
        for attempt in range(repeats):
            db = work / f"first-{attempt}.db"
            db.unlink(missing_ok=True)
            first.append(nianbao_crawl(config, db, EVERY_CRAWL))
            rows_file = work / "fetched.json"
            rows_file.write_text(json.dumps(fetched_rows(db)))
            bare.append(baseline_crawl(rows_file, work))
            middle_db = work / f"middlewares-{attempt}.db"
            middle_db.unlink(missing_ok=True)
            middle.append(baseline_crawl(rows_file, work, middlewares=(config, middle_db)))
            if quality is None:
                quality = text_quality(db, portal.expected, server.base)
            sizes = [table_bytes(db)]
            again.append(nianbao_crawl(config, db, EVERY_CRAWL))
            sizes.append(table_bytes(db))
            steady.append(nianbao_crawl(config, db, STEADY))
            sizes.append(table_bytes(db))
            if attempt == 0:
                store_sizes = {"after_first_crawl": sizes[0], "recheck_all_growth": growth(sizes[0], sizes[1]),
                               "steady_growth": growth(sizes[1], sizes[2])}
            log(f"  run {attempt + 1}/{repeats}: first {first[-1]['pages_per_s']:.1f} pages/s, bare "
                f"{bare[-1]['pages_per_s']:.1f}, middlewares {middle[-1]['pages_per_s']:.1f}; re-crawl "
                f"{again[-1]['elapsed']:.1f}s vs {first[-1]['elapsed']:.1f}s, steady {steady[-1]['elapsed']:.1f}s")
        results.append(summary(
            "store growth per agency per unchanged crawl", "(for the bytes per agency per year)", "bytes",
            [sum(store_sizes["recheck_all_growth"].values()) / agencies,
             sum(store_sizes["steady_growth"].values()) / agencies],
            detail={"agencies": agencies, **store_sizes}))
        med = lambda runs, key: statistics.median(r[key] for r in runs)  # noqa: E731
        ratio = med(first, "pages_per_s") / med(bare, "pages_per_s")
        results.append(summary(
            "first crawl vs bare Scrapy spider (pages/s)", ">= 0.60x", "pages/s",
            [r["pages_per_s"] for r in first], met=ratio >= 0.60,
            peak_rss_mb=max(r["peak_rss_mb"] for r in first),
            detail={"ratio": ratio, "bare_pages_per_s": [r["pages_per_s"] for r in bare],
                    "pages": first[0]["pages"], "text_quality": quality,
                    "middlewares_only_ratio": med(middle, "pages_per_s") / med(bare, "pages_per_s"),
                    "nianbao_vs_middlewares_only": med(first, "pages_per_s") / med(middle, "pages_per_s")}))
        results.append(summary(
            "bare spider with nianbao's middlewares (pages/s)", "(reference)", "pages/s",
            [r["pages_per_s"] for r in middle],
            detail={"ratio_to_bare": med(middle, "pages_per_s") / med(bare, "pages_per_s")}))
        for label, runs, note in (("every known report re-checked", again, EVERY_CRAWL),
                                  ("production rotation, steady state", steady, STEADY)):
            wall_ratio = med(runs, "elapsed") / med(first, "elapsed")
            bytes_ratio = med(runs, "bytes") / med(first, "bytes")
            versions = max(r["versions"] for r in runs)
            findings = max(r["findings"] for r in runs)
            results.append(summary(
                f"unchanged re-crawl vs first crawl ({label})", "<= 0.15x wall, <= 0.05x bytes, 0 versions, 0 findings",
                "s", [r["elapsed"] for r in runs],
                met=wall_ratio <= 0.15 and bytes_ratio <= 0.05 and versions == 0 and findings == 0,
                peak_rss_mb=max(r["peak_rss_mb"] for r in runs),
                detail={"wall_ratio": wall_ratio, "bytes_ratio": bytes_ratio, "versions": versions,
                        "findings": findings, "requests": [r["requests"] for r in runs],
                        "not_modified": [r["not_modified"] for r in runs],
                        "bytes": [r["bytes"] for r in runs], "first_bytes": [r["bytes"] for r in first],
                        "settings": note}))
        rss = []
        for pages in rss_pages:
            size_dir = work / f"rss-{pages}"
            size_portal = build(size_dir, max(1, pages // PAGES_PER_AGENCY), reports)
            with Server(size_dir, prefer_nginx=prefer_nginx) as size_server:
                size_config = size_portal.write_registry(work / f"agencies-{pages}.yaml", size_server.base)
                db = work / f"rss-{pages}.db"
                db.unlink(missing_ok=True)
                crawl = nianbao_crawl(size_config, db, EVERY_CRAWL)
            rss.append(crawl["peak_rss_mb"])
            log(f"  RSS at {crawl['pages']} pages: {crawl['peak_rss_mb']:.0f} MB")
        if len(rss) >= 2:
            results.append(summary(
                f"crawl peak RSS, {rss_pages[0]} -> {rss_pages[-1]} pages", "stays flat (<= 1.25x)", "MB", rss,
                met=rss[-1] <= 1.25 * rss[0], peak_rss_mb=max(rss), detail={"pages": list(rss_pages),
                                                                          "ratio": rss[-1] / rss[0]}))
        return results, server.kind

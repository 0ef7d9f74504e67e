"""The national scale: `nianbao check` over 150,000 agencies x 18 years, on one machine.

Builds a synthetic store shaped like a national one (every agency with a report for nearly
every year since its start; some late, some missing, some undated, hosted by another agency,
or a work plan beside the report; one complete crawl after the last deadline; a few sites
failing three crawls in a row) and its 150,000-agency registry YAML, then measures what a
user waits for:

- `nianbao check` (steady state: the second and later runs, findings already raised): wall
  time and peak RSS of the child process. Target <= 3 s, <= 500 MB.
- `nianbao check --json`: the same, printing every row. Target: the same bounds.
- registry load: `load_registry` in a fresh process, from the compiled cache (and once
  without it, for the cold cost). Target <= 2 s.
- `SELECT * FROM coverage WHERE year = 2020` on the store. Target <= 1 s.

Texts are short and no raw page is stored, so the store stays under a few GB (about 1.5 GB
at full size) and builds in a few minutes. Sizes are parameters: the smoke variant in the
tests uses a couple of hundred agencies. Nothing here is asserted: `met` says whether a
target was met in this run.

    python -m nianbao.bench.national [--agencies N] [--years N] [--repeats N] [--workdir DIR]

"Before" (issue 10, the same machine type, before this work): check 145 s / 4.4 GB, check
--json 235 s / 12.5 GB, registry load 23 s, the coverage query 10.8 s.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nianbao.config.deadlines import deadline_for
from nianbao.monitor.findings import today
from nianbao.storage import Store

# What the issue measured before this work, shown in each measurement's detail.
BEFORE = {
    "check": "before: 145 s, 4.4 GB peak RSS",
    "check --json": "before: 235 s, 12.5 GB peak RSS",
    "check --jsonl": "new output (no before)",
    "registry load (cached)": "before: 23 s (YAML parsing 21 s)",
    "registry load (cold, no cache)": "before: 23 s",
    "coverage WHERE year = 2020": "before: 10.8 s",
}
PROVINCES = ("安徽省", "江苏省", "浙江省", "广东省", "四川省", "河南省", "山东省", "湖北省")
DEPARTMENTS = ("民政局", "财政局", "教育局", "公安局", "住房和城乡建设局", "交通运输局", "卫生健康委员会",
               "自然资源局", "生态环境局", "市场监督管理局", "人力资源和社会保障局", "农业农村局")
TEXT = ("本报告根据《中华人民共和国政府信息公开条例》编制，全文包括总体情况、主动公开政府信息情况、"
        "收到和处理政府信息公开申请情况等。")
HOSTS_PER_AGENCY = 40  # about 150,000 agencies on a few thousand hosts


def _utc(day: datetime.date, hour: int = 2) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


# -- building ----------------------------------------------------------------------------------


def agency_ids(agencies: int) -> list[str]:
    return [f"a{n:06d}" for n in range(agencies)]


def agency_fields(n: int, first_year: int) -> dict:
    """The registry entry of agency n (deterministic: the store and the YAML agree)."""
    province = PROVINCES[n % len(PROVINCES)]
    city = f"第{n // 60 % 997 + 1}市"
    government = n % 13 == 0
    name = f"{city}人民政府" if government else f"{city}{DEPARTMENTS[n % len(DEPARTMENTS)]}{n}"
    host = f"www{n // HOSTS_PER_AGENCY}.example.gov.cn"
    entry = {
        "id": f"a{n:06d}",
        "name": name,
        "kind": "government" if government else "department",
        "region": f"{province}{city}",
        # most agencies report from the first year; one in ten started later
        "start_year": first_year if n % 10 else min(first_year + n % 7, today().year - 1),
        "sources": [f"http://{host}/col/col{n}/index.html"],
    }
    if n % 97 == 0:
        entry["deadline"] = "04-30"  # a local rule
    return entry


def write_registry(path: Path, agencies: int, first_year: int) -> None:
    """The registry YAML, written by hand (yaml.dump of 150,000 entries takes minutes)."""
    with path.open("w", encoding="utf-8") as out:
        out.write("# synthetic national registry (bench/national.py)\nagencies:\n")
        for n in range(agencies):
            e = agency_fields(n, first_year)
            out.write(f"  - id: {e['id']}\n    name: {e['name']}\n    kind: {e['kind']}\n"
                      f"    region: {e['region']}\n    start_year: {e['start_year']}\n"
                      f"    sources:\n      - {e['sources'][0]}\n")
            if "deadline" in e:
                out.write(f"    deadline: \"{e['deadline']}\"\n")


def build_store(path: Path, agencies: int, years: int, seed: int = 10) -> dict:
    """The synthetic national store; returns counts of what it holds.

    Years: the `years` years before this one (in China). Per agency and year: a report on
    time (most), late (about 1 in 10), none (about 1 in 20), undated (published = first
    seen), counted for another agency (hosted), or two reports of which the earlier counts;
    a work plan ('other') now and then. One complete crawl of every agency after the last
    deadline; 1 agency in 100 failing in the three crawls since.
    """
    rng = random.Random(seed)
    this_year = today().year
    first_year = this_year - years
    with Store(path):  # the schema, by the migrations
        pass
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA foreign_keys = OFF")
    ids = agency_ids(agencies)
    now = _utc(today())
    counts = {"agencies": agencies, "reports": 0, "annual_reports": 0}
    with db:
        db.executemany(
            "INSERT INTO agencies (id, name, kind, region, start_year, sources, deadline, "
            "in_registry, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
            ((e["id"], e["name"], e["kind"], e["region"], e["start_year"],
              json.dumps(e["sources"]), e.get("deadline"), now)
             for e in (agency_fields(n, first_year) for n in range(agencies))))
        crawl_day = datetime.date(this_year, 5, 1)  # after every deadline of last year
        db.execute("INSERT INTO crawls (id, started_at, finished_at, agency_ids, finish_reason) "
                   "VALUES (1, ?, ?, ?, 'finished')",
                   (_utc(crawl_day), _utc(crawl_day, 20), json.dumps(ids)))
        db.executemany(
            "INSERT INTO crawl_agencies (crawl_id, agency_id, started_at, finished_at, "
            "finish_reason, listing_fetches, listing_errors, outcome) "
            "VALUES (1, ?, ?, ?, 'finished', 1, 0, 'ok')",
            ((i, _utc(crawl_day), _utc(crawl_day, 20)) for i in ids))
        failing = ids[::100]
        for crawl_id in (2, 3, 4):
            day = crawl_day + datetime.timedelta(days=crawl_id * 30)
            db.execute("INSERT INTO crawls (id, started_at, finished_at, agency_ids, "
                       "finish_reason) VALUES (?, ?, ?, ?, 'finished')",
                       (crawl_id, _utc(day), _utc(day, 20), json.dumps(failing)))
            db.executemany(
                "INSERT INTO crawl_agencies (crawl_id, agency_id, started_at, finished_at, "
                "finish_reason, listing_fetches, listing_errors, outcome, note) "
                "VALUES (?, ?, ?, ?, 'finished', 1, 1, 'errors', 'listing answered 503')",
                ((crawl_id, i, _utc(day), _utc(day, 20)) for i in failing))

        def reports():
            report_id = 0
            for n, agency_id in enumerate(ids):
                fields = agency_fields(n, first_year)
                for year in range(fields["start_year"], this_year):
                    roll = rng.random()
                    if roll < 0.05:
                        continue  # missing
                    due = deadline_for(fields["kind"], year, fields.get("deadline"))
                    late = roll < 0.15
                    published = due + datetime.timedelta(days=rng.randint(1, 200) if late
                                                         else -rng.randint(0, 80))
                    first_seen = published + datetime.timedelta(days=rng.randint(0, 3))
                    undated = roll > 0.98
                    hosted = 0.97 < roll <= 0.98 and n + 1 < agencies
                    host_id = ids[n + 1] if hosted else agency_id
                    report_id += 1
                    yield (report_id, host_id, year, "annual_report",
                           f"{year}年政府信息公开工作年度报告", f"http://x/{agency_id}/{year}.html",
                           None if undated else published.isoformat(),
                           None if undated else "printed", _utc(first_seen), now,
                           TEXT, agency_id, "title", year)
                    if 0.96 < roll <= 0.965:  # a later repost: the earlier one counts
                        report_id += 1
                        yield (report_id, agency_id, year, "annual_report",
                               f"{year}年度政府信息公开工作报告(转载)",
                               f"http://x/{agency_id}/{year}-repost.html",
                               (published + datetime.timedelta(days=9)).isoformat(), "printed",
                               _utc(first_seen + datetime.timedelta(days=9)), now, TEXT,
                               agency_id, "title", year)
                    if roll > 0.995:  # a work plan is no report
                        report_id += 1
                        yield (report_id, agency_id, year, "other", f"{year}年政务公开工作要点",
                               f"http://x/{agency_id}/{year}-plan.html", None, None,
                               _utc(first_seen), now, TEXT, agency_id, None, year)

        # The search index is built once at the end ('rebuild' in bulk) instead of row by row
        # by the insert trigger: about 5x faster to build, the same index.
        (index_trigger,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'reports_ai'").fetchone()
        db.execute("DROP TRIGGER reports_ai")
        for pass_row in reports():
            db.execute(
                "INSERT INTO reports (id, agency_id, year, kind, title, url, published_date, "
                "published_basis, first_seen, last_seen, text, counts_for, year_basis, "
                "title_year, status, current_version, content_hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'live', 1, ?)",
                (*pass_row, hashlib.sha1(str(pass_row[0]).encode()).hexdigest()))
            counts["reports"] += 1
            counts["annual_reports"] += pass_row[3] == "annual_report"
        db.execute("INSERT INTO reports_fts (reports_fts) VALUES ('rebuild')")
        db.execute(index_trigger)

    db.close()
    counts["bytes"] = path.stat().st_size
    return counts


# -- measuring ---------------------------------------------------------------------------------


def run_child(args: list[str], stdout=subprocess.DEVNULL) -> tuple[float, float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of the child, its CPU seconds:
    user + system, which a machine shared with other work inflates less than wall time)."""
    started = time.perf_counter()
    process = subprocess.Popen(args, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {process.returncode}: "
                           f"{process.stderr.read().decode(errors='replace')[-2000:]}")
    process.stderr.close()
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def summary(measurement: str, target: str, unit: str, runs: list[float],
            peaks: list[float] | None, limit: float, rss_limit: float | None,
            detail: str) -> dict:
    peak = max(peaks) if peaks else None
    met = statistics.median(runs) <= limit and (rss_limit is None or peak <= rss_limit)
    return {"measurement": measurement, "target": target, "unit": unit,
            "runs": [round(r, 3) for r in runs], "median": round(statistics.median(runs), 3),
            "min": round(min(runs), 3), "max": round(max(runs), 3),
            "peak_rss_mb": None if peak is None else round(peak, 1), "met": met,
            "detail": f"{detail}; {BEFORE.get(measurement, '')}".rstrip("; ")}


REGISTRY_LOAD = """
import sys, time
from nianbao.config import registry
started, cpu = time.perf_counter(), time.process_time()
loaded = registry.load_registry(sys.argv[1])
print(time.perf_counter() - started, len(loaded.agencies), time.process_time() - cpu)
"""


def measure(workdir: Path, config: Path, db: Path, repeats: int, years: int) -> list[dict]:
    python = sys.executable
    env_cache = workdir / "registry-cache"
    os.environ["NIANBAO_CACHE_DIR"] = str(env_cache)
    results = []

    # Registry load: once cold (no cache: parse + validate + write the cache), then cached.
    cold = []
    for _ in range(1):
        for old in env_cache.glob("*"):
            old.unlink()
        out = subprocess.run([python, "-c", REGISTRY_LOAD, str(config)], check=True,
                             capture_output=True, text=True).stdout.split()
        cold.append(float(out[0]))
    results.append(summary("registry load (cold, no cache)", "(no target: once per registry "
                           "change)", "s", cold, None, float("inf"), None,
                           f"{out[1]} agencies, {config.stat().st_size / 1e6:.0f} MB YAML, "
                           "in-process time"))
    warm_runs = [subprocess.run([python, "-c", REGISTRY_LOAD, str(config)], check=True,
                                capture_output=True, text=True).stdout.split()
                 for _ in range(repeats)]
    warm = [float(run[0]) for run in warm_runs]
    results.append(summary("registry load (cached)", "<= 2 s", "s", warm, None, 2.0, None,
                           "load_registry in a fresh process, compiled cache present; CPU "
                           f"median {statistics.median(float(r[2]) for r in warm_runs):.1f} s"))

    base = [python, "-m", "nianbao", "check", "--config", str(config), "--db", str(db)]
    # The first run syncs the registry and raises the findings; the steady state is the next.
    first = run_child(base)  # (wall, peak RSS, CPU)
    for name, extra in (("check", []), ("check --json", ["--json"]),
                        ("check --jsonl", ["--jsonl"])):
        walls, peaks, cpus = [], [], []
        for _ in range(repeats):
            wall, peak, cpu = run_child(base + extra)
            walls.append(wall)
            peaks.append(peak)
            cpus.append(cpu)
        detail = (f"steady state, whole process (interpreter start included); CPU (user+sys) "
                  f"median {statistics.median(cpus):.1f} s; load average at start "
                  f"{os.getloadavg()[0]:.1f}")
        if name == "check":
            detail += f"; first run (registry sync, findings raised): {first[0]:.1f} s, " \
                      f"{first[1]:.0f} MB"
        results.append(summary(name, "<= 3 s, <= 500 MB", "s", walls, peaks, 3.0, 500.0, detail))

    connection = sqlite3.connect(db)
    year = today().year - min(years, 6)  # 2020 when run in 2026
    runs, rows, cpus = [], 0, []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        rows = len(connection.execute("SELECT * FROM coverage WHERE year = ?", (year,)).fetchall())
        runs.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    connection.close()
    results.append(summary(f"coverage WHERE year = {year}" if year != 2020
                           else "coverage WHERE year = 2020", "<= 1 s", "s", runs, None, 1.0,
                           None, f"{rows} rows, fetched in full; CPU median "
                           f"{statistics.median(cpus):.2f} s"))
    return results


def run(workdir: Path, agencies: int = 150_000, years: int = 18, repeats: int = 3) -> list[dict]:
    """Build the synthetic national store and registry in `workdir` (reused when present with
    the same sizes) and measure; one dict per measurement (see the module docstring)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"agencies-{agencies}.yaml"
    db = workdir / f"national-{agencies}x{years}.db"
    built = workdir / f"national-{agencies}x{years}.built"
    results = []
    if not built.exists():
        for stale in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            stale.unlink(missing_ok=True)
        started = time.perf_counter()
        write_registry(config, agencies, today().year - years)
        counts = build_store(db, agencies, years)
        took = time.perf_counter() - started
        built.write_text(json.dumps(counts))
        results.append({"measurement": "build the synthetic store", "target": "minutes",
                        "unit": "s", "runs": [round(took, 1)], "median": round(took, 1),
                        "min": round(took, 1), "max": round(took, 1), "peak_rss_mb": None,
                        "met": None, "detail": f"{counts['reports']} reports, "
                        f"{counts['bytes'] / 1e9:.2f} GB store"})
    return results + measure(workdir, config, db, repeats, years)


def table(results: list[dict]) -> str:
    lines = ["| measurement | median | min | max | peak RSS | target | met | detail |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rss = "" if r["peak_rss_mb"] is None else f"{r['peak_rss_mb']:.0f} MB"
        lines.append(f"| {r['measurement']} | {r['median']} {r['unit']} | {r['min']} | "
                     f"{r['max']} | {rss} | {r['target']} | {r['met']} | {r['detail']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nianbao.bench.national",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--agencies", type=int, default=150_000)
    parser.add_argument("--years", type=int, default=18)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the store and registry are built (default: a temporary "
                             "directory, removed afterwards)")
    args = parser.parse_args(argv)
    if args.workdir is None:
        with tempfile.TemporaryDirectory(prefix="nianbao-national-") as tmp:
            results = run(Path(tmp), args.agencies, args.years, args.repeats)
    else:
        results = run(args.workdir, args.agencies, args.years, args.repeats)
    print(table(results))


if __name__ == "__main__":
    main()

"""`make bench`: speed and memory of the hot paths, as ratios measured in one run.

    python -m nianbao.bench [--agencies 200] [--reports 10] [--repeats 3] [--rss-pages 600,9600]
                            [--national-agencies 150000] [--no-nginx] [--smoke] [--out bench/results]

Prints median/min/max and ratios, writes JSON to bench/results/ (see bench/README.md). The
crawl measurements (bench/crawl_bench.py) serve a generated portal (bench/portal.py) with
nginx (bench/serve.py); the national-scale `check` measurements come from
bench/national.py when it is present (`run(workdir, agencies, years, repeats)`).

Absolute seconds depend on the machine; ratios against a baseline measured in the same run do
not (much). Targets are stated next to each measurement; nothing here is asserted in tests.

1. extraction: `extract_report` (container or trafilatura, checks, cleanup, OpenCC) against
   bare `trafilatura.extract` on the same real pages. Target: <= 2.0x.
2. storage: `record_report` of an unchanged report (the common case of a re-crawl) against a
   bare `log_fetch` row. Target: <= 5x.
0. memory: peak RSS growth while extracting 2,000 pages after a warm-up. Target: < 50 MB.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import trafilatura

from nianbao.crawler.extract import extract_report
from nianbao.storage import AgencyRecord, ReportFetch, Store, utc_now

PAGES = Path(__file__).resolve().parent.parent / "tests" / "files" / "real-pages"


def timed(fn, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def real_pages() -> list[tuple[str, str]]:
    pages = []
    for path in sorted(PAGES.glob("*.html")):
        raw = path.read_bytes()
        pages.append((path.name, raw.decode("utf-8", errors="strict")))
    return pages


def bench_extraction(repeat: int = 20) -> dict:
    print("1. extraction (per page, mean of", repeat, "runs)")
    ratios = []
    for name, html in real_pages():
        url = f"http://example.gov.cn/{name}"
        base = timed(lambda: trafilatura.extract(html, url=url, include_tables=True), repeat)
        ours = timed(lambda: extract_report(html, url), repeat)
        ratios.append(ours / base)
        print(f"   {name:32} trafilatura {base * 1000:7.1f} ms  nianbao {ours * 1000:7.1f} ms  "
              f"ratio {ours / base:4.2f}x  (target <= 2.0x)")
    return _row("extraction vs bare trafilatura (per page)", "<= 2.0x", "x", ratios,
                met=statistics.median(ratios) <= 2.0 if ratios else None)


def bench_storage(n: int = 2000) -> dict:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "nianbao.bench.db") as store:
        store.agencies.sync([AgencyRecord("bench", "基准局", "department", None, 2019, ("http://x/",))])
        crawl = store.crawls.start(["bench"])
        text = "政府信息公开工作年度报告。" * 400
        fetch = ReportFetch(agency_id="bench", url="http://x/r.html", title="2019年报", text=text,
                            kind="annual_report", year=2019, published_date="2020-01-20",
                            raw_page=text.encode() * 3, raw_encoding="utf-8", fetched_at=utc_now(),
                            crawl_id=crawl)
        store.history.record_report(fetch)
        log = timed(lambda: store.crawls.log_fetch(crawl_id=crawl, agency_id="bench", url="http://x/",
                                            status=200, error=None), n)
        unchanged = timed(lambda: store.history.record_report(fetch), n)
    print("2. storage (per call)")
    print(f"   log_fetch {log * 1e6:7.0f} us  record_report(unchanged) {unchanged * 1e6:7.0f} us  "
          f"ratio {unchanged / log:4.1f}x  (target <= 5x)")
    return _row("record_report(unchanged) vs log_fetch", "<= 5x", "x", [unchanged / log],
                met=unchanged / log <= 5, detail={"log_fetch_us": log * 1e6, "record_report_us": unchanged * 1e6})


def bench_memory(n: int = 2000, warm_up: int = 50) -> dict:
    """Run first: ru_maxrss is a peak, so growth after a warm-up shows leaks per page."""
    pages = real_pages()
    for i in range(warm_up):
        name, html = pages[i % len(pages)]
        extract_report(html, f"http://example.gov.cn/warm/{i}/{name}")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(n):
        name, html = pages[i % len(pages)]
        extract_report(html, f"http://example.gov.cn/{i}/{name}")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    grown = (after - before) / 1024
    print(f"0. memory: peak RSS grew {grown:.1f} MB over {n} extractions "
          f"after {warm_up} warm-up ones (target < 50 MB)")
    return _row(f"extraction memory growth over {n} pages", "< 50 MB", "MB", [grown], met=grown < 50,
                peak_rss_mb=after / 1024)


def _row(name, target, unit, values, *, met=None, detail=None, peak_rss_mb=None) -> dict:
    return {"measurement": name, "target": target, "unit": unit, "runs": values,
            "median": statistics.median(values) if values else None,
            "min": min(values) if values else None, "max": max(values) if values else None,
            "peak_rss_mb": peak_rss_mb, "met": met, "detail": detail or {}}


def national(work: Path, agencies: int, years: int, repeats: int) -> list[dict]:
    """The national-scale `check`, coverage and registry measurements (bench/national.py),
    when that module is present."""
    try:
        module = importlib.import_module("nianbao.bench.national")
    except ModuleNotFoundError as exc:
        if exc.name != "nianbao.bench.national":
            raise
        print("   (bench/national.py is not in this tree: national measurements skipped)")
        return []
    return module.run(work, agencies=agencies, years=years, repeats=repeats)


def machine() -> dict:
    cpus = os.cpu_count()
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = ""
    try:
        memory = next(line.split(":", 1)[1].strip() for line in open("/proc/meminfo")
                      if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        pass
    return {"cpus": cpus, "cpu": model, "memory": memory, "python": platform.python_version(),
            "system": platform.platform()}


def print_table(rows: list[dict]) -> None:
    print()
    print(f"{'measurement':62} {'median':>10} {'min':>10} {'max':>10}  {'target':30} met")
    for row in rows:
        fmt = lambda v: "-" if v is None else f"{v:10.3g}"  # noqa: E731
        # the crawl rows' detail is a dict (ratios), the national rows' a sentence
        detail = row["detail"] if isinstance(row["detail"], dict) else {}
        ratio = detail.get("ratio") or detail.get("wall_ratio")
        extra = f"  ratio {ratio:.2f}x" if isinstance(ratio, float) else ""
        if "bytes_ratio" in detail:
            extra += f", bytes {detail['bytes_ratio']:.3f}x"
        print(f"{row['measurement'][:62]:62} {fmt(row['median'])} {fmt(row['min'])} {fmt(row['max'])}  "
              f"{row['target'][:30]:30} {row['met']}{extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nianbao.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=200, help="agencies of the crawl portal")
    parser.add_argument("--reports", type=int, default=10, help="reports per agency")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side of each comparison")
    parser.add_argument("--rss-pages", default="600,9600", help="portal sizes (pages) of the RSS measurement")
    parser.add_argument("--national-agencies", type=int, default=150_000)
    parser.add_argument("--national-years", type=int, default=18)
    parser.add_argument("--no-nginx", action="store_true", help="serve with Python's threaded server")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one run each: checks the harness works, measures nothing")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--skip", default="", help="comma-separated: micro,crawl,national")
    args = parser.parse_args(argv)
    if args.smoke:
        args.agencies, args.reports, args.repeats = 5, 4, 1
        args.rss_pages, args.national_agencies, args.national_years = "24,48", 300, 3
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    started = time.perf_counter()
    rows: list[dict] = []
    server = None
    if "micro" not in skip:
        n = 100 if args.smoke else 2000
        rows.append(bench_memory(n=n, warm_up=10 if args.smoke else 50))
        rows.append(bench_extraction(repeat=2 if args.smoke else 20))
        rows.append(bench_storage(n=100 if args.smoke else 2000))
    with tempfile.TemporaryDirectory(prefix="nianbao-bench-") as tmp:
        work = Path(tmp)
        if "crawl" not in skip:
            from nianbao.bench.crawl_bench import run as crawl_run

            print("3. crawls")
            crawl_rows, server = crawl_run(
                work / "crawl", agencies=args.agencies, reports=args.reports, repeats=args.repeats,
                rss_pages=tuple(int(p) for p in args.rss_pages.split(",")), prefer_nginx=not args.no_nginx)
            rows.extend(crawl_rows)
        if "national" not in skip:
            print("4. national scale")
            (work / "national").mkdir()
            rows.extend(national(work / "national", args.national_agencies, args.national_years, args.repeats))
    result = {"ran_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "machine": machine(), "server": server, "smoke": args.smoke,
              "arguments": vars(args), "seconds": time.perf_counter() - started, "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = ("smoke-" if args.smoke else "bench-") + result["ran_at"].replace(":", "") + ".json"
    (out / name).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    print_table(rows)  # after the JSON is written: a long run is never lost to the printing
    print(f"\nwritten to {out / name} ({result['seconds']:.0f} s; server: {server})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

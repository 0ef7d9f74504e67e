"""`make bench`: speed and memory of the hot paths, as ratios measured in one run.

Absolute seconds depend on the machine; ratios against a baseline measured in the same run do
not (much). Targets are stated next to each measurement; nothing here is asserted in tests.

1. extraction: `extract_report` (container or trafilatura, checks, cleanup, OpenCC) against
   bare `trafilatura.extract` on the same real pages. Target: <= 2.0x.
2. storage: `record_report` of an unchanged report (the common case of a re-crawl) against a
   bare `log_fetch` row. Target: <= 5x.
0. memory: peak RSS growth while extracting 2,000 pages after a warm-up. Target: < 50 MB.
"""

from __future__ import annotations

import resource
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


def bench_extraction(repeat: int = 20) -> None:
    print("1. extraction (per page, mean of", repeat, "runs)")
    for name, html in real_pages():
        url = f"http://example.gov.cn/{name}"
        base = timed(lambda: trafilatura.extract(html, url=url, include_tables=True), repeat)
        ours = timed(lambda: extract_report(html, url), repeat)
        print(f"   {name:32} trafilatura {base * 1000:7.1f} ms  nianbao {ours * 1000:7.1f} ms  "
              f"ratio {ours / base:4.2f}x  (target <= 2.0x)")


def bench_storage(n: int = 2000) -> None:
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


def bench_memory(n: int = 2000, warm_up: int = 50) -> None:
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
    print(f"0. memory: peak RSS grew {(after - before) / 1024:.1f} MB over {n} extractions "
          f"after {warm_up} warm-up ones (target < 50 MB)")


if __name__ == "__main__":
    bench_memory()
    bench_extraction()
    bench_storage()

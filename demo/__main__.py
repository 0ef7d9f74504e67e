"""`python -m demo` (what `make demo` runs): serve the demo portal on 127.0.0.1 and crawl it.

Everything stays on this machine. The database is kept between runs (in demo-output/), so a
second run shows what a re-crawl of unchanged sites does: nothing new, no new versions.
Pass --fresh to start from an empty database.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nianbao.demo.portal import DemoPortal

# The portal is one host on loopback, so per-host politeness would only make the demo slow.
DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "DOWNLOAD_TIMEOUT": 10,
    "RETRY_TIMES": 1,
    "NIANBAO_RETRY_BACKOFF_BASE": 0.2,
    "LOG_LEVEL": "WARNING",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output", help="folder for the registry and database")
    parser.add_argument("--fresh", action="store_true", help="delete the demo database first")
    # A fixed port: reports are identified by URL, so a second run must see the same URLs.
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    args = parser.parse_args()
    run_demo(Path(args.out), fresh=args.fresh, port=args.port)


def run_demo(out: Path, *, fresh: bool = False, port: int = 8765) -> None:
    """Serve the portal, crawl it once, print what was found (`make demo`, `nianbao demo`)."""
    db = out / "nianbao.db"
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    from nianbao.crawler.runner import crawl_settings, run_crawl
    from nianbao.monitor.crawl_cmd import print_crawl_summary
    from nianbao.storage import Store

    try:
        portal = DemoPortal(port=port)
    except OSError as exc:
        raise SystemExit(f"demo: cannot listen on 127.0.0.1:{port} ({exc.strerror}); try --port N")
    with portal:
        config = portal.write_registry(out / "agencies.yaml")
        print(f"Demo portal serving {len(portal.site.pages)} pages at {portal.base_url} "
              f"({len(portal.site.agencies)} agencies); registry: {config}")
        started = time.monotonic()
        crawl_id = run_crawl(crawl_settings(config, db, DEMO_SETTINGS))
        elapsed = time.monotonic() - started

    print_crawl_summary(db, crawl_id)
    with Store(db) as store:
        rows = store.db.execute(
            "SELECT agency_id, year, kind, status, published_date, title FROM reports "
            "ORDER BY agency_id, year DESC"
        ).fetchall()
        pages = store.db.execute(
            "SELECT count(*) FROM fetch_log WHERE crawl_id = ?", [crawl_id]
        ).fetchone()[0]
        versions = store.db.execute("SELECT count(*) FROM versions").fetchone()[0]
    print(f"\n{len(rows)} reports in the store ({versions} versions); this crawl made "
          f"{pages} requests in {elapsed:.1f} s.")
    for agency_id, year, kind, status, published, title in rows:
        print(f"  {agency_id:12} {year or '????'} {kind:13} {status:7} {published or '':10}  {title}")
    # What the monitor makes of it: which reports are on time, late or missing.
    print()
    from nianbao.monitor.check_cmd import check

    check.main(["--config", str(config), "--db", str(db)], standalone_mode=False)
    print(f"\nBrowse it (read-only Datasette: coverage picture, Chinese search, diffs):\n"
          f"  .venv/bin/nianbao serve --db {db}\n"
          f"  .venv/bin/nianbao stats --db {db} --agency demo-stats")


if __name__ == "__main__":
    main()

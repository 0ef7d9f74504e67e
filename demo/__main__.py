"""`python -m demo` (what `make demo` runs): serve the demo portal on 127.0.0.1 and crawl it.

Everything stays on this machine. The database is kept between runs (in demo-output/), so a
second run shows what a re-crawl of unchanged sites does: nothing new, no new versions.
Pass --fresh to start from an empty database.

The redesign scenario (demo/redesign.py): on a first run (an empty database) the demo crawls
once, prints the `check` matrix, redesigns demo-redesign's site (new layout, every URL moved,
the old ones 404), and crawls twice more: the first sees the old report column fail (held: one
failure is no redesign yet), the second finds the new column (`column_moved`) and every
report at its new URL (`moved`, never `removed`). Later runs serve the redesigned site.
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
    first_run = not _has_crawls(db)
    with portal:
        config = portal.write_registry(out / "agencies.yaml")
        print(f"Demo portal serving {len(portal.site.pages)} pages at {portal.base_url} "
              f"({len(portal.site.agencies)} agencies); registry: {config}")
        if first_run:
            _child_crawl(config, db)
            print("\nBefore the redesign of demo-redesign's site:")
            _check(config, db)
        portal.redesign()
        if first_run:
            print("\ndemo-redesign's site is redesigned (new layout, every URL moved); crawling twice:")
            _child_crawl(config, db)  # the old column fails once: held
            _print_held(db)
        started = time.monotonic()
        crawl_id = run_crawl(crawl_settings(config, db, DEMO_SETTINGS))
        elapsed = time.monotonic() - started
        if first_run:
            _print_moves(db)

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
    _check(config, db)
    print(f"\nBrowse it (read-only Datasette: coverage picture, Chinese search, diffs):\n"
          f"  .venv/bin/nianbao serve --db {db}\n"
          f"  .venv/bin/nianbao stats --db {db} --agency demo-stats")


def _child_crawl(config: Path, db: Path) -> None:
    """One crawl in a child process (Twisted's reactor runs once per process)."""
    import subprocess
    import sys

    flags = [f"-s{name}={value}" for name, value in DEMO_SETTINGS.items()]
    subprocess.run([sys.executable, "-m", "nianbao", "crawl", "--config", str(config), "--db", str(db),
                    *flags], check=True, stdout=subprocess.DEVNULL)


def _has_crawls(db: Path) -> bool:
    if not db.exists():
        return False
    from nianbao.storage import Store

    with Store(db) as store:
        return store.db.execute("SELECT count(*) FROM crawls").fetchone()[0] > 0


def _check(config: Path, db: Path) -> None:
    from nianbao.monitor.check_cmd import check

    check.main(["--config", str(config), "--db", str(db)], standalone_mode=False)


def _print_held(db: Path) -> None:
    """After the first crawl of the redesigned site: nothing false, everything held."""
    from nianbao.storage import Store

    with Store(db) as store:
        [column] = [c for c in store.columns.history("demo-redesign") if c["status"] != "replaced"]
        held = [p for p in store.held.pending("demo-redesign") if p["kind"] == "removal"]
        removed = store.db.execute("SELECT count(*) FROM findings WHERE agency_id = 'demo-redesign' "
                                   "AND kind IN ('removed', 'column_moved')").fetchone()[0]
    print(f"  after one crawl: column {column['status']} ({column['failures']} crawl, "
          f"{column['last_failure']}), {len(held)} removals held, {removed} removed/column_moved findings")


def _print_moves(db: Path) -> None:
    """What the redesign left: the columns, and the moved reports (no removals)."""
    from nianbao.storage import Store

    with Store(db) as store:
        print("\nReport columns of demo-redesign:")
        for row in store.columns.history("demo-redesign"):
            print(f"  {row['status']:8} {row['column_url']}  ({row['reason']})")
        for kind, count in store.db.execute(
                "SELECT kind, count(*) FROM findings WHERE agency_id = 'demo-redesign' "
                "GROUP BY kind ORDER BY kind").fetchall():
            print(f"  findings {kind}: {count}")


if __name__ == "__main__":
    main()

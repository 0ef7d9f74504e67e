"""The Store: the one entry point to nianbao's SQLite database.

`Store(path)` opens the file, sets WAL and the other pragmas, applies pending migrations and
offers one small API per concept, all over the same connection:

    store.agencies    the agencies table and the legal deadline_rules
    store.crawls      crawls, crawl_agencies and the fetch_log
    store.history     reports, versions, sightings, removals, restorations, re-extractions
    store.attachments reports' files (stored once by hash) and what reading them gave
    store.held        removals and changed texts held until a later crawl confirms them
    store.columns     report columns discovered under `discover` sources (report_columns)
    store.freshness   validators of report pages, unchanged sightings in batches, the re-check
                      rotation, full passes of listings, retention
    store.coverage    which annual report counts for each agency and year (for check)
    store.findings    findings, each raised once
    store.schedule    the daemon's agency_schedule
    store.deliveries  which finding went to which notification target
    store.heartbeat   the daemon's heartbeat row
    store.stats       the figures of reports' statistical tables and their arithmetic checks

One Store holds one connection; open it once per process and share it (Scrapy runs its
components in one thread). It is not safe to share across threads.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlite_utils import Database

from .agencies import Agencies
from .attachments import Attachments
from .columns import Columns
from .crawls import Crawls
from .db import connect, migrate
from .deliveries import Deliveries
from .findings import Findings
from .heartbeat import Heartbeat
from .coverage_reads import CoverageReads
from .freshness import Freshness
from .held import Held
from .history import History
from .schedule import Schedule
from .stats import Stats


class Store:
    """nianbao's SQLite store. Use as a context manager or call `close()`.

    `db` is the underlying `sqlite_utils.Database` for reads the parts do not cover; write
    through the parts so that history and findings stay consistent.
    """

    db: Database

    def __init__(self, path: str | os.PathLike):
        """path: the SQLite file, e.g. 'data/nianbao.db' (created with its directory)."""
        self.path = Path(path)
        self.db = connect(self.path)
        # Names of the migrations this open applied; empty when the schema was current.
        self.applied_migrations: list[str] = migrate(self.db)
        self.agencies = Agencies(self.db)
        self.crawls = Crawls(self.db)
        self.history = History(self.db)
        self.attachments = Attachments(self.db)
        self.held = Held(self.db, self.history)
        self.columns = Columns(self.db)
        self.freshness = Freshness(self.db)
        self.coverage = CoverageReads(self.db)
        self.findings = Findings(self.db)
        self.schedule = Schedule(self.db)
        self.deliveries = Deliveries(self.db)
        self.heartbeat = Heartbeat(self.db)
        self.stats = Stats(self.db)

    def close(self) -> None:
        """Write the buffered unchanged sightings (store.freshness), close the connection."""
        try:
            self.freshness.flush()
        finally:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

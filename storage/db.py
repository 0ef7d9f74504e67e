"""Opening the database: connection settings and migrations.

WAL lets a Datasette reader and the crawler use the file at the same time: readers see the
last committed state and never block the writer. synchronous=NORMAL is durable against a
killed process (not against power loss, where the last commits may be lost but the file stays
consistent). busy_timeout makes a second writer wait instead of failing at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from .migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000


def connect(path: str | os.PathLike) -> Database:
    """Open (creating the file and its parent directory if needed) with nianbao's pragmas.

    path: the database file. Returns a `sqlite_utils.Database`; no migrations are applied.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # execute_plugins=False: no sqlite-utils plugin hooks run on our connection.
    db = Database(path, execute_plugins=False)
    # These pragmas have no effect inside a transaction, so they come first.
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA journal_mode = wal")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def migrate(db: Database) -> list[str]:
    """Apply pending migrations of the "nianbao" set; return the names applied (often none).

    The check and the whole run hold the write lock (BEGIN IMMEDIATE), so two processes
    opening a new file at once cannot both apply the same step; each step still runs in its
    own savepoint and is recorded in `_sqlite_migrations`.
    """
    if not MIGRATIONS.pending(db):
        return []
    db.execute("BEGIN IMMEDIATE")
    try:
        names = [m.name for m in MIGRATIONS.pending(db)]
        MIGRATIONS.apply(db)
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise
    return names


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One write transaction that takes the write lock at its start (BEGIN IMMEDIATE).

    sqlite-utils' `atomic()` begins DEFERRED: a transaction that reads first and writes later
    fails at once with "database is locked" (busy_timeout cannot help) when another process
    committed in between, e.g. the daemon or `nianbao check` writing during a crawl. Taking
    the lock first makes such a writer wait up to busy_timeout instead. Nested use becomes a
    savepoint, as in `atomic()`.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    try:
        db.execute("COMMIT")
    except BaseException:
        db.rollback()
        raise

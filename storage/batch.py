"""Group commit: a crawl's many small writes committed together, a fraction of a second apart.

A first crawl writes a fetch_log row per request and a transaction per report; committed one
by one they cost the crawl's thread more than the page itself (each commit appends the
changed pages of the table and its indexes to the WAL). `WriteBatch` opens one write
transaction (BEGIN IMMEDIATE) at the first write and commits it after `max_seconds` or
`max_writes` writes, whichever comes first; every write of the store's parts joins it (a
part's own transaction becomes a savepoint: it stays all or nothing inside the batch).

What a killed crawl leaves: the store as it was at the last commit, consistent (every
transaction in SQLite is), with at most the last `max_seconds` of the crawl's writes missing.
Nothing missing can become a false finding: a crawl that did not finish never counts as
complete (crawls.COMPLETE, held.settle), so missing fetch_log rows, sightings or evidence of
removals only mean less was seen; a report not stored is new again next time.

A transaction destroyed by an error (disk full, I/O error) would lose a whole batch silently:
`lost` becomes True and BatchLost is raised, and the crawl then finishes as 'failed' so that
nothing it did not write can make it look complete.

Other writers (the daemon, `nianbao check`) wait for the lock up to busy_timeout; after each
commit the batch stays closed for `pause` seconds (writes then commit one by one, as without a
batch), so that a waiting writer finds the lock free.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from .errors import StorageError


class BatchLost(StorageError):
    """The batch's transaction was rolled back by an error: its writes are gone."""


class WriteBatch:
    def __init__(self, db: Database, *, max_seconds: float, max_writes: int = 1000,
                 pause: float = 0.05):
        self.db = db
        self.max_seconds = max_seconds
        self.max_writes = max_writes
        self.pause = pause
        self.lost = False
        self.closed = max_seconds <= 0  # 0: no batching, every write commits on its own
        self._opened_at: float | None = None
        self._committed_at = float("-inf")
        self._writes = 0

    @property
    def open(self) -> bool:
        return self._opened_at is not None

    @contextmanager
    def write(self) -> Iterator[None]:
        """Around one logical write (a fetch_log row, a report): joins the open batch, opens
        one if none is, commits it when it is due."""
        self._begin()
        try:
            yield
        finally:
            self._check()
        self._writes += 1
        if self._writes >= self.max_writes:
            self.commit()
        else:
            self.tick()

    def tick(self) -> None:
        """Commit if the batch is older than max_seconds (called by a timer as well, so that
        the last writes of a quiet spell do not wait for the next one)."""
        if self._opened_at is not None and time.monotonic() - self._opened_at >= self.max_seconds:
            self.commit()

    def commit(self) -> None:
        if self._opened_at is None:
            return
        self._check()
        try:
            self.db.execute("COMMIT")
        except BaseException:
            self.db.rollback()
            self._opened_at = None
            self.lost = self.closed = True
            raise
        self._opened_at = None
        self._committed_at = time.monotonic()

    def close(self) -> None:
        """Commit what is open; later writes commit one by one (the crawl's end)."""
        try:
            self.commit()
        finally:
            self.closed = True

    def _begin(self) -> None:
        if (self.closed or self._opened_at is not None or self.db.conn.in_transaction
                or time.monotonic() - self._committed_at < self.pause):
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._opened_at = time.monotonic()
        self._writes = 0

    def _check(self) -> None:
        if self._opened_at is not None and not self.db.conn.in_transaction:
            self._opened_at = None
            self.lost = self.closed = True
            raise BatchLost("an error rolled back the crawl's open write batch: its last writes are lost")

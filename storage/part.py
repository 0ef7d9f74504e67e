"""What every part of the store shares: the connection, reads as rows, one write transaction.

Each part (agencies, crawls, history, findings, schedule, deliveries, heartbeat) is a small
class over the one connection that `Store` opens; parts never import `Store` or each other's
classes, only plain functions (e.g. `findings.insert_finding`) where one concept writes
another's rows in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlite_utils import Database

from .db import write_transaction


def to_json(value: Any) -> str:
    """JSON for a column: default=str (Scrapy stats hold datetimes), Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def ids_json(ids: Iterable[str]) -> str:
    """A list of ids as JSON, for `IN (SELECT value FROM json_each(?))`."""
    return json.dumps(list(ids), ensure_ascii=False)


def ids_filter(column: str, agency_ids: Sequence[str] | None) -> tuple[str, list]:
    """SQL condition and params restricting `column` to agency_ids (all when None)."""
    if agency_ids is None:
        return "1", []
    return f"{column} IN (SELECT value FROM json_each(?))", [ids_json(agency_ids)]


def fetch_one(db: Database, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Row | None:
    cursor = db.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchone()


def fetch_all(db: Database, sql: str, params: Sequence | Mapping = ()) -> list[sqlite3.Row]:
    cursor = db.execute(sql, params)
    cursor.row_factory = sqlite3.Row
    return cursor.fetchall()


class StorePart:
    """Base of the store's parts: `db` is the shared `sqlite_utils.Database`."""

    def __init__(self, db: Database):
        self.db = db

    def _write(self) -> AbstractContextManager[Database]:
        """The context of every write method: one transaction holding the write lock."""
        return write_transaction(self.db)

    def _one(self, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Row | None:
        return fetch_one(self.db, sql, params)

    def _all(self, sql: str, params: Sequence | Mapping = ()) -> list[sqlite3.Row]:
        return fetch_all(self.db, sql, params)

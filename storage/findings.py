"""Findings: what the crawl and the monitor tell people (new, changed, removed, missing...).

A finding that must be raised once carries a `dedup_key`; a unique index on it makes a second
insert a no-op, so re-runs of `nianbao check`, the daemon and two processes at once can all
try to raise the same finding and exactly one row results. The crawl's own findings (new,
changed, removed, restored) are written by `history` in the transaction of the version they
are about, through `insert_finding`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database

from .errors import StorageError
from .models import FINDING_KINDS, utc_now
from .part import StorePart, to_json

# Which findings are told to people at all (notifications, feeds, reports): a `new` finding
# only for an annual report (a work plan or notice the crawl considered, kind 'other', stays
# in the table, untold). SQL over `findings f LEFT JOIN reports r ON r.id = f.report_id`.
ANNOUNCED = "(f.kind != 'new' OR r.kind = 'annual_report')"


def insert_finding(db: Database, kind: str, report: Mapping, at: str, crawl_id: int | None,
                   details: Mapping) -> int:
    """Write one finding about a report (keys id, agency_id, year) inside the caller's
    transaction and return its id; no dedup_key: each call is a distinct event."""
    return db.execute(
        "INSERT INTO findings (kind, agency_id, year, report_id, detected_at, details, "
        "crawl_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (kind, report["agency_id"], report["year"], report["id"], at, to_json(details),
         crawl_id),
    ).lastrowid


class Findings(StorePart):
    """`store.findings`: record a finding once, list them, know which were raised."""

    def record(
        self,
        kind: str,
        *,
        agency_id: str | None,
        year: int | None,
        report_id: int | None,
        details: Mapping[str, Any],
        dedup_key: str,
        at: str | None = None,
        crawl_id: int | None = None,
    ) -> int | None:
        """Insert one finding unless one with `dedup_key` exists; return its id, else None.

        kind: one of FINDING_KINDS. agency_id, year, report_id: what it is about (None where
        it does not apply). details: JSON-encodable specifics for people and notifications.
        dedup_key: the finding's identity, e.g. 'missing:bozhou-mzj:2019'; a finding with
        the same key is never written twice, whoever tries. at: ISO-8601 UTC detection time,
        now if None. crawl_id: the crawl that showed it, if any.
        Raises ValueError for an unknown kind, StorageError for an unknown agency/report/crawl.
        """
        if kind not in FINDING_KINDS:
            raise ValueError(f"finding kind {kind!r}; expected one of {', '.join(FINDING_KINDS)}")
        if not dedup_key:
            raise ValueError("a finding needs a dedup_key")
        try:
            with self._write():
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, "
                    "detected_at, details, crawl_id, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, agency_id, year, report_id, at or utc_now(), to_json(dict(details)),
                     crawl_id, dedup_key),
                )
        except sqlite3.IntegrityError as exc:  # OR IGNORE does not cover foreign keys
            raise StorageError(
                f"cannot record {kind} finding {dedup_key!r}: agency {agency_id!r}, report "
                f"{report_id!r} or crawl {crawl_id!r} does not exist ({exc})"
            ) from exc
        return int(cursor.lastrowid) if cursor.rowcount == 1 else None

    def rows(
        self, kind: str | None = None, *, agency_id: str | None = None
    ) -> list[dict]:
        """Findings (details decoded), oldest first. kind, agency_id: filters (None: any)."""
        rows = self._all(
            "SELECT * FROM findings WHERE (:kind IS NULL OR kind = :kind) "
            "AND (:agency IS NULL OR agency_id = :agency) ORDER BY id",
            {"kind": kind, "agency": agency_id},
        )
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]

    def announced(self, *, agency_ids: list[str] | None = None, since: str | None = None,
                  limit: int | None = None) -> list[dict]:
        """The findings told to people (ANNOUNCED), newest first, details decoded, with
        agency_name, agency_region, report_url, report_title and report_kind joined.
        agency_ids: only theirs (None: all). since: detected at or after this UTC time.
        limit: at most this many (the newest)."""
        rows = self._all(
            f"""SELECT f.*, a.name AS agency_name, a.region AS agency_region,
                       r.url AS report_url, r.title AS report_title, r.kind AS report_kind
                FROM findings f
                LEFT JOIN agencies a ON a.id = f.agency_id
                LEFT JOIN reports r ON r.id = f.report_id
                WHERE {ANNOUNCED}
                  AND (:agencies IS NULL OR f.agency_id IN (SELECT value FROM json_each(:agencies)))
                  AND (:since IS NULL OR f.detected_at >= :since)
                ORDER BY f.id DESC LIMIT :limit""",
            {"agencies": None if agency_ids is None else json.dumps(list(agency_ids)),
             "since": since, "limit": -1 if limit is None else limit},
        )
        return [{**dict(row), "details": json.loads(row["details"] or "{}")} for row in rows]

    def dedup_keys(self, kind: str) -> set[str]:
        """The dedup_keys of the findings of `kind` raised so far."""
        return {row[0] for row in self._all(
            "SELECT dedup_key FROM findings WHERE kind = ? AND dedup_key IS NOT NULL", (kind,)
        )}

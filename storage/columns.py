"""Report columns: where, under a source written `{url, discover: true}`, the reports are listed.

The crawler discovers the column once (crawler/discovery.py) and records it here; later
crawls read the recorded column directly. A column that fails (404/410, no longer a listing,
no reports left on it) counts one failure per crawl; a transient error (timeout, 5xx) counts
nothing. After FAILURES_BEFORE_REDISCOVERY crawls in a row the crawler discovers again: a
different column replaces the old one (kept, status 'replaced') with one `column_moved`
finding; the same column found again starts counting afresh.
"""

from __future__ import annotations

from typing import Any

from .models import FINDING_COLUMN_MOVED, utc_now
from .part import StorePart, to_json

STATUS_OK = "ok"
STATUS_FAILING = "failing"
STATUS_REPLACED = "replaced"
# Crawls in a row in which the recorded column failed before it is discovered again: one bad
# crawl may be a site's bad afternoon, two in a row (a crawl apart) are a redesign.
FAILURES_BEFORE_REDISCOVERY = 2


class Columns(StorePart):
    """`store.columns`: the report_columns table and its `column_moved` findings."""

    def current(self, agency_id: str, source_url: str) -> dict[str, Any] | None:
        """The column in use for a source (status 'ok' or 'failing'), or None if none was found yet."""
        row = self._one("SELECT * FROM report_columns WHERE agency_id = ? AND source_url = ? "
                        "AND status <> 'replaced'", (agency_id, source_url))
        return dict(row) if row else None

    def history(self, agency_id: str) -> list[dict[str, Any]]:
        """Every column recorded for the agency, oldest first (replaced ones too)."""
        return [dict(row) for row in self._all(
            "SELECT * FROM report_columns WHERE agency_id = ? ORDER BY id", (agency_id,))]

    def record_found(self, agency_id: str, source_url: str, column_url: str, *, score: float,
                     reason: str, crawl_id: int | None, at: str | None = None) -> int | None:
        """Discovery chose `column_url` under `source_url`. Returns the id of the
        `column_moved` finding raised when it replaces another column, else None.

        No column yet: recorded. The same column as recorded: it is fine again (failures
        reset). Another column: the old row becomes 'replaced' (replaced_by the new one) and
        one `column_moved` finding names both (dedup_key column_moved:{agency}:{old row id})."""
        at = at or utc_now()
        with self._write():
            old = self._one("SELECT * FROM report_columns WHERE agency_id = ? AND source_url = ? "
                            "AND status <> 'replaced'", (agency_id, source_url))
            if old is not None and old["column_url"] == column_url:
                self.db.execute(
                    "UPDATE report_columns SET status = 'ok', failures = 0, score = ?, reason = ?, "
                    "last_ok_at = ?, last_ok_crawl_id = ? WHERE id = ?",
                    (score, reason, at, crawl_id, old["id"]))
                return None
            if old is not None:
                self.db.execute("UPDATE report_columns SET status = 'replaced', replaced_at = ? "
                                "WHERE id = ?", (at, old["id"]))
            new_id = self.db.execute(
                "INSERT INTO report_columns (agency_id, source_url, column_url, status, score, "
                "reason, found_at, found_crawl_id, last_ok_at, last_ok_crawl_id) "
                "VALUES (?, ?, ?, 'ok', ?, ?, ?, ?, ?, ?)",
                (agency_id, source_url, column_url, score, reason, at, crawl_id, at, crawl_id),
            ).lastrowid
            if old is None:
                return None
            self.db.execute("UPDATE report_columns SET replaced_by = ? WHERE id = ?",
                            (new_id, old["id"]))
            details = {"source_url": source_url, "old_column": old["column_url"],
                       "new_column": column_url, "why": old["last_failure"],
                       "failures": old["failures"], "last_ok_at": old["last_ok_at"],
                       "reason": reason}
            return self.db.execute(
                "INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, detected_at, "
                "details, crawl_id, dedup_key) VALUES (?, ?, NULL, NULL, ?, ?, ?, ?)",
                (FINDING_COLUMN_MOVED, agency_id, at, to_json(details), crawl_id,
                 f"column_moved:{agency_id}:{old['id']}")).lastrowid

    def record_ok(self, column_id: int, *, crawl_id: int | None, at: str | None = None) -> None:
        """The column was read as a listing with reports on it: its failures start again from 0."""
        with self._write():
            self.db.execute(
                "UPDATE report_columns SET status = 'ok', failures = 0, last_ok_at = ?, "
                "last_ok_crawl_id = ? WHERE id = ?", (at or utc_now(), crawl_id, column_id))

    def record_failure(self, column_id: int, *, crawl_id: int | None, reason: str,
                       at: str | None = None) -> int:
        """The column failed as a column in this crawl (counted once per crawl); returns the
        crawls in a row it has failed in."""
        with self._write():
            self.db.execute(
                "UPDATE report_columns SET status = 'failing', last_failure = ?, "
                "failures = failures + (last_failed_crawl_id IS NOT ? OR ? IS NULL), "
                "last_failed_crawl_id = ? WHERE id = ?",
                (reason, crawl_id, crawl_id, crawl_id, column_id))
            return self._one("SELECT failures FROM report_columns WHERE id = ?",
                             (column_id,))["failures"]

    def due_for_rediscovery(self, column: dict[str, Any]) -> bool:
        return column["failures"] >= FAILURES_BEFORE_REDISCOVERY

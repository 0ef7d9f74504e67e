"""Held evidence: a removal or a changed text seen once waits for a later crawl to confirm it.

One bad answer must never become a finding (a false `removed` or `changed` is the worst thing a
monitor can say). So a page that may not be the report it would replace (a suspect text) and
a report that answers as gone (404/410, a soft 404, a redirect home) are kept in
`pending_findings` and become a version or a `removed` finding only when a later crawl, at
least a configured wait later, sees the same again, with the agency's listings answering
normally. A report that answers as itself clears what was held for it (`history.record_report`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlite_utils import Database

from .findings import insert_finding
from .history import fetch_hash
from .models import FINDING_REMOVED, STATUS_LIVE, ReportFetch, utc_now
from .part import StorePart, to_json

if TYPE_CHECKING:  # the part is handed in by Store; parts do not import each other's classes
    from .history import History

# Outcome of a page held by `record_suspect` (not a version; no sighting is written).
HELD = "held"
REMOVAL = "removal"
CHANGE = "change"
# A wave: at least this many known reports of one agency answering as gone in one crawl, and
# at least this share of its live reports, is a site problem (a redesign, an outage), not
# removals.
WAVE_MIN_REPORTS = 3
WAVE_SHARE = 0.5


def _later_by(earlier: str, later: str, seconds: float) -> bool:
    """Is `later` at least `seconds` after `earlier` (ISO-8601 UTC strings)?"""
    def parse(value: str) -> dt.datetime:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parse(later) - parse(earlier)).total_seconds() >= seconds


class Held(StorePart):
    """`store.held`: the pending_findings table. A confirmed change is recorded through the
    report history it belongs to (`history`, the store's part)."""

    def __init__(self, db: Database, history: History):
        super().__init__(db)
        self.history = history

    def record_suspect(self, fetch: ReportFetch, *, confirm_after: float) -> str:
        """Record a page that may not be the report it would replace (`fetch.suspect` says why).

        Its text is the same as the stored one, or its bytes are (the extraction differs, not
        the page: see record_report): recorded as usual. A report the store does not know:
        recorded as usual (there is nothing to protect). Otherwise the
        change is held in pending_findings (kind 'change', with the new text's hash) and
        nothing else is written -> 'held'; when a crawl after the one that first held it sees
        the same text again at least `confirm_after` seconds later, it is recorded as a new
        version with a `changed` finding that says what was held -> the record_report outcome.
        A different suspect text starts the wait again.
        """
        digest = fetch_hash(fetch)
        at = fetch.fetched_at
        with self._write():
            row = self._one(
                "SELECT id, content_hash, current_version FROM reports "
                "WHERE agency_id = ? AND url = ?", (fetch.agency_id, fetch.url))
            if row is None or row["content_hash"] == digest or (
                    fetch.extractor_version is not None
                    and self.history.same_raw(row["id"], row["current_version"], fetch) is not None):
                # nothing to protect; or the very bytes stored (only extraction differs)
                return self.history.record_report(fetch)
            pending = self._one(
                "SELECT * FROM pending_findings WHERE report_id = ? AND kind = ? "
                "AND resolved_at IS NULL", (row["id"], CHANGE))
            if (pending is not None and pending["content_hash"] == digest
                    and pending["first_crawl_id"] != fetch.crawl_id
                    and _later_by(pending["first_seen_at"], at, confirm_after)):
                return self.history.record_report(fetch, held={
                    "reason": pending["reason"], "first_seen_at": pending["first_seen_at"],
                    "times_seen": pending["times_seen"] + 1})
            if pending is not None and pending["content_hash"] == digest:
                self.db.execute(
                    "UPDATE pending_findings SET last_seen_at = ?, last_crawl_id = ?, "
                    "times_seen = times_seen + 1 WHERE id = ?",
                    (at, fetch.crawl_id, pending["id"]))
                return HELD
            details = to_json({"title": fetch.title, "text_length": len(fetch.text),
                               "final_url": fetch.final_url})
            if pending is not None:  # another suspect text: the wait starts again
                self.db.execute(
                    "UPDATE pending_findings SET reason = ?, content_hash = ?, details = ?, "
                    "first_seen_at = ?, first_crawl_id = ?, last_seen_at = ?, last_crawl_id = ?, "
                    "times_seen = 1 WHERE id = ?",
                    (fetch.suspect, digest, details, at, fetch.crawl_id, at, fetch.crawl_id,
                     pending["id"]))
            else:
                self.db.execute(
                    "INSERT INTO pending_findings (report_id, agency_id, kind, reason, content_hash, "
                    "details, first_seen_at, first_crawl_id, last_seen_at, last_crawl_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (row["id"], fetch.agency_id, CHANGE, fetch.suspect or "suspect", digest,
                     details, at, fetch.crawl_id, at, fetch.crawl_id))
            return HELD

    def note_gone(self, *, agency_id: str, url: str, reason: str, http_status: int | None,
                  crawl_id: int | None, at: str | None = None) -> bool:
        """Evidence that a known live report is gone (reason: http_404, http_410, soft_404,
        redirect_home): kept in pending_findings (kind 'removal') until `settle` confirms it
        after a later crawl. Returns False for a URL that is no live report (nothing written)."""
        at = at or utc_now()
        with self._write():
            row = self._one("SELECT id, status FROM reports WHERE agency_id = ? AND url = ?",
                            (agency_id, url))
            if row is None or row["status"] != STATUS_LIVE:
                return False
            details = to_json({"http_status": http_status, "url": url})
            self.db.execute(
                """INSERT INTO pending_findings (report_id, agency_id, kind, reason, details,
                       first_seen_at, first_crawl_id, last_seen_at, last_crawl_id)
                   VALUES (:report, :agency, 'removal', :reason, :details, :at, :crawl, :at, :crawl)
                   ON CONFLICT (report_id, kind) WHERE resolved_at IS NULL DO UPDATE SET
                       reason = excluded.reason, details = excluded.details,
                       last_seen_at = excluded.last_seen_at, last_crawl_id = excluded.last_crawl_id,
                       times_seen = times_seen + 1""",
                {"report": row["id"], "agency": agency_id, "reason": reason, "details": details,
                 "at": at, "crawl": crawl_id})
            return True

    def gone_counts(self, crawl_id: int) -> dict[str, tuple[int, int]]:
        """agency id -> (known reports that answered as gone in this crawl, its live reports)."""
        return {row["agency_id"]: (row["gone"], row["live"]) for row in self._all(
            """SELECT p.agency_id, count(*) AS gone,
                      (SELECT count(*) FROM reports r WHERE r.agency_id = p.agency_id
                       AND r.status = 'live') AS live
               FROM pending_findings p
               WHERE p.kind = 'removal' AND p.resolved_at IS NULL AND p.last_crawl_id = ?
               GROUP BY p.agency_id""", (crawl_id,))}

    @staticmethod
    def is_wave(gone: int, live: int) -> bool:
        """Many known reports gone at once: a site problem, not removals."""
        return gone >= WAVE_MIN_REPORTS and gone >= WAVE_SHARE * max(live, 1)

    def settle(self, crawl_id: int, *, good_agencies: Sequence[str], confirm_after: float,
               at: str | None = None) -> list[int]:
        """Count this crawl's evidence of removals for the agencies whose listings answered
        normally in it (good_agencies; never a wave), and confirm a removal whose evidence a
        crawl after the first counted one saw again at least `confirm_after` seconds later:
        the report is marked removed with a `removed` finding naming the reason. Returns the
        ids of the reports removed. Evidence from other agencies waits, uncounted.
        """
        at = at or utc_now()
        removed: list[int] = []
        with self._write():
            rows = self._all(
                """SELECT p.*, r.title, r.current_version, r.year, r.url
                   FROM pending_findings p JOIN reports r ON r.id = p.report_id
                   WHERE p.kind = 'removal' AND p.resolved_at IS NULL AND p.last_crawl_id = ?
                     AND p.agency_id IN (SELECT value FROM json_each(?))""",
                (crawl_id, json.dumps(list(good_agencies))))
            for row in rows:
                if row["counted_since"] is None:
                    self.db.execute(
                        "UPDATE pending_findings SET counted_since = last_seen_at, "
                        "counted_crawl_id = ? WHERE id = ?", (crawl_id, row["id"]))
                    continue
                if row["counted_crawl_id"] == crawl_id or not _later_by(
                        row["counted_since"], row["last_seen_at"], confirm_after):
                    continue
                evidence = json.loads(row["details"])
                report = {"id": row["report_id"], "agency_id": row["agency_id"], "year": row["year"]}
                self.db.execute("UPDATE reports SET status = 'removed', removed_at = ? WHERE id = ?",
                                (at, row["report_id"]))
                finding_id = insert_finding(self.db, FINDING_REMOVED, report, at, crawl_id, {
                    "http_status": evidence.get("http_status"), "reason": row["reason"],
                    "url": row["url"], "title": row["title"], "version": row["current_version"],
                    "first_seen_gone": row["first_seen_at"], "times_seen": row["times_seen"]})
                self.db.execute(
                    "UPDATE pending_findings SET resolved_at = ?, resolution = 'confirmed', "
                    "finding_id = ? WHERE id = ?", (at, finding_id, row["id"]))
                removed.append(row["report_id"])
        return removed

    def pending(self, agency_id: str | None = None) -> list[dict]:
        """Open pending removals and suspect changes (details decoded), oldest first."""
        rows = self._all(
            "SELECT * FROM pending_findings WHERE resolved_at IS NULL "
            "AND (:agency IS NULL OR agency_id = :agency) ORDER BY id", {"agency": agency_id})
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]


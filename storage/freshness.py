"""Freshness: what a re-crawl needs to cost nothing when nothing changed, and retention.

- report_validators: the ETag, Last-Modified and raw-bytes hash of each live report's current
  page. A re-crawl asks conditionally; a 304, or the same bytes read by the same extractor
  version, is an unchanged sighting without extraction (`seen`, written in batches).
- the re-check rotation: which known reports a crawl re-fetches (`due_reports`).
- full passes: when an agency's listings were last followed to their last page in a
  complete crawl (`last_full_pass`), so a crawl may stop paging early only within the
  full-pass interval.
- retention (`prune`): unchanged sightings and good fetch_log rows older than a configured
  age go, except each report's latest sighting and each URL's last good fetch. Every
  change, every error, every finding and every per-crawl summary (crawls, crawl_agencies)
  is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from .crawls import COMPLETE
from .models import utc_iso
from .part import StorePart, ids_json

# How an unchanged report was seen without extraction (sightings.answer).
ANSWER_NOT_MODIFIED = "not_modified"
ANSWER_SAME_BYTES = "same_bytes"
# Sightings written per transaction by `seen` (a crash loses at most these last_seen moves).
SEEN_BATCH = 500


def raw_sha256(raw: bytes) -> str:
    return hashlib.sha256(bytes(raw)).hexdigest()


def remember_validators(db, report_id: int, version: int, *, raw_page: bytes, etag: str | None,
                        last_modified: str | None, extractor_version: int | None,
                        at: str) -> None:
    """Called by history.record_report in its transaction, for a fetch that became (or
    confirmed) the report's current version: the next crawl compares with this page."""
    db.execute(
        """INSERT INTO report_validators (report_id, etag, last_modified, raw_sha256,
               extractor_version, version, recorded_at, checked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (report_id) DO UPDATE SET etag = excluded.etag,
               last_modified = excluded.last_modified, raw_sha256 = excluded.raw_sha256,
               extractor_version = excluded.extractor_version, version = excluded.version,
               recorded_at = excluded.recorded_at,
               checked_at = max(checked_at, excluded.checked_at)""",
        (report_id, etag, last_modified, raw_sha256(raw_page), extractor_version, version, at, at),
    )


@dataclass(frozen=True)
class Validators:
    """What a re-crawl of one known live report compares with."""

    report_id: int
    etag: str | None
    last_modified: str | None
    raw_sha256: str
    extractor_version: int | None


@dataclass(frozen=True)
class Retention:
    """Ages beyond which unchanged sightings and good fetch_log rows are pruned (seconds;
    None keeps them all)."""

    sightings: float | None
    fetch_log: float | None


class Freshness(StorePart):
    """`store.freshness`: validators, unchanged sightings in batches, the re-check rotation,
    full passes and retention."""

    def __init__(self, db):
        super().__init__(db)
        self._pending: list[tuple[int, str, int | None, str, str]] = []

    # -- validators --------------------------------------------------------------------------
    def validators(self, agency_id: str) -> dict[str, Validators]:
        """url -> Validators of the agency's live reports whose current version is the
        recorded page as read by the recorded extractor version."""
        return {row["url"]: Validators(row["report_id"], row["etag"], row["last_modified"],
                                       row["raw_sha256"], row["extractor_version"])
                for row in self._all(
                    # The current version's text must be the one those bytes gave under that
                    # extractor (not a text an older extractor made, waiting for a catch-up).
                    "SELECT r.url, v.report_id, v.etag, v.last_modified, v.raw_sha256, "
                    "v.extractor_version FROM report_validators v JOIN reports r ON r.id = v.report_id "
                    "JOIN versions cur ON cur.report_id = r.id AND cur.version = r.current_version "
                    "WHERE r.agency_id = ? AND r.status = 'live' AND v.version = r.current_version "
                    "AND cur.extractor_version IS v.extractor_version",
                    (agency_id,))}

    # -- unchanged sightings, batched ----------------------------------------------------------
    def seen(self, *, report_id: int, agency_id: str, crawl_id: int | None, at: str,
             answer: str) -> None:
        """A known live report answered as itself without extraction (a 304, or the bytes its
        validators name). Buffered: written with the next SEEN_BATCH - 1 others in one
        transaction (`flush`); what `record_report` writes for an unchanged report: last_seen
        and last_crawl_id move on, an 'unchanged' sighting, anything held for it cleared."""
        self._pending.append((report_id, agency_id, crawl_id, at, answer))
        if len(self._pending) >= SEEN_BATCH:
            self.flush()

    def flush(self) -> int:
        """Write the buffered sightings; returns how many."""
        batch, self._pending = self._pending, []
        if not batch:
            return 0
        with self._write():
            rows = json.dumps(batch)
            # Only a report still live: one removed meanwhile is not seen by an old answer.
            selected = ("SELECT j.value ->> 0 AS report_id, j.value ->> 1 AS agency_id, "
                        "j.value ->> 2 AS crawl_id, j.value ->> 3 AS at, j.value ->> 4 AS answer "
                        "FROM json_each(?) j")
            self.db.execute(
                f"""INSERT INTO sightings (crawl_id, report_id, agency_id, seen_at, outcome, version, answer)
                    SELECT b.crawl_id, b.report_id, b.agency_id, b.at, 'unchanged', r.current_version, b.answer
                    FROM ({selected}) b JOIN reports r ON r.id = b.report_id AND r.status = 'live'""",
                (rows,))
            self.db.execute(
                f"""UPDATE reports SET last_seen = max(last_seen, b.at),
                        last_crawl_id = coalesce(b.crawl_id, reports.last_crawl_id)
                    FROM ({selected}) b WHERE reports.id = b.report_id AND reports.status = 'live'""",
                (rows,))
            self.db.execute(
                f"""UPDATE report_validators SET checked_at = max(checked_at, b.at)
                    FROM ({selected}) b WHERE report_validators.report_id = b.report_id""",
                (rows,))
            self.db.execute(
                f"""UPDATE pending_findings SET resolved_at = b.at, resolution = 'cleared'
                    FROM ({selected}) b JOIN reports r ON r.id = b.report_id AND r.status = 'live'
                    WHERE pending_findings.report_id = b.report_id
                      AND pending_findings.resolved_at IS NULL""",
                (rows,))
        return len(batch)

    # -- the re-check rotation -----------------------------------------------------------------
    def due_reports(self, agency_id: str, *, now: str, every: float, recent: float) -> set[str]:
        """URLs of the agency's live reports a crawl at `now` re-fetches: those not checked
        for `every` seconds, those first seen or changed within `recent` seconds (a report
        just published is edited most), those with held evidence (a removal or a suspect
        change waits for a later crawl to confirm or clear it), and those never checked
        since validators exist. every = 0: all of them."""
        if every <= 0:
            return {row[0] for row in self._all(
                "SELECT url FROM reports WHERE agency_id = ? AND status = 'live'", (agency_id,))}
        moment = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        stale = utc_iso(moment - dt.timedelta(seconds=every))
        fresh = utc_iso(moment - dt.timedelta(seconds=recent))
        return {row[0] for row in self._all(
            """SELECT r.url FROM reports r LEFT JOIN report_validators v ON v.report_id = r.id
               WHERE r.agency_id = :agency AND r.status = 'live'
                 AND (v.report_id IS NULL OR v.checked_at < :stale OR r.first_seen >= :fresh
                      OR (SELECT max(fetched_at) FROM versions WHERE report_id = r.id) >= :fresh
                      OR EXISTS (SELECT 1 FROM pending_findings p WHERE p.report_id = r.id
                                 AND p.resolved_at IS NULL))""",
            {"agency": agency_id, "stale": stale, "fresh": fresh})}

    # -- full passes of the listings ------------------------------------------------------------
    def last_full_pass(self, agency_ids: Sequence[str]) -> dict[str, str]:
        """agency id -> start of its latest complete crawl (COMPLETE) that followed every
        listing page (listing_pages_skipped = 0). Agencies without one are absent."""
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, max(started_at) FROM crawl_agencies WHERE {COMPLETE} "
            "AND listing_pages_skipped = 0 AND agency_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY agency_id", (ids_json(agency_ids),))}

    # -- retention -----------------------------------------------------------------------------
    def prune(self, retention: Retention, *, now: str) -> dict[str, int]:
        """Delete what a user does not need as evidence once older than the retention:
        'unchanged' sightings (each report keeps its latest sighting) and fetch_log rows of
        good fetches (no error, status < 400; each URL keeps its last good fetch). Changes
        (versions, findings, new/changed/restored sightings), every failed fetch and the
        per-crawl summaries stay. Returns rows deleted per table."""
        moment = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
        deleted = {"sightings": 0, "fetch_log": 0}
        with self._write():
            if retention.sightings is not None:
                before = utc_iso(moment - dt.timedelta(seconds=retention.sightings))
                deleted["sightings"] = self.db.execute(
                    """DELETE FROM sightings WHERE seen_at < ? AND outcome = 'unchanged'
                       AND EXISTS (SELECT 1 FROM sightings later WHERE later.report_id = sightings.report_id
                                   AND later.id > sightings.id)""", (before,)).rowcount
            if retention.fetch_log is not None:
                before = utc_iso(moment - dt.timedelta(seconds=retention.fetch_log))
                deleted["fetch_log"] = self.db.execute(
                    """DELETE FROM fetch_log WHERE fetched_at < ? AND error IS NULL
                       AND coalesce(status, 0) BETWEEN 200 AND 399
                       AND EXISTS (SELECT 1 FROM fetch_log later WHERE later.url = fetch_log.url
                                   AND later.id > fetch_log.id AND later.error IS NULL
                                   AND coalesce(later.status, 0) BETWEEN 200 AND 399)""",
                    (before,)).rowcount
        return deleted

"""Report history: reports, their versions, sightings, removals and restorations.

History works like git-history: a report's identity is (agency_id, url), its content is the
sha256 of its whitespace-normalised text, and a version row is written only when that hash
changes. Removals and restorations are recorded too. Every write method is one transaction,
so a process killed at any moment leaves a consistent file.
"""

from __future__ import annotations

import difflib
import hashlib
import zlib
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import UnknownAgency, UnknownCrawl, UnknownVersion
from .findings import insert_finding
from .models import (
    BINARY_ENCODING,
    FINDING_CHANGED,
    FINDING_NEW,
    FINDING_REMOVED,
    FINDING_RESTORED,
    STATUS_LIVE,
    STATUS_REMOVED,
    Outcome,
    ReportFetch,
    content_hash,
    normalize_text,
    utc_now,
)
from .part import StorePart, ids_filter, to_json

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

ZLIB_LEVEL = 6
# How much of the end of a stored raw page `known_report` hands back.
RAW_TAIL_BYTES = 4096
# Caps on the diff excerpt kept in a `changed` finding's details.
DIFF_MAX_LINES = 40
DIFF_MAX_CHARS = 4000


def fetch_hash(fetch: ReportFetch) -> str:
    """What identifies a version: the text's hash; for a document with no text yet (a PDF or
    DOC stored as raw bytes), the hash of its bytes, so that a replaced file is a new version."""
    if fetch.text or fetch.raw_encoding != BINARY_ENCODING:
        return content_hash(fetch.text)
    return "raw:" + hashlib.sha256(bytes(fetch.raw_page)).hexdigest()


def diff_details(old_text: str, new_text: str) -> dict[str, Any]:
    """Counts of added/removed lines and a capped unified-diff excerpt, on normalised text."""
    old = normalize_text(old_text).splitlines()
    new = normalize_text(new_text).splitlines()
    lines = list(difflib.unified_diff(old, new, "before", "after", n=1, lineterm=""))
    body = lines[2:]  # drop the ---/+++ header
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    excerpt = "\n".join(body[:DIFF_MAX_LINES])
    truncated = len(body) > DIFF_MAX_LINES or len(excerpt) > DIFF_MAX_CHARS
    return {
        "lines_added": added,
        "lines_removed": removed,
        "diff": excerpt[:DIFF_MAX_CHARS],
        "diff_truncated": truncated,
    }


class History(StorePart):
    """`store.history`: record what a crawl saw of each report, and read reports back."""

    def _check_refs(self, agency_id: str, crawl_id: int | None) -> None:
        if self._one("SELECT 1 FROM agencies WHERE id = ?", (agency_id,)) is None:
            raise UnknownAgency(
                f"agency {agency_id!r} is not in the agencies table; sync_agencies first (store.agencies.sync)"
            )
        if crawl_id is not None and self._one(
            "SELECT 1 FROM crawls WHERE id = ?", (crawl_id,)
        ) is None:
            raise UnknownCrawl(f"no crawl with id {crawl_id}")

    def _version(self, report_id: int, version: int, fetch: ReportFetch, digest: str) -> None:
        raw = bytes(fetch.raw_page)
        self.db.execute(
            "INSERT INTO versions (report_id, version, fetched_at, content_hash, text, title, "
            "raw_page, raw_encoding, raw_size, final_url, crawl_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report_id, version, fetch.fetched_at, digest, fetch.text, fetch.title,
             zlib.compress(raw, ZLIB_LEVEL), fetch.raw_encoding, len(raw), fetch.final_url,
             fetch.crawl_id),
        )

    def record_report(self, fetch: ReportFetch, *, held: Mapping[str, Any] | None = None) -> str:
        """Record one fetched report page, in one transaction; return an Outcome.

        fetch: the page and what was extracted from it.
        - First sight: a report row, version 1 and a `new` finding -> Outcome.NEW.
        - Text hash unchanged: no version, no finding; last_seen and last_crawl_id move on,
          and year, published_date, attachments and final_url are filled if they were
          empty -> Outcome.UNCHANGED.
        - Text hash changed: version n+1, the report's text/title/hash follow it, and one
          `changed` finding with a capped diff -> Outcome.CHANGED.
        - A removed report is back: status 'live' again and a `restored` finding (plus the
          `changed` finding and version if the text differs) -> Outcome.RESTORED.
        A pending removal or suspect change of the report (see `record_suspect`, `settle`) is
        cleared: the report answered as itself. held: for a change confirmed by
        `record_suspect`, what was held (reason, first seen), kept in the `changed` finding.
        Raises UnknownAgency / UnknownCrawl for ids that do not exist.
        """
        digest = fetch_hash(fetch)
        at = fetch.fetched_at
        with self._write():
            self._check_refs(fetch.agency_id, fetch.crawl_id)
            row = self._one(
                "SELECT id, agency_id, year, status, current_version, content_hash, text, "
                "removed_at FROM reports WHERE agency_id = ? AND url = ?",
                (fetch.agency_id, fetch.url),
            )
            if row is None:
                report_id = self.db.execute(
                    "INSERT INTO reports (agency_id, year, kind, title, url, published_date, "
                    "status, first_seen, last_seen, text, current_version, content_hash, "
                    "last_crawl_id, attachments, final_url, title_year, text_year, year_basis) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'live', ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                    (fetch.agency_id, fetch.year, fetch.kind, fetch.title, fetch.url,
                     fetch.published_date, at, at, fetch.text, digest, fetch.crawl_id,
                     to_json(list(fetch.attachments)), fetch.final_url, fetch.title_year,
                     fetch.text_year, fetch.year_basis),
                ).lastrowid
                self._version(report_id, 1, fetch, digest)
                report = {"id": report_id, "agency_id": fetch.agency_id, "year": fetch.year}
                insert_finding(self.db, FINDING_NEW, report, at, fetch.crawl_id,
                              {"title": fetch.title, "url": fetch.url})
                self._sighting(report_id, fetch, Outcome.NEW, 1)
                return Outcome.NEW

            report = {"id": row["id"], "agency_id": row["agency_id"],
                      "year": row["year"] if row["year"] is not None else fetch.year}
            version = row["current_version"]
            changed = row["content_hash"] != digest
            restored = row["status"] == STATUS_REMOVED
            if changed:
                version += 1
                self._version(row["id"], version, fetch, digest)
                self.db.execute(
                    "UPDATE reports SET text = ?, content_hash = ?, current_version = ?, "
                    "title = ? WHERE id = ?",
                    (fetch.text, digest, version, fetch.title, row["id"]),
                )
                details = {"from_version": version - 1, "to_version": version,
                           "title": fetch.title, "url": fetch.url}
                details.update(diff_details(row["text"], fetch.text))
                if held:
                    details["held"] = dict(held)
                insert_finding(self.db, FINDING_CHANGED, report, at, fetch.crawl_id, details)
            if restored:
                self.db.execute(
                    "UPDATE reports SET status = 'live', removed_at = NULL WHERE id = ?",
                    (row["id"],),
                )
                insert_finding(self.db, FINDING_RESTORED, report, at, fetch.crawl_id,
                              {"url": fetch.url, "title": fetch.title,
                               "removed_at": row["removed_at"], "text_changed": changed})
            self.db.execute(
                """UPDATE reports SET
                       last_seen = max(last_seen, :at),
                       last_crawl_id = coalesce(:crawl_id, last_crawl_id),
                       year = coalesce(year, :year),
                       published_date = coalesce(published_date, :published_date),
                       title = CASE WHEN title = '' THEN :title ELSE title END,
                       attachments = CASE WHEN attachments = '[]' THEN :attachments
                                          ELSE attachments END,
                       final_url = coalesce(final_url, :final_url),
                       title_year = coalesce(title_year, :title_year),
                       text_year = coalesce(text_year, :text_year),
                       year_basis = coalesce(year_basis, :year_basis)
                   WHERE id = :id""",
                {"at": at, "crawl_id": fetch.crawl_id, "year": fetch.year,
                 "published_date": fetch.published_date, "title": fetch.title,
                 "attachments": to_json(list(fetch.attachments)),
                 "final_url": fetch.final_url, "title_year": fetch.title_year,
                 "text_year": fetch.text_year, "year_basis": fetch.year_basis, "id": row["id"]},
            )
            outcome = (Outcome.RESTORED if restored
                       else Outcome.CHANGED if changed else Outcome.UNCHANGED)
            self._sighting(row["id"], fetch, outcome, version)
            self.db.execute(
                "UPDATE pending_findings SET resolved_at = ?, resolution = ? "
                "WHERE report_id = ? AND resolved_at IS NULL",
                (at, "confirmed" if held else "cleared", row["id"]),
            )
            return outcome

    def _sighting(self, report_id: int, fetch: ReportFetch, outcome: Outcome,
                  version: int) -> None:
        self.db.execute(
            "INSERT INTO sightings (crawl_id, report_id, agency_id, seen_at, outcome, version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (fetch.crawl_id, report_id, fetch.agency_id, fetch.fetched_at, outcome.value,
             version),
        )

    def mark_removed(
        self,
        *,
        agency_id: str,
        url: str,
        http_status: int,
        crawl_id: int | None = None,
        at: str | None = None,
    ) -> bool:
        """Record that a known report is gone; return True if it was live and now is removed.

        The caller decides that the answer means removal (a 404 or 410, not a timeout).
        agency_id, url: the report's identity, as given to record_report. http_status: the
        status that showed the removal (kept in the finding). crawl_id: the crawl, or None.
        at: ISO-8601 UTC time, now if None.
        An unknown url, or a report already removed, writes nothing and returns False.
        """
        at = at or utc_now()
        with self._write():
            row = self._one(
                "SELECT id, agency_id, year, title, status, current_version FROM reports "
                "WHERE agency_id = ? AND url = ?",
                (agency_id, url),
            )
            if row is None or row["status"] != STATUS_LIVE:
                return False
            if crawl_id is not None:
                self._check_refs(agency_id, crawl_id)
            self.db.execute(
                "UPDATE reports SET status = 'removed', removed_at = ? WHERE id = ?",
                (at, row["id"]),
            )
            insert_finding(self.db, FINDING_REMOVED, row, at, crawl_id,
                          {"http_status": http_status, "url": url, "title": row["title"],
                           "version": row["current_version"]})
            return True

    # -- held evidence: suspect changes and removals wait for a later crawl ------------------

    def known_report(self, agency_id: str, url: str) -> dict | None:
        """What the store holds for a report URL: id, kind, title, status, text_length,
        content_hash, and of the current version raw_encoding ('binary' for a document file)
        and raw_tail (the last RAW_TAIL_BYTES of its raw page: how the page ended); None if
        unknown."""
        row = self._one(
            "SELECT r.id, r.kind, r.title, r.status, length(r.text) AS text_length, r.content_hash, "
            "v.raw_encoding, v.raw_page FROM reports r LEFT JOIN versions v "
            "ON v.report_id = r.id AND v.version = r.current_version "
            "WHERE r.agency_id = ? AND r.url = ?",
            (agency_id, url),
        )
        if row is None:
            return None
        known = {key: row[key] for key in row.keys() if key != "raw_page"}
        page = row["raw_page"] if row["raw_encoding"] != BINARY_ENCODING else None  # a PDF can be large
        known["raw_tail"] = zlib.decompress(page)[-RAW_TAIL_BYTES:] if page else b""
        return known

    def record_suspect(self, fetch: ReportFetch, *, confirm_after: float) -> str:
        """Record a page that may not be the report it would replace (`fetch.suspect` says why).

        Its text is the same as the stored one: recorded as usual (unchanged). A report the
        store does not know: recorded as usual (there is nothing to protect). Otherwise the
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
                "SELECT id, content_hash FROM reports WHERE agency_id = ? AND url = ?",
                (fetch.agency_id, fetch.url))
            if row is None or row["content_hash"] == digest:
                return self.record_report(fetch)
            pending = self._one(
                "SELECT * FROM pending_findings WHERE report_id = ? AND kind = ? "
                "AND resolved_at IS NULL", (row["id"], CHANGE))
            if (pending is not None and pending["content_hash"] == digest
                    and pending["first_crawl_id"] != fetch.crawl_id
                    and _later_by(pending["first_seen_at"], at, confirm_after)):
                return self.record_report(fetch, held={
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

    def known_reports(self, agency_id: str) -> list[dict]:
        """Live reports of an agency, for the crawler to re-check for removal.

        agency_id: the agency. Each dict has id, url, title, published_date, kind, year,
        current_version, last_seen, text_length (characters of the current text) and
        raw_encoding of the current version ('binary' for a document file); ordered by id
        (first seen first).
        """
        rows = self._all(
            "SELECT id, url, title, published_date, kind, year, current_version, last_seen, "
            "length(text) AS text_length, "
            "(SELECT raw_encoding FROM versions v WHERE v.report_id = reports.id "
            " AND v.version = reports.current_version) AS raw_encoding "
            "FROM reports WHERE agency_id = ? AND status = 'live' ORDER BY id",
            (agency_id,),
        )
        return [dict(row) for row in rows]

    def raw_page(self, version_id: int) -> bytes:
        """The raw bytes of a version's page exactly as served (decompressed), to re-run
        extraction. version_id: versions.id. Raises UnknownVersion."""
        row = self._one("SELECT raw_page FROM versions WHERE id = ?", (version_id,))
        if row is None:
            raise UnknownVersion(f"no version with id {version_id}")
        return zlib.decompress(row["raw_page"]) if row["raw_page"] is not None else b""

    def first_annual_reports(self, agency_ids: Sequence[str] | None = None) -> list[dict]:
        """The report that counts for each (agency, year): its earliest-published annual report.

        Published is the page's own date, else the day (in China, UTC+8) nianbao first saw it
        (the same rule as the `coverage` view; ties go to the lower id). Removed reports count: they were
        published. Reports of kind 'other' or without a year are ignored.
        agency_ids: only these agencies (all when None).
        Each dict: agency_id, year, report_id, published_date ('YYYY-MM-DD'),
        published_basis ('page' | 'first_seen'), title, url, report_status, year_basis,
        title_year, text_year, first_seen (ISO-8601 UTC).
        """
        where, params = ids_filter("agency_id", agency_ids)
        rows = self._all(
            f"""SELECT * FROM (
                  SELECT agency_id, year, id AS report_id,
                         coalesce(published_date, date(first_seen, '+8 hours')) AS published_date,
                         CASE WHEN published_date IS NULL THEN 'first_seen' ELSE 'page' END
                           AS published_basis,
                         title, url, status AS report_status, year_basis, title_year, text_year,
                         first_seen,
                         row_number() OVER (
                           PARTITION BY agency_id, year
                           ORDER BY coalesce(published_date, date(first_seen, '+8 hours')), id
                         ) AS rank
                  FROM reports
                  WHERE kind = 'annual_report' AND year IS NOT NULL AND {where}
                ) WHERE rank = 1 ORDER BY agency_id, year""",
            params,
        )
        return [{k: row[k] for k in row.keys() if k != "rank"} for row in rows]

    def yearless_annual_reports(self, agency_ids: Sequence[str] | None = None) -> dict[str, int]:
        """agency id -> how many of its annual reports have no year (not counted anywhere)."""
        where, params = ids_filter("agency_id", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, count(*) FROM reports WHERE kind = 'annual_report' "
            f"AND year IS NULL AND {where} GROUP BY agency_id",
            params,
        )}

    def integrity_problems(self) -> list[str]:
        """Check the history invariants; return readable problems (empty when all is well).

        SQLite's integrity and foreign-key checks; every report has versions 1..current_version
        and its text and content_hash are those of its last version; removed reports have
        removed_at and live ones do not.
        """
        problems = []
        result = self.db.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            problems.append(f"sqlite integrity_check: {result}")
        for row in self.db.execute("PRAGMA foreign_key_check").fetchall():
            problems.append(f"foreign key violation: table {row[0]} rowid {row[1]} -> {row[2]}")
        for row in self._all(
            """SELECT r.id, r.current_version, r.status, r.removed_at,
                      r.text = v.text AND r.content_hash = v.content_hash AS current_ok,
                      (SELECT count(*) FROM versions WHERE report_id = r.id) AS n,
                      (SELECT min(version) FROM versions WHERE report_id = r.id) AS lo,
                      (SELECT max(version) FROM versions WHERE report_id = r.id) AS hi
               FROM reports r LEFT JOIN versions v
                 ON v.report_id = r.id AND v.version = r.current_version"""
        ):
            if (row["n"], row["lo"], row["hi"]) != (row["current_version"], 1,
                                                   row["current_version"]):
                problems.append(
                    f"report {row['id']}: versions are not 1..{row['current_version']} "
                    f"({row['n']} rows, {row['lo']}..{row['hi']})")
            if not row["current_ok"]:
                problems.append(f"report {row['id']}: text/hash differ from its last version")
            if (row["status"] == STATUS_REMOVED) != (row["removed_at"] is not None):
                problems.append(f"report {row['id']}: status {row['status']} but removed_at "
                                f"{row['removed_at']!r}")
        return problems

"""The Store: the one API through which nianbao writes and reads its SQLite database.

History works like git-history: a report's identity is (agency_id, url), its content is the
sha256 of its whitespace-normalised text, and a version row is written only when that hash
changes. Removals and restorations are recorded too. Every write method is one transaction,
so a process killed at any moment leaves a consistent file.

One Store holds one connection; open it once per process and share it (Scrapy runs its
components in one thread). It is not safe to share across threads.
"""

from __future__ import annotations

import difflib
from collections import Counter
import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .daemon_api import DaemonMixin
from .db import connect, migrate, write_transaction
from .findings_api import FindingsMixin
from .models import (
    FINDING_CHANGED,
    FINDING_NEW,
    FINDING_REMOVED,
    FINDING_RESTORED,
    STATUS_LIVE,
    STATUS_REMOVED,
    AgencyRecord,
    AgencySummary,
    Outcome,
    ReportFetch,
    content_hash,
    normalize_text,
    utc_now,
)

ZLIB_LEVEL = 6
# finish_reason values of a crawl process that did not complete (set by the daemon).
CRAWL_FAILED_REASONS = ("timeout", "crashed", "failed")
# raw_encoding of a report stored as a document file rather than a decoded page.
BINARY_ENCODING = "binary"
# Caps on the diff excerpt kept in a `changed` finding's details.
DIFF_MAX_LINES = 40
DIFF_MAX_CHARS = 4000


def fetch_hash(fetch: ReportFetch) -> str:
    """What identifies a version: the text's hash; for a document with no text yet (a PDF or
    DOC stored as raw bytes), the hash of its bytes, so that a replaced file is a new version."""
    if fetch.text or fetch.raw_encoding != BINARY_ENCODING:
        return content_hash(fetch.text)
    return "raw:" + hashlib.sha256(bytes(fetch.raw_page)).hexdigest()


class StorageError(Exception):
    """Base of the store's errors; the message is meant for a person."""


class UnknownAgency(StorageError, LookupError):
    """A write named an agency id that is not in the agencies table."""


class UnknownCrawl(StorageError, LookupError):
    """A crawl id that `start_crawl` never returned."""


class UnknownVersion(StorageError, LookupError):
    """A version id that is not in the versions table."""


def _json(value: Any) -> str:
    # default=str: Scrapy stats hold datetimes; ensure_ascii=False keeps Chinese readable.
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


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


class Store(FindingsMixin, DaemonMixin):
    """nianbao's SQLite store. `Store(path)` opens the file (creating it and its parent
    directory), sets WAL and the other pragmas, and applies pending migrations.

    Use as a context manager or call `close()`. `db` is the underlying
    `sqlite_utils.Database` for reads the methods below do not cover; write through the
    methods so that history and findings stay consistent.
    """

    db: Database

    def __init__(self, path: str | os.PathLike):
        """path: the SQLite file, e.g. 'data/nianbao.db'."""
        self.path = Path(path)
        self.db = connect(self.path)
        # Names of the migrations this open applied; empty when the schema was current.
        self.applied_migrations: list[str] = migrate(self.db)

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection. Committed data is already safe; nothing is pending."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self):
        """The context of every write method: one transaction holding the write lock."""
        return write_transaction(self.db)

    def _one(self, sql: str, params: Sequence | Mapping = ()) -> sqlite3.Row | None:
        cursor = self.db.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchone()

    def _all(self, sql: str, params: Sequence | Mapping = ()) -> list[sqlite3.Row]:
        cursor = self.db.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    # -- agencies and crawls ---------------------------------------------------------------

    def sync_agencies(self, agencies: Iterable[AgencyRecord], *, prune: bool = False) -> None:
        """Insert or update agencies from the registry, in one transaction.

        agencies: agencies of the registry (all of them, or the subset a crawl covers). Rows
        are inserted or updated; updated_at changes only when a field does.
        prune: `agencies` is the whole registry: delete the agencies it does not list that
        nothing refers to (no report, finding or fetch_log row), and mark the others
        in_registry = 0. Off by default because a crawl syncs only the agencies it covers.
        Agencies with data are never deleted.
        """
        now = utc_now()
        records = list(agencies)
        ids = [a.id for a in records]
        duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
        if duplicates:
            raise ValueError(f"duplicate agency ids: {', '.join(duplicates)}")
        with self._write():
            # A crawl syncs its batch: read only those rows (pruning needs them all).
            existing = {row["id"]: row for row in (
                self._all("SELECT * FROM agencies") if prune else self._all(
                    "SELECT * FROM agencies WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),)))}
            for agency in records:
                values = (agency.name, agency.kind, agency.region, agency.start_year,
                          _json(list(agency.sources)), agency.deadline, 1)
                old = existing.get(agency.id)
                if old is None:
                    self.db.execute(
                        "INSERT INTO agencies (name, kind, region, start_year, sources, "
                        "deadline, in_registry, updated_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*values, now, agency.id),
                    )
                elif tuple(old[k] for k in ("name", "kind", "region", "start_year",
                                            "sources", "deadline", "in_registry")) != values:
                    self.db.execute(
                        "UPDATE agencies SET name = ?, kind = ?, region = ?, start_year = ?, "
                        "sources = ?, deadline = ?, in_registry = ?, updated_at = ? WHERE id = ?",
                        (*values, now, agency.id),
                    )
            if prune:
                keep = set(ids)
                for agency_id in existing.keys() - keep:
                    self.db.execute(
                        """DELETE FROM agencies WHERE id = :id
                           AND NOT EXISTS (SELECT 1 FROM reports WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM findings WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM fetch_log WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM crawl_agencies WHERE agency_id = :id)
                           AND NOT EXISTS (SELECT 1 FROM agency_schedule WHERE agency_id = :id)""",
                        {"id": agency_id},
                    )
                    # One with history stays, marked as no longer in the registry: the
                    # coverage view then stops expecting reports from it.
                    self.db.execute(
                        "UPDATE agencies SET in_registry = 0, updated_at = ? "
                        "WHERE id = ? AND in_registry = 1",
                        (now, agency_id),
                    )

    def start_crawl(self, agency_ids: Sequence[str], *, at: str | None = None) -> int:
        """Record the start of a crawl and return its id.

        agency_ids: the agencies this crawl covers (crawl_summary reports on each).
        at: start time, ISO-8601 UTC; now if None.
        """
        cursor = self.db.execute(
            "INSERT INTO crawls (started_at, agency_ids) VALUES (?, ?)",
            (at or utc_now(), json.dumps(list(agency_ids), ensure_ascii=False)),
        )
        return int(cursor.lastrowid)

    def finish_crawl(
        self, crawl_id: int, *, finish_reason: str, stats: Mapping, at: str | None = None
    ) -> None:
        """Record the end of a crawl.

        crawl_id: from start_crawl. finish_reason: e.g. Scrapy's 'finished', 'shutdown'.
        stats: the crawl's statistics (JSON-encoded; datetimes and other values become
        strings). at: end time, ISO-8601 UTC; now if None.
        Raises UnknownCrawl for an id start_crawl did not return.
        """
        at = at or utc_now()
        with self._write():
            cursor = self.db.execute(
                "UPDATE crawls SET finished_at = ?, finish_reason = ?, stats = ? WHERE id = ?",
                (at, finish_reason, _json(dict(stats)), crawl_id),
            )
            if cursor.rowcount == 0:
                raise UnknownCrawl(f"no crawl with id {crawl_id}")
            self._record_crawl_agencies(crawl_id, finish_reason, at)

    def _record_crawl_agencies(self, crawl_id: int, finish_reason: str, at: str) -> None:
        """One crawl_agencies row per agency of the crawl: its listing fetches and outcome.

        'errors' when a listing page of the agency failed; 'failed' when the crawl process
        did not complete (timeout, crash) before fetching any of the agency's listings; 'ok'
        when a completed crawl fetched its listings without error; otherwise 'unknown' (no
        listing fetched, or a crawl that died after fetching them): unknown says nothing.
        """
        crawl = self._one("SELECT started_at, agency_ids FROM crawls WHERE id = ?", (crawl_id,))
        counts = {
            row["agency_id"]: (row["fetches"], row["errors"])
            for row in self._all(
                "SELECT agency_id, count(*) AS fetches, "
                "sum(error IS NOT NULL OR status >= 400) AS errors FROM fetch_log "
                "WHERE crawl_id = ? AND purpose = 'listing' AND agency_id IS NOT NULL "
                "GROUP BY agency_id",
                (crawl_id,),
            )
        }
        for agency_id in json.loads(crawl["agency_ids"] or "[]"):
            fetches, errors = counts.get(agency_id, (0, 0))
            if errors:
                outcome = "errors"
            elif finish_reason in CRAWL_FAILED_REASONS:
                # The crawl process died: an agency it never reached could not be seen at all;
                # one whose listings it fetched may still have reports it did not get to.
                outcome = "unknown" if fetches else "failed"
            else:
                outcome = "ok" if fetches else "unknown"
            self.db.execute(
                "INSERT OR REPLACE INTO crawl_agencies (crawl_id, agency_id, started_at, "
                "finished_at, finish_reason, listing_fetches, listing_errors, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (crawl_id, agency_id, crawl["started_at"], at, finish_reason, fetches, errors, outcome),
            )

    # -- fetch log -------------------------------------------------------------------------

    def log_fetch(
        self,
        *,
        crawl_id: int | None,
        agency_id: str | None,
        url: str,
        method: str = "GET",
        status: int | None,
        error: str | None,
        duration_ms: int | None = None,
        size_bytes: int | None = None,
        purpose: str | None = None,
        fetched_at: str | None = None,
    ) -> None:
        """Append one request to fetch_log (committed at once: one small WAL commit).

        crawl_id: the crawl, or None outside one. agency_id: the agency the request was
        for, None when it is for no agency (robots.txt). url: the requested URL.
        method: HTTP method. status: HTTP status, None when no response came. error: a
        readable reason for a failure (timeout, DNS, 404...), None on success.
        duration_ms: time to the response. size_bytes: body size. purpose: why it was
        fetched, one of FETCH_PURPOSES or another word. fetched_at: ISO-8601 UTC, now if None.
        Raises StorageError if crawl_id or agency_id does not exist.
        """
        try:
            self.db.execute(
                "INSERT INTO fetch_log (crawl_id, agency_id, url, method, status, error, "
                "fetched_at, duration_ms, size_bytes, purpose) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (crawl_id, agency_id, url, method, status, error, fetched_at or utc_now(),
                 duration_ms, size_bytes, purpose),
            )
        except sqlite3.IntegrityError as exc:
            raise StorageError(
                f"cannot log fetch of {url}: crawl {crawl_id!r} or agency {agency_id!r} "
                f"does not exist ({exc})"
            ) from exc

    # -- reports ---------------------------------------------------------------------------

    def _check_refs(self, agency_id: str, crawl_id: int | None) -> None:
        if self._one("SELECT 1 FROM agencies WHERE id = ?", (agency_id,)) is None:
            raise UnknownAgency(
                f"agency {agency_id!r} is not in the agencies table; sync_agencies() first"
            )
        if crawl_id is not None and self._one(
            "SELECT 1 FROM crawls WHERE id = ?", (crawl_id,)
        ) is None:
            raise UnknownCrawl(f"no crawl with id {crawl_id}")

    def _finding(self, kind: str, report: Mapping, at: str, crawl_id: int | None,
                 details: Mapping) -> None:
        self.db.execute(
            "INSERT INTO findings (kind, agency_id, year, report_id, detected_at, details, "
            "crawl_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (kind, report["agency_id"], report["year"], report["id"], at, _json(details),
             crawl_id),
        )

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

    def record_report(self, fetch: ReportFetch) -> str:
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
                     _json(list(fetch.attachments)), fetch.final_url, fetch.title_year,
                     fetch.text_year, fetch.year_basis),
                ).lastrowid
                self._version(report_id, 1, fetch, digest)
                report = {"id": report_id, "agency_id": fetch.agency_id, "year": fetch.year}
                self._finding(FINDING_NEW, report, at, fetch.crawl_id,
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
                self._finding(FINDING_CHANGED, report, at, fetch.crawl_id, details)
            if restored:
                self.db.execute(
                    "UPDATE reports SET status = 'live', removed_at = NULL WHERE id = ?",
                    (row["id"],),
                )
                self._finding(FINDING_RESTORED, report, at, fetch.crawl_id,
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
                 "attachments": _json(list(fetch.attachments)),
                 "final_url": fetch.final_url, "title_year": fetch.title_year,
                 "text_year": fetch.text_year, "year_basis": fetch.year_basis, "id": row["id"]},
            )
            outcome = (Outcome.RESTORED if restored
                       else Outcome.CHANGED if changed else Outcome.UNCHANGED)
            self._sighting(row["id"], fetch, outcome, version)
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
            self._finding(FINDING_REMOVED, row, at, crawl_id,
                          {"http_status": http_status, "url": url, "title": row["title"],
                           "version": row["current_version"]})
            return True

    # -- reads -----------------------------------------------------------------------------

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

    def crawl_summary(self, crawl_id: int) -> list[AgencySummary]:
        """One AgencySummary per agency of the crawl, in the order given to start_crawl,
        then any other agency the crawl touched; agencies with nothing to report included.

        crawl_id: from start_crawl. Raises UnknownCrawl.
        """
        crawl = self._one("SELECT agency_ids FROM crawls WHERE id = ?", (crawl_id,))
        if crawl is None:
            raise UnknownCrawl(f"no crawl with id {crawl_id}")
        order: list[str] = list(dict.fromkeys(json.loads(crawl["agency_ids"] or "[]")))
        counts: dict[str, dict[str, int]] = {}

        def bump(agency_id: str | None, key: str, n: int) -> None:
            if agency_id is None:
                return
            if agency_id not in counts:
                counts[agency_id] = {}
                if agency_id not in order:
                    order.append(agency_id)
            counts[agency_id][key] = counts[agency_id].get(key, 0) + n

        for row in self._all(
            "SELECT agency_id, count(DISTINCT report_id) AS n FROM sightings "
            "WHERE crawl_id = ? GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "reports_found", row["n"])
        for row in self._all(
            "SELECT agency_id, kind, count(*) AS n FROM findings WHERE crawl_id = ? "
            "GROUP BY agency_id, kind", (crawl_id,)
        ):
            bump(row["agency_id"], row["kind"], row["n"])
        for row in self._all(
            "SELECT agency_id, count(*) AS n FROM fetch_log WHERE crawl_id = ? "
            "AND (error IS NOT NULL OR status >= 400) GROUP BY agency_id", (crawl_id,)
        ):
            bump(row["agency_id"], "fetch_errors", row["n"])

        names = {row["id"]: row["name"] for row in self.agency_rows(order)}
        summaries = []
        for agency_id in order:
            c = counts.get(agency_id, {})
            summaries.append(AgencySummary(
                agency_id=agency_id,
                name=names.get(agency_id, agency_id),
                reports_found=c.get("reports_found", 0),
                new=c.get(FINDING_NEW, 0),
                changed=c.get(FINDING_CHANGED, 0),
                removed=c.get(FINDING_REMOVED, 0),
                restored=c.get(FINDING_RESTORED, 0),
                fetch_errors=c.get("fetch_errors", 0),
            ))
        return summaries

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

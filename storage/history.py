"""Report history: reports, their versions, sightings, removals and restorations.

History works like git-history: a report's identity is (agency_id, url), its content is the
sha256 of its whitespace-normalised text, and a version row is written only when that hash
changes. Removals and restorations are recorded too. Every write method is one transaction,
so a process killed at any moment leaves a consistent file.
"""

from __future__ import annotations

import difflib
import hashlib
import sqlite3
import zlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import UnknownAgency, UnknownCrawl, UnknownVersion
from .findings import insert_finding
from .freshness import remember_validators
from .moves import ALIAS, MATCH_REDIRECT, apply_move, find_move, record_url
from .models import (
    BINARY_ENCODING,
    FINDING_CHANGED,
    FINDING_MOVED,
    FINDING_NEW,
    FINDING_REMOVED,
    FINDING_RESTORED,
    SOURCE_CRAWL,
    SOURCE_REEXTRACT,
    STATUS_LIVE,
    STATUS_REMOVED,
    Outcome,
    ReportFetch,
    Reextraction,
    content_hash,
    normalize_text,
    utc_now,
)
from .attachments import insert_attachments, same_page_more_files
from .part import StorePart, ids_filter, to_json
from .stats import has_stats, insert_stats


# What record_report reads of a known report.
_RECORD_COLUMNS = ("id, agency_id, year, status, current_version, content_hash, text, removed_at, "
                   "url, last_seen, published_date")


def _raw_bytes(stored: bytes | None) -> bytes:
    return zlib.decompress(stored) if stored is not None else b""


def _newer_or_unknown(new: int | None, old: int | None, *, strictly: bool = False) -> bool:
    """May a text made by extractor `new` replace one made by `old`? Not when `new` is older
    (an old nianbao must not undo a newer extraction); unknown versions (None) may."""
    if new is None or old is None:
        return True
    return new > old if strictly else new >= old


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
            "raw_page, raw_encoding, raw_size, final_url, crawl_id, extractor_version, source, "
            "extracted_at, listing_title, listing_date) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report_id, version, fetch.fetched_at, digest, fetch.text, fetch.title,
             zlib.compress(raw, ZLIB_LEVEL), fetch.raw_encoding, len(raw), fetch.final_url,
             fetch.crawl_id, fetch.extractor_version, SOURCE_CRAWL, fetch.fetched_at,
             fetch.listing_title, fetch.listing_date),
        )
        insert_stats(self.db, report_id, version, fetch.figures, fetch.checks)

    def same_raw(self, report_id: int, version: int, fetch: ReportFetch) -> sqlite3.Row | None:
        """The raw owner of the report's version n when its bytes are the fetch's, else None."""
        owner = self._raw_owner(report_id, version)
        if owner is not None and _raw_bytes(owner["raw_page"]) == bytes(fetch.raw_page):
            return owner
        return None

    def _raw_owner(self, report_id: int, version: int) -> sqlite3.Row:
        """The crawl version holding the raw page of a report's version n (itself, or the one
        a re-extraction read): its id, raw_page, extractor_version of version n."""
        return self._one(
            "SELECT coalesce(v.raw_version_id, v.id) AS raw_id, v.extractor_version, "
            "(SELECT raw_page FROM versions o WHERE o.id = coalesce(v.raw_version_id, v.id)) "
            "AS raw_page FROM versions v WHERE v.report_id = ? AND v.version = ?",
            (report_id, version))

    def record_report(self, fetch: ReportFetch, *, held: Mapping[str, Any] | None = None) -> str:
        """Record one fetched report page, in one transaction; return an Outcome.

        fetch: the page and what was extracted from it.
        - First sight: a report row, version 1 and a `new` finding -> Outcome.NEW.
        - Text hash unchanged: no version, no finding; last_seen and last_crawl_id move on,
          and year, published_date, attachments and final_url are filled if they were
          empty -> Outcome.UNCHANGED.
        - Text hash changed: version n+1, the report's text/title/hash follow it, and one
          `changed` finding with a capped diff -> Outcome.CHANGED.
        - Text hash changed but the raw page is byte for byte the current version's (and the
          fetch names its extractor_version): the extraction changed, not the report. A
          re-extraction version (source 'reextract', no finding) when the fetch's extractor is
          at least as new as the stored text's, else nothing -> Outcome.UNCHANGED.
        - Text hash changed, and the page's bytes are the current version's but read with more
          files than before (storage.attachments.same_page_more_files: its attachments read for
          the first time, or one that failed before): version n+1, no finding -> Outcome.UNCHANGED.
        fetch.files get one `attachments` row each with the version recorded (the current one
        when nothing changed), each file stored once by hash.
        - A removed report is back: status 'live' again and a `restored` finding (plus the
          `changed` finding and version if the text differs) -> Outcome.RESTORED.
        - An unknown URL whose page is a known report of the agency (storage/moves.py: the same
          content hash, or the same year and nearly the same text where the old URL answered
          as gone): the report moved. Its url follows, the old URL stays in report_urls, one
          `moved` finding (its details say whether the text changed; no `changed` finding, no
          `new`) -> Outcome.MOVED. An older URL of a report answering with its text is that
          report (a sighting, no finding).
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
                f"SELECT {_RECORD_COLUMNS} FROM reports WHERE agency_id = ? AND url = ?",
                (fetch.agency_id, fetch.url),
            )
            move = moved_from = None
            if row is None:
                move = find_move(self.db, fetch, digest)
                if move is not None:
                    row = self._one(f"SELECT {_RECORD_COLUMNS} FROM reports WHERE id = ?",
                                    (move.report_id,))
                    if move.how != ALIAS:
                        moved_from = apply_move(self.db, row, fetch, move)
            if row is None:
                self._check_counts_for(fetch.counts_for)
                report_id = self.db.execute(
                    "INSERT INTO reports (agency_id, year, kind, title, url, published_date, "
                    "status, first_seen, last_seen, text, current_version, content_hash, "
                    "last_crawl_id, attachments, final_url, title_year, text_year, year_basis, "
                    "published_basis, date_evidence, issuer, counts_for) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'live', ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (fetch.agency_id, fetch.year, fetch.kind, fetch.title, fetch.url,
                     fetch.published_date, at, at, fetch.text, digest, fetch.crawl_id,
                     to_json(list(fetch.attachments)), fetch.final_url, fetch.title_year,
                     fetch.text_year, fetch.year_basis, fetch.published_basis,
                     to_json(list(fetch.date_evidence)), fetch.issuer, fetch.counts_for),
                ).lastrowid
                self._version(report_id, 1, fetch, digest)
                record_url(self.db, report_id, fetch.agency_id, fetch.url, at)
                self._redirect_url(report_id, fetch)
                self._attachments(report_id, 1, fetch)
                report = {"id": report_id, "agency_id": fetch.agency_id, "year": fetch.year}
                insert_finding(self.db, FINDING_NEW, report, at, fetch.crawl_id,
                              {"title": fetch.title, "url": fetch.url})
                self._sighting(report_id, fetch, Outcome.NEW, 1)
                self._remember(report_id, 1, fetch)
                return Outcome.NEW

            report = {"id": row["id"], "agency_id": row["agency_id"],
                      "year": row["year"] if row["year"] is not None else fetch.year}
            version = row["current_version"]
            changed = row["content_hash"] != digest
            restored = row["status"] == STATUS_REMOVED
            more_files = changed and fetch.files_read_first
            if changed and fetch.extractor_version is not None and not more_files:
                # The same bytes as the current version's page with another text: extraction
                # changed (a newer extractor, or a library it uses), not the report. (A fetch
                # that names no extractor brings a text of its own: compared as it is.)
                owner = self.same_raw(row["id"], version, fetch)
                if owner is not None:
                    changed = False
                    if _newer_or_unknown(fetch.extractor_version, owner["extractor_version"]):
                        version = self._reextracted(row, owner["raw_id"], fetch, digest)
                else:
                    # The same page read with more of its files than before (attachments read
                    # for the first time, or one that failed before): a version, no finding.
                    owner = self._raw_owner(row["id"], version)
                    more_files = owner is not None and same_page_more_files(
                        _raw_bytes(owner["raw_page"]), bytes(fetch.raw_page))
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
                if moved_from is None and not more_files:  # a move says itself whether the text changed
                    insert_finding(self.db, FINDING_CHANGED, report, at, fetch.crawl_id, details)
            if moved_from is not None:
                moved = {"from_url": moved_from, "to_url": fetch.url, "title": fetch.title,
                         "matched_by": move.how, "text_changed": changed,
                         "published_date": row["published_date"]}
                if move.similarity is not None:
                    moved["similarity"] = move.similarity
                if changed:
                    moved.update({key: details[key] for key in ("from_version", "to_version",
                                                                "lines_added", "lines_removed")})
                insert_finding(self.db, FINDING_MOVED, report, at, fetch.crawl_id, moved)
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
                       published_basis = CASE WHEN published_date IS NULL THEN :published_basis
                                              ELSE published_basis END,
                       date_evidence = CASE WHEN published_date IS NULL AND :published_date
                                              IS NOT NULL THEN :date_evidence
                                            ELSE date_evidence END,
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
                 "published_basis": fetch.published_basis,
                 "date_evidence": to_json(list(fetch.date_evidence)),
                 "attachments": to_json(list(fetch.attachments)),
                 "final_url": fetch.final_url, "title_year": fetch.title_year,
                 "text_year": fetch.text_year, "year_basis": fetch.year_basis, "id": row["id"]},
            )
            if not changed and (fetch.figures or fetch.checks) and not has_stats(
                    self.db, row["id"], version):
                # a version stored before its figures were read (an older store): fill them
                insert_stats(self.db, row["id"], version, fetch.figures, fetch.checks)
            record_url(self.db, row["id"], fetch.agency_id, fetch.url, at)
            self._redirect_url(row["id"], fetch)
            self._attachments(row["id"], version, fetch)
            outcome = (Outcome.RESTORED if restored else Outcome.MOVED if moved_from is not None
                       else Outcome.CHANGED if changed and not more_files else Outcome.UNCHANGED)
            self._sighting(row["id"], fetch, outcome, version)
            self._remember(row["id"], version, fetch)
            self.db.execute(
                "UPDATE pending_findings SET resolved_at = ?, resolution = ? "
                "WHERE report_id = ? AND resolved_at IS NULL",
                (at, "confirmed" if held else "cleared", row["id"]),
            )
            return outcome

    def _redirect_url(self, report_id: int, fetch: ReportFetch) -> None:
        """The report's URL redirected elsewhere: the target is one of its URLs too, so that a
        listing linking the target finds this report (storage/moves.py), not a new one."""
        if fetch.final_url and fetch.final_url != fetch.url:
            record_url(self.db, report_id, fetch.agency_id, fetch.final_url, fetch.fetched_at,
                       matched_by=MATCH_REDIRECT)

    def _attachments(self, report_id: int, version: int, fetch: ReportFetch) -> None:
        insert_attachments(self.db, report_id, version, fetch.files, at=fetch.fetched_at,
                           crawl_id=fetch.crawl_id, extractor_version=fetch.extractor_version)

    def _sighting(self, report_id: int, fetch: ReportFetch, outcome: Outcome,
                  version: int) -> None:
        self.db.execute(
            "INSERT INTO sightings (crawl_id, report_id, agency_id, seen_at, outcome, version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (fetch.crawl_id, report_id, fetch.agency_id, fetch.fetched_at, outcome.value,
             version),
        )

    def _remember(self, report_id: int, version: int, fetch: ReportFetch) -> None:
        """The page that became (or confirmed) the current version: what the next crawl
        compares with (report_validators). Only for text nianbao's extractor made, and not
        for a page that links files: its bytes (or a 304) say nothing of its files, which may
        change behind the same links or be read for the first time; such a page is fetched
        whole, files too (a file whose bytes were read before is not read again)."""
        if fetch.extractor_version is not None and not fetch.attachments:
            remember_validators(self.db, report_id, version, raw_page=fetch.raw_page, etag=fetch.etag,
                                last_modified=fetch.last_modified,
                                extractor_version=fetch.extractor_version, at=fetch.fetched_at)

    # -- re-extraction: a newer extractor reads a stored page again ----------------------------

    def _check_counts_for(self, agency_id: str | None) -> None:
        if agency_id is not None and self._one(
                "SELECT 1 FROM agencies WHERE id = ?", (agency_id,)) is None:
            raise UnknownAgency(f"counts_for {agency_id!r} is not in the agencies table")

    def _reextracted(self, row: Mapping[str, Any], raw_id: int, fetch: ReportFetch,
                     digest: str) -> int:
        """A fetch whose bytes are the current version's, with another text: a re-extraction
        version (no finding); returns the report's version number after it."""
        version = row["current_version"] + 1
        self._insert_reextraction(row["id"], version, raw_id, digest, fetch.text, fetch.title,
                                  fetch.extractor_version, fetch.fetched_at, fetch.crawl_id)
        insert_stats(self.db, row["id"], version, fetch.figures, fetch.checks)
        self.db.execute(
            "UPDATE reports SET text = ?, content_hash = ?, current_version = ? WHERE id = ?",
            (fetch.text, digest, version, row["id"]))
        self._take_extraction(row["id"], fetch, fetch.counts_for)
        return version

    def _take_extraction(self, report_id: int, source: ReportFetch | Reextraction,
                         counts_for: str | None) -> None:
        """The report takes what a newer extraction of the same page says of it: title, kind,
        year, date (with basis and evidence: a date it does not find keeps the stored one),
        attachments, issuer and counts_for."""
        self._check_counts_for(counts_for)
        self.db.execute(
            """UPDATE reports SET title = :title, kind = :kind,
                   year = coalesce(:year, year), title_year = :title_year,
                   text_year = :text_year, year_basis = coalesce(:year_basis, year_basis),
                   published_basis = CASE WHEN :date IS NULL THEN published_basis
                                          ELSE :basis END,
                   date_evidence = CASE WHEN :date IS NULL THEN date_evidence
                                        ELSE :evidence END,
                   published_date = coalesce(:date, published_date),
                   attachments = :attachments, issuer = :issuer, counts_for = :counts_for
               WHERE id = :id""",
            {"title": source.title, "kind": source.kind, "year": source.year,
             "title_year": source.title_year, "text_year": source.text_year,
             "year_basis": source.year_basis, "date": source.published_date,
             "basis": source.published_basis, "evidence": to_json(list(source.date_evidence)),
             "attachments": to_json(list(source.attachments)), "issuer": source.issuer,
             "counts_for": counts_for, "id": report_id})

    def _insert_reextraction(self, report_id: int, version: int, raw_id: int, digest: str,
                             text: str, title: str, extractor_version: int | None, at: str,
                             crawl_id: int | None) -> None:
        # The raw page stays in its crawl version (raw_version_id points at it); the fetch
        # time, encoding, size, final URL and listing are that page's.
        self.db.execute(
            """INSERT INTO versions (report_id, version, fetched_at, content_hash, text, title,
                   raw_page, raw_encoding, raw_size, final_url, crawl_id, extractor_version,
                   source, raw_version_id, extracted_at, listing_title, listing_date)
               SELECT ?, ?, fetched_at, ?, ?, ?, NULL, raw_encoding, raw_size, final_url, ?, ?,
                      ?, id, ?, listing_title, listing_date
               FROM versions WHERE id = ?""",
            (report_id, version, digest, text, title, crawl_id, extractor_version,
             SOURCE_REEXTRACT, at, raw_id))

    def record_reextraction(self, redo: Reextraction) -> str:
        """Record what a newer extractor made of a report's stored raw page; one transaction.

        Not a change of the report: no finding, no sighting, no notification. Returns:
        - 'reextracted': the text differs; a version n+1 with source 'reextract' (pointing at
          the raw page it read) becomes current, and the report takes the extraction's text,
          title, kind, year, date (with its basis and evidence), attachments and issuer;
        - 'same': the text is the same; the report takes the extraction's metadata and the
          current version records the newer extractor_version;
        - 'stale': the raw page read is no longer the current version's (a crawl recorded a
          newer page meanwhile), or an extractor at least as new already made the current
          text: nothing is written.
        A date the extraction does not find keeps the stored one. Raises UnknownVersion.
        """
        at = redo.extracted_at or utc_now()
        with self._write():
            row = self._one(
                "SELECT r.id, r.agency_id, r.current_version, r.content_hash, v.raw_encoding, "
                "coalesce(v.raw_version_id, v.id) AS raw_id, v.id AS version_id, "
                "v.extractor_version FROM reports r JOIN versions v ON v.report_id = r.id "
                "AND v.version = r.current_version WHERE r.id = ?", (redo.report_id,))
            if row is None:
                raise UnknownVersion(f"no report with id {redo.report_id}")
            if row["raw_id"] != redo.raw_version_id or not _newer_or_unknown(
                    redo.extractor_version, row["extractor_version"], strictly=True):
                return "stale"
            digest = content_hash(redo.text)
            if not redo.text and row["raw_encoding"] == BINARY_ENCODING:
                # a document without text is identified by its bytes, as when it was fetched
                digest = "raw:" + hashlib.sha256(self.raw_page(row["raw_id"])).hexdigest()
            if row["content_hash"] == digest:
                outcome = "same"
                self.db.execute("UPDATE versions SET extractor_version = ? WHERE id = ?",
                                (redo.extractor_version, row["version_id"]))
                # the same text read by a newer extractor: its figures replace the older ones
                insert_stats(self.db, redo.report_id, row["current_version"], redo.figures,
                             redo.checks, replace=True)
            else:
                outcome = "reextracted"
                version = row["current_version"] + 1
                self._insert_reextraction(redo.report_id, version, row["raw_id"], digest,
                                          redo.text, redo.title, redo.extractor_version, at,
                                          redo.crawl_id)
                insert_stats(self.db, redo.report_id, version, redo.figures, redo.checks)
                self.db.execute(
                    "UPDATE reports SET text = ?, content_hash = ?, current_version = ? "
                    "WHERE id = ?", (redo.text, digest, version, redo.report_id))
                insert_attachments(self.db, redo.report_id, version, redo.files, at=at,
                                   crawl_id=redo.crawl_id, extractor_version=redo.extractor_version)
            # no issuer named: the host's, whatever the caller resolved
            self._take_extraction(redo.report_id, redo,
                                  row["agency_id"] if redo.issuer is None else redo.counts_for)
            return outcome

    def stored_pages(self, agency_ids: Sequence[str] | None = None, *,
                     older_than: int | None = None, report_id: int | None = None) -> list[dict]:
        """The current version of each report, as re-extraction needs it (no bytes).

        agency_ids: only these agencies' reports (all when None). older_than: only versions
        whose extractor_version is lower (or unknown). report_id: only this report.
        Each dict: report_id, agency_id, url,
        final_url, raw_version_id (the crawl version holding the raw page), raw_encoding,
        extractor_version, title, listing_title, listing_date (the listing's date, from the
        version or else from the report's date evidence), date_evidence; by report id.
        """
        where, params = ids_filter("r.agency_id", agency_ids)
        rows = self._all(
            f"""SELECT r.id AS report_id, r.agency_id, r.url, v.final_url,
                       coalesce(v.raw_version_id, v.id) AS raw_version_id, v.raw_encoding,
                       v.extractor_version, v.title, v.listing_title, v.listing_date,
                       r.date_evidence
                FROM reports r JOIN versions v
                  ON v.report_id = r.id AND v.version = r.current_version
                WHERE {where} AND (? IS NULL OR v.extractor_version IS NULL
                                   OR v.extractor_version < ?)
                  AND (? IS NULL OR r.id = ?)
                ORDER BY r.id""",
            [*params, older_than, older_than, report_id, report_id],
        )
        pages = []
        for row in rows:
            page = dict(row)
            evidence = json.loads(page.pop("date_evidence") or "[]")
            if page["listing_date"] is None:
                page["listing_date"] = next((e["date"] for e in evidence
                                             if e.get("source") == "listing"), None)
            pages.append(page)
        return pages

    def reassign(self, resolve: Callable[[str, str], str | None],
                 registry_sha256: str | None = None) -> int:
        """Recompute counts_for of every report that names an issuer; return how many changed.

        resolve(host agency id, issuer) -> the agency id it counts for, or None (outside the
        registry): e.g. config.issuers.IssuerIndex(registry.agencies).counts_for. Run when the
        registry may have changed (`nianbao check` does): an agency added to the registry
        takes over the reports that name it, wherever they were found.
        registry_sha256: the registry file's hash, when known: each (host, issuer) is then
        resolved once per registry file and remembered in issuer_resolutions (a resolution
        costs tens of microseconds, and a national store names some 150,000 pairs); reports
        whose counts_for differs from the remembered answer are still corrected every time.
        """
        changed = 0
        with self._write():
            if registry_sha256:
                self.db.execute("DELETE FROM issuer_resolutions WHERE registry_sha256 <> ?",
                                (registry_sha256,))
            pairs = self._all(
                "SELECT t.agency_id, t.issuer, t.counts_for, x.counts_for AS resolved, "
                "x.agency_id IS NOT NULL AS remembered "
                "FROM (SELECT DISTINCT agency_id, issuer, counts_for FROM reports "
                "      WHERE issuer IS NOT NULL) t "
                "LEFT JOIN issuer_resolutions x ON x.agency_id = t.agency_id "
                "AND x.issuer = t.issuer")
            known = {row[0] for row in self._all("SELECT id FROM agencies")} if pairs else set()
            for pair in pairs:
                if registry_sha256 and pair["remembered"]:
                    wanted = pair["resolved"]
                else:
                    wanted = resolve(pair["agency_id"], pair["issuer"])
                    if wanted not in known:
                        wanted = None
                    if registry_sha256:
                        self.db.execute(
                            "INSERT OR REPLACE INTO issuer_resolutions (agency_id, issuer, "
                            "counts_for, registry_sha256) VALUES (?, ?, ?, ?)",
                            (pair["agency_id"], pair["issuer"], wanted, registry_sha256))
                if wanted != pair["counts_for"]:
                    changed += self.db.execute(
                        "UPDATE reports SET counts_for = ? WHERE agency_id = ? AND issuer = ? "
                        "AND counts_for IS ?",
                        (wanted, pair["agency_id"], pair["issuer"], pair["counts_for"])).rowcount
        return changed

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

    def known_report(self, agency_id: str, url: str) -> dict | None:
        """What the store holds for a report URL: id, kind, title, status, text_length,
        content_hash; of its current version raw_encoding ('binary' for a document file),
        extractor_version and raw_version_id (the crawl version holding its raw page); and
        raw_tail, the last RAW_TAIL_BYTES of that raw page (how the page ended). None if unknown."""
        row = self._one(
            "SELECT r.id, r.kind, r.title, r.status, length(r.text) AS text_length, r.content_hash, "
            "v.raw_encoding, v.extractor_version, coalesce(v.raw_version_id, v.id) AS raw_version_id, "
            "raw.raw_page FROM reports r LEFT JOIN versions v ON v.report_id = r.id "
            "AND v.version = r.current_version "
            "LEFT JOIN versions raw ON raw.id = coalesce(v.raw_version_id, v.id) "
            "WHERE r.agency_id = ? AND r.url = ?",
            (agency_id, url),
        )
        if row is None:
            return None
        known = {key: row[key] for key in row.keys() if key != "raw_page"}
        page = row["raw_page"] if row["raw_encoding"] != BINARY_ENCODING else None  # a PDF can be large
        known["raw_tail"] = zlib.decompress(page)[-RAW_TAIL_BYTES:] if page else b""
        return known

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
        extraction; for a re-extraction, those of the page it read. version_id: versions.id.
        Raises UnknownVersion."""
        row = self._one(
            "SELECT coalesce((SELECT o.raw_page FROM versions o WHERE o.id = v.raw_version_id), "
            "v.raw_page) AS raw_page FROM versions v WHERE v.id = ?", (version_id,))
        if row is None:
            raise UnknownVersion(f"no version with id {version_id}")
        return _raw_bytes(row["raw_page"])

    def integrity_problems(self) -> list[str]:
        """Check the history invariants; return readable problems (empty when all is well).

        SQLite's integrity and foreign-key checks; every report has versions 1..current_version
        and its text and content_hash are those of its last version; removed reports have
        removed_at and live ones do not; a report naming no issuer counts for its host; a
        crawl version holds its raw page and a re-extraction points at a crawl version of the
        same report.
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
        for row in self._all("SELECT id FROM reports WHERE issuer IS NULL "
                             "AND counts_for IS NOT agency_id"):
            problems.append(f"report {row['id']}: no issuer named but counts_for is not its host")
        for row in self._all(
            """SELECT v.id, v.report_id, v.source, v.raw_version_id, o.report_id AS raw_report,
                      o.source AS raw_source, v.raw_page IS NULL AS no_raw
               FROM versions v LEFT JOIN versions o ON o.id = v.raw_version_id
               WHERE NOT ((v.source = :crawl AND v.raw_version_id IS NULL AND v.raw_page IS NOT NULL)
                       OR (v.source = :redo AND o.source = :crawl AND o.report_id = v.report_id
                           AND v.raw_page IS NULL))""",
            {"crawl": SOURCE_CRAWL, "redo": SOURCE_REEXTRACT},
        ):
            problems.append(f"version {row['id']} of report {row['report_id']}: source "
                            f"{row['source']!r} with raw_version_id {row['raw_version_id']!r} "
                            f"(of report {row['raw_report']}, {row['raw_source']!r}), "
                            f"{'no raw page' if row['no_raw'] else 'a raw page'}")
        return problems

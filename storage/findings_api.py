"""Store methods for the monitor: the deadline table, findings raised once, coverage inputs.

Mixed into `Store` (storage/store.py), which provides `db`, `_one` and `_all`. Like the rest of
storage, these take and return plain values: the monitor decides what is missing or late, the
store only keeps the table, the findings and answers the reads that decision needs.

A finding that must be raised once carries a `dedup_key`; a unique index on it makes a second
insert a no-op, so re-runs of `nianbao check`, the daemon and two processes at once can all
try to raise the same finding and exactly one row results.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .models import FINDING_KINDS, utc_now

# Columns of deadline_rules, in the order a rule given as a plain tuple lists them.
RULE_FIELDS = ("first_year", "last_year", "agency_kind", "month", "day", "basis")
# How many failing listing fetches of one crawl `agency_crawls` keeps as examples.
ERROR_SAMPLES = 3


def _ids_filter(column: str, agency_ids: Sequence[str] | None) -> tuple[str, list]:
    """SQL condition and params restricting `column` to agency_ids (all when None)."""
    if agency_ids is None:
        return "1", []
    return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(list(agency_ids))]


def _rule_values(rule: Any) -> tuple:
    if isinstance(rule, Sequence):
        values = tuple(rule)
        if len(values) != len(RULE_FIELDS):
            raise ValueError(f"a deadline rule has {len(RULE_FIELDS)} values, got {values!r}")
        return values
    return tuple(getattr(rule, name) for name in RULE_FIELDS)


class FindingsMixin:
    """Deadline rules, deduplicated findings and the reads `monitor.findings` needs."""

    # -- writes ----------------------------------------------------------------------------

    def sync_deadline_rules(self, rules: Iterable[Any]) -> bool:
        """Replace the deadline_rules table with `rules`, in one transaction.

        rules: the legal table, each rule an object with the attributes first_year,
        last_year, agency_kind, month, day, basis (e.g. config.deadlines.DeadlineRule) or a
        tuple of those six values in that order. Returns True if the table changed; an
        unchanged table is not rewritten.
        """
        wanted = sorted((_rule_values(rule) for rule in rules), key=repr)
        with self._write():
            current = sorted(
                (tuple(row) for row in self._all(f"SELECT {', '.join(RULE_FIELDS)} FROM deadline_rules")),
                key=repr,
            )
            if current == wanted:
                return False
            self.db.execute("DELETE FROM deadline_rules")
            for values in wanted:
                self.db.execute(
                    f"INSERT INTO deadline_rules ({', '.join(RULE_FIELDS)}) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )
        return True

    def record_finding(
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
            raise ValueError("record_finding needs a dedup_key")
        from .store import StorageError, _json  # store.py imports this module

        try:
            with self._write():
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO findings (kind, agency_id, year, report_id, "
                    "detected_at, details, crawl_id, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (kind, agency_id, year, report_id, at or utc_now(), _json(dict(details)),
                     crawl_id, dedup_key),
                )
        except sqlite3.IntegrityError as exc:  # OR IGNORE does not cover foreign keys
            raise StorageError(
                f"cannot record {kind} finding {dedup_key!r}: agency {agency_id!r}, report "
                f"{report_id!r} or crawl {crawl_id!r} does not exist ({exc})"
            ) from exc
        return int(cursor.lastrowid) if cursor.rowcount == 1 else None

    # -- reads -----------------------------------------------------------------------------

    def agency_rows(self, agency_ids: Sequence[str] | None = None) -> list[dict]:
        """Agencies as stored: id, name, kind, start_year, deadline; ordered by id.

        agency_ids: only these (all when None).
        """
        where, params = _ids_filter("id", agency_ids)
        return [dict(row) for row in self._all(
            f"SELECT id, name, kind, start_year, deadline FROM agencies WHERE {where} ORDER BY id",
            params,
        )]

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
        where, params = _ids_filter("agency_id", agency_ids)
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

    def findings(
        self, kind: str | None = None, *, agency_id: str | None = None
    ) -> list[dict]:
        """Findings (details decoded), oldest first. kind, agency_id: filters (None: any)."""
        rows = self._all(
            "SELECT * FROM findings WHERE (:kind IS NULL OR kind = :kind) "
            "AND (:agency IS NULL OR agency_id = :agency) ORDER BY id",
            {"kind": kind, "agency": agency_id},
        )
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]

    def dedup_keys(self, kind: str) -> set[str]:
        """The dedup_keys of the findings of `kind` raised so far."""
        return {row[0] for row in self._all(
            "SELECT dedup_key FROM findings WHERE kind = ? AND dedup_key IS NOT NULL", (kind,)
        )}

    def agency_crawls(
        self, agency_id: str, *, before_id: int | None = None, limit: int = 50
    ) -> list[dict]:
        """The finished crawls that covered `agency_id`, newest first (from crawl_agencies).

        before_id: only crawls with a smaller id (to page back in time). limit: at most this
        many. Each dict: id, started_at, finished_at, finish_reason, listing_fetches,
        listing_errors, outcome ('ok' | 'errors' | 'failed' | 'unknown') and errors (up to
        ERROR_SAMPLES failed listing requests: url, status, error).
        """
        rows = [dict(row) for row in self._all(
            """SELECT crawl_id AS id, started_at, finished_at, finish_reason, listing_fetches,
                      listing_errors, outcome
               FROM crawl_agencies
               WHERE agency_id = :agency AND (:before IS NULL OR crawl_id < :before)
               ORDER BY crawl_id DESC LIMIT :limit""",
            {"agency": agency_id, "before": before_id, "limit": limit},
        )]
        for row in rows:
            row["errors"] = [dict(error) for error in self._all(
                "SELECT url, status, error FROM fetch_log WHERE crawl_id = ? AND agency_id = ? "
                "AND purpose = 'listing' AND (error IS NOT NULL OR status >= 400) "
                "ORDER BY id LIMIT ?",
                (row["id"], agency_id, ERROR_SAMPLES),
            )] if row["listing_errors"] else []
        return rows

    def last_good_crawls(self, agency_ids: Sequence[str] | None = None) -> dict[str, str]:
        """agency id -> start of its latest crawl whose listing pages were all fetched
        (outcome 'ok'); agencies never crawled so are absent."""
        where, params = _ids_filter("agency_id", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, max(started_at) FROM crawl_agencies "
            f"WHERE outcome = 'ok' AND {where} GROUP BY agency_id",
            params,
        )}

    def good_crawl_between(self, agency_id: str, after: str, before: str) -> bool:
        """Did a crawl that fetched all the agency's listing pages start in (after, before)?"""
        return self._one(
            "SELECT 1 FROM crawl_agencies WHERE agency_id = ? AND outcome = 'ok' "
            "AND started_at > ? AND started_at < ? LIMIT 1",
            (agency_id, after, before),
        ) is not None

    def yearless_annual_reports(self, agency_ids: Sequence[str] | None = None) -> dict[str, int]:
        """agency id -> how many of its annual reports have no year (not counted anywhere)."""
        where, params = _ids_filter("agency_id", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT agency_id, count(*) FROM reports WHERE kind = 'annual_report' "
            f"AND year IS NULL AND {where} GROUP BY agency_id",
            params,
        )}

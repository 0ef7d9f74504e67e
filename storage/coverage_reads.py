"""The reads `nianbao check` and its coverage need: which report counts for each agency and year.

Published is the page's own date, else the day (in China, UTC+8) nianbao first saw it; the
`coverage` view (storage/migrations.py) computes the same in SQL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Sequence

from nianbao.config.deadlines import FIRST_REPORT_YEAR

from .coverage_sql import (FAILING_AGENCIES, HOSTED, INSERT_LATE, INSERT_MISSING,
                           INSERT_TURNED_UP, JSON_ROWS, KEEP_CODES, KEPT_CODES, MARK_CODES,
                           MARK_CODES_KEPT, ROWS, TURNED_UP_CANDIDATES)
from .part import StorePart, ids_filter, ids_json


# From this many agencies on, the matrix's cells are computed on two connections at once.
PARALLEL_FROM = 5_000

# The identity of what computes the codes kept in matrix_codes: the statements and the first
# year a report is expected. Codes kept by other rules (another version of nianbao) are
# computed again, never served.
RULES = hashlib.sha256(
    f"{MARK_CODES_KEPT}|{HOSTED}|{FIRST_REPORT_YEAR}".encode()).hexdigest()[:16]


class CoverageReads(StorePart):
    """`store.coverage`: annual reports by agency and year, as the monitor counts them."""

    def first_annual_reports(self, agency_ids: Sequence[str] | None = None) -> list[dict]:
        """The report that counts for each (agency, year): the earliest-published annual report
        counted for the agency (`counts_for`), wherever it was found.

        Published is the page's own date, else the day (in China, UTC+8) nianbao first saw it
        (the same rule as the `coverage` view; ties go to the lower id). Removed reports count: they were
        published. Reports of kind 'other', without a year or counted for no registry agency
        are ignored. agency_ids: only these agencies (all when None).
        Each dict: agency_id (the agency it counts for), year, report_id, published_date
        ('YYYY-MM-DD'), published_basis ('printed' | 'meta' | 'listing' | 'written' | 'page' |
        'first_seen'), title, url, report_status, year_basis, title_year, text_year,
        first_seen (ISO-8601 UTC), hosted_by (the agency on whose site it was found, when that
        is another agency; else None).
        """
        where, params = ids_filter("counts_for", agency_ids)
        rows = self._all(
            f"""SELECT * FROM (
                  SELECT counts_for AS agency_id, year, id AS report_id,
                         coalesce(published_date, date(first_seen, '+8 hours')) AS published_date,
                         CASE WHEN published_date IS NULL THEN 'first_seen'
                              ELSE coalesce(published_basis, 'page') END AS published_basis,
                         title, url, status AS report_status, year_basis, title_year, text_year,
                         first_seen,
                         CASE WHEN agency_id <> counts_for THEN agency_id END AS hosted_by,
                         row_number() OVER (
                           PARTITION BY counts_for, year
                           ORDER BY coalesce(published_date, date(first_seen, '+8 hours')), id
                         ) AS rank
                  FROM reports
                  WHERE kind = 'annual_report' AND year IS NOT NULL
                    AND counts_for IS NOT NULL AND {where}
                ) WHERE rank = 1 ORDER BY agency_id, year""",
            params,
        )
        return [{k: row[k] for k in row.keys() if k != "rank"} for row in rows]

    def yearless_annual_reports(self, agency_ids: Sequence[str] | None = None) -> dict[str, int]:
        """agency id -> how many annual reports counted for it have no year (not counted anywhere)."""
        where, params = ids_filter("counts_for", agency_ids)
        return {row[0]: row[1] for row in self._all(
            f"SELECT counts_for, count(*) FROM reports WHERE kind = 'annual_report' "
            f"AND year IS NULL AND counts_for IS NOT NULL AND {where} GROUP BY counts_for",
            params,
        )}

    def uncounted_annual_reports(self, agency_ids: Sequence[str] | None = None) -> dict[str, list[str]]:
        """agency id -> the issuers named by annual reports found on its site that count for
        no registry agency (counts_for NULL), so that a name the matching missed can be seen."""
        where, params = ids_filter("agency_id", agency_ids)
        found: dict[str, list[str]] = {}
        for row in self._all(
            f"SELECT agency_id, issuer FROM reports WHERE kind = 'annual_report' "
            f"AND counts_for IS NULL AND {where} GROUP BY agency_id, issuer ORDER BY agency_id, issuer",
            params,
        ):
            found.setdefault(row[0], []).append(row[1])
        return found


    # -- the whole registry at once, in SQL (storage/coverage_sql.py) -------------------------

    def _cell_params(self, agency_ids: Sequence[str], as_of: str) -> dict:
        return {"ids": ids_json(agency_ids), "as_of": as_of,
                "first_report_year": FIRST_REPORT_YEAR, "missing_only": 0}

    def cells(self, agency_ids: Sequence[str], as_of: str) -> sqlite3.Cursor:
        """A cursor over the coverage rows of these agencies (in this order) and their
        expected years (ascending) as of `as_of` ('YYYY-MM-DD'): tuples of
        coverage_sql.ROW_COLUMNS (verified 1/0 for a missing row, else None). Streams."""
        return self.db.execute(ROWS, self._cell_params(agency_ids, as_of))

    def cells_json(self, agency_ids: Sequence[str], as_of: str) -> sqlite3.Cursor:
        """The same rows as one JSON object text each (1-tuples), in the same order."""
        return self.db.execute(JSON_ROWS, self._cell_params(agency_ids, as_of))

    def mark_codes(self, agency_ids: Sequence[str], as_of: str) -> list[tuple]:
        """Per agency (in the order given): (agency id, its first expected year, its cells'
        codes, 3 characters each, see MARK_CODES; None when it has no cell). Read from
        matrix_codes where they are kept for this day, computed (and kept) for the others:
        see `matrix`."""
        return [row[:3] for row in self.matrix(agency_ids, as_of)]

    def matrix(self, agency_ids: Sequence[str], as_of: str) -> list[tuple]:
        """Per agency (in the order given, agencies not in the store left out): (agency id,
        first expected year, codes as `mark_codes`, the cells counted from another agency's
        site as JSON [[year, host], ...] or None).

        The codes of an agency are kept in matrix_codes with the days they hold for; the
        triggers of m014_matrix_codes drop them whenever something they read changes, so
        only agencies without codes kept for this day are computed. Newly computed codes are
        kept only when no other connection wrote to the store while they were computed (a
        write the computation may not have seen would otherwise be covered up); a store that
        cannot be written (read-only, or locked past the busy timeout) is simply not kept."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        kept = {row[0]: tuple(row) for row in self.db.execute(
            KEPT_CODES, {"ids": ids_json(agency_ids), "as_of": as_of, "rules": RULES})}
        stale = [agency_id for agency_id in agency_ids if agency_id not in kept]
        if stale:
            fresh = self._computed(MARK_CODES_KEPT, stale, as_of)
            hosted: dict[str, list] = {}
            with_hosted = [row[0] for row in fresh if row[2] and "h" in row[2][2::3]]
            if with_hosted:
                for agency_id, year, host in self.hosted_cells(with_hosted, as_of):
                    hosted.setdefault(agency_id, []).append([year, host])
            rows = [(agency_id, RULES, first, codes,
                     json.dumps(hosted[agency_id]) if agency_id in hosted else None,
                     after, until) for agency_id, first, codes, after, until in fresh]
            self._keep(rows, version)
            kept.update((row[0], (row[0], row[2], row[3], row[4])) for row in rows)
        return [kept[agency_id] for agency_id in agency_ids if agency_id in kept]

    def _keep(self, rows: list[tuple], version: int) -> None:
        try:
            with self._write():
                if self.db.execute("PRAGMA data_version").fetchone()[0] != version:
                    return  # another connection wrote meanwhile: computed again next time
                self.db.conn.executemany(KEEP_CODES, rows)
        except sqlite3.OperationalError:
            pass  # read-only or busy: the codes are computed again next time

    def _computed(self, sql: str, agency_ids: Sequence[str], as_of: str) -> list[tuple]:
        """`sql` (MARK_CODES or MARK_CODES_KEPT) over these agencies, one row per agency in
        this order, computed without sorting. A large selection is split in two halves
        computed at once, the second on its own read-only connection in a thread (SQLite runs
        without the GIL): both cores, about half the wall time."""
        if len(agency_ids) < PARALLEL_FROM or self.db.conn.in_transaction:
            return self.db.execute(sql, self._cell_params(agency_ids, as_of)).fetchall()
        half = len(agency_ids) // 2
        path = self.db.execute("PRAGMA database_list").fetchone()[2]
        second: list = []

        def other_half() -> None:
            connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                second.extend(connection.execute(
                    sql, self._cell_params(agency_ids[half:], as_of)))
            finally:
                connection.close()

        worker = threading.Thread(target=other_half, name="coverage-second-half")
        worker.start()
        try:
            first = self.db.execute(sql, self._cell_params(agency_ids[:half], as_of)).fetchall()
        finally:
            worker.join()
        if len(first) + len(second) != len(agency_ids):
            raise RuntimeError("the second half of the coverage computation failed")
        return first + second

    def hosted_cells(self, agency_ids: Sequence[str], as_of: str) -> list[tuple[str, int, str]]:
        """(agency, year, host) of the cells whose counted report was found on the host's
        site, another agency's."""
        return self.db.execute(HOSTED, self._cell_params(agency_ids, as_of)).fetchall()

    def failing_agencies(self, agency_ids: Sequence[str], threshold: int) -> list[str]:
        """The agencies among these whose last `threshold` or more finished crawls in a row
        (since their last 'ok' one; 'unknown' ones skipped) failed: one query."""
        return [row[0] for row in self.db.execute(
            FAILING_AGENCIES, {"ids": ids_json(agency_ids), "threshold": threshold})]

    def record_findings(self, codes: Sequence[tuple], as_of: str, now: str) -> list[dict]:
        """Write the missing, late and turned_up findings not raised before of the agencies
        whose `mark_codes` are `codes` (as of `as_of`), in one transaction of INSERT ...
        SELECT; return the findings written (id, kind, agency_id, year, report_id,
        dedup_key, details).

        Only the agencies whose codes flag a cell without its finding ('M', 'L') are
        computed again, and for turned_up only the cells with a `missing` finding and now a
        report: a check that finds nothing new writes nothing and costs no second pass."""
        flagged = [row[0] for row in codes if row[2] and ("M" in row[2] or "L" in row[2])]
        params = {**self._cell_params(flagged, as_of), "now": now}
        wanted = {row[0] for row in codes}
        with self._write():
            before = self.db.execute("SELECT coalesce(max(id), 0) FROM findings").fetchone()[0]
            if flagged:
                self.db.execute(INSERT_MISSING, params)
                self.db.execute(INSERT_LATE, params)
            turned = [row[0] for row in self.db.execute(TURNED_UP_CANDIDATES)
                      if row[0] in wanted]
            if turned:
                self.db.execute(INSERT_TURNED_UP,
                                {**params, "ids": ids_json(turned), "missing_only": 1})
            rows = self._all(
                "SELECT id, kind, agency_id, year, report_id, dedup_key, details FROM findings "
                "WHERE id > ? ORDER BY id", (before,))
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]

"""Report statistics: the figures of the standard tables (and of the prose) per report version,
and the results of the tables' own arithmetic checks.

The crawler reads the figures from a report's DOM or text (crawler/stats/) and hands them over
with the fetch (`ReportFetch.figures`, `.checks`); `history` writes them in the transaction of
the version they belong to (`insert_stats`), so figures have history like text does.
`store.stats` rewrites a version's figures when a newer parser reads its stored page again
(`nianbao stats --rebuild`) and reads them back; the monitor turns failed checks into
`inconsistent` findings (monitor/findings.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from .part import StorePart, ids_filter, to_json

# report_stats.source: a figure of a standard table (read from the DOM, or from the text's
# table rows `a | b | c` when only text is available), or one stated in the prose.
SOURCE_TABLE = "table"
SOURCE_TEXT = "text"
STAT_SOURCES = (SOURCE_TABLE, SOURCE_TEXT)

# report_checks.result
CHECK_PASS = "pass"
CHECK_FAIL = "fail"
CHECK_NOT_ASSESSABLE = "not_assessable"
CHECK_RESULTS = (CHECK_PASS, CHECK_FAIL, CHECK_NOT_ASSESSABLE)


@dataclass(frozen=True)
class Figure:
    """One figure of a report: a cell of a standard table or a number stated in the prose.

    table_key, row_key, column_key: the canonical key (storage/SCHEMA.md lists them all).
    row_label, column_label: the labels as printed (simplified characters, spaces collapsed).
    value: the number (int, or float for amounts), None for a blank cell. unit: as printed in
    the cell or the column label ('万元', '元', '件'...), None when none is given. raw: the
    cell or the sentence as printed. source: one of STAT_SOURCES.
    """

    table_key: str
    row_key: str
    column_key: str
    row_label: str
    column_label: str
    value: int | float | None
    unit: str | None
    raw: str
    source: str = SOURCE_TABLE

    def __post_init__(self) -> None:
        if self.source not in STAT_SOURCES:
            raise ValueError(f"Figure.source is {self.source!r}; expected one of {STAT_SOURCES}")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.table_key, self.row_key, self.column_key)


@dataclass(frozen=True)
class StatCheck:
    """The result of one arithmetic check of a report version's tables.

    check_key: which rule (storage/SCHEMA.md). result: one of CHECK_RESULTS. details:
    JSON-encodable: the rule in words and the numbers compared.
    """

    check_key: str
    result: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.result not in CHECK_RESULTS:
            raise ValueError(f"StatCheck.result is {self.result!r}; expected one of {CHECK_RESULTS}")


def insert_stats(db: Database, report_id: int, version: int, figures: Iterable[Figure],
                 checks: Iterable[StatCheck], *, replace: bool = False) -> int:
    """Write a version's figures and checks inside the caller's transaction; return how many
    figures. replace: drop what the version had first (a newer parser read it again)."""
    if replace:
        db.execute("DELETE FROM report_stats WHERE report_id = ? AND version = ?",
                   (report_id, version))
        db.execute("DELETE FROM report_checks WHERE report_id = ? AND version = ?",
                   (report_id, version))
    rows = [(report_id, version, f.table_key, f.row_key, f.column_key, f.row_label,
             f.column_label, f.value, f.unit, f.raw, f.source) for f in figures]
    db.conn.executemany(
        "INSERT OR IGNORE INTO report_stats (report_id, version, table_key, row_key, column_key, "
        "row_label, column_label, value, unit, raw, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows)
    db.conn.executemany(
        "INSERT OR REPLACE INTO report_checks (report_id, version, check_key, result, details) "
        "VALUES (?, ?, ?, ?, ?)",
        [(report_id, version, c.check_key, c.result, to_json(c.details)) for c in checks])
    return len(rows)


def has_stats(db: Database, report_id: int, version: int) -> bool:
    """Has this version any figures or checks recorded?"""
    return db.execute(
        "SELECT EXISTS (SELECT 1 FROM report_stats WHERE report_id = ? AND version = ?) "
        "OR EXISTS (SELECT 1 FROM report_checks WHERE report_id = ? AND version = ?)",
        (report_id, version, report_id, version)).fetchone()[0] == 1


class Stats(StorePart):
    """`store.stats`: a version's figures and checks, rewritten or read back."""

    def replace(self, report_id: int, version: int, figures: Sequence[Figure],
                checks: Sequence[StatCheck]) -> int:
        """Rewrite a version's figures and checks (a newer parser read its page); one
        transaction. Returns how many figures were written."""
        with self._write():
            return insert_stats(self.db, report_id, version, figures, checks, replace=True)

    def figures(self, report_id: int, version: int | None = None) -> list[dict]:
        """A report's figures at `version` (its current version when None), in table order."""
        return [dict(r) for r in self._all(
            """SELECT s.* FROM report_stats s JOIN reports r ON r.id = s.report_id
               WHERE s.report_id = ? AND s.version = coalesce(?, r.current_version)
               ORDER BY s.rowid""", (report_id, version))]

    def checks(self, report_id: int, version: int | None = None) -> list[dict]:
        """A report's check results at `version` (its current version when None); details
        decoded."""
        rows = []
        for row in self._all(
                """SELECT c.* FROM report_checks c JOIN reports r ON r.id = c.report_id
                   WHERE c.report_id = ? AND c.version = coalesce(?, r.current_version)
                   ORDER BY c.rowid""", (report_id, version)):
            item = dict(row)
            item["details"] = json.loads(item["details"] or "{}")
            rows.append(item)
        return rows

    def failed_current(self, agency_ids: Sequence[str] | None = None) -> list[dict]:
        """Current versions of annual reports with at least one failed check: report_id,
        version, agency_id (where found), counts_for, year, title, url and `failed` (the
        failed checks: check_key, details)."""
        where, params = ids_filter("r.agency_id", agency_ids)
        rows = self._all(
            f"""SELECT r.id AS report_id, r.current_version AS version, r.agency_id,
                       r.counts_for, r.year, r.title, r.url, c.check_key, c.details
                FROM reports r JOIN report_checks c
                  ON c.report_id = r.id AND c.version = r.current_version
                WHERE {where} AND c.result = 'fail' AND r.kind = 'annual_report'
                ORDER BY r.id, c.rowid""", params)
        found: dict[int, dict] = {}
        for row in rows:
            item = found.setdefault(row["report_id"], {
                key: row[key] for key in ("report_id", "version", "agency_id", "counts_for",
                                          "year", "title", "url")} | {"failed": []})
            item["failed"].append({"check_key": row["check_key"],
                                   "details": json.loads(row["details"] or "{}")})
        return list(found.values())

    def report_figures(self, *, agency_ids: Sequence[str] | None = None,
                       year: int | None = None) -> list[dict]:
        """Rows of the `report_figures` view (one per annual report at its current version),
        for the agencies (all when None) and year (all when None)."""
        where, params = ids_filter("agency_id", agency_ids)
        return [dict(r) for r in self._all(
            f"SELECT * FROM report_figures WHERE {where} AND (? IS NULL OR year = ?) "
            "ORDER BY year, agency_id, report_id", [*params, year, year])]

"""The standard tables' own arithmetic, checked per report version.

Each check is `pass`, `fail` or `not_assessable` (the figures it needs are not all stated):

- requests_balance:      一 + 二 = 三（七） + 四, in every column (the table prints this rule);
- handled_total_sum:     三（七） = 三（一） + ... + 三（六） (a category with sub-rows counts
                         its sub-rows, else its printed row), in every column;
- applicant_sum:         自然人 + the five 法人或其他组织 columns = 总计, in every row;
- review_litigation_sum: section 四's 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结, for each
                         of its three blocks;
- non_negative:          no negative count (本年增/减 is a change and may be negative);
- prose_request_total:   the request total the prose states (受理…申请N件) = the table's
                         一、本年新收 总计 (or 一 + 二: some reports count the carried-over ones).

Blank cells. A blank counts as 0 only where the table's own convention shows it: its row's
总计 is printed (the row states its parts), or the whole row is blank in a table that has
figures (an empty row: none). A blank total (a row's 总计, 三（七）, a category subtotal, a
block's 总计) whose parts are filled is "not stated": what needs it is not_assessable, never a
failure. A false `inconsistent` is as bad as any other false finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nianbao.crawler.stats.prose import PROSE
from nianbao.crawler.stats.tables import (
    APPLICANT_COLUMNS,
    REQUEST_COLUMNS,
    REQUEST_SUBROWS,
    REQUEST_TOTAL_ROWS,
    REQUESTS,
    REVIEW,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    SIGNED_COLUMNS,
)
from nianbao.storage.stats import (
    CHECK_FAIL,
    CHECK_NOT_ASSESSABLE,
    CHECK_PASS,
    SOURCE_TABLE,
    Figure,
    StatCheck,
)

RULES = {
    "requests_balance": "一、本年新收 + 二、上年结转 = 三（七）总计 + 四、结转下年度继续办理 (each column)",
    "handled_total_sum": "三（七）总计 = 三（一）+（二）+（三）+（四）+（五）+（六）, sub-rows included (each column)",
    "applicant_sum": "自然人 + 法人或其他组织 (商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他) = 总计 (each row)",
    "review_litigation_sum": "总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结 (行政复议, 未经复议直接起诉, 复议后起诉)",
    "non_negative": "no count is negative",
    "prose_request_total": "受理…申请N件 in the text = 一、本年新收 总计 of the table",
}
CHECK_KEYS = tuple(RULES)
_CATEGORIES = ("granted", "partly_granted", "refused", "unable_to_provide", "not_processed",
               "other_handling")
_COLUMNS = tuple(key for key, _ in REQUEST_COLUMNS)
_REVIEW_PARTS = tuple(key for key, _ in REVIEW_COLUMNS[:-1])


class Grid:
    """One table's figures with the blank-cell convention applied (see the module)."""

    def __init__(self, figures: Iterable[Figure], table: str, total_column: str,
                 total_rows: frozenset[str] = frozenset()):
        self.cells = {(f.row_key, f.column_key): f.value for f in figures if f.table_key == table}
        self.rows = {r for r, _ in self.cells}
        self.total_column = total_column
        self.total_rows = total_rows
        self.has_figures = any(v is not None for v in self.cells.values())

    def _row_blank(self, row: str) -> bool:
        return all(v is None for (r, _), v in self.cells.items() if r == row)

    def get(self, row: str, column: str) -> int | float | None:
        """The cell's value; 0 for a blank the convention makes zero; None when not stated."""
        if (row, column) not in self.cells:
            return None
        value = self.cells[(row, column)]
        if value is not None:
            return value
        if not self.has_figures:
            return None
        if self._row_blank(row):
            # an empty row is none, except a row of totals: its parts may be filled
            return None if row in self.total_rows else 0
        if column == self.total_column or row in self.total_rows:
            return None  # a total left blank: not stated
        return 0 if self.cells.get((row, self.total_column)) is not None else None


def _result(compared: int, failures: list, missing: list, key: str, extra: dict | None = None) -> StatCheck:
    details = {"rule": RULES[key], "compared": compared, **(extra or {})}
    if failures:
        details["failures"] = failures
    if missing:
        details["not_assessable"] = missing
    if failures:
        return StatCheck(key, CHECK_FAIL, details)
    return StatCheck(key, CHECK_PASS if compared else CHECK_NOT_ASSESSABLE, details)


def _sum(values: Sequence) -> int | float | None:
    return None if any(v is None for v in values) else sum(values)


def _equal(a, b) -> bool:
    return abs(a - b) < 1e-6


def requests_balance(grid: Grid) -> StatCheck:
    compared, failures, missing = 0, [], []
    for column in _COLUMNS:
        new, carried, handled, forward = (grid.get(r, column) for r in (
            "new", "carried_over", "handled_total", "carried_forward"))
        if None in (new, carried, handled, forward):
            missing.append(column)
            continue
        compared += 1
        if not _equal(new + carried, handled + forward):
            failures.append({"column": column, "new": new, "carried_over": carried,
                             "handled_total": handled, "carried_forward": forward,
                             "left": new + carried, "right": handled + forward})
    return _result(compared, failures, missing, "requests_balance")


def _category(grid: Grid, category: str, column: str) -> int | float | None:
    subs = [f"{category}_{sub}" for sub, _ in REQUEST_SUBROWS.get(category, ())]
    present = [s for s in subs if s in grid.rows]
    if present:
        parts = _sum([grid.get(s, column) for s in present])
        if parts is not None and len(present) == len(subs):
            return parts
        printed = grid.get(category, column)
        return printed if printed is not None else (parts if len(present) == len(subs) else None)
    return grid.get(category, column) if category in grid.rows else None


def handled_total_sum(grid: Grid) -> StatCheck:
    compared, failures, missing = 0, [], []
    for column in _COLUMNS:
        parts = {c: _category(grid, c, column) for c in _CATEGORIES}
        total = grid.get("handled_total", column)
        if total is None or None in parts.values():
            missing.append(column)
            continue
        compared += 1
        if not _equal(sum(parts.values()), total):
            failures.append({"column": column, "handled_total": total,
                             "sum": sum(parts.values()), "parts": parts})
    return _result(compared, failures, missing, "handled_total_sum")


def applicant_sum(grid: Grid) -> StatCheck:
    compared, failures, missing = 0, [], []
    for row in sorted(grid.rows):
        parts = [grid.get(row, c) for c in APPLICANT_COLUMNS]
        total = grid.get(row, "total")
        if total is None or None in parts:
            missing.append(row)
            continue
        compared += 1
        if not _equal(sum(parts), total):
            failures.append({"row": row, "total": total, "sum": sum(parts),
                             "parts": dict(zip(APPLICANT_COLUMNS, parts, strict=True))})
    return _result(compared, failures, missing, "applicant_sum")


def review_litigation_sum(grid: Grid) -> StatCheck:
    compared, failures, missing = 0, [], []
    for block, _ in REVIEW_BLOCKS:
        parts = [grid.get(block, c) for c in _REVIEW_PARTS]
        total = grid.get(block, "total")
        if total is None or None in parts:
            missing.append(block)
            continue
        compared += 1
        if not _equal(sum(parts), total):
            failures.append({"block": block, "total": total, "sum": sum(parts),
                             "parts": dict(zip(_REVIEW_PARTS, parts, strict=True))})
    return _result(compared, failures, missing, "review_litigation_sum")


def non_negative(figures: Sequence[Figure]) -> StatCheck:
    counted = [f for f in figures if f.source == SOURCE_TABLE and f.value is not None
               and f.column_key not in SIGNED_COLUMNS]
    failures = [{"table": f.table_key, "row": f.row_key, "column": f.column_key, "value": f.value}
                for f in counted if f.value < 0]
    return _result(len(counted), failures, [], "non_negative")


def prose_request_total(figures: Sequence[Figure], grid: Grid) -> StatCheck:
    stated = next((f.value for f in figures if f.table_key == PROSE
                   and f.row_key == "requests_received"), None)
    new, carried = grid.get("new", "total"), grid.get("carried_over", "total")
    if stated is None or new is None:
        return _result(0, [], ["prose" if stated is None else "table"], "prose_request_total")
    agrees = _equal(stated, new) or (carried is not None and _equal(stated, new + carried))
    failure = [] if agrees else [{"prose": stated, "table_new": new, "table_carried_over": carried}]
    return _result(1, failure, [], "prose_request_total", {"prose": stated, "table_new": new})


def run_checks(figures: Sequence[Figure]) -> list[StatCheck]:
    """Every check of a version's figures; none for a text without any table figure."""
    if not any(f.source == SOURCE_TABLE for f in figures):
        return []
    rows = {f.row_key for f in figures if f.table_key == REQUESTS}
    # a category row is a subtotal only where its sub-rows are printed too (2019's single
    # （六）其他处理 row is a row of its own)
    subtotals = frozenset(r for r in REQUEST_TOTAL_ROWS if r == "handled_total"
                          or any(x.startswith(r + "_") for x in rows))
    requests = Grid(figures, REQUESTS, "total", subtotals)
    review = Grid(figures, REVIEW, "total")
    return [requests_balance(requests), handled_total_sum(requests), applicant_sum(requests),
            review_litigation_sum(review), non_negative(figures),
            prose_request_total(figures, requests)]

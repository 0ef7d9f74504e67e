"""The standard tables of the 2019 and 2021 formats, read row by row into canonical keys.

A report's tables arrive as rows of cells (crawler/stats/grid.py), from all its tables and
parts in order: a table split across pages or parts, or printed as four small tables, is one
stream. Rows are recognised by their labels, never by their position in the page:

- section 三 (`requests`): a row whose label path names a category (本年新收, 予以公开,
  不予公开 > 1.属于国家秘密 ...) and whose last seven cells are 自然人, 商业企业, 科研机构,
  社会公益组织, 法律服务机构, 其他, 总计 (the same columns in both formats);
- section 二 (`disclosure`): a header row (本年制发件数 | 本年废止件数 | 现行有效件数, or the
  2019 columns) maps its columns; the rows under it (规章, 规范性文件, 行政许可...) are read at
  those columns, across sub-tables and parts until the next header;
- section 四 (`review_litigation`): a row of fifteen numbers (3 blocks x 结果维持, 结果纠正,
  其他结果, 尚未审结, 总计), however its header is drawn or if it has none.

Keys are the same for the same concept in both formats (storage/SCHEMA.md lists them); where
the formats differ (2021's three sub-rows of （六）其他处理, section 二's columns) they differ.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from nianbao.crawler.stats.cells import Cell, label_unit, parse_cell, printed, squash
from nianbao.storage.stats import SOURCE_TABLE, Figure

REQUESTS = "requests"
DISCLOSURE = "disclosure"
REVIEW = "review_litigation"

# Section 三's columns, in printed order (both formats).
REQUEST_COLUMNS = (
    ("natural_persons", "自然人"),
    ("commercial_enterprises", "法人或其他组织 商业企业"),
    ("research_institutions", "法人或其他组织 科研机构"),
    ("public_interest_organisations", "法人或其他组织 社会公益组织"),
    ("legal_service_agencies", "法人或其他组织 法律服务机构"),
    ("other_organisations", "法人或其他组织 其他"),
    ("total", "总计"),
)
APPLICANT_COLUMNS = tuple(key for key, _ in REQUEST_COLUMNS[:-1])

# Section 三's rows: category key -> pattern on the squashed label (full-width brackets are
# ASCII after NFKC). The order matters only where one could contain another (none do).
REQUEST_CATEGORIES = (
    ("new", re.compile(r"本年新收")),
    ("carried_over", re.compile(r"上年结转")),
    ("carried_forward", re.compile(r"结转下年")),
    ("granted", re.compile(r"予以公开")),
    ("partly_granted", re.compile(r"部分公开")),
    ("refused", re.compile(r"不予公开")),
    ("unable_to_provide", re.compile(r"无法提供")),
    ("not_processed", re.compile(r"不予处理")),
    ("other_handling", re.compile(r"其他处理")),
    ("handled_total", re.compile(r"^(?:三、)?(?:\(七\)|七、|七)?(?:总计|合计)$")),
)
# The sub-rows of the categories that have them: category -> (sub key, pattern).
REQUEST_SUBROWS = {
    "refused": (
        ("state_secret", re.compile(r"国家秘密")),
        ("prohibited_by_law", re.compile(r"禁止公开")),
        ("security_stability", re.compile(r"三安全一稳定|危及")),
        ("third_party", re.compile(r"第三方")),
        ("internal_affairs", re.compile(r"内部事务")),
        ("process_information", re.compile(r"过程性")),
        ("enforcement_files", re.compile(r"执法案卷")),
        ("query_matters", re.compile(r"查询事项")),
    ),
    "unable_to_provide": (
        ("not_held", re.compile(r"不掌握")),
        ("needs_creation", re.compile(r"另行制作|现成信息")),
        ("still_unclear", re.compile(r"仍不明确|补正后")),
    ),
    "not_processed": (
        ("petitions", re.compile(r"信访|举报|投诉")),
        ("repeated", re.compile(r"重复申请")),
        ("publications", re.compile(r"出版物")),
        ("excessive", re.compile(r"大量反复")),
        ("confirmation", re.compile(r"确认|重新出具")),
    ),
    # 2021 only: 2019 prints （六）其他处理 as one row
    "other_handling": (
        ("no_correction", re.compile(r"不补正")),
        ("fees_unpaid", re.compile(r"缴纳费用|收费通知")),
        ("other", re.compile(r"^\d*[.、]?其他$|其他$")),
    ),
}
# Rows that are totals of others: a blank there is "not stated", never zero.
REQUEST_TOTAL_ROWS = frozenset({"handled_total", "refused", "unable_to_provide",
                                "not_processed", "other_handling"})

# Section 二: columns (2021: 本年制发件数...; 2019: 本年新制作数量...) and rows.
DISCLOSURE_COLUMNS = (
    ("issued_this_year", re.compile(r"本年制发")),
    ("repealed_this_year", re.compile(r"本年废止")),
    ("current", re.compile(r"现行有效")),
    ("made_this_year", re.compile(r"本年新制作")),
    ("published_this_year", re.compile(r"本年新公开")),
    ("public_total", re.compile(r"对外公开总")),
    ("previous_year_items", re.compile(r"上一年项目")),
    ("change_this_year", re.compile(r"增/?减|增、减")),
    ("decisions", re.compile(r"处理决定")),
    ("fee_amount", re.compile(r"收费金额")),
    ("procurement_items", re.compile(r"采购项目数")),
    ("procurement_amount", re.compile(r"采购总金额")),
)
DISCLOSURE_ROWS = (
    ("normative_documents", re.compile(r"规范性文件")),
    ("regulations", re.compile(r"^(?:\d+[.、])?规章$")),
    ("licensing", re.compile(r"行政许可")),
    ("other_administrative_services", re.compile(r"其他对外管理服务")),
    ("penalties", re.compile(r"行政处罚")),
    ("coercive_measures", re.compile(r"行政强制")),
    ("fees", re.compile(r"行政事业性收费")),
    ("procurement", re.compile(r"政府集中采购")),
)
# Columns that are changes, not counts: a negative value is normal there.
SIGNED_COLUMNS = frozenset({"change_this_year"})
# Money, not counts.
AMOUNT_COLUMNS = frozenset({"fee_amount", "procurement_amount"})

# Section 四: three blocks of five columns, in printed order.
REVIEW_BLOCKS = (
    ("reconsideration", "行政复议"),
    ("litigation_direct", "行政诉讼 未经复议直接起诉"),
    ("litigation_after_reconsideration", "行政诉讼 复议后起诉"),
)
REVIEW_COLUMNS = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other_result", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)
REVIEW_CELLS = len(REVIEW_BLOCKS) * len(REVIEW_COLUMNS)


# Words of section 三's column header: such a row is never a data row (its 总计 is a column).
_HEADER = re.compile(r"自然人|法人或其他组织|商业企业|申请人情况|勾稽关系")


def _match(patterns, seg: str) -> str | None:
    return next((key for key, pattern in patterns if pattern.search(seg)), None)


class TableReader:
    """Feed rows in document order; `figures` holds what was read (the first reading of a
    key wins: a table repeated further down, or in a later part, does not overwrite it)."""

    def __init__(self) -> None:
        self.figures: dict[tuple[str, str, str], Figure] = {}
        self._category: str | None = None      # the section-三 category of the rows below
        self._in_requests = False              # a section-三 header or row was seen
        self._in_review = False                # a section-四 header was seen
        self._columns: dict[int, tuple[str, str]] | None = None  # section 二's header
        self._pending_labels: list[tuple[str, str]] = []  # a label-only row (one cell per line)
        self._provisional: set[tuple[str, str, str]] = set()  # blanks a later row may fill

    def feed_all(self, rows: Iterable[list[str]]) -> None:
        for row in rows:
            self.feed(row)

    def feed(self, row: list[str]) -> None:
        cells = [parse_cell(c) for c in row]
        label_at = [i for i, c in enumerate(cells) if c.kind == "label"]
        labels = _distinct([(squash(row[i]), printed(row[i])) for i in label_at])
        values = cells[label_at[-1] + 1:] if label_at else cells
        raw_values = row[label_at[-1] + 1:] if label_at else row
        numbers = sum(1 for c in values if c.kind == "number")
        segs = [s for s, _ in labels]
        if any("行政复议" in s or "行政诉讼" in s for s in segs):
            self._in_review = True
        if any("自然人" in s or "申请人情况" in s for s in segs):
            self._in_requests = True
        if not numbers and any(_match(DISCLOSURE_COLUMNS, s) for s in segs):
            self._disclosure_header(row, cells)
            return
        if values and self._review_row(values, raw_values, labels, numbers):
            self._pending_labels = []
            return
        if not labels and self._pending_labels and numbers:
            # a table flattened one cell per line: the label was the line before the numbers
            labels = self._pending_labels
        self._pending_labels = labels if labels and not values else []
        if not values:
            if labels and self._in_requests and not any(_HEADER.search(s) for s in segs):
                # a text row whose blank cells were all dropped: a row of blanks, unless the
                # numbers follow on the next lines
                self._requests_row([], [], labels, 0, provisional=True)
            return
        if self._disclosure_row(row, cells, labels):
            return
        self._requests_row(values, raw_values, labels, numbers)

    # -- section 二 ---------------------------------------------------------------------------

    def _disclosure_header(self, row: list[str], cells: list[Cell]) -> None:
        columns = {}
        for i, text in enumerate(row):
            key = _match(DISCLOSURE_COLUMNS, squash(text))
            if key and key not in {k for k, _ in columns.values()}:
                columns[i] = (key, printed(text))
        self._columns = columns
        self._category = None

    def _disclosure_row(self, row: list[str], cells: list[Cell], labels) -> bool:
        if self._columns is None or not labels:
            return False
        row_key, row_label = None, ""
        for seg, label in labels:
            key = _match(DISCLOSURE_ROWS, seg)
            if key:
                row_key, row_label = key, label
        if row_key is None:
            return False
        for i, (column_key, column_label) in self._columns.items():
            cell = cells[i] if i < len(cells) else Cell("blank", "")
            if cell.kind == "label":
                continue
            unit = cell.unit or label_unit(column_label)
            self._add(DISCLOSURE, row_key, column_key, row_label, column_label, cell, unit)
        return True

    # -- section 四 ---------------------------------------------------------------------------

    def _review_row(self, values: list[Cell], raw: list[str], labels, numbers: int) -> bool:
        if numbers == 0 or any(c.kind == "label" for c in values):
            return False
        if len(values) == REVIEW_CELLS:
            pass
        elif self._in_review and not labels and 10 <= len(values) < REVIEW_CELLS:
            values = values + [Cell("blank", "")] * (REVIEW_CELLS - len(values))
        else:
            return False
        self._category = None
        for i, cell in enumerate(values):
            (block, block_label), (column, column_label) = (
                REVIEW_BLOCKS[i // len(REVIEW_COLUMNS)], REVIEW_COLUMNS[i % len(REVIEW_COLUMNS)])
            self._add(REVIEW, block, column, block_label, column_label, cell, cell.unit)
        self._in_review = False
        return True

    # -- section 三 ---------------------------------------------------------------------------

    def _requests_row(self, values: list[Cell], raw: list[str], labels, numbers: int,
                      provisional: bool = False) -> None:
        row_key, row_label = self._request_key(labels)
        if row_key is None:
            return
        if len(values) < len(REQUEST_COLUMNS) and not self._in_requests:
            return  # a short row far from any section-三 table: not ours
        if numbers == 0 and not self._in_requests:
            return
        values = list(values)
        while len(values) > len(REQUEST_COLUMNS) and values[-1].kind == "blank":
            values.pop()
        values = values[-len(REQUEST_COLUMNS):]
        # text rows lose their trailing blank cells: the cells kept are the first ones
        values += [Cell("blank", "")] * (len(REQUEST_COLUMNS) - len(values))
        self._in_requests = row_key != "carried_forward"  # 四、结转下年度 ends the table
        if row_key == "carried_forward":
            self._category = None
        for (column_key, column_label), cell in zip(REQUEST_COLUMNS, values, strict=True):
            self._add(REQUESTS, row_key, column_key, row_label, column_label, cell, cell.unit,
                      provisional=provisional)

    def _request_key(self, labels) -> tuple[str | None, str]:
        category, at = None, -1
        for i, (seg, _) in enumerate(labels):
            key = _match(REQUEST_CATEGORIES, seg)
            if key:
                category, at = key, i
        printed_path = " / ".join(label for _, label in labels)
        if category is not None:
            self._category = category
            rest = labels[at + 1:]
        elif self._in_requests and self._category in REQUEST_SUBROWS:
            category, rest = self._category, labels  # a sub-row whose parent cell is blank
        else:
            return None, ""
        subrows = REQUEST_SUBROWS.get(category)
        if rest and subrows:
            for seg, _ in rest:
                sub = _match(subrows, seg)
                if sub:
                    return f"{category}_{sub}", printed_path
            return None, ""
        if rest and category not in REQUEST_SUBROWS:
            # more label text after a category without sub-rows: a note, or not this table
            if any(_match(REQUEST_CATEGORIES, seg) for seg, _ in rest):
                return None, ""
        if at < 0:
            return None, ""
        return category, printed_path

    # -- all ----------------------------------------------------------------------------------

    def _add(self, table: str, row: str, column: str, row_label: str, column_label: str,
             cell: Cell, unit: str | None, provisional: bool = False) -> None:
        key = (table, row, column)
        if key in self.figures and key not in self._provisional:
            return
        self._provisional.discard(key)
        if provisional:
            self._provisional.add(key)
        self.figures[key] = Figure(
            table_key=table, row_key=row, column_key=column, row_label=row_label,
            column_label=column_label, value=cell.value if cell.kind == "number" else None,
            unit=unit, raw=cell.raw, source=SOURCE_TABLE)


def _distinct(labels: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Label cells in order, each text once (a spanned label is copied into every cell)."""
    seen, out = set(), []
    for seg, label in labels:
        if seg and seg not in seen:
            seen.add(seg)
            out.append((seg, label))
    return out


def read_rows(rows: Iterable[list[str]]) -> list[Figure]:
    reader = TableReader()
    reader.feed_all(rows)
    return list(reader.figures.values())

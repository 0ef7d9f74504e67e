"""Rows of cells, from a page's tables (spans expanded) or from text rows (`a | b | c`).

A merged cell (rowspan/colspan) is copied into every position it covers, so each row carries
its full label path ('三、本年度办理结果', '（三）不予公开', '1.属于国家秘密') and every column
its full header path. Text keeps what the extractor wrote: spanned positions as empty cells,
or nothing at all; a run of lines holding only numbers (a table flattened one cell per line,
or one row of 15 numbers) becomes one row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.etree
import lxml.html

from nianbao.crawler.extract import table_rows
from nianbao.crawler.stats.cells import parse_cell

MAX_ROWS = 2000     # a statistics table has about 40 rows; bounded time on hostile pages
MAX_COLUMNS = 64
MAX_SPAN = 100
MAX_TABLES = 200
MAX_CELLS = 200_000  # per page, spans expanded: a hostile page's tables stop here


def _span(cell, name: str) -> int:
    try:
        return max(1, min(MAX_SPAN, int((cell.get(name) or "1").strip())))
    except ValueError:
        return 1


def _rows(table) -> list:
    return table_rows(table)[:MAX_ROWS]


def _cell_text(cell) -> str:
    # <br> and block children separate words; the cell is one line
    return " ".join(" ".join(cell.itertext()).split())


def expand(table) -> list[list[str]]:
    """The table as a grid: every merged cell copied into the positions it covers."""
    grid: list[list[str | None]] = []
    for r, row in enumerate(_rows(table)):
        while len(grid) <= r:
            grid.append([])
        line = grid[r]
        col = 0
        for cell in row.iterchildren("td", "th"):
            while col < len(line) and line[col] is not None:
                col += 1
            if col >= MAX_COLUMNS:
                break
            text = _cell_text(cell)
            rowspan, colspan = _span(cell, "rowspan"), _span(cell, "colspan")
            colspan = min(colspan, MAX_COLUMNS - col)
            for dr in range(min(rowspan, MAX_ROWS - r)):
                while len(grid) <= r + dr:
                    grid.append([])
                target = grid[r + dr]
                while len(target) < col + colspan:
                    target.append(None)
                for dc in range(colspan):
                    target[col + dc] = text
            col += colspan
    rows = [[c if c is not None else "" for c in line] for line in grid]
    return _drop_empty_columns(rows)


def _drop_empty_columns(rows: list[list[str]]) -> list[list[str]]:
    """Trailing columns empty in every row (a layout column) would shift right-aligned reads."""
    width = max((len(r) for r in rows), default=0)
    while width and all(len(r) < width or not r[width - 1].strip() for r in rows):
        width -= 1
    return [r[:width] for r in rows]


def html_tables(html: str) -> list[list[list[str]]]:
    """The grids of a page's innermost tables, in document order (a layout table holding
    the report is skipped for the tables inside it)."""
    if not html or not html.strip():
        return []
    try:
        tree = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    tables, cells = [], 0
    for table in tree.iter("table"):
        if next(table.iterdescendants("table"), None) is not None:
            continue
        grid = expand(table)
        if grid:
            tables.append(grid)
        cells += sum(len(row) for row in grid)
        if len(tables) >= MAX_TABLES or cells >= MAX_CELLS:
            break
    return tables


_NUMBERS_ONLY = re.compile(r"^[\s|]*(?:[-+−]?[\d０-９][\d０-９,，.]*[\s|]*)+$")


def _split_row(line: str) -> list[str]:
    if "|" in line:
        cells = [c.strip() for c in line.split("|")]
        # '| a | b |' (markdown-like) has empty ends
        if cells and not cells[0] and line.lstrip().startswith("|"):
            cells = cells[1:]
        if cells and not cells[-1] and line.rstrip().endswith("|"):
            cells = cells[:-1]
        return cells
    return line.split()


def text_rows(text: str) -> Iterator[list[str]]:
    """Table rows written in text: lines with ' | ' between cells; runs of lines holding only
    numbers merged into one row (a 15-number section-四 row, flattened one per line or not)."""
    run: list[str] = []
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped and _NUMBERS_ONLY.match(stripped):
            run.extend(c for c in _split_row(stripped) if c)
            continue
        if run:
            yield run
            run = []
        if "|" in stripped:
            yield _split_row(stripped)
        elif stripped:
            yield [stripped]  # a heading or sentence: context (section titles), no figures
    if run:
        yield run


def numeric_cells(row: list[str]) -> int:
    return sum(1 for c in row if parse_cell(c).kind == "number")

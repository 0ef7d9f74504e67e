"""A stored report text as HTML that reads like the document.

The text keeps the report's lines; the extractor writes each table row as `a | b | c`. Runs of
such rows become a table again, numbered section headings (一、总体情况, （一）...) are headings,
and every other line is a paragraph. Pure: text in, HTML out (escaped).
"""

from __future__ import annotations

import re
from html import escape

CELL_SEPARATOR = " | "
# 一、总体情况 / （一）主动公开情况 / 第一部分: short numbered lines are section headings.
HEADING_RE = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|第[一二三四五六七八九十]+部分)")
HEADING_MAX_CHARS = 40


def _is_table_row(line: str) -> bool:
    return CELL_SEPARATOR in line


def _table(rows: list[str]) -> str:
    cells = [row.split(CELL_SEPARATOR) for row in rows]
    width = max(len(row) for row in cells)
    out = ["<table class=\"doc-table\">"]
    for row in cells:
        out.append("<tr>" + "".join(f"<td>{escape(cell.strip())}</td>" for cell in row)
                   + "<td></td>" * (width - len(row)) + "</tr>")
    out.append("</table>")
    return "".join(out)


def text_to_html(text: str) -> str:
    """The document's body: paragraphs, headings and tables, in the text's order."""
    lines = [line.strip() for line in text.splitlines()]
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line:
            index += 1
            continue
        if _is_table_row(line):
            end = index
            while end < len(lines) and lines[end] and _is_table_row(lines[end]):
                end += 1
            out.append(_table(lines[index:end]))
            index = end
            continue
        if HEADING_RE.match(line) and len(line) <= HEADING_MAX_CHARS:
            out.append(f"<h3 class=\"doc-heading\">{escape(line)}</h3>")
        else:
            out.append(f"<p>{escape(line)}</p>")
        index += 1
    return "\n".join(out)

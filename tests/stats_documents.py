"""Annual reports whose standard tables exist only in a PDF or DOCX, made in test set-up.

The tables are demo/stats_tables.py's (the labels of ../shared/portals.md, the spans of the
official templates, figures under canonical keys), taken apart into cells with their spans
and drawn again:

- PDF: reportlab's platypus Table with a GRID style and SPAN commands (a ruled table, as an
  office's word processor prints it), text in a non-embedded CID font without ToUnicode
  (STSong-Light / Adobe-GB1, or MSung-Light / Adobe-CNS1 for a traditional-character report),
  long labels wrapping inside their cells, page numbers, and optionally section 三's table
  pushed to a page's foot so that it breaks over two pages;
- DOCX: WordprocessingML written here (python-docx is not a dependency: the reader is ours,
  and this keeps every byte of the merge markup visible): a merged header or category cell is
  `w:gridSpan` across columns and `w:vMerge` restart/continue down rows, as Word saves it.

`Surface` varies what a second portal would: traditional characters, full-width digits,
spaces inside labels.
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
from dataclasses import dataclass

import lxml.html

from nianbao.demo import stats_tables
from tests.cid_fonts import cid_font


@dataclass(frozen=True)
class Span:
    row: int
    col: int
    rowspan: int
    colspan: int
    text: str


@dataclass(frozen=True)
class Grid:
    rows: int
    cols: int
    cells: tuple[Span, ...]


def span_tables(html: str) -> list[Grid]:
    """The tables of an HTML fragment as cells placed on their grid (rowspan/colspan kept)."""
    grids = []
    for table in lxml.html.fragment_fromstring(f"<div>{html}</div>").iter("table"):
        taken: set[tuple[int, int]] = set()
        cells = []
        for r, tr in enumerate(table.iter("tr")):
            c = 0
            for td in tr.iter("td", "th"):
                while (r, c) in taken:
                    c += 1
                rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
                cells.append(Span(r, c, rs, cs, " ".join(td.text_content().split())))
                taken.update((r + i, c + j) for i in range(rs) for j in range(cs))
                c += cs
        grids.append(Grid(max(r for r, _ in taken) + 1, max(c for _, c in taken) + 1, tuple(cells)))
    return grids


@dataclass(frozen=True)
class Surface:
    """How a portal prints the same report."""

    traditional: bool = False
    full_width_digits: bool = False
    spaced_labels: bool = False

    def text(self, text: str) -> str:
        if self.traditional:
            text = _to_traditional().convert(text)
        if self.full_width_digits:
            text = text.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
        if self.spaced_labels and re.search(r"[\u4e00-\u9fff]", text):
            # "一、本年新收 政府信息公开 申请数量": word processors' justified spacing
            text = re.sub(r"(?<=[\u4e00-\u9fff]{2})(?=[\u4e00-\u9fff]{2})", " ", text, count=2)
        return text


PLAIN = Surface()


@functools.lru_cache(maxsize=1)
def _to_traditional():
    import opencc  # a converter takes a while to load: one for all cells
    return opencc.OpenCC("s2t")


# --------------------------------------------------------------------------- report content

def report_parts(figures: dict, fmt: str, agency: str, year: int) -> list[str | Grid]:
    """A report as paragraphs and tables, in the order of the standard six sections."""
    disclosure = (stats_tables.disclosure_tables_2021(figures) if fmt == "2021"
                  else stats_tables.disclosure_table_2019(figures))
    number = "〔2021〕30号" if fmt == "2021" else "〔2019〕60号"
    return [
        f"{agency}{year}年政府信息公开工作年度报告",
        f"本报告根据《中华人民共和国政府信息公开条例》和国办公开办函{number}要求编制，"
        f"所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。",
        "一、总体情况",
        f"{year}年，本机关认真贯彻落实《条例》，政府信息公开工作有序推进。",
        "二、主动公开政府信息情况",
        *span_tables(disclosure),
        "三、收到和处理政府信息公开申请情况",
        *span_tables(stats_tables.requests_table(figures, fmt)),
        "四、政府信息公开行政复议、行政诉讼情况",
        *span_tables(stats_tables.review_table(figures)),
        "五、存在的主要问题及改进情况",
        "公开内容的规范性有待提高。下一步将加强培训，提升工作水平。",
        "六、其他需要报告的事项",
        "本机关未收取信息处理费。",
    ]


# --------------------------------------------------------------------------- PDF

def stats_pdf(parts: list[str | Grid], *, surface: Surface = PLAIN, font: str = "STSong-Light",
              split_requests: bool = False) -> bytes:
    """A PDF of the report: paragraphs and ruled tables in a CID font without ToUnicode
    (UniGB-UCS2-H for STSong-Light, UniCNS-UCS2-H for MSung-Light: reportlab's
    UnicodeCIDFont). `split_requests`: section 三's table starts low on a page and breaks
    over two, its three header rows printed again at the top of the second."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = cid_font(font).fontName
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK")
    cell = ParagraphStyle("cell", fontName=font, fontSize=7, leading=9, wordWrap="CJK")
    width = A4[0] - 2 * 54
    story = []
    for part in parts:
        if isinstance(part, str):
            story.append(Paragraph(surface.text(part), body))
            if split_requests and part.startswith("三、"):
                story.append(Spacer(1, 420))  # the table begins near the foot of a page
            continue
        data = [["" for _ in range(part.cols)] for _ in range(part.rows)]
        style = [("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                 ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7),
                 ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
        for s in part.cells:
            text = surface.text(s.text)
            data[s.row][s.col] = Paragraph(text, cell) if text else ""
            if s.rowspan > 1 or s.colspan > 1:
                style.append(("SPAN", (s.col, s.row), (s.col + s.colspan - 1, s.row + s.rowspan - 1)))
        # a table that breaks over pages repeats its header rows there (section 三: three)
        repeat = 3 if split_requests and part.cols == 10 else 0
        story.append(Table(data, colWidths=_widths(part.cols, width), style=TableStyle(style),
                           repeatRows=repeat))
        story.append(Spacer(1, 8))

    def page_number(canvas, doc):
        canvas.setFont(font, 9)
        canvas.drawCentredString(A4[0] / 2, 30, f"- {doc.page} -")

    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, leftMargin=54, rightMargin=54, topMargin=54,
                      bottomMargin=54).build(story, onFirstPage=page_number, onLaterPages=page_number)
    return out.getvalue()


def _widths(cols: int, width: float) -> list[float]:
    # section 三's three label columns are wide (their sub-row labels are long), as printed
    if cols == 10:
        return [40, 50, 150] + [(width - 240) / 7] * 7
    if cols == 4:
        return [width * 0.4] + [width * 0.2] * 3
    return [width / cols] * cols


# --------------------------------------------------------------------------- DOCX

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _runs(text: str, split_runs: bool) -> str:
    # Word cuts a paragraph into runs wherever formatting or spell-checking touched it
    pieces = [text[i:i + 4] for i in range(0, len(text), 4)] if split_runs and text else [text]
    return "".join(f'<w:r><w:t xml:space="preserve">{_esc(p)}</w:t></w:r>' for p in pieces if p)


def _docx_table(grid: Grid, surface: Surface, split_runs: bool, repeat_merged: bool) -> str:
    starts = {(s.row, s.col): s for s in grid.cells}
    covering = {}
    for s in grid.cells:
        for r in range(s.row + 1, s.row + s.rowspan):
            covering[(r, s.col)] = s
    rows = []
    for r in range(grid.rows):
        tcs = []
        for c in range(grid.cols):
            span = starts.get((r, c))
            cont = covering.get((r, c))
            if span is not None:
                props = (f'<w:gridSpan w:val="{span.colspan}"/>' if span.colspan > 1 else "") + (
                    '<w:vMerge w:val="restart"/>' if span.rowspan > 1 else "")
                tcs.append(f"<w:tc><w:tcPr>{props}</w:tcPr><w:p>{_runs(surface.text(span.text), split_runs)}</w:p></w:tc>")
            elif cont is not None:
                props = (f'<w:gridSpan w:val="{cont.colspan}"/>' if cont.colspan > 1 else "") + "<w:vMerge/>"
                # converters (HTML -> DOCX, WPS) may leave the merged text in covered cells
                kept = _runs(surface.text(cont.text), split_runs) if repeat_merged else ""
                tcs.append(f"<w:tc><w:tcPr>{props}</w:tcPr><w:p>{kept}</w:p></w:tc>")
        rows.append("<w:tr>" + "".join(tcs) + "</w:tr>")
    cols = "".join('<w:gridCol w:w="800"/>' for _ in range(grid.cols))
    return (f'<w:tbl><w:tblPr><w:tblBorders><w:insideH w:val="single"/></w:tblBorders></w:tblPr>'
            f"<w:tblGrid>{cols}</w:tblGrid>{''.join(rows)}</w:tbl><w:p/>")


def stats_docx(parts: list[str | Grid], *, surface: Surface = PLAIN, split_runs: bool = False,
               repeat_merged: bool = False) -> bytes:
    body = "".join(f"<w:p>{_runs(surface.text(p), split_runs)}</w:p>" if isinstance(p, str)
                   else _docx_table(p, surface, split_runs, repeat_merged) for p in parts)
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W}><w:body>{body}</w:body></w:document>'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        z.writestr("_rels/.rels",
                   '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
        z.writestr("word/document.xml", xml.encode("utf-8"))
    return out.getvalue()

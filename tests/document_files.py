"""Documents made in test set-up: Chinese PDFs with CID fonts and no ToUnicode map, DOCX, OFD,
scanned and encrypted PDFs, and hostile files (zip bombs, XML entity expansion, broken PDFs).

reportlab writes exactly the PDFs government offices send: a non-embedded CID font
(STSong-Light, the Adobe-GB1 collection) under a predefined CMap (GBK-EUC-H, UniGB-UCS2-H)
and no /ToUnicode, so a reader must map codes to CIDs to Unicode through Adobe's tables.
The .doc files cannot be made without a word processor: two small ones are committed under
tests/files/documents/ (made with LibreOffice, see the README there).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from tests.cid_fonts import cid_font, drawable

DOCUMENTS = Path(__file__).parent / "files" / "documents"

# Shared ground truth of the fixtures: what a reader must give back.
REPORT_LINES_A = [
    "某某市民政局2021年政府信息公开工作年度报告",
    "一、总体情况",
    "2021年，我局认真贯彻落实《中华人民共和国政府信息公开条例》，全面推进政务公开。",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "本年新收政府信息公开申请数量12件，上年结转2件。",
]
TABLE_A = [
    ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
    ["规章", "0", "0", "0"],
    ["行政规范性文件", "3", "1", "27"],
]
REPORT_LINES_B = [
    "乙县人民政府办公室2022年度政府信息公开工作报告",
    "（一）主动公开情况",
    "全年通过政府网站发布信息四百三十六条，解读材料十五篇，回应关切事项八次。",
    "（二）依申请公开情况",
    "全年受理申请二十一件，均在法定期限内答复，无行政复议和行政诉讼。",
]
TABLE_B = [
    ["项目", "自然人", "法人或其他组织", "总计"],
    ["本年新收申请数量", "17", "4", "21"],
    ["结转下年度继续办理", "1", "0", "1"],
]


def cid_pdf(lines: list[str], table: list[list[str]] | None = None, *,
            encoding: str = "GBK-EUC-H", font: str = "STSong-Light", pages: int = 1,
            encrypt: str | None = None) -> bytes:
    """A PDF whose Chinese text is in a non-embedded CID font under `encoding`, without
    ToUnicode; `table` is drawn as a ruled grid (lines and cells), as reports print it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    face = cid_font(font, encoding)
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4, encrypt=encrypt)
    width, height = A4
    for page in range(pages):
        y = height - 72
        c.setFont(face.fontName, 12)
        for line in lines:
            c.drawString(72, y, drawable(face, line))
            y -= 20
        if table and page == 0:
            y -= 10
            cols = len(table[0])
            col_w = (width - 144) / cols
            row_h = 22
            top = y
            for r, row in enumerate(table):
                for i, cell in enumerate(row):
                    c.drawString(72 + i * col_w + 4, top - (r + 1) * row_h + 7, drawable(face, cell))
            for r in range(len(table) + 1):
                c.line(72, top - r * row_h, 72 + cols * col_w, top - r * row_h)
            for i in range(cols + 1):
                c.line(72 + i * col_w, top, 72 + i * col_w, top - len(table) * row_h)
        c.showPage()
    c.save()
    return out.getvalue()


def scanned_pdf(pages: int = 1) -> bytes:
    """An image-only PDF (a scan): pages with a picture and no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    # a tiny grey PNG made by hand (zlib), no image library needed
    import struct
    import zlib

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + bytes([(x * 7 + y * 3) % 256 for x in range(64)]) for y in range(64))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for _ in range(pages):
        c.drawImage(ImageReader(io.BytesIO(png)), 50, 50, 400, 600)
        c.showPage()
    c.save()
    return out.getvalue()


def _docx_xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def docx(paragraphs: list[str], table: list[list[str]] | None = None, *,
         document_xml: str | None = None, extra: dict[str, bytes] | None = None,
         creator: str = "nianbao tests") -> bytes:
    """A minimal WordprocessingML package: paragraphs, then a table. `document_xml` replaces
    word/document.xml (hostile variants); `extra` adds members."""
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(f"<w:p><w:r><w:t>{_docx_xml_text(p)}</w:t></w:r></w:p>" for p in paragraphs)
    if table:
        rows = "".join(
            "<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{_docx_xml_text(c)}</w:t></w:r></w:p></w:tc>"
                               for c in row) + "</w:tr>" for row in table)
        body += f"<w:tbl>{rows}</w:tbl><w:p/>"
    xml = document_xml or f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {ns}><w:body>{body}</w:body></w:document>'
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
        z.writestr("docProps/core.xml", f"<cp:coreProperties xmlns:cp='x'><creator>{creator}</creator></cp:coreProperties>")
        z.writestr("word/document.xml", xml.encode("utf-8"))
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def entity_bomb_docx() -> bytes:
    """A DOCX whose document.xml is a 'billion laughs' entity expansion."""
    ns = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    lol = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    xml = (f'<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY l0 "年报年报年报">{lol}]>'
           f"<w:document {ns}><w:body><w:p><w:r><w:t>&l9;</w:t></w:r></w:p></w:body></w:document>")
    return docx([], document_xml=xml)


def zip_bomb_docx(size: int = 600 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml inflates to `size` bytes of zeros (about 600 KB on disk)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(size >> 20):
                member.write(block)
    return out.getvalue()


def ofd(lines: list[str], *, extra_text_xml: str | None = None) -> bytes:
    """A small OFD (GB/T 33190): OFD.xml -> Doc_0/Document.xml -> Pages/Page_0/Content.xml
    holding TextObject/TextCode elements."""
    ns = 'xmlns:ofd="http://www.ofdspec.org/2016"'
    codes = "".join(
        f'<ofd:TextObject ID="{i + 10}" Boundary="10 {20 + i * 10} 180 8" Font="3" Size="4.2">'
        f'<ofd:TextCode X="0" Y="6" DeltaX="g {max(len(line) - 1, 0)} 4.2">{_docx_xml_text(line)}</ofd:TextCode></ofd:TextObject>'
        for i, line in enumerate(lines))
    content = extra_text_xml or (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="2">'
                                 f"{codes}</ofd:Layer></ofd:Content></ofd:Page>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD">'
                              "<ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo>"
                              "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")
        z.writestr("Doc_0/Document.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData>'
                                         '<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>'
                                         '<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>'
                                         '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>')
        z.writestr("Doc_0/PublicRes.xml", f'<?xml version="1.0" encoding="UTF-8"?><ofd:Res {ns} BaseLoc="Res"><ofd:Fonts>'
                                          '<ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>')
        z.writestr("Doc_0/Pages/Page_0/Content.xml", content)
    return out.getvalue()


def malformed_pdf() -> bytes:
    """A PDF header and the start of an object, then garbage: a cut or corrupt file."""
    return b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" + bytes(range(256)) * 40


def doc_file(name: str) -> bytes:
    """A committed Word 97 .doc (tests/files/documents/)."""
    return (DOCUMENTS / name).read_bytes()


def xlsx(rows: list[list[str]], *, shared: bool = True) -> bytes:
    """A minimal SpreadsheetML package: one sheet, cells as shared strings (or inline strings
    and numbers when `shared` is False)."""
    strings: list[str] = []
    cells_xml = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value.isdigit() and not shared:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif shared:
                strings.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{_docx_xml_text(value)}</t></is></c>')
        cells_xml.append(f'<row r="{r}">{"".join(cells)}</row>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", f"<workbook {ns}><sheets><sheet name='表1' sheetId='1'/></sheets></workbook>")
        z.writestr("xl/worksheets/sheet1.xml", f"<worksheet {ns}><sheetData>{''.join(cells_xml)}</sheetData></worksheet>")
        if shared:
            z.writestr("xl/sharedStrings.xml", f"<sst {ns}>" + "".join(
                f"<si><t>{_docx_xml_text(s)}</t></si>" for s in strings) + "</sst>")
    return out.getvalue()

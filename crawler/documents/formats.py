"""One reader per document kind: bytes -> DocumentText. Run them through `isolate` (a child
process with a time limit), never on untrusted bytes in the crawl's own process.

Libraries (measured in docs/documents.md): PDF with pdfplumber (MIT) over pdfminer.six (MIT),
which maps CID fonts without ToUnicode (GBK-EUC-H, UniGB-UCS2-H, Adobe-GB1) through Adobe's
CMaps and finds ruled tables; DOC and WPS with Debian's antiword (GPL, run as a program, not
linked); DOCX, XLSX and OFD are ZIP files of XML read here with the standard library and lxml
(entities never resolved, no DTD, no network; members checked against size caps before they
are read), because the readers on PyPI either load members whole (python-docx, openpyxl) or
pull in AGPL code (easyofd needs PyMuPDF).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile

import lxml.etree

from .model import EMPTY, ENCRYPTED, MALFORMED, OK, SCANNED, TOO_LARGE, UNSUPPORTED, DocumentText
from .sniff import BROKEN_ZIP, bytes_kind, document_kind

# Caps applied inside the readers (the byte cap is applied before: isolate.DocumentLimits).
DEFAULT_MAX_PAGES = 500
# A ZIP member (or all of them) larger than this once inflated is a bomb, not a report.
MAX_UNZIPPED = 200 * 1024 * 1024
MAX_MEMBERS = 5000
# A glyph a PDF library could not map ('(cid:1234)') in more than this share of the text:
# the font has no Unicode map nianbao can use; the text would be garbage.
MAX_UNMAPPED_SHARE = 0.05
_CID = re.compile(r"\(cid:\d+\)")


def read_document(body: bytes, content_type: str = "", url: str = "", *,
                  max_pages: int = DEFAULT_MAX_PAGES) -> DocumentText:
    """Read a document in this process (tests, the worker of `isolate`)."""
    kind = document_kind(body, content_type, url)
    if bytes_kind(body) == BROKEN_ZIP:
        return DocumentText(kind, MALFORMED, "a ZIP package that cannot be opened (cut or damaged)")
    reader = _READERS.get(kind)
    if reader is None:
        return DocumentText(kind, UNSUPPORTED, f"{kind}: nianbao does not read this kind of file")
    try:
        result = reader(body, max_pages)
    except _Refused as exc:
        return DocumentText(kind, exc.status, str(exc), pages=exc.pages)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, lxml.etree.XMLSyntaxError, EOFError) as exc:
        return DocumentText(kind, MALFORMED, f"{type(exc).__name__}: {exc}"[:300])
    except MemoryError:
        return DocumentText(kind, MALFORMED, "needed more memory than allowed")
    text, pages = result
    text = _tidy(text)
    if not text:
        return DocumentText(kind, EMPTY, "no text", pages=pages)
    return DocumentText(kind, OK, "", text, pages)


class _Refused(Exception):
    def __init__(self, status: str, reason: str, pages: int | None = None):
        super().__init__(reason)
        self.status = status
        self.pages = pages


def _tidy(text: str) -> str:
    from nianbao.crawler.cleanup import normalize_chars

    lines = [re.sub(r"[ \t\u3000\xa0]+", " ", line).strip() for line in text.splitlines()]
    return normalize_chars("\n".join(line for line in lines if line)).strip()


def _row(cells) -> str:
    return " | ".join(re.sub(r"\s+", " ", (c or "")).strip() for c in cells)


# --------------------------------------------------------------------------- PDF

def _read_pdf(body: bytes, max_pages: int):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(io.BytesIO(body))
        count = len(pdf.pages)
    except Exception as exc:  # pdfplumber wraps pdfminer's errors: look at the cause
        chain = [exc, exc.__cause__, exc.__context__, *getattr(exc, "args", ())]
        if any(isinstance(e, (PDFPasswordIncorrect, PDFEncryptionError)) for e in chain):
            raise _Refused(ENCRYPTED, "the PDF needs a password") from exc
        raise _Refused(MALFORMED, f"unreadable PDF: {type(exc).__name__}: {exc}"[:300]) from exc
    if count > max_pages:
        raise _Refused(TOO_LARGE, f"{count} pages (more than NIANBAO_DOCUMENT_MAX_PAGES={max_pages})", count)
    lines: list[str] = []
    images = 0
    chars = 0
    try:
        for page in pdf.pages:
            images += len(page.images)
            chars += len(page.chars)
            lines.extend(_pdf_page_lines(page))
    except Exception as exc:
        raise _Refused(MALFORMED, f"unreadable PDF page: {type(exc).__name__}: {exc}"[:300], count) from exc
    finally:
        pdf.close()
    text = "\n".join(lines)
    unmapped = len(_CID.findall(text))
    if unmapped and unmapped > MAX_UNMAPPED_SHARE * max(chars, 1):
        raise _Refused(UNSUPPORTED, f"{unmapped} of {chars} glyphs have no Unicode mapping "
                       "(a CID font without ToUnicode whose CMap nianbao cannot apply)", count)
    text = _CID.sub("", text)
    if not text.strip():
        if images:
            raise _Refused(SCANNED, f"{count} page(s) of images without a text layer (a scan; no OCR)", count)
        raise _Refused(EMPTY, "no text and no images", count)
    return text, count


def _pdf_page_lines(page) -> list[str]:
    """The page's text lines and its ruled tables (one `a | b | c` line per row), in reading
    order from the top."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(b[0] <= x <= b[2] and b[1] <= y <= b[3] for b in boxes)

    lines = page.filter(outside).extract_text_lines(return_chars=False)
    # A paragraph wraps at the right margin: a line that reaches it without ending a sentence
    # goes on in the next line ("…统计期限自2021" + "年1月1日起…"), so the text reads whole.
    right = max((line["x1"] for line in lines), default=0)
    placed: list[tuple[float, str, bool]] = []
    for line in lines:
        text = line["text"]
        full = line["x1"] >= right - _WRAP_SLACK and not _PARAGRAPH_END.search(text)
        placed.append((line["top"], text, full))
    for table in tables:
        rows = [_row(r) for r in table.extract() if any((c or "").strip() for c in r)]
        placed.append((table.bbox[1], "\n".join(rows), False))
    placed.sort(key=lambda item: item[0])
    out: list[str] = []
    joined = False
    for _, text, full in placed:
        if joined and out:
            out[-1] += text
        else:
            out.append(text)
        joined = full
    return out


# How far from the right margin a wrapped line may end (points: about one CJK glyph), and
# what ends a paragraph rather than a wrapped line.
_WRAP_SLACK = 14
_PARAGRAPH_END = re.compile(r"[。！？；：:!?]$|^[一二三四五六七八九十]+、|^（[一二三四五六七八九十]+）")


# --------------------------------------------------------------------------- ZIP + XML

_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                            huge_tree=False, remove_comments=True)


def _zip(body: bytes) -> zipfile.ZipFile:
    z = zipfile.ZipFile(io.BytesIO(body))
    infos = z.infolist()
    if len(infos) > MAX_MEMBERS:
        raise _Refused(MALFORMED, f"{len(infos)} members in the ZIP (hostile?)")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise _Refused(MALFORMED, f"the ZIP inflates to {total} bytes (more than {MAX_UNZIPPED}): a zip bomb?")
    return z


def _member_xml(z: zipfile.ZipFile, name: str):
    """Parse one member, reading at most MAX_UNZIPPED bytes whatever its header claims;
    a document type declaration (where entity bombs live) is refused."""
    with z.open(name) as member:
        data = member.read(MAX_UNZIPPED + 1)
    if len(data) > MAX_UNZIPPED:
        raise _Refused(MALFORMED, f"{name} inflates past {MAX_UNZIPPED} bytes: a zip bomb?")
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise _Refused(MALFORMED, f"{name} declares a DTD or entities (refused: entity expansion)")
    root = lxml.etree.fromstring(data, _XML)
    return root


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _read_docx(body: bytes, max_pages: int):
    z = _zip(body)
    if "word/document.xml" not in z.namelist():
        raise _Refused(MALFORMED, "no word/document.xml in the DOCX")
    root = _member_xml(z, "word/document.xml")
    body_el = next((el for el in root if _local(el.tag) == "body"), None)
    if body_el is None:
        return "", None
    lines: list[str] = []
    for block in body_el:
        name = _local(block.tag)
        if name == "p":
            lines.append(_docx_paragraph(block))
        elif name == "tbl":
            for tr in block.iter():
                if _local(tr.tag) == "tr":
                    cells = ["".join(_docx_paragraph(p) for p in tc.iter() if _local(p.tag) == "p")
                             for tc in tr if _local(tc.tag) == "tc"]
                    if any(c.strip() for c in cells):
                        lines.append(_row(cells))
        elif name == "sdt":  # content controls hold paragraphs too
            lines.extend(_docx_paragraph(p) for p in block.iter() if _local(p.tag) == "p")
    return "\n".join(lines), None


def _docx_paragraph(p) -> str:
    out = []
    for el in p.iter():
        name = _local(el.tag)
        if name == "t" and el.text:
            out.append(el.text)
        elif name == "tab":
            out.append(" ")
        elif name in ("br", "cr"):
            out.append("\n")
    return "".join(out)


def _read_xlsx(body: bytes, max_pages: int):
    z = _zip(body)
    names = z.namelist()
    shared: list[str] = []
    if "xl/sharedStrings.xml" in names:
        root = _member_xml(z, "xl/sharedStrings.xml")
        shared = ["".join(t.text or "" for t in si.iter() if _local(t.tag) == "t")
                  for si in root if _local(si.tag) == "si"]
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    if len(sheets) > max_pages:
        raise _Refused(TOO_LARGE, f"{len(sheets)} sheets (more than {max_pages})", len(sheets))
    lines = []
    for sheet in sheets:
        root = _member_xml(z, sheet)
        for row in root.iter():
            if _local(row.tag) != "row":
                continue
            cells = []
            for c in row:
                if _local(c.tag) != "c":
                    continue
                value = next((v.text or "" for v in c if _local(v.tag) in ("v", "is")), "")
                if c.get("t") == "s" and value.isdigit() and int(value) < len(shared):
                    value = shared[int(value)]
                elif c.get("t") == "inlineStr":
                    value = "".join(t.text or "" for t in c.iter() if _local(t.tag) == "t")
                cells.append(value)
            if any(x.strip() for x in cells):
                lines.append(_row(cells))
    return "\n".join(lines), len(sheets)


def _read_ofd(body: bytes, max_pages: int):
    """OFD (GB/T 33190): OFD.xml names each document's root; its Pages list the page content
    files; text is in TextObject/TextCode, one TextObject per run, placed by its Boundary."""
    z = _zip(body)
    names = set(z.namelist())
    root = _member_xml(z, "OFD.xml")
    doc_roots = [el.text.strip().lstrip("/") for el in root.iter() if _local(el.tag) == "DocRoot" and el.text]
    if not doc_roots:
        raise _Refused(MALFORMED, "OFD.xml names no DocRoot")
    lines: list[str] = []
    pages = 0
    images = 0
    for doc_root in doc_roots:
        if doc_root not in names:
            raise _Refused(MALFORMED, f"OFD document {doc_root} is missing")
        base = doc_root.rsplit("/", 1)[0] + "/" if "/" in doc_root else ""
        document = _member_xml(z, doc_root)
        locs = [el.get("BaseLoc") for el in document.iter() if _local(el.tag) == "Page" and el.get("BaseLoc")]
        pages += len(locs)
        if pages > max_pages:
            raise _Refused(TOO_LARGE, f"{pages} pages (more than NIANBAO_DOCUMENT_MAX_PAGES={max_pages})", pages)
        for loc in locs:
            path = loc.lstrip("/") if loc.lstrip("/") in names else base + loc.lstrip("/")
            if path not in names:
                raise _Refused(MALFORMED, f"OFD page {path} is missing", pages)
            page = _member_xml(z, path)
            images += sum(1 for el in page.iter() if _local(el.tag) == "ImageObject")
            lines.extend(_ofd_page_lines(page))
    text = "\n".join(lines)
    if not text.strip():
        if images:
            raise _Refused(SCANNED, f"{pages} page(s) of images without text (a scan; no OCR)", pages)
        raise _Refused(EMPTY, "no TextCode in any page", pages)
    return text, pages


def _ofd_page_lines(page) -> list[str]:
    runs: list[tuple[float, float, str]] = []
    for obj in page.iter():
        if _local(obj.tag) != "TextObject":
            continue
        text = "".join(code.text or "" for code in obj if _local(code.tag) == "TextCode")
        if not text.strip():
            continue
        try:
            x, y = (float(v) for v in (obj.get("Boundary") or "0 0").split()[:2])
        except ValueError:
            x, y = 0.0, 0.0
        runs.append((round(y, 0), x, text))
    runs.sort()
    lines: list[str] = []
    current_y = None
    for y, _, text in runs:
        if current_y is not None and abs(y - current_y) <= 1 and lines:
            lines[-1] += text
        else:
            lines.append(text)
        current_y = y
    return lines


# --------------------------------------------------------------------------- DOC / WPS

ANTIWORD_TIMEOUT = 60


def _read_doc(body: bytes, max_pages: int):
    """Word 97-2003 (and WPS, the same container) through Debian's antiword, told to write
    UTF-8 (`-m UTF-8.txt`) with unbroken lines (`-w 0`); its table rows `|a |b |` become
    `a | b`."""
    program = shutil.which("antiword")
    if program is None:
        raise _Refused(UNSUPPORTED, "antiword is not installed (apt-get install antiword)")
    done = subprocess.run([program, "-m", "UTF-8.txt", "-w", "0", "-"], input=body,
                          capture_output=True, timeout=ANTIWORD_TIMEOUT)
    error = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        if "encrypt" in error.lower():
            raise _Refused(ENCRYPTED, "the document is encrypted")
        if "not a word document" in error.lower() or "is not a" in error.lower():
            raise _Refused(UNSUPPORTED, f"not a Word 97-2003 document antiword can read: {error.strip()[:200]}")
        raise _Refused(MALFORMED, f"antiword failed: {error.strip()[:200]}")
    text = done.stdout.decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and stripped.count("|") >= 3:
            line = _row(stripped.strip("|").split("|"))
        lines.append(line)
    if "\ufffd" in text:
        raise _Refused(MALFORMED, "antiword gave undecodable characters")
    return "\n".join(lines), None


_READERS = {
    "pdf": _read_pdf,
    "docx": _read_docx,
    "xlsx": _read_xlsx,
    "ofd": _read_ofd,
    "doc": _read_doc,
    "wps": _read_doc,
}

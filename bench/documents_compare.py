"""Measure PDF/DOC/OFD text readers on Chinese files made here (not part of the test suite).

    .venv/bin/python -m nianbao.bench.documents_compare

For each candidate library and each made file: characters recovered in order / characters
expected (whitespace ignored; difflib matching blocks), '(cid:' and U+FFFD counts, seconds.
Candidates that are not installed are skipped. Numbers are in docs/documents.md.
"""

from __future__ import annotations

import difflib
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import document_files as made  # noqa: E402

_SPACE = re.compile(r"\s+|\|")


def score(expected: str, got: str) -> float:
    a, b = _SPACE.sub("", expected), _SPACE.sub("", got)
    matched = sum(m.size for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / len(a)


def readers():
    def pdfminer(data):
        import io
        from pdfminer.high_level import extract_text
        return extract_text(io.BytesIO(data))

    def pypdf(data):
        import io
        from pypdf import PdfReader
        return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)

    def pypdfium2(data):
        import pypdfium2 as pdfium
        doc = pdfium.PdfDocument(data)
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))

    def pymupdf(data):
        import pymupdf as fitz
        return "\n".join(p.get_text() for p in fitz.open(stream=data, filetype="pdf"))

    def nianbao(data):
        from nianbao.crawler.documents import read_document
        return read_document(data, "application/pdf", "x.pdf").text

    return {"pdfminer.six": pdfminer, "pypdf": pypdf, "pypdfium2": pypdfium2, "pymupdf": pymupdf,
            "nianbao (pdfminer+tables)": nianbao}


def olefile_word97(data: bytes) -> str:
    """The olefile-based way to read a Word 97 .doc (what the PyPI 'doc readers' do): the piece
    table (Clx) of the table stream points at the text in WordDocument, UTF-16LE or cp1252."""
    import io
    import struct

    import olefile

    ole = olefile.OleFileIO(io.BytesIO(data))
    wd = ole.openstream("WordDocument").read()
    flags = struct.unpack_from("<H", wd, 0x0A)[0]
    table = ole.openstream("1Table" if flags & 0x0200 else "0Table").read()
    fc_clx, lcb_clx = struct.unpack_from("<II", wd, 0x01A2)
    clx = table[fc_clx:fc_clx + lcb_clx]
    i = 0
    while clx[i] == 1:  # Prc blocks
        i += 3 + struct.unpack_from("<H", clx, i + 1)[0]
    lcb = struct.unpack_from("<I", clx, i + 1)[0]
    plc = clx[i + 5:i + 5 + lcb]
    n = (lcb - 4) // 12
    cps = struct.unpack_from(f"<{n + 1}I", plc, 0)
    out = []
    for k in range(n):
        fc = struct.unpack_from("<I", plc, 4 * (n + 1) + 8 * k + 2)[0]
        count = cps[k + 1] - cps[k]
        if fc & 0x40000000:
            start = (fc & ~0x40000000) // 2
            out.append(wd[start:start + count].decode("cp1252", "replace"))
        else:
            out.append(wd[fc:fc + 2 * count].decode("utf-16-le", "replace"))
    return "".join(out).replace("\r", "\n").replace("\x07", " | ")


def doc_readers():
    import shutil
    import subprocess

    def antiword(data):
        return subprocess.run([shutil.which("antiword"), "-m", "UTF-8.txt", "-w", "0", "-"], input=data,
                              capture_output=True, check=True).stdout.decode("utf-8")

    def nianbao(data):
        from nianbao.crawler.documents import read_document
        return read_document(data, "application/msword", "x.doc").text

    return {"antiword 0.37 (-m UTF-8.txt -w 0)": antiword, "olefile 0.47 piece table": olefile_word97,
            "nianbao (antiword, rows)": nianbao}


def ofd_readers():
    def easyofd(data):
        import base64
        import logging

        from easyofd import OFD
        logging.disable(logging.CRITICAL)
        ofd = OFD()
        ofd.read(base64.b64encode(data).decode(), save_xml=False)
        return "\n".join(t["text"] for doc in ofd.data for page in doc["page_info"].values()
                         for t in page["text_list"])

    def nianbao(data):
        from nianbao.crawler.documents import read_document
        return read_document(data, "application/ofd", "x.ofd").text

    return {"easyofd": easyofd, "nianbao (zip + lxml)": nianbao}


def table_rows(readers, files) -> None:
    for name, read in readers.items():
        for label, (data, lines, table) in files.items():
            expected = "".join(lines) + "".join("".join(r) for r in table)
            start = time.perf_counter()
            try:
                got = read(data)
            except Exception as exc:  # not installed or failed: say so
                print(f"| {name} | {label} | {type(exc).__name__}: {str(exc)[:60]} | | | |")
                continue
            took = time.perf_counter() - start
            print(f"| {name} | {label} | {score(expected, got):.1%} | {got.count('(cid:')} | "
                  f"{got.count(chr(0xfffd))} | {took:.3f} |")


def main() -> None:
    files = {
        "GBK-EUC-H A": (made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A, encoding="GBK-EUC-H"), made.REPORT_LINES_A, made.TABLE_A),
        "GBK-EUC-H B": (made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B, encoding="GBK-EUC-H"), made.REPORT_LINES_B, made.TABLE_B),
        "UniGB-UCS2-H A": (made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A, encoding="UniGB-UCS2-H"), made.REPORT_LINES_A, made.TABLE_A),
        "UniGB-UCS2-H B": (made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B, encoding="UniGB-UCS2-H"), made.REPORT_LINES_B, made.TABLE_B),
    }
    print("| reader | file | chars in order | (cid: | U+FFFD | seconds |")
    print("|---|---|---|---|---|---|")
    table_rows(readers(), files)
    docs = {"report-a.doc": (made.doc_file("report-a.doc"), made.REPORT_LINES_A, made.TABLE_A),
            "report-b.doc": (made.doc_file("report-b.doc"), made.REPORT_LINES_B + ["附表如下："], made.TABLE_B)}
    table_rows(doc_readers(), docs)
    ofds = {"OFD A": (made.ofd(made.REPORT_LINES_A), made.REPORT_LINES_A, []),
            "OFD B": (made.ofd(made.REPORT_LINES_B), made.REPORT_LINES_B, [])}
    table_rows(ofd_readers(), ofds)


if __name__ == "__main__":
    main()

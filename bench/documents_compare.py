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


def main() -> None:
    files = {
        "GBK-EUC-H A": (made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A, encoding="GBK-EUC-H"), made.REPORT_LINES_A, made.TABLE_A),
        "GBK-EUC-H B": (made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B, encoding="GBK-EUC-H"), made.REPORT_LINES_B, made.TABLE_B),
        "UniGB-UCS2-H A": (made.cid_pdf(made.REPORT_LINES_A, made.TABLE_A, encoding="UniGB-UCS2-H"), made.REPORT_LINES_A, made.TABLE_A),
        "UniGB-UCS2-H B": (made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B, encoding="UniGB-UCS2-H"), made.REPORT_LINES_B, made.TABLE_B),
    }
    print("| reader | file | chars in order | (cid: | U+FFFD | seconds |")
    print("|---|---|---|---|---|---|")
    for name, read in readers().items():
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


if __name__ == "__main__":
    main()

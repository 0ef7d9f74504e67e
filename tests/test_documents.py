"""Reading documents (crawler/documents): every kind on two fixtures that differ in surface
details, statuses with reasons for what cannot be read, hostile files bounded in time and
memory, and the kind of a download told from its bytes when type and extension disagree."""

from __future__ import annotations

import time

import pytest

from nianbao.crawler.documents import DocumentLimits, document_kind, is_document_response, read_document, read_isolated
from nianbao.crawler.documents.combine import combined_text, is_pointer
from nianbao.storage import AttachmentFile
from tests import document_files as made


def _without(package: bytes, member: str) -> bytes:
    """A ZIP package with one member left out (a cut or broken OFD/DOCX)."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in source.namelist():
            if name != member:
                z.writestr(name, source.read(name))
    return out.getvalue()


def squash(text: str) -> str:
    return "".join(text.split())


CASES = [
    ("GBK-EUC-H", made.REPORT_LINES_A, made.TABLE_A),
    ("UniGB-UCS2-H", made.REPORT_LINES_B, made.TABLE_B),
]


@pytest.mark.parametrize("encoding,lines,table", CASES)
def test_cid_font_pdfs_without_tounicode_give_real_chinese_and_table_rows(encoding, lines, table):
    pdf = made.cid_pdf(lines, table, encoding=encoding)
    assert b"/ToUnicode" not in pdf and encoding.encode() in pdf
    result = read_isolated(pdf, "application/pdf", "x.pdf")
    assert result.status == "ok", result.reason
    assert "(cid:" not in result.text and "\ufffd" not in result.text
    assert result.text.splitlines()[: len(lines)] == lines
    for row in table:
        assert " | ".join(row) in result.text.splitlines()
    assert result.pages == 1


@pytest.mark.parametrize("lines,table", [(made.REPORT_LINES_A, made.TABLE_A), (made.REPORT_LINES_B, made.TABLE_B)])
def test_docx_paragraphs_and_tables(lines, table):
    result = read_document(made.docx(lines, table), "", "report.docx")
    assert result.status == "ok" and result.kind == "docx"
    assert result.text.splitlines() == lines + [" | ".join(row) for row in table]


@pytest.mark.parametrize("name,lines,table", [("report-a.doc", made.REPORT_LINES_A, made.TABLE_A),
                                              ("report-b.doc", made.REPORT_LINES_B + ["附表如下："], made.TABLE_B)])
def test_word97_doc_through_antiword(name, lines, table):
    result = read_isolated(made.doc_file(name), "application/msword", name)
    assert result.status == "ok", result.reason
    assert result.text.splitlines() == lines + [" | ".join(row) for row in table]
    # a WPS file is the same container: read the same way
    assert read_document(made.doc_file(name), "", "report.wps").text == result.text


@pytest.mark.parametrize("lines", [made.REPORT_LINES_A, made.REPORT_LINES_B])
def test_ofd_text(lines):
    result = read_document(made.ofd(lines), "application/octet-stream", "download.jsp?f=1")
    assert result.kind == "ofd" and result.status == "ok"
    assert result.text.splitlines() == lines


@pytest.mark.parametrize("body,content_type,url,status,words", [
    (made.scanned_pdf(1), "application/pdf", "a.pdf", "scanned", "text layer"),
    (made.scanned_pdf(3), "application/octet-stream", "download?id=3", "scanned", "3 page"),
    (made.ofd([], extra_text_xml='<Page xmlns="http://www.ofdspec.org/2016"><Content><Layer>'
                                 '<ImageObject ID="1" ResourceID="2"/></Layer></Content></Page>'),
     "", "x.ofd", "scanned", "images"),
    (made.cid_pdf(made.REPORT_LINES_A, encrypt="secret"), "application/pdf", "a.pdf", "encrypted", "password"),
    (made.cid_pdf(made.REPORT_LINES_B, encrypt="另一个口令"), "", "b", "encrypted", "password"),
    (made.malformed_pdf(), "application/pdf", "a.pdf", "malformed", "PDF"),
    (b"%PDF-1.7\n" + b"\x00" * 500, "", "cut.pdf", "malformed", "PDF"),
    (made.entity_bomb_docx(), "", "a.docx", "malformed", "entities"),
    (made.zip_bomb_docx(), "", "b.docx", "malformed", "zip bomb"),
    (made.ofd([], extra_text_xml='<?xml version="1.0"?><!DOCTYPE P [<!ENTITY a "年报年报">'
                                 '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Page><Content><Layer>'
                                 '<TextObject><TextCode>&b;</TextCode></TextObject></Layer></Content></Page>'),
     "application/ofd", "bomb.ofd", "malformed", "entities"),
    (_without(made.ofd(["甲"]), "Doc_0/Document.xml"), "", "cut.ofd", "malformed", "missing"),
    (made.docx([]), "", "empty.docx", "empty", "no text"),
    (made.docx(made.REPORT_LINES_A)[:700], "application/msword", "a.doc", "malformed", "cannot be opened"),
    (made.ofd(made.REPORT_LINES_B)[:-30], "", "download?id=9", "malformed", "cannot be opened"),
    (b"Rar!\x1a\x07\x00" + b"\x00" * 100, "", "a.rar", "unsupported", "rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "application/vnd.ms-excel", "a.xls", "unsupported", "xls"),
])
def test_what_cannot_be_read_has_a_status_and_a_reason(body, content_type, url, status, words):
    start = time.monotonic()
    result = read_isolated(body, content_type, url, DocumentLimits(timeout=60))
    assert (result.status, result.text) == (status, ""), result.reason
    assert words.lower() in result.reason.lower()
    assert time.monotonic() - start < 30


def test_caps_on_bytes_pages_and_time():
    pdf = made.cid_pdf(made.REPORT_LINES_A, pages=4)
    assert read_isolated(pdf, limits=DocumentLimits(max_bytes=len(pdf) - 1)).status == "too_large"
    capped = read_isolated(pdf, limits=DocumentLimits(max_pages=3))
    assert capped.status == "too_large" and "4 pages" in capped.reason
    ofd = made.ofd(made.REPORT_LINES_B)
    assert read_isolated(ofd, limits=DocumentLimits(max_pages=0)).status == "too_large"
    # a reader that does not finish in time is stopped: an error for this file, nothing else
    start = time.monotonic()
    slow = read_isolated(made.cid_pdf(made.REPORT_LINES_A, pages=60), limits=DocumentLimits(timeout=0.05))
    assert slow.status == "malformed" and "NIANBAO_DOCUMENT_TIMEOUT" in slow.reason
    assert time.monotonic() - start < 10


def test_memory_cap_stops_a_reader_that_needs_too_much():
    result = read_isolated(made.cid_pdf(made.REPORT_LINES_A), limits=DocumentLimits(max_memory=40 * 1024 * 1024))
    assert result.status == "malformed" and result.text == ""


@pytest.mark.parametrize("body,content_type,url,kind", [
    (made.cid_pdf(["甲"]), "text/html", "a.doc", "pdf"),                 # bytes beat type and name
    (made.docx(["乙"]), "application/msword", "report.doc", "docx"),     # a DOCX named .doc
    (made.ofd(["丙"]), "application/zip", "x.zip", "ofd"),
    (made.doc_file("report-a.doc"), "application/octet-stream", "f.wps", "wps"),
    (made.doc_file("report-b.doc"), "", "download.jsp?id=7", "doc"),
    (b"garbage", "application/pdf", "x", "pdf"),                          # no proof in the bytes: the type
    (b"garbage", "", "/files/a.OFD", "ofd"),                              # then the extension
])
def test_kind_from_bytes_then_type_then_extension(body, content_type, url, kind):
    assert document_kind(body, content_type, url) == kind


def test_document_answers_versus_pages():
    assert is_document_response(made.cid_pdf(["丁"]), "text/html; charset=utf-8", "/a.html")
    assert not is_document_response(b"<html><body>\xe6\x96\x87\xe4\xbb\xb6\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8</body></html>",
                                    "application/octet-stream", "/a.pdf")
    assert not is_document_response(b"<!DOCTYPE html><html></html>", "text/html", "/x.pdf")
    assert is_document_response(b"\x00\x01binary", "application/octet-stream", "/download?id=1")


@pytest.mark.parametrize("text,pointer", [
    ("详见附件。", True),
    ("现将《某县2021年政府信息公开工作年度报告》予以公布，详见附件。\n附件：2021年报.pdf", True),
    ("点击下载：\n附件下载", True),
    ("", True),
    ("本机关2021年度政府信息公开工作总体平稳有序。全年主动公开政府信息三百余条，围绕重点领域加强解读回应，"
     "依申请公开办理规范，未发生因政府信息公开引起的行政复议和行政诉讼。存在的主要问题是公开内容的针对性有待加强，"
     "下一步将完善制度、加强培训、提升质量。", False),
])
def test_pointer_articles(text, pointer):
    assert is_pointer(text) is pointer


def test_combined_text_keeps_both_when_both_carry_substance():
    file = AttachmentFile(url="http://x/a/%E9%99%84%E4%BB%B6.pdf", body=b"%PDF", content_type="", kind="pdf",
                          extraction_status="ok", text="一、总体情况\n正文")
    bad = AttachmentFile(url="http://x/b.pdf", body=b"%PDF", content_type="", kind="pdf",
                         extraction_status="scanned", reason="scan")
    assert combined_text("详见附件。", [file, bad]) == "一、总体情况\n正文"
    article = "本机关" + "全年主动公开政府信息三百余条" * 10
    assert combined_text(article, [file]) == f"{article}\n\n【附件：附件.pdf】\n一、总体情况\n正文"
    assert combined_text("详见附件。", [bad]) == "详见附件。"


@pytest.mark.parametrize("table,shared", [(made.TABLE_A, True), (made.TABLE_B, False)])
def test_xlsx_rows(table, shared):
    result = read_document(made.xlsx(table, shared=shared), "application/octet-stream", "tongji.xlsx")
    assert result.kind == "xlsx" and result.status == "ok" and result.pages == 1
    assert result.text.splitlines() == [" | ".join(row) for row in table]

"""The pure judges of a fetched page (crawler/page_kinds.py, crawler/plausibility.py), with
real wordings: each rule has a case that differs from the fault server's pages."""

from __future__ import annotations

import pytest

from nianbao.crawler.page_kinds import SOFT_404, fault_of_html, redirected_home
from nianbao.crawler.plausibility import (
    SUSPECT, TRANSIENT, KnownReport, is_document, judge_page, judge_text, names_report,
)

SITE = "http://www.example.gov.cn"
TITLE = "示范县交通运输局2019年政府信息公开工作年度报告"


@pytest.mark.parametrize("asked, landed, home", [
    ("/zwgk/ndbg/t1.html", "/", True),
    ("/zwgk/ndbg/t1.html", "/index.jsp", True),
    ("/zwgk/ndbg/t1.html", "/portal/index.html", True),
    ("/art/2020/1/20/art_1422_5003.html", "/site/", True),
    ("/xxgk/index.html", "/", True),  # a listing one folder deep sent to the front page
    ("/zwgk/ndbg/t1.html", "/zwgk/", True),  # a report sent to its section's front page
    ("/ndbg", "/ndbg/", False),  # a folder and its own index are the page itself
    ("/ndbg/", "/ndbg/index.html", False),
    ("/", "/index.html", False),
    ("/xxgk/ndbg/index.html", "/xxgk/ndbg/index_1.html", False),
    ("/zwgk/ndbg/t1.html", "/moved/zwgk/ndbg/t1.html", False),
])
def test_redirected_home_by_path(asked, landed, home):
    assert redirected_home(SITE + asked, SITE + landed) is home


def test_another_configured_host_is_not_home_by_itself():
    assert not redirected_home(SITE + "/zwgk/t1.html", "http://xxgk.example.gov.cn:8080/zwgk/t1.html")
    assert redirected_home(SITE + "/zwgk/t1.html", "http://xxgk.example.gov.cn/index.jsp")


@pytest.mark.parametrize("words", [
    "对不起，您要访问的页面已经删除或者不存在。",
    "對不起，您查找的信息已經刪除或不存在！",  # traditional
    "该稿件已被移除。",
    "抱歉，您要查看的内容已下线",
    "此文章已被撤回",
])
def test_soft_404_wordings(words):
    assert fault_of_html(f"<html><head><title>提示</title></head><body><p>{words}</p></body></html>") == SOFT_404


@pytest.mark.parametrize("words", ["本局年度报告中已删除的信息共3条。", "政府信息公开工作年度报告"])
def test_ordinary_words_are_no_soft_404(words):
    assert fault_of_html(f"<html><body><p>{words}</p></body></html>") is None


def test_a_page_names_its_report_in_its_title_or_text_not_its_links():
    assert names_report(TITLE, f"<html><head><title>{TITLE}</title></head><body><p>详见附件</p></body></html>")
    corrected = "<html><body><h2>示范县交通运输局2019年度政府信息公开工作报告（更正版）</h2></body></html>"
    assert names_report(TITLE, corrected)
    blocked = "<html><head><title>温馨提示</title></head><body><p>您的IP请求次数过多，请30分钟后再试。</p></body></html>"
    assert not names_report(TITLE, blocked)
    only_a_link = f'<html><body><p>首页</p><a href="/x.html">{TITLE}</a></body></html>'
    assert not names_report(TITLE, only_a_link)


@pytest.mark.parametrize("body, document", [
    (b"%PDF-1.7\n...", True),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", True),  # DOC, WPS
    (b"PK\x03\x04\x14\x00\x06\x00", True),  # DOCX, OFD
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", True),  # binary: not judged here
    (b"java.io.FileNotFoundException: /data/x.pdf", False),
    ("<html><body>文件不存在</body></html>".encode("gbk"), False),
    (b"", False),
])
def test_is_document(body, document):
    assert is_document(body) is document


def test_an_error_typed_as_a_download_is_transient_even_for_a_new_report():
    verdict = judge_page(url=SITE + "/t.html", final_url=SITE + "/t.html", html=None,
                         body=b"Error 500: File not found", content_type="application/x-download", known=None)
    assert verdict.kind == TRANSIENT and "not a document" in verdict.reason


def test_the_same_text_is_the_same_report_whatever_the_page_says():
    from nianbao.storage.models import content_hash

    known = KnownReport(kind="annual_report", title=TITLE, text_length=2000, document=False,
                        content_hash=content_hash("正文"))
    page = "<html><head><title>首页</title></head><body><p>正文</p></body></html>"
    assert judge_text(kind="other", text="正文", known=known, html=page) is None
    verdict = judge_text(kind="annual_report", text="请稍后", known=known, html=page)
    assert verdict.kind == TRANSIENT


@pytest.mark.parametrize("stored_ended, verdict", [(True, TRANSIENT), (None, SUSPECT), (False, None)])
def test_a_page_without_its_end_is_truncated_where_the_stored_page_had_one(stored_ended, verdict):
    """A site whose pages end with </html> does not publish one without: a cut page, never a
    version; on a site whose pages never had an end, a missing end says nothing."""
    known = KnownReport(kind="annual_report", title=TITLE, text_length=2000, document=False, ended=stored_ended)
    cut = f"<html><head><title>{TITLE}</title></head><body><p>一、总体情况".encode()
    judged = judge_page(url=SITE + "/t.html", final_url=SITE + "/t.html", html=cut.decode(), body=cut,
                        content_type="text/html; charset=utf-8", known=known)
    assert (judged.kind if judged else None) == verdict

"""`nianbao extract URL_OR_FILE [--json]`: real fetches of a local HTTP server and real files.

The command runs in-process through click's runner (the code path of `python -m nianbao`),
once as a child process; the pages are the fixtures of tests/test_extract_real_pages.py.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from click.testing import CliRunner

from nianbao import __version__
from nianbao.cli import main
from tests.conftest import run_nianbao
from tests.local_sites import LocalSite

FILES = Path(__file__).parent / "files"
GOV_PAGE = (FILES / "pages" / "gov-ucap-after-html.html").read_bytes()
PLACEHOLDER_PAGE = FILES / "cases" / "zwgk-metadata-attachment-only.html"
TITLE = "国务院办公厅2021年政府信息公开工作年度报告"
FIRST_LINE = "本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）"
COLUMNS = ["url", "final_url", "title", "text", "issuer", "year", "title_year", "text_year", "year_basis",
           "published_date", "published_basis", "kind", "attachments", "method", "reasons"]


def invoke(*args: str):
    result = CliRunner().invoke(main, ["extract", *args])
    # a crash is an exception the runner caught; an orderly exit is SystemExit
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def assert_one_line_error(result, status: int, *fragments: str) -> str:
    assert result.exit_code == status, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nianbao: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture
def site():
    with LocalSite() as running:
        running.answers["/zhengce/2022-01/28/content_5598012.htm"] = (
            200, {"Content-Type": "text/html; charset=utf-8"}, GOV_PAGE)
        yield running


# --------------------------------------------------------------------------- URLs

def test_url_prints_what_would_be_stored(site):
    result = invoke(site.url("/zhengce/2022-01/28/content_5598012.htm"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"title:       {TITLE}" in out
    assert "method:      container:#UCAP-CONTENT" in out
    assert "year:        2021 (from the title" in out
    assert "published:   2022-01-28 (meta)" in out  # the page prints no date: its PubDate meta
    assert "kind:        annual_report" in out
    assert "  - container:#UCAP-CONTENT:" in out  # why it won
    assert "\n" + FIRST_LINE in out and "行政规范性文件 | 182 | 31 | 1024" in out
    assert "个人中心" not in out
    # politely: robots.txt first, then the page once, with nianbao's User-Agent
    assert site.requests == ["/robots.txt", "/zhengce/2022-01/28/content_5598012.htm"]
    assert all(agent.startswith(f"nianbao/{__version__} (+") for agent in site.user_agents)


def test_url_json_uses_the_reports_column_names(site):
    url = site.url("/zhengce/2022-01/28/content_5598012.htm")
    result = invoke(url, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert list(record) == COLUMNS
    assert record["url"] == record["final_url"] == url
    assert (record["title"], record["year"], record["year_basis"], record["kind"]) == (TITLE, 2021, "title", "annual_report")
    assert (record["published_date"], record["published_basis"]) == ("2022-01-28", "meta")
    assert record["text"].startswith(FIRST_LINE) and record["text"].endswith("本年度未收取信息处理费。")
    assert record["method"] == "container:#UCAP-CONTENT" and record["attachments"] == []
    assert record["issuer"] == "国务院办公厅"  # named at the start of the title
    assert any(reason.startswith("container:#UCAP-CONTENT") for reason in record["reasons"])


def test_url_is_decoded_by_the_crawls_decoder(site):
    """A page that declares gb2312 and holds a GBK-only character (堃) reads right."""
    page = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset=gb2312'>"
            "<title>某县2019年政府信息公开工作年度报告</title></head><body><div id='zoom'>"
            "<p>本报告由县政府办公室编制，联系人：王堃。全年共受理政府信息公开申请58件，全部按时办结。</p></div></body></html>")
    site.answers["/gbk.html"] = (200, {"Content-Type": "text/html; charset=gb2312"}, page.encode("gbk"))
    site.answers["/gzip.html"] = (200, {"Content-Type": "text/html; charset=gb2312", "Content-Encoding": "gzip"},
                                  gzip.compress(page.encode("gbk")))
    del site.answers["/robots.txt"]  # none (404): everything allowed, as in the crawl
    for path in ("/gbk.html", "/gzip.html"):
        record = json.loads(invoke(site.url(path), "--json").stdout)
        assert "联系人：王堃" in record["text"], path
        assert "decoded as gb18030" in record["reasons"], path


def test_document_url_is_read_or_its_status_given(site):
    path = "/xxgk/P020200121_" + quote("2019年度政府信息公开工作年度报告.pdf")
    site.answers[path] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n%%EOF\n")
    url = site.url(path)
    record = json.loads(invoke(url, "--json").stdout)
    assert (record["method"], record["text"], record["year"], record["kind"]) == ("document", "", 2019, "annual_report")
    assert record["reasons"][0].startswith("document: pdf, application/pdf")
    assert "extraction_status malformed" in record["reasons"][0]
    # a readable one: its text (a CID-font PDF without ToUnicode)
    from tests import document_files as made
    site.answers[path] = (200, {"Content-Type": "application/octet-stream"},
                          made.cid_pdf(made.REPORT_LINES_B, made.TABLE_B))
    record = json.loads(invoke(url, "--json").stdout)
    assert record["text"].startswith(made.REPORT_LINES_B[0]) and "extraction_status ok" in record["reasons"][0]


# --------------------------------------------------------------------------- failures

def test_robots_txt_is_obeyed(site):
    site.answers["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: nianbao\nDisallow: /zhengce/\n")
    result = invoke(site.url("/zhengce/2022-01/28/content_5598012.htm"))
    assert_one_line_error(result, 1, "robots.txt", "does not allow nianbao")
    assert site.requests == ["/robots.txt"]


def test_a_redirect_is_checked_like_the_url(site):
    site.answers["/robots.txt"] = (200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n")
    site.redirect("/moved.htm", site.url("/private/page.htm"))
    site.redirect("/elsewhere.htm", "ftp://127.0.0.1/page.htm")
    assert_one_line_error(invoke(site.url("/moved.htm")), 1, "robots.txt")
    assert_one_line_error(invoke(site.url("/elsewhere.htm")), 1, "only http:// and https://")
    assert "/private/page.htm" not in site.requests


def test_dead_url_and_http_errors_are_one_line_exit_1(site):
    assert_one_line_error(invoke(site.url("/gone.htm")), 1, "HTTP 404")
    with LocalSite() as closed:
        dead = closed.url("/a.htm")
    assert_one_line_error(invoke(dead), 1, "cannot connect")


def test_an_empty_page_is_an_extraction_failure(site):
    site.page("/nav-only.htm", "<html><body><div class='top'><a href='/'>首页</a> | <a href='/en/'>EN</a></div></body></html>")
    assert_one_line_error(invoke(site.url("/nav-only.htm")), 1, "extraction failed", "no body text")


def test_missing_file_is_one_line_exit_2(tmp_path):
    assert_one_line_error(invoke(str(tmp_path / "nope.html")), 2, "no such file")


def test_url_option_must_be_http(tmp_path):
    result = invoke(str(PLACEHOLDER_PAGE), "--url", "ftp://x.gov.cn/a.html")
    assert result.exit_code == 2 and "must be an http:// or https:// URL" in result.stderr


def test_error_in_a_child_process_has_no_traceback(tmp_path):
    result = run_nianbao("extract", str(tmp_path / "nope.html"), "--json")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [f"nianbao: {tmp_path / 'nope.html'}: no such file "
                                                  "(give a saved page or document, or an http:// or https:// URL)"]


# --------------------------------------------------------------------------- files

def test_saved_page_text_and_json(tmp_path):
    text = invoke(str(PLACEHOLDER_PAGE), "--url", "http://www.haian.gov.cn/hasjj/art/2021/art_77_1.html")
    assert text.exit_code == 0, text.output
    assert "method:      placeholder:metadata" in text.stdout
    assert "text:        0 characters (none of its own)" in text.stdout
    assert "  - http://www.haian.gov.cn/uploads/2021/01/25/1611561234.pdf" in text.stdout
    record = json.loads(invoke(str(PLACEHOLDER_PAGE), "--json").stdout)
    assert list(record) == COLUMNS
    assert record["url"] == PLACEHOLDER_PAGE.resolve().as_uri()
    assert (record["text"], record["method"], record["year"]) == ("", "placeholder:metadata", 2020)
    assert record["attachments"] == ["file:///uploads/2021/01/25/1611561234.pdf"]
    assert "no text of its own" in " ".join(record["reasons"])


@pytest.mark.parametrize("name, head", [("2020年度政府信息公开工作年度报告.pdf", b"%PDF-1.7\n"),
                                        ("xxgk-report.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)),
                                        ("saved-without-extension", b"%PDF-1.4\n")])
def test_unreadable_document_file_says_why(tmp_path, name, head):
    path = tmp_path / name
    path.write_bytes(head + b"binary")
    result = invoke(str(path))
    assert result.exit_code == 0, result.output
    # a broken file: stored with a status and a reason, never a crash
    assert ("extraction_status unsupported" if name.endswith(".doc") else "extraction_status malformed") in result.stdout
    assert "method:      document" in result.stdout
    if name.startswith("2020"):
        assert "year:        2020 (from the title" in result.stdout and "kind:        annual_report" in result.stdout

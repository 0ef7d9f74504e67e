"""End to end: hostile page bytes through a real crawl of a portal on 127.0.0.1, real SQLite.

One agency whose listing links to report pages that broke the crawler in the wild: a GBK
paragraph pasted into a UTF-8 page, NUL bytes, a UTF-8 paragraph in a GBK page, a page nested
50,000 elements deep, an 8 MB body of binary garbage and a gzip body served without
Content-Encoding. Readable reports are stored with the recovered text; the unreadable ones
are failed report fetches in fetch_log; the log stays small however big the dropped page.
"""

from __future__ import annotations

import gzip
import random
import re

import pytest

from nianbao.demo.site import Page, hanweb_article, paragraphs, report_text, trs_article
from tests.conftest import crawl, query as rows

AGENCY_ID = "demo-hostile"
AGENCY = "示例市统计局"
PREFIX = "/hostile"

# The paragraph written in the other charset, and a line of the rest of each page.
GBK_PARAGRAPH = "二、主动公开政府信息情况：全年主动公开规范性文件9件，行政许可结果45件，均按时更新。"
UTF8_PARAGRAPH = "第三部分：依申请公开情况。本年度新收政府信息公开申请二十三件，上年结转两件。"
NUL_WORDS = "统计期限自2017年1月1日起至2017年12月31日止"
DEEP_SENTENCE = "本机关坚持以公开为常态、不公开为例外，全年未发生因政府信息公开引起的行政复议。"


def _title(year: int) -> str:
    return f"{AGENCY}{year}年政府信息公开工作年度报告"


def gbk_paragraph_in_utf8_page() -> bytes:
    """TRS template, UTF-8, one paragraph's bytes in GBK (an editor pasted it)."""
    body = paragraphs(report_text(AGENCY, 2019)).replace("<p>二、主动公开政府信息情况</p>", "<p>MARK</p>")
    page = trs_article(_title(2019), "2020-01-20", body, site=AGENCY).encode("utf-8")
    return page.replace(b"MARK", GBK_PARAGRAPH.encode("gbk"))


def utf8_paragraph_in_gbk_page() -> bytes:
    """Hanweb template declaring gb2312, GBK bytes, one paragraph in UTF-8."""
    body = paragraphs(report_text(AGENCY, 2018)) + "<p>MARK</p>"
    page = hanweb_article(_title(2018), "2019-01-25", body, site=AGENCY)
    page = page.replace("charset=utf-8", "charset=gb2312").encode("gbk")
    return page.replace(b"MARK", UTF8_PARAGRAPH.encode("utf-8"))


def nul_bytes_page() -> bytes:
    """UTF-8 Hanweb page with NUL bytes inside a word, between tags and in the title."""
    page = hanweb_article(_title(2017), "2018-01-30", paragraphs(report_text(AGENCY, 2017)), site=AGENCY)
    raw = page.encode("utf-8")
    raw = raw.replace(NUL_WORDS.encode(), NUL_WORDS[:6].encode() + b"\x00" + NUL_WORDS[6:].encode())
    return raw.replace(b"</p>", b"</p>\x00\x00", 3).replace("年度报告</title>".encode(), "年度\x00报告</title>".encode())


def deep_page() -> bytes:
    """Navigation first, then the body 50,000 elements deep (lxml stops at 256)."""
    body = "<p>" + DEEP_SENTENCE + "</p>" + paragraphs(report_text(AGENCY, 2016))
    page = trs_article(_title(2016), "2017-01-18", "<div>" * 50_000 + body + "</div>" * 50_000, site=AGENCY)
    return page.encode("utf-8")


def binary_page(size: int = 8 * 1024 * 1024) -> bytes:
    head = f"<html><head><meta charset='utf-8'><title>{_title(2015)}</title></head><body>".encode()
    return head + random.Random(2015).randbytes(size)


def gzip_page() -> bytes:
    """A page compressed by a gateway that forgot the Content-Encoding header."""
    page = trs_article(_title(2014), "2015-01-10", paragraphs(report_text(AGENCY, 2014)), site=AGENCY)
    return gzip.compress(page.encode("utf-8"), mtime=0)


PAGES = {
    "gbk-paragraph.html": (2019, gbk_paragraph_in_utf8_page, "text/html; charset=utf-8"),
    "utf8-paragraph.html": (2018, utf8_paragraph_in_gbk_page, "text/html; charset=gb2312"),
    "nul.html": (2017, nul_bytes_page, "text/html"),
    "deep.html": (2016, deep_page, "text/html; charset=utf-8"),
    "binary.html": (2015, binary_page, "text/html"),
    "gzip.html": (2014, gzip_page, "text/html; charset=utf-8"),
}


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    """One crawl (at DEBUG, so scraped items are logged too) of the hostile agency."""
    from nianbao.demo.portal import DemoPortal

    tmp = tmp_path_factory.mktemp("hostile")
    with DemoPortal() as portal:
        links = []
        for name, (year, build, content_type) in PAGES.items():
            portal.set_page(f"{PREFIX}/{name}", Page(build(), content_type=content_type))
            links.append(f'<li><a href="{PREFIX}/{name}">{_title(year)}</a></li>')
        listing = f"<html><head><meta charset='utf-8'><title>年报</title></head><body><ul>{''.join(links)}</ul></body></html>"
        portal.set_page(f"{PREFIX}/list.html", Page(listing.encode("utf-8")))
        portal.site.agencies.append(dict(
            id=AGENCY_ID, name=AGENCY, kind="department", region="示例省示例市", start_year=2014,
            sources=[f"{portal.base_url}{PREFIX}/list.html"],
        ))
        config = portal.write_registry(tmp / "agencies.yaml")
        db = tmp / "nianbao.db"
        result = crawl(config, db, "--agency", AGENCY_ID, settings={"LOG_LEVEL": "DEBUG"})
    return result, db


def stored_text(db, name: str) -> str:
    found = rows(db, "SELECT text FROM reports WHERE url LIKE ?", [f"%{PREFIX}/{name}"])
    assert len(found) == 1, f"{name} was not stored"
    return found[0]["text"]


def assert_clean(text: str) -> None:
    assert "\ufffd" not in text and "\x00" not in text
    # mojibake of UTF-8 read as GBK ('鏀垮簻') or GBK read as Latin/Hebrew letters
    assert not re.search("[\u0100-\u07ff\ue000-\uf8ff]", text)


def test_gbk_paragraph_in_a_utf8_page_is_stored_with_its_text(hostile_crawl):
    _, db = hostile_crawl
    text = stored_text(db, "gbk-paragraph.html")
    assert GBK_PARAGRAPH in text.split("\n")
    assert "现公布示例市统计局2019年度政府信息公开工作年度报告" in text
    assert_clean(text)


def test_utf8_paragraph_in_a_gbk_page_is_stored_with_its_text(hostile_crawl):
    _, db = hostile_crawl
    text = stored_text(db, "utf8-paragraph.html")
    assert UTF8_PARAGRAPH in text.split("\n")
    assert "全年共收到政府信息公开申请" in text
    assert_clean(text)


def test_nul_bytes_are_dropped(hostile_crawl):
    _, db = hostile_crawl
    text = stored_text(db, "nul.html")
    assert NUL_WORDS in text
    assert_clean(text)
    title = rows(db, "SELECT title FROM reports WHERE url LIKE ?", [f"%{PREFIX}/nul.html"])[0]["title"]
    assert title == _title(2017)


def test_deeply_nested_page_stores_its_body_not_its_navigation(hostile_crawl):
    _, db = hostile_crawl
    text = stored_text(db, "deep.html")
    assert DEEP_SENTENCE in text and "全年未发生因政府信息公开引起的行政复议和行政诉讼" in text
    assert "首页" not in text and "登录" not in text


@pytest.mark.parametrize("name", ["binary.html", "gzip.html"])
def test_undecodable_page_is_a_failed_report_fetch(hostile_crawl, name):
    _, db = hostile_crawl
    assert not rows(db, "SELECT 1 FROM reports WHERE url LIKE ?", [f"%{PREFIX}/{name}"])
    failed = rows(db, "SELECT status, error FROM fetch_log WHERE purpose = 'report' AND error IS NOT NULL "
                      "AND url LIKE ?", [f"%{PREFIX}/{name}"])
    assert len(failed) == 1
    assert failed[0]["error"].startswith("undecodable: ") and "not readable as utf-8 or gb18030" in failed[0]["error"]
    assert len(failed[0]["error"]) <= 300


def test_log_is_bounded_whatever_was_dropped(hostile_crawl):
    result, _ = hostile_crawl
    log = result.stderr + result.stdout
    assert len(log) < 200_000, f"{len(log)} characters of log"
    prefix = len("2026-01-01 00:00:00 [scrapy.core.scraper] WARNING: ")
    assert max(len(line) for line in log.splitlines()) <= 500 + prefix
    dropped = [line for line in log.splitlines() if "Dropped: undecodable:" in line]
    assert len(dropped) == 2
    # the items in the log are one-line summaries, not their bytes or texts
    assert re.search(r"ReportPage\(demo-hostile http://\S+/binary\.html: \d+ bytes", log)
    assert re.search(r"ReportFetch\(demo-hostile http://\S+/gbk-paragraph\.html: annual_report 2019", log)
    assert "\\x" not in log and DEEP_SENTENCE not in log

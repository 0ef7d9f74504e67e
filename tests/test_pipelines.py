"""ExtractPipeline on pages whose bytes were damaged: repaired reports carry what decoding cost,
undecodable ones are failed report fetches; items and reasons stay short."""

from __future__ import annotations

import asyncio
import random
import re

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from nianbao.crawler.encoding import decode_html
from nianbao.crawler.items import ReportGone, ReportPage
from nianbao.crawler.pipelines import ExtractPipeline
from nianbao.crawler.store_access import close_store, store_for
from nianbao.demo.site import hanweb_article, paragraphs, report_text, trs_article
from nianbao.storage.models import AgencyRecord

AGENCY = AgencyRecord("demo-a", "示例县财政局", "department", None, 2015, ("http://cz.example.gov.cn/",))


@pytest.fixture
def crawler(tmp_path):
    crawler = get_crawler(settings_dict={"NIANBAO_DB": str(tmp_path / "nianbao.db")})
    store_for(crawler).agencies.sync([AGENCY])
    yield crawler
    close_store(crawler)


def page(body: bytes, encoding: str, url: str = "http://cz.example.gov.cn/art/2020/1/t1.html", **extra) -> ReportPage:
    """A ReportPage as the spider builds it: html is the middleware's repaired text."""
    return ReportPage(agency_id=AGENCY.id, url=url, final_url=extra.pop("final_url", url),
                      html=decode_html(body, encoding).text, body=body, encoding=encoding,
                      fetched_at="2020-01-20T08:00:00Z", listing_title=extra.pop("title", None), **extra)


def _process(crawler, item):
    """ExtractPipeline.process_item is a coroutine; without workers it never waits on the reactor."""
    return asyncio.run(build_from_crawler(ExtractPipeline, crawler).process_item(item))


def test_gbk_paragraph_report_carries_its_repair(crawler):
    body = trs_article("示例县财政局2019年政府信息公开工作年度报告", "2020-01-20",
                       paragraphs(report_text("示例县财政局", 2019)) + "<p>GBK</p>", site="示例县").encode("utf-8")
    body = body.replace(b"GBK", "附：本年度收到的申请均已按期答复。".encode("gbk"))
    fetch = _process(crawler, page(body, "utf-8"))
    assert "附：本年度收到的申请均已按期答复。" in fetch.text.split("\n")
    assert fetch.decoding_loss == 0
    assert fetch.decoding_note == f"{len('附：本年度收到的申请均已按期答复。'.encode('gbk'))} bytes read as gb18030 in a utf-8 page"


def test_gbk_report_with_nuls_and_a_broken_character_carries_its_loss(crawler):
    text = hanweb_article("示例县财政局2018年政府信息公开工作年度报告", "2019-01-31",
                          paragraphs(report_text("示例县财政局", 2018)), site="示例县")
    body = text.replace("charset=utf-8", "charset=gbk").encode("gbk")
    zhong = "政府".encode("gbk")
    body = body.replace(zhong, zhong[:1] + b"\x00" + zhong[1:], 2)  # NUL inside a character
    body = body.replace("六、其他需要报告的事项".encode("gbk"), "六、其他需要报告的事项".encode("gbk") + b"\xff")
    fetch = _process(crawler, page(body, "gb18030"))
    assert "全年共收到政府信息公开申请" in fetch.text and "六、其他需要报告的事项" in fetch.text
    assert fetch.decoding_loss == 1
    assert fetch.decoding_note.endswith("2 NUL bytes dropped") and "1 of " in fetch.decoding_note


@pytest.mark.parametrize("body, encoding", [
    (b"<html><head><title>2019</title></head><body>" + random.Random(1).randbytes(50_000), "utf-8"),
    # a UTF-16 page without its BOM, taken for GBK (it is valid GB18030 in part)
    (hanweb_article("示例县财政局2017年政府信息公开工作年度报告", "2018-01-20",
                    paragraphs(report_text("示例县财政局", 2017))).encode("utf-16-le"), "gb18030"),
], ids=["random-bytes", "utf-16-without-bom"])
def test_undecodable_report_is_a_failed_report_fetch(crawler, body, encoding):
    item = page(body, encoding, title="示例县财政局2019年政府信息公开工作年度报告")
    with pytest.raises(DropItem, match="^undecodable: "):
        _process(crawler, item)
    logged = store_for(crawler).db.execute(
        "SELECT purpose, status, error FROM fetch_log WHERE url = ?", (item.url,)).fetchall()
    assert [(row[0], row[1]) for row in logged] == [("report", None)]
    assert re.match(r"undecodable: \d+ of \d+ non-ASCII or control bytes \((9\d|100)%\) not readable as "
                    r"(utf-8 or gb18030|gb18030 or utf-8)", logged[0][2])


def test_rejection_reason_is_bounded(crawler):
    """A reason quoting its input (here a 5,000-character redirect target) is cut. A report
    redirected to the home page is evidence of a removal, logged as 'gone:' with the target."""
    body = ("<html><head><title>示例县人民政府门户网站</title></head><body><div class='TRS_Editor'>"
            "<p>欢迎访问示例县人民政府门户网站，本站提供政务公开、办事服务、互动交流等栏目。</p></div></body></html>")
    item = page(body.encode("utf-8"), "utf-8", final_url="http://cz.example.gov.cn/?" + "x" * 5_000,
                known_kind="annual_report")
    gone = _process(crawler, item)
    assert isinstance(gone, ReportGone) and gone.reason == "redirect_home"
    (error,) = store_for(crawler).db.execute("SELECT error FROM fetch_log").fetchone()
    assert error.startswith("gone: redirect_home (answered at http://cz.example.gov.cn/?xxx")
    assert len(error) <= 300


def test_item_reprs_are_short():
    body = ("<p>" + "报告" * 500_000 + "</p>").encode("utf-8")
    item = page(body, "utf-8", more_parts=("<p>第二页</p>",))
    assert repr(item) == (f"ReportPage(demo-a http://cz.example.gov.cn/art/2020/1/t1.html: {len(body)} bytes utf-8, "
                          f"{len(item.html)} chars, 2 parts)")
    assert len(repr(ReportGone("demo-a", "http://x.gov.cn/" + "a" * 10_000, 404))) < 300

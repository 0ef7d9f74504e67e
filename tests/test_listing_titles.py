"""Listing titles are normalised like body text before anything reads them (issue 8, case 1).

A traditional-Chinese listing whose titles carry pinyin ruby ('…年度報(bào)告') was not
recognised as listing an annual report: the report was never fetched and its year showed
`missing`. Two listings of the class, differing in every surface detail: a plain HTML list
(ASCII parentheses, a PDF-only report) and a Hanweb datastore column (full-width parentheses
with spaces, full-width digits, ideographic spaces, a truncated visible title).
"""

from __future__ import annotations

import html

import pytest
from scrapy.http import HtmlResponse, Request

from nianbao.crawler.classify import ANNUAL_REPORT, classify_title, is_report_link, report_year
from nianbao.crawler.cleanup import normalize_title
from nianbao.crawler.listings import Entry, parse_listing
from nianbao.demo.site import hanweb_article, paragraphs, report_text, trs_article
from tests.conftest import crawl, query
from tests.local_sites import LocalSite, write_registry

# --- fixture 1: a plain list of a county bureau, ASCII parentheses ----------------------------
RUDONG_2019 = "2019年如東縣住房和城鄉(xiāng)建設(shè)局政府信息公開(kāi)工作年度報(bào)告"
RUDONG_2018 = "如東縣住房和城鄉(xiāng)建設(shè)局2018年度政府信息公開(kāi)工作報(bào)告"  # only a PDF
RUDONG_PLAN = "如東縣住建局2020年度工作計(jì)劃"


def plain_listing() -> str:
    rows = [("202001/t20200121_1.html", RUDONG_2019, "2020-01-21"),
            ("201903/P020190325_1.pdf", RUDONG_2018, "2019-03-25"),
            ("202002/t20200210_1.html", RUDONG_PLAN, "2020-02-10")]
    items = "".join(f'<li><a href="{href}" target="_blank">{html.escape(title)}</a> <span>[{date}]</span></li>'
                    for href, title, date in rows)
    return f"""<html><head><meta charset="utf-8"><title>政府信息公開年報</title></head><body>
<div class="top"><a href="/">首頁</a> | <a href="/en/">English</a></div><ul class="list">{items}</ul></body></html>"""


# --- fixture 2: a Hanweb column of a city finance bureau, full-width forms --------------------
HAIAN_2020 = "海安市財政局２０２０年度政務公開（ kāi ）工作年度報（bào）告"
HAIAN_VISIBLE = "海安市財政局２０２０年度政務公開（ kāi ）..."


def hanweb_column() -> str:
    record = (f'<li><a href="/art/2021/1/28/art_2741_88.html" title="{html.escape(HAIAN_2020)}">'
              f'{html.escape(HAIAN_VISIBLE)}</a><span>2021-01-28</span></li>')
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>政務公開年報</title></head><body>
<div id="6021"><script type="text/xml"><datastore><recordset>
<record><![CDATA[{record}]]></record>
</recordset></datastore></script></div></body></html>"""


def response(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


# (listing page, its URL, the report link's URL suffix, normalised title, year)
LISTINGS = [
    (plain_listing, "http://www.rudong.gov.cn/xxgk/ndbg/list.html", "t20200121_1.html",
     "2019年如东县住房和城乡建设局政府信息公开工作年度报告", 2019),
    (hanweb_column, "http://czj.haian.gov.cn/col/col2741/index.html", "art_2741_88.html",
     "海安市财政局2020年度政务公开工作年度报告", 2020),
]


@pytest.mark.parametrize("page, url, suffix, title, year", LISTINGS, ids=["plain-list", "hanweb-datastore"])
def test_listing_titles_are_normalised_before_they_are_classified(page, url, suffix, title, year):
    entry = next(e for e in parse_listing(response(url, page())).entries if e.url.endswith(suffix))
    assert entry.title == title
    assert "(" in entry.raw_title or "（" in entry.raw_title  # the title as listed is kept
    assert is_report_link(entry.title)
    assert classify_title(entry.title) == ANNUAL_REPORT
    assert report_year(entry.title) == year


def test_entry_normalises_whoever_builds_it():
    """A family that builds entries itself (a JSON API) gets the same normalisation."""
    entry = Entry("http://x.gov.cn/a.html", "  2019年度政府信息公開(kāi)\u3000工作報(bào)告 \n")
    assert (entry.title, entry.raw_title) == ("2019年度政府信息公开 工作报告", "  2019年度政府信息公開(kāi)\u3000工作報(bào)告 \n")
    assert Entry("http://x.gov.cn/a.html", entry.title) == entry  # idempotent, equal by value


@pytest.mark.parametrize("raw, expected", [
    ("2019年如東縣住房和城鄉(xiāng)建設(shè)局政府信息公開工作年度報(bào)告", "2019年如东县住房和城乡建设局政府信息公开工作年度报告"),
    ("２０２０年度　政務公開（ kāi ）年報", "2020年度 政务公开年报"),
    ("ＸＸ区2021年政府信息公开工作年度报告（ＰＤＦ）", "XX区2021年政府信息公开工作年度报告（PDF）"),
    ("示例县&amp;nbsp;2018年政府信息公开年报", "示例县 2018年政府信息公开年报"),
    ("示例县2018年\u200b政府信息公开年报", "示例县2018年政府信息公开年报"),
    ("中国(china)网络政务公开年报", "中国(china)网络政务公开年报"),  # not ruby: kept
], ids=["ruby", "fullwidth-ruby-spaces", "fullwidth-letters", "entity", "zero-width", "plain-parens"])
def test_normalize_title(raw, expected):
    assert normalize_title(raw) == expected


# --- the crawl ----------------------------------------------------------------------------------


def test_crawl_fetches_and_dates_reports_listed_with_ruby_titles(tmp_path):
    with LocalSite() as site:
        site.page("/xxgk/ndbg/list.html", plain_listing())
        site.page("/xxgk/ndbg/202001/t20200121_1.html", trs_article(
            RUDONG_2019, "2020-01-21", paragraphs(report_text("如东县住房和城乡建设局", 2019)), site="如東縣人民政府"))
        site.answers["/xxgk/ndbg/201903/P020190325_1.pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n%%EOF\n")
        site.page("/xxgk/ndbg/202002/t20200210_1.html", trs_article(RUDONG_PLAN, "2020-02-10", paragraphs("一、總體目標。")))
        site.page("/col/col2741/index.html", hanweb_column())
        site.page("/art/2021/1/28/art_2741_88.html", hanweb_article(
            "海安市财政局2020年度政务公开工作年度报告", "2021-01-28", paragraphs(report_text("海安市财政局", 2020))))
        config = write_registry(tmp_path / "agencies.yaml",
                                {"id": "rudong-zjj", "sources": [site.url("/xxgk/ndbg/list.html")]},
                                {"id": "haian-czj", "sources": [site.url("/col/col2741/index.html")]})
        db = tmp_path / "nianbao.db"
        crawl(config, db)
        plan_fetched = site.served("/xxgk/ndbg/202002/t20200210_1.html")

    rows = {row["url"].rsplit("/", 1)[-1]: row for row in query(
        db, "SELECT url, agency_id, title, kind, year, year_basis, published_date FROM reports")}
    assert set(rows) == {"t20200121_1.html", "P020190325_1.pdf", "art_2741_88.html"}
    assert not plan_fetched  # a work plan is still not a report link
    expected = {
        "t20200121_1.html": ("rudong-zjj", "2019年如东县住房和城乡建设局政府信息公开工作年度报告", 2019, "2020-01-21"),
        # a PDF-only report takes the listing's title: normalised too
        "P020190325_1.pdf": ("rudong-zjj", "如东县住房和城乡建设局2018年度政府信息公开工作报告", 2018, "2019-03-25"),
        "art_2741_88.html": ("haian-czj", "海安市财政局2020年度政务公开工作年度报告", 2020, "2021-01-28"),
    }
    for name, (agency, title, year, date) in expected.items():
        row = rows[name]
        assert (row["agency_id"], row["title"], row["year"], row["published_date"]) == (agency, title, year, date), name
        assert row["kind"] == ANNUAL_REPORT and row["year_basis"] == "title"

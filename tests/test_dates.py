"""Which date counts (crawler/dates.py, through extract_report): the printed date beats a meta
that disagrees, dates of writing come last, every candidate is kept with its source.

Each page class comes in two fixtures that differ in every surface detail (portal family,
label, date format, meta name, script, years).
"""

from __future__ import annotations

import pytest

from nianbao.crawler.dates import DateEvidence, choose_date, listing_evidence
from nianbao.crawler.extract import extract_report

BODY = ("<p>一、总体情况</p><p>本年度，本机关坚持以公开为常态、不公开为例外，全年主动公开政府信息326条，"
        "收到政府信息公开申请15件，均按期答复。</p><p>二、主动公开政府信息情况</p>")


def xxgk_page(meta: str, info_rows: str, title="南宁市人民政府2016年政府信息公开工作年度报告") -> str:
    """A State Council-style xxgk article: a metadata table (索引号, 成文日期, 发布日期) above
    the body in #UCAP-CONTENT, and a PubDate meta the site's migration rewrote."""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="SiteName" content="南宁市人民政府门户网站">{meta}
<meta name="ArticleTitle" content="{title}"><title>{title}_南宁市人民政府门户网站</title></head>
<body><div class="header"><a href="/">首页</a> <a href="/en/">EN</a> <a href="/login">登录</a></div>
<div class="xxgk-info"><table>{info_rows}</table></div>
<h1>{title}</h1>
<div id="UCAP-CONTENT">{BODY}</div>
<div class="footer">主办：南宁市人民政府办公室</div></body></html>"""


def hanweb_page(meta: str, info: str, title="如東縣住房和城鄉建設局2019年政府信息公開工作年度報告") -> str:
    """A Hanweb article in traditional characters: a one-line info cell, ZJEG_RSS body."""
    return f"""<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">{meta}
<title>{title}</title></head><body>
<table><tr><td class="title">{title}</td></tr>
<tr><td class="info">{info}　瀏覽次數：<span>88</span></td></tr>
<tr><td id="zoom"><!--ZJEG_RSS.content.begin-->{BODY}<!--ZJEG_RSS.content.end--></td></tr></table>
</body></html>"""


# (id, page, listing date, expected date, expected basis, evidence that must be kept)
CASES = [
    # the class of the issue: a meta rewritten by a site migration, the page printing the
    # real publication date in its info block (and a date of writing before it)
    ("xxgk-migrated-meta", xxgk_page(
        '<meta name="PubDate" content="2022-04-24 10:12:31">',
        "<tr><td>索引号：</td><td>11450100/2017-00123</td><td>主题分类：</td><td>综合政务</td></tr>"
        "<tr><td>成文日期：</td><td>2017年05月10日</td><td>发布日期：</td><td>2017年05月15日</td></tr>"),
     None, "2017-05-15", "printed",
     {("printed", "2017-05-15", "发布日期"), ("written", "2017-05-10", "成文日期"),
      ("meta", "2022-04-24", "PubDate")}),
    ("hanweb-traditional-meta-weeks-off", hanweb_page(
        '<meta property="article:published_time" content="2020-02-28T08:00:00+08:00">',
        "信息來源：如東縣住建局　發佈時間：2020/01/19"),
     "2020-01-21", "2020-01-19", "printed",
     {("printed", "2020-01-19", "发布时间"), ("meta", "2020-02-28", "article:published_time"),
      ("listing", "2020-01-21", "listing")}),
    # no printed publication date: the meta counts, before the listing
    ("meta-without-printed", xxgk_page(
        '<meta name="PubDate" content="2017-05-16">',
        "<tr><td>索引号：</td><td>11450100/2017-00124</td></tr>"),
     "2017-05-18", "2017-05-16", "meta", {("meta", "2017-05-16", "PubDate")}),
    # a date of writing only: used, and said to be one
    ("written-only-xxgk", xxgk_page(
        "", "<tr><td>发文机关：</td><td>南宁市人民政府</td><td>生成日期：</td><td>2019-12-31</td></tr>"),
     None, "2019-12-31", "written", {("written", "2019-12-31", "生成日期")}),
    ("written-only-hanweb", hanweb_page("", "發文日期：2018年3月2日"),
     None, "2018-03-02", "written", {("written", "2018-03-02", "发文日期")}),
    # ... but the listing's date, or even a page-generation time, comes before it
    ("listing-beats-written", xxgk_page(
        "", "<tr><td>成文日期：</td><td>2019年12月20日</td></tr>"),
     "2020-01-08", "2020-01-08", "listing", {("written", "2019-12-20", "成文日期")}),
    ("maketime-beats-written", hanweb_page('<meta name="Maketime" content="2019-03-22 12:28:37">',
                                           "成文時間：2018年3月2日"),
     None, "2019-03-22", "meta", {("written", "2018-03-02", "成文时间")}),
    ("nothing", hanweb_page("", "信息來源：本局"), None, None, None, set()),
]


@pytest.mark.parametrize("html, listing, date, basis, kept", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_the_date_that_counts_and_its_evidence(html, listing, date, basis, kept):
    got = extract_report(html, "http://www.example.gov.cn/art/1.html", listing_date=listing)
    assert (got.published_date, got.published_basis) == (date, basis)
    assert kept <= {(e.source, e.date, e.label) for e in got.date_evidence}
    if listing:
        assert ("listing", listing, "listing") in {(e.source, e.date, e.label) for e in got.date_evidence}


@pytest.mark.parametrize("evidence, expected", [
    pytest.param([DateEvidence("written", "2017-05-10", "成文日期"),
                  DateEvidence("meta", "2022-04-24", "PubDate"),
                  DateEvidence("printed", "2017-05-15", "发布日期")], ("2017-05-15", "printed"),
                 id="printed-first-whatever-the-order"),
    pytest.param([DateEvidence("printed", "2020-01-19", "时间"),
                  DateEvidence("printed", "2020-01-25", "发布日期")], ("2020-01-19", "printed"),
                 id="first-printed-in-page-order"),
    pytest.param([DateEvidence("meta", "2019-03-22", "Maketime"),
                  DateEvidence("listing", "2016-11-22", "listing")], ("2016-11-22", "listing"),
                 id="maketime-after-listing"),
    pytest.param([], (None, None), id="none"),
])
def test_choose_date(evidence, expected):
    assert choose_date(evidence) == expected


def test_listing_evidence_parses_or_drops():
    assert listing_evidence("2020年01月15日") == [DateEvidence("listing", "2020-01-15", "listing")]
    assert listing_evidence("暂无") == [] and listing_evidence(None) == []


@pytest.mark.parametrize("label", ["更新时间", "会议时间", "访问时间"])
def test_labels_that_are_not_publication_dates(label):
    html = hanweb_page("", f"{label}：2021-06-01")
    assert extract_report(html, "http://x.gov.cn/a.html").published_date is None

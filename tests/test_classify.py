"""nianbao.crawler.classify: listing links, report kind, year, dates — tables of real-looking titles."""

import datetime as dt

import pytest

from nianbao.crawler.classify import (
    ANNUAL_REPORT,
    OTHER,
    classify_title,
    is_report_link,
    page_published_date,
    parse_date,
    report_year,
)

REPORT_LINKS = [
    ("明光市住建局政府信息公开2014年度工作报告", True),
    ("2019年如东县住房和城乡建设局政府信息公开工作年度报告", True),
    ("2019年政府信息公開工作年度報告", True),
    ("2020年政务公开工作要点落实情况报告", True),
    ("2012年政务公开年报", True),
    ("政府信息公开工作年度报告（2019年）", True),
    ("2019年如东县住房和城乡建设局政府信息...", True),       # truncated in the listing
    ("如东县住房和城乡建设局政府信息公开工作年度报告", True),   # agency title without a year
    ("二〇一九年度政府信息公开工作年度报告", True),
    ("政府信息公开年报", False),                               # a column link
    ("政府信息公開年報", False),
    ("政府信息公开年度报告", False),
    ("信息公开年报", False),
    ("首页", False),
    ("更多>>", False),
    ("", False),
    ("2019年度部门预算公开", False),
    ("关于印发2020年全市重点工作的通知", False),
    ("2019年国民经济和社会发展统计公报", False),
]


@pytest.mark.parametrize("text, expected", REPORT_LINKS)
def test_is_report_link(text, expected):
    assert is_report_link(text) is expected


TITLES = [
    ("明光市住建局政府信息公开2014年度工作报告", ANNUAL_REPORT),
    ("2019年如东县住房和城乡建设局政府信息公开工作年度报告", ANNUAL_REPORT),
    ("2019年政府信息公開工作年度報告", ANNUAL_REPORT),
    ("2012年政务公开年报", ANNUAL_REPORT),
    ("某某镇2018年信息公开年报", ANNUAL_REPORT),
    ("2009年度政府信息公开工作报告", ANNUAL_REPORT),
    ("市统计局2010年政府信息公开工作报告", ANNUAL_REPORT),
    ("北京市人民政府2021年政府信息公开工作年度报告", ANNUAL_REPORT),
    ("2019年度政府信息公开报告", ANNUAL_REPORT),
    # words of the agency's name or of what the report includes say nothing about its kind
    ("XX市考核办2019年政府信息公开工作年度报告", ANNUAL_REPORT),
    ("XX市评估中心2019年政府信息公开工作年度报告", ANNUAL_REPORT),
    ("某局2019年政府信息公开工作年度报告（含统计表）", ANNUAL_REPORT),
    # the notice that publishes the report is the report's page
    ("关于印发某市2019年政府信息公开工作年度报告的通知", ANNUAL_REPORT),
    ("2019年政府信息公开工作年度报告（征求意见稿）", OTHER),
    ("2020年政务公开工作要点落实情况报告", OTHER),
    ("2020年政务公开工作要点", OTHER),
    ("2019年政府信息公开工作计划", OTHER),
    ("2019年政务公开工作实施方案", OTHER),
    ("2019年政务公开工作总结", OTHER),
    ("关于做好2019年政府信息公开工作年度报告编制发布工作的通知", OTHER),
    ("《2019年政府信息公开工作年度报告》解读", OTHER),
    ("图解：2019年政府信息公开工作年度报告", OTHER),
    ("2019年政府信息公开工作年度报告统计表", OTHER),
    ("企业年度报告公示", OTHER),
    ("关于开展企业2019年度报告公示工作的通知", OTHER),
    ("2019年政府信息公开工作第三方评估报告", OTHER),
    ("2019年度政务公开考核结果", OTHER),
    ("2019年政府网站绩效测评报告", OTHER),
    ("关于公开征求《政府信息公开工作年度报告格式》意见的公告", OTHER),
    ("政府信息公开工作报告", OTHER),      # no year: not a dated report
    ("2019年度工作报告", OTHER),          # not about open government information
    ("", OTHER),
]


@pytest.mark.parametrize("title, expected", TITLES)
def test_classify_title(title, expected):
    assert classify_title(title) == expected


YEARS = [
    ("明光市住建局政府信息公开2014年度工作报告", None, 2014),
    ("2019年如东县住房和城乡建设局政府信息公开工作年度报告", None, 2019),
    ("2012年政务公开年报", None, 2012),
    ("2009年度政府信息公开工作报告", None, 2009),
    ("二〇一九年度政府信息公开工作年度报告", None, 2019),
    ("二○一九年政府信息公开工作年度报告", None, 2019),
    ("二零零八年度政府信息公开工作报告", None, 2008),
    ("２０２０年政府信息公开工作年度报告", None, 2020),
    ("政府信息公开工作年度报告（2018）", None, 2018),
    # several years: the one tied to the report wins
    ("关于2020年发布2019年度政府信息公开工作年度报告的说明", None, 2019),
    ("2021年3月发布 县统计局2020年政府信息公开工作年度报告", None, 2020),
    ("2019年如東縣住房和城鄉建設局政府信息公開工作年度報告", None, 2019),
    # no year in the title: a clear statement in the text
    ("政府信息公开工作年度报告", "根据条例要求，现将2014年工作情况报告如下：", 2014),
    ("政府信息公开工作年度报告", "本报告由县政府办公室编制。2019年政府信息公开工作年度报告全文如下。", 2019),
    ("年度报告", "本报告所列数据的统计期限自2019年1月1日起至2019年12月31日止。", 2019),
    ("政府信息公开工作年度报告", "我局成立于1998年，现有干部职工35人。", None),
    ("政府信息公开工作年度报告", None, None),
    ("1999年政府信息公开工作报告", None, None),          # before the plausible range
    (f"{dt.date.today().year + 1}年度政府信息公开工作年度报告", None, None),
]


@pytest.mark.parametrize("title, text, expected", YEARS)
def test_report_year(title, text, expected):
    assert report_year(title, text) == expected


DATES = [
    ("2014-12-25 00:00", "2014-12-25"),
    ("2020年01月15日", "2020-01-15"),
    ("2020年1月5日 10:30", "2020-01-05"),
    ("2020/1/5", "2020-01-05"),
    ("2020.01.05", "2020-01-05"),
    ("20200105", "2020-01-05"),
    ("2019-09-18T06:23:00+08:00", "2019-09-18"),
    ("发布时间：2016-11-22 09:53", "2016-11-22"),
    ("[2019-01-30]", "2019-01-30"),
    ("２０２０－０１－１５", "2020-01-15"),
    ("2019-02-30", None),
    ("2019-13-01", None),
    ("2019年2月29日", None),
    ("20201340", None),
    ("12345678", None),
    ("t20181102_1", None),                # not a whole compact date
    ("浏览次数：20190105", None),
    ("", None),
    ("暂无", None),
]


@pytest.mark.parametrize("value, expected", DATES)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def _page(head="", body=""):
    return f"<html><head><meta charset='utf-8'>{head}<title>t</title></head><body>{body}</body></html>"


PAGE_DATES = [
    ("meta-pubdate", _page('<meta name="PubDate" content="2018-03-26 10:00">', "<p>正文</p>"), "2018-03-26"),
    # the date the page prints beats a meta that disagrees (a site migration's PubDate)
    ("printed-beats-meta", _page('<meta name="PubDate" content="2018-03-26 10:00">', "<p>时间：2018-11-02</p>"), "2018-11-02"),
    ("meta-lowercase", _page('<meta name="pubdate" content="2019-01-30">'), "2019-01-30"),
    ("meta-publishdate", _page('<meta name="publishdate" content="2019/01/30">'), "2019-01-30"),
    ("meta-firstpublished", _page('<meta name="firstpublishedtime" content="2019-01-31-10:00:00">'), "2019-01-31"),
    ("meta-og", _page('<meta property="article:published_time" content="2019-02-01T08:00:00+08:00">'), "2019-02-01"),
    ("meta-dc", _page('<meta name="DC.Date" content="2019-02-02">'), "2019-02-02"),
    ("line-fabushijian", _page(body="<div class='info'>发布时间：2020-01-15 来源：县政府办</div>"), "2020-01-15"),
    ("line-split-nodes", _page(body="<span><i>时间：</i>2019-09-18 06:23</span>"), "2019-09-18"),
    ("line-chinese", _page(body="<p>发布日期：2020年1月17日</p>"), "2020-01-17"),
    ("line-chengwen", _page(body="<table><tr><td>成文日期：</td><td>2019年12月30日</td></tr></table>"), "2019-12-30"),
    ("line-traditional", _page(body="<span>發佈日期：2020-01-17</span>"), "2020-01-17"),
    ("line-beats-maketime", _page('<meta name="Maketime" content="2019-03-22 12:28:37">', "<span>发布日期：2016-11-22</span>"), "2016-11-22"),
    ("maketime-last-resort", _page('<meta name="Maketime" content="2019-03-22 12:28:37">'), "2019-03-22"),
    ("attribute-is-not-visible", _page(body='<span alt="时间：2017-11-08 20:26">x</span>'), None),
    ("script-is-not-visible", _page(body='<script>var d="发布时间：2017-11-08";</script>'), None),
    ("nothing", _page(body="<p>正文</p>"), None),
    ("empty", "", None),
]


@pytest.mark.parametrize("html, expected", [c[1:] for c in PAGE_DATES], ids=[c[0] for c in PAGE_DATES])
def test_page_published_date(html, expected):
    assert page_published_date(html) == expected


def test_url_date_is_never_used():
    """A TRS page named t20181102 was published 2018-03-26: the URL's date is a trap."""
    html = _page(
        '<meta name="PubDate" content="2018-03-26">'
        '<link rel="canonical" href="http://www.example.gov.cn/xxgk/201811/t20181102_1.html">',
        '<a href="/xxgk/201811/t20181102_1.html">2018年政府信息公开工作年度报告</a>'
        '<img src="./201811/W020181102123456.jpg">',
    )
    assert page_published_date(html) == "2018-03-26"
    no_meta = html.replace('<meta name="PubDate" content="2018-03-26">', "")
    assert page_published_date(no_meta) is None


def test_page_published_date_xml_declaration():
    html = '<?xml version="1.0" encoding="gb2312"?>' + _page('<meta name="PubDate" content="2015-03-31">')
    assert page_published_date(html) == "2015-03-31"


# --------------------------------------------------------------------------- year attribution
from nianbao.crawler.classify import attribute_year, period_year  # noqa: E402

ATTRIBUTION_CASES = [
    # (id, title, text, published_date, expected (year, title_year, text_year, basis))
    ("title-named-after-publication-year",
     "某局2009年度政府信息公开工作报告", "截至2008年12月31日，我局共主动公开政府信息120条。", "2009-02-10",
     (2008, 2009, 2008, "text")),
    ("same-but-published-late-keeps-title",
     "某局2009年度政府信息公开工作报告", "截至2008年12月31日，我局共主动公开政府信息120条。", "2010-03-01",
     (2009, 2009, 2008, "title")),
    ("no-publication-date-keeps-title",
     "某局2009年度政府信息公开工作报告", "截至2008年12月31日，我局共主动公开政府信息120条。", None,
     (2009, 2009, 2008, "title")),
    ("consistent-period",
     "2019年政府信息公开工作年度报告", "本报告中所列数据的统计期限自2019年1月1日起至2019年12月31日止。", "2020-01-20",
     (2019, 2019, 2019, "title")),
    ("period-range-form",
     "某县2016年政府信息公开年报", "本报告统计时段为2016年1月1日至2016年12月31日。", "2017-03-30",
     (2016, 2016, 2016, "title")),
    ("two-periods-are-no-evidence",
     "某局2010年度政府信息公开工作报告", "截至2009年12月31日……截至2010年底，累计公开", "2010-02-01",
     (2010, 2010, None, "title")),
    ("far-apart-years-keep-title",
     "某局2012年度政府信息公开工作报告", "截至2009年12月31日，我局累计公开信息。", "2010-02-01",
     (2012, 2012, 2009, "title")),
    ("no-title-year-uses-text",
     "某局政府信息公开工作年度报告", "现将2018年度政府信息公开工作年度报告公布如下。统计期限自2018年1月1日起至2018年12月31日止。", "2019-01-30",
     (2018, None, 2018, "text")),
    ("nothing-known",
     "某局政府信息公开工作年度报告", "我局认真贯彻落实条例。", None,
     (None, None, None, None)),
]


@pytest.mark.parametrize("title,text,published,expected", [c[1:] for c in ATTRIBUTION_CASES],
                         ids=[c[0] for c in ATTRIBUTION_CASES])
def test_attribute_year(title, text, published, expected):
    got = attribute_year(title, text, published)
    assert (got.year, got.title_year, got.text_year, got.basis) == expected


def test_period_year_reads_traditional_and_spaced_forms():
    assert period_year("截至 2015 年 12 月 31 日") == 2015
    assert period_year("統計期限自2014年1月1日起") == 2014
    assert period_year("2020年工作计划") is None

"""nianbao.crawler.extract: seed pages exactly, real portal pages, tables, fallbacks, attachments, encodings."""

import re
from pathlib import Path

import pytest
import trafilatura

from nianbao.crawler.classify import ANNUAL_REPORT, OTHER
from nianbao.crawler.extract import Extracted, ExtractionError, extract_report

FILES = Path(__file__).parent / "files"
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
CHROME = ("首页", "打印", "关闭", "当前位置", "您现在所在的位置", "字体", "分享", "扫一扫", "相关阅读",
          "版权所有", "ICP备", "浏览次数", "发布时间", "发布日期", "来源：", "来源:", "登录")


def decode_page(raw: bytes) -> str:
    """Decode like Scrapy does: the declared charset, gb2312/gbk read as gb18030."""
    match = _CHARSET.search(raw[:4096])
    charset = match.group(1).decode().lower() if match else "utf-8"
    if charset in ("gb2312", "gbk", "gb18030"):
        charset = "gb18030"
    return raw.decode(charset)


def read_page(path: str) -> str:
    return decode_page((FILES / path).read_bytes())


def assert_no_chrome(text: str) -> None:
    for word in CHROME:
        assert not any(line.startswith(word) or line == word for line in text.split("\n")), word
    assert "\ufffd" not in text


# --------------------------------------------------------------------------- seed pages

SEEDS = [
    ("pages/seed-000-trs.html", "expected/seed-000.txt",
     "http://www.mingguang.gov.cn/xxgk/bmxxgk/zjj/zfxxgknb/201412/t20141225_113355.html",
     "明光市住建局政府信息公开2014年度工作报告", 2014, "2014-12-25", "container:.TRS_Editor"),
    ("pages/seed-002-hanweb.html", "expected/seed-002.txt",
     "http://www.rudong.gov.cn/rdzjj/art/2020/1/17/art_42391_8912345.html",
     "2019年如东县住房和城乡建设局政府信息公开工作年度报告", 2019, "2020-01-17", "container:ZJEG_RSS"),
]


@pytest.mark.parametrize("page, expected, url, title, year, date, method", SEEDS, ids=["seed-000", "seed-002"])
def test_seed_pages(page, expected, url, title, year, date, method):
    result = extract_report(read_page(page), url)
    assert result.text == (FILES / expected).read_text(encoding="utf-8").rstrip("\n")
    assert result.title == title
    assert result.year == year
    assert result.kind == ANNUAL_REPORT
    assert result.published_date == date
    assert result.method == method
    assert result.attachments == ()
    assert_no_chrome(result.text)


def test_seed_002_has_no_traditional_or_ruby_left():
    text = extract_report(read_page("pages/seed-002-hanweb.html"), "http://www.rudong.gov.cn/a.html").text
    assert "公開" not in text and "報告" not in text
    assert not re.search(r"[(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+[)）]", text)


# --------------------------------------------------------------------------- real portal pages

REAL = [
    ("real-pages/shanxi-trs-article.html", "http://www.shanxi.gov.cn/yw/sxyw/201909/t20190918_693227.shtml",
     "山西品牌丝路行（南美站）正式启动", "2019-09-18",
     "当天下午，省贸促会分别与巴西华人协会、圣保罗商会、南共体市场工商协会签署合作协议，并正式设立驻巴西代表处。"),
    ("real-pages/zjdrc-hanweb-article.html", "http://fgw.zj.gov.cn/art/2016/11/22/art_1621004_30332664.html",
     "1-10月德清县固定资产投资结构趋稳趋优", "2016-11-22",  # PubDate, not Maketime 2019-03-22
     "其中第三产业投资完成119.90亿元，同比增长15.2%，位列三县两区第二"),
]


@pytest.mark.parametrize("page, url, title, date, sentence", REAL, ids=["shanxi-trs", "zjdrc-hanweb"])
def test_real_pages(page, url, title, date, sentence):
    result = extract_report(read_page(page), url)
    assert result.title == title
    assert result.published_date == date
    assert sentence in result.text
    assert title not in result.text.split("\n")   # trafilatura keeps it on the Hanweb page; we do not
    assert_no_chrome(result.text)
    assert result.kind == OTHER
    assert result.method.startswith("container:")


# --------------------------------------------------------------------------- tables

STATS_PAGE = """<html><head><meta charset="utf-8"><title>2019年政府信息公开工作年度报告_某县人民政府</title>
<meta name="PubDate" content="2020-01-20 09:00"></head><body>
<div class="nav"><a href="/">首页</a> <a href="/xxgk/">信息公开</a></div>
<div class="TRS_Editor">
<p>三、收到和处理政府信息公开申请情况</p>
<table border="1" cellspacing="0">
<tr><td rowspan="3" colspan="3">（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）</td>
    <td colspan="7">申请人情况</td></tr>
<tr><td rowspan="2">自然人</td><td colspan="5">法人或其他组织</td><td rowspan="2">总计</td></tr>
<tr><td>商业企业</td><td>科研机构</td><td>社会公益组织</td><td>法律服务机构</td><td>其他</td></tr>
<tr><td colspan="3">一、本年新收政府信息公开申请数量</td><td>56</td><td>2</td><td>0</td><td>0</td><td>0</td><td>0</td><td>58</td></tr>
<tr><td colspan="3">二、上年结转政府信息公开申请数量</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
<tr><td rowspan="2">三、本年度办理结果</td><td colspan="2">（一）予以公开</td><td>40</td><td>2</td><td>0</td><td>0</td><td>0</td><td>0</td><td>42</td></tr>
<tr><td rowspan="1">（三）不予公开</td><td>1．属于国家秘密</td><td><p>0</p></td><td></td><td>0</td><td>0</td><td>0</td><td>0</td><td>0</td></tr>
</table>
<p>四、政府信息公开行政复议、行政诉讼情况</p>
</div></body></html>"""


def test_statistics_table_rows_stay_rows():
    result = extract_report(STATS_PAGE, "http://www.x.gov.cn/xxgk/ndbg/202001/t20200120_1.html")
    assert result.text.split("\n") == [
        "三、收到和处理政府信息公开申请情况",
        "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） | | | 申请人情况",
        "| | | 自然人 | 法人或其他组织 | | | | | 总计",
        "| | | | 商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他",
        "一、本年新收政府信息公开申请数量 | | | 56 | 2 | 0 | 0 | 0 | 0 | 58",
        "二、上年结转政府信息公开申请数量 | | | 0 | 0 | 0 | 0 | 0 | 0 | 0",
        "三、本年度办理结果 | （一）予以公开 | | 40 | 2 | 0 | 0 | 0 | 0 | 42",
        "| （三）不予公开 | 1．属于国家秘密 | 0 | | 0 | 0 | 0 | 0 | 0",
        "四、政府信息公开行政复议、行政诉讼情况",
    ]
    assert result.year == 2019 and result.kind == ANNUAL_REPORT
    assert result.published_date == "2020-01-20"


# --------------------------------------------------------------------------- fallbacks

_BODY = (FILES / "expected/seed-000.txt").read_text(encoding="utf-8").split("\n")[:6]


def _nav_trap(container_attrs: str) -> str:
    """trafilatura drops a body whose wrapper it takes for comments and returns the header nav,
    the failure seen on a national portal layout."""
    paragraphs = "".join(f"<p>{line}</p>" for line in _BODY)
    return f"""<html><head><meta charset="utf-8"><title>政府信息公开2014年度工作报告_中国某某网</title></head><body>
<div class="header"><ul class="topnav"><li><a href="/">首页</a></li><li><a href="/j">简</a></li>
<li><a href="/f">繁</a></li><li><a href="/en">EN</a></li><li><a href="/login">登录</a></li></ul></div>
<div class="wrap"><div {container_attrs}>{paragraphs}</div></div>
<div class="footer"><a href="/about">关于本网</a> | <a href="/map">网站地图</a></div></body></html>"""


def test_trafilatura_nav_failure_falls_back_to_container():
    html = _nav_trap('class="comment-content" id="UCAP-CONTENT"')
    alone = trafilatura.extract(html, include_tables=True, include_comments=False, favor_recall=True)
    assert alone.split("\n")[:2] == ["首页", "简"]       # the trap is real
    result = extract_report(html, "http://www.example.gov.cn/zhengce/content/2015-03/31/content_1.htm")
    assert result.method == "container:#UCAP-CONTENT"
    assert result.text.split("\n") == _BODY
    assert result.title == "政府信息公开2014年度工作报告"


def test_trafilatura_nav_failure_without_container_uses_text_density():
    html = _nav_trap('class="comment-content"')
    result = extract_report(html, "http://www.example.gov.cn/a/1.htm")
    assert result.method == "density"
    assert result.text.split("\n") == _BODY


def test_page_without_container_uses_trafilatura():
    html = _nav_trap('class="article-text"')
    result = extract_report(html, "http://www.example.gov.cn/a/2.htm")
    assert result.method == "trafilatura"
    assert result.text.split("\n") == _BODY


def test_short_container_loses_to_longer_trafilatura_text_that_contains_it():
    paragraphs = "".join(f"<p>{line}</p>" for line in _BODY)
    html = f"""<html><head><meta charset="utf-8"><title>报告</title></head><body>
<div class="nav"><a href="/">首页</a></div><div class="article">
<div class="TRS_Editor"><p>{_BODY[0]}</p></div>{paragraphs[len(f"<p>{_BODY[0]}</p>"):]}</div></body></html>"""
    result = extract_report(html, "http://www.example.gov.cn/a/3.htm")
    assert result.method == "trafilatura"
    assert result.text.split("\n") == _BODY


# --------------------------------------------------------------------------- attachments

ATTACHMENT_PAGE = """<html><head><meta charset="utf-8">
<meta name="ArticleTitle" content="某某县财政局2019年政府信息公开工作年度报告">
<meta name="PubDate" content="2020-01-21 16:02"></head><body>
<div class="header"><a href="/">首页</a><a href="/xxgk/guide.pdf">信息公开指南</a></div>
<div class="TRS_Editor"><p>详见附件。</p>
<p>附件：<a href="./P020200121349873405722.pdf">某某县财政局2019年政府信息公开工作年度报告.pdf</a></p>
<p><a href="./P020200121349873405722.pdf"><img src="./W020200121349873405722.jpg"></a></p></div>
<div class="xgfj">相关附件：<a href="/module/download/downfile.jsp?classid=0&amp;filename=2001211602.docx">统计表.docx</a>
<a href="javascript:void(0)">报告.pdf</a></div>
<div class="footer"><a href="/wzgl/2019ndbb.xls">网站年度报表</a></div></body></html>"""


def test_attachment_only_report():
    result = extract_report(ATTACHMENT_PAGE, "http://www.x.gov.cn/xxgk/ndbg/202001/t20200121_1.html")
    assert result.text == "详见附件。\n附件：某某县财政局2019年政府信息公开工作年度报告.pdf"
    assert result.attachments == (
        "http://www.x.gov.cn/xxgk/ndbg/202001/P020200121349873405722.pdf",
        "http://www.x.gov.cn/module/download/downfile.jsp?classid=0&filename=2001211602.docx",
    )
    assert result.title == "某某县财政局2019年政府信息公开工作年度报告"
    assert result.year == 2019 and result.kind == ANNUAL_REPORT
    assert result.published_date == "2020-01-21"


def test_base_href_is_respected():
    html = ATTACHMENT_PAGE.replace("<head>", '<head><base href="http://files.x.gov.cn/ndbg/">')
    result = extract_report(html, "http://www.x.gov.cn/xxgk/ndbg/202001/t20200121_1.html")
    assert result.attachments[0] == "http://files.x.gov.cn/ndbg/P020200121349873405722.pdf"


# --------------------------------------------------------------------------- encodings, errors, fallbacks

GBK_PAGE = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>2019年政府信息公开工作年度报告-某某县人民政府</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<div id="zoom"><p>本报告由县政府办公室编制，联系人：王堃（“堃”只在GBK中，不在GB2312中）。</p>
<p>全年共受理政府信息公开申请58件，全部按时办结，群众满意度进一步提高，各项工作有序推进，取得实效。</p>
<p>发布时间：2020-01-15</p></div></body></html>"""


def test_gbk_page_given_as_text():
    raw = GBK_PAGE.encode("gbk")
    result = extract_report(decode_page(raw), "http://www.x.gov.cn/a.html")
    assert result.method == "container:#zoom"
    assert "联系人：王堃" in result.text
    assert result.title == "2019年政府信息公开工作年度报告"
    assert result.published_date == "2020-01-15"
    assert result.text.count("\n") == 1


def test_wrongly_decoded_page_is_a_defect():
    mojibake = GBK_PAGE.encode("gbk").decode("utf-8", errors="replace")
    with pytest.raises(ExtractionError, match="U\\+FFFD"):
        extract_report(mojibake, "http://www.x.gov.cn/a.html")


def test_bytes_are_refused():
    with pytest.raises(TypeError):
        extract_report(GBK_PAGE.encode("gbk"), "http://www.x.gov.cn/a.html")


@pytest.mark.parametrize("html", ["", "   ", "<html><head><title>x</title></head><body><div class='nav'></div></body></html>"])
def test_no_usable_text_raises(html):
    with pytest.raises(ExtractionError):
        extract_report(html, "http://www.x.gov.cn/a.html")


def test_listing_title_and_date_are_fallbacks():
    html = "<html><body><div class='TRS_Editor'><p>详见附件。</p></div></body></html>"
    result = extract_report(html, "http://www.x.gov.cn/201811/t20181102_1.html",
                            listing_title="2018年政府信息公開工作年度報告", listing_date="2018-03-26")
    assert isinstance(result, Extracted)
    assert result.title == "2018年政府信息公开工作年度报告"
    assert result.published_date == "2018-03-26"
    assert result.year == 2018 and result.kind == ANNUAL_REPORT


def test_page_date_beats_listing_date():
    html = ("<html><head><meta name='PubDate' content='2019-01-28'></head>"
            "<body><div class='TRS_Editor'><p>详见附件。</p></div></body></html>")
    assert extract_report(html, "http://x.gov.cn/a.html", listing_date="2019-02-01").published_date == "2019-01-28"


def test_site_name_title_yields_to_the_listed_report_title():
    page = ('<html><head><title>示例市人民政府</title></head><body><div class="TRS_Editor">'
            "<p>根据条例，现公布本局2019年度政府信息公开工作年度报告。全年主动公开信息300条。</p>"
            '<a href="http://[::1/x.pdf">坏链接</a><a href="f/a.pdf">附件</a></div></body></html>')
    got = extract_report(page, "http://x.gov.cn/a.html", listing_title="示例市民政局2019年政府信息公开工作年度报告")
    assert (got.title, got.kind, got.year) == ("示例市民政局2019年政府信息公开工作年度报告", "annual_report", 2019)
    assert got.attachments == ("http://x.gov.cn/f/a.pdf",)  # the unparseable link is skipped
    # a truncated listed title does not replace the page's
    truncated = extract_report(page, "http://x.gov.cn/a.html", listing_title="示例市民政局2019年政府信息...")
    assert truncated.title == "示例市人民政府"


# --------------------------------------------------------------------------- broken and hostile markup

def _deep_trs(report: str) -> tuple[str, str]:
    """(plain page, the same page with its body 50,000 closed <div>s deep)."""
    from nianbao.demo.site import paragraphs, trs_article
    plain = trs_article("某县审计局2019年政府信息公开工作年度报告", "2020-01-16", paragraphs(report))
    return plain, plain.replace('<div class="TRS_Editor">', '<div class="TRS_Editor">' + "<div>" * 50_000, 1).replace(
        '</div>\n<div class="share">', "</div>" * 50_000 + '</div>\n<div class="share">', 1)


def _word_export_hanweb(report: str) -> tuple[str, str]:
    """(plain page, the same Hanweb page where every paragraph opens a <font> and a <span> it
    never closes, as Word exports do)."""
    from nianbao.demo.site import hanweb_article
    lines = [line for line in report.split("\n") if line]
    plain = hanweb_article("某市水利局2018年度政府信息公开工作报告", "2019-02-01", "".join(f"<p>{l}</p>" for l in lines))
    broken = "".join(f"<p><font face='仿宋_GB2312'><span style='font-size:16pt'>{l}" for l in lines * 40)
    return plain, hanweb_article("某市水利局2018年度政府信息公开工作报告", "2019-02-01", broken)


def test_page_nested_beyond_the_parser_limit_keeps_its_body_trs():
    from nianbao.demo.site import report_text
    plain, deep = _deep_trs(report_text("某县审计局", 2019))
    expected = extract_report(plain, "http://www.x.gov.cn/a.html")
    result = extract_report(deep, "http://www.x.gov.cn/a.html")
    assert result.method == expected.method == "container:.TRS_Editor"
    assert result.text == expected.text and "首页" not in result.text


def test_page_nested_beyond_the_parser_limit_keeps_its_body_word_export():
    from nianbao.demo.site import report_text
    report = report_text("某市水利局", 2018)
    plain, broken = _word_export_hanweb(report)
    result = extract_report(broken, "http://sl.x.gov.cn/art/2019/2/1/art_1.html")
    assert result.method == extract_report(plain, "http://sl.x.gov.cn/a.html").method == "container:ZJEG_RSS"
    last = [line for line in report.split("\n") if line][-1]
    assert result.text.split("\n")[-1] == last  # the last paragraph, 1,000 unclosed tags down
    assert result.text.count("一、总体情况") == 40


def test_nul_and_control_characters_in_given_text_do_not_become_u_fffd():
    html = "<html><body><div class='TRS_Editor'><p>本机关\x00全年主动\x01公开政府信息356条，其中规范性文件12件。</p></div></body></html>"
    assert extract_report(html, "http://www.x.gov.cn/a.html").text == "本机关全年主动公开政府信息356条，其中规范性文件12件。"


def test_spanned_cells_pad_a_row_up_to_max_columns_only():
    from nianbao.crawler.extract import MAX_COLUMNS
    rows = "<tr><td rowspan='50' colspan='50'>合计</td><td>12</td></tr>" * 30
    html = f"<html><body><div class='TRS_Editor'><p>申请情况如下表。</p><table>{rows}</table></div></body></html>"
    lines = extract_report(html, "http://www.x.gov.cn/a.html").text.split("\n")
    assert lines[1].startswith("合计 |") and lines[1].endswith("| 12") and lines[1].count("|") == 50
    # padding stops at MAX_COLUMNS; the row's own two cells always stay
    assert max(line.count("|") for line in lines) == MAX_COLUMNS + 2 - 1
    assert all(line.count("合计") == 1 and line.endswith("| 12") for line in lines[1:])


def test_navigation_is_never_the_text():
    """A page whose only text is the header nav is rejected, never stored as '首页 | 简 | 繁'."""
    html = ("<html><head><title>2019年度报告</title></head><body><div class='top'><a href='/'>首页</a> | "
            "<a href='/j'>简</a> | <a href='/f'>繁</a> | <a href='/login'>登录</a></div>" + "<div>" * 300 +
            "<p>正文</p></body></html>")
    with pytest.raises(ExtractionError, match="no body text"):
        extract_report(html.replace("<p>正文</p>", ""), "http://www.x.gov.cn/a.html")


def test_ruby_debris_in_the_title_is_removed():
    html = "<html><head><title>2019年度政府信息公開(kāi)工作報(bào)告</title></head><body><div class='TRS_Editor'><p>详见附件。</p></div></body></html>"
    assert extract_report(html, "http://www.x.gov.cn/a.html").title == "2019年度政府信息公开工作报告"

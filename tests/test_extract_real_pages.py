"""Extraction on classes of real portal pages that went wrong on unseen material (issue 8).

Each class has two fixtures that differ in every surface detail (container, navigation,
nesting, wording), so a rule that only matches the first example fails the second.
"""

from __future__ import annotations

from pathlib import Path

import lxml.etree
import lxml.html
import pytest

from nianbao.crawler.classify import ANNUAL_REPORT
from nianbao.crawler.extract import ExtractionError, extract_report
from nianbao.crawler.flatten import adopt_trailing_trees

FILES = Path(__file__).parent / "files"
NAV_WORDS = ("首页", "简", "繁", "EN", "English", "登录", "个人中心", "注册", "无障碍", "长者模式", "政务公开",
             "网站地图", "版权所有", "ICP备", "打印", "关闭", "相关稿件")


def read(name: str) -> str:
    return (FILES / "pages" / name).read_text(encoding="utf-8")


def assert_no_navigation(text: str) -> None:
    for line in text.split("\n"):
        assert not any(line == word or line.startswith(word) for word in NAV_WORDS), line


# --------------------------------------------------------------------------- case 2: navigation

# (page, url, title, published, first line, last line, method)
AFTER_HTML = [
    ("gov-ucap-after-html.html", "http://www.example.gov.cn/zhengce/2022-01/28/content_5598012.htm",
     "国务院办公厅2021年政府信息公开工作年度报告", "2022-01-28",
     "本报告根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《中华人民共和国政府信息公开工作年度报告格式》"
     "要求编制。全文包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议及行政诉讼情况、"
     "存在的主要问题及改进情况、其他需要报告的事项。本报告所列数据的统计期限自2021年1月1日起至2021年12月31日止。",
     "本年度未收取信息处理费。", "container:#UCAP-CONTENT"),
    ("gov-table-layout-after-html.html", "http://www.example.gov.cn/xxgk/nb/202103/t20210330_1.html",
     "某某省发展和改革委员会2020年政府信息公开工作年度报告", "2021-03-30",
     "根据《中华人民共和国政府信息公开条例》和省政府办公厅关于做好政府信息公开工作年度报告编制发布工作的要求，"
     "现公布某某省发展和改革委员会2020年政府信息公开工作年度报告。本报告中所列数据的统计期限自2020年1月1日至2020年12月31日。",
     "无。", "density"),
]


@pytest.mark.parametrize("page", [case[0] for case in AFTER_HTML])
def test_lxml_starts_a_new_tree_after_an_early_closing_html_tag(page):
    """The root cause: libxml2 ends the document element at `</html>` and puts what follows in
    further top-level trees, which element walks (iter, CSS selectors) never see."""
    tree = lxml.html.document_fromstring(read(page))
    walked, counted = sum(1 for _ in tree.iter(lxml.etree.Element)), int(tree.xpath("count(//*)"))
    assert walked < counted / 2  # the header alone vs the whole page
    assert tree.getnext() is not None
    adopted = adopt_trailing_trees(tree)
    assert adopted >= 1
    # every element is now under the root (the emptied implicit <html> shells are gone)
    assert sum(1 for _ in tree.iter(lxml.etree.Element)) == int(tree.xpath("count(//*)")) >= counted - adopted
    assert tree.getnext() is None
    assert tree.find("body").xpath("string()").count("六、其他需要报告的事项") == 1


@pytest.mark.parametrize("page, url, title, published, first, last, method", AFTER_HTML,
                         ids=[case[0] for case in AFTER_HTML])
def test_body_after_an_early_closing_html_tag_is_the_text(page, url, title, published, first, last, method):
    result = extract_report(read(page), url)
    lines = result.text.split("\n")
    assert (lines[0], lines[-1]) == (first, last)
    assert len(lines) >= 13 and "二、主动公开政府信息情况" in lines and "五、存在的主要问题及改进情况" in lines
    assert result.method == method
    assert (result.title, result.published_date, result.kind) == (title, published, ANNUAL_REPORT)
    assert_no_navigation(result.text)
    assert result.reasons  # which strategy won, and why


def test_statistics_table_after_an_early_closing_html_tag_keeps_its_rows():
    text = extract_report(read("gov-ucap-after-html.html"), AFTER_HTML[0][1]).text
    assert "行政规范性文件 | 182 | 31 | 1024" in text.split("\n")


def _header_only(page: str) -> str:
    """The page up to its early `</html>`: nothing but scripts and navigation."""
    html = read(page)
    end = html.lower().index("</html>") + len("</html>")
    return html[:end]


RUN_TOGETHER_NAV = """<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>
<div class="main-txt"><span>欢迎访问</span><a href="/">首页</a><a href="/jt">简</a><a href="/ft">繁</a><a href="/en/">EN</a>
<a href="/sso/login">登录</a><a href="/uc/">个人中心</a></div>
<div class="channel"><a href="/xw/">要闻动态</a>/<a href="/zc/">政策文件</a>/<a href="/sj/">数据发布</a>/<a href="/hd/">互动交流</a></div>
</body></html>"""


@pytest.mark.parametrize("html", [_header_only("gov-ucap-after-html.html"), _header_only("gov-table-layout-after-html.html"),
                                  RUN_TOGETHER_NAV], ids=["pipes", "middle-dots", "run-together"])
def test_a_text_that_is_mostly_the_pages_link_texts_is_never_accepted(html):
    with pytest.raises(ExtractionError, match="no body text"):
        extract_report(html, "http://www.example.gov.cn/a.htm")


def test_a_container_that_holds_navigation_is_not_the_body():
    """A CMS container class reused for a menu is skipped; the real body is found elsewhere."""
    menu = "".join(f'<li><a href="/c{i}/">{word}</a></li>' for i, word in enumerate(
        ("政务公开", "政策文件", "规划计划", "财政预决算", "人事信息", "统计数据", "应急管理", "政府信息公开年报")))
    body = "".join(f"<p>{line}</p>" for line in AFTER_HTML[1][4:6])
    html = (f'<html><head><meta charset="utf-8"><title>某某县2020年政府信息公开工作年度报告</title></head><body>'
            f'<ul class="Article_content">{menu}</ul><div class="detail"><div class="text">{body}'
            f"<p>全年共收到政府信息公开申请57件，全部按期答复，无行政复议和行政诉讼。</p></div></div></body></html>")
    result = extract_report(html, "http://www.example.gov.cn/a.htm")
    assert not result.method.startswith("container:")
    assert result.text.split("\n")[0] == AFTER_HTML[1][4]
    assert any("container:.Article_content rejected" in reason for reason in result.reasons)


# --------------------------------------------------------------------------- case 4: placeholders

def read_case(name: str) -> str:
    return (FILES / "cases" / name).read_text(encoding="utf-8")


# (page, url, title, year, attachments, the fields its metadata block names)
PLACEHOLDERS = [
    # a disclosure table above a body the page loads by script; no attachment
    ("xxgk-metadata-script-body.html", "http://www.rudong.gov.cn/xxgk/ndbg/202001/t20200116_88213.html",
     "如东县民政局2019年政府信息公开工作年度报告", 2019, (),
     ("索引号", "主题分类", "发布机构", "成文日期", "名称", "文号")),
    # <dl> label/value pairs above a body that is one attachment link, no known container
    ("zwgk-metadata-attachment-only.html", "http://www.haian.gov.cn/hasjj/zfxxgk/art/2021/art_77_1.html",
     "海安市审计局2020年政府信息公开工作年度报告", 2020, ("http://www.haian.gov.cn/uploads/2021/01/25/1611561234.pdf",),
     ("信息索引号", "组配分类", "体裁分类", "发文机关", "发文字号", "生成日期", "有效性", "信息名称")),
]


@pytest.mark.parametrize("page, url, title, year, attachments, fields", PLACEHOLDERS,
                         ids=[case[0] for case in PLACEHOLDERS])
def test_a_metadata_block_is_not_the_reports_text(page, url, title, year, attachments, fields):
    result = extract_report(read_case(page), url)
    assert result.text == ""
    assert result.method == "placeholder:metadata"
    assert (result.title, result.year, result.kind, result.attachments) == (title, year, ANNUAL_REPORT, attachments)
    said = result.reasons[-1]
    assert said.startswith("placeholder:metadata:") and "no text of its own" in said
    assert all(field in said for field in fields)
    assert ("see its attachments" in said) == bool(attachments)


BODY_LINES = ["根据《中华人民共和国政府信息公开条例》规定，现公布本局2019年政府信息公开工作年度报告。",
              "一、总体情况", "2019年，本局全年主动公开政府信息356条。"]


@pytest.mark.parametrize("page", [case[0] for case in PLACEHOLDERS])
def test_a_metadata_block_above_a_real_body_is_dropped_and_the_body_kept(page):
    body = "".join(f"<p>{line}</p>" for line in BODY_LINES)
    html = read_case(page)
    html = html.replace('<div class="TRS_Editor" id="zoomcon"></div>', f'<div class="TRS_Editor" id="zoomcon">{body}</div>')
    html = html.replace('<p style="text-align:center"><a href', f'{body}<p style="text-align:center"><a href')
    result = extract_report(html, "http://www.example.gov.cn/a.html")
    assert result.text.split("\n")[:3] == BODY_LINES
    assert not any(field in result.text for field in ("索引号", "主题分类", "组配分类", "发文字号", "11320623", "014200213"))
    assert result.method != "placeholder:metadata"


# Metadata block forms -> nothing left; body lines that look a little like fields stay.
METADATA_FORMS = [
    ("table-rows", "索引号： | 000014349/2020-00012 | 主题分类： | 综合政务\n发布机构： | 某某局 | 成文日期： | 2020-01-15"),
    ("inline", "索引号：000014349/2020-00012 主题分类：综合政务 发布机构：某某局 成文日期：2020年01月15日"),
    ("label-value-lines", "信息索引号\n014200213/2021-00005\n发文机关\n某某市审计局\n生成日期\n2021年01月25日"),
    ("bracketed", "【索引号】113206/2019-0001\n【公开方式】主动公开\n【公开时限】长期公开"),
    ("traditional", "索引號：11320623/2020-00012\n主題分類：政務公開\n發文機關：某某縣民政局"),
]
FIELD_LOOKALIKES = [
    "名称 | 本年新制作数量 | 本年新公开数量",
    "发文机关应当及时公开政府信息，本年度共发布信息356条。",
    "标题党现象得到遏制。",
    "公开方式：通过政府网站、政务新媒体、新闻发布会等多种方式公开政府信息，方便群众获取。",
]


@pytest.mark.parametrize("text", [form[1] for form in METADATA_FORMS], ids=[form[0] for form in METADATA_FORMS])
def test_metadata_block_forms_are_dropped(text):
    from nianbao.crawler.cleanup import clean
    cleaned = clean(text + "\n" + BODY_LINES[0])
    assert cleaned.text == BODY_LINES[0]
    assert cleaned.metadata_lines == len(text.split("\n"))


@pytest.mark.parametrize("line", FIELD_LOOKALIKES, ids=["stats-header", "label-word-in-sentence", "label-prefix", "label-sentence"])
def test_body_lines_that_look_like_fields_stay(line):
    from nianbao.crawler.cleanup import clean
    assert clean(line + "\n" + BODY_LINES[0]).text == line + "\n" + BODY_LINES[0]


def test_crawl_stores_a_placeholder_page_without_text_and_says_why(tmp_path):
    import json
    import sqlite3

    from tests.conftest import crawl
    from tests.local_sites import LocalSite, write_registry

    with LocalSite() as site:
        site.listing("/xxgk/ndbg/list.html", [("202001/t20200116_88213.html", PLACEHOLDERS[0][2]),
                                              ("art_77_1.html", PLACEHOLDERS[1][2])])
        site.page("/xxgk/ndbg/202001/t20200116_88213.html", read_case(PLACEHOLDERS[0][0]))
        site.page("/xxgk/ndbg/art_77_1.html", read_case(PLACEHOLDERS[1][0]))
        config = write_registry(tmp_path / "agencies.yaml", {"id": "placeholder-a", "sources": [site.url("/xxgk/ndbg/list.html")]})
        db = tmp_path / "nianbao.db"
        result = crawl(config, db)
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute("SELECT title, text, attachments, year, kind FROM reports ORDER BY year").fetchall()
        stats = json.loads(connection.execute("SELECT stats FROM crawls").fetchone()[0])
    finally:
        connection.close()
    assert [(title, text, year, kind) for title, text, _, year, kind in rows] == [
        (PLACEHOLDERS[0][2], "", 2019, ANNUAL_REPORT), (PLACEHOLDERS[1][2], "", 2020, ANNUAL_REPORT)]
    assert json.loads(rows[1][2]) == [site.url("/uploads/2021/01/25/1611561234.pdf")]
    assert stats["nianbao/extracted/placeholder:metadata"] == 2
    assert result.stderr.count("found only a metadata block") == 2


# --------------------------------------------------------------------------- case 5: reposts

RUDONG_REPORT = [
    "根据《中华人民共和国政府信息公开条例》规定，现公布如东县民政局2019年度政府信息公开工作年度报告。本报告中所列数据的统计期限自2019年1月1日起至2019年12月31日止。",
    "一、总体情况",
    "2019年，如东县民政局认真贯彻落实《中华人民共和国政府信息公开条例》，坚持以公开为常态、不公开为例外，全年主动公开政府信息319条。",
    "二、主动公开政府信息情况", "全年通过门户网站发布规范性文件3件，公开行政许可事项办理结果46件。",
    "三、收到和处理政府信息公开申请情况", "全年共收到政府信息公开申请15件，均在法定期限内答复。",
    "四、政府信息公开行政复议、行政诉讼情况", "全年未发生因政府信息公开引起的行政复议和行政诉讼。",
    "五、存在的主要问题及改进情况", "公开内容的针对性有待加强，下一步将进一步规范公开流程。",
    "六、其他需要报告的事项", "无。",
]
HAIAN_REPORT = [
    "按照《中华人民共和国政府信息公开条例》和上级有关要求，现将海安市审计局2020年度政府信息公开工作情况报告如下。本报告中所列数据的统计期限自2020年1月1日起至2020年12月31日止。",
    "（一）总体情况",
    "2020年，市审计局紧紧围绕审计中心工作，全面落实政府信息公开各项要求，全年主动公开审计结果公告14条、部门预决算信息4条，及时回应社会关切。",
    "（二）依申请公开情况", "全年收到政府信息公开申请6件，均按期答复，其中予以公开4件，无法提供2件。",
    "（三）行政复议和行政诉讼情况", "全年未发生政府信息公开行政复议和行政诉讼案件。",
    "（四）存在问题和改进措施", "信息公开的及时性还需加强。下一步，我局将健全信息发布审核机制，提高公开质量。",
]
REPOSTS = [
    # a news aggregator: 原标题, a 声明 with 转载 / 独立观点 / 不代表…立场 / 侵权删除, tags, widgets, comments
    ("repost-news-aggregator.html", RUDONG_REPORT, 2),
    # a document library: a "整理发布，仅供学习交流" line on top, a 版权声明 of a storage service, the link
    ("repost-doc-library.html", HAIAN_REPORT, 4),
]
REPOST_DEBRIS = ("转载", "声明", "立场", "侵权", "删除", "仅供", "原标题", "本文链接", "标签", "点赞", "评论", "招租",
                 "Copyright", "范文网", "资讯网")


@pytest.mark.parametrize("page, report, disclaimers", REPOSTS, ids=[case[0] for case in REPOSTS])
def test_a_repost_keeps_the_report_and_none_of_the_aggregator(page, report, disclaimers):
    result = extract_report(read_case(page), "http://www.example.com/a/123.html")
    assert result.text.split("\n") == report
    assert not any(word in result.text for word in REPOST_DEBRIS)
    assert f"dropped {disclaimers} sentence(s) of a repost disclaimer" in " ".join(result.reasons)


# Disclaimers in other words: each goes, the body line stays.
BODY = "全年共收到政府信息公开申请15件，均在法定期限内答复。"
DISCLAIMERS = [
    "声明：本文转载自如东县人民政府网站，文章为作者独立观点，不代表本站立场。",
    "（本文来源于网络，版权归原作者所有，如有侵权请联系我们删除）",
    "免责声明：本站所载内容仅供参考，不构成任何建议，本站不承担由此引起的任何责任。",
    "版权声明：本文内容由互联网用户自发贡献，该文观点仅代表作者本人。",
    "本平台仅提供信息存储空间服务，如发现侵犯您权益的内容，请告知我们删除。",
    "注：文章转自网络，内容的真实性本站不作任何保证。",
    "【特别申明】转载请注明出处，未经授权不得转载。",
]
# body sentences that mention one of the ideas: they stay
KEPT_SENTENCES = [
    "全年通过政务微博转载上级政府信息120条。",
    "本报告所列数据仅供参考的部分已在附表中注明。",
    "依法保护公民、法人和其他组织的著作权等合法权益。",
    "对不依法履行公开义务的，依法追究相关人员责任。",
    "声明：本机关对本报告内容的真实性、准确性负责。",
]


@pytest.mark.parametrize("disclaimer", DISCLAIMERS, ids=["stance", "copyright", "liability", "user-content",
                                                       "storage-service", "no-guarantee", "declared-repost"])
def test_disclaimers_in_other_words_are_dropped(disclaimer):
    from nianbao.crawler.cleanup import clean
    for text in (BODY + "\n" + disclaimer, disclaimer + "\n" + BODY, BODY + disclaimer):
        assert clean(text).text == BODY, text


@pytest.mark.parametrize("sentence", KEPT_SENTENCES, ids=["repost-count", "reference", "copyright-law",
                                                          "responsibility", "own-declaration"])
def test_body_sentences_that_mention_one_idea_stay(sentence):
    from nianbao.crawler.cleanup import clean
    assert clean(BODY + "\n" + sentence).text == BODY + "\n" + sentence

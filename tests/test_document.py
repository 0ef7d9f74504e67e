"""A stored report text as a readable page (web/document.py)."""

from __future__ import annotations

from nianbao.web.document import text_to_html

TRS_STYLE = """根据《中华人民共和国政府信息公开条例》规定，现公布本机关2019年度报告。
一、总体情况
全年主动公开政府信息315条。
信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数
规章 | 0 | 0 | 3
行政规范性文件 | 7 | 2 | 41
二、主动公开政府信息情况
无。"""

# Another surface: （一） sub-headings, a ragged table with a short row, blank lines, markup-like text.
HANWEB_STYLE = """

（一）主动公开情况

本年度通过网站发布<b>信息</b>1,200条 & 更新栏目3个。
项目 | 数量
网站 | 1 | 备注

第二部分 依申请公开情况
收到申请15件。
"""


def test_paragraphs_headings_and_tables_in_order():
    html = text_to_html(TRS_STYLE)
    assert html.index("<p>根据") < html.index("<h3 class=\"doc-heading\">一、总体情况</h3>") \
        < html.index("<table") < html.index("二、主动公开政府信息情况") < html.index("<p>无。</p>")
    assert html.count("<table") == 1 and html.count("<tr>") == 3
    assert "<td>行政规范性文件</td><td>7</td><td>2</td><td>41</td>" in html


def test_second_fixture_ragged_tables_and_escaping():
    html = text_to_html(HANWEB_STYLE)
    assert "<h3 class=\"doc-heading\">（一）主动公开情况</h3>" in html
    assert "<h3 class=\"doc-heading\">第二部分 依申请公开情况</h3>" in html
    assert "&lt;b&gt;信息&lt;/b&gt;1,200条 &amp; 更新栏目3个" in html and "<b>" not in html
    assert "<tr><td>项目</td><td>数量</td><td></td></tr>" in html  # padded to the widest row
    assert "<p></p>" not in html
    # a long numbered line is a paragraph, not a heading
    long_line = "一、" + "全年共收到申请" * 10
    assert text_to_html(long_line).startswith("<p>")

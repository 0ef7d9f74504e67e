"""nianbao.crawler.cleanup: each kind of portal noise goes, body lines (even ones that look alike) stay."""

from pathlib import Path

import pytest

from nianbao.crawler import cleanup
from nianbao.crawler.cleanup import clean_text, strip_ruby, to_simplified

FILES = Path(__file__).parent / "files"
BODY = "我局认真贯彻落实《中华人民共和国政府信息公开条例》，全年主动公开政府信息627条。"

# (id, input, expected): noise lines around a body line must disappear
NOISE = [
    ("date-source", "发布时间:2014-12-25 00:00 来源:明光市住建局\n" + BODY, BODY),
    ("date-views", "发布日期：2020-01-15　　浏览次数：1024\n" + BODY, BODY),
    ("source-author-editor", "信息来源：县住建局  作者：张三  责任编辑：李四\n" + BODY, BODY),
    ("date-first", "2014-12-25 00:00 来源:明光市住建局\n" + BODY, BODY),
    ("bracketed-date", "【发布时间：2019-01-30】\n" + BODY, BODY),
    ("lone-timestamp", "2019-09-18 06:23\n" + BODY, BODY),
    ("clicks", BODY + "\n点击数：35", BODY),
    ("empty-labels", "作者：   来源：   时间：\n" + BODY, BODY),
    ("mangled-font-widget", "    【字体:打印\n" + BODY, BODY),
    ("font-widget", BODY + "\n【字体：大 中 小】【打印】【关闭】", BODY),
    ("font-size-line", "字号：大 中 小\n" + BODY, BODY),
    ("print-close", BODY + "\n打印本页   关闭窗口", BODY),
    ("share", BODY + "\n分享到：", BODY),
    ("widget-glued-to-meta", "发布时间：2020-01-15 【字体：大 中 小】【打印】\n" + BODY, BODY),
    ("inline-widget", BODY + "【打印】【关闭】", BODY),
    ("breadcrumb", "您现在所在的位置：首页 > 信息公开 > 政府信息公开年报\n" + BODY, BODY),
    ("breadcrumb-current", "当前位置：首页 > 政务公开\n" + BODY, BODY),
    ("breadcrumb-your", "您的位置: 首页 » 信息公开\n" + BODY, BODY),
    ("breadcrumb-trail", "首页 > 信息公开 > 政府信息公开年报\n" + BODY, BODY),
    ("qr-prompt", BODY + "\n\n    扫一扫在手机打开当前页", BODY),
    ("qr-scan", BODY + "\n手机扫描二维码", BODY),
    ("follow-us", BODY + "\n关注我们\n扫码关注官方微信", BODY),
    ("repost", BODY + "\n本文转载自：中国政府网", BODY),
    ("disclaimer", BODY + "\n免责声明：本站转载信息仅供参考", BODY),
    ("footer", BODY + "\n版权所有：明光市人民政府 皖ICP备05001234号", BODY),
    ("prev-next", BODY + "\n上一篇：2013年度报告\n下一篇：无", BODY),
    ("related-block", BODY + "\n相关阅读\n明光市住建局政府信息公开2013年度工作报告\n2014年政务公开工作要点", BODY),
    ("attachment-block", BODY + "\n附件下载：\n1.2019年度报告.pdf\n2.统计表.xls", BODY),
    ("related-then-body", "相关解读：\n图解2019年报告\n" + BODY, BODY),
    ("hot-recommend", BODY + "\n【热门推荐】\n关于开展2020年政务公开培训的通知", BODY),
    ("ruby", "根據(jù)《中華人民共和國(guó)政府信息公開(kāi)條例(lì)》", "根据《中华人民共和国政府信息公开条例》"),
    ("ruby-fullwidth", "規（guī）定", "规定"),
    ("ruby-plain-neutral", "根據(jù)我們(men)的(de)工作規(guī)定", "根据我们的工作规定"),
    ("plain-word-in-parens-kept", "中国(china)网络(wifi)覆盖", "中国(china)网络(wifi)覆盖"),
    ("stray-tags", "正文内容</p><br/>继续<span style=\"x\">说明</span>", "正文内容继续说明"),
    ("entities", "&nbsp;&nbsp;正文&amp;nbsp;内容&#12288;说明", "正文 内容 说明"),
    ("html-comment", "<!--<$[信息内容]>begin-->正文", "正文"),
    ("odd-spaces", "\u3000\u3000正文\u00a0\u00a0内容\u200b\ufeff", "正文 内容"),
    ("blank-lines", "\n\n第一段。\n \n\u3000\n第二段。\n\n", "第一段。\n第二段。"),
    ("nbsp-only-line", "第一段。\n&nbsp;\n第二段。", "第一段。\n第二段。"),
    ("punct-only-line", "第一段。\n|\n-----\n【】\n第二段。", "第一段。\n第二段。"),
    ("traditional-meta", "發佈時間：2020-01-17　信息來源：如東縣住建局\n" + BODY, BODY),
    ("traditional-widget", BODY + "\n【列印】【關閉】", BODY),
    ("traditional-body", "無其他需要報告的事項。", "无其他需要报告的事项。"),
    ("markdown-table-row", "| 规章 | 0 |  | 12 |  |", "规章 | 0 | | 12"),
]

# lines that look a little like noise but are body text
KEPT = [
    ("body-mentions-source", "本表数据来源于政府信息公开工作年度报告统计系统。"),
    ("body-source-channels", "信息来源渠道进一步拓宽，全年共发布信息627条。"),
    ("body-time", "时间紧、任务重，我局按时完成了年报编制工作。"),
    ("label-like-sentence", "发布时间：每季度第一个月，由办公室统一发布相关信息并及时更新，确保信息准确。"),
    ("table-row", "规章 | 0 | 0 | 12"),
    ("table-row-result", "（一）予以公开 | 40 | 3 | 0 | 0 | 0 | 0 | 43"),
    ("qr-in-sentence", "我局在办事大厅张贴政府信息公开二维码，方便群众扫码查阅办事指南和相关信息。"),
    ("close-in-sentence", "督促关闭违规网站3个。"),
    ("signature-date", "2020年1月15日"),
    ("signature-agency", "如东县住房和城乡建设局"),
    ("abbreviation-paren", "地区生产总值(GDP)增长6%，详见附件(PDF)。"),
    ("year-paren", "政府信息公开工作年度报告(2019)"),
    ("section-heading", "六、其他需要报告的事项"),
    ("attachment-mention", "附件：2019年政府信息公开工作年度报告统计表"),
]


@pytest.mark.parametrize("raw, expected", [c[1:] for c in NOISE], ids=[c[0] for c in NOISE])
def test_noise_is_removed(raw, expected):
    assert clean_text(raw) == expected


@pytest.mark.parametrize("line", [c[1] for c in KEPT], ids=[c[0] for c in KEPT])
def test_body_lines_are_kept(line):
    assert clean_text(f"{BODY}\n{line}\n{BODY}") == f"{BODY}\n{line}\n{BODY}"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("根據(jù)《中華人民共和國(guó)", "根據《中華人民共和國"),
        ("規（guī）定", "規定"),
        ("綠(lǜ)色", "綠色"),
        ("女(nǚ)士", "女士"),
        ("的(de)", "的(de)"),  # toneless alone: no sign of ruby debris on this text
        ("規(guī)的(de)條(tiáo)", "規的條"),  # toneless among tone-marked debris
        ("(jù)開頭", "(jù)開頭"),          # not after a CJK character
        ("增長(GDP)", "增長(GDP)"),
        ("附件(doc)", "附件(doc)"),
        ("號(2019)", "號(2019)"),
        ("說明(abc)", "說明(abc)"),         # not pinyin
        ("條例 (Regulations)", "條例 (Regulations)"),
        # markup around the debris leaves spaces ('據<span> (jù)</span>')
        ("根據 (jù)規定", "根據規定"),
        ("報\u3000（bào ）告", "報告"),
        ("國\xa0(guó)家", "國家"),
        # a block boundary between the character and its annotation, on a page with debris
        ("根據(jù)條(tiáo)例\n(guī)定", "根據條例\n定"),
        ("開(kāi)會(huì)\n  （gōng）作", "開會\n作"),
        ("市(shì)\n(GDP)增長", "市\n(GDP)增長"),  # not pinyin, still kept
    ],
)
def test_strip_ruby(raw, expected):
    assert strip_ruby(raw) == expected


def test_to_simplified_uses_one_converter():
    assert to_simplified("政府信息公開工作年度報告") == "政府信息公开工作年度报告"
    first = cleanup._converter()
    to_simplified("與")
    assert cleanup._converter() is first


def test_seed_002_simplified_is_pinned():
    """OpenCC output on a whole real report, checked by eye once and pinned."""
    seed = (FILES / "seeds/002_c1329069217d429a.txt").read_text(encoding="utf-8")
    expected = (FILES / "expected/002.simplified.txt").read_text(encoding="utf-8")
    assert to_simplified(strip_ruby(seed)) == expected
    assert "(" not in expected and "（" not in expected  # no ruby debris
    assert "報" not in expected and "開" not in expected


def test_clean_text_output_shape():
    out = clean_text("  第一段。 \n\n\n  第二段。\u3000\n")
    assert out == "第一段。\n第二段。"
    assert clean_text("") == ""

"""Text cleanup for what extractors pull out of Chinese government portals.

Why this exists: generic extractors (trafilatura, a CMS body container) hand back the article
*plus* the portal's chrome that lives inside or right next to the body: the
"发布时间: ... 来源: ..." line, the 【字体:大 中 小】【打印】【关闭】 widget (often mangled to
"【字体:打印"), breadcrumbs, QR-code prompts, related-reading and attachment blocks, repost
disclaimers, leftover markup (``</p>``, ``&amp;nbsp;``), odd spaces, and the pinyin ruby
debris that a traditional-Chinese toggle leaves behind ("根據(jù)").

The rules are *general* and line based: a line is dropped only when the whole line looks
like chrome (short, made of meta labels or widget words), never because a body sentence
mentions 来源 or 时间.  Everything ends up in simplified Chinese (OpenCC t2s), one paragraph
per line, lines stripped, no blank lines.

Order inside ``clean_text``: markup remnants -> spaces -> ruby -> t2s -> full-width letters
and digits (``normalize_chars``, which listing and page titles get too, via
``normalize_title``) -> line rules.  t2s runs before the line rules (not literally last) so that traditional chrome such as
"發佈時間：" or "【列印】" is caught by the same simplified vocabulary; the output is the
same simplified text either way.
"""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass

import opencc

__all__ = ["Cleaned", "strip_ruby", "to_simplified", "normalize_chars", "normalize_title", "clean", "clean_text"]

# --------------------------------------------------------------------------- OpenCC

_CONVERTER: opencc.OpenCC | None = None
_CONVERTER_LOCK = threading.Lock()


def _converter() -> opencc.OpenCC:
    """The one t2s converter of the process (building one costs milliseconds)."""
    global _CONVERTER
    if _CONVERTER is None:
        with _CONVERTER_LOCK:
            if _CONVERTER is None:
                _CONVERTER = opencc.OpenCC("t2s")
    return _CONVERTER


def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese with OpenCC ``t2s`` (idempotent on simplified)."""
    if not text:
        return text
    return _converter().convert(text)


# --------------------------------------------------------------------------- ruby

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONE_MARKS = str.maketrans(
    "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ",
    "aaaaeeeeiiiioooouuuuvvvvvnnnm",
)
_HAS_TONE_MARK = re.compile("[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ]")
_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|vn"
    r"|ia|ie|iu|ua|uo|ue|ve|ui|er|ng|a|o|e|i|u|v|n|m)[1-5]?"
)
_PINYIN = re.compile(rf"{_SYLLABLE}(?:[ '’]?{_SYLLABLE})*")
# a parenthesised letter group, ASCII or full-width parens, right after a CJK character (spaces
# between allowed: markup around the debris leaves them) or at the start of a line (a block
# boundary fell between the character and its annotation)
_RUBY_CANDIDATE = re.compile(
    rf"(?:(?<=[{_CJK}])|^)[ \t\u3000\xa0]*[(（][ \t]*([A-Za-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ][A-Za-z0-9 '’"
    r"āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ]{0,24}?)[ \t]*[)）]",
    re.M,
)


def _is_pinyin(letters: str) -> bool:
    """Tone-marked letters are pinyin if they spell syllables; plain ones only in lowercase."""
    if not _HAS_TONE_MARK.search(letters) and letters != letters.lower():
        return False  # (GDP), (PDF), (Ofd): abbreviations, not ruby
    base = letters.lower().translate(_TONE_MARKS)
    return _PINYIN.fullmatch(base) is not None


def _after_cjk(text: str, match: re.Match[str]) -> bool:
    return match.start() > 0 and re.match(f"[{_CJK}]", text[match.start() - 1]) is not None


# Plain-letter groups are removed only on a page that clearly carries ruby debris: this many
# tone-marked groups. Elsewhere '中国(china)' or '网络(wifi)' is text, not debris.
_RUBY_PAGE_MIN_MARKED = 2


def strip_ruby(text: str) -> str:
    """Remove pinyin ruby debris: '根據(jù)《中華人民共和國(guó)' -> '根據《中華人民共和國'.

    A parenthesised group after a CJK character (spaces between allowed) is removed when its
    letters spell pinyin syllables and either carry tone marks, or the text has other
    tone-marked groups (toneless ones such as '(de)' then belong to the same debris). '(GDP)',
    '(PDF)', '(2019)', '(doc)' stay, and so does '中国(china)' in a text without ruby. A group
    at the start of a line is debris only in a text that has such debris after characters.
    """
    if "(" not in text and "（" not in text:
        return text
    candidates = [(m.group(1), _after_cjk(text, m)) for m in _RUBY_CANDIDATE.finditer(text)]
    marked = sum(1 for letters, after_cjk in candidates
                 if after_cjk and _HAS_TONE_MARK.search(letters) and _is_pinyin(letters))
    ruby_page = marked >= _RUBY_PAGE_MIN_MARKED

    def remove(match: re.Match[str]) -> str:
        letters = match.group(1)
        if not _is_pinyin(letters):
            return match.group(0)
        if _after_cjk(text, match):
            return "" if ruby_page or _HAS_TONE_MARK.search(letters) else match.group(0)
        return "" if ruby_page else match.group(0)

    return _RUBY_CANDIDATE.sub(remove, text)


# --------------------------------------------------------------------------- markup, spaces

_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_STRAY_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:amp;)*(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,30});")
_SPACE_LIKE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v\r]")
_ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_MULTI_SPACE = re.compile(r" {2,}")


def _unescape_entity(match: re.Match[str]) -> str:
    return html.unescape("&" + match.group(1) + ";")


def _strip_markup(text: str) -> str:
    text = _HTML_COMMENT.sub("", text)
    text = _STRAY_TAG.sub("", text)
    return _ENTITY.sub(_unescape_entity, text)


def _normalize_spaces(text: str) -> str:
    text = _ZERO_WIDTH.sub("", text)
    return _SPACE_LIKE.sub(" ", text)


# Full-width Latin letters and digits ('２０１９年', 'ＰＤＦ') are the ASCII ones typed in a
# Chinese input method: the same text. Full-width punctuation （）：，is how Chinese is written
# and stays.
_FULLWIDTH_ALNUM = str.maketrans(
    {**{chr(0xFF10 + i): chr(0x30 + i) for i in range(10)},
     **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
     **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}}
)


def normalize_chars(text: str) -> str:
    """What every text nianbao keeps goes through, titles and bodies alike: markup remnants
    out, odd spaces made plain, pinyin ruby debris removed, traditional -> simplified,
    full-width letters and digits -> ASCII. Lines stay lines."""
    if not text:
        return ""
    text = _normalize_spaces(_strip_markup(text))
    return to_simplified(strip_ruby(text)).translate(_FULLWIDTH_ALNUM)


_ANY_WHITESPACE = re.compile(r"\s+")


def normalize_title(text: str) -> str:
    """A title as nianbao compares, classifies and stores it: ``normalize_chars``, then one
    line with single spaces. '2019年如東縣住房和城鄉(xiāng)建設(shè)局…報(bào)告' ->
    '2019年如东县住房和城乡建设局…报告'."""
    return _ANY_WHITESPACE.sub(" ", normalize_chars(text or "")).strip()


# --------------------------------------------------------------------------- line rules

_MAX_META_LINE = 120

_META_LABEL = (
    r"(?:发布|发表|发文|成文|印发|更新|生成|上传|录入|公开)?(?:时间|日期)"
    r"|(?:信息|文章|稿件|新闻|资料|内容)?来源|作者|撰稿人?|供稿(?:单位)?|(?:责任)?编辑|责编|编审|审核|审校|校对"
    r"|摄影|发布(?:者|人|机构|单位)|(?:浏览|点击|阅读|访问)(?:次数|数|量|人次)|阅读|字号|文号"
    # a repost's own header and footer fields
    r"|原标题|原文标题|(?:本文|原文|文章|转载)(?:链接|地址|网址)|(?:本文|文章|热门)?标签|Tags?"
)
_DATE_TOKEN = r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
# '发布时间:2014-12-25 00:00 来源:明光市住建局', '【发布日期：2020-01-15】', '作者：  来源：'
_META_LINE = re.compile(rf"^[\[【(（]?\s*(?:{_META_LABEL})\s*[:：]")
# '2014-12-25 00:00 来源:明光市住建局' (date first, then a label)
_DATE_THEN_META = re.compile(rf"^{_DATE_TOKEN}\s*[\]】]?\s*(?:{_META_LABEL})\s*[:：]")
# a lone '2019-09-18 06:23' (a time makes it a stamp; a bare '2020年1月15日' may be a signature)
_LONE_DATETIME = re.compile(r"^\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?\s*\d{1,2}:\d{2}(?::\d{2})?$")
_SENTENCE_END = re.compile(r"[。！？；!?]\s*$")
# body sentences that start like a meta line ('时间：2019年1月1日至12月31日，本机关共收到申请5件',
# '来源：本报告数据来源于各部门统计'): a clause break or a verb-ish 于/的 in the value
_CLAUSE = re.compile(r"[，,]|^[^:：]{1,12}[:：][^:：]*?(?:于|的|为|是)[^:：]*$")

_WIDGET_WORDS = re.compile(
    r"下载本文|下载全文|复制全文|打印本文|字体|字号|默认|放大|缩小|正常|大|中|小|打印本页|打印|列印|关闭窗口|关闭视窗|关闭|返回顶部|返回|顶部|收藏|保存"
    r"|分享到|分享|微信|微博|朋友圈|QQ空间|QQ|我要纠错|纠错|背景色|护眼|阅读模式|视力保护色|语音播报|播报|简体|繁体|繁|简"
    r"|点赞|赞|踩|举报|打赏|评论|在看|下载|复制"
)
# punctuation, and the counts next to the widgets ('点赞(12)', '评论 3')
_WIDGET_PUNCT = re.compile(r"[\s\d\[\]【】()（）:：|/｜,，、·•>»<«-]+")
_BRACKET_WIDGET = re.compile(
    r"【\s*(?:字体|字号)\s*[:：]?[^】]{0,12}】|[【\[]\s*(?:打印(?:本页)?|列印|关闭(?:窗口|视窗)?|收藏|返回顶部|我要纠错|纠错)\s*[】\]]"
)

_BREADCRUMB = re.compile(
    r"^(?:您|你)?(?:现在|当前)?(?:所在|所处|的)?(?:的)?位置\s*[:：]|^当前(?:所在)?(?:位置|页面)\s*[:：]"
)
_NAV_TRAIL = re.compile(r"^首页\s*(?:[>»＞›/]|&gt;)")

_QR_PROMPT = re.compile(r"扫一扫|二维码|扫码|用手机(?:看|浏览|打开)|手机(?:浏览|阅读|打开)(?:本页|当前页)")
_FOLLOW_US = re.compile(r"关注我们|关注(?:本站|本网)?(?:官方)?(?:微信|微博)|(?:官方)?微信公众号|官方微博")
_DISCLAIMER = re.compile(r"本文转载自|转载请注明|免责声明|版权归原作者|如有侵权|本网(?:站)?转载|不代表本(?:网|站)观点")
_FOOTER = re.compile(r"版权所有|ICP备|ICP证|网站标识码|公网安备|网站地图|主办单位|承办单位|技术支持|联系我们"
                     r"|Copyright|All Rights Reserved|广告(?:位|服务|合作|招商)|招租")
# a footer line can be long ('Copyright © 2020 某某网 All Rights Reserved 沪ICP备12345678号-1')
_FOOTER_LINE = re.compile(r"ICP备|ICP证|公网安备|All Rights Reserved|Copyright\s*©", re.I)
_FOOTER_LINE_MAX = 160
# an aggregator's greeting ('您好，欢迎来到某某范文网！')
_GREETING = re.compile(r"^(?:您好|你好)?[，,！!\s]*欢迎(?:您)?(?:来到|访问|光临)")
_PREV_NEXT = re.compile(r"^(?:上一篇|下一篇|上一条|下一条|上篇|下篇)\s*[:：]?")
_SHORT_CHROME = 40

# headings of blocks that follow the article: the heading and the lines after it are dropped.
# Only unmistakable chrome: 政策解读, 相关文件 or 相关政策 can be a report's own subheading.
_BLOCK_HEADING = re.compile(
    r"^[\[【]?\s*(?:附件下载|相关附件|附件列表|下载附件|相关解读|相关阅读|热门推荐|推荐阅读|相关链接|相关文章"
    r"|延伸阅读|相关新闻|相关稿件|热点推荐|猜你喜欢|更多阅读|相关报道"
    # an aggregator's blocks after a repost: recommendations, comments
    r"|相关推荐|为你推荐|精彩推荐|推荐文章|热门文章|热门阅读|最新文章|最新范文|大家都在看|网友评论|发表评论|全部评论"
    r"|最新评论|热门评论)\s*[\]】]?\s*(?:[（(]\d+[)）])?\s*[:：]?\s*$"
)
# a line that clearly belongs to the body again after such a block
_BODY_SENTENCE = re.compile(r"[。！？]\s*$")
_BODY_MIN = 30
_FILE_NAME = re.compile(r"\.(?:pdf|docx?|xlsx?|wps|ofd|zip|rar)\s*$", re.I)  # '2.统计表.xls'
# ... or a line of the report's own structure: a section heading ('三、', '（二）', '2.') or a
# table row. A heading such as 政策解读 inside a report must not swallow the sections after it.
_REPORT_STRUCTURE = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d{1,2}[、.．](?!\d))|.+ \| "
)

_ONLY_PUNCT = re.compile(r"^[\s\W_]*$")
_TABLE_ROW = re.compile(r"^\|.*\|$")


def _is_meta_line(line: str) -> bool:
    if len(line) > _MAX_META_LINE or _SENTENCE_END.search(line) or _CLAUSE.search(line):
        return False
    return bool(_META_LINE.match(line) or _DATE_THEN_META.match(line) or _LONE_DATETIME.match(line))


def _is_widget_line(line: str) -> bool:
    if len(line) > _SHORT_CHROME:
        return False
    rest = _WIDGET_PUNCT.sub("", _WIDGET_WORDS.sub("", line))
    return rest == "" and _WIDGET_WORDS.search(line) is not None


def _is_short_chrome(line: str) -> bool:
    if _BREADCRUMB.match(line) or _PREV_NEXT.match(line):
        return True
    if len(line) <= _FOOTER_LINE_MAX and (_FOOTER_LINE.search(line) or (_GREETING.match(line) and len(line) <= _SHORT_CHROME)):
        return True
    if _NAV_TRAIL.match(line) and len(line) <= 100:
        return True
    if len(line) > _SHORT_CHROME or _SENTENCE_END.search(line):
        return False
    return bool(
        _QR_PROMPT.search(line)
        or _FOLLOW_US.search(line)
        or _DISCLAIMER.search(line)
        or _FOOTER.search(line)
    )


def _is_noise(line: str) -> bool:
    return (
        _ONLY_PUNCT.match(line) is not None
        or _is_meta_line(line)
        or _is_widget_line(line)
        or _is_short_chrome(line)
    )


def _normalize_table_row(line: str) -> str:
    """'| 规章 | 0 |  | 12 |  |' -> '规章 | 0 |  | 12' (outer pipes and trailing empties go)."""
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    while cells and not cells[-1]:
        cells.pop()
    return " | ".join(cells)


def _drop_blocks(lines: list[str]) -> list[str]:
    """Drop related-reading / attachment blocks: the heading and what follows it, until a
    line that reads like a body sentence again."""
    kept: list[str] = []
    in_block = False
    for line in lines:
        if _BLOCK_HEADING.match(line):
            in_block = True
            continue
        if in_block:
            if (len(line) >= _BODY_MIN and _BODY_SENTENCE.search(line)) or (
                _REPORT_STRUCTURE.match(line) and not _FILE_NAME.search(line)
            ):
                in_block = False
            else:
                continue
        kept.append(line)
    return kept


def _clean_line(line: str) -> str:
    line = _BRACKET_WIDGET.sub("", line).strip()
    if _TABLE_ROW.match(line):
        line = _normalize_table_row(line)
    return _MULTI_SPACE.sub(" ", line)


# --------------------------------------------------------------------------- repost disclaimers
#
# Aggregators that repost a report end it (or start it) with their disclaimer: "声明：本文转载自
# …，文章为作者独立观点，不代表本站立场。如有侵权请联系删除。" The wording varies endlessly, the
# ideas do not: where the text came from (转载, 来源于网络, 网友投稿), whose view it is (不代表…立场),
# who owns it (版权归…所有), what to do if it infringes (侵权…删除), that it is for reference only,
# that the site bears no responsibility, that it only stores what users upload. A sentence that
# states two of these, or one after a 声明 heading, is the site speaking, not the report.

_DISCLAIMER_IDEAS = tuple(re.compile(pattern) for pattern in (
    # where it came from
    r"转载|转自|(?:来源|来)于(?:网络|互联网)|来自(?:网络|互联网)|网友(?:投稿|上传|发布|分享)"
    r"|用户(?:自发)?(?:贡献|上传|发布)|(?:由|经)[^，。；]{0,20}?(?:整理|收集|搜集)",
    # whose view
    r"不代表[^，。；]{0,20}?(?:观点|立场|看法|态度)|(?:独立|个人)观点|观点(?:仅|只)代表|文责自负",
    # who owns it
    r"版权归[^，。；]{0,20}?所有|版权(?:属于|归属)|著作权(?:归|属于)|不拥有(?:其)?所有权"
    r"|未经[^，。；]{0,8}?(?:许可|授权|同意)[^，。；]{0,8}?(?:不得|禁止|严禁)(?:转载|复制|使用|摘编)",
    # infringement, takedown
    r"(?:侵权|侵犯)[^。]{0,40}?(?:删除|联系|告知|处理|举报)|(?:联系|通知|告知)[^，。；]{0,12}?删除",
    # for reference only
    r"仅供(?:参考|学习|交流|阅读|借鉴|研究)",
    # no responsibility (denied, not taken: '本机关对…准确性负责' is a report's own sentence)
    r"不(?:承担|负)[^，。；]{0,12}?责任|(?:真实性|准确性|完整性)[^。]{0,20}?不(?:作|做|负|予)?(?:任何)?(?:保证|承诺|负责|证实)",
    # a storage service
    r"(?:仅|只)提供(?:信息)?存储空间|存储空间服务",
))
_ANY_IDEA = re.compile("|".join(f"(?:{idea.pattern})" for idea in _DISCLAIMER_IDEAS))
_DECLARATION = re.compile(r"^[\[【(（]?\s*(?:免责|版权|特别|郑重|重要|转载|本站|本网)?(?:声明|申明)\s*[\]】)）]?\s*[:：]?")
_SENTENCES = re.compile(r"[^。！？!?；;]*[。！？!?；;]*")


def _ideas(sentence: str) -> int:
    return sum(1 for idea in _DISCLAIMER_IDEAS if idea.search(sentence))


def _without_disclaimer(line: str) -> tuple[str, int]:
    """The line without its disclaimer sentences, and how many there were. After a 声明
    heading (at the start of the line or of a sentence in it) one idea is enough."""
    if not _ANY_IDEA.search(line):
        return line, 0  # most lines: one search instead of one per idea and sentence
    declared = False
    kept, dropped = [], 0
    for sentence in _SENTENCES.findall(line):
        if not sentence:
            continue
        declared = declared or _DECLARATION.match(sentence.strip()) is not None
        ideas = _ideas(sentence)
        if ideas >= 2 or (declared and ideas):
            dropped += 1
        else:
            kept.append(sentence)
    if not dropped:
        return line, 0
    rest = "".join(kept).strip()
    if _DECLARATION.fullmatch(rest):
        rest = ""  # the heading alone is left
    return rest, dropped


# --------------------------------------------------------------------------- metadata blocks
#
# Disclosure (xxgk) pages head the document with its catalogue record: 索引号, 主题分类,
# 发布机构, 成文日期, 文号, 名称 ... as a table ('索引号： | 1132…/2020-00012 | 主题分类： | 政务公开'),
# as 'label：value' lines, or as a label line followed by its value line (<dt>/<dd>). It
# describes the document; it is not its text. A run of such lines is dropped when it names
# at least two fields, one of them a field only such records have, or names an 索引号.

_RECORD_LABEL = (
    r"(?:信息)?索引号|(?:主题|信息|组配|体裁|服务对象|文种|公文种类|机构)分类"
    r"|(?:发布|发文|制发|成文|印发|公开责任|责任|所属|产生)(?:机构|机关|单位|部门)"
    r"|(?:生成|成文|发文|印发|生效|实施|施行|废止|失效|签发)(?:日期|时间)"
    r"|有效性|效力状态|时效性|发文字号|文件编号|统一编号|登记号|公开(?:方式|范围|形式|时限|类别|属性)"
)
_FIELD_LABEL = (
    rf"{_RECORD_LABEL}|(?:发文)?文号|(?:信息|文件|文档)?名称|标题|主题词|关键[词字]|内容概述|摘要"
    r"|(?:发布|公开|更新)(?:日期|时间)|(?:信息)?来源|编号|分类|语种"
)
_INDEX_NUMBER = re.compile(r"(?:信息)?索引号")
_IS_RECORD_LABEL = re.compile(rf"(?:{_RECORD_LABEL})")
# a line that starts with a field: 'label：value', 'label | value', 'label value', 'label'
# (trafilatura writes a <dl>/<li> item as '- item')
_FIELD_LINE = re.compile(rf"^(?:[-•*]\s+)?[\[【(（]?\s*({_FIELD_LABEL})(?:\s*[\]】)）]|\s*(?=[:：|]|\s|$))")
_LABEL_ONLY = re.compile(rf"^(?:[-•*]\s+)?[\[【(（]?\s*(?:{_FIELD_LABEL})\s*[\]】)）]?\s*[:：]?\s*$")
# further fields on the same line ('索引号：… 主题分类：政务公开', '… | 主题分类： | …')
_MORE_FIELDS = re.compile(rf"(?:^|[|\s])[\[【]?\s*({_FIELD_LABEL})\s*[\]】]?\s*(?=[:：|]|$)")
_VALUE_MAX = 80  # a value line after a label line is short (a title, a number, a date)


def _field_labels(line: str) -> set[str]:
    labels = {m.group(1) for m in _MORE_FIELDS.finditer(line)}
    first = _FIELD_LINE.match(line)
    if first:
        labels.add(first.group(1))
    return labels


def _metadata_runs(lines: list[str]) -> tuple[set[int], list[str]]:
    """Indexes of the lines that belong to a document's metadata block, and its labels."""
    drop: set[int] = set()
    named: list[str] = []
    i = 0
    while i < len(lines):
        if not _FIELD_LINE.match(lines[i]):
            i += 1
            continue
        run, labels, j = [], set(), i
        while j < len(lines) and _FIELD_LINE.match(lines[j]):
            run.append(j)
            labels |= _field_labels(lines[j])
            if (_LABEL_ONLY.match(lines[j]) and j + 1 < len(lines) and not _FIELD_LINE.match(lines[j + 1])
                    and len(lines[j + 1]) <= _VALUE_MAX):
                run.append(j + 1)  # the value of a label on a line of its own
                j += 1
            j += 1
        records = {label for label in labels if _IS_RECORD_LABEL.fullmatch(label)}
        if (len(labels) >= 2 and records) or any(_INDEX_NUMBER.fullmatch(label) for label in labels):
            drop.update(run)
            named.extend(label for label in dict.fromkeys(
                label for k in run for label in sorted(_field_labels(lines[k]), key=lines[k].find)))
        i = j
    return drop, named


@dataclass(frozen=True)
class Cleaned:
    """``clean``'s result: the text, and what was dropped that says something about the page."""

    text: str
    metadata_lines: int = 0  # lines of a document metadata block (索引号, 主题分类, 成文日期 ...)
    metadata_labels: tuple[str, ...] = ()  # the fields it named, in order
    disclaimers: int = 0  # sentences of a repost site's disclaimer (转载, 不代表…立场, 侵权删除 ...)


def clean(text: str) -> Cleaned:
    """Full cleanup of extractor output: simplified text, one paragraph per line."""
    if not text:
        return Cleaned("")
    text = normalize_chars(text)
    lines = [_clean_line(line) for line in text.split("\n")]
    lines = [line for line in lines if line]
    metadata, labels = _metadata_runs(lines)
    kept, disclaimers = [], 0
    for i, line in enumerate(lines):
        if i in metadata:
            continue
        line, dropped = _without_disclaimer(line)
        disclaimers += dropped
        if line and not _is_noise(line):
            kept.append(line)
    return Cleaned("\n".join(_drop_blocks(kept)), metadata_lines=len(metadata),
                   metadata_labels=tuple(dict.fromkeys(labels)), disclaimers=disclaimers)


def clean_text(text: str) -> str:
    """Full cleanup of extractor output: simplified text, one paragraph per line."""
    return clean(text).text

"""Who issued a report, as the report itself names it: the start of its title, else its first lines.

A column of annual reports can host other agencies' reports (a zone's column lists the city's
and the region's), and the title says whose each one is: "南宁市2019年政府信息公开工作年度报告"
on the zone's site is the city's. What is read here is the name as written (simplified,
without spaces and years); config/issuers.py decides which registry agency it is.

Pure functions on titles already normalised by crawler.classify (simplified, half-width digits,
Chinese-numeral years as digits, no spaces). None means no issuer is named: the report is the
hosting agency's.
"""

from __future__ import annotations

import re

__all__ = ["issuer_from_title", "issuer_from_text", "is_generic_issuer", "OPEN_GOV_PHRASE"]

# Where the report's subject starts; the issuer stands before it. The phrase must lead to the
# report's name ('...信息公开工作年度报告'), or a name such as 某市政务公开办公室 would be cut.
OPEN_GOV_PHRASE = re.compile(r"(?:政府信息公开|政务信息公开|政务公开|信息公开)"
                             r"(?=[^办局委厅室处中]{0,12}?(?:报告|年报))")
# Decoration before the issuer: a bracketed column name, a repost mark, the notice wrapping.
_LEADING = re.compile(
    r"^(?:【[^】]{0,30}】|\[[^\]]{0,30}\]|〔[^〕]{0,30}〕|转载|转发|转自|来源|关于|印发|公布|发布|[:：、\-—\s])+"
)
_YEARS = re.compile(r"[（(]?(?<!\d)(?:19|20)\d\d(?!\d)(?:年度|年)?[）)]?")
_TRAILING = re.compile(r"(?:关于|的|度|年|[（(][^）)]*[）)]?|[:：、,，\-—])+$")
# An issuer ends as an agency's or a place's name does.
_NAME_END = re.compile(
    r"(?:政府|办公厅|办公室|政府办|局|委|委员会|管委会|厅|部|署|院|办|中心|所|站|队|馆|处|会|社|行|"
    r"省|市|县|区|州|盟|旗|镇|乡|街道|苏木|本级|集团|公司|学校|大学|法院|检察院)$"
)
_CJK_NAME = re.compile(r"^[\u3400-\u9fff]{2,40}$")
# The host speaking of itself: the report is the host's.
_SELF = re.compile(r"^(?:本|我)(?:机关|单位|局|委|办|厅|院|部|署|中心|镇|乡|街道|县|区|市|府)$")
# Only words of level and kind, no name: a column ('市政府信息公开年报', '乡镇政府信息公开年报').
_GENERIC = re.compile(
    r"^(?:本|各|全|我)?(?:省|自治区|市|州|县|区|旗|乡镇|乡|镇|街道|市直|县直|区直|省直)?"
    r"(?:各)?(?:部门|直属单位|单位|机关)?(?:人民政府|政府|本级)?$"
)
# ... of which these still say whose a dated report is, relative to the host: '2019年度市本级
# ...' is the host's city's own report, wherever it is listed.
_RELATIVE_GOVERNMENT = re.compile(r"^(?:省|自治区|市|州|县|区|旗|乡|镇|街道)(?:人民政府|政府|本级)$")
# Opening lines that name the issuer: '由南宁市人民政府办公室编制', '现公布XX局2019年度...'
_TEXT_PATTERNS = (
    re.compile(r"由([\u3400-\u9fff（）()]{2,40}?)(?:负责)?(?:编制|编写|制作|起草)"),
    re.compile(r"现(?:将|予|向社会)?(?:公布|发布|予以公布)?([\u3400-\u9fff]{2,40}?)"
               r"(?:19|20)\d\d年度?(?:政府信息公开|政务公开|信息公开)"),
)
OPENING_LINES = 5
OPENING_CHARS = 400
HEADING_MAX = 60  # characters of an opening line that may be the title repeated


def _clean(name: str) -> str | None:
    name = _TRAILING.sub("", _YEARS.sub("", _LEADING.sub("", name)))
    name = re.sub(r"[（(]本级[）)]", "本级", name)
    name = re.sub(r"[（）()]", "", name)
    if not _CJK_NAME.match(name) or not _NAME_END.search(name) or _SELF.match(name):
        return None
    return name


def issuer_from_title(title: str) -> str | None:
    """The issuer a normalised title names before its subject ('2019年如东县住房和城乡建设局
    政府信息公开...' -> '如东县住房和城乡建设局'; '2019年度市本级...' -> '市本级', the host's
    city); None when it names none, or only a kind of agency ('县直部门')."""
    title = _LEADING.sub("", title or "")
    # '南宁市人民政府信息公开...' is 南宁市人民政府 + 信息公开, not 南宁市人民 + 政府信息公开:
    # the first place where what stands before is a name wins.
    for match in OPEN_GOV_PHRASE.finditer(title):
        for start in (match.start(), match.start() + (2 if match.group().startswith("政府") else 0)):
            before = title[:start]
            if not _YEARS.sub("", before).strip():
                return None  # nothing but a year before the subject
            name = _clean(before)
            if name:
                return None if is_generic_issuer(name) and not _RELATIVE_GOVERNMENT.match(name) else name
    return None


def is_generic_issuer(name: str | None) -> bool:
    """Only level and kind words ('市政府', '乡镇政府', '县直部门'): no agency is named, or
    only one relative to the site ('市本级'). A column's name, when no year goes with it."""
    return bool(_GENERIC.match(name or ""))


def issuer_from_text(text: str, title_of) -> str | None:
    """The issuer named in the first lines of a report's text, or None.

    title_of: normalises an opening line as titles are (classify's normaliser). A short line
    that repeats a report title with an issuer names it; so do '由...编制' and '现公布...YYYY年度
    政府信息公开...'. The host speaking of itself (本局, 我委) names no other issuer.
    """
    lines = [line for line in (text or "").split("\n") if line.strip()][:OPENING_LINES]
    for line in lines:
        line = title_of(line)
        if len(line) <= HEADING_MAX and OPEN_GOV_PHRASE.search(line) and re.search(r"报告|年报", line):
            name = issuer_from_title(line)
            if name:
                return name
    opening = title_of("\n".join(lines))[:OPENING_CHARS]
    for pattern in _TEXT_PATTERNS:
        match = pattern.search(opening)
        if match:
            name = _clean(match.group(1))
            if name and (not is_generic_issuer(name) or _RELATIVE_GOVERNMENT.match(name)):
                return name
            return None  # it names the issuer as the host itself ('由本局编制')
    return None

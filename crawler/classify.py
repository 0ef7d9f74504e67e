"""Is it a report, which kind, which year, which date: pure functions on titles and pages.

Why: listings on government portals mix the annual reports on open government information
(政府信息公开工作年度报告, the thing nianbao monitors) with look-alikes (工作要点, 落实情况报告,
解读, 统计表, 企业年度报告公示 ...) and navigation links (政府信息公开年报 as a column name).
Titles are the cheapest signal, so the rules work on titles first and on the opening of the
text only where a title says nothing.  Traditional titles are converted with OpenCC first.

Dates: see crawler/dates.py (the date a page prints beats its meta tags; never the URL's).

Whose report: the issuer a title names (crawler/issuer.py). A title that names neither a year
nor an agency ('政府信息公开年报', '市政府信息公开年报', '乡镇政府信息公开年度报告') is the name
of a column, not a report.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from nianbao.crawler.cleanup import to_simplified
# Dates have their own module (every date a page gives, and which one counts); these names stay
# importable from here.
from nianbao.crawler.dates import page_published_date, parse_date, published_date_from_tree
from nianbao.crawler.issuer import is_generic_issuer, issuer_from_text, issuer_from_title

__all__ = [
    "ANNUAL_REPORT",
    "OTHER",
    "REPORT_KINDS",
    "is_report_link",
    "classify_title",
    "report_year",
    "parse_date",
    "page_published_date",
    "published_date_from_tree",
    "title_issuer",
    "text_issuer",
]

ANNUAL_REPORT = "annual_report"
OTHER = "other"
REPORT_KINDS = (ANNUAL_REPORT, OTHER)

FIRST_YEAR = 2000

# --------------------------------------------------------------------------- normalizing

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_CN_DIGITS = {"〇": "0", "○": "0", "零": "0", "Ｏ": "0", "O": "0", "o": "0", "◯": "0",
              "一": "1", "二": "2", "三": "3", "四": "4", "五": "5",
              "六": "6", "七": "7", "八": "8", "九": "9"}
# '二〇一九年' / '二○一九年度' / '二零一九年': four Chinese digits right before 年
_CN_YEAR = re.compile(r"([二一][〇○零Ｏ◯O一二三四五六七八九]{3})(?=年)")
_SPACES = re.compile(r"\s+")


def _cn_year_to_digits(match: re.Match[str]) -> str:
    return "".join(_CN_DIGITS[ch] for ch in match.group(1))


def _normalize(title: str) -> str:
    """Simplified, half-width digits, Chinese-numeral years as digits, no spaces."""
    text = to_simplified(title or "").translate(_FULLWIDTH_DIGITS)
    text = _CN_YEAR.sub(_cn_year_to_digits, text)
    return _SPACES.sub("", text)


def _max_year() -> int:
    return _dt.date.today().year


def _plausible(year: int) -> bool:
    return FIRST_YEAR <= year <= _max_year()


# --------------------------------------------------------------------------- titles

_YEAR_IN_TITLE = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_OPEN_GOV = re.compile(r"政府信息公开|政务信息公开|政务公开|信息公开|政府信息")
_REPORTISH = re.compile(r"报告|年报")
_TRUNCATED = re.compile(r"(?:\.{2,}|…+|。。+)$")
# an agency name before the phrase, for titles without a year ('XX局政府信息公开工作年度报告')
_AGENCY_PREFIX = re.compile(
    r"[\u4e00-\u9fff]{2,}(?:局|委|委员会|办|办公室|厅|部|署|院|府|政府|会|县|市|区|州|盟|旗|镇|乡|街道|中心|所|站|队|馆|处|公司)"
    r"(?:关于)?(?:政府信息公开|政务公开|信息公开)"
)

_OTHER_TITLE = re.compile(
    r"要点|落实情况|工作计划|实施方案|工作方案|工作总结|通知|通报|解读|图解|一图读懂|问答|答记者问"
    r"|统计表|报表|企业.{0,8}?(?:年度报告|年报)|年度报告公示|年报公示|评估|考核|测评|征求.{0,40}?意见|意见稿"
)
_ANNUAL_TITLE = re.compile(
    r"(?:政府信息公开|政务信息公开|政务公开|信息公开).{0,16}?(?:年度报告|年报|年度工作报告)"
    r"|年度(?:政府信息公开|政务公开|信息公开).{0,8}?报告"
)
# '政府信息公开工作报告' / '政府信息公开工作情况报告' count only with a year
_WORK_REPORT = re.compile(r"(?:政府信息公开|政务公开|信息公开)(?:工作)?(?:情况)?报告")


def title_issuer(title: str) -> str | None:
    """The issuer a title names before its subject, simplified ('南宁市', '市本级'), or None."""
    return issuer_from_title(_normalize(title))


def text_issuer(text: str) -> str | None:
    """The issuer a report's first lines name ('由南宁市人民政府办公室编制'), or None."""
    return issuer_from_text(text, _normalize)


def _names_an_agency(text: str) -> bool:
    """A normalised title without a year is a report only when it names an agency
    ('如东县住房和城乡建设局政府信息公开工作年度报告'); '市政府信息公开年报' names a column."""
    if _AGENCY_PREFIX.search(text) is None:
        return False
    issuer = issuer_from_title(text)
    return issuer is not None and not is_generic_issuer(issuer)


def is_report_link(anchor_text: str) -> bool:
    """Listing level: is a link with this text worth fetching as a (possible) report?

    True for anything that looks like a report on open government information for a given
    year or of a named agency, including ones later classified OTHER; False for column links
    that name neither ('政府信息公开年报', '市政府信息公开年报'), navigation ('首页', '更多>>').
    """
    text = _normalize(anchor_text)
    if not text or not _OPEN_GOV.search(text):
        return False
    has_year = any(_plausible(int(y)) for y in _YEAR_IN_TITLE.findall(text))
    if _REPORTISH.search(text):
        return has_year or _names_an_agency(text)
    # a truncated listing title: '2019年如东县住房和城乡建设局政府信息...'
    return has_year and _TRUNCATED.search(text) is not None


# Where the subject of a title starts: the agency's name before it may contain words such as
# 考核 or 评估 ('XX市考核办2019年政府信息公开工作年度报告') that say nothing about the document.
_SUBJECT_START = re.compile(r"(?:19|20)\d\d|政府信息公开|政务信息公开|政务公开|信息公开|关于")
# an interpretation of a report, wherever the word stands ('图解：2019年...年度报告')
_DERIVED_WORK = re.compile(r"图解|一图读懂|解读|问答")
# '(含统计表)', '（附件）': what a report includes, not what it is
_INCLUDES = re.compile(r"[（(](?:含|附)[^）)]{0,20}[）)]")
# '关于印发2019年政府信息公开工作年度报告的通知': the notice *is* the report's publication
_ISSUING_NOTICE = re.compile(r"(?:印发|公布|发布)(.{0,40}?(?:年度报告|年报))的通知$")


def _subject(text: str) -> str:
    start = _SUBJECT_START.search(text)
    subject = _INCLUDES.sub("", text[start.start():] if start else text)
    issuing = _ISSUING_NOTICE.search(subject)
    return issuing.group(1) if issuing else subject


def classify_title(title: str) -> str:
    """ANNUAL_REPORT for the yearly report on open government information, else OTHER."""
    text = _normalize(title)
    if not text or _OTHER_TITLE.search(_subject(text)) or _DERIVED_WORK.search(text):
        return OTHER
    if _ANNUAL_TITLE.search(text):
        # without a year, only a named agency's report is one; else it names the column
        has_year = any(_plausible(int(y)) for y in _YEAR_IN_TITLE.findall(text))
        return ANNUAL_REPORT if has_year or _names_an_agency(text) else OTHER
    if _WORK_REPORT.search(text) and _YEAR_IN_TITLE.search(text):
        return ANNUAL_REPORT
    return OTHER


# --------------------------------------------------------------------------- years

# year followed by 年度 (strongest), by 年, or standing alone ('年报（2019）')
_YEAR_CANDIDATE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)(年度|年)?")
_REPORT_WORD = re.compile(r"政府信息公开|政务公开|信息公开|年度报告|年报|工作报告")
_TEXT_WINDOW = 300
_TEXT_YEAR_STATEMENTS = (
    re.compile(r"((?:19|20)\d\d)年度?[^。；;，,]{0,30}?(?:政府信息公开|政务公开|信息公开)[^。]{0,16}?(?:报告|年报)"),
    re.compile(r"现将((?:19|20)\d\d)年度?[^。]{0,24}?(?:报告|公布|如下)"),
    re.compile(r"统计期限?(?:为|是|自|从)?((?:19|20)\d\d)年1月1日"),
    re.compile(r"本(?:年度)?报告[^。]{0,30}?((?:19|20)\d\d)年"),
)


def _year_from_title(title: str) -> int | None:
    text = _normalize(title)
    found = [(int(m.group(1)), m.group(2) or "", m.start()) for m in _YEAR_CANDIDATE.finditer(text)]
    found = [f for f in found if _plausible(f[0])]
    if not found:
        return None
    for year, suffix, _ in found:
        if suffix == "年度":
            return year
    report_at = _REPORT_WORD.search(text)
    if report_at:
        before = [f for f in found if f[2] < report_at.start()]
        if before:
            return before[-1][0]  # the year closest before the report phrase
    with_nian = [f for f in found if f[1]]
    return (with_nian or found)[0][0]


def _year_from_text(text: str) -> int | None:
    head = _normalize(text[: _TEXT_WINDOW * 2])[:_TEXT_WINDOW]
    for pattern in _TEXT_YEAR_STATEMENTS:
        match = pattern.search(head)
        if match and _plausible(int(match.group(1))):
            return int(match.group(1))
    return None


def report_year(title: str, text: str | None = None) -> int | None:
    """The year a report covers, from its title, else from a clear statement in the text."""
    year = _year_from_title(title or "")
    if year is None and text:
        year = _year_from_text(text)
    return year


# --------------------------------------------------------------------------- year attribution
#
# A title's year is what a report claims to cover, and it usually is. But reports exist whose
# title names the year of publication: "2009年度政府信息公开工作报告", published in early 2009,
# reporting figures "截至2008年12月31日". Counting it for 2009 would mark 2008 missing and 2009
# on time, both wrongly. The rule:
#   - the title's year counts;
#   - unless the text states its statistics period as one single other year P ("截至P年12月31日",
#     "P年1月1日至P年12月31日", "统计期限自P年1月1日...") AND the report was published in P+1
#     (what the law requires of a report for P) AND the title names P+1. Then P counts.
# Both years are kept (reports.title_year, reports.text_year) with year_basis saying which won,
# so a person can always see and overrule the attribution.

_PERIOD_STATEMENTS = (
    re.compile(r"截(?:至|止)(?:到)?\s*((?:19|20)\d\d)\s*年\s*(?:12\s*月\s*31\s*日|底|末)"),
    re.compile(r"((?:19|20)\d\d)\s*年\s*1\s*月\s*1\s*日\s*(?:起)?\s*(?:至|到|—|－|-)\s*(?:\1\s*年\s*)?12\s*月\s*31\s*日"),
    re.compile(r"统计期限?(?:为|是|自|从)?\s*((?:19|20)\d\d)\s*年\s*1\s*月\s*1\s*日"),
)


@dataclass(frozen=True)
class YearAttribution:
    year: int | None  # the year the report is counted for
    title_year: int | None  # the year its title names
    text_year: int | None  # the single year its text's statistics period names
    basis: str | None  # 'title' or 'text': where `year` came from


def period_year(text: str) -> int | None:
    """The one year the text says its statistics cover; None if it names none or several."""
    normalized = _normalize(text or "")
    years = {int(m.group(1)) for pattern in _PERIOD_STATEMENTS for m in pattern.finditer(normalized)}
    years = {year for year in years if _plausible(year)}
    return years.pop() if len(years) == 1 else None


def attribute_year(title: str, text: str | None, published_date: str | None) -> YearAttribution:
    """Decide the year a report counts for (the rule above)."""
    title_year = _year_from_title(title or "")
    text_year = period_year(text or "")
    if title_year is None:
        year = report_year("", text) if text else None
        return YearAttribution(year or text_year, None, text_year, "text" if (year or text_year) else None)
    published_year = int(published_date[:4]) if published_date else None
    if (
        text_year is not None
        and text_year != title_year
        and title_year == text_year + 1
        and published_year == text_year + 1
    ):
        return YearAttribution(text_year, title_year, text_year, "text")
    return YearAttribution(title_year, title_year, text_year, "title")

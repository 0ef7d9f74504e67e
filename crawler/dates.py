"""When was a report published: every date a page gives, where it gives it, and which one counts.

On-time and late verdicts rest on this date, and pages give several that disagree:

- **printed**: the date the page prints in its own article info block (发布日期, 发布时间,
  发表时间, 公开日期, or a bare 日期/时间 label). What a reader of the page sees.
- **meta**: a ``PubDate``-like meta tag. Often the same; but a site migration re-imports pages
  and stamps its own time there (seen: meta 2022-04-24 on a page printing 发布日期：2017-05-15),
  and some differ from the printed date by weeks. ``Maketime`` (Hanweb's page-generation
  time: a 2016 article carries Maketime 2019-03-22) ranks below the listing's date.
- **listing**: the date beside the report's link in the agency's listing.
- **written**: 成文日期, 发文日期, 生成日期, 印发日期, 签发日期: when the document was written or
  generated, not when it was published. Kept as evidence, used only when nothing else dates
  the report (basis 'written' says so).
- otherwise the monitor takes the day nianbao first saw the report ('first_seen', not here).

So: printed > meta > listing > Maketime > written. Every candidate is kept
(``reports.date_evidence``), so a person can see what disagreed and why one won. Never the
URL's date: a TRS page named t20181102 was published 2018-03-26.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import lxml.etree
import lxml.html

from nianbao.crawler.cleanup import to_simplified

__all__ = [
    "PRINTED", "META", "LISTING", "WRITTEN", "DATE_BASES", "DateEvidence",
    "parse_date", "page_date_evidence", "listing_evidence", "choose_date",
    "published_date_from_tree", "page_published_date",
]

PRINTED = "printed"
META = "meta"
LISTING = "listing"
WRITTEN = "written"
DATE_BASES = (PRINTED, META, LISTING, WRITTEN)  # reports.published_basis, besides first_seen
MAX_EVIDENCE = 12  # candidates kept per page: enough for any info block, bounded on junk pages

_FULLWIDTH = str.maketrans("０１２３４５６７８９：－／．", "0123456789:-/.")
_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*[-/.－／．年]\s*(\d{1,2})\s*[-/.－／．月]\s*(\d{1,2})(?!\d)\s*日?"
)
_COMPACT_DATE = re.compile(r"((?:19|20)\d\d)(\d\d)(\d\d)(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")


def _iso(year: str, month: str, day: str) -> str | None:
    try:
        return _dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def parse_date(value: str) -> str | None:
    """Any date string seen on portals -> 'YYYY-MM-DD'; None when absent or impossible.

    '2014-12-25 00:00', '2020年01月15日', '2020/1/5', '2020.01.05', '2019-09-18T06:23:00+08:00';
    a bare '20200105' only when it is the whole value.
    """
    if not value:
        return None
    text = value.strip().translate(_FULLWIDTH)
    match = _DATE.search(text)
    if match:
        return _iso(*match.groups())
    match = _COMPACT_DATE.fullmatch(text)
    if match:
        return _iso(*match.groups())
    return None


@dataclass(frozen=True)
class DateEvidence:
    """One date a page or its listing gives. source: one of DATE_BASES; label: where exactly
    (the printed label such as '发布日期', the meta's name such as 'PubDate', 'listing')."""

    source: str
    date: str
    label: str

    def to_json(self) -> dict:
        return {"source": self.source, "date": self.date, "label": self.label}


# meta names in order of trust; compared lower-cased, on name= / property= / itemprop=
_STRONG_META = (
    "pubdate", "publishdate", "publish_date", "publishtime", "firstpublishedtime",
    "article:published_time", "og:published_time", "datepublished",
    "dc.date.issued", "dc.date.created", "dc.date", "dcterms.issued", "dcterms.created",
    "dcterms.date", "date", "lastmodifiedtime",
)
_WEAK_META = ("maketime", "article:modified_time", "dc.date.modified")
_META_XPATH = "//meta[@content][@name or @property or @itemprop or @http-equiv]"
_META_ATTRS = ("name", "property", "itemprop", "http-equiv")

_DATE_VALUE = r"((?:19|20)\d\d\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2})"
# A printed publication date; a bare 日期/时间 needs its colon and no word before it (生成日期,
# 更新时间 and 会议时间 are not publication dates).
_PRINTED_LABEL = (r"发布日期|发布时间|发表日期|发表时间|公开日期|公开时间|公布日期|公布时间"
                  r"|(?<![\u4e00-\u9fff])(?:日期|时间)(?=\s*[:：])")
_WRITTEN_LABEL = r"成文日期|成文时间|发文日期|发文时间|生成日期|印发日期|签发日期"
_LABELLED_DATE = re.compile(
    rf"(?:(?P<printed>{_PRINTED_LABEL})|(?P<written>{_WRITTEN_LABEL}))\s*[:：]?\s*{_DATE_VALUE}"
)
_VISIBLE_TEXT = "//body//text()[not(ancestor::script) and not(ancestor::style) and not(ancestor::noscript)]"
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


def _meta_evidence(tree) -> list[DateEvidence]:
    found: dict[str, DateEvidence] = {}
    for meta in tree.xpath(_META_XPATH):
        for attr in _META_ATTRS:
            name = (meta.get(attr) or "").strip()
            key = name.lower()
            if key in _STRONG_META or key in _WEAK_META:
                date = parse_date(meta.get("content", ""))
                if date and key not in found:
                    found[key] = DateEvidence(META, date, name)
    order = _STRONG_META + _WEAK_META
    return [found[key] for key in order if key in found]


def _printed_evidence(tree) -> list[DateEvidence]:
    text = " ".join(t.strip() for t in tree.xpath(_VISIBLE_TEXT) if t.strip())
    text = to_simplified(text).translate(_FULLWIDTH)
    found: list[DateEvidence] = []
    for match in _LABELLED_DATE.finditer(text):
        date = parse_date(match.group(3))
        if date is None:
            continue
        source = PRINTED if match.group("printed") else WRITTEN
        label = match.group("printed") or match.group("written")
        evidence = DateEvidence(source, date, label)
        if evidence not in found:
            found.append(evidence)
        if len(found) >= MAX_EVIDENCE:
            break
    return found


def page_date_evidence(tree) -> list[DateEvidence]:
    """Every date the parsed page gives: printed and written labels in page order, then metas
    in order of trust."""
    return _printed_evidence(tree) + _meta_evidence(tree)


def listing_evidence(listing_date: str | None) -> list[DateEvidence]:
    date = parse_date(listing_date or "")
    return [DateEvidence(LISTING, date, "listing")] if date else []


def _rank(evidence: DateEvidence) -> int:
    if evidence.source == PRINTED:
        return 0
    if evidence.source == META and evidence.label.lower() in _STRONG_META:
        return 1
    if evidence.source == LISTING:
        return 2
    if evidence.source == META:
        return 3  # Maketime and other modification times
    return 4  # written


def choose_date(evidence: list[DateEvidence]) -> tuple[str | None, str | None]:
    """(date, basis) of the candidate that counts (see the module docstring); (None, None)."""
    if not evidence:
        return None, None
    best = min(enumerate(evidence), key=lambda pair: (_rank(pair[1]), pair[0]))[1]
    return best.date, best.source


def published_date_from_tree(tree) -> str | None:
    """The page's own publication date (printed, meta, Maketime, written), never the URL's."""
    return choose_date(page_date_evidence(tree))[0]


def page_published_date(html: str) -> str | None:
    """``published_date_from_tree`` of an HTML text."""
    if not html or not html.strip():
        return None
    try:
        tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", html, count=1))
    except (ValueError, lxml.etree.ParserError):
        return None
    return published_date_from_tree(tree)

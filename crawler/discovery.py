"""Discovery: find the annual-report column under a site root or a disclosure page.

A source written `{url: ..., discover: true}` names a page above the column (the site's home,
its 政府信息公开 page). The column is found by the words of the links and their URLs:

- link text: 政府信息公开工作年度报告 / 信息公开年报 / 年度报告 / 年报 ... (the strongest sign);
- URL: ndbg, zfxxgknb, xxgknb, gknb, nianbao ... (a weaker sign: text beats URL);
- links that name a work plan (工作要点, 计划, 解读 ...) or an enterprise's annual report are
  not the column; a link to one report (it names a year or an agency: `is_report_link`) is a
  report, not a column;
- a disclosure link (信息公开, 政务公开, xxgk, zwgk, gkml) is only followed, up to
  NIANBAO_DISCOVERY_DEPTH links away from the source.

Every candidate column is fetched and read as a listing: only a page that lists reports is a
column (its score grows with the reports it lists, up to a cap), so a column beats a single
report and beats a page that merely mentions 年报. The best one is recorded in report_columns
(storage/columns.py) and used from then on; the crawler discovers again only when that
column keeps failing (see ReportsSpider).

Pure functions here; the spider drives the requests (one `Search` per source being searched).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urldefrag

from scrapy.http import TextResponse

from nianbao.crawler.classify import ANNUAL_REPORT, classify_title, is_report_link
from nianbao.crawler.cleanup import to_simplified
from nianbao.crawler.listings import Listing

# Link text naming the column of annual reports on open government information.
_COLUMN_TEXT = (
    (re.compile(r"政府信息公开(?:工作)?年度报告|政务公开(?:工作)?年度报告"), 12.0, "text names the annual reports on open government information"),
    (re.compile(r"(?:政府|政务)?信息公开(?:工作)?年报|公开年报|信息公开(?:工作)?报告"), 11.0, "text names the open-information annual reports"),
    (re.compile(r"年度报告|年报"), 8.0, "text names annual reports"),
)
# URL words of such columns (path and query, lower case).
_COLUMN_URL = re.compile(r"zfxxgkndbg|zfxxgknb|xxgkndbg|xxgknb|gknb|ndbg|nianbao|annual_?report|gkndbg")
COLUMN_URL_SCORE = 5.0
# Not the column, whatever else the link says.
_NOT_COLUMN = re.compile(r"工作要点|要点|工作计划|计划|方案|解读|图解|问答|统计表|企业年报|企业年度报告|年报公示|"
                         r"年度报表|报表|工作总结|述职|党建|预算|决算")
# Pages on the way to the column: disclosure sections of a portal.
_DISCLOSURE_TEXT = re.compile(r"政府信息公开|信息公开|政务公开|公开目录|法定主动公开|信息公开指南")
_DISCLOSURE_URL = re.compile(r"xxgk|zwgk|gkml|zfxxgk|xxgkml|opennessdir|gongkai")
# A column must list reports; each listed report adds this much, up to REPORTS_CAP of them.
PER_REPORT = 1.0
REPORTS_CAP = 8
# How many candidate columns and disclosure pages to fetch from one page (most promising first).
MAX_COLUMN_PROBES = 6
MAX_FOLLOW = 4
_SKIPPED = ("javascript:", "mailto:", "tel:", "#", "data:")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class Candidate:
    """A link that may be the column (score > 0) or leads towards it (follow)."""

    url: str
    text: str
    score: float
    reason: str
    follow: bool = False


@dataclass
class Search:
    """One discovery under one source: what is in flight, what was seen, what was confirmed."""

    agency_id: str
    source: str
    depth: int
    rediscovery: bool = False
    pending: int = 0
    seen: set[str] = field(default_factory=set)
    confirmed: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # candidate columns on hosts outside the agency's origins (not fetched)
    refused: list[Candidate] = field(default_factory=list)

    def best(self) -> Candidate | None:
        if not self.confirmed:
            return None
        # highest score; on a tie the shorter URL (a column's own page, not its page 2)
        return max(self.confirmed, key=lambda c: (c.score, -len(c.url)))


def page_links(response: TextResponse) -> list[Link]:
    """Every http(s) link of a page with its text (or title attribute), fragments dropped."""
    links = []
    for anchor in response.xpath("//a[@href]"):
        href = anchor.attrib["href"].strip()
        if not href or href.lower().startswith(_SKIPPED):
            continue
        try:
            url = urldefrag(response.urljoin(href))[0]
        except ValueError:
            continue
        if not url.startswith(("http://", "https://")):
            continue
        text = _SPACES.sub("", " ".join(anchor.xpath(".//text()").getall()))
        title = _SPACES.sub("", anchor.attrib.get("title", ""))
        links.append(Link(url, title if len(title) > len(text) else text))
    return links


def judge_link(link: Link) -> Candidate | None:
    """What a link is to discovery: a candidate column, a page to follow, or nothing."""
    text = to_simplified(link.text)
    where = urlsplit(link.url)
    path = (where.path + "?" + where.query).lower()
    if _NOT_COLUMN.search(text):
        return None
    if text and is_report_link(text):
        return None  # one report (it names a year or an agency), not the column
    score, reasons = 0.0, []
    for pattern, points, why in _COLUMN_TEXT:
        if pattern.search(text):
            score, reasons = points, [why]
            break
    if _COLUMN_URL.search(path):
        score += COLUMN_URL_SCORE
        reasons.append("URL names annual reports")
    if score > 0:
        return Candidate(link.url, text, score, "; ".join(reasons))
    if _DISCLOSURE_TEXT.search(text) or _DISCLOSURE_URL.search(path):
        return Candidate(link.url, text, 0.0, "a disclosure page", follow=True)
    return None


def candidates(links: list[Link], allowed, refused: list[Candidate] | None = None
               ) -> tuple[list[Candidate], list[Candidate]]:
    """(candidate columns, pages to follow) among a page's links, most promising first, each
    URL once; `allowed(url)` says whether the agency's crawl may go there. Candidate columns
    it may not go to are added to `refused` (the user may add their host to `domains`)."""
    columns: dict[str, Candidate] = {}
    follow: dict[str, Candidate] = {}
    for link in links:
        candidate = judge_link(link)
        if candidate is None:
            continue
        if not allowed(link.url):
            if refused is not None and not candidate.follow:
                refused.append(candidate)
            continue
        target = follow if candidate.follow else columns
        kept = target.get(candidate.url)
        if kept is None or candidate.score > kept.score:
            target[candidate.url] = candidate
    by_score = sorted(columns.values(), key=lambda c: -c.score)
    return by_score[:MAX_COLUMN_PROBES], list(follow.values())[:MAX_FOLLOW]


def reports_listed(listing: Listing, page_url: str) -> int:
    """How many entries of a listing are annual reports by their titles (a column lists
    them; a column of 工作要点落实情况报告 lists report-like links that are not)."""
    return sum(1 for entry in listing.entries
               if entry.url != page_url and (entry.is_report or classify_title(entry.title) == ANNUAL_REPORT))


def column_score(candidate: Candidate, reports: int) -> Candidate:
    """The candidate confirmed as a column listing `reports` reports."""
    counted = min(reports, REPORTS_CAP)
    return Candidate(candidate.url, candidate.text, candidate.score + counted * PER_REPORT,
                     f"{candidate.reason}; lists {reports} report(s)")


# A recorded column that answers like this is gone (a redesign), not having a bad day: a soft
# 404, a redirect to the home page, a page that is no listing at all, another page's template.
# Block pages, challenges, empty or undecodable answers are transient: they count nothing.
_GONE_PROBLEMS = ("redirected to", "soft 404", "no list entries", "another page")


def column_gone(problem: str) -> bool:
    return problem.startswith(_GONE_PROBLEMS)

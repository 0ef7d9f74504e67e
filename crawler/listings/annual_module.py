"""Dedicated annual-report modules: lists that hold nothing but annual reports.

Seen as `/openness/OpennessAnnualReport/...` list pages linking to
`/openness/OpennessAnnualReport/show/NNNN.html`. Their rows name a year ("2019年度") and the
agency, or only say "查看": no title that reads as a report, so the title check would fetch
none of them. By page shape: a listing whose path names an annual-report module, linking to
show pages inside the same module. Those entries are reports (`Entry.is_report`); when the
link's text gives no year, the row's text (year, agency) is the entry's title.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from nianbao.crawler.listings.links import parse_anchors
from nianbao.crawler.listings.model import Entry, Listing

# A path segment naming an annual-report module: OpennessAnnualReport, annualReport, annual_report.
MODULE_RE = re.compile(r"/([^/]*annual_?report[^/]*)/", re.I)
# A show (detail) page of the module: /show/1234.html, /detail/1234, /view?id=1234
SHOW_RE = re.compile(r"/(?:show|detail|view|content)(?:/|\.\w+|\?)|[?&]id=\d+", re.I)
YEAR_RE = re.compile(r"(?:19|20)\d\d")
WHITESPACE_RE = re.compile(r"\s+")


def parse(response: TextResponse) -> Listing:
    module = MODULE_RE.search(urlsplit(response.url).path + "/")
    if not module:
        return Listing()
    name = module.group(1).lower()
    anchors = {}
    for anchor in response.xpath("//a[@href]"):
        try:
            anchors.setdefault(response.urljoin(anchor.attrib["href"].strip()), anchor)
        except ValueError:
            continue
    listing = Listing()
    for entry in parse_anchors(response.selector, response.urljoin, response.url).entries:
        parts = urlsplit(entry.url)
        there = MODULE_RE.search(parts.path + "/")
        if not there or there.group(1).lower() != name or not SHOW_RE.search(f"{parts.path}?{parts.query}"):
            continue
        title = entry.title
        if not YEAR_RE.search(title) and entry.url in anchors:
            title = _row_text(anchors[entry.url]) or title
        listing.entries.append(Entry(entry.url, title, entry.date, is_report=True))
    return listing


def _row_text(anchor) -> str:
    rows = anchor.xpath("ancestor::*[self::tr or self::li or self::dd][1]")
    if not rows:
        return ""
    text = WHITESPACE_RE.sub(" ", " ".join(rows[0].xpath(".//text()").getall())).strip()
    return re.sub(r"(?:19|20)\d\d-\d\d-\d\d", "", text).strip()

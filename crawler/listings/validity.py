"""Is a listing page that answered 200 really the agency's listing?

A crawl counts as complete for an agency (so that `missing` can be raised) only when every
listing page was read as a listing. Portals answer faults with 200: a rate limiter's page, an
empty body, binary junk, "页面不存在" in the site frame, a redirect to the home page. Such a page
must count as a failed listing fetch, with a reason a person can read.

A page is a listing when it has list entries that look like articles or a pager, or says its
list is empty (暂无信息), or has the same template as the last good fetch of the same URL (a
column that shows no entries on purpose). Entries count when a row has a date or names a
report, or when there are at least FEW_ENTRIES titles long enough to be articles: an article
page has a link or two of that kind too ("相关阅读"), and an article page is what a portal
serves at a listing's URL when its routing breaks. Where the listing was read before, a page
with a few entries that no longer has its template is not the listing either.

A JSON or XML reply (gkmlpt's API, Hanweb's data proxy) is data, not a page: it is a listing
when a family read entries or further pages from it, or its data says the list is empty
(`Listing.says_empty`). The HTML checks do not apply to it (a JSON number 404 is not a soft
404), and an HTML block page never reads as data, so those checks lose nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scrapy.http import Response, TextResponse, XmlResponse

from nianbao.crawler.classify import is_report_link
from nianbao.crawler.listings.gkmlpt import json_reply
from nianbao.crawler.listings.model import Listing
from nianbao.crawler.page_kinds import is_empty_list, page_fault, page_text, redirected_home, undecodable

# An entry whose title is at least this long is an article, not a navigation link (首页, 机构概况).
ARTICLE_TITLE_CHARS = 10
# With fewer article-like entries than this, a page showing fault markers is a fault page.
FEW_ENTRIES = 3
# Share of template classes two fetches of a listing must share to be "the same page".
SAME_TEMPLATE = 0.8
MAX_SIGNATURE_ELEMENTS = 3000
# XML data: a declaration, or Hanweb's <datastore> root. A page that opens with any other tag
# is HTML (a block page may well start with <h1>), and so is anything holding <html>.
XML_START = re.compile(r"^\s*(?:<\?xml\b|<datastore\b)", re.I)


@dataclass(frozen=True)
class ListingShape:
    """What a good fetch of a listing page looked like."""

    entries: int  # article-like entries
    pages: int  # further listing pages found (pager)
    signature: frozenset[str]  # the template: the page's tag.class and tag#id names


def article_entries(listing: Listing) -> int:
    return sum(
        1 for entry in listing.entries
        if entry.date or entry.is_report or len(entry.title) >= ARTICLE_TITLE_CHARS
        or is_report_link(entry.title)
    )


def data_kind(response: TextResponse) -> str | None:
    """'json' or 'xml' when the body is data rather than an HTML page, else None."""
    if json_reply(response) is not None or response.selector.type == "json":
        return "json"
    head = response.text[:2000]
    if (isinstance(response, XmlResponse) or XML_START.match(head)) and "<html" not in head.lower():
        return "xml"
    return None


def listed_entries(listing: Listing) -> int:
    """Entries only a list has: a row with a date, or a link that names a report."""
    return sum(1 for entry in listing.entries if entry.date or is_report_link(entry.title))


def template_signature(response: TextResponse) -> frozenset[str]:
    """The page's template: tag.class and tag#id names. Bare tags are left out: list rows
    (li, tr, a, span) come and go with the entries, the template's named boxes stay."""
    data = json_reply(response)
    if data is not None:  # a JSON reply's "template" is its top-level keys
        return frozenset(f"json.{key}" for key in data)
    if response.selector.type == "json":  # JSON, but not an object: XPath cannot run on it
        return frozenset({"json"})
    names = set()
    for element in response.xpath("//body//*[@class or @id]")[:MAX_SIGNATURE_ELEMENTS]:
        tag = element.root.tag if isinstance(element.root.tag, str) else "#"
        names.update(f"{tag}.{name}" for name in (element.attrib.get("class") or "").split())
        if element.attrib.get("id"):
            names.add(f"{tag}#{element.attrib['id']}")
    return frozenset(names)


def shape_of(response: TextResponse, listing: Listing) -> ListingShape:
    return ListingShape(article_entries(listing), len(listing.pages), template_signature(response))


def same_template(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= SAME_TEMPLATE


def listing_problem(
    response: Response,
    listing: Listing | None,
    *,
    requested_url: str,
    last_good: ListingShape | None = None,
) -> str | None:
    """Why this answer is not the listing (a readable reason), or None when it is."""
    if not isinstance(response, TextResponse) or listing is None:
        content_type = (response.headers.get(b"Content-Type") or b"?").decode("latin-1")
        return f"not a text page (Content-Type {content_type}, {len(response.body)} bytes)"
    if not response.body.strip():
        return "empty page"
    if redirected_home(requested_url, response.url):
        return f"redirected to {response.url} (asked for {requested_url}), not a listing"
    kind = data_kind(response)
    if kind is not None:
        if listing.entries or listing.pages or listing.says_empty:
            return None
        snippet = " ".join(response.text.split())[:80]
        return f"{kind.upper()} reply without list entries: {snippet!r}"
    entries = article_entries(listing)
    page = page_text(response.text)
    fault = page_fault(page)
    if fault and entries < FEW_ENTRIES and not listing.pages:
        snippet = (page.title + " " + page.own_text).strip()[:60]
        return f"{fault.replace('_', ' ')}: {snippet!r}"
    if entries < FEW_ENTRIES and not listing.pages and undecodable(response.text):
        return "undecodable page (binary or a wrong charset)"
    template = template_signature(response)
    if (last_good is not None and entries < FEW_ENTRIES <= last_good.entries and not listing.pages
            and not same_template(template, last_good.signature)):
        return (f"another page: {entries} entries (the listing had {last_good.entries}) "
                "and not the listing's template")
    if listed_entries(listing) or entries >= FEW_ENTRIES or listing.pages or is_empty_list(page):
        return None
    if last_good is not None and same_template(template, last_good.signature):
        return None
    return "no list entries or pager found"

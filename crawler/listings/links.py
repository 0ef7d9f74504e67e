"""Plain HTML listings: article links in the page, pager links (下一页, numbered pages).

This family applies to every page; the others add what scripts hide from it.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from parsel import Selector
from scrapy.http import TextResponse

from nianbao.crawler.listings.model import Entry, Listing, PageRequest

SKIPPED_SCHEMES = ("javascript:", "mailto:", "tel:", "#", "data:")
NEXT_PAGE_TEXTS = frozenset({"下一页", "下页", "下一頁", "下頁", "后页", "後頁", "next", "next>", "›", "»", ">", ">>"})
DATE_RE = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
WHITESPACE_RE = re.compile(r"\s+")
MAX_PAGE_NUMBER = 999


def parse(response: TextResponse) -> Listing:
    return parse_anchors(response.selector, response.urljoin, response.url)


def parse_anchors(selector: Selector, urljoin, page_url: str) -> Listing:
    """Entries and pager links among the anchors under `selector`."""
    listing = Listing()
    for anchor in selector.xpath("//a[@href]"):
        href = anchor.attrib["href"].strip()
        if not href or href.lower().startswith(SKIPPED_SCHEMES):
            continue
        try:
            url = urljoin(href)
        except ValueError:  # e.g. "http://[::1/x": one broken link must not lose the page
            continue
        if not url.startswith(("http://", "https://")):
            continue
        text = _squash(" ".join(anchor.xpath(".//text()").getall()))
        if _is_pager(anchor, text, page_url, url):
            listing.pages.append(PageRequest(url))
            continue
        title = _best_title(text, anchor.attrib.get("title", ""))
        if title:
            listing.entries.append(Entry(url=url, title=title, date=_row_date(anchor, title)))
    return listing


def _squash(text: str) -> str:
    return WHITESPACE_RE.sub(" ", text.replace("\xa0", " ")).strip()


def _best_title(text: str, title_attr: str) -> str:
    """Lists truncate long titles ("2019年...年度报..."); the title attribute is often whole."""
    title_attr = _squash(title_attr)
    visible = text.rstrip(".…· ")
    return title_attr if len(title_attr) > len(visible) else text


def _is_pager(anchor: Selector, text: str, page_url: str, url: str) -> bool:
    if url == page_url:
        return False
    rel = anchor.attrib.get("rel", "").lower()
    if rel == "next" or text.lower() in NEXT_PAGE_TEXTS:
        return True
    # Numbered page links: digits only, pointing at a sibling page of this listing.
    if text.isdigit() and 0 < int(text) <= MAX_PAGE_NUMBER:
        return _same_listing(page_url, url)
    return False


def _same_listing(page_url: str, url: str) -> bool:
    here, there = urlsplit(page_url), urlsplit(url)
    if here.netloc != there.netloc:
        return False
    if here.path == there.path:
        return here.query != there.query
    return posixpath.dirname(here.path) == posixpath.dirname(there.path)


# The containers one list row is written in: a link's row is its nearest such ancestor.
ROW_TAGS = ("li", "tr", "dd", "dl", "p")


def _row_date(anchor: Selector, title: str) -> str | None:
    """The date printed in the same list row as the link (e.g. <li><a/><span>2020-01-15</span>).

    Runs for every anchor of every listing page, so it walks lxml's tree directly: wrapping
    every following sibling of every link in a Selector was quadratic on a flat list (2,000
    links in one <div>) and made a listing page cost three report pages."""
    node = anchor.root
    row = next(node.iterancestors(*ROW_TAGS), None)
    if row is None:
        row = node.getparent()
    if row is None:
        return None
    if _links_in(row) == 1:
        row_text = _squash(" ".join(row.xpath(".//text()"))).replace(title, " ")
    else:
        # Several links in one container (a flat <div> list): only the text between this link
        # and the next belongs to it, or a row would take its neighbour's date.
        row_text = _text_until_next_link(node)
    match = DATE_RE.search(row_text)
    if not match:
        return None
    year, month, day = (int(part) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def _links_in(row) -> int:
    """1 when the row holds one link, 2 when more (it stops counting at the second)."""
    count = 0
    for _ in row.iter("a"):
        count += 1
        if count == 2:
            break
    return count


def _text_until_next_link(node) -> str:
    """The text after a link up to the next element that is or holds a link."""
    parts = [node.tail or ""]
    for sibling in node.itersiblings():
        if isinstance(sibling.tag, str):  # comments and processing instructions hold no row text
            if sibling.tag == "a" or next(sibling.iter("a"), None) is not None:
                break
            parts.extend(sibling.xpath(".//text()"))
        parts.append(sibling.tail or "")
    return _squash(" ".join(parts))

"""Is a page fetched at a known report's URL plausibly that report?

A new version is written only when the answer is plausibly the same report: the same kind, a
title that still names it, not a block, soft-404 or challenge page, not truncated, the same
kind of document. Everything else gets a verdict with a reason:

- GONE: the page says the report is not there (a soft 404, a redirect to the home page). It
  is evidence of a removal, which a later crawl must confirm (storage/held.py `settle`).
- TRANSIENT: a block page, an anti-bot challenge, a JSON error, an error message typed as a
  download (application/octet-stream, a PDF that is HTML), a page that does not name the
  report at all (a block page in words page_kinds does not know): nothing about the report.
  Logged, never recorded, however often it comes; the crawl is not complete for a report the
  store does not have yet.
  A page that ends before </body></html> where the stored one had its end is truncated (the
  site's template ends its pages): TRANSIENT too, even if the same cut comes again.
- SUSPECT: it may be a real change (a correction that shrinks the text, a page replaced by a
  PDF) or a fault (a page without its end on a site whose pages had none either). It is
  held, and recorded only if a later crawl sees the same text again (storage/history.py
  `record_suspect`), so a real correction is never lost.

Pure functions: the pipeline gives them the page and what the store knows of the URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nianbao.crawler.classify import ANNUAL_REPORT
from nianbao.crawler.page_kinds import (
    BLOCK_PAGE, CHALLENGE, SOFT_404, fault_of_html, page_text, redirected_home, undecodable,
)
from nianbao.storage.models import content_hash

GONE = "gone"
TRANSIENT = "transient"
SUSPECT = "suspect"

# removal reasons (also in the `removed` finding's details)
REASON_SOFT_404 = "soft_404"
REASON_REDIRECT_HOME = "redirect_home"

# A known report whose new text is under this share of its stored length is suspect.
SHRINK_RATIO = 0.3
SHRINK_MIN_LENGTH = 200  # short texts vary too much to judge by length
_CLOSING_TAG = re.compile(rb"</(?:html|body)\s*>", re.I)
_JSON_START = re.compile(rb"^\s*[\[{]")
# How documents begin: PDF, OLE (DOC, XLS, WPS), ZIP (DOCX, XLSX, OFD), RAR, RTF. A body
# typed as a download that begins otherwise and holds no NUL byte is text: an error message.
_DOCUMENT_MAGIC = (b"%PDF", b"\xd0\xcf\x11\xe0", b"PK\x03\x04", b"Rar!", b"{\\rtf")
# Content types of pages (anything else is a download).
_PAGE_TYPES = ("text/", "application/xhtml", "application/xml")
# A page names the report when at least this share of the character pairs of the stored
# title appear in its <title> and its own text, in any order ("2019年度" for "2019年", a
# "（更正版）" added): a block page or a gateway's answer shares none or almost none.
NAMES_REPORT = 0.6
_NOT_A_PAIR = re.compile(r"[\s\W_]+")


@dataclass(frozen=True)
class KnownReport:
    """What the store holds for a report URL (storage `history.known_report`)."""

    kind: str
    title: str
    text_length: int
    document: bool  # stored as a document file (PDF, DOC...), not as a page
    content_hash: str | None = None  # of the stored text
    ended: bool | None = None  # the stored page ended with </body> or </html> (None: unknown)


@dataclass(frozen=True)
class Verdict:
    kind: str  # GONE, TRANSIENT or SUSPECT
    reason: str


def judge_page(*, url: str, final_url: str, html: str | None, body: bytes,
               content_type: str, known: KnownReport | None) -> Verdict | None:
    """The answer before extraction; None when nothing is wrong with it."""
    content_type = content_type.lower()
    if html is not None and not body.strip():
        return Verdict(TRANSIENT, "empty page")
    if html is not None and undecodable(html):
        return Verdict(TRANSIENT, "undecodable page (binary or a wrong charset)")
    if "json" in content_type or (html is not None and _JSON_START.match(body[:64])):
        return Verdict(TRANSIENT, f"a JSON answer ({content_type or 'no Content-Type'}), not a page")
    if (html is None or (content_type and not content_type.startswith(_PAGE_TYPES))) \
            and not is_document(body):
        return Verdict(TRANSIENT, f"not a document: {content_type or 'no Content-Type'}, "
                                  f"{len(body)} bytes of text beginning {body[:40]!r}")
    if redirected_home(url, final_url):
        return Verdict(GONE, REASON_REDIRECT_HOME)
    if html is not None:
        fault = fault_of_html(html)
        if fault == SOFT_404:
            return Verdict(GONE, REASON_SOFT_404)
        if fault in (BLOCK_PAGE, CHALLENGE):
            return Verdict(TRANSIENT, fault)
    if known is None:
        return None
    if known.document and html is not None:
        return Verdict(SUSPECT, "content_type: an HTML page where a document was stored")
    if not known.document and html is None:
        return Verdict(SUSPECT, f"content_type: a document ({content_type or 'binary'}) where a page was stored")
    if html is not None and not has_end(body) and known.ended is not False:
        if known.ended:
            return Verdict(TRANSIENT, "truncated: the page ends before </body></html>, the stored one did not")
        return Verdict(SUSPECT, "truncated: the page ends before </body></html>")
    return None


def judge_text(*, kind: str, text: str, known: KnownReport | None,
               html: str | None = None) -> Verdict | None:
    """The extracted report against the stored one; None when it is plausibly the same.

    The same text is the same report, whatever the page around it. A page (html) that does
    not name the stored report is not it (TRANSIENT): the extractor would take the listing's
    title for a page without one of its own, so the page's own words are read."""
    if known is None or (known.content_hash and content_hash(text) == known.content_hash):
        return None
    if html is not None and known.title and not names_report(known.title, html):
        return Verdict(TRANSIENT, f"not the report: the page does not name {known.title!r}")
    if known.kind == ANNUAL_REPORT and kind != ANNUAL_REPORT:
        return Verdict(SUSPECT, "kind_changed: the page no longer reads as an annual report")
    if known.text_length >= SHRINK_MIN_LENGTH and len(text) < known.text_length * SHRINK_RATIO:
        return Verdict(SUSPECT, f"shrank: {known.text_length} -> {len(text)} characters")
    return None


def has_end(page: bytes) -> bool:
    """Does a raw HTML page end with its closing tags (in its last 4 KB)?"""
    return bool(_CLOSING_TAG.search(page[-4096:]))


def is_document(body: bytes) -> bool:
    """Does a body typed as a download look like a document file rather than a message?"""
    head = body[:2048].lstrip()
    return head.startswith(_DOCUMENT_MAGIC) or b"\x00" in head


def _pairs(text: str) -> set[str]:
    squashed = _NOT_A_PAIR.sub("", text)
    return {squashed[i:i + 2] for i in range(len(squashed) - 1)}


def names_report(title: str, html: str) -> bool:
    """Does the page's <title> or own text (not its links) name the report of this title?"""
    wanted = _pairs(title)
    if not wanted:
        return True
    page = page_text(html)
    seen = _NOT_A_PAIR.sub("", page.title + page.own_text[:5000])
    return sum(pair in seen for pair in wanted) >= NAMES_REPORT * len(wanted)

"""Is a page fetched at a known report's URL plausibly that report?

A new version is written only when the answer is plausibly the same report: the same kind, a
title that still names it, not a block, soft-404 or challenge page, not truncated, the same
kind of document. Everything else gets a verdict with a reason:

- GONE: the page says the report is not there (a soft 404, a redirect to the home page). It
  is evidence of a removal, which a later crawl must confirm (storage/held.py `settle`).
- TRANSIENT: a block page, an anti-bot challenge, a JSON error: nothing about the report.
  Logged; the crawl is not complete for a report the store does not have yet.
- SUSPECT: it may be a real change (a correction that shrinks the text, a page replaced by a
  PDF) or a fault (a truncated page). It is held, and recorded only if a later crawl sees the
  same text again (storage/held.py `record_suspect`), so a real correction is never lost.

Pure functions: the pipeline gives them the page and what the store knows of the URL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nianbao.crawler.classify import ANNUAL_REPORT
from nianbao.crawler.page_kinds import BLOCK_PAGE, CHALLENGE, SOFT_404, fault_of_html, redirected_home

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


@dataclass(frozen=True)
class KnownReport:
    """What the store holds for a report URL (storage `history.known_report`)."""

    kind: str
    title: str
    text_length: int
    document: bool  # stored as a document file (PDF, DOC...), not as a page


@dataclass(frozen=True)
class Verdict:
    kind: str  # GONE, TRANSIENT or SUSPECT
    reason: str


def judge_page(*, url: str, final_url: str, html: str | None, body: bytes,
               content_type: str, known: KnownReport | None) -> Verdict | None:
    """The answer before extraction; None when nothing is wrong with it."""
    content_type = content_type.lower()
    if "json" in content_type or (html is not None and _JSON_START.match(body[:64])):
        return Verdict(TRANSIENT, f"a JSON answer ({content_type or 'no Content-Type'}), not a page")
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
    if html is not None and not _CLOSING_TAG.search(body[-65536:]):  # analytics may follow </html>
        return Verdict(SUSPECT, "truncated: the page ends before </body></html>")
    return None


def judge_text(*, kind: str, text: str, known: KnownReport | None) -> Verdict | None:
    """The extracted report against the stored one; None when it is plausibly the same."""
    if known is None:
        return None
    if known.kind == ANNUAL_REPORT and kind != ANNUAL_REPORT:
        return Verdict(SUSPECT, "kind_changed: the page no longer reads as an annual report")
    if known.text_length >= SHRINK_MIN_LENGTH and len(text) < known.text_length * SHRINK_RATIO:
        return Verdict(SUSPECT, f"shrank: {known.text_length} -> {len(text)} characters")
    return None

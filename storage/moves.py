"""Reports that move: the same report at a new URL is one report with a URL history.

A redesigned site serves its old reports at new URLs. Identity by URL alone would call that
`removed` (old URL) plus `new` (new URL), the two worst false findings. So when a fetched URL
is unknown, `find_move` first asks whether the page is a known report of the same agency:

1. another URL of a known report (report_urls: an old one, or where its URL redirected to)
   answering with that report's text: the same report, seen at another of its URLs (no
   finding);
2. a report with the same content hash (text long enough to identify it, or the same
   document bytes) that this crawl has not seen at its own URL: the report moved;
3. a report of the same agency, kind 'annual_report' and year whose text is nearly the same
   (`similarity` >= SIMILARITY_THRESHOLD, lengths comparable) and whose own URL answered as
   gone (an open removal in pending_findings) or was removed: the report moved and its text
   changed a little (a new template around the same words).

A different year's report of the same agency is never a match: in a template-reused report
only the years and numbers change, and its similarity was measured as high as 0.99 (see
docs in storage/SCHEMA.md "Moves"); the year gate keeps them apart.

Everything here runs inside the caller's write transaction (history.record_report).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from .models import REPORT_ANNUAL, ReportFetch, normalize_text
from .part import fetch_one

# How a URL was tied to its report (report_urls.matched_by).
MATCH_FIRST = "first"
# Where a URL of the report redirected to (a redesign that redirects old URLs): the report
# answers there too, so that URL in a listing is this report, not a new one.
MATCH_REDIRECT = "redirect"
MATCH_HASH = "content_hash"
MATCH_SIMILARITY = "similarity"
# Not a move: the fetched URL is an older URL of the report, answering with the same text.
ALIAS = "alias"

# Texts shorter than this (normalised characters) say too little to identify a report by
# their hash alone: an empty placeholder or a "详见附件" stub is the same on many pages.
MIN_MATCH_CHARS = 200
# Character 4-grams of the whitespace-free text; similarity is the share of the shorter
# text's 4-grams found in the other. Measured (docs: note of issue 9): the same report with
# other page chrome 0.98-0.99; the demo's reports of consecutive years 0.90-0.92; two
# unrelated real reports 0.005.
SHINGLE = 4
SIMILARITY_THRESHOLD = 0.95
# ... and the shorter text at least this share of the longer (a summary is not the report).
MIN_LENGTH_RATIO = 0.7
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Match:
    report_id: int
    how: str  # ALIAS, MATCH_HASH or MATCH_SIMILARITY
    similarity: float | None = None


def _shingles(text: str) -> set[str]:
    flat = _SPACE.sub("", text)
    return {flat[i:i + SHINGLE] for i in range(len(flat) - SHINGLE + 1)}


def similarity(a: str, b: str) -> float:
    """0..1: how much of the shorter text's 4-grams the other text has (0 if either is
    shorter than MIN_LENGTH_RATIO of the other)."""
    left, right = _SPACE.sub("", a), _SPACE.sub("", b)
    if not left or not right or min(len(left), len(right)) < MIN_LENGTH_RATIO * max(len(left), len(right)):
        return 0.0
    first, second = _shingles(left), _shingles(right)
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))


def _identifying(fetch: ReportFetch, digest: str) -> bool:
    return digest.startswith("raw:") or len(normalize_text(fetch.text)) >= MIN_MATCH_CHARS


_NOT_SEEN_IN_CRAWL = ("NOT EXISTS (SELECT 1 FROM sightings s WHERE s.report_id = r.id "
                      "AND s.crawl_id = :crawl)")


def find_move(db: Database, fetch: ReportFetch, digest: str) -> Match | None:
    """The known report an unknown URL's page is (see the module), or None."""
    params = {"agency": fetch.agency_id, "url": fetch.url, "digest": digest,
              "crawl": fetch.crawl_id, "year": fetch.year}
    alias = fetch_one(db, """SELECT r.id FROM report_urls u JOIN reports r ON r.id = u.report_id
                             WHERE u.agency_id = :agency AND u.url = :url AND r.url <> :url
                               AND r.content_hash = :digest
                             ORDER BY u.last_seen DESC LIMIT 1""", params)
    if alias is not None:
        return Match(alias["id"], ALIAS)
    if not _identifying(fetch, digest):
        return None
    same = fetch_one(db, f"""SELECT r.id FROM reports r
                             WHERE r.agency_id = :agency AND r.content_hash = :digest
                               AND r.url <> :url AND {_NOT_SEEN_IN_CRAWL}
                             ORDER BY r.status = 'live' DESC, r.id LIMIT 1""", params)
    if same is not None:
        return Match(same["id"], MATCH_HASH)
    if fetch.year is None or fetch.kind != REPORT_ANNUAL or digest.startswith("raw:"):
        return None
    best: Match | None = None
    for row in db.execute(
            f"""SELECT r.id, r.text FROM reports r
                WHERE r.agency_id = :agency AND r.year = :year AND r.kind = 'annual_report'
                  AND r.url <> :url AND {_NOT_SEEN_IN_CRAWL}
                  AND (r.status = 'removed' OR EXISTS (
                       SELECT 1 FROM pending_findings p WHERE p.report_id = r.id
                       AND p.kind = 'removal' AND p.resolved_at IS NULL))
                ORDER BY r.id""", params).fetchall():
        score = similarity(row[1] or "", fetch.text)
        if score >= SIMILARITY_THRESHOLD and (best is None or score > best.similarity):
            best = Match(row[0], MATCH_SIMILARITY, round(score, 4))
    return best


def apply_move(db: Database, report: Mapping[str, Any], fetch: ReportFetch, match: Match) -> str:
    """Point the report at the fetch's URL; the old URL stays in report_urls with left_at.
    Returns the URL the report left."""
    at = fetch.fetched_at
    old_url = report["url"]
    db.execute("UPDATE report_urls SET left_at = ?, last_seen = max(last_seen, coalesce(?, last_seen)) "
               "WHERE report_id = ? AND url = ? AND left_at IS NULL",
               (at, report["last_seen"], report["id"], old_url))
    db.execute("UPDATE reports SET url = ?, final_url = ? WHERE id = ?",
               (fetch.url, fetch.final_url, report["id"]))
    record_url(db, report["id"], fetch.agency_id, fetch.url, at, matched_by=match.how,
               similarity=match.similarity)
    return old_url


def record_url(db: Database, report_id: int, agency_id: str, url: str, at: str, *,
               matched_by: str = MATCH_FIRST, similarity: float | None = None) -> None:
    """A report was seen at `url`: its report_urls row is made or its last_seen moves on."""
    db.execute(
        """INSERT INTO report_urls (report_id, agency_id, url, first_seen, last_seen, matched_by,
                                    similarity)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (report_id, url) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen),
               left_at = NULL""",
        (report_id, agency_id, url, at, at, matched_by, similarity))

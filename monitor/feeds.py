"""An Atom feed (RFC 4287) of findings, for all agencies or one: oversight offices read
findings in feed readers and mail clients.

`findings_feed(rows, ...)` is a pure function: finding rows in (the findings columns,
`details` as JSON text or decoded, plus `agency_name`, and `report_url`/`report_title` when
joined), Atom XML text out. The server (`nianbao serve`) runs the query and serves the text
at {public_url}/nianbao/findings.atom (`?agency_id=` for one agency; monitor/links.py).

Each entry says what its notification says (monitor/finding_text.py: the Chinese label, one
sentence, the report's URL, the deadline as 截止日期, times in China time) and links to the
finding's page in the served store, with the report's URL as a `related` link.

Ids are stable: an entry's id is `tag:nianbao,2008:finding/{id}` (the finding's id never
changes, and does not depend on where the store is served), the feed's
`tag:nianbao,2008:findings` or `tag:nianbao,2008:findings/agency/{agency_id}`. Times are
RFC 3339 with China's offset (+08:00), the instant the store keeps in UTC.

Written with xml.etree (the standard library) rather than feedgen: a handful of elements,
and ElementTree escapes text and attributes correctly, which is all that is needed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any
from xml.etree import ElementTree as ET

from nianbao.monitor.finding_text import (
    CHINA,
    agency_label,
    china_iso,
    kind_label,
    message_text,
    report_url,
    sentence,
)
from nianbao.monitor.links import feed_link, finding_link

from nianbao.storage.findings import ANNOUNCED

ATOM_NS = "http://www.w3.org/2005/Atom"
# How many findings a served feed holds (the newest): feed readers poll; 1,000 findings with
# their diffs are 2 MB.
FEED_LIMIT = 100
# The rows of a feed, for a server that has a read-only connection rather than a Store
# (Datasette: `await db.execute(FEED_SQL, {"agency_id": None or id, "limit": FEED_LIMIT})`).
FEED_SQL = f"""
SELECT f.*, a.name AS agency_name, r.url AS report_url, r.title AS report_title
FROM findings f
LEFT JOIN agencies a ON a.id = f.agency_id
LEFT JOIN reports r ON r.id = f.report_id
WHERE {ANNOUNCED} AND (:agency_id IS NULL OR f.agency_id = :agency_id)
ORDER BY f.id DESC LIMIT :limit"""
TAG_AUTHORITY = "tag:nianbao,2008:"
FEED_TITLE = "nianbao 年报监测：发现"


def entry_id(finding_id: int) -> str:
    return f"{TAG_AUTHORITY}finding/{int(finding_id)}"


def feed_id(agency_id: str | None = None) -> str:
    return f"{TAG_AUTHORITY}findings" + (f"/agency/{agency_id}" if agency_id else "")


def _decoded(row: Mapping[str, Any]) -> dict[str, Any]:
    finding = dict(row)
    details = finding.get("details")
    if isinstance(details, str):
        try:
            details = json.loads(details or "{}")
        except ValueError:
            details = {"text": details}
    finding["details"] = details if isinstance(details, dict) else {}
    return finding


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _entry(feed: ET.Element, finding: dict[str, Any], public_url: str | None) -> str:
    """Append one entry; return its `updated` time."""
    updated = china_iso(finding.get("detected_at")) or "1970-01-01T08:00:00+08:00"
    year = f" {finding['year']}年度" if finding.get("year") else ""
    entry = _sub(feed, "entry")
    _sub(entry, "id", entry_id(finding["id"]))
    _sub(entry, "title", f"{kind_label(finding['kind'])} — {agency_label(finding)}{year}")
    _sub(entry, "updated", updated)
    _sub(entry, "published", updated)
    author = _sub(entry, "author")
    _sub(author, "name", agency_label(finding))
    _sub(entry, "category", term=finding["kind"], label=kind_label(finding["kind"]))
    page = finding_link(public_url, finding["id"])
    url = report_url(finding)
    if page:
        _sub(entry, "link", rel="alternate", href=page)
    if url:
        _sub(entry, "link", rel="related" if page else "alternate", href=url)
    _sub(entry, "summary", sentence(finding))
    _sub(entry, "content", message_text(finding, public_url), type="text")
    return updated


def findings_feed(rows: Iterable[Mapping[str, Any]], *, public_url: str | None = None,
                  agency_id: str | None = None, agency_name: str | None = None,
                  now: dt.datetime | None = None) -> str:
    """Atom XML of these findings (newest first), for every agency or for `agency_id`.

    public_url: where the store is served (links; None: entries link to the report's URL
    only). agency_name: the feed's title for one agency. now: the feed's `updated` when it
    has no entries (default: the current time); otherwise the newest entry's time.
    """
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
    _sub(feed, "id", feed_id(agency_id))
    title = FEED_TITLE if not agency_id else f"nianbao 年报监测：{agency_name or agency_id}"
    _sub(feed, "title", title)
    updated_element = _sub(feed, "updated")
    author = _sub(feed, "author")
    _sub(author, "name", "nianbao")
    _sub(feed, "generator", "nianbao")
    self_link = feed_link(public_url, agency_id)
    if self_link:
        _sub(feed, "link", rel="self", href=self_link, type="application/atom+xml")
    findings = sorted((_decoded(row) for row in rows), key=lambda f: f["id"], reverse=True)
    times = [_entry(feed, finding, public_url) for finding in findings]
    moment = max(times, key=lambda t: dt.datetime.fromisoformat(t)) if times else (
        (now or dt.datetime.now(dt.UTC)).astimezone(CHINA).isoformat(timespec="seconds"))
    updated_element.text = moment
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"

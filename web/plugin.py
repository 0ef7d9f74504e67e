"""Datasette hooks of `nianbao serve`: nianbao's pages, links in query results, the menu.

Registered by app.make_datasette (not as an installed entry point, so a plain `datasette`
run elsewhere in the same environment stays plain).
"""

from __future__ import annotations

import json
from html import escape

from datasette import hookimpl
from markupsafe import Markup

from nianbao.web.routes import ROUTES

# Values the canned queries build as links to nianbao's pages (page, diff columns).
PAGE_PREFIXES = ("/-/report/", "/-/diff/")
# Id columns of query results (not tables, where Datasette links foreign keys itself).
ID_LINKS = {"report_id": "/-/report/{}", "finding_id": "/nianbao/findings/{}"}
# How the canned query `search` marks a match in its passage (snippet(..., char(2), char(3))).
MATCH_START, MATCH_END = "\x02", "\x03"
# How much of a finding's details JSON is shown beside the link to its diff.
DETAILS_PREVIEW_CHARS = 300
# How much of a report's text the reports table shows in a cell before the link to the page.
TEXT_PREVIEW_CHARS = 120


@hookimpl
def register_routes():
    return ROUTES


@hookimpl
def render_cell(row, value, column, table, database):
    if database != "nianbao":
        return None
    if table is None and isinstance(value, int) and column in ID_LINKS:
        # a canned query's report_id / finding_id: to the report's page, the finding's row
        return Markup(f"<a href=\"{ID_LINKS[column].format(value)}\">{value}</a>")
    if not isinstance(value, str):
        return None
    if table == "findings" and column == "details":
        diff = _changed_finding_diff(row, value)
        if diff:
            shown = value[:DETAILS_PREVIEW_CHARS] + ("…" if len(value) > DETAILS_PREVIEW_CHARS else "")
            return Markup(f"<a href=\"{escape(diff[0])}\">{escape(diff[1])}</a> "
                          f"<span class=\"nb-preview\">{escape(shown)}</span>")
    if MATCH_START in value:
        # a passage of the search query: the match between the two control characters
        marked = escape(value).replace(MATCH_START, "<mark>").replace(MATCH_END, "</mark>")
        return Markup(f"<span class=\"nb-passage\">{marked}</span>")
    if value.startswith(PAGE_PREFIXES):
        label = "差异 diff" if value.startswith("/-/diff/") else "阅读 read"
        return Markup(f"<a href=\"{escape(value)}\">{label}</a>")
    if column == "text" and table in ("reports", "versions"):
        # A report's text squeezed into a table cell is unreadable: a preview, and the page.
        preview = value[:TEXT_PREVIEW_CHARS] + ("…" if len(value) > TEXT_PREVIEW_CHARS else "")
        report_id = row["id"] if table == "reports" else row["report_id"]
        query = "" if table == "reports" else f"?version={row['version']}"
        return Markup(f"<span class=\"nb-preview\">{escape(preview)}</span> "
                      f"<a href=\"/-/report/{int(report_id)}{query}\">全文 read</a>")
    return None


def _changed_finding_diff(row, details: str) -> tuple[str, str] | None:
    """A `changed` finding's diff page and its label, from the finding's row and details."""
    try:
        report_id = row["report_id"]
        if isinstance(report_id, dict):  # a table page gives a foreign key as {value, label}
            report_id = report_id.get("value")
        if row["kind"] != "changed" or not report_id:
            return None
        found = json.loads(details)
        old, new, report_id = int(found["from_version"]), int(found["to_version"]), int(report_id)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return f"/-/diff/{report_id}/{old}/{new}", f"差异 diff v{old}→v{new}"


@hookimpl
def menu_links():
    return [
        {"href": "/-/coverage", "label": "覆盖情况 Coverage"},
        {"href": "/nianbao/recent_findings", "label": "最近发现 Recent findings"},
        {"href": "/nianbao/search_short", "label": "短词搜索 Short-word search"},
    ]

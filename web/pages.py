"""nianbao's pages in `nianbao serve`: the coverage picture, a report as a document, a diff.

Each view reads through Datasette's read-only connection to the store and renders a template
of web/templates (which extend Datasette's base.html, so the pages share its navigation).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode
from html import escape
from typing import Any

from datasette import NotFound, Response
from markupsafe import Markup

from nianbao.monitor.coverage_picture import (
    CELLS_SQL,
    render_coverage_picture,
    render_region_summary,
)
from nianbao.monitor.text_diff import Line, Segment, TextDiff, diff_texts
from nianbao.web.document import text_to_html

DATABASE = "nianbao"
DIFF_CONTEXT_LINES = 3
# Cells (agencies x years) drawn on one page; beyond, the page lists regions to choose from.
MAX_CELLS = 6000

REPORT_SQL = """
select r.*, a.name as agency_name, a.region,
       (select c.name from agencies c where c.id = r.counts_for) as counts_for_name
from reports r left join agencies a on a.id = r.agency_id
where r.id = :id
"""
VERSIONS_SQL = """
select version, fetched_at, source, title, length(text) as text_length, extractor_version
from versions where report_id = :id order by version
"""
VERSION_SQL = "select version, fetched_at, source, title, text from versions where report_id = :id and version = :version"
FINDINGS_SQL = "select id, kind, detected_at, details from findings where report_id = :id order by id"


def _cell_link(row: Mapping[str, Any]) -> str | None:
    if row.get("report_id"):
        return f"/-/report/{row['report_id']}"
    if row.get("finding_id"):
        return f"/{DATABASE}/findings/{row['finding_id']}"
    return None


async def _render(datasette, request, template: str, context: dict) -> Response:
    return Response.html(await datasette.render_template(template, context, request=request))


async def coverage_page(request, datasette) -> Response:
    """The picture of every agency, or of one region (?region=, a region or its start). A
    registry too large for one page (more than MAX_CELLS cells) gets a table of regions,
    each leading to its own picture."""
    db = datasette.get_database(DATABASE)
    region = request.args.get("region", "").strip()
    rows = [dict(row) for row in (await db.execute(CELLS_SQL, {"region": region})).rows]
    if len(rows) > MAX_CELLS and not request.args.get("all"):
        picture = render_region_summary(
            rows, region_link=lambda name: "/-/coverage?" + urlencode({"region": name or "-"}))
        summary = True
    else:
        picture = render_coverage_picture(rows, link=_cell_link)
        summary = False
    return await _render(datasette, request, "nianbao_coverage.html", {
        "picture": Markup(picture), "agencies": len({r["agency_id"] for r in rows}),
        "region": region, "summary": summary})


async def _one(db, sql: str, params: dict) -> dict | None:
    rows = (await db.execute(sql, params)).rows
    return dict(rows[0]) if rows else None


def _int_arg(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise NotFound(f"{name} must be a number")
    return int(value)


async def report_page(request, datasette) -> Response:
    db = datasette.get_database(DATABASE)
    report_id = int(request.url_vars["report_id"])
    report = await _one(db, REPORT_SQL, {"id": report_id})
    if report is None:
        raise NotFound(f"No report {report_id}")
    versions = [dict(row) for row in (await db.execute(VERSIONS_SQL, {"id": report_id})).rows]
    wanted = _int_arg(request.args.get("version"), "version")
    shown = report["current_version"] if wanted is None else wanted
    version = await _one(db, VERSION_SQL, {"id": report_id, "version": shown})
    if version is None:
        raise NotFound(f"Report {report_id} has no version {shown}")
    findings = [dict(row) for row in (await db.execute(FINDINGS_SQL, {"id": report_id})).rows]
    try:
        attachments = json.loads(report.get("attachments") or "[]")
    except ValueError:
        attachments = []
    return await _render(datasette, request, "nianbao_report.html", {
        "report": report,
        "version": version,
        "versions": versions,
        "is_current": shown == report["current_version"],
        "findings": findings,
        "attachments": attachments,
        "body": Markup(text_to_html(version["text"])),
    })


def _segments_html(parts: tuple[Segment, ...], tag: str) -> str:
    return "".join(f"<{tag} class=\"hl\">{escape(part.text)}</{tag}>" if part.changed
                   else escape(part.text) for part in parts)


def diff_html(result: TextDiff, *, all_url: str) -> str:
    """The diff as rows of a table: a sign column and the line, changed characters marked."""
    out = ["<table class=\"nb-diff\">"]
    for line in result.lines:
        out.append(_diff_row(line, all_url))
    out.append("</table>")
    return "".join(out)


def _diff_row(line: Line, all_url: str) -> str:
    if line.kind == "equal":
        return f"<tr class=\"equal\"><td class=\"sign\"></td><td>{escape(line.text)}</td></tr>"
    if line.kind == "skipped":
        return (f"<tr class=\"skipped\"><td class=\"sign\">…</td><td><a href=\"{escape(all_url)}\">"
                f"{line.count} 行未变 unchanged line(s)</a></td></tr>")
    if line.kind == "removed":
        return f"<tr class=\"removed\"><td class=\"sign\">−</td><td><del>{escape(line.text)}</del></td></tr>"
    if line.kind == "added":
        return f"<tr class=\"added\"><td class=\"sign\">+</td><td><ins>{escape(line.text)}</ins></td></tr>"
    return (f"<tr class=\"removed changed\"><td class=\"sign\">−</td><td>{_segments_html(line.old, 'del')}</td></tr>"
            f"<tr class=\"added changed\"><td class=\"sign\">+</td><td>{_segments_html(line.new, 'ins')}</td></tr>")


async def diff_page(request, datasette) -> Response:
    db = datasette.get_database(DATABASE)
    report_id = int(request.url_vars["report_id"])
    v1, v2 = int(request.url_vars["v1"]), int(request.url_vars["v2"])
    report = await _one(db, REPORT_SQL, {"id": report_id})
    if report is None:
        raise NotFound(f"No report {report_id}")
    old = await _one(db, VERSION_SQL, {"id": report_id, "version": v1})
    new = await _one(db, VERSION_SQL, {"id": report_id, "version": v2})
    if old is None or new is None:
        raise NotFound(f"Report {report_id} has versions 1 to {report['current_version']}")
    show_all = request.args.get("all") == "1"
    result = diff_texts(old["text"], new["text"], context=None if show_all else DIFF_CONTEXT_LINES)
    versions = [dict(row) for row in (await db.execute(VERSIONS_SQL, {"id": report_id})).rows]
    return await _render(datasette, request, "nianbao_diff.html", {
        "report": report,
        "old": old,
        "new": new,
        "versions": versions,
        "result": result,
        "show_all": show_all,
        "table": Markup(diff_html(result, all_url=f"{request.path}?all=1")),
    })

"""A self-contained HTML report of the store: the coverage picture and the findings list.

One file to mail to a colleague (`nianbao report --html FILE`): no script, no external
style sheet, font or image. Cells and findings link to the pages of a running `nianbao
serve` when its public URL is given; otherwise a cell links to the report on the agency's
site, and a finding cell to the finding in the list below.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from nianbao import __version__
from nianbao.monitor.coverage_picture import CELLS_SQL, render_coverage_picture
from nianbao.monitor.finding_text import china_time, kind_label
from nianbao.storage import Store

# The findings listed, newest first; older ones are counted, not listed.
MAX_FINDINGS = 500

FINDINGS_SQL = """
select f.id, f.kind, f.agency_id, a.name as agency_name, f.year, f.report_id, f.detected_at,
       f.details, r.title, r.url
from findings f
left join agencies a on a.id = f.agency_id
left join reports r on r.id = f.report_id
order by f.detected_at desc, f.id desc
"""

PAGE_STYLE = """
body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table.findings { border-collapse: collapse; font-size: .9em; }
table.findings th, table.findings td { border-bottom: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
.kind, .when, .details { white-space: nowrap; }
.muted { color: #777; }
"""


def _detail_text(row: Mapping[str, Any]) -> str:
    try:
        details = json.loads(row["details"] or "{}")
    except ValueError:
        return ""
    if row["kind"] == "changed":
        return (f"v{details.get('from_version')} → v{details.get('to_version')}: "
                f"+{details.get('lines_added', 0)} −{details.get('lines_removed', 0)} lines")
    if row["kind"] == "removed":
        return str(details.get("reason") or details.get("http_status") or "")
    if row["kind"] in ("missing", "late"):
        return f"截止日期 deadline {details.get('deadline', '')}".strip()
    return ""


def write_report_html(store: Store, path: str | os.PathLike, public_url: str | None = None,
                      region: str = "") -> Path:
    """Write the coverage picture and the findings list to `path` as one HTML file.

    public_url: where `nianbao serve` is reached (e.g. https://nianbao.example.org); cells
    and findings then link to its report, diff and finding pages. region: only agencies whose
    region starts with this (default: all). Returns the path written.
    """
    base = public_url.rstrip("/") if public_url else None
    cells = [dict(row) for row in store.db.query(CELLS_SQL, {"region": region})]
    findings = [dict(row) for row in store.db.query(FINDINGS_SQL)]
    listed = findings[:MAX_FINDINGS]
    listed_ids = {row["id"] for row in listed}

    def cell_link(row: Mapping[str, Any]) -> str | None:
        if row.get("report_id"):
            return f"{base}/-/report/{row['report_id']}" if base else row.get("url")
        if row.get("finding_id"):
            if base:
                return f"{base}/nianbao/findings/{row['finding_id']}"
            if row["finding_id"] in listed_ids:
                return f"#finding-{row['finding_id']}"
        return None

    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    picture = render_coverage_picture(cells, link=cell_link)
    out = [
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        "<title>nianbao 年报监测报告</title>",
        f"<style>{PAGE_STYLE}</style></head><body>",
        "<h1>政府信息公开工作年度报告 监测报告 <small class=\"muted\">nianbao</small></h1>",
        f"<p class=\"muted\">生成于 made {now:%Y-%m-%d %H:%M} (China time) by nianbao {__version__}; "
        f"{len({c['agency_id'] for c in cells})} agencies.</p>",
        "<h2>覆盖情况 Coverage</h2>", picture,
        f"<h2 id=\"findings\">发现 Findings <small class=\"muted\">({len(findings)})</small></h2>",
    ]
    if len(findings) > len(listed):
        out.append(f"<p class=\"muted\">The newest {len(listed)} of {len(findings)} are listed.</p>")
    out.append("<table class=\"findings\"><thead><tr><th>#</th><th>发现时间 detected</th>"
               "<th>类型 kind</th><th>机构 agency</th><th>年度 year</th><th>报告 report</th>"
               "<th>说明 details</th></tr></thead><tbody>")
    for row in listed:
        title = escape(row["title"] or "")
        if row["report_id"] and base:
            target = (f"{base}/-/diff/{row['report_id']}/" + "/".join(
                str(json.loads(row["details"] or "{}").get(k)) for k in ("from_version", "to_version"))
                if row["kind"] == "changed" else f"{base}/-/report/{row['report_id']}")
            title = f"<a href=\"{escape(target)}\">{title}</a>"
        elif row["url"]:
            title = f"<a href=\"{escape(row['url'])}\">{title}</a>"
        out.append(
            f"<tr id=\"finding-{row['id']}\"><td>{row['id']}</td><td class=\"when\">{escape(china_time(row['detected_at']))}</td>"
            f"<td class=\"kind\">{escape(kind_label(row['kind']))}</td>"
            f"<td>{escape(row['agency_name'] or row['agency_id'] or '')}</td>"
            f"<td>{row['year'] or ''}</td><td>{title}</td>"
            f"<td class=\"details\">{escape(_detail_text(row))}</td></tr>")
    out.append("</tbody></table></body></html>")
    path = Path(path)
    path.write_text("".join(out), encoding="utf-8")
    return path

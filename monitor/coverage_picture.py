"""The coverage picture: agencies x years, each cell coloured by status, grouped by region.

Pure: rows in, HTML out (a fragment with its own style), so the page of `nianbao serve` and
the self-contained file of `nianbao report --html` (monitor/report_html.py) draw the same
picture. The rows are those of CELLS_SQL, run by the caller on whatever connection it has
(Datasette's read-only one, or a Store's). Where each cell links is the caller's choice.

Statuses are those of the `coverage` view: on_time, late, missing, not_due; a missing row
with verified = 0 (no complete crawl after the deadline yet, so no finding) is drawn apart
as "not yet verified": it is a question, not a fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

# One row per agency and year as of today, with the agency's name and region, and the
# finding (missing or late) that reported it, if one was raised. :region: '' for every
# agency, '-' for those without a region (central departments), else a region or its start
# (安徽省, 安徽省亳州市).
CELLS_SQL = """
select c.agency_id, a.name as agency_name, a.region, c.year, c.status, c.verified,
       c.deadline, c.report_id, c.published_date, c.published_basis, c.title, c.url,
       c.hosted_by,
       (select f.id from findings f
        where f.agency_id = c.agency_id and f.year = c.year and f.kind = c.status
        order by f.id desc limit 1) as finding_id
from coverage c
join agencies a on a.id = c.agency_id
where :region = '' or (:region = '-' and coalesce(a.region, '') = '')
   or a.region like :region || '%'
order by coalesce(a.region, ''), c.agency_id, c.year
"""

NO_REGION = "中央及未注明地区"


@dataclass(frozen=True)
class Look:
    key: str      # CSS class and legend key
    mark: str     # symbol in the cell: the picture must not rely on colour alone
    label: str    # Chinese, then English
    colour: str
    ink: str


LOOKS = {
    "on_time": Look("on_time", "✓", "按时 on time", "#2e7d32", "#fff"),
    "late": Look("late", "!", "逾期 late", "#ef8f00", "#000"),
    "missing": Look("missing", "✗", "缺失 missing", "#c62828", "#fff"),
    "unverified": Look("unverified", "?", "缺失待核实 missing, not yet verified", "#f6d5d5", "#8a1c1c"),
    "not_due": Look("not_due", "·", "未到期 not due", "#e0e0e0", "#555"),
}


def look_of(row: Mapping[str, Any]) -> Look:
    """How a coverage row is drawn: a missing row not verified (verified = 0) apart."""
    status = row["status"]
    if status == "missing" and not row.get("verified"):
        return LOOKS["unverified"]
    return LOOKS.get(status, LOOKS["not_due"])


STYLE = """
.nb-picture { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
.nb-picture .legend { display: flex; flex-wrap: wrap; gap: .4em 1.2em; margin: .5em 0 1em; padding: 0; list-style: none; }
.nb-picture .legend li { display: flex; align-items: center; gap: .35em; }
.nb-picture table.grid { border-collapse: separate; border-spacing: 3px; margin-bottom: 1.2em; width: auto; }
.nb-picture .grid th { font-weight: normal; font-size: .8em; color: #444; }
.nb-picture .grid th.agency { text-align: right; padding-right: .6em; white-space: nowrap; font-size: .9em; }
.nb-picture .grid th.agency small { color: #888; display: block; font-size: .8em; }
.nb-picture .grid th.region { text-align: left; font-weight: bold; font-size: 1em; color: #222;
  padding: .9em 0 .2em; border-bottom: 1px solid #ccc; }
.nb-picture .grid th.region small { color: #777; font-weight: normal; }
.nb-picture .grid td { padding: 0; border: none; }
.nb-picture .cell { display: inline-block; width: 2.1em; height: 1.8em; line-height: 1.8em;
  text-align: center; border-radius: 3px; font-weight: bold; text-decoration: none; }
.nb-picture a.cell:hover, .nb-picture a.cell:focus { outline: 2px solid #1565c0; }
.nb-picture .none { background: transparent; }
"""


def _cell_style() -> str:
    return "\n".join(
        f".nb-picture .{look.key} {{ background: {look.colour}; color: {look.ink}; }}"
        + (" .nb-picture .unverified { background: repeating-linear-gradient(45deg, #f6d5d5, "
           "#f6d5d5 4px, #fff 4px, #fff 8px); border: 1px dashed #c62828; }"
           if look.key == "unverified" else "")
        for look in LOOKS.values())


def _tooltip(row: Mapping[str, Any], look: Look) -> str:
    parts = [f"{row['agency_name']} {row['year']}: {look.label}"]
    if row.get("published_date"):
        parts.append(f"发布 published {row['published_date']}")
    if row.get("deadline"):
        parts.append(f"截止 deadline {row['deadline']}")
    if row.get("title"):
        parts.append(str(row["title"]))
    if row.get("hosted_by"):
        parts.append(f"见于 found on {row['hosted_by']}")
    return " · ".join(parts)


Link = Callable[[Mapping[str, Any]], str | None]


def render_region_summary(rows: Iterable[Mapping[str, Any]], *,
                          region_link: Callable[[str], str]) -> str:
    """For a registry too large to draw at once: one line per region with its counts by
    status, each leading to that region's picture (region_link(region))."""
    regions: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = regions.setdefault(row["region"] or NO_REGION,
                                   {"agencies": set(), **{key: 0 for key in LOOKS}})
        entry["agencies"].add(row["agency_id"])
        entry[look_of(row).key] += 1
    out = [f"<section class=\"nb-picture\"><style>{STYLE}{_cell_style()}</style>",
           "<table class=\"summary\"><thead><tr><th>地区 region</th><th>机构 agencies</th>"]
    out.extend(f"<th><span class=\"cell {look.key}\">{look.mark}</span> {escape(look.label)}</th>"
               for look in LOOKS.values())
    out.append("</tr></thead><tbody>")
    for region in sorted(regions, key=lambda name: (name == NO_REGION, name)):
        entry = regions[region]
        target = region_link("" if region == NO_REGION else region)
        out.append(f"<tr><th><a href=\"{escape(target)}\">{escape(region)}</a></th>"
                   f"<td>{len(entry['agencies'])}</td>")
        out.extend(f"<td data-status=\"{key}\">{entry[key]}</td>" for key in LOOKS)
        out.append("</tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def render_coverage_picture(rows: Iterable[Mapping[str, Any]], *, link: Link,
                            caption: str | None = None) -> str:
    """The picture as an HTML fragment (a <section> with its own <style>).

    rows: CELLS_SQL rows (agency_id, agency_name, region, year, status, verified, deadline,
    report_id, published_date, title, url, hosted_by, finding_id). link(row): where a cell
    leads (its report, else its finding), or None for no link.
    """
    rows = list(rows)
    counts: dict[str, int] = {key: 0 for key in LOOKS}
    for row in rows:
        counts[look_of(row).key] += 1
    out = [f"<section class=\"nb-picture\"><style>{STYLE}{_cell_style()}</style>"]
    if caption:
        out.append(f"<p>{escape(caption)}</p>")
    out.append("<ul class=\"legend\">")
    for look in LOOKS.values():
        out.append(f"<li><span class=\"cell {look.key}\">{look.mark}</span>"
                   f"{escape(look.label)} <b data-count=\"{look.key}\">{counts[look.key]}</b></li>")
    out.append("</ul>")
    if not rows:
        out.append("<p class=\"empty\">No agency has a report due yet. 暂无数据。</p></section>")
        return "".join(out)
    years = list(range(min(r["year"] for r in rows), max(r["year"] for r in rows) + 1))
    regions: dict[str, dict[str, dict]] = {}
    for row in rows:
        agency = regions.setdefault(row["region"] or NO_REGION, {}).setdefault(
            row["agency_id"], {"name": row["agency_name"], "years": {}})
        agency["years"][row["year"]] = row
    # One table for every region, so that a year is one column all the way down.
    out.append("<table class=\"grid\"><thead><tr><th></th>")
    out.extend(f"<th scope=\"col\">{year}</th>" for year in years)
    out.append("</tr></thead>")
    for region in sorted(regions, key=lambda name: (name == NO_REGION, name)):
        agencies = regions[region]
        out.append(f"<tbody><tr class=\"region\"><th class=\"region\" colspan=\"{len(years) + 1}\">"
                   f"{escape(region)} <small>({len(agencies)})</small></th></tr>")
        for agency_id, agency in agencies.items():
            out.append(f"<tr data-agency=\"{escape(agency_id)}\"><th class=\"agency\" scope=\"row\">"
                       f"{escape(agency['name'])}<small>{escape(agency_id)}</small></th>")
            for year in years:
                out.append(f"<td>{_cell(agency['years'].get(year), link)}</td>")
            out.append("</tr>")
        out.append("</tbody>")
    out.append("</table>")
    out.append("</section>")
    return "".join(out)


def _cell(row: Mapping[str, Any] | None, link: Link) -> str:
    if row is None:
        return "<span class=\"cell none\"></span>"
    look = look_of(row)
    attributes = (f"class=\"cell {look.key}\" title=\"{escape(_tooltip(row, look))}\" "
                  f"data-year=\"{row['year']}\" data-status=\"{look.key}\"")
    target = link(row)
    if target:
        return f"<a {attributes} href=\"{escape(target)}\">{look.mark}</a>"
    return f"<span {attributes}>{look.mark}</span>"

"""`nianbao report`: the coverage and the findings as files to mail to a colleague.

- `--xlsx FILE` (openpyxl): one sheet per subject: 覆盖情况 (coverage: one row per agency and
  year, the status cell coloured as the served coverage picture colours it, a missing row
  not yet verified shown apart), 覆盖矩阵 (agencies down, years across, one coloured mark per
  cell), 发现 (findings, newest first, in the words of the notifications) and 统计数据 (the
  key figures of each annual report's statistical tables, report_figures, with the
  arithmetic checks its current version failed).
- `--csv FILE`: the coverage rows, the columns of `nianbao check --json` plus agency_name,
  region and status_label (UTF-8 with a BOM, so that Excel opens Chinese text right).
- `--html FILE` (monitor/report_html.py): the coverage picture and the findings list as one
  self-contained HTML page, the picture `nianbao serve` draws.

Nothing is recorded: the coverage is computed as `nianbao check --no-record` computes it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import click

from nianbao.config.registry import Agency, ConfigError, load_registry, resolve_config_path
from nianbao.monitor.cli_options import (
    config_option,
    db_option,
    fail_config,
    public_url_option,
    resolve_db_path,
)
from nianbao.monitor.coverage import LATE, MISSING, NOT_DUE, ON_TIME, CoverageRow
from nianbao.monitor.finding_text import (
    agency_label,
    china_time,
    kind_label,
    report_url,
    sentence,
)
from nianbao.monitor.links import finding_link, report_link
from nianbao.monitor.report_html import write_report_html

UNVERIFIED = "missing_unverified"  # a missing row no complete crawl after the deadline proved
# status -> (Chinese label, fill colour RGB, matrix mark). Colours as in `check` and the
# served coverage picture: green on time, amber late, red missing, lilac not yet verified,
# grey not due.
STATUS_STYLE = {
    ON_TIME: ("按时发布", "C6EFCE", "✓"),
    LATE: ("逾期发布", "FFEB9C", "!"),
    MISSING: ("逾期未发布", "FFC7CE", "✗"),
    UNVERIFIED: ("未发现（待核实）", "E4DFEC", "?"),
    NOT_DUE: ("未到期", "EDEDED", "·"),
}
CSV_COLUMNS = ("agency_id", "agency_name", "region", "year", "status", "status_label",
               "deadline", "published_date", "published_basis", "verified", "report_id",
               "report_status", "title", "url", "year_basis", "title_year", "hosted_by")
COVERAGE_HEADERS = ("机构代码", "机构", "地区", "年度", "状态", "截止日期", "发布日期", "已核实",
                    "报告标题", "报告网址", "报告页面")
# report_figures columns in the statistics sheet, with their Chinese headings
FIGURE_COLUMNS = (
    ("requests_new", "本年新收申请"), ("requests_new_natural_persons", "其中自然人"),
    ("requests_carried_over", "上年结转"), ("granted", "予以公开"), ("partly_granted", "部分公开"),
    ("refused", "不予公开"), ("unable_to_provide", "无法提供"), ("not_processed", "不予处理"),
    ("other_handling", "其他处理"), ("handled_total", "办理总计"), ("carried_forward", "结转下年度"),
    ("reconsideration_total", "行政复议"), ("reconsideration_corrected", "复议结果纠正"),
    ("litigation_direct_total", "未经复议直接起诉"),
    ("litigation_after_reconsideration_total", "复议后起诉"),
    ("regulations_current", "现行有效规章"), ("normative_documents_current", "现行有效规范性文件"),
)
FAILED_FILL = "FFC7CE"
FINDING_HEADERS = ("编号", "类型", "类型代码", "机构", "机构代码", "年度", "截止日期", "发现时间",
                   "摘要", "报告网址", "详情链接")


def style_key(row: CoverageRow) -> str:
    return UNVERIFIED if row.status == MISSING and not row.verified else row.status


def coverage_records(rows: Sequence[CoverageRow], agencies: dict[str, Agency]) -> list[dict]:
    """The CSV's rows: check --json's columns plus agency_name, region and status_label."""
    records = []
    for row in rows:
        data = row.to_json()
        agency = agencies.get(row.agency_id)
        data.update(agency_name=agency.name if agency else "", region=agency.region if agency else "",
                    status_label=STATUS_STYLE[style_key(row)][0])
        records.append({column: data.get(column) for column in CSV_COLUMNS})
    return records


def write_csv(path: Path, rows: Sequence[CoverageRow], agencies: dict[str, Agency]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for record in coverage_records(rows, agencies):
            writer.writerow({k: "" if v is None else v for k, v in record.items()})


def write_xlsx(path: Path, rows: Sequence[CoverageRow], agencies: dict[str, Agency],
               findings: Sequence[dict], *, public_url: str | None, as_of: dt.date,
               figures: Sequence[dict] = ()) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    bold = Font(bold=True)
    fills = {key: PatternFill("solid", start_color=colour, end_color=colour)
             for key, (_, colour, _) in STATUS_STYLE.items()}
    book = Workbook()

    sheet = book.active
    sheet.title = "覆盖情况"
    sheet.append(COVERAGE_HEADERS)
    for row in rows:
        agency = agencies.get(row.agency_id)
        key = style_key(row)
        page = report_link(public_url, row.report_id)
        sheet.append([row.agency_id, agency.name if agency else "", agency.region if agency else "",
                      row.year, STATUS_STYLE[key][0], row.deadline.isoformat(),
                      row.published_date.isoformat() if row.published_date else None,
                      None if row.verified is None else ("是" if row.verified else "否"),
                      row.title, row.url, page])
        sheet.cell(sheet.max_row, 5).fill = fills[key]
        _hyperlink(sheet.cell(sheet.max_row, 10), row.url)
        _hyperlink(sheet.cell(sheet.max_row, 11), page)
    _finish(sheet, bold, (14, 24, 18, 6, 16, 12, 12, 8, 48, 40, 40))

    matrix = book.create_sheet("覆盖矩阵")
    years = sorted({row.year for row in rows})
    matrix.append(["机构", "地区", *years])
    by_agency: dict[str, dict[int, CoverageRow]] = {}
    for row in rows:
        by_agency.setdefault(row.agency_id, {})[row.year] = row
    order = sorted(by_agency, key=lambda a: ((agencies[a].region or "") if a in agencies else "", a))
    for agency_id in order:
        agency = agencies.get(agency_id)
        cells = by_agency[agency_id]
        matrix.append([agency.name if agency else agency_id, agency.region if agency else "",
                       *(STATUS_STYLE[style_key(cells[y])][2] if y in cells else None
                         for y in years)])
        for column, year in enumerate(years, start=3):
            if year in cells:
                cell = matrix.cell(matrix.max_row, column)
                cell.fill = fills[style_key(cells[year])]
                _hyperlink(cell, report_link(public_url, cells[year].report_id) or cells[year].url)
    matrix.append([])
    matrix.append([f"截至 {as_of.isoformat()}（北京时间）"])
    for key, (label, _, mark) in STATUS_STYLE.items():
        matrix.append([label, mark])
        matrix.cell(matrix.max_row, 2).fill = fills[key]
    _finish(matrix, bold, (24, 18, *(6 for _ in years)))

    found = book.create_sheet("发现")
    found.append(FINDING_HEADERS)
    for finding in findings:
        link = finding_link(public_url, finding["id"])
        url = report_url(finding)
        found.append([finding["id"], kind_label(finding["kind"]), finding["kind"],
                      agency_label(finding), finding.get("agency_id"), finding.get("year"),
                      (finding.get("details") or {}).get("deadline"),
                      china_time(finding.get("detected_at")), sentence(finding), url, link])
        _hyperlink(found.cell(found.max_row, 10), url)
        _hyperlink(found.cell(found.max_row, 11), link)
    _finish(found, bold, (8, 16, 12, 24, 14, 6, 12, 24, 60, 40, 40))

    numbers = book.create_sheet("统计数据")
    numbers.append(["机构", "机构代码", "年度", "格式", *(h for _, h in FIGURE_COLUMNS),
                    "未通过的校验", "报告页面"])
    failed_fill = PatternFill("solid", start_color=FAILED_FILL, end_color=FAILED_FILL)
    for row in figures:
        agency = agencies.get(row["agency_id"])
        page = report_link(public_url, row["report_id"])
        numbers.append([agency.name if agency else row["agency_id"], row["agency_id"], row["year"],
                        row["format"], *(row[c] for c, _ in FIGURE_COLUMNS),
                        row.get("failed_checks") or None, page])
        if row.get("failed_checks"):
            numbers.cell(numbers.max_row, 5 + len(FIGURE_COLUMNS)).fill = failed_fill
        _hyperlink(numbers.cell(numbers.max_row, 6 + len(FIGURE_COLUMNS)), page)
    _finish(numbers, bold, (24, 14, 6, 6, *(10 for _ in FIGURE_COLUMNS), 30, 40))
    book.save(path)


def _figures(store, agency_ids: Sequence[str]) -> list[dict]:
    """report_figures rows of these agencies, each with its current version's failed checks."""
    rows = store.stats.report_figures(agency_ids=agency_ids) if agency_ids else []
    failed = {r["report_id"]: ", ".join(c["check_key"] for c in r["failed"])
              for r in store.stats.failed_current()} if rows else {}
    return [{**row, "failed_checks": failed.get(row["report_id"])} for row in rows]


def _hyperlink(cell, url: str | None) -> None:
    if url:
        cell.hyperlink = url
        cell.style = "Hyperlink"


def _finish(sheet, bold, widths: Sequence[int]) -> None:
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = bold
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _writable(ctx, param, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value!r} is a directory, not a file")
    if not path.resolve().parent.is_dir():
        raise click.BadParameter(f"the folder of {value!r} does not exist")
    return path


@click.command()
@config_option
@db_option
@click.option("--xlsx", "xlsx_path", metavar="FILE", callback=_writable,
              help="Write a workbook: coverage (coloured), coverage matrix, findings.")
@click.option("--html", "html_path", metavar="FILE", callback=_writable,
              help="Write one self-contained HTML page: the coverage picture and the findings.")
@click.option("--csv", "csv_path", metavar="FILE", callback=_writable,
              help="Write the coverage rows as CSV (UTF-8 with BOM).")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Coverage as of this day (default: today in China, Asia/Shanghai).")
@click.option("--agency", "agency_ids", multiple=True, metavar="ID",
              help="Only this agency (repeatable).")
@click.option("--region", metavar="PREFIX",
              help="Only agencies whose region starts with this (e.g. 安徽省).")
@public_url_option
def report(config_path, db_path, xlsx_path, html_path, csv_path, as_of, agency_ids, region,
           public_url) -> None:
    """Coverage and findings as files: --xlsx (a workbook), --html (a page), --csv (coverage rows)."""
    from nianbao.monitor.findings import check, today
    from nianbao.storage import Store

    if not (xlsx_path or html_path or csv_path):
        raise click.UsageError("name at least one output: --xlsx FILE, --html FILE or --csv FILE")
    db = resolve_db_path(db_path)
    if not db.exists():
        click.echo(f"nianbao: no database at {db}", err=True)
        raise SystemExit(1)
    try:
        registry = load_registry(resolve_config_path(config_path))
        selected = registry.select(list(dict.fromkeys(agency_ids)))
    except ConfigError as exc:
        fail_config(exc)
    if region:
        selected = tuple(a for a in selected if (a.region or "").startswith(region))
    agencies = {a.id: a for a in registry.agencies}
    public_url = public_url or registry.public_url
    day = as_of.date() if as_of else today()
    ids = [a.id for a in selected]
    with Store(db) as store:
        rows = check(store, registry, day, agency_ids=ids, record=False).rows if ids else []
        findings = store.findings.announced(agency_ids=ids)
        figures = _figures(store, ids) if xlsx_path else []
        if html_path:
            # the picture as served: the store's coverage view (every agency, or the region)
            write_report_html(store, html_path, public_url=public_url, region=region or "")
            click.echo(f"wrote {html_path}")
    if csv_path:
        write_csv(csv_path, rows, agencies)
        click.echo(f"wrote {csv_path}: {len(rows)} coverage rows")
    if xlsx_path:
        write_xlsx(xlsx_path, rows, agencies, findings, public_url=public_url, as_of=day,
                   figures=figures)
        click.echo(f"wrote {xlsx_path}: {len(rows)} coverage rows, {len(findings)} findings")

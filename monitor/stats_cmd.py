"""`nianbao stats`: the figures of the standard statistical tables, per report or compared.

    nianbao stats --agency ID --year Y     one report: its tables, prose figures and checks
    nianbao stats --year Y                 every agency's key figures for a year, side by side
    nianbao stats --agency ID              one agency's key figures, year by year
    nianbao stats --rebuild [--agency ID]  read the figures again from the stored raw pages

Figures come from the store (report_stats, report_checks, the report_figures view); the
crawl and `nianbao reextract` write them. `--rebuild` re-reads the raw page kept with every
report's current version with today's parser, rewrites that version's figures and checks,
and raises the `inconsistent` findings that follow; it is how a store gets figures without a
re-crawl, and never runs on its own at start-up.
"""

from __future__ import annotations

import json
import sys

import click
from rich import box
from rich.console import Console
from rich.table import Table

from nianbao.monitor.cli_options import db_option, resolve_db_path

# report_figures columns shown in a comparison (all are in --json), with short headings
# (a terminal is about 160 columns wide; each Chinese character takes two).
COMPARED = (
    ("requests_new", "新收"), ("granted", "公开"), ("partly_granted", "部分"),
    ("refused", "不予公开"), ("unable_to_provide", "无法提供"), ("not_processed", "不予处理"),
    ("handled_total", "办理总计"), ("carried_forward", "结转"), ("reconsideration_total", "复议"),
    ("litigation_direct_total", "诉讼"), ("litigation_after_reconsideration_total", "复议后诉讼"),
    ("regulations_current", "规章"), ("normative_documents_current", "规范性文件"),
)
REQUEST_HEADINGS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")
RESULT_MARKS = {"pass": "✓ pass", "fail": "✗ FAIL", "not_assessable": "? not assessable"}


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=160, no_color=True)


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@click.command()
@db_option
@click.option("--agency", "agency_id", metavar="ID", help="This agency's reports.")
@click.option("--year", type=click.IntRange(1990, 2200), metavar="Y", help="This report year.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.option("--rebuild", is_flag=True,
              help="Read the figures again from the stored raw pages (current versions).")
def stats(db_path, agency_id, year, as_json, rebuild) -> None:
    """Figures of the reports' standard statistical tables, and their arithmetic checks."""
    from nianbao.storage import Store

    path = resolve_db_path(db_path)
    if not path.exists():
        click.echo(f"nianbao: no database at {path}", err=True)
        sys.exit(2)
    with Store(path) as store:
        if agency_id is not None and not store.agencies.rows([agency_id]):
            click.echo(f"nianbao: agency {agency_id!r} is not in the store {path}", err=True)
            sys.exit(2)
        if rebuild:
            _rebuild(store, agency_id)
            return
        if agency_id is not None and year is not None:
            _one_report(store, agency_id, year, as_json)
        else:
            _compare(store, agency_id, year, as_json)


def _rebuild(store, agency_id: str | None) -> None:
    from nianbao.crawler.stats import stored_stats
    from nianbao.monitor.findings import raise_inconsistent

    agencies = [agency_id] if agency_id else None
    rows, figures, failed = store.history.stored_pages(agencies), 0, []
    for row in rows:
        report = store.db.execute("SELECT current_version, text FROM reports WHERE id = ?",
                                  (row["report_id"],)).fetchone()
        try:
            read = stored_stats(store.history.raw_page(row["raw_version_id"]),
                                row["raw_encoding"], report[1])
        except Exception as exc:  # one bad page must not stop the others; it is named
            failed.append(f"  report {row['report_id']} {row['url']}: {type(exc).__name__}: {exc}"[:300])
            continue
        figures += store.stats.replace(row["report_id"], report[0], read.figures, read.checks)
    new = raise_inconsistent(store, agencies)
    click.echo(f"Statistics read again from {len(rows)} stored page(s): {figures} figure(s); "
               f"{len(new)} new inconsistent finding(s); {len(failed)} failed.")
    for line in failed[:20]:
        click.echo(line)
    click.echo(f"Database: {store.path}")


def _one_report(store, agency_id: str, year: int, as_json: bool) -> None:
    reports = store.db.execute(
        "SELECT id, title, url, current_version FROM reports WHERE counts_for = ? AND year = ? "
        "AND kind = 'annual_report' ORDER BY coalesce(published_date, first_seen), id",
        (agency_id, year)).fetchall()
    if not reports:
        click.echo(f"No annual report of {agency_id} for {year} in the store.", err=True)
        sys.exit(1)
    wide = {r["report_id"]: r for r in store.stats.report_figures(agency_ids=[agency_id], year=year)}
    out = []
    for report_id, title, url, version in reports:
        figure = wide.get(report_id)
        out.append({"report_id": report_id, "title": title, "url": url, "version": version,
                    "format": figure["format"] if figure else None,
                    "figures": store.stats.figures(report_id), "checks": store.stats.checks(report_id)})
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    console = _console()
    for report in out:
        _print_report(console, report)


def _print_report(console: Console, report: dict) -> None:
    console.print(f"[bold]{report['title']}[/bold]  (report {report['report_id']}, version "
                  f"{report['version']}, format {report['format'] or '-'})\n{report['url']}")
    figures = report["figures"]
    if not figures:
        console.print("No figures read from this report.\n")
        return
    by_table: dict[str, list[dict]] = {}
    for f in figures:
        by_table.setdefault(f["table_key"], []).append(f)
    if "disclosure" in by_table:
        table = Table(title="二、主动公开政府信息情况", title_justify="left", box=box.SIMPLE_HEAD)
        for heading in ("row", "column", "value", "unit"):
            table.add_column(heading, justify="right" if heading == "value" else "left")
        for f in by_table["disclosure"]:
            table.add_row(f["row_label"], f["column_label"], _fmt(f["value"]), f["unit"] or "")
        console.print(table)
    if "requests" in by_table:
        table = Table(title="三、收到和处理政府信息公开申请情况", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("")
        for heading in REQUEST_HEADINGS:
            table.add_column(heading, justify="right")
        rows: dict[str, dict] = {}
        for f in by_table["requests"]:
            rows.setdefault(f["row_key"], {"label": f["row_label"]})[f["column_key"]] = f["value"]
        for key, cells in rows.items():
            path = cells["label"].split(" / ")
            sub = key.startswith(("refused_", "unable_to_provide_", "not_processed_", "other_handling_"))
            label = (path[-2][:7] + " " + path[-1]) if sub and len(path) > 1 else path[-1]
            table.add_row(label[:32], *(_fmt(cells.get(c)) for c in (
                "natural_persons", "commercial_enterprises", "research_institutions",
                "public_interest_organisations", "legal_service_agencies", "other_organisations",
                "total")))
        console.print(table)
    if "review_litigation" in by_table:
        table = Table(title="四、政府信息公开行政复议、行政诉讼情况", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("")
        for heading in ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计"):
            table.add_column(heading, justify="right")
        blocks: dict[str, dict] = {}
        for f in by_table["review_litigation"]:
            blocks.setdefault(f["row_label"], {})[f["column_key"]] = f["value"]
        for label, cells in blocks.items():
            table.add_row(label, *(_fmt(cells.get(c)) for c in (
                "upheld", "corrected", "other_result", "pending", "total")))
        console.print(table)
    for f in by_table.get("prose", []):
        console.print(f"text: {f['row_label']}: {_fmt(f['value'])}  ({f['raw']})")
    for check in report["checks"]:
        line = f"check {check['check_key']}: {RESULT_MARKS.get(check['result'], check['result'])}"
        for failure in check["details"].get("failures", []):
            line += f"\n    {json.dumps(failure, ensure_ascii=False)}"
        console.print(line, highlight=False)
    console.print("")


def _compare(store, agency_id: str | None, year: int | None, as_json: bool) -> None:
    if agency_id is None and year is None:
        latest = store.db.execute("SELECT max(year) FROM report_figures").fetchone()[0]
        year = latest
    rows = store.stats.report_figures(agency_ids=[agency_id] if agency_id else None, year=year)
    checks, assessed = {}, {}
    for row in rows:
        results = store.stats.checks(row["report_id"])
        checks[row["report_id"]] = [c["check_key"] for c in results if c["result"] == "fail"]
        assessed[row["report_id"]] = any(c["result"] != "not_assessable" for c in results)
    if as_json:
        click.echo(json.dumps([{**row, "failed_checks": checks[row["report_id"]]} for row in rows],
                              ensure_ascii=False, indent=2))
        return
    title = (f"Key figures of {agency_id}, year by year" if agency_id
             else f"Key figures of {year}, agency by agency")
    console = _console()
    if not rows:
        console.print(f"{title}: no figures in the store.")
        return
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("year" if agency_id else "agency", no_wrap=True)
    table.add_column("report", justify="right")
    table.add_column("format")
    for _, heading in COMPARED:
        table.add_column(heading, justify="right", no_wrap=True, min_width=2 * len(heading))
    table.add_column("checks", no_wrap=True)
    for row in rows:
        first = str(row["year"]) if agency_id else row["agency_id"]
        failed = checks[row["report_id"]]
        table.add_row(first, str(row["report_id"]), row["format"] or "",
                      *(_fmt(row[c]) for c, _ in COMPARED),
                      f"✗ {len(failed)} failed" if failed
                      else "ok" if assessed[row["report_id"]] else "-")
    console.print(table)
    for row in rows:
        if checks[row["report_id"]]:
            console.print(f"report {row['report_id']} ({row['agency_id']} {row['year']}): failed "
                          f"{', '.join(checks[row['report_id']])}; see nianbao stats --agency "
                          f"{row['agency_id']} --year {row['year']}", highlight=False)

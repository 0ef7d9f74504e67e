"""`nianbao check`: which annual reports are on time, late, missing or not due yet.

For people, a matrix (agencies down, years across, one mark per cell) with a total per status;
with --json, only a JSON array of rows for programs. The findings the check raises (missing,
late, turned_up, site_failing, inconsistent) are written to the store before anything is printed.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Sequence

import click
from rich.console import Console
from rich.markup import escape

from nianbao.config.registry import Agency, ConfigError, load_registry, resolve_config_path
from nianbao.monitor.cli_options import config_option, db_option, fail_config, resolve_db_path
from nianbao.monitor.coverage import LATE, MISSING, NOT_DUE, ON_TIME, STATUSES, CoverageRow

# status -> (mark, colour, label)
MARKS = {
    ON_TIME: ("✓", "green", "on time"),
    LATE: ("!", "yellow", "late"),
    MISSING: ("✗", "red", "missing"),
    NOT_DUE: ("·", "dim", "not due yet"),
}
TEXT_YEAR_MARK = "†"  # the counted report's year was read from its text, not its title
HOSTED_MARK = "↗"  # the counted report was found on another agency's site (hosted_by)
# missing, but no complete crawl of the agency since the deadline: not yet a fact
UNVERIFIED_MARK = ("?", "magenta")
CELL = 4  # width of a year column


@click.command()
@config_option
@db_option
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Compute coverage as of this day (default: today in China, Asia/Shanghai).")
@click.option("--agency", "agency_ids", multiple=True, metavar="ID",
              help="Only this agency (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of rows instead of the matrix.")
@click.option("--no-record", is_flag=True,
              help="Do not write findings (missing, late, ...) to the store.")
def check(config_path, db_path, as_of, agency_ids, as_json, no_record) -> None:
    """Coverage of the expected annual reports: on time, late, missing, not due yet.

    One row per agency and year from its start_year through the latest year whose report is
    due or has already appeared. Findings are recorded only for a day that has come.
    """
    from nianbao.monitor.findings import check as run
    from nianbao.monitor.findings import has_come, today
    from nianbao.storage import Store

    agency_ids = list(dict.fromkeys(agency_ids))  # each once, in the order given
    try:
        registry = load_registry(resolve_config_path(config_path))
        agencies = registry.select(agency_ids)
    except ConfigError as exc:
        fail_config(exc)
    day = as_of.date() if as_of else today()
    with Store(resolve_db_path(db_path)) as store:
        result = run(store, registry, day, agency_ids=agency_ids or None,
                     record=not no_record)
    if as_json:
        click.echo(json.dumps([row.to_json() for row in result.rows], ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False)
    lines = matrix_lines(result.rows, agencies, day, colour=console.is_terminal)
    for streak_agency, streak in result.failing.items():
        lines.append(_colour(
            f"Site failing: {streak_agency}: listing pages failed in {len(streak)} crawls in a "
            f"row since {streak[-1]['started_at']}; its missing reports may not be missing.",
            "red", console.is_terminal))
    for yearless_agency, count in result.yearless.items():
        lines.append(f"{yearless_agency}: {count} annual report(s) without a year are not "
                     "counted (SELECT * FROM reports WHERE year IS NULL AND kind = 'annual_report')")
    for host, issuers in result.uncounted.items():
        lines.append(f"{host}: annual report(s) on its site of issuers outside the registry count "
                     f"for nobody: {'、'.join(issuers)} (add the agency to the registry to count "
                     "them; SELECT * FROM reports WHERE counts_for IS NULL)")
    if no_record or not has_come(day):
        lines.append("No findings recorded (--no-record, or a day that has not come).")
    elif result.new_findings:
        counts = Counter(f["kind"] for f in result.new_findings)
        lines.append("New findings recorded: " + ", ".join(f"{n} {k}" for k, n in counts.items())
                     + " (see the findings table)")
    for line in lines:
        if console.is_terminal:
            console.print(line, soft_wrap=True)
        else:
            click.echo(line)


def _colour(text: str, colour: str, on: bool) -> str:
    return f"[{colour}]{escape(text)}[/{colour}]" if on else text


def matrix_lines(rows: Sequence[CoverageRow], agencies: Sequence[Agency], as_of: datetime.date,
                 *, colour: bool) -> list[str]:
    """The coverage matrix as lines of text (with rich markup when `colour`): agencies down,
    years across, a blank before an agency's start_year; then a total per status."""
    head = f"Coverage as of {as_of.isoformat()}"
    if not rows:
        return [head, "No report is expected yet of the agencies checked."]
    cells = {(row.agency_id, row.year): row for row in rows}
    years = range(min(a.start_year for a in agencies), max(row.year for row in rows) + 1)
    width = max(len("agency"), *(len(a.id) for a in agencies))
    lines = [head, f"{'agency':<{width}} " + " ".join(f"{y:^{CELL}}" for y in years)]
    for agency_id, name in ((a.id, a.name) for a in agencies):
        marks = []
        for year in years:
            row = cells.get((agency_id, year))
            if row is None:
                marks.append(" " * CELL)
                continue
            mark, hue, _ = MARKS[row.status]
            if row.status == MISSING and row.verified is False:
                mark, hue = UNVERIFIED_MARK
            dagger = TEXT_YEAR_MARK if row.year_basis == "text" else ""
            hosted = HOSTED_MARK if row.hosted_by else ""
            marks.append(_colour(f"{mark + dagger + hosted:^{CELL}}", hue, colour))
        lines.append(f"{agency_id:<{width}} " + " ".join(marks) + f"  {_colour(name, 'dim', colour)}")
    totals = Counter(row.status for row in rows)
    lines.append("   ".join(
        _colour(f"{MARKS[s][0]} {MARKS[s][2]} {totals.get(s, 0)}", MARKS[s][1], colour)
        for s in STATUSES))
    unverified = sum(1 for row in rows if row.status == MISSING and row.verified is False)
    if unverified:
        lines.append(_colour(
            f"{UNVERIFIED_MARK[0]} missing, but no crawl has fetched the agency's listings since "
            f"the deadline ({unverified} of the missing): not raised as findings yet",
            UNVERIFIED_MARK[1], colour))
    if any(row.year_basis == "text" for row in rows):
        lines.append(f"{TEXT_YEAR_MARK} the report's year was read from its text (the title "
                     "names another year or none)")
    hosted = sorted({(row.agency_id, row.year, row.hosted_by) for row in rows if row.hosted_by})
    if hosted:
        lines.append(f"{HOSTED_MARK} the report counted was found on another agency's site: "
                     + ", ".join(f"{a} {y} at {h}" for a, y, h in hosted))
    return lines

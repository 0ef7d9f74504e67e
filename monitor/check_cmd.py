"""`nianbao check`: which annual reports are on time, late, missing or not due yet.

For people, a matrix (agencies down, years across, one mark per cell) with a total per status;
with --json, only a JSON array of rows for programs (--jsonl: one JSON object per line). The
findings the check raises (missing, late, turned_up, site_failing, inconsistent) are written to the store
before anything is printed. Rows are computed by SQL and streamed from a cursor: at 150,000
agencies x 18 years no list of 2.7 M rows is ever built.
"""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path
from collections import Counter
from collections.abc import Iterable, Sequence

import click
from rich.console import Console
from rich.markup import escape

from nianbao.config.registry import Agency, ConfigError, load_registry, resolve_config_path
from nianbao.monitor.cli_options import config_option, db_option, fail_config, resolve_db_path
from nianbao.monitor.coverage import LATE, MISSING, NOT_DUE, ON_TIME, STATUSES

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
@click.option("--jsonl", "as_jsonl", is_flag=True,
              help="Print one JSON object per row and line (JSON Lines) instead of the matrix.")
@click.option("--no-record", is_flag=True,
              help="Do not write findings (missing, late, ...) to the store.")
def check(config_path, db_path, as_of, agency_ids, as_json, as_jsonl, no_record) -> None:
    """Coverage of the expected annual reports: on time, late, missing, not due yet.

    One row per agency and year from its start_year through the latest year whose report is
    due or has already appeared. Findings are recorded only for a day that has come.
    """
    from nianbao.monitor.check_registry import registry_for_check
    from nianbao.monitor.findings import has_come, start_check, today
    from nianbao.storage import Store

    agency_ids = list(dict.fromkeys(agency_ids))  # each once, in the order given
    config_file = resolve_config_path(config_path)
    db_file = Path(resolve_db_path(db_path))
    registry = None
    try:
        if not db_file.exists():  # a new store: the file is validated before it is created
            registry = load_registry(config_file)
            registry.select(agency_ids)
    except ConfigError as exc:
        fail_config(exc)
    day = as_of.date() if as_of else today()
    with Store(db_file) as store:
        try:
            # an unchanged registry is read from the store (monitor/check_registry.py)
            registry = registry or registry_for_check(config_file, store)
            agencies = registry.select(agency_ids)
        except ConfigError as exc:
            fail_config(exc)
        result = start_check(store, registry, day, agency_ids=agency_ids or None,
                             record=not no_record)
        if as_json or as_jsonl:
            write_json(result.json_rows(), lines=as_jsonl)
            return
        console = Console(highlight=False)
        codes = result.mark_codes()
        hosted = result.hosted_cells(
            [agency_id for agency_id, _, cells in codes if cells and "h" in cells[2::3]])
        lines = matrix_lines(codes, hosted, agencies, day, colour=console.is_terminal)
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
    if console.is_terminal:
        for line in lines:
            console.print(line, soft_wrap=True)
    else:
        write_lines(lines)


def write_lines(lines: Iterable[str]) -> None:
    """Lines to stdout in large writes (click.echo per line costs seconds at 150,000)."""
    out = sys.stdout
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= 4096:
            out.write("\n".join(chunk) + "\n")
            chunk = []
    if chunk:
        out.write("\n".join(chunk) + "\n")
    out.flush()


def write_json(rows: Iterable[str], *, lines: bool) -> None:
    """JSON objects (as text) as one JSON array, an object per line, or as JSON Lines."""
    if lines:
        write_lines(rows)
        return
    out = sys.stdout
    out.write("[")
    first = True
    chunk: list[str] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= 4096:
            out.write(("\n" if first else ",\n") + ",\n".join(chunk))
            first, chunk = False, []
    if chunk:
        out.write(("\n" if first else ",\n") + ",\n".join(chunk))
        first = False
    out.write("]\n" if first else "\n]\n")
    out.flush()


def _colour(text: str, colour: str, on: bool) -> str:
    return f"[{colour}]{escape(text)}[/{colour}]" if on else text


# the status letter of a cell's code (storage/coverage_sql.MARK_CODES) -> (status, verified)
CELL_CODE = re.compile("...")  # one cell's code
CODE_STATUS = {"o": (ON_TIME, None), "l": (LATE, None), "m": (MISSING, True),
               "u": (MISSING, False), "n": (NOT_DUE, None)}


def matrix_lines(codes: Iterable[tuple[str, int, str | None]],
                 hosted_cells: Sequence[tuple[str, int, str]], agencies: Sequence[Agency],
                 as_of: datetime.date, *, colour: bool) -> list[str]:
    """The coverage matrix as lines of text (with rich markup when `colour`): agencies down,
    years across, a blank before an agency's start_year; then a total per status.

    codes: per agency, (id, first year, 3 characters per cell or None), as
    `CheckRun.mark_codes` gives them; hosted_cells: (agency, year, host) of the cells counted
    from another agency's site."""
    head = f"Coverage as of {as_of.isoformat()}"
    by_agency = {agency_id: (first, cells) for agency_id, first, cells in codes if cells}
    if not by_agency:
        return [head, "No report is expected yet of the agencies checked."]
    last_year = max(first + len(cells) // 3 - 1 for first, cells in by_agency.values())
    years = range(min(a.start_year for a in agencies), last_year + 1)
    width = max(len("agency"), *(len(a.id) for a in agencies))
    lines = [head, f"{'agency':<{width}} " + " ".join(f"{y:^{CELL}}" for y in years)]
    rendered: dict[str, str] = {}  # a cell's code -> its text (a few dozen distinct codes)
    # (first year, codes) -> the row's cells as text, and how many agencies have that row:
    # many agencies share a row (all on time, say), which is then rendered once.
    row_text: dict[tuple[int, str], str] = {}
    rows: Counter = Counter()
    blank = " " * CELL
    for agency_id, name in ((a.id, a.name) for a in agencies):
        key = by_agency.get(agency_id, (years.start, ""))
        text = row_text.get(key)
        if text is None:
            first, cells = key
            marks = [blank] * (first - years.start)
            # capitals: a finding was due (written by now). findall and map keep the
            # per-cell work in C: 2.7 M cells at national scale.
            codes_of_cells = CELL_CODE.findall(cells.lower())
            for code in set(codes_of_cells) - rendered.keys():
                status, verified = CODE_STATUS[code[0]]
                mark, hue, _ = MARKS[status]
                if verified is False:
                    mark, hue = UNVERIFIED_MARK
                dagger = TEXT_YEAR_MARK if code[1] == "t" else ""
                arrow = HOSTED_MARK if code[2] == "h" else ""
                rendered[code] = _colour(f"{mark + dagger + arrow:^{CELL}}", hue, colour)
            marks += map(rendered.__getitem__, codes_of_cells)
            marks += [blank] * (len(years) - len(marks))
            text = row_text[key] = " ".join(marks)
        rows[key[1]] += 1
        lines.append(f"{agency_id:<{width}} {text}  {_colour(name, 'dim', colour)}")
    totals: Counter = Counter()
    text_year = False
    for cells, agencies_with_row in rows.items():
        for letter, count in Counter(cells[0::3].lower()).items():
            totals[letter] += count * agencies_with_row
        text_year = text_year or "t" in cells[1::3]
    by_status = Counter()
    for letter, count in totals.items():
        by_status[CODE_STATUS[letter][0]] += count
    lines.append("   ".join(
        _colour(f"{MARKS[s][0]} {MARKS[s][2]} {by_status.get(s, 0)}", MARKS[s][1], colour)
        for s in STATUSES))
    unverified = totals.get("u", 0)
    if unverified:
        lines.append(_colour(
            f"{UNVERIFIED_MARK[0]} missing, but no crawl has fetched the agency's listings since "
            f"the deadline ({unverified} of the missing): not raised as findings yet",
            UNVERIFIED_MARK[1], colour))
    if text_year:
        lines.append(f"{TEXT_YEAR_MARK} the report's year was read from its text (the title "
                     "names another year or none)")
    if hosted_cells:
        lines.append(f"{HOSTED_MARK} the report counted was found on another agency's site: "
                     + ", ".join(f"{a} {y} at {h}" for a, y, h in sorted(hosted_cells)))
    return lines

"""`nianbao diff REPORT_ID [V1 V2]`: what changed between two versions of a report, in the terminal.

The same computation as the diff page of `nianbao serve` (monitor/text_diff.py). On a
terminal, removed lines are red, added lines green, and the changed characters inside an
edited line are shown reversed; without a terminal (a pipe, a file) the lines start with
`-`, `+` or `~` and the changed characters are marked `[-old-]` and `{+new+}`, so they
still stand out. The store is opened read-only: nothing is written, and a mistyped --db
is an error, never a new empty file.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from nianbao.monitor.cli_options import db_option, resolve_db_path
from nianbao.monitor.text_diff import Line, Segment, TextDiff, diff_texts, token_opcodes, tokens

NOT_FOUND_EXIT = 1


def open_readonly(path: Path) -> sqlite3.Connection:
    """The store file opened read-only (mode=ro: it cannot be created, written or locked)."""
    if not path.is_file():
        raise click.UsageError(f"no database at {str(path)!r}")
    connection = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, timeout=10)
    connection.row_factory = sqlite3.Row
    return connection


def load_versions(connection: sqlite3.Connection, report_id: int,
                  v1: int | None, v2: int | None) -> tuple[sqlite3.Row, sqlite3.Row, sqlite3.Row]:
    """The report and its two versions: v1 and v2, or by default the one before the current
    and the current. Raises click.ClickException naming what does not exist."""
    report = connection.execute(
        "SELECT id, agency_id, title, url, current_version FROM reports WHERE id = ?",
        (report_id,)).fetchone()
    if report is None:
        raise click.ClickException(f"no report {report_id}")
    if v1 is None:
        v2 = report["current_version"]
        v1 = max(v2 - 1, 1)
    found = {}
    for number in (v1, v2):
        row = connection.execute(
            "SELECT version, title, text, fetched_at, source FROM versions "
            "WHERE report_id = ? AND version = ?", (report_id, number)).fetchone()
        if row is None:
            raise click.ClickException(
                f"report {report_id} has no version {number} (versions 1 to "
                f"{report['current_version']})")
        found[number] = row
    return report, found[v1], found[v2]


def _segments(parts: tuple[Segment, ...], colour: str, marks: tuple[str, str], styled: bool) -> str:
    out = []
    for part in parts:
        if not part.changed:
            out.append(click.style(part.text, fg=colour) if styled else part.text)
        elif styled:
            out.append(click.style(part.text, fg=colour, reverse=True, bold=True))
        else:
            out.append(f"{marks[0]}{part.text}{marks[1]}")
    return "".join(out)


def render_line(line: Line, styled: bool) -> list[str]:
    """The terminal lines for one diff line; styled: with ANSI colours."""
    if line.kind == "equal":
        return [f"  {line.text}"]
    if line.kind == "skipped":
        text = f"  … {line.count} unchanged line(s)"
        return [click.style(text, dim=True) if styled else text]
    if line.kind == "removed":
        return [click.style(f"- {line.text}", fg="red") if styled else f"- {line.text}"]
    if line.kind == "added":
        return [click.style(f"+ {line.text}", fg="green") if styled else f"+ {line.text}"]
    if styled:
        return [click.style("- ", fg="red") + _segments(line.old, "red", ("", ""), True),
                click.style("+ ", fg="green") + _segments(line.new, "green", ("", ""), True)]
    # One line, wdiff style: the unchanged text once, each change as [-old-]{+new+}.
    return ["~ " + inline_marks(line)]


def inline_marks(line: Line) -> str:
    """An edited line as one string with its changes marked [-removed-]{+added+}."""
    old = "".join(part.text for part in line.old)
    new = "".join(part.text for part in line.new)
    old_tokens, new_tokens = tokens(old), tokens(new)
    out = []
    for tag, i1, i2, j1, j2 in token_opcodes(old_tokens, new_tokens):
        if tag == "equal":
            out.append("".join(old_tokens[i1:i2]))
            continue
        if i2 > i1:
            out.append("[-" + "".join(old_tokens[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + "".join(new_tokens[j1:j2]) + "+}")
    return "".join(out)


def render(diff: TextDiff, styled: bool) -> list[str]:
    return [text for line in diff.lines for text in render_line(line, styled)]


@click.command()
@db_option
@click.argument("report_id", type=click.IntRange(min=1))
@click.argument("versions", nargs=-1, type=click.IntRange(min=1), metavar="[V1 V2]")
@click.option("--all-lines", is_flag=True, help="Show every unchanged line too.")
@click.option("--color/--no-color", "colour", default=None,
              help="Colours (default: only on a terminal).")
def diff(db_path, report_id, versions, all_lines, colour) -> None:
    """What changed in report REPORT_ID between versions V1 and V2 (default: the current
    version and the one before). REPORT_ID as in the reports table (reports.id)."""
    if len(versions) not in (0, 2):
        raise click.UsageError("give two versions (V1 V2) or none")
    v1, v2 = versions if versions else (None, None)
    connection = open_readonly(resolve_db_path(db_path))
    try:
        report, old, new = load_versions(connection, report_id, v1, v2)
    finally:
        connection.close()
    styled = sys.stdout.isatty() if colour is None else colour
    result = diff_texts(old["text"], new["text"], context=None if all_lines else 2)
    click.echo(f"report {report['id']} {report['agency_id']}: {new['title']}", color=styled)
    click.echo(report["url"])
    click.echo(f"version {old['version']} ({old['fetched_at']}, {old['source']}) -> "
               f"version {new['version']} ({new['fetched_at']}, {new['source']}): "
               f"{result.lines_removed} line(s) removed, {result.lines_added} added")
    if old["title"] != new["title"]:
        click.echo(f"title: {old['title']} -> {new['title']}")
    if result.unchanged:
        click.echo("the texts are the same")
        return
    for text in render(result, styled):
        click.echo(text, color=styled)

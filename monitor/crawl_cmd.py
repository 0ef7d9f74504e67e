"""`nianbao crawl`: crawl the agencies' listing pages and store every report found."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from nianbao.config.registry import ConfigError, load_registry, resolve_config_path
from nianbao.monitor.cli_options import (
    SCRAPY_SETTING,
    config_option,
    db_option,
    fail_config,
    log_level_choice,
    resolve_db_path,
)


@click.command()
@config_option
@db_option
@click.option("--agency", "agency_ids", multiple=True, metavar="ID", help="Crawl only this agency (repeatable).")
@click.option("-s", "--set", "overrides", multiple=True, type=SCRAPY_SETTING,
              help="Override a Scrapy setting.")
@click.option("--log-level", type=log_level_choice, default="WARNING", show_default=True,
              help="Scrapy log level.")
def crawl(config_path, db_path, agency_ids, overrides, log_level) -> None:
    """Crawl the agencies' listing pages and store every report found."""
    config = resolve_config_path(config_path)
    db = resolve_db_path(db_path)
    try:
        registry = load_registry(config)
        registry.select(list(agency_ids))
    except ConfigError as exc:
        fail_config(exc)
    settings_overrides = {"LOG_LEVEL": log_level}
    for item in overrides:  # NAME=VALUE, checked by SCRAPY_SETTING
        name, _, value = item.partition("=")
        settings_overrides[name] = value

    from nianbao.crawler.runner import crawl_settings, run_crawl  # Scrapy is slow to import: only here

    crawl_id = run_crawl(crawl_settings(config, db, settings_overrides), agency_ids, registry)
    if crawl_id is None:
        click.echo("The crawl did not start; see the log above.", err=True)
        sys.exit(1)
    print_crawl_summary(db, crawl_id)


def print_crawl_summary(db_path: Path, crawl_id: int) -> None:
    """One line per agency: a table on a terminal, plain aligned text when piped."""
    from nianbao.storage import Store

    with Store(db_path) as store:
        rows = store.crawls.summary(crawl_id)
    headers = ("agency", "name", "reports found", "new", "changed", "removed", "held",
               "fetch errors")
    cells = [
        (row.agency_id, row.name, row.reports_found, row.new, row.changed, row.removed, row.held,
         row.fetch_errors)
        for row in rows
    ]
    console = Console()
    if console.is_terminal:
        table = Table(title=f"Crawl {crawl_id}", title_justify="left")
        for header in headers:
            table.add_column(header, justify="left" if header in ("agency", "name") else "right")
        for cell in cells:
            errors = f"[red]{cell[-1]}[/red]" if cell[-1] else "0"
            table.add_row(*map(str, cell[:-1]), errors)
        console.print(table)
    else:
        click.echo(f"Crawl {crawl_id}")
        click.echo("\t".join(headers))
        for cell in cells:
            click.echo("\t".join(map(str, cell)))
    failing = [row.agency_id for row in rows if row.fetch_errors]
    if failing:
        click.echo(
            f"Fetch errors at {', '.join(failing)}: see "
            f"SELECT * FROM fetch_log WHERE crawl_id = {crawl_id} AND (error IS NOT NULL OR status >= 400)"
        )
    held = sum(row.held for row in rows)
    if held:
        click.echo(f"{held} removal(s) or changed text(s) held until a later crawl confirms them: "
                   "see SELECT * FROM pending_findings WHERE resolved_at IS NULL")
    click.echo(f"Database: {db_path}")

"""The `nianbao` command.

Paths: the config comes from --config, else $NIANBAO_CONFIG, else config/agencies.yaml; the
database from --db, else $NIANBAO_DB, else nianbao.db. A bad config exits with status 2 and one
line naming the file, the agency and the field.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from config.registry import ConfigError, load_registry, resolve_config_path

DB_ENV_VAR = "NIANBAO_DB"
DEFAULT_DB = "nianbao.db"
CONFIG_ERROR_EXIT = 2


def resolve_db_path(cli_value: str | None) -> Path:
    """`--db`, else `$NIANBAO_DB`, else `nianbao.db`."""
    return Path(cli_value or os.environ.get(DB_ENV_VAR) or DEFAULT_DB)


config_option = click.option("--config", "config_path", metavar="FILE", help="Agency registry (YAML).")
db_option = click.option("--db", "db_path", metavar="FILE", help="SQLite database.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """nianbao: monitor Chinese government annual reports on open government information."""


@main.command()
@config_option
@db_option
@click.option("--agency", "agency_ids", multiple=True, metavar="ID", help="Crawl only this agency (repeatable).")
@click.option("-s", "--set", "overrides", multiple=True, metavar="NAME=VALUE", help="Override a Scrapy setting.")
@click.option("--log-level", default="WARNING", show_default=True, help="Scrapy log level.")
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
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="-s")
        settings_overrides[name] = value

    from crawler.runner import crawl_settings, run_crawl  # Scrapy is slow to import: only here

    crawl_id = run_crawl(crawl_settings(config, db, settings_overrides), agency_ids, registry)
    if crawl_id is None:
        click.echo("The crawl did not start; see the log above.", err=True)
        sys.exit(1)
    print_crawl_summary(db, crawl_id)


def fail_config(exc: ConfigError) -> None:
    click.echo(f"nianbao: config error: {exc}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


def print_crawl_summary(db_path: Path, crawl_id: int) -> None:
    """One line per agency: a table on a terminal, plain aligned text when piped."""
    from storage import Store

    with Store(db_path) as store:
        rows = store.crawl_summary(crawl_id)
    headers = ("agency", "name", "reports found", "new", "changed", "removed", "fetch errors")
    cells = [
        (row.agency_id, row.name, row.reports_found, row.new, row.changed, row.removed, row.fetch_errors)
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
    click.echo(f"Database: {db_path}")


def _register_commands() -> None:
    from monitor.check_cmd import check
    from monitor.daemon_cmd import daemon, notify, status

    for command in (check, daemon, status, notify):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()

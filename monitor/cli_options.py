"""What every `nianbao` command shares: the --config/--db options, path rules, config errors.

The commands (crawl_cmd, check_cmd, daemon_cmd) import this module; `nianbao.cli` imports the
commands. Nothing here imports a command, so there is no cycle.

Paths: the config comes from --config, else $NIANBAO_CONFIG, else config/agencies.yaml; the
database from --db, else $NIANBAO_DB, else nianbao.db. A bad config exits with status 2 and one
line naming the file, the agency and the field; a bad option value is click's usage error
(also status 2), raised while the options are parsed, before anything is read or written.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import NoReturn

import click

from nianbao.config.registry import (
    CONFIG_ENV_VAR,
    ConfigError,
    Registry,
    load_registry,
    resolve_config_path,
)

DB_ENV_VAR = "NIANBAO_DB"
DEFAULT_DB = "nianbao.db"
CONFIG_ERROR_EXIT = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SETTING_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # fullmatch


def _not_empty(ctx, param, value: str | None) -> str | None:
    # An empty --config or --db would otherwise fall back to the default path unseen.
    if value is not None and not value.strip():
        raise click.BadParameter("must not be empty")
    return value


def _db_file(ctx, param, value: str | None) -> str | None:
    value = _not_empty(ctx, param, value)
    if value is not None and Path(value).is_dir():
        raise click.BadParameter(f"{value!r} is a directory, not a database file")
    return value


# The registry file itself is checked when it is read (load_registry), like $NIANBAO_CONFIG
# and the default path, so that every bad file is the same one-line config error.
config_option = click.option("--config", "config_path", metavar="FILE", envvar=CONFIG_ENV_VAR,
                             show_envvar=True, callback=_not_empty,
                             help="Agency registry (YAML).")
db_option = click.option("--db", "db_path", metavar="FILE", envvar=DB_ENV_VAR, show_envvar=True,
                         callback=_db_file, help="SQLite database.")
log_level_choice = click.Choice(LOG_LEVELS, case_sensitive=False)


def _public_url(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    from nianbao.config.subscriptions import check_public_url

    try:
        return check_public_url(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


public_url_option = click.option(
    "--public-url", "public_url", metavar="URL", callback=_public_url,
    help="Where the store is served (nianbao serve behind your web server), for links in "
         "messages: {URL}/nianbao/findings/{id}, {URL}/-/report/{id}. Overrides the "
         "registry's public_url.")


class ScrapySetting(click.ParamType):
    """NAME=VALUE for a Scrapy setting; NAME is an identifier (DOWNLOAD_DELAY), VALUE any text."""

    name = "NAME=VALUE"

    def convert(self, value, param, ctx):
        name, sep, _ = str(value).partition("=")
        if not sep:
            self.fail(f"{value!r} is not NAME=VALUE", param, ctx)
        if not SETTING_NAME_RE.fullmatch(name):
            self.fail(f"{name!r} is not a setting name such as DOWNLOAD_DELAY", param, ctx)
        return value


SCRAPY_SETTING = ScrapySetting()


def resolve_db_path(cli_value: str | None) -> Path:
    """`--db`, else `$NIANBAO_DB`, else `nianbao.db`."""
    return Path(cli_value or os.environ.get(DB_ENV_VAR) or DEFAULT_DB)


def resolve_paths(config_path: str | None, db_path: str | None) -> tuple[Path, Path]:
    """The config and database paths that --config and --db (or their defaults) name."""
    return resolve_config_path(config_path), resolve_db_path(db_path)


def fail_config(exc: ConfigError) -> NoReturn:
    """Print the one-line config error and exit with status 2."""
    click.echo(f"nianbao: config error: {exc}", err=True)
    sys.exit(CONFIG_ERROR_EXIT)


def load_or_fail(config: Path) -> Registry:
    """The validated registry, or the one-line error and exit 2."""
    try:
        return load_registry(config)
    except ConfigError as exc:
        fail_config(exc)

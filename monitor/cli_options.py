"""What every `nianbao` command shares: the --config/--db options, path rules, config errors.

The commands (crawl_cmd, check_cmd, daemon_cmd) import this module; `nianbao.cli` imports the
commands. Nothing here imports a command, so there is no cycle.

Paths: the config comes from --config, else $NIANBAO_CONFIG, else config/agencies.yaml; the
database from --db, else $NIANBAO_DB, else nianbao.db. A bad config exits with status 2 and one
line naming the file, the agency and the field.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from nianbao.config.registry import ConfigError, Registry, load_registry, resolve_config_path

DB_ENV_VAR = "NIANBAO_DB"
DEFAULT_DB = "nianbao.db"
CONFIG_ERROR_EXIT = 2

config_option = click.option("--config", "config_path", metavar="FILE", help="Agency registry (YAML).")
db_option = click.option("--db", "db_path", metavar="FILE", help="SQLite database.")


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

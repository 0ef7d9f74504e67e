"""The Datasette instance of `nianbao serve`: the store, read-only, with nianbao's metadata and pages.

Read-only by construction: Datasette opens a mutable file with `mode=ro` for its reads; the
connection below also refuses Datasette's write connection and sets `query_only`, so no
request (a canned query, `?sql=`, a plugin) can write or take a write lock. It is not opened
`immutable`: that tells SQLite the file never changes, which is false for the store a crawler
is writing (WAL), and would serve stale or torn pages.
"""

from __future__ import annotations

import sqlite3
from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm

from nianbao.web import plugin

DATABASE_NAME = "nianbao"  # the name metadata.yml describes, whatever the file is called
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
READ_BUSY_TIMEOUT_S = 10
SETTINGS = {
    # The coverage view and the short-word scan read every report: give them time.
    "sql_time_limit_ms": 5000,
    "facet_time_limit_ms": 500,
    "default_page_size": 50,
}


class ReadOnlyDatabase(Database):
    """A store file Datasette may only read."""

    def __init__(self, ds: Datasette, path: Path):
        super().__init__(ds, path=str(path), is_mutable=True)

    def connect(self, write: bool = False) -> sqlite3.Connection:
        if write:
            raise PermissionError("nianbao serve is read-only: no write connection")
        connection = super().connect(write=False)  # file:...?mode=ro
        connection.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_S * 1000}")
        connection.execute("PRAGMA query_only = 1")
        return connection


def load_metadata() -> dict[str, Any]:
    """storage/metadata.yml, with links to nianbao's pages on the home page."""
    text = files("nianbao.storage").joinpath("metadata.yml").read_text(encoding="utf-8")
    metadata = yaml.safe_load(text)
    metadata["description_html"] = (
        f"<p>{escape(metadata.get('description', ''))}</p>"
        "<p><a href=\"/-/coverage\">覆盖情况 Coverage picture</a> · "
        "<a href=\"/nianbao/reports\">报告 Reports</a> · "
        "<a href=\"/nianbao/search\">全文搜索 Search</a> (3 characters or more) · "
        "<a href=\"/nianbao/search_short\">短词搜索 Search a 2-character word</a> · "
        "<a href=\"/nianbao/recent_findings\">最近发现 Recent findings</a></p>")
    return metadata


def quiet_client_errors() -> None:
    """Datasette 0.65 prints a full traceback with every local variable for each 404 or bad
    query when `rich` is importable (nianbao depends on it): any visitor could fill the
    server's log. Without it, Datasette prints a traceback only for real errors (500)."""
    import datasette.handle_exception

    datasette.handle_exception.rich = None


def register_plugin() -> None:
    if not pm.is_registered(plugin):
        pm.register(plugin, name="nianbao-web")


def make_datasette(db_path: str | Path) -> Datasette:
    """Datasette on the store at db_path, read-only, as `nianbao serve` runs it."""
    path = Path(db_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no database at {str(path)!r}")
    register_plugin()
    quiet_client_errors()
    ds = Datasette(
        files=[],
        metadata=load_metadata(),
        template_dir=str(TEMPLATES),
        static_mounts=[("-/nianbao-static", str(STATIC))],
        settings=SETTINGS,
    )
    ds.add_database(ReadOnlyDatabase(ds, path), name=DATABASE_NAME)
    return ds

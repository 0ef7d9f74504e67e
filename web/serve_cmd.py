"""`nianbao serve`: browse the store in Datasette, read-only, on 127.0.0.1 unless told otherwise.

Datasette is imported when the command runs (it is the `datasette` extra), so the rest of
the CLI starts without it.
"""

from __future__ import annotations

import ipaddress
import sys

import click

from nianbao.monitor.cli_options import db_option, resolve_db_path

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8001


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@db_option
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on (0.0.0.0: every interface, i.e. the network).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
def serve(db_path, host, port) -> None:
    """Browse the store in Datasette, read-only: tables, full-text search (?_search=), canned
    queries, the coverage picture (/-/coverage), reports as documents and diffs of versions.

    The store is opened read-only (mode=ro, query_only): a running crawl or daemon goes on
    writing, never locked out. Pending schema steps are applied once before serving.
    """
    try:
        import uvicorn

        from nianbao.web.app import make_datasette
    except ImportError as exc:  # the datasette extra is not installed
        raise click.ClickException(f"{exc}: install nianbao with the datasette extra "
                                   "(pip install -e '.[datasette]')") from None
    from nianbao.storage import Store

    path = resolve_db_path(db_path)
    if not path.is_file():
        raise click.UsageError(f"no database at {str(path)!r} (crawl first: nianbao crawl --db ...)")
    # The search index and the schema the pages read come from migrations: apply what is
    # pending now, before Datasette opens the file read-only.
    with Store(path) as store:
        if store.applied_migrations:
            click.echo(f"nianbao: applied schema step(s) {', '.join(store.applied_migrations)}",
                       err=True)
    if not _is_loopback(host):
        click.echo(f"nianbao: serving on {host}: reachable from the network, read-only", err=True)
    ds = make_datasette(path)
    click.echo(f"nianbao: serving {path} read-only at http://{host}:{port}/ "
               "(coverage: /-/coverage)", err=True)
    sys.stderr.flush()
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")

"""`nianbao daemon` and `nianbao status` (to be implemented)."""

import click


@click.command()
def daemon() -> None:
    """Run the long-lived monitor (not implemented yet)."""
    raise SystemExit("not implemented")


@click.command()
def status() -> None:
    """Is a daemon running; last and next crawl per agency (not implemented yet)."""
    raise SystemExit("not implemented")

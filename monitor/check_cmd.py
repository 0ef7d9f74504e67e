"""`nianbao check` (to be implemented)."""

import click


@click.command()
def check() -> None:
    """Coverage of the expected annual reports (not implemented yet)."""
    raise SystemExit("not implemented")

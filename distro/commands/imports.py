"""`distro import`: load loggibud, CVRPLIB/Solomon and orders CSV files into the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import click

from distro.backbone.errors import DistroError, ImportFileError
from distro.backbone.imports import ImportResult, import_cvrplib, import_loggibud, import_orders_csv
from distro.commands.demo import parse_day
from distro.db import get_engine, session_scope, upgrade_database

EXIT_BAD_FILE = 2
"""Exit status when the file has bad rows (nothing was imported)."""


@click.group(name="import")
def import_group() -> None:
    """Import delivery stops and orders from files (all or nothing per file)."""


def _run(
    importer: Callable[..., ImportResult], path: Path, day: date | None, **options: object
) -> None:
    """Run one importer in its own transaction, print the counts or every bad row."""
    upgrade_database()
    try:
        with session_scope(get_engine()) as session:
            result = importer(session, path, day or date.today(), **options)
    except ImportFileError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        for row in exc.details.get("rows", []):
            click.echo(f"  row {row['row']}: {row['reason']}", err=True)
        raise SystemExit(EXIT_BAD_FILE) from exc
    except DistroError as exc:
        raise click.ClickException(exc.message) from exc
    for line in result.lines():
        click.echo(line)


DAY_OPTION = click.option(
    "--day",
    callback=parse_day,
    metavar="YYYY-MM-DD",
    help="Delivery day of the imported stops. Default: today.",
)
FILE_ARGUMENT = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@import_group.command()
@FILE_ARGUMENT
@DAY_OPTION
@click.option(
    "--replace",
    is_flag=True,
    help="Cancel the stops of an earlier import of this instance and day first.",
)
def loggibud(file: Path, day: date | None, replace: bool) -> None:
    """Import a loggibud CVRP JSON instance as one day of stops with a fleet."""
    _run(import_loggibud, file, day, replace=replace)


@import_group.command()
@FILE_ARGUMENT
@DAY_OPTION
@click.option(
    "--replace",
    is_flag=True,
    help="Cancel the stops of an earlier import of this instance and day first.",
)
def cvrplib(file: Path, day: date | None, replace: bool) -> None:
    """Import a CVRPLIB .vrp or Solomon .txt instance as one day of stops with a fleet."""
    _run(import_cvrplib, file, day, replace=replace)


@import_group.command()
@FILE_ARGUMENT
@DAY_OPTION
def orders(file: Path, day: date | None) -> None:
    """Import dealer orders and delivery stops from a CSV file (see docs/import-formats.md)."""
    _run(import_orders_csv, file, day)


if __name__ == "__main__":
    import_group()

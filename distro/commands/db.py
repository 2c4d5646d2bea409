"""`distro db`: create and migrate the database."""

from __future__ import annotations

import click

from distro.db import mask_url, upgrade_database
from distro.settings import get_settings


@click.group()
def db() -> None:
    """Create or migrate the configured database (DISTRO_DATABASE_URL)."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration; creates the SQLite file when it is missing."""
    url = get_settings().database_url
    upgrade_database(url)
    click.echo(f"Database is up to date: {mask_url(url)}")

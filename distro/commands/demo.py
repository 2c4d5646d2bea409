"""`distro demo`: build the demo network on the configured database."""

from __future__ import annotations

from datetime import date, datetime

import click
from sqlmodel import Session

from distro.backbone.accounts import create_demo_users
from distro.backbone.errors import ValidationError
from distro.db import get_engine, mask_url, session_scope, upgrade_database
from distro.demo import clear_database, database_is_empty, generate_demo
from distro.settings import REPO_ROOT, get_settings

DEMO_SIGN_INS_PATH = REPO_ROOT / "data" / "demo-sign-ins.txt"
"""Where `distro demo` keeps the demo users' passwords for the embedded SQLite database."""


def parse_day(
    _context: click.Context, _parameter: click.Parameter, value: str | None
) -> date | None:
    """Click callback: turn YYYY-MM-DD into a date, or stop with a usage error."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, for example 2026-03-02"
        ) from exc


@click.command()
@click.option(
    "--seed",
    type=int,
    default=7,
    show_default=True,
    help="Seed of the random choices; the same seed builds the same rows.",
)
@click.option(
    "--day",
    callback=parse_day,
    metavar="YYYY-MM-DD",
    help="Delivery day of the orders and shifts. Default: today.",
)
@click.option(
    "--reset", is_flag=True, help="Delete every row of every table first (events included)."
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Build the network only when the database has no data; otherwise keep it and exit 0.",
)
def demo(seed: int, day: date | None, reset: bool, if_empty: bool) -> None:
    """Build the demo network: a depot, 240 dealers, 36 products, 23 riders and 320 orders.

    Also creates one sign-in user per role (demo-dealer, demo-dispatcher, ...) and prints
    their passwords.
    """
    url = get_settings().database_url
    upgrade_database(url)
    engine = get_engine()

    with Session(engine) as session:
        empty = database_is_empty(session)
    if not empty and if_empty and not reset:
        click.echo(f"The database {mask_url(url)} already contains data; keeping it.")
        return
    if not empty and not reset:
        raise click.ClickException(
            f"The database {mask_url(url)} already contains data. Run `distro demo --reset` to "
            "delete every row first, or set DISTRO_DATABASE_URL to another database."
        )
    if reset:
        clear_database(engine)
        click.echo(f"Deleted all rows in {mask_url(url)}")

    summary = generate_demo(engine, seed=seed, day=day)
    for line in summary.lines():
        click.echo(line)

    # Sign-in users get random passwords, so they are created apart from the seeded rows.
    try:
        with session_scope(engine) as session:
            users = create_demo_users(session)
    except ValidationError as exc:
        click.echo(f"No demo users created: {exc.message}")
        return
    if not users:
        return
    lines = [f"  {role:<10} {username:<16} {password}" for role, username, password in users]
    click.echo("Demo sign-ins:")
    click.echo("\n".join(lines))
    if get_settings().is_sqlite:
        # The embedded demo keeps its sign-ins beside its database so `make run` can show
        # them again; only the machine's own user can read the file.
        path = DEMO_SIGN_INS_PATH
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        path.chmod(0o600)


if __name__ == "__main__":
    demo()

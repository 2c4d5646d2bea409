"""`distro plan`: run the dispatch board's planning on the configured database."""

from __future__ import annotations

import time
from datetime import date

import click
from sqlmodel import Session, select

from distro.backbone import fulfillment
from distro.backbone.actors import SYSTEM
from distro.backbone.errors import DistroError
from distro.backbone.models import Warehouse
from distro.commands.demo import parse_day
from distro.db import get_engine


@click.command()
@click.option("--depot", "depot_code", required=True, help="Code of the depot, e.g. DEPOT-DO.")
@click.option(
    "--day", callback=parse_day, metavar="YYYY-MM-DD", help="Delivery day. Default: today."
)
@click.option("--time-limit", type=float, default=None,
              help="Seconds the planner may search. Default: DISTRO_PLAN_TIME_LIMIT.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the search.")
def plan(depot_code: str, day: date | None, time_limit: float | None, seed: int) -> None:
    """Plan the pending stops of a depot and day into a draft plan, as "Plan routes" does."""
    engine = get_engine()
    day = day or date.today()
    with Session(engine) as session:
        depot = session.exec(select(Warehouse).where(Warehouse.code == depot_code)).first()
    if depot is None:
        raise click.ClickException(
            f"No depot with code {depot_code!r}; `distro plan` needs the code shown on the board."
        )

    started = time.perf_counter()
    try:
        plan_id = fulfillment.plan_routes(day, depot.id, SYSTEM, time_limit=time_limit, seed=seed)
    except DistroError as error:
        raise click.ClickException(error.message) from error
    elapsed = time.perf_counter() - started

    with Session(engine) as session:
        snapshot = fulfillment.board_snapshot(session, day, depot.id)
    routed = sum(route.stop_count for route in snapshot.routes)
    over = [r for r in snapshot.routes
            if r.load_kg > r.capacity_kg or r.load_units > r.capacity_units]
    click.echo(f"plan {plan_id}: {routed} of {len(snapshot.stops)} stops on "
               f"{len(snapshot.routes)} routes, {len(snapshot.unassigned)} unassigned")
    click.echo(f"total distance {snapshot.total_distance_m / 1000:.1f} km, "
               f"planning took {elapsed:.1f} s (solver {snapshot.solve_seconds:.1f} s, "
               f"engine {snapshot.engine})")
    click.echo(f"routes over capacity: {len(over)}")

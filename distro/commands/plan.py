"""`distro plan`: run the dispatch board's planning on the configured database."""

from __future__ import annotations

import time
from datetime import date

import click
from sqlmodel import Session, col, select

from distro.backbone import day_board, fulfillment
from distro.backbone.actors import SYSTEM
from distro.backbone.errors import DistroError
from distro.backbone.models import Warehouse
from distro.commands.demo import parse_day
from distro.db import get_engine

ALL_DEPOTS = "all"


def resolve_depots(session: Session, codes: tuple[str, ...], day: date) -> list[Warehouse]:
    """Return the depots named by `codes`, or every depot with stops on `day` for "all".

    Raises:
        click.ClickException: a code names no depot, or "all" finds no stops on the day.
    """
    if ALL_DEPOTS in (code.lower() for code in codes):
        ids = day_board.day_depot_ids(session, day)
        if not ids:
            raise click.ClickException(
                f"No depot has stops on {day.isoformat()}; pick another --day."
            )
        return list(session.exec(select(Warehouse).where(col(Warehouse.id).in_(ids))))

    depots = []
    for code in codes:
        depot = session.exec(select(Warehouse).where(Warehouse.code == code)).first()
        if depot is None:
            raise click.ClickException(
                f"No depot with code {code!r}; `distro plan` needs the code shown on the board, "
                f"or --depot {ALL_DEPOTS}."
            )
        depots.append(depot)
    return depots


@click.command()
@click.option(
    "--depot",
    "depot_codes",
    required=True,
    multiple=True,
    help=f"Code of a depot, e.g. DEPOT-DO. Repeat it to plan several depots together, or "
    f"give {ALL_DEPOTS!r} for every depot with stops on the day.",
)
@click.option(
    "--day", callback=parse_day, metavar="YYYY-MM-DD", help="Delivery day. Default: today."
)
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Seconds the planner may search. Default: DISTRO_PLAN_TIME_LIMIT.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the search.")
def plan(
    depot_codes: tuple[str, ...], day: date | None, time_limit: float | None, seed: int
) -> None:
    """Plan the pending stops of a day into draft plans, as "Plan routes" does.

    Several depots are planned together in one solve, as the board's "All depots" does.
    """
    engine = get_engine()
    day = day or date.today()
    with Session(engine) as session:
        depots = resolve_depots(session, depot_codes, day)

    started = time.perf_counter()
    try:
        plan_ids = fulfillment.plan_depots(
            day, [depot.id for depot in depots], SYSTEM, time_limit=time_limit, seed=seed
        )
    except DistroError as error:
        raise click.ClickException(error.message) from error
    elapsed = time.perf_counter() - started

    with Session(engine) as session:
        snapshots = [fulfillment.board_snapshot(session, day, depot.id) for depot in depots]
    for depot, snapshot in zip(depots, snapshots, strict=True):
        routed = sum(route.stop_count for route in snapshot.routes)
        over = [
            r
            for r in snapshot.routes
            if r.load_kg > r.capacity_kg or r.load_units > r.capacity_units
        ]
        prefix = f"{depot.code}: " if len(depots) > 1 else ""
        click.echo(
            f"{prefix}plan {snapshot.plan_id}: {routed} of {len(snapshot.stops)} stops on "
            f"{len(snapshot.routes)} routes, {len(snapshot.unassigned)} unassigned"
        )
        click.echo(
            f"{prefix}total distance {snapshot.total_distance_m / 1000:.1f} km, "
            f"running cost {snapshot.total_cost_cents / 100:.2f}, "
            f"routes over capacity: {len(over)}"
        )
    solver = max(snapshot.solve_seconds for snapshot in snapshots)
    click.echo(
        f"{len(plan_ids)} plan(s); planning took {elapsed:.1f} s (solver {solver:.1f} s, "
        f"engine {snapshots[0].engine})"
    )

"""``distro route FILE``: plan routes for a benchmark instance file, without a database."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from distro.routing.instances import Instance, evaluate, load_instance
from distro.routing.problem import Plan
from distro.routing.solve import ENGINES, solve

logger = logging.getLogger(__name__)


class InputError(click.ClickException):
    """Invalid input file; exits with code 2 like other usage errors."""

    exit_code = 2


@click.command("route")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--time-limit", type=click.FloatRange(min=0, min_open=True), default=10.0,
    show_default=True, help="Search time in seconds.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the search.")
@click.option(
    "--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
    help="auto: PyVRP on up to two processes; pyvrp: one PyVRP search; ortools: baseline.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def route(file: Path, time_limit: float, seed: int, engine: str, as_json: bool) -> None:
    """Plan routes for FILE: loggibud JSON, CVRPLIB .vrp or Solomon .txt.

    The cost is printed in the file's own convention: rounded Euclidean distance for
    .vrp, distance truncated to one decimal for Solomon, metres for loggibud.
    """
    try:
        instance = load_instance(file)
    except ValueError as exc:
        raise InputError(str(exc)) from exc

    plan = solve(instance.problem, time_limit=time_limit, seed=seed, engine=engine)
    if as_json:
        click.echo(json.dumps(plan_to_json(instance, plan), indent=2))
    else:
        click.echo(format_plan(instance, plan))


def plan_to_json(instance: Instance, plan: Plan) -> dict:
    """Return the plan as a JSON-ready dict, with stop ids and cost as in the file."""
    routes = [list(r.stop_ids) for r in plan.routes]
    return {
        "instance": instance.name,
        "routes": routes,
        "cost": evaluate(instance, routes),
        "loads": [list(r.load) if len(r.load) > 1 else r.load[0] for r in plan.routes],
        "unassigned": [{"id": u.stop_id, "reason": u.reason} for u in plan.unassigned],
        "solve_seconds": plan.solve_seconds,
        "engine": plan.engine,
        "seed": plan.seed,
    }


def format_plan(instance: Instance, plan: Plan) -> str:
    """Return a plain-text summary of the plan, one line per route."""
    routes = [list(r.stop_ids) for r in plan.routes]
    lines = [
        f"{instance.name} ({instance.format}, {len(instance.stops)} stops): cost "
        f"{evaluate(instance, routes)}, {len(plan.routes)} routes, "
        f"{len(plan.unassigned)} unassigned, {plan.solve_seconds:.1f} s, engine "
        f"{plan.engine}, seed {plan.seed}",
    ]
    for r in plan.routes:
        load = "/".join(str(x) for x in r.load)
        lines.append(
            f"  {r.vehicle_id}: {len(r.stop_ids)} stops, load {load}, cost "
            f"{instance.to_file_cost(r.distance)}: {' '.join(r.stop_ids)}"
        )
    lines.extend(f"  unassigned {u.stop_id}: {u.reason}" for u in plan.unassigned)
    return "\n".join(lines)


if __name__ == "__main__":
    route()

"""``distro bench routing``: route quality and time on benchmark instances.

Each instance is solved by the planner (``--engine``, default ``auto``) and, unless
``--no-baseline``, by the plain OR-Tools baseline (cheapest arc and guided local
search) in the same run. Gaps are to the best-known cost in ``bks.csv``; the
last-mile files have no best-known cost, so their gap is to the best cost found in
the run.
"""

from __future__ import annotations

import csv
import logging
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import click

from distro.routing.instances import Instance, check_routes, evaluate, load_instance
from distro.routing.solve import ENGINES, solve

logger = logging.getLogger(__name__)

#: Customers of the X instances in the ``cvrp`` set (the 100 to 400 customer range).
CVRP_SET_MAX_CUSTOMERS = 400


@dataclass
class Outcome:
    """One solve of one instance."""

    cost: float | None
    routes: int
    seconds: float
    unassigned: int
    violations: list[str]

    @property
    def feasible(self) -> bool:
        """True when every stop is served and no rule is broken."""
        return self.cost is not None and self.unassigned == 0 and not self.violations


def instances_dir() -> Path:
    """Return the benchmark folder.

    It is ``DISTRO_VRP_INSTANCES`` when set, else ``shared/vrp-instances`` next to the
    repository folder.
    """
    configured = os.environ.get("DISTRO_VRP_INSTANCES")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "vrp-instances"


def select_files(root: Path, which: str, names: tuple[str, ...]) -> list[Path]:
    """Return instance files of a set, or those named in ``names`` (file stems)."""
    files = sorted(
        [*root.glob("cvrp/*.vrp"), *root.glob("vrptw/*.txt"), *root.glob("lastmile/*.json")]
    )
    if names:
        by_stem = {f.stem: f for f in files}
        missing = [n for n in names if n not in by_stem]
        if missing:
            raise click.BadParameter(
                f"instances {', '.join(missing)} not found in {root}; known: "
                f"{', '.join(sorted(by_stem))}",
                param_hint="--instances",
            )
        return [by_stem[n] for n in names]

    chosen = []
    for f in files:
        kind = f.parent.name
        if kind == "cvrp" and which in ("cvrp", "all"):
            customers = int(f.stem.split("-")[1][1:]) - 1
            if customers <= CVRP_SET_MAX_CUSTOMERS:
                chosen.append(f)
        elif kind in ("vrptw", "lastmile") and which in (kind, "all"):
            chosen.append(f)
    return sorted(chosen, key=lambda f: (f.parent.name, len(f.stem), f.stem))


def read_bks(root: Path) -> dict[str, float]:
    """Return best-known costs by instance name from ``bks.csv``."""
    path = root / "bks.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["instance"]: float(row["bks_cost"]) for row in csv.DictReader(handle)}


def run_one(instance: Instance, engine: str, time_limit: float, seed: int) -> Outcome:
    """Solve an instance and score the plan in the file's convention."""
    started = time.monotonic()
    plan = solve(instance.problem, time_limit=time_limit, seed=seed, engine=engine)
    seconds = time.monotonic() - started
    routes = [list(r.stop_ids) for r in plan.routes]
    violations = check_routes(instance, routes) if not plan.unassigned else []
    cost = evaluate(instance, routes) if routes else None
    return Outcome(cost, len(routes), seconds, len(plan.unassigned), violations)


def _gap(cost: float | None, reference: float | None) -> float | None:
    if cost is None or not reference:
        return None
    return 100.0 * (cost - reference) / reference


def _cell(outcome: Outcome | None, gap: float | None) -> list[str]:
    if outcome is None:
        return ["", "", "", ""]
    if not outcome.feasible:
        note = (
            f"infeasible ({outcome.unassigned} unassigned, "
            f"{len(outcome.violations)} violations)"
        )
        return [str(outcome.cost), note, str(outcome.routes), f"{outcome.seconds:.1f}"]
    return [
        str(outcome.cost),
        f"{gap:.2f}" if gap is not None else "",
        str(outcome.routes),
        f"{outcome.seconds:.1f}",
    ]


@click.command("routing")
@click.option(
    "--time-limit", type=click.FloatRange(min=0, min_open=True), default=5.0,
    show_default=True, help="Time limit per solve in seconds.",
)
@click.option(
    "--set", "which", type=click.Choice(["cvrp", "vrptw", "lastmile", "all"]), default="cvrp",
    show_default=True,
    help=f"cvrp: X instances with at most {CVRP_SET_MAX_CUSTOMERS} customers; vrptw: "
    "Solomon; lastmile: loggibud.",
)
@click.option(
    "--instances", multiple=True,
    help="Instance names (file stems, e.g. X-n1001-k43) instead of a set; repeatable.",
)
@click.option(
    "--engine", type=click.Choice(ENGINES), default="auto", show_default=True,
    help="Engine of the planner run.",
)
@click.option(
    "--baseline/--no-baseline", default=True, show_default=True,
    help="Also solve with the plain OR-Tools baseline.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the searches.")
@click.option(
    "--scale", is_flag=True,
    help="Instead of instance files, plan synthetic days (3 depots, mixed fleet) of growing "
    "size and report time and peak memory.",
)
@click.option(
    "--scale-sizes", default="500,1000,2000,5000", show_default=True,
    help="Stop counts of the --scale runs, comma-separated.",
)
@click.option(
    "--scale-seconds", type=click.FloatRange(min=1), default=120.0, show_default=True,
    help="Budget in seconds of the largest --scale run, matrices included; smaller runs get "
    "a proportional share, at least 10 s.",
)
def routing(
    time_limit: float, which: str, instances: tuple[str, ...], engine: str, baseline: bool,
    seed: int, scale: bool, scale_sizes: str, scale_seconds: float,
) -> None:
    """Benchmark route quality against best-known costs and the OR-Tools baseline."""
    if scale:
        from distro.commands.bench_scale import run_scale

        try:
            sizes = [int(part) for part in scale_sizes.split(",") if part.strip()]
        except ValueError as exc:
            raise click.BadParameter(
                f"{scale_sizes!r} is not a list of whole numbers, e.g. 500,1000,5000",
                param_hint="--scale-sizes",
            ) from exc
        run_scale(sizes, scale_seconds, engine, seed)
        return

    root = instances_dir()
    if not root.is_dir():
        raise click.ClickException(
            f"VRP benchmark instances not found at {root}; set DISTRO_VRP_INSTANCES"
        )
    files = select_files(root, which, instances)
    bks = read_bks(root)
    click.echo(
        f"# routing benchmark: {len(files)} instances, time limit {time_limit:g} s, engine "
        f"{engine}, seed {seed}, {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}"
    )
    header = ["instance", "n", "BKS", "cost", "gap %", "routes", "s"]
    if baseline:
        header += ["OR-Tools cost", "gap %", "routes", "s"]
    # Other processes slow the searches down, so each row records the load it ran under.
    header.append("load 1 min")
    click.echo("| " + " | ".join(header) + " |")
    click.echo("|" + "---|" * len(header))

    main_gaps: list[float] = []
    base_gaps: list[float] = []
    for path in files:
        instance = load_instance(path)
        main = run_one(instance, engine, time_limit, seed)
        base = run_one(instance, "ortools", time_limit, seed) if baseline else None

        reference = bks.get(instance.name)
        reference_text = f"{reference:g}" if reference is not None else ""
        if reference is None:
            # No best-known cost: compare with the best feasible cost of this run.
            found = [o.cost for o in (main, base) if o is not None and o.feasible]
            reference = min(found) if found else None
            reference_text = f"({reference} best in run)" if reference is not None else ""
        main_gap = _gap(main.cost, reference) if main.feasible else None
        base_gap = _gap(base.cost, reference) if base is not None and base.feasible else None
        if main_gap is not None:
            main_gaps.append(main_gap)
        if base_gap is not None:
            base_gaps.append(base_gap)

        row = [instance.name, str(len(instance.stops)), reference_text, *_cell(main, main_gap)]
        if baseline:
            row += _cell(base, base_gap)
        row.append(f"{os.getloadavg()[0]:.1f}")
        click.echo("| " + " | ".join(row) + " |")

    click.echo("")
    click.echo(_summary(engine, main_gaps, len(files)))
    if baseline:
        click.echo(_summary("ortools baseline", base_gaps, len(files)))
    # Other processes on the machine slow the searches down, so record the load.
    load_1, load_5, _ = os.getloadavg()
    click.echo(f"load average at the end: {load_1:.2f} (1 min), {load_5:.2f} (5 min)")


def _summary(label: str, gaps: list[float], total: int) -> str:
    if not gaps:
        return f"{label}: no feasible plan in {total} instances"
    return (
        f"{label}: mean gap {statistics.fmean(gaps):.2f}%, median gap "
        f"{statistics.median(gaps):.2f}%, max gap {max(gaps):.2f}%, feasible "
        f"{len(gaps)}/{total}"
    )


if __name__ == "__main__":
    routing()

"""Entry point of the route planner: ``solve(problem, time_limit) -> Plan``.

Steps of a solve:

1. Pre-check: stops that no vehicle could ever serve (demand over every capacity,
   window unreachable from every depot) are reported as unassigned with a reason.
2. A problem whose stops are bound to depots (``Stop.depot``) is cut into one part per
   depot (see ``depots.split_by_depot``), solved one after the other with a share of
   the time each. Problems or parts above ``SPLIT_THRESHOLD`` stops are cut into zones
   (see ``clustering.split_problem``), solved one by one and merged.
3. The engine searches until the time limit. Stops are optional with a large prize
   when the fleet may not serve them all, so the engine leaves out low-priority
   stops first. The ``auto`` engine runs two PyVRP searches in two processes and keeps
   the better plan.
4. Every route is re-timed from the matrices and checked. A route that breaks a rule
   is repaired by removing stops, so the returned plan never exceeds a capacity,
   stop limit, time window or shift end.

Locked routes are kept by the caller, which leaves their stops and vehicles out of the
problem. ``distro.routing.insert.insert_stop`` adds one stop to a running route
without moving the stops already started.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from distro.routing.depots import may_serve, split_by_depot
from distro.routing.engine_pyvrp import SECOND_HISTORY_LENGTH, EngineResult, EngineTask
from distro.routing.problem import Plan, Problem, Route, Unassigned, Vehicle
from distro.routing.schedule import REPAIR_REASON, check_route, repair_route, unassigned_for
from distro.routing.worker import run_engine, run_in_children

logger = logging.getLogger(__name__)

ENGINES = ("auto", "pyvrp", "ortools")

#: Above this many stops a problem is cut into zones. Below it, whole-problem routes
#: are shorter: cutting 200-500 stop problems into groups of about 100 made routes
#: 0.5-6% longer in earlier measurements on this project's benchmark set.
SPLIT_THRESHOLD = 1000

#: Share of a split solve's time kept for stops that their zone could not serve.
_LEFTOVER_SHARE = 0.1

#: Highest priority level that still multiplies the prize by 10; see ``_prizes``.
_MAX_PRIORITY_LEVEL = 6

Progress = Callable[[str, float], None]


def solve(
    problem: Problem,
    time_limit: float,
    seed: int = 0,
    engine: str = "auto",
    progress: Progress | None = None,
    *,
    max_iterations: int | None = None,
    workers: int | None = None,
) -> Plan:
    """Plan routes for a problem within a time limit.

    Args:
        problem: Stops, vehicles and matrices.
        time_limit: Wall-clock budget in seconds for the whole call.
        seed: Seed of the search. ``auto`` also runs a second search with ``seed + 1``
            and PyVRP's default acceptance history.
        engine: ``auto`` (PyVRP on up to two processes, best quality), ``pyvrp``
            (one PyVRP search in this process) or ``ortools`` (OR-Tools cheapest arc
            and guided local search, the baseline).
        progress: Called with a message and a fraction between 0 and 1.
        max_iterations: Stop the search after this many iterations if the time limit
            is not reached first. A search stopped this way gives the same plan for
            the same seed. A search stopped by the clock may not, because the work
            done in a given time depends on machine load.
        workers: Parallel searches for ``auto``, each in a child process. Defaults to
            ``min(2, os.cpu_count())``; 1 runs one search in this process.

    Returns:
        A plan where every stop appears once, either in a route or in ``unassigned``.

    Raises:
        ValueError: ``time_limit`` is not positive or ``engine`` is unknown.

    """
    if not time_limit > 0:
        raise ValueError(f"time_limit is {time_limit}; pass a positive number of seconds")
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r} is unknown; use one of {', '.join(ENGINES)}")
    if max_iterations is not None and max_iterations < 1:
        raise ValueError(f"max_iterations is {max_iterations}; pass a positive count or None")
    started = time.monotonic()
    deadline = started + time_limit
    report = progress or (lambda _message, _fraction: None)

    report("checking stops", 0.0)
    impossible, candidates = precheck(problem)
    unassigned = [Unassigned(problem.stops[i].id, reason) for i, reason in impossible]
    if not candidates:
        report("done", 1.0)
        return _plan(problem, [], unassigned, started, engine, seed)

    depot_parts = split_by_depot(_with_stops(problem, candidates))
    if depot_parts is None:
        routes, extra = _solve_candidates(
            problem, candidates, deadline, seed, engine, report, max_iterations, workers
        )
    else:
        routes, extra = _solve_depots(
            depot_parts, deadline, seed, engine, report, max_iterations, workers
        )
    unassigned.extend(extra)

    used_engine = "ortools" if engine == "ortools" else "pyvrp"
    report("done", 1.0)
    return _plan(problem, routes, unassigned, started, used_engine, seed)


def precheck(problem: Problem) -> tuple[list[tuple[int, str]], list[int]]:
    """Find stops that no vehicle can serve on its own.

    Only vehicles of a stop's depot count for a stop bound to one. A stop is impossible
    when no vehicle starts at its depot, or when its demand exceeds every vehicle's
    capacity. It is also impossible when every vehicle has ``max_stops`` 0, or when no
    vehicle can reach it within its time window and return before its shift ends.

    Returns:
        ``(impossible, candidates)``: ``(stop index, reason)`` pairs and the indices of
        the other stops.

    """
    impossible: list[tuple[int, str]] = []
    candidates: list[int] = []
    for index, stop in enumerate(problem.stops):
        allowed = [v for v in problem.vehicles if may_serve(v, stop)]
        if not allowed:
            reason = f"no vehicle starts at the stop's depot (location {stop.depot})"
            impossible.append((index, reason))
            continue
        fitting = [
            v
            for v in allowed
            if all(d <= c for d, c in zip(stop.demand, v.capacity, strict=True))
            and (v.max_stops is None or v.max_stops > 0)
        ]
        if not fitting:
            impossible.append((index, _capacity_reason(problem, index, allowed)))
            continue
        reason = _time_reason(problem, index, fitting)
        if reason is not None:
            impossible.append((index, reason))
            continue
        candidates.append(index)
    return impossible, candidates


def _capacity_reason(problem: Problem, index: int, vehicles: list[Vehicle]) -> str:
    stop = problem.stops[index]
    if all(v.max_stops == 0 for v in vehicles):
        return "every vehicle has a maximum of 0 stops"
    for dim, amount in enumerate(stop.demand):
        largest = max(v.capacity[dim] for v in vehicles)
        if amount > largest:
            unit = problem.unit(dim)
            return f"demand {amount} {unit} exceeds the largest vehicle capacity {largest} {unit}"
    parts = ", ".join(f"{a} {problem.unit(d)}" for d, a in enumerate(stop.demand))
    return f"demand ({parts}) does not fit into any single vehicle"


def _time_reason(problem: Problem, index: int, vehicles) -> str | None:
    """Return why no vehicle can serve the stop in time, or None when one can."""
    stop = problem.stops[index]
    window_reached = False
    for vehicle in vehicles:
        arrival = vehicle.shift_start + int(problem.duration[vehicle.depot, stop.location])
        start = arrival
        if stop.time_window is not None:
            if arrival > stop.time_window[1]:
                continue
            start = max(arrival, stop.time_window[0])
        window_reached = True
        back = start + stop.service_time + int(problem.duration[stop.location, vehicle.depot])
        if vehicle.shift_end is None or back <= vehicle.shift_end:
            return None
    if not window_reached:
        early, late = stop.time_window
        return (
            f"time window {format_clock(early)}-{format_clock(late)} cannot be reached from "
            f"the depot by any vehicle"
        )
    return "no vehicle can serve this stop and return to its depot before its shift ends"


def format_clock(seconds: int) -> str:
    """Format seconds as ``H:MM`` (or ``H:MM:SS``) on the plan's clock."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}" if secs == 0 else f"{hours}:{minutes:02d}:{secs:02d}"


def _solve_candidates(
    problem: Problem,
    candidates: list[int],
    deadline: float,
    seed: int,
    engine: str,
    report: Progress,
    max_iterations: int | None,
    workers: int | None,
) -> tuple[list[Route], list[Unassigned]]:
    """Solve the candidate stops whole, or cut into zones above ``SPLIT_THRESHOLD``."""
    solve_part = _solve_split if len(candidates) > SPLIT_THRESHOLD else _solve_whole
    return solve_part(
        problem, candidates, deadline, seed, engine, report, max_iterations, workers
    )


def _solve_depots(
    parts: list[Problem],
    deadline: float,
    seed: int,
    engine: str,
    report: Progress,
    max_iterations: int | None,
    workers: int | None,
) -> tuple[list[Route], list[Unassigned]]:
    """Solve one part per depot in turn, each with a share of the time by its stops.

    The parts run one after the other rather than side by side because ``auto`` already
    runs two searches per part, one per core on the 2-core machines Distro targets.
    """
    routes: list[Route] = []
    unassigned: list[Unassigned] = []
    remaining_stops = sum(len(part.stops) for part in parts)
    for number, part in enumerate(parts, start=1):
        share = len(part.stops) / max(1, remaining_stops)
        remaining_stops -= len(part.stops)
        part_deadline = time.monotonic() + share * max(0.0, deadline - time.monotonic())
        report(
            f"solving depot {number} of {len(parts)}", 0.05 + 0.9 * (number - 1) / len(parts)
        )
        part = compact_problem(part)
        part_routes, part_unassigned = _solve_candidates(
            part, list(range(len(part.stops))), part_deadline, seed, engine,
            lambda _m, _f: None, max_iterations, workers,
        )
        routes.extend(part_routes)
        unassigned.extend(part_unassigned)
    return routes, unassigned


def _solve_whole(
    problem: Problem,
    candidates: list[int],
    deadline: float,
    seed: int,
    engine: str,
    report: Progress,
    max_iterations: int | None,
    workers: int | None,
) -> tuple[list[Route], list[Unassigned]]:
    """Solve the candidate stops as one problem and repair the routes."""
    prizes = _prizes(problem, candidates)
    optional = EngineTask(problem, tuple(candidates), prizes)
    required = EngineTask(problem, tuple(candidates), None)
    all_fit = _fleet_clearly_sufficient(problem, candidates)

    if engine == "ortools":
        tasks = [("ortools", required if all_fit else optional, seed)]
    elif engine == "pyvrp":
        tasks = [("pyvrp", required if all_fit else optional, seed)]
    else:
        n_workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        if n_workers <= 1:
            tasks = [("pyvrp", required if all_fit else optional, seed)]
        elif all_fit:
            second = replace(required, history_length=SECOND_HISTORY_LENGTH)
            tasks = [("pyvrp", required, seed), ("pyvrp", second, seed + 1)]
        else:
            # One search must serve every stop (fast, the better plan when the fleet
            # suffices) and one may leave stops out (always ends feasible).
            second = replace(optional, history_length=SECOND_HISTORY_LENGTH)
            tasks = [("pyvrp", required, seed), ("pyvrp", second, seed + 1)]

    report(f"searching with {len(tasks)} {tasks[0][0]} search(es)", 0.05)
    results = _run_tasks(tasks, deadline, max_iterations, report)

    best: tuple[float, list[Route], list[Unassigned]] | None = None
    for result in results:
        if result is None:
            continue
        routes, unassigned = _routes_from_result(problem, candidates, result)
        score = _objective(problem, routes, unassigned, candidates, prizes)
        if best is None or score < best[0]:
            best = (score, routes, unassigned)
    if best is None:
        reason = "the routing engine found no plan within the time limit"
        return [], unassigned_for(problem, candidates, reason)
    return best[1], best[2]


def _run_tasks(
    tasks: list[tuple[str, EngineTask, int]],
    deadline: float,
    max_iterations: int | None,
    report: Progress,
) -> list[EngineResult | None]:
    """Run engine tasks: one in this process, several in parallel child processes."""
    if len(tasks) == 1:
        name, task, task_seed = tasks[0]
        return [run_engine(name, task, deadline, task_seed, max_iterations)]

    total = max(1e-9, deadline - time.monotonic())

    def on_wait() -> None:
        left = max(0.0, deadline - time.monotonic())
        report("searching", min(0.95, 0.05 + 0.9 * (1 - left / total)))

    try:
        results = run_in_children(tasks, deadline, max_iterations, on_wait)
    except OSError as exc:
        logger.error("could not start routing child processes (%s); solving in this process", exc)
        results = []
    if any(result is not None for result in results):
        return results

    # No child returned a plan: use the time left in this process.
    name, task, task_seed = tasks[-1]
    return [run_engine(name, task, deadline, task_seed, max_iterations)]


def _routes_from_result(
    problem: Problem, candidates: list[int], result: EngineResult
) -> tuple[list[Route], list[Unassigned]]:
    """Turn engine routes into checked routes; stops left out become unassigned."""
    routes: list[Route] = []
    removed: list[int] = []
    seen: set[int] = set()
    used_vehicles: set[int] = set()
    for vehicle_index, stop_indices in result.routes:
        if vehicle_index in used_vehicles:
            removed.extend(i for i in stop_indices if i not in seen)
            seen.update(stop_indices)
            continue
        used_vehicles.add(vehicle_index)
        sequence = [i for i in stop_indices if i not in seen]
        seen.update(sequence)
        check, dropped = repair_route(problem, vehicle_index, sequence)
        if dropped:
            logger.warning(
                "route of vehicle %s broke a rule; removed %d stop(s)",
                problem.vehicles[vehicle_index].id,
                len(dropped),
            )
        removed.extend(dropped)
        if check.route.stop_ids:
            routes.append(check.route)

    missing = [i for i in candidates if i not in seen]
    served = seen.difference(missing, removed)
    top_served = max((problem.stops[i].priority for i in served), default=None)
    unassigned = [
        Unassigned(problem.stops[i].id, _left_out_reason(problem.stops[i].priority, top_served))
        for i in missing + removed
    ]
    return routes, unassigned


def _left_out_reason(priority: int, top_served: int | None) -> str:
    """Return why a stop was left out, naming priority when higher-priority stops got in."""
    if top_served is not None and top_served > priority:
        return (
            f"left out for higher-priority stops: the vehicles could not take every stop, "
            f"and stops of priority {priority} are dropped before those of priority "
            f"{top_served}"
        )
    return REPAIR_REASON


def _objective(
    problem: Problem,
    routes: list[Route],
    unassigned: list[Unassigned],
    candidates: list[int],
    prizes: tuple[int, ...],
) -> float:
    """Return distance cost plus fixed costs plus the prizes of left-out stops."""
    vehicle_by_id = {v.id: v for v in problem.vehicles}
    prize_by_id = {problem.stops[i].id: prize for i, prize in zip(candidates, prizes, strict=True)}
    cost = 0
    for route in routes:
        vehicle = vehicle_by_id[route.vehicle_id]
        cost += route.distance * vehicle.distance_cost + vehicle.fixed_cost
    cost += sum(prize_by_id[u.stop_id] for u in unassigned)
    return float(cost)


def _prizes(problem: Problem, candidates: list[int]) -> tuple[int, ...]:
    """Return each stop's prize for being served.

    The base prize exceeds the largest cost that serving one stop can add (a detour of
    twice the longest arc, plus a vehicle's fixed cost), so a stop is left out only
    when no vehicle can take it. Each priority level above the lowest multiplies the
    prize by 10, up to ``_MAX_PRIORITY_LEVEL`` levels, so lower-priority stops are
    left out first.
    """
    longest = int(problem.distance.max()) if problem.distance.size else 0
    distance_cost = max(v.distance_cost for v in problem.vehicles)
    fixed = max(v.fixed_cost for v in problem.vehicles)
    base = 2 * longest * distance_cost + fixed + 1

    lowest = min(problem.stops[i].priority for i in candidates)
    # Keep the sum of all prizes far below the int64 limit used by both engines.
    max_level = _MAX_PRIORITY_LEVEL
    while max_level > 0 and base * 10**max_level * len(candidates) > 2**60:
        max_level -= 1
    return tuple(
        base * 10 ** min(problem.stops[i].priority - lowest, max_level) for i in candidates
    )


def _fleet_clearly_sufficient(problem: Problem, candidates: list[int]) -> bool:
    """Return True when the fleet can surely serve every candidate stop.

    True only without time windows and shift ends, and with at least 10% spare total
    capacity and stop limit. Otherwise the engine must be allowed to leave stops out.
    """
    stops = [problem.stops[i] for i in candidates]
    if any(s.time_window is not None for s in stops):
        return False
    if any(v.shift_end is not None for v in problem.vehicles):
        return False
    for dim in range(problem.n_dimensions):
        demand = sum(s.demand[dim] for s in stops)
        capacity = sum(v.capacity[dim] for v in problem.vehicles)
        if demand > 0.9 * capacity:
            return False
    if any(v.max_stops is not None for v in problem.vehicles):
        limit = sum(len(stops) if v.max_stops is None else v.max_stops for v in problem.vehicles)
        if len(stops) > 0.9 * limit:
            return False
    return True


def _solve_split(
    problem: Problem,
    candidates: list[int],
    deadline: float,
    seed: int,
    engine: str,
    report: Progress,
    max_iterations: int | None,
    workers: int | None,
) -> tuple[list[Route], list[Unassigned]]:
    """Cut a large problem into zones, solve each in turn and merge the routes."""
    from distro.routing.clustering import split_problem

    sub_problem = problem
    if len(candidates) < len(problem.stops):
        sub_problem = _with_stops(problem, candidates)
    parts = split_problem(sub_problem, max_stops=SPLIT_THRESHOLD, seed=seed)
    logger.info("split %d stops into %d parts", len(candidates), len(parts))

    # Each part gets matrices of its own locations only. Without this, every child
    # process would receive the full matrices: 400 MB for 5,000 stops.
    parts = [compact_problem(part) for part in parts]

    routes: list[Route] = []
    unassigned: list[Unassigned] = []
    # The last share of the time is kept for the stops that their zone could not take.
    parts_deadline = deadline - _LEFTOVER_SHARE * max(0.0, deadline - time.monotonic())
    remaining_stops = sum(len(part.stops) for part in parts)
    for number, part in enumerate(parts, start=1):
        share = len(part.stops) / max(1, remaining_stops)
        remaining_stops -= len(part.stops)
        part_deadline = time.monotonic() + share * max(0.0, parts_deadline - time.monotonic())
        report(f"solving part {number} of {len(parts)}", 0.05 + 0.9 * (number - 1) / len(parts))
        part_candidates = list(range(len(part.stops)))
        part_routes, part_unassigned = _solve_whole(
            part, part_candidates, part_deadline, seed, engine,
            lambda _m, _f: None, max_iterations, workers,
        )
        routes.extend(part_routes)
        unassigned.extend(part_unassigned)

    leftover = _leftover_problem(sub_problem, routes, unassigned)
    if leftover is not None:
        report(f"placing {len(leftover.stops)} stops with the vehicles left", 0.9)
        logger.info(
            "solving %d leftover stops with %d unused vehicles",
            len(leftover.stops), len(leftover.vehicles),
        )
        extra_routes, extra_unassigned = _solve_whole(
            leftover, list(range(len(leftover.stops))), deadline, seed, engine,
            lambda _m, _f: None, max_iterations, workers,
        )
        left_ids = {s.id for s in leftover.stops}
        unassigned = [u for u in unassigned if u.stop_id not in left_ids] + extra_unassigned
        routes.extend(extra_routes)
    return routes, unassigned


def _leftover_problem(
    problem: Problem, routes: list[Route], unassigned: list[Unassigned]
) -> Problem | None:
    """Return the unassigned stops with the unused vehicles of every depot, or None.

    Zones are cut by nearest depot, so a busy depot's zone can run out of vehicles
    while another depot has spare ones. This gives those stops a second chance.
    """
    used = {r.vehicle_id for r in routes}
    vehicles = tuple(v for v in problem.vehicles if v.id not in used)
    left = {u.stop_id for u in unassigned}
    stops = tuple(s for s in problem.stops if s.id in left)
    if not vehicles or not stops:
        return None
    return compact_problem(
        Problem(
            stops=stops,
            vehicles=vehicles,
            distance=problem.distance,
            duration=problem.duration,
            distance_unit=problem.distance_unit,
            dimension_units=problem.dimension_units,
            coordinates=problem.coordinates,
        )
    )


def compact_problem(problem: Problem) -> Problem:
    """Return the problem with its matrices cut down to the locations it uses.

    Stop and vehicle ids stay the same and the locations are renumbered, so routes of
    the compact problem have the same ids, distances and times as in the original.
    """
    used = sorted({v.depot for v in problem.vehicles} | {s.location for s in problem.stops})
    if len(used) == problem.n_locations:
        return problem
    new_index = {location: i for i, location in enumerate(used)}
    rows = np.ix_(used, used)
    distance = problem.distance[rows]
    duration = problem.duration[rows]
    # Read-only arrays are taken over by Problem without another copy.
    distance.setflags(write=False)
    duration.setflags(write=False)
    coordinates = None
    if problem.coordinates is not None:
        coordinates = problem.coordinates[used]
    return Problem(
        stops=tuple(
            replace(
                s,
                location=new_index[s.location],
                depot=None if s.depot is None else new_index[s.depot],
            )
            for s in problem.stops
        ),
        vehicles=tuple(replace(v, depot=new_index[v.depot]) for v in problem.vehicles),
        distance=distance,
        duration=duration,
        distance_unit=problem.distance_unit,
        dimension_units=problem.dimension_units,
        coordinates=coordinates,
    )


def _with_stops(problem: Problem, indices: list[int]) -> Problem:
    return Problem(
        stops=tuple(problem.stops[i] for i in indices),
        vehicles=problem.vehicles,
        distance=problem.distance,
        duration=problem.duration,
        distance_unit=problem.distance_unit,
        dimension_units=problem.dimension_units,
        coordinates=problem.coordinates,
    )


def _plan(
    problem: Problem,
    routes: list[Route],
    unassigned: list[Unassigned],
    started: float,
    engine: str,
    seed: int,
) -> Plan:
    order = {v.id: i for i, v in enumerate(problem.vehicles)}
    routes = sorted(routes, key=lambda r: order[r.vehicle_id])
    return Plan(
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        total_distance=sum(r.distance for r in routes),
        total_duration=sum(r.duration for r in routes),
        solve_seconds=round(time.monotonic() - started, 3),
        engine=engine,
        seed=seed,
    )


def recheck_plan(problem: Problem, plan: Plan) -> list[str]:
    """Return rule violations of a plan against a problem; empty means valid.

    The checks: every stop appears exactly once, every stop rides with a vehicle of its
    depot, every route meets capacity, stop limit, time windows and shift end, and each
    route equals its recomputation from the matrices (distance, times, load).
    """
    index_of = {s.id: i for i, s in enumerate(problem.stops)}
    vehicle_of = {v.id: i for i, v in enumerate(problem.vehicles)}
    problems: list[str] = []
    counts: dict[str, int] = {}
    for route in plan.routes:
        for stop_id in route.stop_ids:
            counts[stop_id] = counts.get(stop_id, 0) + 1
    for item in plan.unassigned:
        counts[item.stop_id] = counts.get(item.stop_id, 0) + 1
    for stop in problem.stops:
        if counts.get(stop.id, 0) != 1:
            problems.append(f"stop {stop.id} appears {counts.get(stop.id, 0)} times")
    for route in plan.routes:
        indices = [index_of[s] for s in route.stop_ids]
        vehicle = problem.vehicles[vehicle_of[route.vehicle_id]]
        for i in indices:
            if not may_serve(vehicle, problem.stops[i]):
                problems.append(
                    f"stop {problem.stops[i].id} of depot {problem.stops[i].depot} is on "
                    f"route of {route.vehicle_id} from depot {vehicle.depot}"
                )
        check = check_route(problem, vehicle_of[route.vehicle_id], indices)
        if check.over_capacity:
            problems.append(f"route of {route.vehicle_id} exceeds its capacity: {check.route.load}")
        if check.over_max_stops:
            problems.append(f"route of {route.vehicle_id} has more stops than its maximum")
        if check.late_position is not None:
            problems.append(
                f"route of {route.vehicle_id} is late at position {check.late_position}"
            )
        if check.route != route:
            problems.append(f"route of {route.vehicle_id} differs from its recomputation")
    return problems

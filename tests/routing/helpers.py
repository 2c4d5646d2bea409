"""Builders and independent checks shared by the routing tests."""

from __future__ import annotations

import itertools

import numpy as np

from distro.routing.problem import Plan, Problem, Stop, Vehicle


def grid_problem(
    n_stops: int,
    *,
    seed: int = 0,
    vehicles: list[Vehicle] | None = None,
    demand: tuple[int, ...] = (1,),
    **stop_fields,
) -> Problem:
    """Return a problem with stops at random points of a 1 km square, depot at location 0.

    Distances are Euclidean metres and durations are seconds at 10 m/s.
    """
    rng = np.random.default_rng(seed)
    points = np.vstack([[500.0, 500.0], rng.uniform(0, 1000, size=(n_stops, 2))])
    delta = points[:, None, :] - points[None, :, :]
    distance = np.rint(np.sqrt((delta**2).sum(axis=2))).astype(np.int64)
    duration = np.rint(distance / 10).astype(np.int64)
    stops = [
        Stop(id=f"s{i}", location=i, demand=demand, **stop_fields) for i in range(1, n_stops + 1)
    ]
    if vehicles is None:
        capacity = (n_stops,) * len(demand)
        vehicles = [Vehicle(id=f"v{k}", depot=0, capacity=capacity) for k in range(3)]
    return Problem(
        stops=tuple(stops), vehicles=tuple(vehicles), distance=distance, duration=duration
    )


def served_counts(problem: Problem, plan: Plan) -> dict[str, int]:
    """Return how often each stop id appears in routes and unassigned together."""
    counts = {stop.id: 0 for stop in problem.stops}
    for route in plan.routes:
        for stop_id in route.stop_ids:
            counts[stop_id] = counts.get(stop_id, 0) + 1
    for item in plan.unassigned:
        counts[item.stop_id] = counts.get(item.stop_id, 0) + 1
    return counts


def matrix_distance(problem: Problem, vehicle_id: str, stop_ids: tuple[str, ...]) -> int:
    """Return depot-to-depot distance of a stop sequence, summed arc by arc."""
    vehicle = next(v for v in problem.vehicles if v.id == vehicle_id)
    location = {s.id: s.location for s in problem.stops}
    path = [vehicle.depot, *(location[s] for s in stop_ids), vehicle.depot]
    return sum(int(problem.distance[a, b]) for a, b in itertools.pairwise(path))


def route_loads(problem: Problem, plan: Plan) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
    """Return ``(vehicle id, summed demand, capacity)`` per route, summed here."""
    stops = {s.id: s for s in problem.stops}
    vehicles = {v.id: v for v in problem.vehicles}
    result = []
    for route in plan.routes:
        capacity = vehicles[route.vehicle_id].capacity
        load = tuple(
            sum(stops[s].demand[d] for s in route.stop_ids) for d in range(len(capacity))
        )
        result.append((route.vehicle_id, load, capacity))
    return result

"""Stops bound to a depot: which vehicles may serve them, and one part per depot.

A stop with ``Stop.depot`` set may only ride on a vehicle that starts and ends at that
depot, for example because its goods are reserved at that warehouse. OR-Tools takes the
binding as allowed vehicles per stop. PyVRP 0.14 has no per-client vehicle restriction,
so ``solve`` cuts a problem with bound stops into one part per depot. The parts share no
stop and no vehicle, so solving them apart loses nothing against one joint search.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from distro.routing.problem import Problem, Stop, Vehicle


def may_serve(vehicle: Vehicle, stop: Stop) -> bool:
    """Return whether the depot binding of `stop` lets `vehicle` serve it."""
    return stop.depot is None or stop.depot == vehicle.depot


def split_by_depot(problem: Problem) -> list[Problem] | None:
    """Cut a problem into one part per depot, or return None when it needs no cut.

    The cut happens when at least one stop is bound to a depot and the vehicles start at
    two or more depots. A part contains one depot's vehicles and the stops bound to it. A
    stop without a binding joins the depot with the shortest round trip to it, as in the
    zone split of large problems. Depots without stops get no part. The parts share the
    original matrices, so location indices stay valid.
    """
    depots = sorted({v.depot for v in problem.vehicles})
    if len(depots) < 2 or all(stop.depot is None for stop in problem.stops):
        return None

    home = [_home_depot(problem, stop, depots) for stop in problem.stops]
    parts = []
    for depot in depots:
        stops = tuple(s for s, d in zip(problem.stops, home, strict=True) if d == depot)
        if not stops:
            continue
        vehicles = tuple(v for v in problem.vehicles if v.depot == depot)
        parts.append(replace(problem, stops=stops, vehicles=vehicles))
    return parts


def _home_depot(problem: Problem, stop: Stop, depots: list[int]) -> int:
    if stop.depot is not None:
        return stop.depot
    round_trip = problem.distance[depots, stop.location] + problem.distance[stop.location, depots]
    return depots[int(np.argmin(round_trip))]

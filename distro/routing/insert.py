"""Cheapest feasible insertion of one stop into a route that may already be running.

The stops at the start of the route that the rider has started (``fixed_prefix``) keep
their order and their times. The new stop goes somewhere after them, and only the
times of the stops after the last started one are recomputed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from distro.routing.problem import Problem, Route, Stop


@dataclass(frozen=True, slots=True)
class Insertion:
    """Result of ``insert_stop``.

    Attributes:
        position: Index of the new stop in ``route.stop_ids``, 0-based.
        route: The route with the stop inserted, its load, distance, end and the
            ETAs of the stops after ``fixed_prefix`` recomputed.
        added_distance: Extra distance in the problem's unit.

    """

    position: int
    route: Route
    added_distance: int


def insert_stop(
    problem: Problem,
    route: Route,
    stop_id: str,
    fixed_prefix: int = 0,
    ready_time: int | None = None,
) -> Insertion | None:
    """Find the cheapest place for a stop in a route that keeps every rule.

    Args:
        problem: Contains the route's vehicle, the route's stops and the new stop.
        route: The current route. Its ``etas`` give the service start of the started
            stops, in seconds.
        stop_id: Id of the stop to insert; it must not be on the route yet.
        fixed_prefix: Number of stops at the start of the route that the rider has
            started. They keep their place and ETA, and the new stop goes after them.
        ready_time: Earliest time in seconds at which the vehicle can leave the last
            started stop (or the depot when none has started), for example the
            current time of day. None means no such bound.

    Returns:
        The cheapest insertion by added distance cost, or None when no position keeps
        the capacity, the stop limit, every time window and the shift end.

    Raises:
        ValueError: an id is unknown, the stop is already on the route, or
            ``fixed_prefix`` is outside ``0..len(route.stop_ids)``.

    """
    stops = {s.id: (i, s) for i, s in enumerate(problem.stops)}
    vehicles = {v.id: i for i, v in enumerate(problem.vehicles)}
    if route.vehicle_id not in vehicles:
        raise ValueError(f"vehicle {route.vehicle_id!r} of the route is not in the problem")
    for known in (*route.stop_ids, stop_id):
        if known not in stops:
            raise ValueError(f"stop {known!r} is not in the problem; add it to Problem.stops")
    if stop_id in route.stop_ids:
        raise ValueError(f"stop {stop_id!r} is already on the route of {route.vehicle_id!r}")
    if not 0 <= fixed_prefix <= len(route.stop_ids):
        raise ValueError(
            f"fixed_prefix is {fixed_prefix}; pass 0..{len(route.stop_ids)}, the number of "
            f"started stops"
        )

    vehicle = problem.vehicles[vehicles[route.vehicle_id]]
    sequence = [stops[s][0] for s in route.stop_ids]
    new_index = stops[stop_id][0]
    new_stop = problem.stops[new_index]

    load = tuple(
        sum(problem.stops[i].demand[d] for i in sequence) + new_stop.demand[d]
        for d in range(len(vehicle.capacity))
    )
    if any(amount > cap for amount, cap in zip(load, vehicle.capacity, strict=True)):
        return None
    if vehicle.max_stops is not None and len(sequence) + 1 > vehicle.max_stops:
        return None

    # Where and when the vehicle leaves the last started stop.
    if fixed_prefix:
        last = problem.stops[sequence[fixed_prefix - 1]]
        location = last.location
        clock = route.etas[fixed_prefix - 1] + last.service_time
    else:
        location = vehicle.depot
        clock = route.start
    if ready_time is not None:
        clock = max(clock, ready_time)

    path = [vehicle.depot, *(problem.stops[i].location for i in sequence), vehicle.depot]
    old_distance = sum(int(problem.distance[a, b]) for a, b in itertools.pairwise(path))

    best: Insertion | None = None
    for position in range(fixed_prefix, len(sequence) + 1):
        candidate = [*sequence[:position], new_index, *sequence[position:]]
        suffix = [problem.stops[i] for i in candidate[fixed_prefix:]]
        timing = _time_suffix(problem, location, clock, suffix, vehicle.depot)
        if timing is None:
            continue
        etas, end = timing
        if vehicle.shift_end is not None and end > vehicle.shift_end:
            continue
        new_path = [vehicle.depot, *(problem.stops[i].location for i in candidate), vehicle.depot]
        distance = sum(
            int(problem.distance[a, b]) for a, b in itertools.pairwise(new_path)
        )
        added = distance - old_distance
        if best is not None and added >= best.added_distance:
            continue
        new_route = Route(
            vehicle_id=route.vehicle_id,
            stop_ids=tuple(problem.stops[i].id for i in candidate),
            load=load,
            distance=distance,
            duration=int(end - route.start),
            etas=(*route.etas[:fixed_prefix], *etas),
            start=route.start,
            end=int(end),
        )
        best = Insertion(position, new_route, added)
    return best


def _time_suffix(
    problem: Problem, location: int, clock: int, stops: list[Stop], depot: int
) -> tuple[list[int], int] | None:
    """Return the service starts of ``stops`` and the return time, or None if one is late."""
    etas: list[int] = []
    for stop in stops:
        clock += int(problem.duration[location, stop.location])
        if stop.time_window is not None:
            if clock > stop.time_window[1]:
                return None
            clock = max(clock, stop.time_window[0])
        etas.append(int(clock))
        clock += stop.service_time
        location = stop.location
    return etas, clock + int(problem.duration[location, depot])

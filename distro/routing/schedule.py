"""Route timing, checks and repair, computed from the problem's matrices only.

Engines return stop orders. Everything a plan reports (distance, duration, times of
arrival, load) is recomputed here, so reported numbers always equal matrix sums.
"""

from __future__ import annotations

from dataclasses import dataclass

from distro.routing.problem import Problem, Route, Unassigned

#: Reason given for stops removed by ``repair_route``.
REPAIR_REASON = (
    "no vehicle had capacity or time left for this stop in the best plan found within "
    "the time limit"
)


@dataclass(frozen=True, slots=True)
class RouteCheck:
    """Timing and violations of one vehicle's stop sequence.

    Attributes:
        route: The route with recomputed distance, times and load.
        late_position: Index in the sequence of the first stop served after its window
            closes, ``len(stops)`` when only the return to the depot is late, or None.
        over_capacity: True when the load exceeds the capacity in some dimension.
        over_max_stops: True when the route has more stops than ``max_stops``.

    """

    route: Route
    late_position: int | None
    over_capacity: bool
    over_max_stops: bool

    @property
    def feasible(self) -> bool:
        """True when the route meets capacity, stop limit and every time window."""
        return self.late_position is None and not self.over_capacity and not self.over_max_stops


def check_route(problem: Problem, vehicle_index: int, stop_indices: list[int]) -> RouteCheck:
    """Compute a route's distance, schedule and load, and find its violations.

    The vehicle leaves the depot at ``shift_start``. It then delays the departure by as
    much as removes waiting without making any stop late (Savelsbergh's forward time
    slack), so ETAs are not needlessly early. Service starts at the later of arrival
    and window opening.
    """
    vehicle = problem.vehicles[vehicle_index]
    stops = [problem.stops[i] for i in stop_indices]
    path = [vehicle.depot, *(stop.location for stop in stops), vehicle.depot]
    legs_distance = problem.distance[path[:-1], path[1:]]
    legs_duration = problem.duration[path[:-1], path[1:]]

    starts, waits = _forward_schedule(stops, legs_duration, vehicle.shift_start)
    departure = vehicle.shift_start
    if stops:
        delay = _forward_slack(stops, starts, waits)
        if delay > 0:
            departure += delay
            starts, waits = _forward_schedule(stops, legs_duration, departure)

    end = departure
    if stops:
        end = starts[-1] + stops[-1].service_time + int(legs_duration[-1])
    else:
        end = departure + int(legs_duration.sum())

    late_position = None
    for position, (stop, start) in enumerate(zip(stops, starts, strict=True)):
        if stop.time_window is not None and start > stop.time_window[1]:
            late_position = position
            break
    if late_position is None and vehicle.shift_end is not None and end > vehicle.shift_end:
        late_position = len(stops)

    load = tuple(int(sum(stop.demand[d] for stop in stops)) for d in range(len(vehicle.capacity)))
    over_capacity = any(load[d] > vehicle.capacity[d] for d in range(len(load)))
    over_max_stops = vehicle.max_stops is not None and len(stops) > vehicle.max_stops

    route = Route(
        vehicle_id=vehicle.id,
        stop_ids=tuple(stop.id for stop in stops),
        load=load,
        distance=int(legs_distance.sum()),
        duration=int(end - departure),
        etas=tuple(int(s) for s in starts),
        start=int(departure),
        end=int(end),
    )
    return RouteCheck(route, late_position, over_capacity, over_max_stops)


def repair_route(
    problem: Problem, vehicle_index: int, stop_indices: list[int]
) -> tuple[RouteCheck, list[int]]:
    """Remove stops from a route until it is feasible.

    Over capacity or over the stop limit, the stop with the lowest priority and then
    the largest demand goes first. When a stop is late, the lowest-priority stop among
    it and the stops before it goes. This is a safety net for engine results that
    break a rule, and not an optimiser.

    Returns:
        The check of the repaired route and the removed stop indices.

    """
    remaining = list(stop_indices)
    removed: list[int] = []
    check = check_route(problem, vehicle_index, remaining)
    while not check.feasible and remaining:
        if check.over_capacity or check.over_max_stops:
            victim = _capacity_victim(problem, vehicle_index, remaining, check.route.load)
        else:
            position = min(check.late_position, len(remaining) - 1)
            candidates = remaining[: position + 1]
            # Lowest priority first, and among equals the latest stop before the lateness.
            victim = min(
                candidates, key=lambda i: (problem.stops[i].priority, -candidates.index(i))
            )
        remaining.remove(victim)
        removed.append(victim)
        check = check_route(problem, vehicle_index, remaining)
    return check, removed


def _capacity_victim(
    problem: Problem, vehicle_index: int, remaining: list[int], load: tuple[int, ...]
) -> int:
    """Return the stop to remove from an overloaded route.

    That is the stop with the lowest priority and, among those, the largest demand in
    the overloaded dimensions.
    """
    capacity = problem.vehicles[vehicle_index].capacity
    over = [d for d in range(len(capacity)) if load[d] > capacity[d]]

    def weight(i: int) -> tuple[int, int]:
        stop = problem.stops[i]
        return (stop.priority, -sum(stop.demand[d] for d in over))

    return min(remaining, key=weight)


def unassigned_for(problem: Problem, stop_indices: list[int], reason: str) -> list[Unassigned]:
    """Return an ``Unassigned`` entry with the same reason for each stop index."""
    return [Unassigned(problem.stops[i].id, reason) for i in stop_indices]


def _forward_schedule(stops, legs_duration, departure: int) -> tuple[list[int], list[int]]:
    """Return service start and waiting time at each stop for a departure time."""
    starts: list[int] = []
    waits: list[int] = []
    clock = departure
    for position, stop in enumerate(stops):
        arrival = clock + int(legs_duration[position])
        start = arrival
        if stop.time_window is not None and arrival < stop.time_window[0]:
            start = stop.time_window[0]
        starts.append(start)
        waits.append(start - arrival)
        clock = start + stop.service_time
    return starts, waits


def _forward_slack(stops, starts: list[int], waits: list[int]) -> int:
    """Return how long the departure can be delayed without a later stop or less waiting."""
    total_wait = sum(waits)
    if total_wait == 0:
        return 0
    slack = total_wait
    cumulative_wait = 0
    for stop, start, wait in zip(stops, starts, waits, strict=True):
        cumulative_wait += wait
        if stop.time_window is not None:
            slack = min(slack, cumulative_wait + max(0, stop.time_window[1] - start))
    return max(0, slack)

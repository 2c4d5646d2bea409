"""PyVRP engine: builds ``pyvrp.ProblemData`` from matrices and runs its search.

PyVRP (hybrid iterated local search, https://pyvrp.org) handles capacities in several
dimensions, time windows, several depots, mixed fleets with fixed and per-distance
costs, and optional clients with prizes. A per-route stop limit is modelled as one
extra load dimension in which every stop weighs 1.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from distro.routing.problem import Problem, Vehicle

logger = logging.getLogger(__name__)

#: Length of the late-acceptance history of PyVRP's search (PyVRP 0.14 default: 300).
#: With the same iteration budget, 100 ended closer to the best-known cost on X-n125 to
#: X-n401: mean gap 1.53% against 2.04% after 3,000 iterations (5 instances, 2 seeds) and
#: 0.97% against 1.26% after 15,000 (3 instances), while 30 and 150 did worse than 100.
HISTORY_LENGTH = 100

#: History length of the second search of the ``auto`` engine, PyVRP's default. A
#: different acceptance makes the two searches end in different local optima: on
#: X-n125-k30 both seeds with history 100 ended with 31 routes, 1.4% above the best-known
#: cost, which uses 30.
SECOND_HISTORY_LENGTH = 300


@dataclass(frozen=True, slots=True)
class EngineTask:
    """The part of a problem handed to an engine.

    Attributes:
        problem: The full problem.
        stop_indices: Indices into ``problem.stops`` to route; the others are ignored.
        prizes: Prize per entry of ``stop_indices`` for leaving the stop unserved, or
            None when every stop must be served.
        history_length: Late-acceptance history of the PyVRP search.

    """

    problem: Problem
    stop_indices: tuple[int, ...]
    prizes: tuple[int, ...] | None
    history_length: int = HISTORY_LENGTH


@dataclass(frozen=True, slots=True)
class EngineResult:
    """Routes returned by an engine.

    Attributes:
        routes: ``(vehicle index, stop indices in order)`` per used vehicle, indices into
            ``problem.vehicles`` and ``problem.stops``.
        cost: Engine objective (distance cost, fixed costs and missed prizes).
        feasible: Whether the engine reports the routes as feasible.
        iterations: Search iterations done, for logs.

    """

    routes: tuple[tuple[int, tuple[int, ...]], ...]
    cost: int
    feasible: bool
    iterations: int = 0


def _vehicle_key(vehicle: Vehicle) -> tuple:
    return (
        vehicle.depot,
        vehicle.capacity,
        vehicle.shift_start,
        vehicle.shift_end,
        vehicle.max_stops,
        vehicle.fixed_cost,
        vehicle.distance_cost,
    )


def build_data(task: EngineTask):
    """Build PyVRP problem data for a task.

    Returns:
        ``(data, type_vehicles)`` where ``type_vehicles[t]`` lists the vehicle indices
        of PyVRP vehicle type ``t``.

    """
    import pyvrp

    problem = task.problem
    # NOTE: PyVRP 0.14 cannot restrict a client to some vehicle types, so Stop.depot is
    # not passed on. `solve` cuts problems with bound stops into one part per depot.
    # Time windows and shift ends are passed only where set. PyVRP's own defaults mean
    # "no limit" and let it skip time-window work on problems without any.
    n_stops_limit = any(v.max_stops is not None for v in problem.vehicles)
    n_task = len(task.stop_indices)

    distance = np.array(problem.distance, dtype=np.int64)
    duration = np.array(problem.duration, dtype=np.int64)
    np.fill_diagonal(distance, 0)
    np.fill_diagonal(duration, 0)

    coords = problem.coordinates
    if coords is not None:
        # PyVRP only uses coordinates for neighbourhood ties and plots.
        locations = [pyvrp.Location(x=float(c[1]), y=float(c[0])) for c in coords]
    else:
        locations = [pyvrp.Location(x=0.0, y=0.0) for _ in range(problem.n_locations)]

    depot_locations = sorted({v.depot for v in problem.vehicles})
    depot_index = {loc: i for i, loc in enumerate(depot_locations)}
    depots = [pyvrp.Depot(location=loc) for loc in depot_locations]

    groups: dict[tuple, list[int]] = {}
    for index, vehicle in enumerate(problem.vehicles):
        groups.setdefault(_vehicle_key(vehicle), []).append(index)
    vehicle_types = []
    type_vehicles = []
    for indices in groups.values():
        vehicle = problem.vehicles[indices[0]]
        capacity = list(vehicle.capacity)
        if n_stops_limit:
            capacity.append(vehicle.max_stops if vehicle.max_stops is not None else n_task)
        shift = {"tw_early": vehicle.shift_start}
        if vehicle.shift_end is not None:
            shift["tw_late"] = vehicle.shift_end
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(indices),
                capacity=capacity,
                start_depot=depot_index[vehicle.depot],
                end_depot=depot_index[vehicle.depot],
                fixed_cost=vehicle.fixed_cost,
                unit_distance_cost=vehicle.distance_cost,
                name=vehicle.id,
                **shift,
            )
        )
        type_vehicles.append(indices)

    clients = []
    for position, stop_index in enumerate(task.stop_indices):
        stop = problem.stops[stop_index]
        delivery = list(stop.demand) + ([1] if n_stops_limit else [])
        window = {}
        if stop.time_window is not None:
            window = {"tw_early": stop.time_window[0], "tw_late": stop.time_window[1]}
        required = task.prizes is None
        clients.append(
            pyvrp.Client(
                location=stop.location,
                delivery=delivery,
                service_duration=stop.service_time,
                prize=0 if required else task.prizes[position],
                required=required,
                name=stop.id,
                **window,
            )
        )

    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[distance],
        duration_matrices=[duration],
    )
    return data, type_vehicles


def run_pyvrp(
    task: EngineTask,
    time_limit: float,
    seed: int,
    max_iterations: int | None = None,
) -> EngineResult:
    """Solve a task with PyVRP within ``time_limit`` seconds.

    The search stops at the time limit or after ``max_iterations`` iterations,
    whichever comes first. Only a search stopped by the iteration count is
    reproducible, because the number of iterations done in a given time depends on
    the machine and its load.

    The time limit counts from the call, so building the data, the neighbourhoods and
    the first solution use part of it. PyVRP's own ``MaxRuntime`` (0.14) starts its
    clock only at the first search iteration, which made 1,000-stop solves overrun.
    """
    import pyvrp
    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
    from pyvrp.stop import MaxIterations, MultipleCriteria

    deadline = time.monotonic() + max(0.01, time_limit)
    data, type_vehicles = build_data(task)
    criteria = [_Deadline(deadline)]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    stop = MultipleCriteria(criteria)
    params = pyvrp.SolveParams(
        ils=IteratedLocalSearchParams(history_length=task.history_length),
        penalty=penalty_params(task.problem),
    )
    result = pyvrp.solve(
        data, stop=stop, seed=seed, collect_stats=False, display=False, params=params
    )
    return _to_engine_result(result, task, type_vehicles)


def penalty_params(problem: Problem):
    """Return PyVRP penalty parameters scaled to the problem's costs.

    PyVRP 0.14 caps the penalty of one unit of excess load or time warp at 100,000
    (``PenaltyParams.max_penalty``). With costs in money, one vehicle's fixed cost can
    exceed that, and then an overloaded route is cheaper than a second vehicle at any
    penalty. The cap is multiplied by the largest distance cost and raised by the
    largest fixed cost, so unit costs keep PyVRP's defaults and one unit of violation
    always costs more than a vehicle.
    """
    from pyvrp.PenaltyManager import PenaltyParams

    distance_cost = max(v.distance_cost for v in problem.vehicles)
    fixed_cost = max(v.fixed_cost for v in problem.vehicles)
    default = PenaltyParams()
    # Penalty times violation must stay within int64 in PyVRP's native code.
    max_penalty = min(default.max_penalty * max(1, distance_cost) + fixed_cost, _PENALTY_CAP)
    return PenaltyParams(max_penalty=max(default.max_penalty, float(max_penalty)))


#: Largest penalty per unit of violation: 2**36 times a violation of up to 10**8 kg or
#: seconds stays below the int64 limit.
_PENALTY_CAP = 2**36


class _Deadline:
    """PyVRP stopping criterion that ends the search at a ``time.monotonic()`` value."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline

    def __call__(self, best_cost: float) -> bool:
        return time.monotonic() >= self._deadline


def _to_engine_result(result, task: EngineTask, type_vehicles: list[list[int]]) -> EngineResult:
    """Map PyVRP routes back to problem vehicle and stop indices."""
    best = result.best
    next_vehicle = [0] * len(type_vehicles)
    routes = []
    for route in best.routes():
        type_index = route.vehicle_type()
        vehicle_index = type_vehicles[type_index][next_vehicle[type_index]]
        next_vehicle[type_index] += 1
        stops = tuple(
            task.stop_indices[activity.idx] for activity in route if activity.is_client()
        )
        if stops:
            routes.append((vehicle_index, stops))
    return EngineResult(
        routes=tuple(routes),
        cost=int(result.cost()) if best.is_feasible() else int(best.distance_cost()),
        feasible=bool(best.is_feasible()),
        iterations=int(result.num_iterations),
    )

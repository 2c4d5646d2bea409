"""OR-Tools engine: the constraint-programming routing solver as a baseline.

First solution by PATH_CHEAPEST_ARC, then GUIDED_LOCAL_SEARCH until the time limit.
A stop bound to a depot may only ride on that depot's vehicles.
Matrices are passed to the solver as data (``RegisterTransitMatrix``) instead of a
Python callback per arc, which is several times faster.
"""

from __future__ import annotations

import logging

import numpy as np

from distro.routing.engine_pyvrp import EngineResult, EngineTask

logger = logging.getLogger(__name__)

#: Upper bound used for "no limit" on times and counts, far below int64 overflow.
_HORIZON_CAP = 10**12


def run_ortools(
    task: EngineTask,
    time_limit: float,
    seed: int = 0,
    max_iterations: int | None = None,
) -> EngineResult:
    """Solve a task with OR-Tools within ``time_limit`` seconds.

    OR-Tools has no seed for this search, so ``seed`` is unused. ``max_iterations``
    caps the number of solutions the local search may accept, which makes short runs
    reproducible. Without a solution the result has no routes and is infeasible.
    """
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    problem = task.problem
    n_vehicles = len(problem.vehicles)
    depot_locations = sorted({v.depot for v in problem.vehicles})
    depot_node = {loc: i for i, loc in enumerate(depot_locations)}
    stops = [problem.stops[i] for i in task.stop_indices]

    # Routing nodes: one per depot location, then one per stop.
    node_location = np.array(depot_locations + [s.location for s in stops], dtype=np.int64)
    n_nodes = len(node_location)
    starts = [depot_node[v.depot] for v in problem.vehicles]
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_vehicles, starts, starts)
    routing = pywrapcp.RoutingModel(manager)

    distance = problem.distance[np.ix_(node_location, node_location)]
    service = np.array([0] * len(depot_locations) + [s.service_time for s in stops], dtype=np.int64)
    travel = problem.duration[np.ix_(node_location, node_location)] + service[:, None]

    # One arc-cost evaluator per distinct per-distance cost.
    evaluators: dict[int, int] = {}
    for vehicle_index, vehicle in enumerate(problem.vehicles):
        if vehicle.distance_cost not in evaluators:
            evaluators[vehicle.distance_cost] = routing.RegisterTransitMatrix(
                (distance * vehicle.distance_cost).tolist()
            )
        routing.SetArcCostEvaluatorOfVehicle(evaluators[vehicle.distance_cost], vehicle_index)
        routing.SetFixedCostOfVehicle(vehicle.fixed_cost, vehicle_index)

    for dim in range(problem.n_dimensions):
        demand = [0] * len(depot_locations) + [s.demand[dim] for s in stops]
        callback = routing.RegisterUnaryTransitVector(demand)
        routing.AddDimensionWithVehicleCapacity(
            callback, 0, [v.capacity[dim] for v in problem.vehicles], True, f"load{dim}"
        )

    if any(v.max_stops is not None for v in problem.vehicles):
        ones = [0] * len(depot_locations) + [1] * len(stops)
        callback = routing.RegisterUnaryTransitVector(ones)
        limits = [len(stops) if v.max_stops is None else v.max_stops for v in problem.vehicles]
        routing.AddDimensionWithVehicleCapacity(callback, 0, limits, True, "stops")

    timed = any(s.time_window is not None for s in stops) or any(
        v.shift_end is not None for v in problem.vehicles
    )
    if timed:
        _add_time_dimension(routing, manager, problem, stops, travel, len(depot_locations))

    for position, stop in enumerate(stops):
        if stop.depot is not None:
            allowed = [i for i, v in enumerate(problem.vehicles) if v.depot == stop.depot]
            index = manager.NodeToIndex(len(depot_locations) + position)
            # SetAllowedVehiclesForIndex rejects every Python list in OR-Tools 9.15
            # ("absl::Span< int const >"), so the vehicle variable is restricted
            # directly; -1 is the value of a stop left out.
            routing.VehicleVar(index).SetValues([-1, *allowed])

    if task.prizes is not None:
        for position, prize in enumerate(task.prizes):
            index = manager.NodeToIndex(len(depot_locations) + position)
            routing.AddDisjunction([index], int(prize))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(10, int(time_limit * 1000)))
    if max_iterations is not None:
        params.solution_limit = max_iterations

    solution = routing.SolveWithParameters(params)
    if solution is None:
        logger.info("OR-Tools found no solution within %.1f s", time_limit)
        return EngineResult(routes=(), cost=0, feasible=False)

    routes = []
    for vehicle_index in range(n_vehicles):
        index = routing.Start(vehicle_index)
        sequence = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            sequence.append(task.stop_indices[node - len(depot_locations)])
            index = solution.Value(routing.NextVar(index))
        if sequence:
            routes.append((vehicle_index, tuple(sequence)))
    return EngineResult(routes=tuple(routes), cost=int(solution.ObjectiveValue()), feasible=True)


def _add_time_dimension(routing, manager, problem, stops, travel, n_depots) -> None:
    """Add the time dimension with stop windows and vehicle shifts."""
    horizon = max(
        [v.shift_end for v in problem.vehicles if v.shift_end is not None]
        + [s.time_window[1] for s in stops if s.time_window is not None]
        + [0]
    )
    # Enough for any route that visits every stop, for vehicles without a shift end.
    horizon = min(_HORIZON_CAP, horizon + int(travel.max()) * (len(stops) + 1) + 1)
    callback = routing.RegisterTransitMatrix(travel.tolist())
    routing.AddDimension(callback, horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for position, stop in enumerate(stops):
        if stop.time_window is not None:
            index = manager.NodeToIndex(n_depots + position)
            time.CumulVar(index).SetRange(stop.time_window[0], stop.time_window[1])
    for vehicle_index, vehicle in enumerate(problem.vehicles):
        end = horizon if vehicle.shift_end is None else vehicle.shift_end
        time.CumulVar(routing.Start(vehicle_index)).SetRange(vehicle.shift_start, end)
        time.CumulVar(routing.End(vehicle_index)).SetRange(vehicle.shift_start, end)

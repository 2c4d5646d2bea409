"""Stops bound to a depot ride only with that depot's vehicles, in both engines."""

from __future__ import annotations

import numpy as np
import pytest

from distro.routing.depots import split_by_depot
from distro.routing.engine_ortools import run_ortools
from distro.routing.engine_pyvrp import EngineTask
from distro.routing.problem import Problem, Stop, Vehicle
from distro.routing.solve import precheck, recheck_plan, solve


def crossed_towns_problem(capacity: int = 10) -> Problem:
    """Two depots 20 km apart with 10 stops around each, half bound to the far depot.

    Without the binding every stop would go to the near depot, so a route that mixes
    depots shows at once.
    """
    rng = np.random.default_rng(7)
    depots = np.array([[0.0, 0.0], [20_000.0, 0.0]])
    towns = [depots[k] + rng.uniform(-1000, 1000, size=(10, 2)) for k in range(2)]
    points = np.vstack([depots, *towns])
    delta = points[:, None, :] - points[None, :, :]
    distance = np.rint(np.sqrt((delta**2).sum(axis=2))).astype(np.int64)
    duration = np.rint(distance / 10).astype(np.int64)
    stops = tuple(
        Stop(id=f"s{i}", location=i, demand=(1,), depot=(i // 2) % 2) for i in range(2, 22)
    )
    vehicles = tuple(
        Vehicle(id=f"d{depot}-{k}", depot=depot, capacity=(capacity,))
        for depot in (0, 1)
        for k in range(2)
    )
    return Problem(stops, vehicles, distance, duration)


def depot_of_vehicle(problem: Problem, vehicle_id: str) -> int:
    return next(v.depot for v in problem.vehicles if v.id == vehicle_id)


@pytest.mark.parametrize("engine", ["pyvrp", "auto", "ortools"])
def test_bound_stops_stay_with_depot(engine):
    """Every stop rides on a vehicle of its own depot, and every stop is served."""
    problem = crossed_towns_problem()
    bound = {s.id: s.depot for s in problem.stops}

    plan = solve(problem, time_limit=2, engine=engine, max_iterations=500)

    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()
    for route in plan.routes:
        home = depot_of_vehicle(problem, route.vehicle_id)
        assert {bound[s] for s in route.stop_ids} == {home}, route.vehicle_id


def test_ortools_engine_honours_binding_unsplit():
    """OR-Tools keeps the binding on its own, without the split in `solve`."""
    problem = crossed_towns_problem()
    task = EngineTask(problem, tuple(range(len(problem.stops))), None)

    result = run_ortools(task, time_limit=2, max_iterations=200)

    assert result.feasible
    served = [i for _, stops in result.routes for i in stops]
    assert sorted(served) == list(range(len(problem.stops)))
    for vehicle_index, stop_indices in result.routes:
        home = problem.vehicles[vehicle_index].depot
        assert {problem.stops[i].depot for i in stop_indices} == {home}


def test_split_by_depot_parts():
    """One part per depot contains its vehicles and bound stops; unbound stops go to the nearest."""
    base = crossed_towns_problem()
    stops = (*base.stops[:-1], Stop(id="free", location=21, demand=(1,)))
    problem = Problem(stops, base.vehicles, base.distance, base.duration)

    parts = split_by_depot(problem)

    assert parts is not None
    assert len(parts) == 2
    for depot, part in enumerate(parts):
        assert {v.depot for v in part.vehicles} == {depot}
        assert all(s.depot in (None, depot) for s in part.stops)
    # Location 21 is in the town of depot 1.
    assert "free" in {s.id for s in parts[1].stops}
    assert sum(len(p.stops) for p in parts) == len(stops)


def test_split_by_depot_skips_unbound_problem():
    """Without bound stops the problem is solved whole, as before."""
    base = crossed_towns_problem()
    stops = tuple(Stop(id=s.id, location=s.location, demand=s.demand) for s in base.stops)
    problem = Problem(stops, base.vehicles, base.distance, base.duration)

    assert split_by_depot(problem) is None


def test_bound_depot_full_leaves_stops_unassigned():
    """A depot whose vans are full cannot borrow the other depot's spare room."""
    base = crossed_towns_problem()
    vehicles = (
        Vehicle(id="d0-0", depot=0, capacity=(4,)),
        Vehicle(id="d1-0", depot=1, capacity=(20,)),
    )
    problem = Problem(base.stops, vehicles, base.distance, base.duration)

    plan = solve(problem, time_limit=2, engine="pyvrp", max_iterations=500)

    assert recheck_plan(problem, plan) == []
    depot_zero = {s.id for s in problem.stops if s.depot == 0}
    left_out = {u.stop_id for u in plan.unassigned}
    assert left_out <= depot_zero
    assert len(left_out) == len(depot_zero) - 4


def test_precheck_names_missing_depot_fleet():
    """A stop whose depot has no vehicle with room for it gets a reason from that depot's fleet."""
    base = crossed_towns_problem()
    vehicles = (
        Vehicle(id="d0-0", depot=0, capacity=(1,)),
        Vehicle(id="d1-0", depot=1, capacity=(20,)),
    )
    heavy = Stop(id="heavy", location=2, demand=(5,), depot=0)
    problem = Problem((heavy,), vehicles, base.distance, base.duration)

    impossible, candidates = precheck(problem)

    assert candidates == []
    reason = "demand 5 (dimension 0) exceeds the largest vehicle capacity 1 (dimension 0)"
    assert impossible == [(0, reason)]


def test_stop_bound_to_unknown_depot_rejected():
    """A binding to a location where no vehicle starts is a ValueError naming it."""
    base = crossed_towns_problem()
    stray = Stop(id="stray", location=5, demand=(1,), depot=5)
    with pytest.raises(ValueError, match="stop 'stray' has depot 5, where no vehicle starts"):
        Problem((stray,), base.vehicles, base.distance, base.duration)

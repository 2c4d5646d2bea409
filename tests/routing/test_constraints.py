"""Dispatcher rules in both engines: stop limits, priorities, mixed fleets, several depots,
insertion into a running route, and large problems cut into zones."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from distro.routing.insert import insert_stop
from distro.routing.problem import Problem, Stop, Vehicle
from distro.routing.schedule import check_route
from distro.routing.solve import compact_problem, recheck_plan, solve
from tests.routing.helpers import grid_problem, matrix_distance, route_loads, served_counts

solve_module = importlib.import_module("distro.routing.solve")

ENGINES = ["pyvrp", "ortools"]


@pytest.mark.parametrize("engine", ENGINES)
def test_max_stops_per_route_honoured(engine):
    """No route has more stops than its vehicle's limit, and every stop is served."""
    vehicles = [Vehicle(id=f"v{k}", depot=0, capacity=(100,), max_stops=4) for k in range(4)]
    problem = grid_problem(14, seed=3, vehicles=vehicles)
    plan = solve(problem, time_limit=1, engine=engine, max_iterations=300)
    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()
    assert max(len(route.stop_ids) for route in plan.routes) <= 4


@pytest.mark.parametrize("engine", ENGINES)
def test_max_stops_leaves_excess_unassigned(engine):
    """With room for 6 stops in all, 2 of 8 are unassigned with a reason."""
    vehicles = [Vehicle(id=f"v{k}", depot=0, capacity=(100,), max_stops=3) for k in range(2)]
    problem = grid_problem(8, seed=4, vehicles=vehicles)
    plan = solve(problem, time_limit=1, engine=engine)
    assert recheck_plan(problem, plan) == []
    assert len(plan.unassigned) == 2
    assert all(item.reason for item in plan.unassigned)


@pytest.mark.parametrize("engine", ["pyvrp", "auto", "ortools"])
def test_priority_reason_names_priority(engine):
    """Low-priority stops go first, and their reason names the higher priority they gave way to."""
    base = grid_problem(6, vehicles=[Vehicle(id="v", depot=0, capacity=(40,))], demand=(10,))
    stops = tuple(
        Stop(id=s.id, location=s.location, demand=s.demand, priority=2 if i < 4 else 0)
        for i, s in enumerate(base.stops)
    )
    problem = Problem(stops, base.vehicles, base.distance, base.duration)
    plan = solve(problem, time_limit=1, engine=engine)
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert sorted(reasons) == ["s5", "s6"]
    for reason in reasons.values():
        assert reason.startswith("left out for higher-priority stops")
        assert "priority 0" in reason


@pytest.mark.parametrize("engine", ENGINES)
def test_mixed_fleet_both_dimensions(engine):
    """A kg-heavy van and a units-heavy truck: neither dimension is exceeded anywhere."""
    vehicles = [
        Vehicle(id="van", depot=0, capacity=(60, 40), fixed_cost=100, distance_cost=1),
        Vehicle(id="truck", depot=0, capacity=(200, 12), fixed_cost=300, distance_cost=2),
    ]
    base = grid_problem(16, seed=8, vehicles=vehicles, demand=(1, 1))
    rng = np.random.default_rng(2)
    stops = tuple(
        Stop(s.id, s.location, (int(rng.integers(5, 16)), int(rng.integers(1, 4))))
        for s in base.stops
    )
    problem = Problem(stops, base.vehicles, base.distance, base.duration)
    plan = solve(problem, time_limit=1, engine=engine)
    assert recheck_plan(problem, plan) == []
    assert set(served_counts(problem, plan).values()) == {1}
    for vehicle_id, load, capacity in route_loads(problem, plan):
        assert load[0] <= capacity[0], vehicle_id
        assert load[1] <= capacity[1], vehicle_id


def two_town_problem() -> Problem:
    """Two depots 20 km apart, each with 10 stops within 1 km and two vehicles."""
    rng = np.random.default_rng(5)
    depots = np.array([[0.0, 0.0], [20_000.0, 0.0]])
    towns = [depots[k] + rng.uniform(-1000, 1000, size=(10, 2)) for k in range(2)]
    points = np.vstack([depots, *towns])
    delta = points[:, None, :] - points[None, :, :]
    distance = np.rint(np.sqrt((delta**2).sum(axis=2))).astype(np.int64)
    duration = np.rint(distance / 10).astype(np.int64)
    stops = tuple(Stop(id=f"s{i}", location=i, demand=(1,)) for i in range(2, 22))
    vehicles = tuple(
        Vehicle(id=f"d{depot}-{k}", depot=depot, capacity=(10,))
        for depot in (0, 1)
        for k in range(2)
    )
    return Problem(stops, vehicles, distance, duration)


@pytest.mark.parametrize("engine", ["pyvrp", "auto", "ortools"])
def test_multi_depot_routes_start_and_end_home(engine):
    """Each route is measured from and back to its own depot; each town is served locally."""
    problem = two_town_problem()
    plan = solve(problem, time_limit=1, engine=engine)
    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()
    for route in plan.routes:
        assert route.distance == matrix_distance(problem, route.vehicle_id, route.stop_ids)
        home = 0 if route.vehicle_id.startswith("d0") else 1
        towns = {0 if int(s[1:]) < 12 else 1 for s in route.stop_ids}
        assert towns == {home}, route.vehicle_id


def test_multi_depot_split_path(monkeypatch):
    """Above the split threshold, two depots are solved as zones and merged."""
    monkeypatch.setattr(solve_module, "SPLIT_THRESHOLD", 12)
    problem = two_town_problem()
    plan = solve(problem, time_limit=2, engine="pyvrp")
    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()


def test_split_leftover_uses_other_depot(monkeypatch):
    """Stops that their zone's fleet cannot take are served by another depot's spare van."""
    monkeypatch.setattr(solve_module, "SPLIT_THRESHOLD", 12)
    base = two_town_problem()
    vehicles = (
        Vehicle(id="d0-0", depot=0, capacity=(7,)),
        Vehicle(id="d1-0", depot=1, capacity=(10,)),
        Vehicle(id="d1-1", depot=1, capacity=(10,)),
    )
    problem = Problem(base.stops, vehicles, base.distance, base.duration)
    plan = solve(problem, time_limit=3, engine="pyvrp")
    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()


def test_compact_problem_keeps_ids_and_costs():
    """A compact problem has only used locations, and its routes cost the same."""
    problem = two_town_problem()
    part = Problem(problem.stops[:5], problem.vehicles[:1], problem.distance, problem.duration)
    compact = compact_problem(part)
    assert compact.n_locations == 6
    assert [s.id for s in compact.stops] == [s.id for s in part.stops]
    original = check_route(part, 0, [0, 1, 2, 3, 4]).route
    again = check_route(compact, 0, [0, 1, 2, 3, 4]).route
    assert again == original


def running_route_problem():
    """One vehicle (cap 10, shift 0-2000 s), four stops on a line and a new stop."""
    positions = [0, 100, 200, 300, 400, 150]
    points = np.array([[x, 0.0] for x in positions])
    distance = np.abs(points[:, None, 0] - points[None, :, 0]).astype(np.int64)
    duration = distance // 10
    stops = tuple(Stop(id=f"s{i}", location=i, demand=(2,), service_time=60) for i in range(1, 5))
    new = Stop(id="new", location=5, demand=(2,), service_time=60)
    vehicle = Vehicle(id="v", depot=0, capacity=(10,), shift_start=0, shift_end=2000)
    problem = Problem((*stops, new), (vehicle,), distance, duration)
    route = check_route(problem, 0, [0, 1, 2, 3]).route
    return problem, route


def test_insert_stop_cheapest_place():
    """Without started stops, the new stop goes between its neighbours on the line."""
    problem, route = running_route_problem()
    insertion = insert_stop(problem, route, "new")
    assert insertion.position == 1
    assert insertion.route.stop_ids == ("s1", "new", "s2", "s3", "s4")
    assert insertion.added_distance == 0
    assert insertion.route.load == (10,)


def test_insert_stop_keeps_started_prefix():
    """With three stops started, the new stop goes after them and their ETAs stay."""
    problem, route = running_route_problem()
    insertion = insert_stop(problem, route, "new", fixed_prefix=3)
    assert insertion.position >= 3
    assert insertion.route.stop_ids[:3] == route.stop_ids[:3]
    assert insertion.route.etas[:3] == route.etas[:3]
    assert insertion.route.distance == matrix_distance(
        problem, "v", insertion.route.stop_ids
    )


def test_insert_stop_respects_rules():
    """A full vehicle, a closed window or a late ready time give no insertion."""
    problem, route = running_route_problem()
    full = Problem(
        problem.stops,
        (Vehicle(id="v", depot=0, capacity=(9,), shift_end=2000),),
        problem.distance,
        problem.duration,
    )
    assert insert_stop(full, route, "new") is None

    closed = Stop(id="new", location=5, demand=(2,), service_time=60, time_window=(0, 10))
    windowed = Problem((*problem.stops[:4], closed), problem.vehicles, problem.distance,
                       problem.duration)
    assert insert_stop(windowed, route, "new") is None

    assert insert_stop(problem, route, "new", fixed_prefix=2, ready_time=1900) is None


def test_insert_stop_rejects_bad_prefix():
    """A prefix longer than the route raises ValueError naming the range."""
    problem, route = running_route_problem()
    with pytest.raises(ValueError, match="fixed_prefix is 9"):
        insert_stop(problem, route, "new", fixed_prefix=9)

"""The planner on real benchmark files and on small built problems."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from distro.routing.instances import check_routes, evaluate, load_instance
from distro.routing.problem import Problem, Stop, Vehicle
from distro.routing.solve import precheck, recheck_plan, solve
from tests.routing.helpers import grid_problem, matrix_distance, route_loads, served_counts

# The package exports the function ``solve``, which hides the module of the same name.
solve_module = importlib.import_module("distro.routing.solve")


@pytest.fixture(scope="module")
def x101(instances_dir):
    return load_instance(instances_dir / "cvrp" / "X-n101-k25.vrp")


@pytest.fixture(scope="module")
def x101_plan(x101):
    return solve(x101.problem, time_limit=2, seed=0, engine="auto")


def test_cvrp_every_stop_once(x101, x101_plan):
    """Each stop of X-n101-k25 is in exactly one route, none is unassigned."""
    counts = served_counts(x101.problem, x101_plan)
    assert set(counts.values()) == {1}
    assert x101_plan.unassigned == ()


def test_cvrp_capacity_never_exceeded(x101, x101_plan):
    """The demand summed per route stays within the vehicle capacity."""
    for vehicle_id, load, capacity in route_loads(x101.problem, x101_plan):
        assert load[0] <= capacity[0], vehicle_id


def test_cvrp_distances_equal_matrix_sums(x101, x101_plan):
    """Route distances and the total equal the matrix summed arc by arc."""
    for route in x101_plan.routes:
        assert route.distance == matrix_distance(x101.problem, route.vehicle_id, route.stop_ids)
    assert x101_plan.total_distance == sum(r.distance for r in x101_plan.routes)
    assert evaluate(x101, [r.stop_ids for r in x101_plan.routes]) == x101_plan.total_distance


def test_cvrp_plan_close_to_best_known(x101_plan):
    """Two seconds on two cores stay within 3% of the best-known cost 27591."""
    assert x101_plan.total_distance <= 27591 * 1.03


def test_cvrp_solve_respects_time_limit(x101_plan):
    """The whole call stays within the time limit plus half a second."""
    assert x101_plan.solve_seconds <= 2.5


@pytest.mark.parametrize("name", ["R101", "RC201"])
def test_solomon_time_windows_respected(instances_dir, name):
    """Solomon plans serve every customer inside its window with at most 25 vehicles."""
    instance = load_instance(instances_dir / "vrptw" / f"{name}.txt")
    plan = solve(instance.problem, time_limit=2, seed=0, engine="pyvrp")
    routes = [r.stop_ids for r in plan.routes]
    assert plan.unassigned == ()
    assert check_routes(instance, routes) == []
    windows = {s.id: s.time_window for s in instance.problem.stops}
    for route in plan.routes:
        for stop_id, eta in zip(route.stop_ids, route.etas, strict=True):
            assert windows[stop_id][0] <= eta <= windows[stop_id][1], (route.vehicle_id, stop_id)


def test_lastmile_rj0_plans_quickly(instances_dir):
    """loggibud rj-0 (221 stops) plans within its 3 s limit and serves every delivery."""
    instance = load_instance(instances_dir / "lastmile" / "loggibud-cvrp-0-rj-0.json")
    plan = solve(instance.problem, time_limit=3, seed=0)
    assert plan.solve_seconds <= 3.5
    assert plan.unassigned == ()
    assert recheck_plan(instance.problem, plan) == []


@pytest.mark.parametrize("engine", ["pyvrp", "auto", "ortools"])
def test_same_seed_same_plan(x101, engine):
    """With an iteration budget that ends the search first, a seed gives one plan."""
    first = solve(x101.problem, time_limit=20, seed=3, engine=engine, max_iterations=200)
    second = solve(x101.problem, time_limit=20, seed=3, engine=engine, max_iterations=200)
    assert first.routes == second.routes
    assert first.unassigned == second.unassigned


def test_ortools_engine_valid_plan(x101):
    """The OR-Tools baseline returns a plan that passes the same checks."""
    plan = solve(x101.problem, time_limit=1, engine="ortools")
    assert plan.engine == "ortools"
    assert plan.unassigned == ()
    assert recheck_plan(x101.problem, plan) == []


def test_demand_over_capacity_unassigned():
    """A stop heavier than every vehicle is reported with the amounts and the unit."""
    problem = grid_problem(5, vehicles=[Vehicle(id="v", depot=0, capacity=(200,))])
    heavy = Stop(id="heavy", location=3, demand=(250,))
    problem = Problem(
        stops=(*problem.stops, heavy), vehicles=problem.vehicles, distance=problem.distance,
        duration=problem.duration, dimension_units=("kg",),
    )
    plan = solve(problem, time_limit=0.5, engine="pyvrp")
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert reasons == {"heavy": "demand 250 kg exceeds the largest vehicle capacity 200 kg"}
    assert recheck_plan(problem, plan) == []


def test_unreachable_window_unassigned():
    """A window that closes before any vehicle can arrive is reported as unreachable."""
    base = grid_problem(4, vehicles=[Vehicle(id="v", depot=0, capacity=(10,), shift_start=3600)])
    late = Stop(id="early", location=2, demand=(1,), time_window=(0, 600))
    problem = Problem(
        stops=(*base.stops, late), vehicles=base.vehicles, distance=base.distance,
        duration=base.duration,
    )
    impossible, candidates = precheck(problem)
    assert len(impossible) == 1
    assert "cannot be reached from the depot" in impossible[0][1]
    assert len(candidates) == 4


def test_low_priority_dropped_first():
    """When the fleet is short, the stops left out are the low-priority ones."""
    base = grid_problem(6, vehicles=[Vehicle(id="v", depot=0, capacity=(40,))], demand=(10,))
    stops = tuple(
        Stop(id=s.id, location=s.location, demand=s.demand, priority=1 if i < 4 else 0)
        for i, s in enumerate(base.stops)
    )
    problem = Problem(stops, base.vehicles, base.distance, base.duration)
    for engine in ("pyvrp", "auto", "ortools"):
        plan = solve(problem, time_limit=1, engine=engine)
        assert sorted(u.stop_id for u in plan.unassigned) == ["s5", "s6"], engine
        assert recheck_plan(problem, plan) == [], engine


def test_time_window_and_shift_rules_kept():
    """Windows, service times and shift ends hold in a problem that cannot serve all."""
    vehicles = [Vehicle(id=f"v{k}", depot=0, capacity=(50,), shift_end=400) for k in range(2)]
    base = grid_problem(30, seed=4, vehicles=vehicles, service_time=30)
    rng = np.random.default_rng(1)
    stops = []
    for stop in base.stops:
        early = int(rng.integers(0, 250))
        stops.append(
            Stop(stop.id, stop.location, stop.demand, stop.service_time, (early, early + 60))
        )
    problem = Problem(tuple(stops), base.vehicles, base.distance, base.duration)
    plan = solve(problem, time_limit=1.5)
    assert recheck_plan(problem, plan) == []
    assert len(plan.unassigned) > 0
    assert all(route.end <= 400 for route in plan.routes)


def test_max_stops_two_dimensions_two_depots():
    """Stop limits, two capacity dimensions and per-depot return hold together."""
    vehicles = [
        Vehicle(id="north", depot=0, capacity=(100, 8), max_stops=5, fixed_cost=50),
        Vehicle(id="south", depot=1, capacity=(60, 20), max_stops=7, distance_cost=2),
        Vehicle(id="spare", depot=1, capacity=(60, 20), max_stops=7, distance_cost=2),
    ]
    problem = grid_problem(15, seed=2, vehicles=vehicles, demand=(7, 1))
    plan = solve(problem, time_limit=1)
    assert recheck_plan(problem, plan) == []
    assert set(served_counts(problem, plan).values()) == {1}
    for route in plan.routes:
        limit = {v.id: v.max_stops for v in vehicles}[route.vehicle_id]
        assert len(route.stop_ids) <= limit
    for vehicle_id, load, capacity in route_loads(problem, plan):
        assert all(a <= c for a, c in zip(load, capacity, strict=True)), vehicle_id


def test_etas_follow_matrix_times():
    """ETAs equal departure plus travel and service time when no window makes a wait."""
    problem = grid_problem(8, seed=5, service_time=60)
    plan = solve(problem, time_limit=0.5, engine="pyvrp")
    location = {s.id: s.location for s in problem.stops}
    for route in plan.routes:
        clock, here = route.start, 0
        for stop_id, eta in zip(route.stop_ids, route.etas, strict=True):
            clock += int(problem.duration[here, location[stop_id]])
            assert eta == clock
            clock += 60
            here = location[stop_id]
        assert route.end == clock + int(problem.duration[here, 0])


def test_split_path_covers_all(monkeypatch):
    """Above the split threshold, parts are solved and merged with every stop once."""
    monkeypatch.setattr(solve_module, "SPLIT_THRESHOLD", 40)
    vehicles = [Vehicle(id=f"v{k}", depot=0 if k < 4 else 5, capacity=(40,)) for k in range(8)]
    problem = grid_problem(120, seed=6, vehicles=vehicles)
    plan = solve(problem, time_limit=2, engine="pyvrp")
    assert recheck_plan(problem, plan) == []
    assert set(served_counts(problem, plan).values()) == {1}
    assert plan.unassigned == ()


def test_progress_reports_fractions(x101):
    """The progress callback gets fractions from 0 to 1, ending with 1."""
    calls = []
    solve(x101.problem, time_limit=1, progress=lambda message, fraction: calls.append(fraction))
    assert calls[0] == 0.0
    assert calls[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in calls)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"time_limit": 0}, "time_limit is 0"),
        ({"time_limit": 1, "engine": "gurobi"}, "engine 'gurobi' is unknown"),
        ({"time_limit": 1, "max_iterations": 0}, "max_iterations is 0"),
    ],
)
def test_solve_rejects_bad_arguments(kwargs, expected):
    """Bad solve arguments raise ValueError naming the value."""
    with pytest.raises(ValueError) as error:
        solve(grid_problem(3), **kwargs)
    assert expected in str(error.value)

"""Vehicle running costs in the objective: cheaper vehicles first, fewer vehicles for fixed
costs, and no stop left out because of cost."""

from __future__ import annotations

import numpy as np
import pytest

from distro.routing.problem import CostRangeError, Problem, Stop, Vehicle
from distro.routing.solve import recheck_plan, solve
from tests.routing.helpers import grid_problem

ENGINES = ["pyvrp", "ortools"]


@pytest.mark.parametrize("engine", ENGINES)
def test_cheaper_vehicle_per_km_is_used(engine):
    """With room on either vehicle, the route goes to the one that costs less per metre."""
    vehicles = [
        Vehicle(id="costly", depot=0, capacity=(20,), distance_cost=40),
        Vehicle(id="cheap", depot=0, capacity=(20,), distance_cost=5),
    ]
    problem = grid_problem(12, seed=2, vehicles=vehicles)

    plan = solve(problem, time_limit=1, engine=engine, max_iterations=300)

    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()
    assert [route.vehicle_id for route in plan.routes] == ["cheap"]


def two_sided_problem(fixed_cost: int) -> Problem:
    """Two stops 1 km either side of the depot, with a 10 km arc between them.

    Without a fixed cost two vehicles (4 km) beat one (12 km); a fixed cost above 8 km of
    driving makes one vehicle cheaper.
    """
    distance = np.array([[0, 1000, 1000], [1000, 0, 10_000], [1000, 10_000, 0]])
    stops = (Stop(id="north", location=1, demand=(1,)), Stop(id="south", location=2, demand=(1,)))
    vehicles = tuple(
        Vehicle(id=f"v{k}", depot=0, capacity=(2,), fixed_cost=fixed_cost) for k in range(2)
    )
    return Problem(stops, vehicles, distance, distance // 10)


@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_cost_means_fewer_vehicles(engine):
    """A fixed cost above the detour puts both stops on one vehicle; without it, two."""
    free = two_sided_problem(fixed_cost=0)
    costly = two_sided_problem(fixed_cost=20_000)

    free_plan = solve(free, time_limit=1, engine=engine, max_iterations=200)
    costly_plan = solve(costly, time_limit=1, engine=engine, max_iterations=200)

    assert recheck_plan(free, free_plan) == []
    assert recheck_plan(costly, costly_plan) == []
    assert len(free_plan.routes) == 2
    assert len(costly_plan.routes) == 1
    assert costly_plan.unassigned == ()


@pytest.mark.parametrize("engine", ENGINES)
def test_costly_vehicles_still_serve_every_stop(engine):
    """Costs far above the distances never make the planner leave out a stop that fits."""
    vehicles = [
        Vehicle(id=f"v{k}", depot=0, capacity=(5,), distance_cost=900, fixed_cost=5_000_000)
        for k in range(3)
    ]
    # 14 stops need all three vehicles; windows force the optional-stop (prize) search.
    problem = grid_problem(14, seed=6, vehicles=vehicles, time_window=(0, 36_000))

    plan = solve(problem, time_limit=2, engine=engine, max_iterations=500)

    assert recheck_plan(problem, plan) == []
    assert plan.unassigned == ()
    assert len(plan.routes) == 3


def test_cost_range_error_names_vehicle():
    """Costs that could overflow int64 are rejected with the vehicle and the fix."""
    base = grid_problem(10, seed=1)
    vehicles = (
        Vehicle(id="ok", depot=0, capacity=(10,), distance_cost=100),
        Vehicle(id="huge", depot=0, capacity=(10,), distance_cost=10**15),
    )
    with pytest.raises(CostRangeError, match="vehicle 'huge' has distance_cost") as caught:
        Problem(base.stops, vehicles, base.distance, base.duration)
    assert caught.value.vehicle_id == "huge"

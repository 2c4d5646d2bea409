"""Vehicle running costs in board planning and on the board, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from distro.backbone import fulfillment as ff
from distro.backbone import route_edits
from distro.backbone.actors import Actor
from distro.backbone.errors import ValidationError
from distro.backbone.models import Plan, PlanStatus, Role, Route, Vehicle
from distro.backbone.orders import LineRequest, submit_order
from distro.backbone.running_costs import objective_weights, route_cost_cents, vehicle_rates
from tests.factories import DAY, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER = Actor(username="desk", role=Role.DEALER)


def set_costs(engine, costs):
    """Set (per-km cents, per-day cents) on vehicles V-1, V-2, ... in order."""
    with Session(engine) as session:
        for index, (per_km, per_day) in enumerate(costs, start=1):
            vehicle = session.exec(select(Vehicle).where(Vehicle.code == f"V-{index}")).one()
            vehicle.cost_per_km_cents = per_km
            vehicle.cost_per_day_cents = per_day
            session.add(vehicle)
        session.commit()


def place(engine, network, quantities):
    for index, quantity in enumerate(quantities):
        submit_order(
            engine,
            DEALER,
            dealer_id=network.dealer_ids[index % len(network.dealer_ids)],
            delivery_day=DAY,
            lines=[LineRequest("SKU-1", quantity)],
        )


def planning_problem(engine, depot_id: int, day: date):
    with Session(engine) as session:
        data = ff._planning_input(session, day, depot_id)
    return ff.build_problem([data])


def test_cheaper_vehicle_gets_the_route(engine):
    """With room on either van, the one that costs a tenth per km drives the route."""
    network = build_network(engine, dealers=4)
    set_costs(engine, [(300, 5000), (30, 5000)])
    place(engine, network, [3, 4, 5, 6])

    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert [r.vehicle_code for r in snapshot.routes] == ["V-2"]
    route = snapshot.routes[0]
    assert route.stop_count == 4
    assert route.cost_cents == round(route.distance_m * 30 / 1000) + 5000
    assert snapshot.total_cost_cents == route.cost_cents


def test_costs_reach_the_planner_in_millicents(engine):
    """Per-km cents become thousandths of a cent per metre; a day's cents, times 1000."""
    network = build_network(engine, dealers=2)
    set_costs(engine, [(45, 18_000), (0, 0)])
    place(engine, network, [2, 3])

    problem = planning_problem(engine, network.depot_id, DAY)

    by_shift = {v.id: v for v in problem.vehicles}
    first, second = (by_shift[str(i)] for i in network.shift_ids)
    assert (first.distance_cost, first.fixed_cost) == (45, 18_000_000)
    # Vehicle V-2 has no costs: the KPI defaults (0.50 per km, 40.00 per day) stand in.
    assert (second.distance_cost, second.fixed_cost) == (50, 4_000_000)
    assert all(stop.depot == 0 for stop in problem.stops)


def test_zero_costs_weigh_distance_alone(engine):
    """A fleet without costs is planned on distance, 1 per metre and no fixed cost, as before."""
    network = build_network(engine, dealers=2)
    place(engine, network, [2, 3])

    problem = planning_problem(engine, network.depot_id, DAY)
    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    assert {(v.distance_cost, v.fixed_cost) for v in problem.vehicles} == {(1, 0)}
    with Session(engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
        plan = session.get(Plan, plan_id)
    assert plan.status == PlanStatus.DRAFT
    assert sum(r.stop_count for r in snapshot.routes) == 2
    # The board still prices the routes at the network defaults.
    for route in snapshot.routes:
        assert route.cost_cents == round(route.distance_m * 50 / 1000) + 4000


def test_high_costs_never_leave_stops_out(engine):
    """Vehicles that cost far more than any stop is worth still serve every stop that fits."""
    network = build_network(engine, dealers=6, vehicles=((30, 15), (30, 15), (30, 15)))
    set_costs(engine, [(5_000, 5_000_000)] * 3)
    # 24 kg and 12 units each: no van takes two, so all three must drive.
    place(engine, network, [12, 12, 12])

    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=2, engine=engine)

    with Session(engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert snapshot.unassigned == []
    assert len(snapshot.routes) == 3
    assert sum(r.stop_count for r in snapshot.routes) == 3


def test_cost_overflow_names_vehicle(sqlite_engine):
    """Costs too large for the planner fail with the vehicle's code, and no route is written."""
    network = build_network(sqlite_engine, dealers=2)
    set_costs(sqlite_engine, [(10**15, 0), (0, 0)])
    place(sqlite_engine, network, [2, 3])

    with pytest.raises(ValidationError, match="Vehicle V-1 costs 1000000000000000 cents per km"):
        ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        plans = session.exec(select(Plan)).all()
        routes = session.exec(select(Route)).all()
    assert [p.status for p in plans] == [PlanStatus.FAILED]
    assert routes == []


def test_comparison_has_cost(sqlite_engine):
    """The plan comparison gives the draft's running cost, the sum over its routes."""
    network = build_network(sqlite_engine, dealers=3)
    set_costs(sqlite_engine, [(40, 9000), (40, 9000)])
    place(sqlite_engine, network, [2, 3, 4])
    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        comparison = route_edits.compare_plans(session, DAY, network.depot_id)
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert comparison.draft.cost_cents == snapshot.total_cost_cents
    assert comparison.draft.cost_cents == sum(
        round(r.distance_m * 40 / 1000) + 9000 for r in snapshot.routes
    )


def test_rates_fall_back_to_settings():
    vehicle = Vehicle(code="X", name="X", capacity_kg=1, capacity_units=1, cost_per_km_cents=70)
    rates = vehicle_rates(vehicle)
    assert (rates.per_km_cents, rates.per_day_cents) == (70, 4000)
    assert route_cost_cents(12_345, rates) == 864 + 4000


def test_objective_weights_floor_of_one(monkeypatch):
    """A zero per-km default still weighs each metre 1, so free vehicles get short routes."""
    monkeypatch.setenv("DISTRO_COST_PER_KM", "0")
    from distro.settings import get_settings

    get_settings.cache_clear()
    try:
        vehicles = [
            Vehicle(
                id=1, code="A", name="A", capacity_kg=1, capacity_units=1, cost_per_day_cents=100
            ),
            Vehicle(id=2, code="B", name="B", capacity_kg=1, capacity_units=1),
        ]
        weights = objective_weights(vehicles)
    finally:
        get_settings.cache_clear()
    assert weights[1].distance_cost == 1
    assert weights[1].fixed_cost == 100_000
    assert weights[2].distance_cost == 1

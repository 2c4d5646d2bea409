"""Planning, comparing and publishing all depots of a day together, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from distro.backbone import day_board, route_edits
from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.errors import ConflictError, ValidationError
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    Event,
    Order,
    OrderStatus,
    Plan,
    PlanStatus,
    Rider,
    Role,
    Route,
    RouteStatus,
    Shift,
    Stock,
    Vehicle,
    Warehouse,
)
from distro.backbone.orders import LineRequest, submit_order
from tests.factories import DAY, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER = Actor(username="desk", role=Role.DEALER)

# Sorocaba, about 80 km west of the Campinas depot of `build_network`.
SECOND_DEPOT = (-23.5015, -47.4526)


def add_second_depot(engine, network, *, dealers=3, shifts=2):
    """Add depot WH-2 with its own dealers, stock and riders on shift; return its ids."""
    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(
            code="WH-2", name="Sorocaba depot", latitude=SECOND_DEPOT[0], longitude=SECOND_DEPOT[1]
        )
        session.add(depot)
        session.flush()
        for product_id in network.product_ids.values():
            session.add(Stock(warehouse_id=depot.id, product_id=product_id, on_hand=100))
        dealer_ids = []
        for index in range(dealers):
            dealer = Dealer(
                code=f"S-{index + 1:03d}",
                name=f"Sorocaba dealer {index + 1}",
                tier_id=network.tier_id,
                credit_limit_cents=1_000_000,
                latitude=SECOND_DEPOT[0] + 0.02 * (index + 1),
                longitude=SECOND_DEPOT[1] + 0.015 * ((index % 3) - 1),
                warehouse_id=depot.id,
            )
            session.add(dealer)
            session.flush()
            dealer_ids.append(dealer.id)
        for index in range(shifts):
            vehicle = Vehicle(
                code=f"S-V{index + 1}",
                name=f"Sorocaba van {index + 1}",
                capacity_kg=500,
                capacity_units=50,
            )
            rider = Rider(code=f"S-R{index + 1}", name=f"Sorocaba rider {index + 1}")
            session.add_all([vehicle, rider])
            session.flush()
            session.add(Shift(rider_id=rider.id, vehicle_id=vehicle.id, depot_id=depot.id, day=DAY))
        session.commit()
        return depot.id, dealer_ids


def order_for(engine, dealer_ids, quantities):
    for index, quantity in enumerate(quantities):
        submit_order(
            engine,
            DEALER,
            dealer_id=dealer_ids[index % len(dealer_ids)],
            delivery_day=DAY,
            lines=[LineRequest("SKU-1", quantity)],
        )


@pytest.fixture
def two_depots(engine):
    network = build_network(engine, dealers=3)
    second_id, second_dealers = add_second_depot(engine, network)
    order_for(engine, network.dealer_ids, [4, 5, 6])
    order_for(engine, second_dealers, [3, 4, 5, 6])
    return engine, network.depot_id, second_id


def test_plan_depots_keeps_stops_home(two_depots):
    """One run plans both depots: every stop rides from its own depot and back."""
    engine, first_id, second_id = two_depots

    plan_ids = ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=2, engine=engine)

    assert len(plan_ids) == 2
    with Session(engine) as session:
        plans = [session.get(Plan, plan_id) for plan_id in plan_ids]
        routes = session.exec(select(Route).where(Route.status == RouteStatus.DRAFT)).all()
        stops = session.exec(select(Delivery)).all()
        depots = {w.id: w for w in session.exec(select(Warehouse)).all()}
        snapshot = day_board.day_snapshot(session, DAY)
    assert [p.depot_id for p in plans] == [first_id, second_id]
    assert {p.status for p in plans} == {PlanStatus.DRAFT}
    assert {r.depot_id for r in routes} == {first_id, second_id}
    by_route = {r.id: r for r in routes}
    for stop in stops:
        assert stop.route_id is not None, stop.id
        assert by_route[stop.route_id].depot_id == stop.depot_id, stop.id
    for route in snapshot.routes:
        home = depots[route.depot_id]
        assert route.path[0] == (home.latitude, home.longitude)
        assert route.path[-1] == (home.latitude, home.longitude)
    assert len(snapshot.stops) == 7
    assert snapshot.unassigned == []
    assert {d.depot_id for d in snapshot.depots} == {first_id, second_id}
    assert sorted(snapshot.draft_plan_ids) == sorted(plan_ids)
    assert snapshot.total_cost_cents == sum(r.cost_cents for r in snapshot.routes)
    # Route colours differ across the depots of one run.
    assert len({r.color for r in snapshot.routes}) == len(snapshot.routes)


def test_plan_depots_reports_stops_left_out(two_depots):
    """A stop no vehicle of its depot can carry is listed, not moved to the other depot."""
    engine, first_id, second_id = two_depots
    with Session(engine) as session:
        depot = session.get(Warehouse, second_id)
        heavy = ff.create_stop(
            session,
            DISPATCHER,
            depot_id=second_id,
            day=DAY,
            latitude=depot.latitude + 0.01,
            longitude=depot.longitude,
            demand_kg=800,
            demand_units=1,
            label="Heavy crate",
        )
        session.commit()
        heavy_id = heavy.id

    ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=2, engine=engine)

    with Session(engine) as session:
        snapshot = day_board.day_snapshot(session, DAY)
    routed = {s.delivery_id for s in snapshot.stops if s.route_id is not None}
    left = {u.delivery_id: u.reason for u in snapshot.unassigned}
    assert set(left) == {heavy_id}
    assert "800 kg" in left[heavy_id]
    assert len(routed) + len(left) == len(snapshot.stops)


def test_publish_plans_publishes_every_depot(two_depots):
    """One Publish assigns the routes of both depots and marks every order planned."""
    engine, first_id, second_id = two_depots
    plan_ids = ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=2, engine=engine)

    with Session(engine) as session:
        draft_ids = list(day_board.day_snapshot(session, DAY).draft_plan_ids)
        published = day_board.publish_plans(session, DISPATCHER, draft_ids)
        session.commit()

    with Session(engine) as session:
        plans = [session.get(Plan, plan_id) for plan_id in plan_ids]
        stops = session.exec(select(Delivery)).all()
        orders = session.exec(select(Order)).all()
        events = session.exec(select(Event).where(Event.event_type == "plan_published")).all()
    assert published >= 2
    assert {p.status for p in plans} == {PlanStatus.PUBLISHED}
    assert {s.status for s in stops} == {DeliveryStatus.ASSIGNED}
    assert {o.status for o in orders} == {OrderStatus.PLANNED}
    assert sorted(e.entity_id for e in events) == sorted(plan_ids)


def test_publish_plans_rolls_back_on_stale_plan(two_depots):
    """A superseded plan among those published rejects the whole Publish."""
    engine, first_id, second_id = two_depots
    old_ids = ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=1, engine=engine)
    ff.plan_routes(DAY, first_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session, pytest.raises(ConflictError, match="not a draft"):
        day_board.publish_plans(session, DISPATCHER, old_ids)

    with Session(engine) as session:
        statuses = {session.get(Plan, i).status for i in old_ids}
    assert PlanStatus.PUBLISHED not in statuses


def test_plan_depots_keeps_locked_route(two_depots):
    """Planning all depots again keeps a locked route of one depot with its stops."""
    engine, first_id, second_id = two_depots
    ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=1, engine=engine)
    with Session(engine) as session:
        locked = session.exec(select(Route).where(Route.depot_id == first_id)).first()
        route_edits.lock_route(session, DISPATCHER, locked.id, True)
        session.commit()
        locked_id = locked.id
        kept = sorted(
            d.id for d in session.exec(select(Delivery).where(Delivery.route_id == locked_id))
        )

    ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        route = session.get(Route, locked_id)
        still = sorted(
            d.id for d in session.exec(select(Delivery).where(Delivery.route_id == locked_id))
        )
        snapshot = day_board.day_snapshot(session, DAY)
    assert route.status == RouteStatus.DRAFT
    assert route.locked
    assert still == kept
    # The locked route's plan (the old one when its depot had nothing left to plan, else
    # the new one) is among the drafts that Publish publishes.
    assert route.plan_id in snapshot.draft_plan_ids
    assert locked_id in {r.route_id for r in snapshot.routes}


def test_plan_depots_names_depot_without_riders(two_depots):
    """A depot with stops but no rider on shift rejects the run with its code and the fix."""
    engine, first_id, second_id = two_depots
    with Session(engine) as session:
        for shift in session.exec(select(Shift).where(Shift.depot_id == second_id)):
            session.delete(shift)
        session.commit()

    with pytest.raises(ValidationError, match="No riders are on shift at depot WH-2") as caught:
        ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=1, engine=engine)
    assert "plan the other depots on their own boards" in caught.value.message

    with Session(engine) as session:
        assert session.exec(select(Plan)).all() == []


def test_compare_day_sums_depots(two_depots):
    """The comparison of a day adds up both depots' drafts, cost included."""
    engine, first_id, second_id = two_depots
    ff.plan_depots(DAY, [first_id, second_id], DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        comparison = day_board.compare_day(session, DAY)
        parts = [route_edits.compare_plans(session, DAY, d) for d in (first_id, second_id)]
    assert comparison.current is None
    assert comparison.draft.label == "Drafts (2 depots)"
    assert comparison.draft.distance_m == sum(p.draft.distance_m for p in parts)
    assert comparison.draft.cost_cents == sum(p.draft.cost_cents for p in parts)
    assert comparison.draft.cost_cents > 0
    assert comparison.draft.unassigned == 0


def test_day_depot_ids_lists_depots_with_stops(two_depots):
    engine, first_id, second_id = two_depots
    with Session(engine) as session:
        assert day_board.day_depot_ids(session, DAY) == [first_id, second_id]

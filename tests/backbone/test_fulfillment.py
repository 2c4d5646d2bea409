"""Planning, editing and publishing routes through the backbone on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.errors import CapacityExceededError, ConflictError, ValidationError
from distro.backbone.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Order,
    OrderStatus,
    Plan,
    PlanStatus,
    Role,
    Route,
    RouteStatus,
)
from distro.backbone.orders import LineRequest, submit_order
from tests.factories import DAY, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER = Actor(username="desk", role=Role.DEALER)


def place_orders(engine, network, quantities):
    """Place one SKU-1 order per quantity, cycling through the dealers."""
    orders = []
    for index, quantity in enumerate(quantities):
        dealer_id = network.dealer_ids[index % len(network.dealer_ids)]
        orders.append(
            submit_order(engine, DEALER, dealer_id=dealer_id, delivery_day=DAY,
                         lines=[LineRequest("SKU-1", quantity)])
        )
    return orders


def test_plan_routes_routes_every_stop_within_capacity(engine):
    """Every pending stop is routed or listed, and no route exceeds its vehicle."""
    network = build_network(engine, dealers=6, vehicles=((60, 30), (60, 30)))
    place_orders(engine, network, [10, 8, 6, 9, 7, 5])

    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
        plan = session.get(Plan, plan_id)
    routed = [s for s in snapshot.stops if s.route_id is not None]
    assert plan.status == PlanStatus.DRAFT
    assert len(routed) + len(snapshot.unassigned) == 6
    assert len(routed) == 6
    for route in snapshot.routes:
        assert route.load_kg <= route.capacity_kg
        assert route.load_units <= route.capacity_units
        assert route.distance_m > 0
        assert route.path[0] == route.path[-1]
    assert sum(r.stop_count for r in snapshot.routes) == 6


def test_plan_routes_lists_stop_too_heavy(sqlite_engine):
    """A stop heavier than every vehicle is reported as unassigned with a reason."""
    network = build_network(sqlite_engine, dealers=2, vehicles=((30, 50),))
    place_orders(sqlite_engine, network, [10, 20])  # 20 kg and 40 kg

    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert len(snapshot.unassigned) == 1
    assert "40" in snapshot.unassigned[0].reason
    assert sum(r.stop_count for r in snapshot.routes) == 1


def test_plan_routes_without_stops_is_rejected(sqlite_engine):
    """Planning an empty day says so instead of writing an empty plan."""
    network = build_network(sqlite_engine)
    with pytest.raises(ValidationError, match="No pending stops"):
        ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)


def test_move_stop_rechecks_capacity(engine):
    """A move that overloads the target is rejected with the loads; one that fits updates both routes."""
    network = build_network(engine, dealers=4, vehicles=((50, 100), (50, 100)))
    place_orders(engine, network, [10, 10, 10, 10])  # 20 kg each, 40 kg per route at best
    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert len(snapshot.routes) == 2
    first, second = snapshot.routes
    stop = next(s for s in snapshot.stops if s.route_id == first.route_id)

    with Session(engine) as session, pytest.raises(CapacityExceededError) as caught:
        ff.move_stop(session, DISPATCHER, stop.delivery_id, second.route_id)
    assert caught.value.details["load_kg"] == second.load_kg + 20
    assert caught.value.details["capacity_kg"] == 50
    # The message names the route as the board shows it (rider and vehicle), not by its id.
    assert f"{second.rider_name} · {second.vehicle_code}" in caught.value.message
    assert f"route {second.route_id}" not in caught.value.message

    with Session(engine) as session:
        session.get(Route, second.route_id)
        for other in [s for s in snapshot.stops if s.route_id == second.route_id]:
            # Empty the second route by moving its stops onto the first one is not possible
            # either (capacity), so cancel them to make room.
            delivery = session.get(Delivery, other.delivery_id)
            delivery.route_id = None
            delivery.status = DeliveryStatus.CANCELLED
            session.add(delivery)
        target = session.get(Route, second.route_id)
        target.load_kg = 0
        target.load_units = 0
        session.add(target)
        session.commit()

    with Session(engine) as session:
        ff.move_stop(session, DISPATCHER, stop.delivery_id, second.route_id)
        session.commit()
    with Session(engine) as session:
        moved = session.get(Delivery, stop.delivery_id)
        source = session.get(Route, first.route_id)
        target = session.get(Route, second.route_id)
        event = session.exec(select(Event).where(Event.event_type == "stop_moved")).one()
    assert moved.route_id == second.route_id
    assert moved.sequence == 1
    assert target.load_kg == 20
    assert source.load_kg == first.load_kg - 20
    assert event.payload["from_route_id"] == first.route_id


def test_publish_plan_assigns_and_logs(engine):
    """Publishing assigns every routed stop and order, with one event per change."""
    network = build_network(engine, dealers=3)
    orders = place_orders(engine, network, [5, 6, 7])
    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        published = ff.publish_plan(session, DISPATCHER, plan_id)
        session.commit()

    with Session(engine) as session:
        routes = session.exec(select(Route).where(Route.plan_id == plan_id)).all()
        deliveries = session.exec(select(Delivery)).all()
        stored_orders = [session.get(Order, o.id) for o in orders]
        assigned_events = session.exec(select(Event).where(Event.event_type == "delivery_assigned")).all()
        order_events = session.exec(select(Event).where(Event.event_type == "order_planned")).all()
    assert published == len([r for r in routes if r.status == RouteStatus.PUBLISHED])
    assert all(d.status == DeliveryStatus.ASSIGNED for d in deliveries)
    assert all(d.eta is not None for d in deliveries)
    assert all(o.status == OrderStatus.PLANNED for o in stored_orders)
    assert len(assigned_events) == 3
    assert len(order_events) == 3

    with Session(engine) as session, pytest.raises(ConflictError):
        ff.publish_plan(session, DISPATCHER, plan_id)


def test_replan_supersedes_draft(sqlite_engine):
    """A second planning run supersedes the first draft and its routes."""
    network = build_network(sqlite_engine, dealers=3)
    place_orders(sqlite_engine, network, [5, 6, 7])
    first = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)
    second = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        old = session.get(Plan, first)
        old_routes = session.exec(select(Route).where(Route.plan_id == first)).all()
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
    assert old.status == PlanStatus.SUPERSEDED
    assert all(r.status == RouteStatus.SUPERSEDED for r in old_routes)
    assert snapshot.plan_id == second
    assert sum(r.stop_count for r in snapshot.routes) == 3

"""Locked routes, re-planning around started stops, urgent insertion and plan comparison."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from distro.backbone import fulfillment as ff
from distro.backbone import route_edits
from distro.backbone.actors import Actor
from distro.backbone.errors import ConflictError
from distro.backbone.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Plan,
    PlanStatus,
    Role,
    Route,
    RouteStatus,
    Vehicle,
)
from distro.backbone.orders import LineRequest, submit_order
from distro.settings import reset_settings
from tests.factories import DAY, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER = Actor(username="desk", role=Role.DEALER)


def place_orders(engine, network, quantities, first_dealer=0):
    """Place one SKU-1 order (2 kg per unit) per quantity, cycling through the dealers."""
    for index, quantity in enumerate(quantities, start=first_dealer):
        dealer_id = network.dealer_ids[index % len(network.dealer_ids)]
        submit_order(engine, DEALER, dealer_id=dealer_id, delivery_day=DAY,
                     lines=[LineRequest("SKU-1", quantity)])


def route_layout(session, route_id):
    """Return (delivery id, sequence, eta) of a route's stops in order."""
    stops = session.exec(
        select(Delivery).where(Delivery.route_id == route_id).order_by(Delivery.sequence)
    ).all()
    return [(s.id, s.sequence, s.eta) for s in stops]


def plan_and_publish(engine, network):
    """Plan the day, publish it and return the published routes."""
    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)
    with Session(engine) as session:
        ff.publish_plan(session, DISPATCHER, plan_id)
        session.commit()
    with Session(engine) as session:
        return session.exec(select(Route).where(Route.plan_id == plan_id)).all()


def start_stops(engine, route_id, count, status=DeliveryStatus.DELIVERED):
    """Mark the first `count` stops of a route as started, as the rider app would."""
    with Session(engine) as session:
        stops = session.exec(
            select(Delivery).where(Delivery.route_id == route_id).order_by(Delivery.sequence)
        ).all()
        for stop in stops[:count]:
            stop.status = status
            session.add(stop)
        session.commit()


def test_replan_keeps_locked_route(engine):
    """A locked draft route keeps its stops, order and shift; the rest is planned again."""
    network = build_network(engine, dealers=6, vehicles=((60, 30), (60, 30)))
    place_orders(engine, network, [5, 5, 5, 5, 5, 5])
    first = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)
    with Session(engine) as session:
        locked = session.exec(select(Route).where(Route.plan_id == first)).all()[0]
        route_edits.lock_route(session, DISPATCHER, locked.id, True)
        session.commit()
        before = route_layout(session, locked.id)

    place_orders(engine, network, [3, 3], first_dealer=2)
    second = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        locked_route = session.get(Route, locked.id)
        after = route_layout(session, locked.id)
        others = session.exec(
            select(Route).where(Route.plan_id == second, Route.id != locked.id)
        ).all()
        snapshot = ff.board_snapshot(session, DAY, network.depot_id)
        event = session.exec(select(Event).where(Event.event_type == "route_locked")).one()
    assert locked_route.status == RouteStatus.DRAFT
    assert locked_route.plan_id == second
    assert locked_route.locked
    assert after == before
    assert all(r.shift_id != locked_route.shift_id for r in others)
    assert sum(r.stop_count for r in snapshot.routes) + len(snapshot.unassigned) == 8
    # The routes planned again take colours the kept route does not use.
    assert others
    assert all(r.color != locked_route.color for r in others)
    assert event.entity_id == locked.id


def test_move_stop_rejects_locked_route(sqlite_engine):
    """Moving a stop onto a locked route is rejected until it is unlocked."""
    network = build_network(sqlite_engine, dealers=3, vehicles=((25, 50), (25, 50)))
    place_orders(sqlite_engine, network, [5, 5, 5])  # 10 kg each: two routes are needed
    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1,
                             engine=sqlite_engine)
    with Session(sqlite_engine) as session:
        route_id = session.exec(
            select(Route.id).where(Route.plan_id == plan_id).order_by(Route.load_kg)
        ).first()
        stop_id = session.exec(
            select(Delivery.id).where(Delivery.route_id != route_id)
        ).first()
        route_edits.lock_route(session, DISPATCHER, route_id, True)
        session.commit()
    with (
        Session(sqlite_engine) as session,
        pytest.raises(ConflictError, match="is locked") as caught,
    ):
        ff.move_stop(session, DISPATCHER, stop_id, route_id)
    with Session(sqlite_engine) as session:
        locked_name = ff.route_name(session, session.get(Route, route_id))
    assert f"The route {locked_name} is locked" in caught.value.message
    assert " · " in locked_name

    with Session(sqlite_engine) as session:
        route_edits.lock_route(session, DISPATCHER, route_id, False)
        ff.move_stop(session, DISPATCHER, stop_id, route_id)
        session.commit()
        moved = session.get(Delivery, stop_id)
        unlocked = session.exec(select(Event).where(Event.event_type == "route_unlocked")).all()
    assert moved.route_id == route_id
    assert len(unlocked) == 1


def test_replan_keeps_started_stops(engine):
    """Re-planning after publishing plans only new stops; started stops stay unchanged."""
    network = build_network(engine, dealers=4, vehicles=((200, 100), (200, 100)))
    place_orders(engine, network, [5, 5, 5, 5])
    routes = plan_and_publish(engine, network)
    busy = max(routes, key=lambda r: r.load_kg)
    start_stops(engine, busy.id, 1, DeliveryStatus.OUT_FOR_DELIVERY)
    with Session(engine) as session:
        before = {r.id: route_layout(session, r.id) for r in routes}

    place_orders(engine, network, [4, 4], first_dealer=1)
    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=engine)

    with Session(engine) as session:
        after = {r.id: route_layout(session, r.id) for r in routes}
        statuses = {r.id: session.get(Route, r.id).status for r in routes}
    assert after == before
    assert set(statuses.values()) == {RouteStatus.PUBLISHED}


def test_insert_urgent_touches_only_unstarted(engine):
    """An urgent stop goes after the started stops, which keep their sequence and ETA."""
    network = build_network(engine, dealers=6, vehicles=((400, 200),))
    place_orders(engine, network, [5, 5, 5, 5])
    (route,) = plan_and_publish(engine, network)
    start_stops(engine, route.id, 2)
    with Session(engine) as session:
        before = route_layout(session, route.id)

    place_orders(engine, network, [3], first_dealer=4)
    with Session(engine) as session:
        urgent_id = session.exec(
            select(Delivery.id).where(Delivery.status == DeliveryStatus.PENDING)
        ).one()
        route_id = route_edits.insert_urgent(session, DISPATCHER, urgent_id)
        session.commit()

    with Session(engine) as session:
        after = route_layout(session, route_id)
        inserted = session.get(Delivery, urgent_id)
        stored = session.get(Route, route_id)
        event = session.exec(select(Event).where(Event.event_type == "urgent_inserted")).one()
    assert route_id == route.id
    assert after[:2] == before[:2]
    assert inserted.status == DeliveryStatus.ASSIGNED
    assert inserted.sequence > 2
    assert [d for d, _, _ in after if d != urgent_id] == [d for d, _, _ in before]
    assert [s for _, s, _ in after] == list(range(1, len(before) + 2))
    assert stored.load_kg == route.load_kg + 6
    assert event.payload["started_stops"] == 2


def test_insert_urgent_rejects_full_routes(sqlite_engine):
    """When no published route has room, the insert is rejected and nothing changes."""
    network = build_network(sqlite_engine, dealers=3, vehicles=((20, 100),))
    place_orders(sqlite_engine, network, [5, 5])  # 20 kg: the van is full
    plan_and_publish(sqlite_engine, network)
    place_orders(sqlite_engine, network, [1], first_dealer=2)
    with Session(sqlite_engine) as session:
        urgent = session.exec(
            select(Delivery).where(Delivery.status == DeliveryStatus.PENDING)
        ).one()
        with pytest.raises(ConflictError, match="No published route can take"):
            route_edits.insert_urgent(session, DISPATCHER, urgent.id)
        assert session.get(Delivery, urgent.id).route_id is None


def test_compare_plans_published_and_draft(sqlite_engine):
    """The comparison shows published routes now and the day with the new draft."""
    network = build_network(sqlite_engine, dealers=4)
    place_orders(sqlite_engine, network, [5, 5])
    plan_and_publish(sqlite_engine, network)
    place_orders(sqlite_engine, network, [4, 4], first_dealer=2)
    draft_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1,
                              engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        comparison = route_edits.compare_plans(session, DAY, network.depot_id)
    current, draft = comparison.current, comparison.draft
    assert current.label == "Published now"
    assert current.unassigned == 2
    assert draft.plan_id == draft_id
    assert draft.unassigned == 0
    assert draft.distance_m > current.distance_m
    assert draft.vehicles >= current.vehicles
    assert draft.late_stops == 0


def test_compare_plans_previous_draft(sqlite_engine):
    """Without published routes, the new draft is compared with the superseded one."""
    network = build_network(sqlite_engine, dealers=3)
    place_orders(sqlite_engine, network, [5, 5, 5])
    first = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)
    second = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        comparison = route_edits.compare_plans(session, DAY, network.depot_id)
        first_plan = session.get(Plan, first)
    assert comparison.current.plan_id == first
    assert comparison.current.late_stops is None
    assert comparison.current.distance_m == first_plan.total_distance_m
    assert first_plan.status == PlanStatus.SUPERSEDED
    assert comparison.draft.plan_id == second


def test_previous_draft_counts_edits_and_locked_route(sqlite_engine):
    """The previous draft reads as it stood: after its edits, with the route it locked."""
    # 6 stops of 10 kg on vans of 40 kg: two routes, with room to move one stop.
    network = build_network(sqlite_engine, dealers=6, vehicles=((40, 30), (40, 30)))
    place_orders(sqlite_engine, network, [5, 5, 5, 5, 5, 5])
    first = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)
    with Session(sqlite_engine) as session:
        routes = session.exec(select(Route).where(Route.plan_id == first).order_by(Route.id)).all()
        assert len(routes) == 2
        kept, other = sorted(routes, key=lambda r: r.load_kg)
        # Move one stop onto the lighter route, which will be locked.
        moved = session.exec(select(Delivery).where(Delivery.route_id == other.id)).first()
        assert kept.load_kg + moved.demand_kg <= 40
        ff.move_stop(session, DISPATCHER, moved.id, kept.id)
        route_edits.lock_route(session, DISPATCHER, kept.id, True)
        session.commit()
        edited = session.exec(select(Route).where(Route.plan_id == first)).all()
        as_edited = sum(r.distance_m for r in edited)
        cost_routes = [r for r in edited if r.distance_m > 0]

    ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)

    with Session(sqlite_engine) as session:
        comparison = route_edits.compare_plans(session, DAY, network.depot_id)
    previous = comparison.current
    assert previous.plan_id == first
    assert previous.distance_m == as_edited
    assert previous.vehicles == len(cost_routes)
    assert previous.cost_cents > 0


def test_max_stops_setting_limits_routes(sqlite_engine, monkeypatch):
    """DISTRO_MAX_STOPS_PER_ROUTE caps the stops the planner puts on one route."""
    monkeypatch.setenv("DISTRO_MAX_STOPS_PER_ROUTE", "2")
    reset_settings()
    try:
        network = build_network(sqlite_engine, dealers=5, vehicles=((500, 50),) * 3)
        place_orders(sqlite_engine, network, [2, 2, 2, 2, 2])
        ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=1, engine=sqlite_engine)
        with Session(sqlite_engine) as session:
            snapshot = ff.board_snapshot(session, DAY, network.depot_id)
            vehicles = session.exec(select(Vehicle)).all()
    finally:
        monkeypatch.delenv("DISTRO_MAX_STOPS_PER_ROUTE")
        reset_settings()
    assert len(vehicles) == 3
    assert all(route.stop_count <= 2 for route in snapshot.routes)
    assert sum(route.stop_count for route in snapshot.routes) == 5

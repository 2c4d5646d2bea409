"""A network with published routes and orders on them, built without the solver (milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.models import Delivery, Plan, PlanStatus, Role, Route, RouteStatus
from distro.backbone.orders import LineRequest, submit_order
from tests.factories import DAY, Network, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER_DESK = Actor(username="desk", role=Role.DEALER)


@dataclass
class RiderWorld:
    """Ids of a published plan: one route per rider, with its stops in sequence."""

    network: Network
    plan_id: int
    route_ids: list[int]
    stops: list[list[int]]
    """Delivery ids per route, in driving order."""
    riders: list[Actor]
    """One rider actor per route, bound to the route's rider."""


def build_rider_world(
    engine: Engine, *, riders: int = 1, stops_per_route: int = 3, stock: int = 10_000
) -> RiderWorld:
    """Place one SKU-1 order per stop and publish a plan with `riders` routes of those stops.

    Routes are written directly (round-robin, in order), so no solver runs.
    """
    network = build_network(
        engine,
        dealers=3,
        stock=stock,
        credit_limit_cents=10**10,
        vehicles=tuple((100_000, 100_000) for _ in range(riders)),
    )
    order_ids = []
    for index in range(riders * stops_per_route):
        order = submit_order(
            engine,
            DEALER_DESK,
            dealer_id=network.dealer_ids[index % len(network.dealer_ids)],
            delivery_day=DAY,
            lines=[LineRequest("SKU-1", 1)],
        )
        order_ids.append(order.id)

    with Session(engine, expire_on_commit=False) as session:
        deliveries = session.exec(
            select(Delivery).where(Delivery.order_id.in_(order_ids)).order_by(Delivery.id)
        ).all()
        plan = Plan(day=DAY, depot_id=network.depot_id, status=PlanStatus.DRAFT, engine="test")
        session.add(plan)
        session.flush()
        route_ids, stops = [], []
        for rider_index in range(riders):
            route = Route(
                plan_id=plan.id,
                day=DAY,
                depot_id=network.depot_id,
                vehicle_id=network.vehicle_ids[rider_index],
                rider_id=network.rider_ids[rider_index],
                shift_id=network.shift_ids[rider_index],
                status=RouteStatus.DRAFT,
                start_min=8 * 60,
            )
            session.add(route)
            session.flush()
            mine = deliveries[rider_index::riders]
            for sequence, delivery in enumerate(mine, start=1):
                delivery.route_id = route.id
                delivery.sequence = sequence
                session.add(delivery)
            route_ids.append(route.id)
            stops.append([d.id for d in mine])
        session.flush()
        ff.publish_plan(session, DISPATCHER, plan.id)
        session.commit()
        plan_id = plan.id

    rider_actors = [
        Actor(username=f"rider{i + 1}", role=Role.RIDER, rider_id=rider_id, user_id=1000 + i)
        for i, rider_id in enumerate(network.rider_ids[:riders])
    ]
    return RiderWorld(network, plan_id, route_ids, stops, rider_actors)


def add_assigned_stop(engine: Engine, world: RiderWorld, route_index: int = 0) -> int:
    """Place one more order and put its stop, assigned, at the end of a published route.

    Stands in for a planning run plus publication when a test needs many fresh stops.
    """
    order = submit_order(
        engine,
        DEALER_DESK,
        dealer_id=world.network.dealer_ids[0],
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 1)],
    )
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
        delivery.route_id = world.route_ids[route_index]
        delivery.sequence = 1000 + delivery.id
        delivery.status = "assigned"
        session.add(delivery)
        session.commit()
        return delivery.id


def reassign_to_route(engine: Engine, delivery_id: int, route_id: int) -> None:
    """Put a pending stop back on a published route as assigned, as a new publication would."""
    with Session(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        delivery.route_id = route_id
        delivery.day = DAY
        delivery.status = "assigned"
        session.add(delivery)
        session.commit()

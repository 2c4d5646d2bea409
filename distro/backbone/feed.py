"""Tenant-filtered reads: order lists and details, route stops, the event feed and the live map."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from distro.backbone import tracking
from distro.backbone.actors import Actor
from distro.backbone.authz import (
    deny,
    is_operations,
    require_order,
    scope_deliveries,
    scope_events,
    scope_orders,
)
from distro.backbone.errors import NotFoundError
from distro.backbone.models import (
    Delivery,
    DeliveryStatus,
    Event,
    Order,
    OrderLine,
    Product,
    Role,
    Route,
    RouteStatus,
)

MAX_FEED_PAGE = 500


def visible_events_after(
    session: Session, actor: Actor, cursor: int, limit: int = 100
) -> list[Event]:
    """Return up to `limit` events after `cursor` that `actor` may see, oldest first.

    NOTE: ids are assigned when a transaction inserts, not when it commits, so on PostgreSQL
    an event can become visible after a newer id was read. A reader that must not miss one
    re-reads a short overlap behind its cursor and drops ids it has seen.
    """
    limit = max(1, min(limit, MAX_FEED_PAGE))
    statement = select(Event).where(col(Event.id) > cursor).order_by(col(Event.id)).limit(limit)
    return list(session.exec(scope_events(actor, statement)))


def live_map(
    session: Session, actor: Actor, day: date, depot_id: int | None = None
) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of the stops `actor` may see and the riders' positions.

    Stops are Point features with `kind: "stop"`. Riders (operations roles only) are Point
    features with `kind: "rider"` at the last position a rider's device reported on `day`.
    Coordinates are [longitude, latitude] as GeoJSON requires.
    """
    statement = select(Delivery).where(
        Delivery.day == day, col(Delivery.status) != DeliveryStatus.CANCELLED
    )
    if depot_id is not None:
        statement = statement.where(Delivery.depot_id == depot_id)
    statement = scope_deliveries(actor, statement.order_by(col(Delivery.id)))
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [d.longitude, d.latitude]},
            "properties": {
                "kind": "stop",
                "delivery_id": d.id,
                "order_id": d.order_id,
                "label": d.label,
                "status": d.status,
                "route_id": d.route_id,
                "sequence": d.sequence,
            },
        }
        for d in session.exec(statement)
    ]
    if is_operations(actor):
        features.extend(_rider_positions(session, day, depot_id))
    return {"type": "FeatureCollection", "features": features}


def _rider_positions(session: Session, day: date, depot_id: int | None) -> list[dict[str, Any]]:
    """Return the last position each rider's device sent on `day` (see `backbone.tracking`)."""
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [rider.lon, rider.lat]},
            "properties": {
                "kind": "rider",
                "rider_id": rider.rider_id,
                "name": rider.rider_name,
                "route_id": rider.route_id,
                "color": rider.color,
                "at": rider.at.isoformat(),
            },
        }
        for rider in tracking.last_positions(session, day, depot_id)
    ]


MAX_LIST_PAGE = 200


def visible_orders(
    session: Session, actor: Actor, *, status: str | None = None, after_id: int = 0, limit: int = 50
) -> list[Order]:
    """Return a page of the orders `actor` may see, in id order after `after_id`."""
    statement = select(Order).where(col(Order.id) > after_id)
    if status:
        statement = statement.where(Order.status == status)
    statement = scope_orders(
        actor, statement.order_by(col(Order.id)).limit(max(1, min(limit, MAX_LIST_PAGE)))
    )
    return list(session.exec(statement))


def order_detail(
    session: Session, actor: Actor, order_id: int
) -> tuple[Order, list[tuple[OrderLine, str]], list[Delivery]]:
    """Return an order the actor may see, its lines with SKUs and its deliveries.

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another tenant.

    """
    order = require_order(session, actor, order_id)
    lines = session.exec(
        select(OrderLine, Product.sku)
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(OrderLine.id))
    ).all()
    deliveries = session.exec(
        select(Delivery).where(Delivery.order_id == order.id).order_by(col(Delivery.id))
    ).all()
    return order, list(lines), list(deliveries)


def route_stops(session: Session, actor: Actor, route_id: int) -> tuple[Route, list[Delivery]]:
    """Return a route and its stops in sequence; riders see only their own published routes.

    Raises:
        NotFoundError: no such route.
        PermissionDeniedError: a rider asked for another rider's or an unpublished route, or
            the role is neither operations nor rider.

    """
    route = session.get(Route, route_id)
    if route is None:
        raise NotFoundError(f"Route {route_id} not found", route_id=route_id)
    if not is_operations(actor):
        own = (
            actor.role == Role.RIDER
            and actor.rider_id is not None
            and route.rider_id == actor.rider_id
            and route.status == RouteStatus.PUBLISHED
        )
        if not own:
            deny(
                actor,
                f"route {route_id}",
                f"Route {route_id} is not assigned to you.",
                route_id=route_id,
            )
    stops = session.exec(
        select(Delivery)
        .where(Delivery.route_id == route.id)
        .order_by(col(Delivery.sequence), col(Delivery.id))
    ).all()
    return route, list(stops)

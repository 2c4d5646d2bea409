"""Authorization: which actor may touch which record, and the tenant filters for list queries.

Every check takes the `Actor` that the server resolved from a session or an API token. A
denial logs a WARNING naming the actor and the target, then raises PermissionDeniedError
(HTTP 403), so a page or route needs no logging of its own.

Tenants: a dealer user sees the orders, prices and deliveries of its dealer (which include
the orders of the customers that dealer serves); a customer sees its own orders; a rider
sees the stops on routes assigned to it. Operations roles (dispatcher, manager, admin,
system) see the whole network.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn, TypeVar

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from distro.backbone.actors import Actor
from distro.backbone.errors import NotFoundError, PermissionDeniedError
from distro.backbone.models import Delivery, Event, Order, Role, Route, RouteStatus

logger = logging.getLogger(__name__)

OPERATIONS_ROLES = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN, Role.SYSTEM})
"""Roles that see every tenant's data."""

StatementT = TypeVar("StatementT", Select, SelectOfScalar)


def deny(actor: Actor | None, target: str, message: str, **details: Any) -> NoReturn:
    """Log a denied access at WARNING and raise PermissionDeniedError.

    Args:
        actor: Who was denied; None for a caller with no valid session.
        target: What they tried to reach, for example "order 42" or "handler DealerState.load".
        message: The reason shown to the caller.
        **details: Facts added to the error's `details`.

    """
    who = "anonymous" if actor is None else f"{actor.username} ({actor.role})"
    logger.warning("Access denied: %s -> %s: %s", who, target, message)
    raise PermissionDeniedError(message, **details)


def is_operations(actor: Actor) -> bool:
    """Whether the actor's role sees every tenant."""
    return actor.role in OPERATIONS_ROLES


def require_role(actor: Actor | None, *roles: Role, target: str = "") -> Actor:
    """Return `actor` if its role is one of `roles`, else deny.

    Raises:
        PermissionDeniedError: no actor, or a role outside `roles`.

    """
    if actor is None:
        deny(None, target or "a protected action", "Sign in to continue.")
    if actor.role not in roles:
        allowed = ", ".join(str(role) for role in roles)
        deny(
            actor,
            target or "a protected action",
            f"A {actor.role} may not do this; it needs: {allowed}.",
        )
    return actor


def require_dealer(actor: Actor, dealer_id: int | None) -> None:
    """Allow operations roles and users of dealer `dealer_id`; deny everyone else.

    Raises:
        PermissionDeniedError: the actor belongs to another dealer or is not dealer staff.

    """
    if is_operations(actor):
        return
    if actor.role == Role.DEALER and dealer_id is not None and actor.dealer_id == dealer_id:
        return
    deny(actor, f"dealer {dealer_id}", f"Dealer {dealer_id} is not yours.", dealer_id=dealer_id)


def require_rider(actor: Actor, rider_id: int | None) -> None:
    """Allow operations roles and rider `rider_id` itself; deny everyone else.

    Raises:
        PermissionDeniedError: the actor is another rider or not a rider.

    """
    if is_operations(actor):
        return
    if actor.role == Role.RIDER and rider_id is not None and actor.rider_id == rider_id:
        return
    deny(actor, f"rider {rider_id}", f"Rider {rider_id} is not you.", rider_id=rider_id)


def require_customer(actor: Actor, customer_id: int | None) -> None:
    """Allow operations roles and customer `customer_id` itself; deny everyone else.

    Raises:
        PermissionDeniedError: the actor is another customer or not a customer.

    """
    if is_operations(actor):
        return
    if actor.role == Role.CUSTOMER and customer_id is not None and actor.customer_id == customer_id:
        return
    deny(
        actor,
        f"customer {customer_id}",
        f"Customer {customer_id} is not you.",
        customer_id=customer_id,
    )


def can_see_order(session: Session, actor: Actor, order: Order) -> bool:
    """Whether `actor` may read `order`."""
    if is_operations(actor):
        return True
    if actor.role == Role.DEALER:
        return actor.dealer_id is not None and order.dealer_id == actor.dealer_id
    if actor.role == Role.CUSTOMER:
        return actor.customer_id is not None and order.customer_id == actor.customer_id
    if actor.role == Role.RIDER:
        statement = (
            select(Delivery.id)
            .join(Route, col(Route.id) == col(Delivery.route_id))
            .where(
                Delivery.order_id == order.id,
                Route.rider_id == actor.rider_id,
                Route.status == RouteStatus.PUBLISHED,
            )
            .limit(1)
        )
        return actor.rider_id is not None and session.exec(statement).first() is not None
    return False


def require_order(session: Session, actor: Actor, order_id: int) -> Order:
    """Return order `order_id` if `actor` may read it.

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another tenant.

    """
    order = session.get(Order, order_id)
    if order is None:
        raise NotFoundError(f"Order {order_id} not found", order_id=order_id)
    if not can_see_order(session, actor, order):
        deny(actor, f"order {order_id}", f"Order {order_id} is not yours.", order_id=order_id)
    return order


def can_see_delivery(session: Session, actor: Actor, delivery: Delivery) -> bool:
    """Whether `actor` may read `delivery`."""
    if is_operations(actor):
        return True
    if actor.role == Role.RIDER:
        route = session.get(Route, delivery.route_id) if delivery.route_id else None
        return (
            route is not None
            and route.status == RouteStatus.PUBLISHED
            and actor.rider_id is not None
            and route.rider_id == actor.rider_id
        )
    if delivery.order_id is None:
        return False
    order = session.get(Order, delivery.order_id)
    return order is not None and can_see_order(session, actor, order)


def require_delivery(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    """Return delivery `delivery_id` if `actor` may read it.

    Raises:
        NotFoundError: no such delivery.
        PermissionDeniedError: the delivery belongs to another tenant or another rider.

    """
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"Delivery {delivery_id} not found", delivery_id=delivery_id)
    if not can_see_delivery(session, actor, delivery):
        deny(
            actor,
            f"delivery {delivery_id}",
            f"Delivery {delivery_id} is not yours.",
            delivery_id=delivery_id,
        )
    return delivery


def scope_orders(actor: Actor, statement: StatementT) -> StatementT:
    """Restrict a query that selects from `Order` to the orders `actor` may read."""
    if is_operations(actor):
        return statement
    if actor.role == Role.DEALER and actor.dealer_id is not None:
        return statement.where(Order.dealer_id == actor.dealer_id)
    if actor.role == Role.CUSTOMER and actor.customer_id is not None:
        return statement.where(Order.customer_id == actor.customer_id)
    if actor.role == Role.RIDER and actor.rider_id is not None:
        return statement.where(col(Order.id).in_(_rider_order_ids(actor.rider_id)))
    return statement.where(False)


def scope_deliveries(actor: Actor, statement: StatementT) -> StatementT:
    """Restrict a query that selects from `Delivery` to the stops `actor` may read."""
    if is_operations(actor):
        return statement
    if actor.role == Role.RIDER and actor.rider_id is not None:
        return statement.where(col(Delivery.route_id).in_(_rider_route_ids(actor.rider_id)))
    return statement.where(col(Delivery.order_id).in_(scope_orders(actor, select(Order.id))))


def scope_events(actor: Actor, statement: StatementT) -> StatementT:
    """Restrict a query that selects from `Event` to the events about what `actor` may read.

    Non-operations actors see the events of their orders and deliveries only; plan, route
    and user events stay with operations, except a rider's own route events.
    """
    if is_operations(actor):
        return statement
    visible_orders = scope_orders(actor, select(Order.id))
    if actor.role == Role.RIDER and actor.rider_id is not None:
        own_route = (Event.entity == "route") & col(Event.entity_id).in_(
            _rider_route_ids(actor.rider_id)
        )
        own_stop = (Event.entity == "delivery") & col(Event.entity_id).in_(
            select(Delivery.id).where(col(Delivery.route_id).in_(_rider_route_ids(actor.rider_id)))
        )
        return statement.where(own_route | own_stop | col(Event.order_id).in_(visible_orders))
    return statement.where(col(Event.order_id).in_(visible_orders))


def _rider_route_ids(rider_id: int) -> SelectOfScalar:
    # Draft routes may already name a rider, but riders see only what dispatch published.
    return select(Route.id).where(Route.rider_id == rider_id, Route.status == RouteStatus.PUBLISHED)


def _rider_order_ids(rider_id: int) -> SelectOfScalar:
    return select(Delivery.order_id).where(
        col(Delivery.route_id).in_(_rider_route_ids(rider_id)), col(Delivery.order_id).is_not(None)
    )

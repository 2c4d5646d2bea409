"""The delivery state machine: one table of allowed moves, one function that applies them.

Riders move their own stops from assigned to delivered or failed; dispatch and operations
reschedule, cancel and correct. Every applied move writes exactly one event in the same
transaction, and the order follows its delivery's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from distro.backbone import inventory
from distro.backbone.actors import Actor
from distro.backbone.errors import (
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    PermissionDeniedError,
)
from distro.backbone.events import record_event
from distro.backbone.models import (
    Channel,
    Dealer,
    Delivery,
    DeliveryStatus,
    Order,
    OrderLine,
    OrderStatus,
    Role,
    Route,
)

S = DeliveryStatus

RIDER_ROLES = frozenset({Role.RIDER})
OPERATIONS_ROLES = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN, Role.SYSTEM})


@dataclass(frozen=True, slots=True)
class Transition:
    """One allowed move and who may make it."""

    source: DeliveryStatus
    target: DeliveryStatus
    roles: frozenset[Role]
    event_type: str


TRANSITIONS: tuple[Transition, ...] = (
    Transition(S.ASSIGNED, S.OUT_FOR_DELIVERY, RIDER_ROLES, "delivery_out_for_delivery"),
    Transition(S.OUT_FOR_DELIVERY, S.ARRIVED, RIDER_ROLES, "delivery_arrived"),
    Transition(S.ARRIVED, S.DELIVERED, RIDER_ROLES, "delivery_delivered"),
    Transition(S.ARRIVED, S.FAILED, RIDER_ROLES, "delivery_failed"),
    Transition(S.OUT_FOR_DELIVERY, S.FAILED, RIDER_ROLES, "delivery_failed"),
    Transition(S.FAILED, S.PENDING, OPERATIONS_ROLES, "delivery_rescheduled"),
    Transition(S.FAILED, S.CANCELLED, OPERATIONS_ROLES, "delivery_returned"),
    Transition(S.PENDING, S.CANCELLED, OPERATIONS_ROLES, "delivery_cancelled"),
    Transition(S.ASSIGNED, S.CANCELLED, OPERATIONS_ROLES, "delivery_cancelled"),
)
"""Every move the backbone allows; anything else raises InvalidTransitionError."""

FINAL_STATES = frozenset({S.DELIVERED, S.CANCELLED})
"""States that no transition leaves; operations correct them with `record_correction`."""

ORDER_STATUS_FOR = {
    S.OUT_FOR_DELIVERY: OrderStatus.OUT_FOR_DELIVERY,
    S.DELIVERED: OrderStatus.DELIVERED,
    S.FAILED: OrderStatus.FAILED,
    S.PENDING: OrderStatus.CONFIRMED,
}
"""The order status that follows each delivery status (absent: the order keeps its status)."""


def find_transition(source: str, target: str) -> Transition | None:
    """Return the allowed move from `source` to `target`, or None when there is none."""
    for transition in TRANSITIONS:
        if transition.source == source and transition.target == target:
            return transition
    return None


def allowed_targets(source: str, role: Role) -> list[DeliveryStatus]:
    """Return the states that `role` may move a delivery to from `source`."""
    return [t.target for t in TRANSITIONS if t.source == source and role in t.roles]


def lock_delivery(session: Session, delivery_id: int) -> Delivery:
    """Lock and return a delivery row (SELECT ... FOR UPDATE on PostgreSQL).

    Raises:
        NotFoundError: no such delivery.
    """
    delivery = session.exec(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).first()
    if delivery is None:
        raise NotFoundError(f"Delivery {delivery_id} not found", delivery_id=delivery_id)
    return delivery


def check_rider_owns(session: Session, actor: Actor, delivery: Delivery) -> None:
    """Raise PermissionDeniedError unless `actor` is the rider of the delivery's published route."""
    route = session.get(Route, delivery.route_id) if delivery.route_id else None
    if route is None or actor.rider_id is None or route.rider_id != actor.rider_id:
        raise PermissionDeniedError(
            f"Delivery {delivery.id} is not on a route assigned to you.",
            delivery_id=delivery.id,
        )


def apply_transition(
    session: Session,
    actor: Actor,
    delivery_id: int,
    target: DeliveryStatus,
    *,
    expected_status: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Delivery:
    """Move a delivery to `target` if the table allows it for the actor's role.

    Locks the delivery row, checks the move, the role and (for riders) route ownership,
    updates the order, and writes one event. The caller commits.

    Args:
        session: Open session.
        actor: Who makes the move; riders may only move their own stops.
        delivery_id: The delivery to move.
        target: The new state.
        expected_status: When given, the state the caller saw; a different current state
            raises ConflictError carrying the current state, so a stale screen never wins.
        payload: Facts recorded on the event (reason code, proof references, position).

    Raises:
        NotFoundError, PermissionDeniedError, InvalidTransitionError, ConflictError.
    """
    delivery = lock_delivery(session, delivery_id)
    if expected_status is not None and delivery.status != expected_status:
        raise ConflictError(
            f"Delivery {delivery_id} is now {delivery.status}, not {expected_status}; reload to see the change.",
            delivery_id=delivery_id,
            current_status=delivery.status,
            route_id=delivery.route_id,
        )

    transition = find_transition(delivery.status, target)
    if transition is None:
        raise InvalidTransitionError(
            f"Delivery {delivery_id} cannot go from {delivery.status} to {target}. "
            f"Allowed from {delivery.status}: {', '.join(t.target for t in TRANSITIONS if t.source == delivery.status) or 'none (final)'}.",
            delivery_id=delivery_id,
            current_status=delivery.status,
            requested=str(target),
        )
    if actor.role not in transition.roles:
        raise PermissionDeniedError(
            f"A {actor.role} may not move a delivery from {delivery.status} to {target}.",
            delivery_id=delivery_id,
        )
    if actor.role == Role.RIDER:
        check_rider_owns(session, actor, delivery)

    from_state = delivery.status
    delivery.status = target
    delivery.updated_at = datetime.now(UTC)
    if target == S.FAILED:
        delivery.failure_reason = (payload or {}).get("reason_code")
    if target == S.PENDING:
        # A rescheduled stop leaves its route and waits for the next planning run.
        delivery.route_id = None
        delivery.sequence = None
        delivery.eta = None
        delivery.attempt += 1
    session.add(delivery)

    record_event(
        session, actor, "delivery", delivery.id, transition.event_type,
        from_state=from_state, to_state=target, order_id=delivery.order_id, payload=payload or {},
    )
    if delivery.order_id is not None:
        _follow_order(session, actor, delivery, target)
    return delivery


def _follow_order(session: Session, actor: Actor, delivery: Delivery, target: DeliveryStatus) -> None:
    """Move the delivery's order along, settling stock and exposure when it is delivered or returned."""
    order = session.get(Order, delivery.order_id)
    if order is None:
        return

    if target == S.DELIVERED:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        if order.channel == Channel.DEALER and order.dealer_id is not None:
            dealer = session.exec(select(Dealer).where(Dealer.id == order.dealer_id).with_for_update()).one()
            # The delivered order stops being an open order and becomes an unpaid invoice.
            dealer.open_orders_cents -= order.total_cents
            dealer.unpaid_cents += order.total_cents
            session.add(dealer)
        inventory.ship(session, order.warehouse_id, {line.product_id: line.quantity for line in lines})

    if target == S.CANCELLED:
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        if order.channel == Channel.DEALER and order.dealer_id is not None:
            dealer = session.exec(select(Dealer).where(Dealer.id == order.dealer_id).with_for_update()).one()
            dealer.open_orders_cents -= order.total_cents
            session.add(dealer)
        inventory.release(session, order.warehouse_id, {line.product_id: line.quantity for line in lines})
        new_status = OrderStatus.CANCELLED
    else:
        new_status = ORDER_STATUS_FOR.get(target)

    if new_status is None or new_status == order.status:
        return
    record_event(
        session, actor, "order", order.id, f"order_{new_status}",
        from_state=order.status, to_state=new_status, order_id=order.id,
        payload={"delivery_id": delivery.id},
    )
    order.status = new_status
    session.add(order)


def record_correction(
    session: Session, actor: Actor, delivery_id: int, note: str, details: dict[str, Any] | None = None
) -> None:
    """Record an operations correction of a final outcome as a new event; the outcome stays.

    Raises:
        PermissionDeniedError: the actor is not operations staff.
        InvalidTransitionError: the note is empty.
    """
    if actor.role not in OPERATIONS_ROLES:
        raise PermissionDeniedError("Only dispatch, managers and admins may correct a delivery outcome.")
    if not note.strip():
        raise InvalidTransitionError("A correction needs a reason; say what was wrong and what is true.")
    delivery = lock_delivery(session, delivery_id)
    record_event(
        session, actor, "delivery", delivery.id, "delivery_corrected",
        from_state=delivery.status, to_state=delivery.status, order_id=delivery.order_id,
        payload={"note": note, **(details or {})},
    )

"""The delivery state machine: one table of allowed moves, one function that applies them.

Riders move their own stops from assigned to delivered or failed; dispatch and operations
reschedule, cancel and correct. Every applied move writes exactly one event in the same
transaction, and the order follows its delivery's state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from distro.backbone import billing, cash, failure_rules, inventory, pod
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
    Customer,
    Dealer,
    Delivery,
    DeliveryStatus,
    Event,
    FailureReason,
    NextStep,
    Order,
    OrderLine,
    OrderStatus,
    Role,
    Route,
    RouteStatus,
)
from distro.routing.geo import haversine_m
from distro.settings import get_settings

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


RIDER_PAYLOAD_KEYS = frozenset({"reason_code", "note", "position", "device_time", "cash", "proof"})
"""Facts a rider's update may carry onto its event; other keys are dropped."""

RULES_ACTOR = Actor(username="failure-rules", role=Role.SYSTEM)
"""Who applies a failure reason's next step, in the same transaction as the failure."""


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
    # populate_existing: a row already in the session is re-read under the lock, so a
    # change committed by another transaction while this one waited is not hidden.
    delivery = session.exec(
        select(Delivery)
        .where(Delivery.id == delivery_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if delivery is None:
        raise NotFoundError(f"Delivery {delivery_id} not found", delivery_id=delivery_id)
    return delivery


def check_rider_owns(session: Session, actor: Actor, delivery: Delivery) -> None:
    """Raise unless `actor` is the rider of the delivery's published route.

    Raises:
        ConflictError: the stop was on this rider's route and dispatch moved it away; the
            details carry its current state.
        PermissionDeniedError: the stop was never this rider's.
    """
    route = session.get(Route, delivery.route_id) if delivery.route_id else None
    if (
        route is not None
        and route.status == RouteStatus.PUBLISHED
        and actor.rider_id is not None
        and route.rider_id == actor.rider_id
    ):
        return
    if actor.rider_id is not None and _was_on_riders_route(session, actor.rider_id, delivery.id):
        raise ConflictError(
            f"Delivery {delivery.id} was taken off your route by dispatch and is now "
            f"{delivery.status}; reload your list.",
            delivery_id=delivery.id,
            current_status=delivery.status,
        )
    raise PermissionDeniedError(
        f"Delivery {delivery.id} is not on a route assigned to you.",
        delivery_id=delivery.id,
    )


def _was_on_riders_route(session: Session, rider_id: int, delivery_id: int) -> bool:
    """Whether an assignment or move event ever put the delivery on one of the rider's routes."""
    payloads = session.exec(
        select(Event.payload).where(
            Event.entity == "delivery",
            Event.entity_id == delivery_id,
            col(Event.event_type).in_(["delivery_assigned", "delivery_reassigned", "stop_moved"]),
        )
    ).all()
    route_ids = {
        payload.get(key)
        for payload in payloads
        for key in ("route_id", "from_route_id", "to_route_id")
        if isinstance(payload, dict) and isinstance(payload.get(key), int)
    }
    if not route_ids:
        return False
    mine = session.exec(
        select(Route.id).where(col(Route.id).in_(route_ids), Route.rider_id == rider_id).limit(1)
    ).first()
    return mine is not None


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

    details = dict(payload or {})
    if actor.role == Role.RIDER:
        details = {key: value for key, value in details.items() if key in RIDER_PAYLOAD_KEYS}
    reason = None
    if target == S.FAILED:
        reason = failure_rules.check_failure(session, details.get("reason_code"), details.get("note"))
    if target == S.DELIVERED:
        pod.require_proof(session, delivery)
        collected = cash.record_collection(session, actor, delivery, details.pop("cash", None))
        if collected is not None:
            details["cash"] = collected
    if target in (S.ARRIVED, S.DELIVERED, S.FAILED):
        _check_position(delivery, details, flag_far=target != S.ARRIVED)
        # The route ties the outcome to its day's board after a reschedule clears it.
        details["route_id"] = delivery.route_id

    from_state = delivery.status
    delivery.status = target
    delivery.updated_at = datetime.now(UTC)
    if target == S.FAILED:
        delivery.failure_reason = (payload or {}).get("reason_code")
    if target == S.PENDING:
        # A rescheduled stop leaves its route and waits for the next planning run.
        from distro.backbone.fulfillment import remove_from_route

        remove_from_route(session, delivery)
        delivery.attempt += 1
    session.add(delivery)

    record_event(
        session, actor, "delivery", delivery.id, transition.event_type,
        from_state=from_state, to_state=target, order_id=delivery.order_id, payload=details,
    )
    if delivery.order_id is not None:
        _follow_order(session, actor, delivery, target)

    if target == S.OUT_FOR_DELIVERY and "code" in pod.required_proof(session, delivery):
        pod.issue_code(session, delivery)
    if reason is not None:
        _apply_failure_rule(session, actor, delivery, reason)
    return delivery


def _check_position(delivery: Delivery, details: dict[str, Any], *, flag_far: bool) -> None:
    """Record how far from the stop the rider's device was; flag a far completion for review."""
    position = details.get("position")
    if position is None:
        details["position_missing"] = True
        return
    try:
        lat, lon = float(position["lat"]), float(position["lon"])
    except (TypeError, KeyError, ValueError):
        details.pop("position")
        details["position_invalid"] = True
        return
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        details.pop("position")
        details["position_invalid"] = True
        return

    distance = round(haversine_m(lat, lon, delivery.latitude, delivery.longitude))
    details["distance_from_stop_m"] = distance
    limit = get_settings().pod_max_distance_m
    if flag_far and distance > limit:
        details["review"] = "far_from_stop"
        details["review_limit_m"] = limit


def _apply_failure_rule(session: Session, actor: Actor, delivery: Delivery, reason: FailureReason) -> None:
    """Carry out the failure reason's next step in the failure's transaction, with its own event."""
    decision = failure_rules.decide(delivery, reason)
    facts = {
        "reason_code": reason.code,
        "rule": str(decision.next_step),
        "failed_attempt": delivery.attempt,
        "triggered_by": actor.username,
    }
    if decision.next_step == NextStep.RESCHEDULE_NEXT_DAY:
        facts["day"] = decision.new_day.isoformat()
        apply_transition(session, RULES_ACTOR, delivery.id, S.PENDING, payload=facts)
        delivery.day = decision.new_day
        session.add(delivery)
    elif decision.next_step == NextStep.RETURN_TO_STOCK:
        facts["attempts_exhausted"] = decision.attempts_exhausted
        apply_transition(session, RULES_ACTOR, delivery.id, S.CANCELLED, payload=facts)
        if decision.notify_dealer:
            _notify_dealer(session, delivery, reason)


def _notify_dealer(session: Session, delivery: Delivery, reason: FailureReason) -> None:
    """Write the `dealer_notified` event that tells the dealer its delivery came back."""
    order = session.get(Order, delivery.order_id) if delivery.order_id else None
    if order is None:
        return
    dealer_id = order.dealer_id
    if dealer_id is None and order.customer_id is not None:
        customer = session.get(Customer, order.customer_id)
        dealer_id = customer.dealer_id if customer else None
    if dealer_id is None:
        return
    record_event(
        session, RULES_ACTOR, "dealer", dealer_id, "dealer_notified",
        order_id=order.id,
        payload={
            "delivery_id": delivery.id,
            "order_number": order.number,
            "reason_code": reason.code,
            "failed_attempts": delivery.attempt,
            "message": f"Order {order.number} was returned to stock after {delivery.attempt} "
                       f"failed delivery attempts (last: {reason.label}).",
        },
    )


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
            billing.raise_invoice(session, order)
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

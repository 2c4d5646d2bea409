"""Credit holds: orders over a dealer's limit that a manager approves or rejects.

Operations may place an order over the limit with `place_order(..., allow_credit_hold=True)`.
The order then reserves stock and counts towards exposure, but has no delivery stop until a
manager approves it. Rejecting it cancels it and releases both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import InvalidTransitionError, ValidationError
from distro.backbone.events import record_event
from distro.backbone.models import Dealer, Order, OrderStatus, Role
from distro.backbone.orders import lock_order, release_order

logger = logging.getLogger(__name__)

APPROVER_ROLES = (Role.MANAGER,)
"""Roles that decide on credit holds."""

VIEWER_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)
"""Roles that see the list of credit holds."""


@dataclass(frozen=True, slots=True)
class CreditHold:
    """An order waiting for a credit decision, with the dealer's position."""

    order_id: int
    number: str
    dealer_code: str
    dealer_name: str
    total_cents: int
    credit_limit_cents: int
    exposure_cents: int
    entered_by: str


def list_credit_holds(session: Session, actor: Actor, limit: int = 100) -> list[CreditHold]:
    """Return orders on credit hold, oldest first.

    Raises:
        PermissionDeniedError: the actor is not operations staff.
    """
    require_role(actor, *VIEWER_ROLES, target="credit holds")
    statement = (
        select(Order, Dealer)
        .join(Dealer, col(Dealer.id) == col(Order.dealer_id))
        .where(Order.status == OrderStatus.CREDIT_HOLD)
        .order_by(col(Order.id))
        .limit(limit)
    )
    return [
        CreditHold(
            order_id=order.id,
            number=order.number,
            dealer_code=dealer.code,
            dealer_name=dealer.name,
            total_cents=order.total_cents,
            credit_limit_cents=dealer.credit_limit_cents,
            exposure_cents=dealer.unpaid_cents + dealer.open_orders_cents,
            entered_by=order.entered_by,
        )
        for order, dealer in session.exec(statement)
    ]


def _locked_hold(session: Session, order_id: int) -> Order:
    order = lock_order(session, order_id)
    if order.status != OrderStatus.CREDIT_HOLD:
        raise InvalidTransitionError(
            f"Order {order.number} is {order.status}, not on credit hold; "
            "reload to see the change.",
            order_id=order.id,
            status=order.status,
        )
    return order


def approve_credit_hold(session: Session, actor: Actor, order_id: int) -> Order:
    """Confirm an order on credit hold and put its delivery stop in the fulfilment queue.

    Its stock stays reserved and its total stays in the dealer's exposure. The caller commits.

    Raises:
        PermissionDeniedError: the actor is not a manager.
        NotFoundError: no such order.
        InvalidTransitionError: the order is not on credit hold (any more).
    """
    from distro.backbone.fulfillment import enqueue_order

    require_role(actor, *APPROVER_ROLES, target=f"credit hold of order {order_id}")
    order = _locked_hold(session, order_id)
    dealer = session.get(Dealer, order.dealer_id)

    record_event(
        session,
        actor,
        "order",
        order.id,
        "order_credit_approved",
        from_state=order.status,
        to_state=OrderStatus.CONFIRMED,
        order_id=order.id,
        payload={"total_cents": order.total_cents},
    )
    order.status = OrderStatus.CONFIRMED
    session.add(order)
    enqueue_order(session, actor, order, dealer, None)
    logger.info("Credit hold of order %s approved by %s", order.number, actor.username)
    return order


def reject_credit_hold(session: Session, actor: Actor, order_id: int, reason: str) -> Order:
    """Cancel an order on credit hold, releasing its stock and the dealer's exposure.

    The caller commits.

    Raises:
        PermissionDeniedError: the actor is not a manager.
        ValidationError: no reason given.
        NotFoundError: no such order.
        InvalidTransitionError: the order is not on credit hold (any more).
    """
    require_role(actor, *APPROVER_ROLES, target=f"credit hold of order {order_id}")
    if not reason.strip():
        raise ValidationError("Say why the credit hold is rejected; the dealer sees the reason.")
    order = _locked_hold(session, order_id)
    release_order(session, actor, order, reason.strip(), "order_credit_rejected")
    logger.info("Credit hold of order %s rejected by %s", order.number, actor.username)
    return order

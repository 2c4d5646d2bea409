"""What a dealer's order desk reads: its catalog, its order history, one order's timeline.

Every function takes the Actor and checks the tenant, so the dealer page and the
operations desk can pass a dealer id that came from the browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from distro.backbone import pod
from distro.backbone.actors import Actor
from distro.backbone.authz import require_dealer, require_order
from distro.backbone.catalog import dealer_catalog
from distro.backbone.models import (
    Delivery,
    Event,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    ProofFile,
    Role,
)
from distro.backbone.orders import OPEN_STATUSES, LineRequest

HISTORY_FILTERS = ("open", "delivered", "problem", "all")
"""Order history filters: open orders, delivered ones, failed or cancelled ones, or all."""

STEPS = ("placed", "confirmed", "planned", "out_for_delivery", "arrived", "delivered")
"""The steps of an order that goes well, in order."""

STEP_LABELS = {
    "placed": "Placed",
    "credit_hold": "On credit hold",
    "confirmed": "Confirmed",
    "planned": "Planned",
    "out_for_delivery": "Out for delivery",
    "arrived": "Rider arrived",
    "delivered": "Delivered",
    "failed": "Delivery failed",
    "rescheduled": "Rescheduled",
    "cancelled": "Cancelled",
}

_EVENT_STEPS = {
    "order_credit_approved": "confirmed",
    "order_planned": "planned",
    "delivery_out_for_delivery": "out_for_delivery",
    "delivery_arrived": "arrived",
    "delivery_delivered": "delivered",
    "delivery_failed": "failed",
    "delivery_rescheduled": "rescheduled",
    "order_cancelled": "cancelled",
    "order_credit_rejected": "cancelled",
}


@dataclass(frozen=True, slots=True)
class CatalogRow:
    """One product the dealer may order at its tier price."""

    sku: str
    name: str
    unit: str
    pack_size: int
    min_order_qty: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One step of an order's timeline; `at` is None for a step still to come."""

    key: str
    label: str
    at: datetime | None
    detail: str = ""
    eta: datetime | None = None
    """The delivery's current ETA, on the planned and later steps that have one."""


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order with its lines, current delivery and timeline, as the dealer sees it."""

    order: Order
    lines: list[tuple[OrderLine, str, str]]
    """Each line with its product's SKU and name."""
    delivery: Delivery | None
    """The latest delivery attempt, if any."""
    steps: list[TimelineStep]
    """What happened, oldest first, then the steps still to come."""
    last_event_id: int
    confirmation_code: str | None = None
    """The code the recipient reads to the rider, while the delivery needs one."""


def search_catalog(
    session: Session, actor: Actor, dealer_id: int, query: str = "", limit: int = 200
) -> list[CatalogRow]:
    """Return the dealer's catalog at its tier prices, filtered by SKU or name.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
        NotFoundError: no such dealer.
    """
    require_dealer(actor, dealer_id)
    words = query.lower().split()
    rows = []
    for product, price in dealer_catalog(session, dealer_id):
        haystack = f"{product.sku} {product.name}".lower()
        if all(word in haystack for word in words):
            rows.append(
                CatalogRow(
                    product.sku,
                    product.name,
                    product.unit,
                    product.pack_size,
                    product.min_order_qty,
                    price,
                )
            )
        if len(rows) >= limit:
            break
    return rows


def order_history(
    session: Session,
    actor: Actor,
    dealer_id: int,
    *,
    status_filter: str = "all",
    search: str = "",
    since: date | None = None,
    limit: int = 50,
) -> list[Order]:
    """Return the dealer's orders, newest first.

    Args:
        session: Open session.
        actor: Dealer staff or operations.
        dealer_id: The dealer whose orders to list.
        status_filter: One of `HISTORY_FILTERS`; an unknown value lists all.
        search: Part of an order number, for example "1042".
        since: Only orders placed on or after this day.
        limit: Rows returned at most.

    Raises:
        PermissionDeniedError: the actor is not staff of this dealer or operations.
    """
    require_dealer(actor, dealer_id)
    statement = select(Order).where(Order.dealer_id == dealer_id)
    if status_filter == "open":
        statement = statement.where(col(Order.status).in_(OPEN_STATUSES))
    elif status_filter == "delivered":
        statement = statement.where(Order.status == OrderStatus.DELIVERED)
    elif status_filter == "problem":
        statement = statement.where(
            col(Order.status).in_((OrderStatus.FAILED, OrderStatus.CANCELLED))
        )
    if search.strip():
        statement = statement.where(col(Order.number).contains(search.strip().upper()))
    if since is not None:
        statement = statement.where(
            col(Order.created_at) >= datetime.combine(since, datetime.min.time())
        )
    statement = statement.order_by(col(Order.id).desc()).limit(max(1, min(limit, 200)))
    return list(session.exec(statement))


def reorder_lines(session: Session, actor: Actor, order_id: int) -> tuple[Order, list[LineRequest]]:
    """Return a past order and its lines as a new cart's SKUs and quantities.

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another dealer.
    """
    order = require_order(session, actor, order_id)
    rows = session.exec(
        select(Product.sku, OrderLine.quantity)
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(OrderLine.id))
    ).all()
    return order, [LineRequest(sku, quantity) for sku, quantity in rows]


def order_view(session: Session, actor: Actor, order_id: int) -> OrderView:
    """Return one order with its lines, latest delivery and timeline.

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another dealer.
    """
    order = require_order(session, actor, order_id)
    lines = session.exec(
        select(OrderLine, Product.sku, Product.name)
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(OrderLine.id))
    ).all()
    delivery = session.exec(
        select(Delivery).where(Delivery.order_id == order.id).order_by(col(Delivery.id).desc())
    ).first()
    events = list(
        session.exec(select(Event).where(Event.order_id == order.id).order_by(col(Event.id)))
    )
    proofs = (
        list(
            session.exec(
                select(ProofFile)
                .where(ProofFile.delivery_id == delivery.id)
                .order_by(col(ProofFile.id))
            )
        )
        if delivery is not None
        else []
    )
    code = None
    if delivery is not None and actor.role in (Role.DEALER, Role.CUSTOMER):
        code = pod.recipient_code(session, actor, delivery.id)
    return OrderView(
        order=order,
        lines=[(line, sku, name) for line, sku, name in lines],
        delivery=delivery,
        steps=build_timeline(order, events, delivery, proofs),
        last_event_id=events[-1].id if events else 0,
        confirmation_code=code,
    )


def build_timeline(
    order: Order, events: list[Event], delivery: Delivery | None, proofs: list[ProofFile]
) -> list[TimelineStep]:
    """Turn an order's events into timeline steps: what happened, then what is still to come.

    A failed attempt that operations reschedule starts the steps after "confirmed" again.
    """
    done: list[TimelineStep] = []
    reached = -1
    final = False
    for event in events:
        key = _step_for(event)
        if key is None:
            continue
        done.append(
            TimelineStep(
                key,
                STEP_LABELS[key],
                event.at,
                _detail(key, event, delivery, proofs),
                _eta(key, delivery),
            )
        )
        if key == "placed" and event.to_state == OrderStatus.CONFIRMED:
            done.append(TimelineStep("confirmed", STEP_LABELS["confirmed"], event.at))
            reached = STEPS.index("confirmed")
        elif key in STEPS:
            reached = max(reached, STEPS.index(key))
        elif key == "rescheduled":
            reached = STEPS.index("confirmed")
        final = key in ("delivered", "cancelled") or (
            key == "failed" and order.status == OrderStatus.FAILED
        )
        if key == "placed" and event.to_state == OrderStatus.CREDIT_HOLD:
            done.append(
                TimelineStep(
                    "credit_hold", STEP_LABELS["credit_hold"], event.at, "Waiting for a manager"
                )
            )
            reached = STEPS.index("placed")

    if final:
        return done
    upcoming = [
        TimelineStep(key, STEP_LABELS[key], None, eta=_eta(key, delivery))
        for key in STEPS[reached + 1 :]
    ]
    return done + upcoming


def _step_for(event: Event) -> str | None:
    if event.event_type == "order_placed":
        return "placed"
    if event.event_type == "order_failed" or event.event_type == "order_delivered":
        return None
    return _EVENT_STEPS.get(event.event_type)


def _detail(key: str, event: Event, delivery: Delivery | None, proofs: list[ProofFile]) -> str:
    payload = event.payload or {}
    if key == "placed" and payload.get("entered_by"):
        return f"Entered by {payload['entered_by']}"
    if key == "failed":
        reason = payload.get("reason_code") or (delivery.failure_reason if delivery else None)
        note = payload.get("note")
        return ": ".join(
            part for part in (str(reason or "no reason given").replace("_", " "), note) if part
        )
    if key == "cancelled":
        return str(payload.get("reason", ""))
    if key == "delivered":
        kinds = sorted({proof.kind for proof in proofs})
        return f"Proof: {', '.join(kinds)}" if kinds else "Proof recorded"
    return ""


def _eta(key: str, delivery: Delivery | None) -> datetime | None:
    if key not in ("planned", "out_for_delivery", "arrived") or delivery is None:
        return None
    return delivery.eta

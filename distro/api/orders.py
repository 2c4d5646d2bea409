"""Order routes: place an order (idempotent), list orders, read one order and its timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from distro.api.auth import ActorDep, SessionDep, actor_with
from distro.api.errors import AUTH_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from distro.api.schemas import (
    DeliveryOut,
    EventOut,
    OrderDetailOut,
    OrderIn,
    OrderLineOut,
    OrderListOut,
    OrderOut,
)
from distro.backbone import feed, orders
from distro.backbone.actors import Actor
from distro.backbone.authz import require_customer, require_dealer, require_order
from distro.backbone.errors import ValidationError
from distro.backbone.events import order_timeline
from distro.backbone.models import Event, Order, OrderStatus, Role
from distro.db import get_engine

router = APIRouter(tags=["orders"], responses=AUTH_RESPONSES)

ORDERING_ROLES = (Role.DEALER, Role.CUSTOMER, Role.DISPATCHER, Role.ADMIN)


def order_out(order: Order) -> OrderOut:
    """Convert an order row to its API shape."""
    return OrderOut(
        order_id=order.id,
        number=order.number,
        status=order.status,
        channel=order.channel,
        dealer_id=order.dealer_id,
        customer_id=order.customer_id,
        total_cents=order.total_cents,
        units=order.units,
        weight_kg=order.weight_kg,
        delivery_day=order.delivery_day,
        window_start_min=order.window_start_min,
        window_end_min=order.window_end_min,
        created_at=order.created_at,
    )


def event_out(event: Event) -> EventOut:
    """Convert an event row to its API shape."""
    return EventOut(
        event_id=event.id,
        at=event.at,
        actor=event.actor,
        role=event.role,
        entity=event.entity,
        entity_id=event.entity_id,
        event_type=event.event_type,
        from_state=event.from_state,
        to_state=event.to_state,
        order_id=event.order_id,
        payload=event.payload or {},
    )


def _party(actor: Actor, body: OrderIn) -> tuple[int | None, int | None, str]:
    """Return (dealer_id, customer_id, entered_by) for the order, from the caller's identity."""
    if actor.role == Role.DEALER:
        if body.customer_id is not None:
            raise ValidationError(
                "Dealer staff order for their dealer; leave customer_id empty.", field="customer_id"
            )
        if body.dealer_id is not None:
            require_dealer(actor, body.dealer_id)
        return actor.dealer_id, None, ""
    if actor.role == Role.CUSTOMER:
        if body.dealer_id is not None:
            raise ValidationError(
                "Customers order for themselves; leave dealer_id empty.", field="dealer_id"
            )
        if body.customer_id is not None:
            require_customer(actor, body.customer_id)
        return None, actor.customer_id, ""
    if (body.dealer_id is None) == (body.customer_id is None):
        raise ValidationError(
            "Operations staff give exactly one of dealer_id or customer_id.", field="dealer_id"
        )
    return body.dealer_id, body.customer_id, actor.username


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses={
        200: {
            "model": OrderOut,
            "description": "The Idempotency-Key was used before with this body: the same order.",
        },
        **NOT_FOUND_RESPONSE,
        **CONFLICT_RESPONSE,
    },
)
def place_order(
    body: OrderIn,
    response: Response,
    actor: Annotated[Actor, Depends(actor_with(*ORDERING_ROLES))],
    idempotency_key: str | None = Header(
        default=None,
        max_length=80,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description=(
            "A unique string per intended order; a retry with the same key and body "
            "returns the same order."
        ),
    ),
) -> OrderOut:
    """Place an order at the server's prices.

    Returns 201 when the order is placed, and 200 when the key repeats an order placed before.
    """
    dealer_id, customer_id, entered_by = _party(actor, body)
    tenant = f"dealer-{dealer_id}" if dealer_id is not None else f"customer-{customer_id}"
    # Keys are scoped to the ordering dealer or customer, so one tenant's key never
    # collides with (or reveals) another tenant's order.
    scoped_key = f"{tenant}:{idempotency_key}" if idempotency_key else None

    window = (
        (body.window_start_min, body.window_end_min) if body.window_start_min is not None else None
    )
    order, placed = orders.submit_order_outcome(
        get_engine(),
        actor,
        lines=[orders.LineRequest(line.sku, line.quantity) for line in body.lines],
        dealer_id=dealer_id,
        customer_id=customer_id,
        delivery_day=body.delivery_day,
        window=window,
        idempotency_key=scoped_key,
        note=body.note,
        entered_by=entered_by,
    )
    response.status_code = 201 if placed else 200
    return order_out(order)


@router.get("/orders", response_model=OrderListOut)
def list_orders(
    actor: ActorDep,
    session: SessionDep,
    status: OrderStatus | None = Query(default=None),
    after_id: int = Query(default=0, ge=0, le=2**31 - 1),
    limit: int = Query(default=50, ge=1, le=200),
) -> OrderListOut:
    """List the orders the caller may see, oldest first, a page at a time."""
    rows = feed.visible_orders(session, actor, status=status, after_id=after_id, limit=limit)
    return OrderListOut(
        orders=[order_out(o) for o in rows],
        next_after_id=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/orders/{order_id}", response_model=OrderDetailOut, responses=NOT_FOUND_RESPONSE)
def get_order(
    actor: ActorDep,
    session: SessionDep,
    order_id: int = Path(ge=1, le=2**31 - 1),
) -> OrderDetailOut:
    """Read one order with its lines and deliveries."""
    order, lines, deliveries = feed.order_detail(session, actor, order_id)
    return OrderDetailOut(
        **order_out(order).model_dump(),
        lines=[
            OrderLineOut(
                sku=sku,
                quantity=line.quantity,
                unit_price_cents=line.unit_price_cents,
                line_total_cents=line.line_total_cents,
            )
            for line, sku in lines
        ],
        deliveries=[
            DeliveryOut(
                delivery_id=d.id,
                status=d.status,
                day=d.day,
                route_id=d.route_id,
                sequence=d.sequence,
                eta=d.eta,
                attempt=d.attempt,
                failure_reason=d.failure_reason,
            )
            for d in deliveries
        ],
    )


@router.get(
    "/orders/{order_id}/timeline", response_model=list[EventOut], responses=NOT_FOUND_RESPONSE
)
def get_order_timeline(
    actor: ActorDep,
    session: SessionDep,
    order_id: int = Path(ge=1, le=2**31 - 1),
) -> list[EventOut]:
    """List every event about one order and its deliveries, oldest first."""
    require_order(session, actor, order_id)
    return [event_out(e) for e in order_timeline(session, order_id)]

"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class CatalogItem(BaseModel):
    """A product with the caller's unit price."""

    sku: str
    name: str
    unit: str
    weight_kg: float
    pack_size: int
    min_order_qty: int
    unit_price_cents: int


class OrderLineIn(BaseModel):
    """One requested product and quantity."""

    sku: str = Field(min_length=1, max_length=40, examples=["SKU-1"])
    quantity: int = Field(ge=1, le=100_000, examples=[12])


class OrderIn(BaseModel):
    """An order to place.

    Dealers and customers order for themselves; operations staff name the dealer or customer.
    """

    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)
    delivery_day: date
    window_start_min: int | None = Field(
        default=None, ge=0, le=1440, description="Minutes after midnight."
    )
    window_end_min: int | None = Field(
        default=None, ge=0, le=1440, description="Minutes after midnight."
    )
    note: str = Field(default="", max_length=500)
    dealer_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Operations only: the dealer ordering."
    )
    customer_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Operations only: the customer ordering."
    )

    @model_validator(mode="after")
    def _window_complete(self) -> OrderIn:
        if (self.window_start_min is None) != (self.window_end_min is None):
            raise ValueError("give both window_start_min and window_end_min, or neither")
        return self


class OrderLineOut(BaseModel):
    """An order line at the price in force when the order was placed."""

    sku: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class DeliveryOut(BaseModel):
    """One delivery stop of an order."""

    delivery_id: int
    status: str
    day: date
    route_id: int | None
    sequence: int | None
    eta: datetime | None
    attempt: int
    failure_reason: str | None


class OrderOut(BaseModel):
    """An order's header and status."""

    order_id: int
    number: str
    status: str
    channel: str
    dealer_id: int | None
    customer_id: int | None
    total_cents: int
    units: int
    weight_kg: float
    delivery_day: date
    window_start_min: int | None
    window_end_min: int | None
    created_at: datetime


class OrderDetailOut(OrderOut):
    """An order with its lines and deliveries."""

    lines: list[OrderLineOut]
    deliveries: list[DeliveryOut]


class OrderListOut(BaseModel):
    """A page of orders; pass `next_after_id` as `after_id` for the next page."""

    orders: list[OrderOut]
    next_after_id: int | None


class EventOut(BaseModel):
    """One entry of the append-only event log."""

    event_id: int
    at: datetime
    actor: str
    role: str
    entity: str
    entity_id: int
    event_type: str
    from_state: str | None
    to_state: str | None
    order_id: int | None
    payload: dict[str, Any]


class EventPageOut(BaseModel):
    """Events after a cursor; pass `cursor` back as `after` to continue."""

    events: list[EventOut]
    cursor: int


class ClientEventIn(BaseModel):
    """One status update queued on a rider's device."""

    client_event_id: str = Field(
        min_length=1,
        max_length=80,
        description="Unique per device user; replays return the stored outcome.",
    )
    delivery_id: int = Field(ge=1, le=2**31 - 1)
    status: Literal["out_for_delivery", "arrived", "delivered", "failed"]
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="reason_code, position {lat, lon}, proof sha256, device time.",
    )


class SyncIn(BaseModel):
    """A batch of queued updates, oldest first."""

    events: list[ClientEventIn] = Field(min_length=1, max_length=200)


class SyncResultOut(BaseModel):
    """The outcome of one update."""

    client_event_id: str
    outcome: Literal["applied", "stale", "rejected"]
    delivery_id: int | None
    status: str | None = Field(description="The delivery's status after the update.")
    code: str | None = Field(description="Error code when rejected.")
    message: str
    duplicate: bool = Field(
        description="True when this id was received before; the stored outcome is returned."
    )


class SyncOut(BaseModel):
    """Outcomes in the order the updates were sent."""

    results: list[SyncResultOut]


class ProofOut(BaseModel):
    """A stored proof-of-delivery file."""

    delivery_id: int
    sha256: str
    media_type: str
    size_bytes: int


class RouteStopOut(BaseModel):
    """One stop of a route, in driving order."""

    delivery_id: int
    sequence: int | None
    label: str
    address: str
    latitude: float
    longitude: float
    status: str
    window_start_min: int | None
    window_end_min: int | None
    eta: datetime | None
    order_id: int | None


class RouteOut(BaseModel):
    """A route with its stops."""

    route_id: int
    day: date
    status: str
    rider_id: int | None
    vehicle_id: int
    color: str
    stops: list[RouteStopOut]

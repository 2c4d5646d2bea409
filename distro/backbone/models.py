"""SQLModel tables: the one schema every face of Distro reads and writes.

Conventions: money is stored in integer cents. Weights are kilograms, as floats on products
and as integers on deliveries and vehicles, because the planner works in integers. Times of
day are minutes after midnight in the network's time zone, and timestamps are aware UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class Role(enum.StrEnum):
    """Who a user is, which decides the pages and data they may reach."""

    DEALER = "dealer"
    """Staff of one dealer, with access to that dealer's orders, prices and deliveries only."""
    CUSTOMER = "customer"
    """A consumer ordering from the dealer that serves their area."""
    RIDER = "rider"
    """Drives a vehicle on a shift, with access to their own assignments only."""
    DISPATCHER = "dispatcher"
    """Plans, edits and publishes routes and handles delivery exceptions."""
    MANAGER = "manager"
    """Sees network KPIs and approves credit holds."""
    ADMIN = "admin"
    """Manages users, master data and API tokens."""
    SYSTEM = "system"
    """Imports, the demo generator and other unattended jobs."""


class OrderStatus(enum.StrEnum):
    """Status of an order between submission and delivery."""

    CREDIT_HOLD = "credit_hold"
    """Over the credit limit; waits for a manager to approve or reject."""
    CONFIRMED = "confirmed"
    """Validated, stock reserved, waiting in the fulfilment queue."""
    PLANNED = "planned"
    """Its delivery is on a draft or published route."""
    OUT_FOR_DELIVERY = "out_for_delivery"
    """The rider carrying it has left the depot."""
    DELIVERED = "delivered"
    """Handed over with proof of delivery; final."""
    FAILED = "failed"
    """The last delivery attempt failed; see the delivery's reason code."""
    CANCELLED = "cancelled"
    """Cancelled before delivery; reservations and exposure were released."""


class Channel(enum.StrEnum):
    """Channel through which an order entered the system."""

    DEALER = "dealer"
    CUSTOMER = "customer"


class DeliveryStatus(enum.StrEnum):
    """The states of one delivery stop; transitions live in `backbone.delivery`."""

    PENDING = "pending"
    """Waiting for a published route; it may sit on a draft route meanwhile."""
    ASSIGNED = "assigned"
    """On a published route, assigned to a rider."""
    OUT_FOR_DELIVERY = "out_for_delivery"
    """The rider is on the way."""
    ARRIVED = "arrived"
    """The rider is at the stop."""
    DELIVERED = "delivered"
    """Handed over with the required proof; final."""
    FAILED = "failed"
    """The attempt failed with a reason code."""
    CANCELLED = "cancelled"
    """The order was cancelled; the stop is not served."""


class RouteStatus(enum.StrEnum):
    """Lifecycle of a planned route."""

    DRAFT = "draft"
    """Planned, editable, not visible to riders."""
    PUBLISHED = "published"
    """Assigned to a rider and shown in the rider app."""
    SUPERSEDED = "superseded"
    """Replaced by a newer plan before publication."""


class PlanStatus(enum.StrEnum):
    """Lifecycle of one planning run for a depot and a day."""

    RUNNING = "running"
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    FAILED = "failed"


class Product(SQLModel, table=True):
    """A sellable item of the manufacturer's catalog."""

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(index=True, unique=True, max_length=40)
    name: str = Field(max_length=200)
    unit: str = Field(default="unit", max_length=20)
    weight_kg: float = Field(ge=0)
    pack_size: int = Field(default=1, ge=1)
    min_order_qty: int = Field(default=1, ge=1)
    active: bool = True


class PriceTier(SQLModel, table=True):
    """A price list that dealers are assigned to (for example gold, silver, bronze)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=20)
    name: str = Field(max_length=100)


class TierPrice(SQLModel, table=True):
    """The unit price of one product in one tier, in cents."""

    __table_args__ = (UniqueConstraint("tier_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tier_id: int = Field(foreign_key="pricetier.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    unit_price_cents: int = Field(sa_type=BigInteger, ge=0)


class Warehouse(SQLModel, table=True):
    """A place that keeps stock and can be a route's depot: a plant, a warehouse or a dealer."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=40)
    name: str = Field(max_length=200)
    kind: str = Field(default="warehouse", max_length=20)
    address: str = Field(default="", max_length=300)
    latitude: float
    longitude: float
    is_depot: bool = True


class Dealer(SQLModel, table=True):
    """A business that buys from the manufacturer and may serve customers in its territory.

    Exposure is `unpaid_cents + open_orders_cents`; both columns change only inside the
    transaction that places, cancels, invoices or records payment for an order.
    """

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=40)
    name: str = Field(max_length=200)
    tier_id: int = Field(foreign_key="pricetier.id")
    credit_limit_cents: int = Field(sa_type=BigInteger, default=0, ge=0)
    unpaid_cents: int = Field(sa_type=BigInteger, default=0)
    open_orders_cents: int = Field(sa_type=BigInteger, default=0)
    address: str = Field(default="", max_length=300)
    town: str = Field(default="", max_length=120)
    latitude: float
    longitude: float
    receiving_open_min: int = Field(default=8 * 60, ge=0, le=24 * 60)
    receiving_close_min: int = Field(default=18 * 60, ge=0, le=24 * 60)
    territory: str = Field(default="", max_length=80, index=True)
    phone: str = Field(default="", max_length=40)
    warehouse_id: int = Field(foreign_key="warehouse.id", index=True)
    """The warehouse that fulfils this dealer's orders."""
    stock_location_id: int | None = Field(default=None, foreign_key="warehouse.id")
    """The dealer's own stock, from which its customers' orders are served."""
    service_radius_km: float = Field(default=15.0, ge=0)
    active: bool = True


class Customer(SQLModel, table=True):
    """A consumer who orders from the dealer serving their area."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=40)
    address: str = Field(default="", max_length=300)
    latitude: float
    longitude: float
    dealer_id: int | None = Field(default=None, foreign_key="dealer.id", index=True)


class User(SQLModel, table=True):
    """Someone who signs in; dealer, customer and rider users are bound to their record."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=80)
    full_name: str = Field(default="", max_length=200)
    password_hash: str = Field(default="", max_length=300)
    role: str = Field(max_length=20)
    dealer_id: int | None = Field(default=None, foreign_key="dealer.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    rider_id: int | None = Field(default=None, foreign_key="rider.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utc_now)


class Stock(SQLModel, table=True):
    """On-hand and reserved quantity of one product at one location.

    Available = on_hand - reserved. Reservations are taken when an order is placed and
    released when it is delivered (with on_hand) or cancelled.
    """

    __table_args__ = (UniqueConstraint("warehouse_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    warehouse_id: int = Field(foreign_key="warehouse.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    on_hand: int = Field(default=0, ge=0)
    reserved: int = Field(default=0, ge=0)


class Vehicle(SQLModel, table=True):
    """A vehicle with its capacity in kilograms and in units and its running costs."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=40)
    name: str = Field(max_length=100)
    capacity_kg: int = Field(ge=0)
    capacity_units: int = Field(ge=0)
    cost_per_km_cents: int = Field(sa_type=BigInteger, default=0, ge=0)
    cost_per_day_cents: int = Field(sa_type=BigInteger, default=0, ge=0)
    active: bool = True


class Rider(SQLModel, table=True):
    """A driver or rider who works shifts with a vehicle."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=40)
    name: str = Field(max_length=200)
    phone: str = Field(default="", max_length=40)
    vehicle_id: int | None = Field(default=None, foreign_key="vehicle.id")
    active: bool = True


class Shift(SQLModel, table=True):
    """A rider on duty on one day from one depot with one vehicle."""

    __table_args__ = (UniqueConstraint("rider_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    rider_id: int = Field(foreign_key="rider.id", index=True)
    vehicle_id: int = Field(foreign_key="vehicle.id")
    depot_id: int = Field(foreign_key="warehouse.id", index=True)
    day: date = Field(index=True)
    start_min: int = Field(default=8 * 60, ge=0)
    end_min: int = Field(default=18 * 60, ge=0)


class Order(SQLModel, table=True):
    """An order from a dealer or a customer, with its lines in `OrderLine`."""

    __tablename__ = "orders"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(index=True, unique=True, max_length=40)
    channel: str = Field(max_length=20)
    status: str = Field(max_length=20, index=True)
    dealer_id: int | None = Field(default=None, foreign_key="dealer.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    warehouse_id: int = Field(foreign_key="warehouse.id")
    total_cents: int = Field(sa_type=BigInteger, default=0, ge=0)
    weight_kg: float = Field(default=0, ge=0)
    units: int = Field(default=0, ge=0)
    delivery_day: date = Field(index=True)
    window_start_min: int | None = None
    window_end_min: int | None = None
    priority: int = 0
    idempotency_key: str | None = Field(default=None, max_length=120, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)
    entered_by: str = Field(default="", max_length=80)
    """Username of the operations user who typed the order for a dealer; empty otherwise."""
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utc_now, index=True)


class OrderLine(SQLModel, table=True):
    """One product and quantity of an order at the price in force when it was placed."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="orders.id", index=True)
    product_id: int = Field(foreign_key="product.id")
    quantity: int = Field(gt=0)
    unit_price_cents: int = Field(sa_type=BigInteger, ge=0)
    line_total_cents: int = Field(sa_type=BigInteger, ge=0)


class Delivery(SQLModel, table=True):
    """One stop to serve on a day: an order's drop, or an imported delivery with no order."""

    id: int | None = Field(default=None, primary_key=True)
    order_id: int | None = Field(default=None, foreign_key="orders.id", index=True)
    external_id: str = Field(default="", max_length=80, index=True)
    """Identifier in the source file for imported stops."""
    source: str = Field(default="order", max_length=40, index=True)
    """Origin of the stop: "order", "demo", or the import's name."""
    day: date = Field(index=True)
    depot_id: int = Field(foreign_key="warehouse.id", index=True)
    label: str = Field(default="", max_length=200)
    address: str = Field(default="", max_length=300)
    contact_phone: str = Field(default="", max_length=40)
    latitude: float
    longitude: float
    demand_kg: int = Field(default=0, ge=0)
    demand_units: int = Field(default=0, ge=0)
    window_start_min: int | None = None
    window_end_min: int | None = None
    service_min: int = Field(default=5, ge=0)
    priority: int = 0
    status: str = Field(default=DeliveryStatus.PENDING, max_length=20, index=True)
    attempt: int = Field(default=1, ge=1)
    route_id: int | None = Field(default=None, foreign_key="route.id", index=True)
    sequence: int | None = None
    eta: datetime | None = None
    failure_reason: str | None = Field(default=None, max_length=40)
    updated_at: datetime = Field(default_factory=utc_now)


class Plan(SQLModel, table=True):
    """One planning run for a depot and a day, with its draft or published routes."""

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(index=True)
    depot_id: int = Field(foreign_key="warehouse.id", index=True)
    status: str = Field(default=PlanStatus.RUNNING, max_length=20)
    engine: str = Field(default="", max_length=40)
    seed: int = 0
    time_limit_s: float = 0
    solve_seconds: float = 0
    total_distance_m: int = 0
    total_duration_s: int = 0
    unassigned: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    """Stops the planner could not route: `[{"delivery_id", "reason"}]`."""
    created_by: str = Field(default="", max_length=80)
    created_at: datetime = Field(default_factory=utc_now)
    published_at: datetime | None = None


class Route(SQLModel, table=True):
    """An ordered sequence of stops for one vehicle and rider, inside a plan."""

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    day: date = Field(index=True)
    depot_id: int = Field(foreign_key="warehouse.id")
    vehicle_id: int = Field(foreign_key="vehicle.id")
    rider_id: int | None = Field(default=None, foreign_key="rider.id", index=True)
    shift_id: int | None = Field(default=None, foreign_key="shift.id")
    status: str = Field(default=RouteStatus.DRAFT, max_length=20, index=True)
    color: str = Field(default="#1f77b4", max_length=9)
    load_kg: int = 0
    load_units: int = 0
    distance_m: int = 0
    duration_s: int = 0
    start_min: int = 0
    locked: bool = False


class Event(SQLModel, table=True):
    """An append-only record of one state change; never updated or deleted.

    Each change of an order, delivery, route or plan writes exactly one event in the same
    transaction as the change.
    """

    __table_args__ = (Index("ix_event_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now, index=True)
    actor: str = Field(max_length=80)
    role: str = Field(max_length=20)
    entity: str = Field(max_length=20)
    entity_id: int
    event_type: str = Field(max_length=40, index=True)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    order_id: int | None = Field(default=None, index=True)
    """The order the change concerns, so an order's timeline is one indexed query."""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class UserSession(SQLModel, table=True):
    """One signed-in browser or device; only the SHA-256 of its token is stored.

    A session ends at `expires_at`, after the idle timeout since `last_seen_at`, when
    `revoked_at` is set (sign-out, a disabled user, a password reset), or when its user is
    disabled.
    """

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utc_now)
    last_seen_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    revoked_at: datetime | None = None


class SignInAttempt(SQLModel, table=True):
    """One sign-in attempt, counted per username and per client address to rate-limit guessing."""

    __table_args__ = (
        Index("ix_signinattempt_username_at", "username", "at"),
        Index("ix_signinattempt_address_at", "client_address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now)
    username: str = Field(max_length=80)
    client_address: str = Field(max_length=64)
    succeeded: bool = False


class ApiToken(SQLModel, table=True):
    """A bearer token for the HTTP API with a fixed role and tenant; only its SHA-256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=20)
    dealer_id: int | None = Field(default=None, foreign_key="dealer.id")
    customer_id: int | None = Field(default=None, foreign_key="customer.id")
    rider_id: int | None = Field(default=None, foreign_key="rider.id")
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=utc_now)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ClientEvent(SQLModel, table=True):
    """A status update sent by a device with its own id, stored so a replay applies it once.

    `owner` is the user or API token that sent it ("user:12", "token:3"); the same
    `client_event_id` from another owner is a different event.
    """

    __table_args__ = (UniqueConstraint("owner", "client_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=40)
    client_event_id: str = Field(max_length=80)
    delivery_id: int | None = None
    outcome: str = Field(max_length=20)
    """"applied", "stale" (never moved the delivery back) or "rejected"."""
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    received_at: datetime = Field(default_factory=utc_now)


class DeliveredQuantity(SQLModel, table=True):
    """The quantity of one order line that was handed over, when it differs from the order.

    A delivered order line without a row here was delivered in full; a row records a partial
    (or zero) quantity. Rows are written with the `delivery_delivered` event of the stop.
    """

    __table_args__ = (UniqueConstraint("order_line_id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    order_line_id: int = Field(foreign_key="orderline.id")
    quantity: int = Field(ge=0)
    """Units handed over, in the product's unit; at most the line's ordered quantity."""
    recorded_at: datetime = Field(default_factory=utc_now)


class RouteActual(SQLModel, table=True):
    """What a published route took in reality: when the rider left and came back, and how far.

    Written by the rider app (or an import of vehicle logs). KPIs fall back to the stop events
    for the times and report the distance as unknown while no row exists.
    """

    id: int | None = Field(default=None, primary_key=True)
    route_id: int = Field(foreign_key="route.id", unique=True)
    started_at: datetime | None = None
    """When the vehicle left the depot."""
    finished_at: datetime | None = None
    """When the vehicle was back at the depot."""
    distance_m: int | None = Field(default=None, ge=0)
    """Distance driven in meters, from the odometer or the rider's positions."""
    recorded_at: datetime = Field(default_factory=utc_now)


# KPI queries select one or a few event types in a time range.
Index("ix_event_type_at", Event.event_type, Event.at)


class NextStep(enum.StrEnum):
    """What happens to a delivery right after a failed attempt; set per failure reason."""

    RESCHEDULE_NEXT_DAY = "reschedule_next_day"
    """Back to pending on the next day, so the next planning run routes it again."""
    RETURN_TO_STOCK = "return_to_stock"
    """Returned: the order is cancelled and its reserved stock released."""
    HOLD_FOR_DISPATCH = "hold_for_dispatch"
    """Stays failed until a dispatcher reschedules or returns it."""


class FailureReason(SQLModel, table=True):
    """A reason a rider may give for a failed attempt, with the rule for the next step.

    Operations edit these rows. After `max_attempts` failed attempts a delivery is returned
    and the dealer notified, whatever `next_step` says.
    """

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=40)
    label: str = Field(max_length=120)
    next_step: str = Field(default=NextStep.HOLD_FOR_DISPATCH, max_length=30)
    max_attempts: int = Field(default=2, ge=1)
    """Failed attempts after which the delivery is returned and the dealer notified."""
    needs_note: bool = False
    """Whether the rider must type a note with this reason."""
    sort_order: int = 0
    active: bool = True


class ProofPolicy(SQLModel, table=True):
    """The proof of delivery one stop requires, when it differs from the settings' default."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", unique=True)
    require_signature: bool = False
    require_photo: bool = False
    require_code: bool = False
    set_by: str = Field(default="", max_length=80)
    set_at: datetime = Field(default_factory=utc_now)


class ProofFile(SQLModel, table=True):
    """A signature or photo stored as proof for one attempt of a delivery.

    Both files live under the private folder, which no static route serves. `original_path`
    is the upload as received (operations only); `shared_path` is a re-encoded copy with no
    metadata (no location, no camera data), which is what dealers and customers see.
    """

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    attempt: int = Field(default=1, ge=1)
    kind: str = Field(max_length=20)
    """"signature" or "photo"."""
    media_type: str = Field(max_length=40)
    sha256: str = Field(max_length=64)
    """SHA-256 of the original upload."""
    shared_sha256: str = Field(max_length=64)
    """SHA-256 of the re-encoded copy without metadata."""
    size_bytes: int = Field(ge=0)
    width: int = Field(ge=0)
    height: int = Field(ge=0)
    original_path: str = Field(max_length=300)
    shared_path: str = Field(max_length=300)
    uploaded_by: str = Field(max_length=80)
    uploaded_at: datetime = Field(default_factory=utc_now)


class ConfirmationCode(SQLModel, table=True):
    """The code the recipient reads to the rider, for one attempt of a delivery.

    Only a keyed hash of the code is stored. The code itself is derived from `nonce` and the
    server's secret, so the recipient's tracking page can show it while the table alone
    cannot reveal it.
    """

    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", index=True)
    attempt: int = Field(default=1, ge=1)
    nonce: str = Field(max_length=32)
    code_hash: str = Field(max_length=64)
    failed_tries: int = Field(default=0, ge=0)
    locked_at: datetime | None = None
    verified_at: datetime | None = None
    waived_by: str | None = Field(default=None, max_length=80)
    """Set when dispatch overrode a locked code; the reason is on the event."""
    created_at: datetime = Field(default_factory=utc_now)


class RiderPosition(SQLModel, table=True):
    """One position a rider's device reported while on shift."""

    __table_args__ = (Index("ix_riderposition_rider_at", "rider_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    rider_id: int = Field(foreign_key="rider.id")
    at: datetime = Field(default_factory=utc_now)
    """Server time of receipt."""
    device_at: datetime | None = None
    """The device's clock when it took the fix, as the device reported it."""
    lat: float
    lon: float
    accuracy_m: float | None = Field(default=None, ge=0)


class CashSettlement(SQLModel, table=True):
    """Operations counting one rider's cash at the end of a shift."""

    id: int | None = Field(default=None, primary_key=True)
    rider_id: int = Field(foreign_key="rider.id", index=True)
    day: date = Field(index=True)
    expected_cents: int = Field(sa_type=BigInteger)
    counted_cents: int = Field(sa_type=BigInteger, ge=0)
    difference_cents: int = Field(sa_type=BigInteger)
    """counted - expected: negative when cash is missing."""
    note: str = Field(default="", max_length=500)
    settled_by: str = Field(max_length=80)
    settled_at: datetime = Field(default_factory=utc_now)


class CashCollection(SQLModel, table=True):
    """An amount to collect on delivery at one stop, and what the rider collected."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", unique=True)
    amount_due_cents: int = Field(sa_type=BigInteger, ge=0)
    collected_cents: int | None = Field(default=None, sa_type=BigInteger, ge=0)
    method: str | None = Field(default=None, max_length=20)
    """"cash", "card" or "transfer"; only cash counts towards the rider's cash on hand."""
    rider_id: int | None = Field(default=None, foreign_key="rider.id", index=True)
    collected_at: datetime | None = None
    settlement_id: int | None = Field(default=None, foreign_key="cashsettlement.id", index=True)


class Invoice(SQLModel, table=True):
    """What a dealer owes for one delivered order, raised with the order's delivered transition.

    `due_at` is `issued_at` plus DISTRO_PAYMENT_TERMS_DAYS. Payments are applied to the oldest
    open invoices first, so `paid_cents` grows from 0 to `amount_cents`.
    """

    __table_args__ = (UniqueConstraint("order_id"),)

    id: int | None = Field(default=None, primary_key=True)
    dealer_id: int = Field(foreign_key="dealer.id", index=True)
    order_id: int = Field(foreign_key="orders.id")
    number: str = Field(index=True, unique=True, max_length=40)
    amount_cents: int = Field(sa_type=BigInteger, ge=0)
    paid_cents: int = Field(sa_type=BigInteger, default=0, ge=0)
    issued_at: datetime = Field(default_factory=utc_now, index=True)
    due_at: datetime = Field(index=True)


class Payment(SQLModel, table=True):
    """Money received from a dealer, recorded by operations; lowers the dealer's unpaid balance."""

    id: int | None = Field(default=None, primary_key=True)
    dealer_id: int = Field(foreign_key="dealer.id", index=True)
    amount_cents: int = Field(sa_type=BigInteger, gt=0)
    reference: str = Field(max_length=120)
    """The bank transfer, cheque or receipt number the dealer quoted."""
    recorded_by: str = Field(max_length=80)
    received_at: datetime = Field(default_factory=utc_now, index=True)

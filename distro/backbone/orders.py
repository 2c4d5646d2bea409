"""Placing, validating, confirming and cancelling orders.

`place_order` does the work inside the caller's transaction (imports place many orders in
one). `submit_order` is what pages and the API call: it owns the transaction, retries
deadlocks and serialisation failures, and resolves idempotency-key races.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, literal, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from distro.backbone import inventory
from distro.backbone.actors import Actor
from distro.backbone.catalog import priced_products, products_by_sku, retail_prices, tier_prices
from distro.backbone.errors import (
    CreditLimitExceededError,
    IdempotencyConflictError,
    InvalidTransitionError,
    NotFoundError,
    ValidationError,
)
from distro.backbone.events import record_event, write_event
from distro.backbone.fulfillment import enqueue_order, remove_from_route
from distro.backbone.models import (
    Channel,
    Customer,
    Dealer,
    Delivery,
    DeliveryStatus,
    Order,
    OrderLine,
    OrderStatus,
    Product,
)
from distro.db import insert_objects, insert_rows
from distro.formatting import money

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
"""Attempts at one submit when PostgreSQL reports a deadlock or a serialisation failure."""

OPEN_STATUSES = (
    OrderStatus.CREDIT_HOLD,
    OrderStatus.CONFIRMED,
    OrderStatus.PLANNED,
    OrderStatus.OUT_FOR_DELIVERY,
)
"""Statuses whose order total counts towards the dealer's exposure."""


@dataclass(frozen=True, slots=True)
class LineRequest:
    """One requested line: a SKU and a quantity in the product's unit."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A validated line with the server's price."""

    product: Product
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        """Quantity times unit price, in cents."""
        return self.quantity * self.unit_price_cents


def request_fingerprint(
    *,
    dealer_id: int | None,
    customer_id: int | None,
    lines: Sequence[LineRequest],
    delivery_day: date,
    window: tuple[int, int] | None,
    note: str,
) -> str:
    """Return a SHA-256 of the request, so a reused idempotency key can be compared."""
    body = {
        "dealer_id": dealer_id,
        "customer_id": customer_id,
        "lines": [[line.sku.strip().upper(), line.quantity] for line in lines],
        "delivery_day": delivery_day.isoformat(),
        "window": list(window) if window else None,
        "note": note,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def merge_lines(lines: Sequence[LineRequest]) -> dict[str, int]:
    """Sum quantities of lines that name the same SKU, keeping first-seen order.

    Raises:
        ValidationError: when there are no lines or a quantity is not a positive integer.
    """
    if not lines:
        raise ValidationError("The order has no lines. Add at least one SKU and quantity.")
    merged, problems = collect_lines(lines)
    if problems:
        raise ValidationError("; ".join(p["message"] for p in problems), lines=problems)
    return merged


def collect_lines(lines: Sequence[LineRequest]) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Sum quantities per SKU like `merge_lines`, returning the broken lines instead of raising.

    Returns:
        SKU -> total quantity of the valid lines, and one problem dict (line, sku, rule,
        message) for each line with an empty SKU or a quantity that is not a whole number
        above 0.
    """
    merged: dict[str, int] = {}
    problems: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        sku = line.sku.strip().upper()
        if not sku:
            problems.append(
                {"line": number, "rule": "sku", "message": f"line {number}: SKU is empty"}
            )
            continue
        if (
            not isinstance(line.quantity, int)
            or isinstance(line.quantity, bool)
            or line.quantity <= 0
        ):
            problems.append(
                {
                    "line": number,
                    "sku": sku,
                    "rule": "quantity",
                    "message": f"{sku}: quantity {line.quantity!r} must be a whole number above 0",
                }
            )
            continue
        merged[sku] = merged.get(sku, 0) + line.quantity
    return merged, problems


def pack_hint(product: Product, quantity: int) -> str:
    """Return the nearest valid quantities for a quantity that breaks the pack size, else "".

    For example "order 12 or 6" for 7 units of a product sold in packs of 6; the lower
    option is left out when it is below the minimum order quantity.
    """
    if quantity % product.pack_size == 0 and quantity >= product.min_order_qty:
        return ""
    lower = quantity - quantity % product.pack_size
    upper = max(lower + product.pack_size, _round_up(product.min_order_qty, product.pack_size))
    if quantity % product.pack_size == 0:
        return f"order {upper}"
    return f"order {upper}" + (
        f" or {lower}" if lower >= product.min_order_qty and lower > 0 else ""
    )


def _round_up(quantity: int, pack_size: int) -> int:
    return -(-quantity // pack_size) * pack_size


def line_problem(
    sku: str, quantity: int, product: Product | None, price_cents: int | None
) -> dict[str, Any] | None:
    """Check one merged line against the catalog rules; return the first broken rule or None.

    The rules, in order: the SKU exists and is active, it has a price for the buyer, the
    quantity reaches the minimum order quantity, and it is a multiple of the pack size.
    `place_order` and `cart.validate_cart` both call this, so they never disagree.
    """
    if product is None or not product.active:
        return {
            "sku": sku,
            "rule": "unknown_sku",
            "message": f"{sku}: no such product in the catalog",
        }
    if price_cents is None:
        return {"sku": sku, "rule": "no_price", "message": f"{sku}: not sold at this price tier"}
    if quantity < product.min_order_qty:
        return {
            "sku": sku,
            "rule": "min_order_qty",
            "minimum": product.min_order_qty,
            "requested": quantity,
            "message": f"{sku}: minimum order is {product.min_order_qty}, {quantity} requested",
        }
    if quantity % product.pack_size:
        return {
            "sku": sku,
            "rule": "pack_size",
            "pack_size": product.pack_size,
            "requested": quantity,
            "message": (
                f"{sku}: sold in packs of {product.pack_size}, {quantity} requested; "
                f"{pack_hint(product, quantity)}"
            ),
        }
    return None


def credit_problem(dealer: Dealer, total_cents: int) -> dict[str, Any] | None:
    """Return the numbers of a credit-limit breach if `total_cents` more would exceed it, else None.

    Exposure is the dealer's unpaid invoices plus its open orders.
    """
    exposure = dealer.unpaid_cents + dealer.open_orders_cents
    if exposure + total_cents <= dealer.credit_limit_cents:
        return None
    available_credit = max(dealer.credit_limit_cents - exposure, 0)
    return {
        "rule": "credit_limit",
        "dealer_id": dealer.id,
        "order_total_cents": total_cents,
        "exposure_cents": exposure,
        "credit_limit_cents": dealer.credit_limit_cents,
        "available_cents": available_credit,
        "message": (
            f"The order total {money(total_cents)} is more than the {money(available_credit)} "
            f"of credit left to {dealer.code} (credit limit {money(dealer.credit_limit_cents)}, "
            f"minus {money(exposure)} in unpaid invoices and open orders)"
        ),
    }


def price_lines(
    session: Session,
    merged: dict[str, int],
    prices_for: dict[int, int] | None,
    tier_id: int | None,
    products: dict[str, Product] | None = None,
) -> list[PricedLine]:
    """Validate SKUs, minimum quantities and pack multiples, and attach server prices.

    Args:
        session: Open session.
        merged: SKU -> total quantity.
        prices_for: Prices keyed by product id when already known, else None.
        tier_id: The dealer's tier when `prices_for` is None.
        products: The products of `merged` keyed by SKU when already read, else None.

    Raises:
        ValidationError: listing every line that breaks a rule, with the numbers.
    """
    if products is None:
        products = products_by_sku(session, merged)
    if prices_for is None:
        prices = tier_prices(session, tier_id or 0, [p.id for p in products.values() if p.active])
    else:
        prices = prices_for

    problems = []
    priced = []
    for sku, quantity in merged.items():
        product = products.get(sku)
        price = prices.get(product.id) if product is not None else None
        problem = line_problem(sku, quantity, product, price)
        if problem is not None:
            problems.append(problem)
            continue
        priced.append(PricedLine(product, quantity, price))

    if problems:
        raise ValidationError("; ".join(p["message"] for p in problems), lines=problems)
    return priced


def place_order(session: Session, actor: Actor, **request: Any) -> Order:
    """Validate and place an order inside the caller's transaction.

    Locks the dealer row and raises the dealer's open-order exposure. Writes the order, its
    lines and the `order_placed` event, and creates the delivery stop of a confirmed order.
    Then locks the stock rows in product-id order and reserves the stock. The caller commits.
    When this raises, the session contains some of these writes: roll back, or call it inside
    a savepoint (`session.begin_nested()`).

    Args:
        session: Open session; nothing is committed here.
        actor: Who submits; recorded on the event.
        **request: The keyword arguments of `place_order_outcome`.

    Returns:
        The new order, or the order placed before with the same idempotency key and body.

    Raises:
        ValidationError: bad lines, window or party; every problem is listed in `details`.
        InsufficientStockError: a line exceeds the available stock at the fulfilling location.
        CreditLimitExceededError: the order would take the dealer over its credit limit.
        IdempotencyConflictError: the key was used before with a different body.
        NotFoundError: the dealer or customer does not exist.
    """
    return place_order_outcome(session, actor, **request)[0]


def place_order_outcome(
    session: Session,
    actor: Actor,
    *,
    lines: Sequence[LineRequest],
    dealer_id: int | None = None,
    customer_id: int | None = None,
    delivery_day: date,
    window: tuple[int, int] | None = None,
    idempotency_key: str | None = None,
    note: str = "",
    entered_by: str = "",
    allow_credit_hold: bool = False,
) -> tuple[Order, bool]:
    """Place an order as `place_order` does, and report whether this call placed it.

    Args:
        session: Open session; nothing is committed here.
        actor: Who submits; recorded on the event.
        lines: Requested SKUs and quantities; lines with the same SKU are summed.
        dealer_id: The ordering dealer (dealer channel).
        customer_id: The ordering customer (customer channel); served by their dealer's stock.
        delivery_day: The day the order should be delivered.
        window: Delivery window in minutes after midnight; default the dealer's receiving hours.
        idempotency_key: Makes a retried submit with the same body return the same order.
        note: Free text from the person ordering.
        entered_by: Username of operations staff who typed the order for the dealer.
        allow_credit_hold: Put an order over the credit limit on hold instead of rejecting it.

    Returns:
        The order, and True when this call placed it; False when it is the order placed
        before with the same idempotency key and body (a retry).

    Raises:
        The errors listed under `place_order`.
    """
    if (dealer_id is None) == (customer_id is None):
        raise ValidationError("An order needs exactly one of dealer_id or customer_id.")
    if window is not None:
        start, end = window
        if not (0 <= start < end <= 24 * 60):
            raise ValidationError(
                f"Delivery window {start}-{end} is invalid; give start before end, "
                "in minutes 0-1440.",
                window=list(window),
            )

    fingerprint = request_fingerprint(
        dealer_id=dealer_id,
        customer_id=customer_id,
        lines=lines,
        delivery_day=delivery_day,
        window=window,
        note=note,
    )
    merged = merge_lines(lines)

    customer = None
    if customer_id is not None:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundError(f"Customer {customer_id} not found", customer_id=customer_id)
        if customer.dealer_id is None:
            raise ValidationError(
                "No dealer serves this customer's area yet.", customer_id=customer_id
            )
        dealer_id = customer.dealer_id

    # One round trip locks the dealer, looks up the idempotency key and, on PostgreSQL,
    # allocates the order id, so the order number needs no second write.
    dealer, existing_id, order_id = _lock_dealer(session, dealer_id, idempotency_key)
    if existing_id is not None:
        existing = session.get(Order, existing_id)
        return _same_request_or_raise(existing, fingerprint, idempotency_key or ""), False
    if dealer is None or not dealer.active:
        raise NotFoundError(f"Dealer {dealer_id} not found", dealer_id=dealer_id)

    if customer is None:
        catalog = priced_products(session, merged, dealer.tier_id)
        products = {sku: product for sku, (product, _) in catalog.items()}
        prices = {product.id: price for product, price in catalog.values() if price is not None}
        priced = price_lines(session, merged, prices, None, products)
        warehouse_id = dealer.warehouse_id
    else:
        products = products_by_sku(session, merged)
        priced = price_lines(
            session,
            merged,
            retail_prices(session, [p.id for p in products.values()]),
            None,
            products,
        )
        if dealer.stock_location_id is None:
            raise ValidationError(
                f"Dealer {dealer.code} holds no stock for customer orders.", dealer_id=dealer.id
            )
        warehouse_id = dealer.stock_location_id

    total = sum(line.line_total_cents for line in priced)
    status = OrderStatus.CONFIRMED
    if customer is None:
        breach = credit_problem(dealer, total)
        if breach is not None:
            if not allow_credit_hold:
                message = breach.pop("message")
                breach.pop("rule")
                raise CreditLimitExceededError(
                    f"{message}. Reduce the order or ask operations for a credit hold.", **breach
                )
            status = OrderStatus.CREDIT_HOLD

    if customer is None:
        raise_exposure(session, dealer, total)

    if window is None:
        window = (dealer.receiving_open_min, dealer.receiving_close_min)
    order = Order(
        id=order_id,
        number=order_number(order_id) if order_id is not None else "",
        channel=Channel.CUSTOMER if customer else Channel.DEALER,
        status=status,
        dealer_id=dealer.id,
        customer_id=customer.id if customer else None,
        warehouse_id=warehouse_id,
        total_cents=total,
        weight_kg=round(sum(line.product.weight_kg * line.quantity for line in priced), 3),
        units=sum(line.quantity for line in priced),
        delivery_day=delivery_day,
        window_start_min=window[0],
        window_end_min=window[1],
        idempotency_key=idempotency_key or None,
        request_hash=fingerprint,
        entered_by=entered_by,
        note=note,
    )
    # The order, its lines, its event and its stop are written as single INSERTs rather than
    # through the unit of work: this is the busiest write path, and the flush machinery cost
    # more CPU than the database did.
    insert_objects(session, [order])
    if order_id is None:
        # SQLite has no sequences: the insert returned the id, so write the number now.
        order.number = order_number(order.id)
    insert_rows(
        session,
        OrderLine.__table__,
        [
            {
                "order_id": order.id,
                "product_id": line.product.id,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "line_total_cents": line.line_total_cents,
            }
            for line in priced
        ],
    )

    write_event(
        session,
        actor,
        "order",
        order.id,
        "order_placed",
        to_state=status,
        order_id=order.id,
        payload={
            "number": order.number,
            "total_cents": total,
            "lines": [[line.product.sku, line.quantity] for line in priced],
            "entered_by": entered_by,
        },
    )

    if status == OrderStatus.CONFIRMED:
        enqueue_order(session, actor, order, dealer, customer)

    # Stock rows are the most contended rows of all, so they are locked last: the locks are
    # then held only for this check, the update and the caller's commit.
    inventory.reserve(
        session,
        warehouse_id,
        {line.product.id: line.quantity for line in priced},
        {line.product.id: line.product for line in priced},
    )
    return order, True


def order_number(order_id: int) -> str:
    """Return the order number shown to people for an order id, for example "SO-0000042"."""
    return f"SO-{order_id:07d}"


_DEALER = Dealer.__table__

# Built once: constructing a statement costs more CPU than executing a cached one.
_RAISE_EXPOSURE = (
    update(_DEALER)
    .where(_DEALER.c.id == bindparam("dealer"))
    .values(open_orders_cents=_DEALER.c.open_orders_cents + bindparam("cents"))
)


def raise_exposure(session: Session, dealer: Dealer, cents: int) -> None:
    """Add `cents` to the dealer's open-order exposure in the database and on `dealer`.

    The caller holds the dealer's row lock. One UPDATE, and the object is kept in step
    without being marked as changed.
    """
    session.execute(_RAISE_EXPOSURE, {"dealer": dealer.id, "cents": cents})
    set_committed_value(dealer, "open_orders_cents", dealer.open_orders_cents + cents)


@lru_cache(maxsize=4)
def _lock_dealer_statement(postgres: bool, with_key: bool):
    existing = (
        select(Order.id).where(Order.idempotency_key == bindparam("key")).scalar_subquery()
        if with_key
        else literal(None, Integer)
    )
    columns = [Dealer, existing]
    if postgres:
        columns.append(func.nextval(func.pg_get_serial_sequence("orders", "id")))
    return (
        select(*columns)
        .where(Dealer.id == bindparam("dealer_id"))
        .with_for_update(of=Dealer)
        # The row is read under its lock, so refresh a copy the session may hold already.
        .execution_options(populate_existing=True)
    )


def _lock_dealer(
    session: Session, dealer_id: int | None, idempotency_key: str | None
) -> tuple[Dealer | None, int | None, int | None]:
    """Lock the dealer row; return it, the order already placed with the key, and a new order id.

    The new id comes from the orders sequence on PostgreSQL and is None on SQLite.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = _lock_dealer_statement(postgres, bool(idempotency_key))
    params: dict[str, Any] = {"dealer_id": dealer_id}
    if idempotency_key:
        params["key"] = idempotency_key
    row = session.execute(statement, params).first()
    if row is None:
        return None, None, None
    return row[0], row[1], row[2] if postgres else None


def find_by_idempotency_key(session: Session, key: str) -> Order | None:
    """Return the order placed with `key`, if any."""
    return session.exec(select(Order).where(Order.idempotency_key == key)).first()


def _same_request_or_raise(existing: Order, fingerprint: str, key: str) -> Order:
    if existing.request_hash != fingerprint:
        raise IdempotencyConflictError(
            f"Idempotency key {key!r} was already used for order {existing.number} with a "
            "different request. Use a new key for a new order.",
            order_number=existing.number,
        )
    return existing


def _is_retryable(error: DBAPIError) -> bool:
    """Whether PostgreSQL reported a deadlock or a serialisation failure (SQLSTATE 40P01/40001)."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in {"40P01", "40001"}


def submit_order(engine: Engine, actor: Actor, **request: Any) -> Order:
    """Place an order in its own transaction, retrying deadlocks and resolving key races.

    Takes the keyword arguments of `place_order_outcome`. Returns the committed order, which
    for a repeated idempotency key with the same body is the order placed the first time.
    """
    return submit_order_outcome(engine, actor, **request)[0]


def submit_order_outcome(engine: Engine, actor: Actor, **request: Any) -> tuple[Order, bool]:
    """Submit an order as `submit_order` does, and report whether this call placed it.

    Returns:
        The committed order, and False when the idempotency key repeated an earlier order.
    """
    key = request.get("idempotency_key")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with Session(engine, expire_on_commit=False) as session:
                outcome = place_order_outcome(session, actor, **request)
                session.commit()
                return outcome
        except IntegrityError:
            if not key:
                raise
            # Another submit with the same key committed first; return its order.
            with Session(engine, expire_on_commit=False) as session:
                existing = find_by_idempotency_key(session, key)
            if existing is None:
                raise
            fingerprint = request_fingerprint(
                dealer_id=request.get("dealer_id"),
                customer_id=request.get("customer_id"),
                lines=request["lines"],
                delivery_day=request["delivery_day"],
                window=request.get("window"),
                note=request.get("note", ""),
            )
            return _same_request_or_raise(existing, fingerprint, key), False
        except DBAPIError as error:
            if not _is_retryable(error) or attempt == MAX_ATTEMPTS:
                raise
            logger.warning(
                "Order submit by %s hit %s; retrying (attempt %d of %d)",
                actor.username,
                getattr(error.orig, "sqlstate", "?"),
                attempt,
                MAX_ATTEMPTS,
            )
            time.sleep(0.005 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def cancel_order(session: Session, actor: Actor, order_id: int, reason: str) -> Order:
    """Cancel an order that has not left the depot, releasing its stock and exposure.

    Raises:
        NotFoundError: no such order.
        InvalidTransitionError: the order is already out for delivery or finished.
        ValidationError: no reason given.
    """
    if not reason.strip():
        raise ValidationError("A cancellation needs a reason; say why the order is cancelled.")

    order = lock_order(session, order_id)
    if order.status not in (OrderStatus.CREDIT_HOLD, OrderStatus.CONFIRMED, OrderStatus.PLANNED):
        raise InvalidTransitionError(
            f"Order {order.number} is {order.status} and can no longer be cancelled.",
            order_id=order.id,
            status=order.status,
        )
    return release_order(session, actor, order, reason, "order_cancelled")


def lock_order(session: Session, order_id: int) -> Order:
    """Lock an order's dealer row, then the order row, and return the order.

    The dealer comes first, as in `place_order`, so that both take their locks in the same
    order.

    Raises:
        NotFoundError: no such order.
    """
    order = session.exec(select(Order).where(Order.id == order_id)).first()
    if order is None:
        raise NotFoundError(f"Order {order_id} not found", order_id=order_id)
    if order.dealer_id is not None:
        session.exec(select(Dealer).where(Dealer.id == order.dealer_id).with_for_update()).first()
    # populate_existing: another transaction may have changed the row while this one
    # waited for the lock, and the copy read above must not win.
    return session.exec(
        select(Order)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def release_order(
    session: Session, actor: Actor, order: Order, reason: str, event_type: str
) -> Order:
    """Cancel a locked order: release stock and exposure, cancel its open stops, write one event.

    The caller has locked the order with `lock_order` and checked that it may be cancelled.
    """
    lines = list(session.exec(select(OrderLine).where(OrderLine.order_id == order.id)))
    inventory.release(
        session, order.warehouse_id, {line.product_id: line.quantity for line in lines}
    )
    if order.channel == Channel.DEALER and order.dealer_id is not None:
        dealer = session.get(Dealer, order.dealer_id)
        dealer.open_orders_cents -= order.total_cents
        session.add(dealer)

    deliveries = session.exec(
        select(Delivery).where(Delivery.order_id == order.id).order_by(col(Delivery.id))
    )
    for delivery in deliveries:
        if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.ASSIGNED):
            record_event(
                session,
                actor,
                "delivery",
                delivery.id,
                "delivery_cancelled",
                from_state=delivery.status,
                to_state=DeliveryStatus.CANCELLED,
                order_id=order.id,
                payload={"reason": reason},
            )
            delivery.status = DeliveryStatus.CANCELLED
            remove_from_route(session, delivery)

    record_event(
        session,
        actor,
        "order",
        order.id,
        event_type,
        from_state=order.status,
        to_state=OrderStatus.CANCELLED,
        order_id=order.id,
        payload={"reason": reason},
    )
    order.status = OrderStatus.CANCELLED
    session.add(order)
    return order

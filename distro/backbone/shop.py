"""The customer's shop: the serving dealer, what it has in stock, the cart check and the orders.

A customer buys from the dealer that serves their area (`Customer.dealer_id`). That dealer
fulfils the order from its own stock location at consumer prices (`catalog.retail_prices`),
so the shop offers only the products that location has available now. Every function takes
the Actor and uses the customer id of the signed-in session, never one sent by the browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from distro.backbone import inventory
from distro.backbone.actors import Actor
from distro.backbone.authz import deny, require_role, scope_orders
from distro.backbone.cart import CartLineCheck
from distro.backbone.catalog import products_by_sku, retail_prices
from distro.backbone.errors import NotFoundError, ValidationError
from distro.backbone.models import Customer, Dealer, Order, Product, Role, Stock
from distro.backbone.orders import LineRequest, collect_lines, line_problem, pack_hint, submit_order
from distro.backbone.tracking import local_today

NO_DEALER_MESSAGE = (
    "No dealer delivers to your address yet, so there is nothing to order. "
    "Check again later, or ask us to add a dealer near you."
)


@dataclass(frozen=True, slots=True)
class ShopProduct:
    """One product the serving dealer has in stock, at the consumer price."""

    sku: str
    name: str
    unit: str
    pack_size: int
    min_order_qty: int
    unit_price_cents: int
    available: int
    """Units on hand minus reserved at the dealer's stock location when read."""


@dataclass(frozen=True, slots=True)
class ShopFront:
    """The shop's offer to the customer now: the serving dealer and its products in stock."""

    customer_name: str
    dealer_name: str
    """The serving dealer's name; empty when no dealer can serve the customer."""
    products: list[ShopProduct]
    closed_reason: str = ""
    """The reason the customer cannot order now (no dealer, or a dealer with no stock); else ""."""


@dataclass(frozen=True, slots=True)
class ShopCartCheck:
    """A customer's cart checked against consumer prices and the dealer's stock."""

    lines: list[CartLineCheck]
    total_cents: int
    problems: list[dict[str, Any]] = field(default_factory=list)
    """Every broken rule of every line, then any rule about the whole cart; each has a `message`."""

    @property
    def ok(self) -> bool:
        """Whether `place_customer_order` would accept the cart in its current state."""
        return not self.problems and bool(self.lines)


def customer_id_of(actor: Actor) -> int:
    """Return the customer id of a customer actor.

    Raises:
        PermissionDeniedError: the actor is not a customer, or its user has no customer record.
    """
    require_role(actor, Role.CUSTOMER, target="the shop")
    if actor.customer_id is None:
        deny(actor, "the shop", "Your sign-in is not linked to a customer; ask support to fix it.")
    return actor.customer_id


def serving_dealer(session: Session, actor: Actor) -> tuple[Customer, Dealer | None]:
    """Return the customer and the active dealer that serves them (None when there is none).

    Raises:
        PermissionDeniedError: the actor is not a customer.
        NotFoundError: the customer record was deleted.
    """
    customer_id = customer_id_of(actor)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFoundError(f"Customer {customer_id} not found", customer_id=customer_id)
    dealer = session.get(Dealer, customer.dealer_id) if customer.dealer_id else None
    if dealer is None or not dealer.active:
        return customer, None
    return customer, dealer


def shop_front(session: Session, actor: Actor) -> ShopFront:
    """Return the serving dealer and the products available at its stock location, by name.

    A product is offered when it is active, has a consumer price and has at least one unit
    available (on hand minus reserved) at the dealer's stock location.

    Raises:
        PermissionDeniedError: the actor is not a customer.
    """
    customer, dealer = serving_dealer(session, actor)
    if dealer is None:
        return ShopFront(customer.name, "", [], NO_DEALER_MESSAGE)
    if dealer.stock_location_id is None:
        return ShopFront(
            customer.name,
            dealer.name,
            [],
            f"{dealer.name} has no stock for home delivery yet. Check again later.",
        )

    rows = session.exec(
        select(Product, Stock.on_hand, Stock.reserved)
        .join(Stock, col(Stock.product_id) == col(Product.id))
        .where(
            Stock.warehouse_id == dealer.stock_location_id,
            col(Product.active).is_(True),
            col(Stock.on_hand) > col(Stock.reserved),
        )
        .order_by(col(Product.name), col(Product.sku))
    ).all()
    prices = retail_prices(session, [product.id for product, _, _ in rows])
    products = [
        ShopProduct(
            sku=product.sku,
            name=product.name,
            unit=product.unit,
            pack_size=product.pack_size,
            min_order_qty=product.min_order_qty,
            unit_price_cents=prices[product.id],
            available=on_hand - reserved,
        )
        for product, on_hand, reserved in rows
        if product.id in prices
    ]
    closed = "" if products else f"{dealer.name} has nothing in stock right now. Check again later."
    return ShopFront(customer.name, dealer.name, products, closed)


def check_cart(session: Session, actor: Actor, lines: Sequence[LineRequest]) -> ShopCartCheck:
    """Check a customer's cart with the rules `place_order` applies, without writing or locking.

    Each line is priced at the consumer price and checked for an unknown SKU, the minimum
    order quantity, the pack size and the stock available at the serving dealer's location.

    Raises:
        PermissionDeniedError: the actor is not a customer.
    """
    _customer, dealer = serving_dealer(session, actor)
    merged, problems = collect_lines(lines)
    products = products_by_sku(session, merged)
    prices = retail_prices(session, [product.id for product in products.values()])
    location_id = dealer.stock_location_id if dealer is not None else None
    stock = (
        inventory.read_stock(session, location_id, [product.id for product in products.values()])
        if location_id is not None
        else {}
    )

    checked: list[CartLineCheck] = []
    for sku, quantity in merged.items():
        product = products.get(sku)
        price = prices.get(product.id) if product is not None else None
        line_problems = []
        rule = line_problem(sku, quantity, product, price)
        if rule is not None:
            line_problems.append(rule)
        if product is None:
            checked.append(CartLineCheck(sku=sku, quantity=quantity, problems=tuple(line_problems)))
            problems.extend(line_problems)
            continue

        free = max(inventory.available(stock.get(product.id)), 0)
        # With no dealer there is no stock to compare, so only the `no_dealer` problem is added.
        if location_id is not None and free < quantity:
            line_problems.append(
                {
                    "sku": sku,
                    "rule": "stock",
                    "available": free,
                    "requested": quantity,
                    "message": f"{sku}: {free} available, {quantity} requested",
                }
            )
        checked.append(
            CartLineCheck(
                sku=sku,
                quantity=quantity,
                name=product.name,
                unit=product.unit,
                pack_size=product.pack_size,
                min_order_qty=product.min_order_qty,
                unit_price_cents=price or 0,
                available=free,
                hint=pack_hint(product, quantity),
                problems=tuple(line_problems),
            )
        )
        problems.extend(line_problems)

    if dealer is None or location_id is None:
        problems.append({"rule": "no_dealer", "message": NO_DEALER_MESSAGE})
    total = sum(line.line_total_cents for line in checked)
    return ShopCartCheck(lines=checked, total_cents=total, problems=problems)


def earliest_delivery_day() -> date:
    """Return the first day a customer may ask for: tomorrow in the network's time zone."""
    return local_today() + timedelta(days=1)


def place_customer_order(
    engine: Engine,
    actor: Actor,
    lines: Sequence[LineRequest],
    delivery_day: date,
    submit_key: str,
) -> Order:
    """Place the signed-in customer's order from their dealer's stock, once per `submit_key`.

    A repeated submit with the same key and lines returns the order placed the first time.
    Keys are scoped to the customer, so one customer's key never reaches another's order.

    Raises:
        PermissionDeniedError: the actor is not a customer.
        ValidationError: no submit key, a delivery day before tomorrow, bad lines, or no
            dealer serving the customer.
        InsufficientStockError: a line exceeds the stock available at the dealer's location.
    """
    customer_id = customer_id_of(actor)
    if not submit_key.strip():
        raise ValidationError("The submit key is empty; reload the page and place the order again.")
    earliest = earliest_delivery_day()
    if delivery_day < earliest:
        raise ValidationError(
            f"Delivery day {delivery_day.isoformat()} is invalid because it is before "
            f"tomorrow; choose {earliest.isoformat()} or later.",
            delivery_day=delivery_day.isoformat(),
        )
    return submit_order(
        engine,
        actor,
        customer_id=customer_id,
        lines=list(lines),
        delivery_day=delivery_day,
        idempotency_key=f"shop-{customer_id}:{submit_key.strip()[:60]}",
    )


def customer_orders(session: Session, actor: Actor, limit: int = 30) -> list[Order]:
    """Return the signed-in customer's orders, newest first.

    Raises:
        PermissionDeniedError: the actor is not a customer.
    """
    customer_id = customer_id_of(actor)
    statement = scope_orders(
        actor,
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(col(Order.id).desc())
        .limit(max(1, min(limit, 200))),
    )
    return list(session.exec(statement))

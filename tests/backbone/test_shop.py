"""The customer's shop: the serving dealer's stock on offer, the cart check, orders and tenancy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from distro.backbone import shop
from distro.backbone.actors import Actor
from distro.backbone.dealer_orders import order_view
from distro.backbone.errors import InsufficientStockError, PermissionDeniedError, ValidationError
from distro.backbone.models import (
    Channel,
    Customer,
    Dealer,
    Delivery,
    Order,
    PriceTier,
    Role,
    Stock,
    TierPrice,
    Warehouse,
)
from distro.backbone.orders import LineRequest
from tests.factories import build_network

RETAIL_SKU_1 = 1200
"""The consumer price of SKU-1: the highest tier price, from the second tier below."""


@dataclass
class ShopWorld:
    """Two customers of dealer 0, one customer with no dealer, and dealer 0's stock location."""

    location_id: int
    dealer_id: int
    customer: Actor
    neighbour: Actor
    unserved: Actor


def build_shop(engine) -> ShopWorld:
    """Dealer 0 keeps 5 of SKU-1 and 12 of SKU-2 (all reserved) at its own location."""
    network = build_network(engine, dealers=2)
    with Session(engine, expire_on_commit=False) as session:
        location = Warehouse(
            code="D-001-SHELF",
            name="Dealer 1 shelf",
            kind="dealer",
            latitude=-22.88,
            longitude=-47.06,
        )
        premium = PriceTier(code="premium", name="Premium")
        session.add_all([location, premium])
        session.flush()
        session.add(
            TierPrice(
                tier_id=premium.id,
                product_id=network.product_ids["SKU-1"],
                unit_price_cents=RETAIL_SKU_1,
            )
        )
        session.add(
            Stock(warehouse_id=location.id, product_id=network.product_ids["SKU-1"], on_hand=5)
        )
        session.add(
            Stock(
                warehouse_id=location.id,
                product_id=network.product_ids["SKU-2"],
                on_hand=12,
                reserved=12,
            )
        )
        dealer = session.get(Dealer, network.dealer_ids[0])
        dealer.stock_location_id = location.id
        session.add(dealer)

        customers = [
            Customer(name="Ana Souza", latitude=-22.89, longitude=-47.05, dealer_id=dealer.id),
            Customer(name="Bruno Lima", latitude=-22.89, longitude=-47.04, dealer_id=dealer.id),
            Customer(name="Carla Dias", latitude=-21.0, longitude=-45.0),
        ]
        session.add_all(customers)
        session.commit()
    actors = [
        Actor(username=f"customer-{c.id}", role=Role.CUSTOMER, customer_id=c.id) for c in customers
    ]
    return ShopWorld(location.id, network.dealer_ids[0], *actors)


def test_shop_front_offers_only_stock_on_hand(engine):
    world = build_shop(engine)
    with Session(engine) as session:
        front = shop.shop_front(session, world.customer)

    assert front.dealer_name == "Dealer 1"
    assert front.customer_name == "Ana Souza"
    assert front.closed_reason == ""
    assert [product.sku for product in front.products] == ["SKU-1"]
    assert front.products[0].available == 5
    assert front.products[0].unit_price_cents == RETAIL_SKU_1


def test_shop_front_without_dealer_says_why(engine):
    world = build_shop(engine)
    with Session(engine) as session:
        front = shop.shop_front(session, world.unserved)
        check = shop.check_cart(session, world.unserved, [LineRequest("SKU-1", 1)])

    assert front.dealer_name == ""
    assert front.products == []
    assert "No dealer delivers to your address" in front.closed_reason
    assert not check.ok
    assert [p["rule"] for p in check.problems] == ["no_dealer"]


def test_shop_front_inactive_dealer_is_no_dealer(engine):
    world = build_shop(engine)
    with Session(engine) as session:
        dealer = session.get(Dealer, world.dealer_id)
        dealer.active = False
        session.add(dealer)
        session.commit()
        front = shop.shop_front(session, world.customer)

    assert front.dealer_name == ""
    assert front.products == []


def test_check_cart_reports_each_line(engine):
    world = build_shop(engine)
    with Session(engine) as session:
        check = shop.check_cart(
            session,
            world.customer,
            [LineRequest("SKU-1", 7), LineRequest("SKU-2", 6), LineRequest("SKU-3", 3)],
        )

    messages = {line.sku: [p["message"] for p in line.problems] for line in check.lines}
    assert not check.ok
    assert messages["SKU-1"] == ["SKU-1: 5 available, 7 requested"]
    assert messages["SKU-2"] == ["SKU-2: 0 available, 6 requested"]
    assert messages["SKU-3"][0] == "SKU-3: minimum order is 10, 3 requested"
    assert check.total_cents == 7 * RETAIL_SKU_1 + 6 * 2500 + 3 * 350


def test_check_cart_valid_line(engine):
    world = build_shop(engine)
    with Session(engine) as session:
        check = shop.check_cart(session, world.customer, [LineRequest("sku-1", 2)])

    assert check.ok
    assert check.total_cents == 2 * RETAIL_SKU_1
    assert check.lines[0].available == 5


def test_place_order_twice_with_one_key_places_one(engine):
    world = build_shop(engine)
    day = shop.earliest_delivery_day()
    lines = [LineRequest("SKU-1", 2)]

    first = shop.place_customer_order(engine, world.customer, lines, day, "key-1")
    second = shop.place_customer_order(engine, world.customer, lines, day, "key-1")

    assert second.id == first.id
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(Order)).one()
        order = session.get(Order, first.id)
        stock = session.exec(select(Stock).where(Stock.warehouse_id == world.location_id)).all()
        stop = session.exec(select(Delivery).where(Delivery.order_id == first.id)).one()
    assert count == 1
    assert order.channel == Channel.CUSTOMER
    assert order.customer_id == world.customer.customer_id
    assert order.dealer_id == world.dealer_id
    assert order.warehouse_id == world.location_id
    assert order.total_cents == 2 * RETAIL_SKU_1
    assert sum(row.reserved for row in stock if row.on_hand == 5) == 2
    assert stop.depot_id == world.location_id


def test_place_order_keys_are_per_customer(engine):
    world = build_shop(engine)
    day = shop.earliest_delivery_day()

    mine = shop.place_customer_order(engine, world.customer, [LineRequest("SKU-1", 1)], day, "k")
    theirs = shop.place_customer_order(engine, world.neighbour, [LineRequest("SKU-1", 1)], day, "k")

    assert mine.id != theirs.id
    assert theirs.customer_id == world.neighbour.customer_id


def test_place_order_rejects_short_stock(engine):
    world = build_shop(engine)
    with pytest.raises(InsufficientStockError) as caught:
        shop.place_customer_order(
            engine, world.customer, [LineRequest("SKU-1", 6)], shop.earliest_delivery_day(), "k"
        )
    assert "SKU-1: 5 available, 6 requested" in caught.value.message


def test_place_order_rejects_today(engine):
    world = build_shop(engine)
    today = shop.earliest_delivery_day() - timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        shop.place_customer_order(engine, world.customer, [LineRequest("SKU-1", 1)], today, "k")
    assert today.isoformat() in caught.value.message


def test_place_order_rejects_unserved_customer(engine):
    world = build_shop(engine)
    with pytest.raises(ValidationError):
        shop.place_customer_order(
            engine, world.unserved, [LineRequest("SKU-1", 1)], shop.earliest_delivery_day(), "k"
        )


@pytest.mark.parametrize("role", [Role.DEALER, Role.DISPATCHER, Role.RIDER])
def test_shop_rejects_other_roles(engine, role):
    world = build_shop(engine)
    actor = Actor(username="other", role=role, dealer_id=world.dealer_id, customer_id=None)
    with Session(engine) as session, pytest.raises(PermissionDeniedError):
        shop.shop_front(session, actor)
    with pytest.raises(PermissionDeniedError):
        shop.place_customer_order(
            engine, actor, [LineRequest("SKU-1", 1)], shop.earliest_delivery_day(), "k"
        )


def test_customer_sees_only_own_orders(engine):
    world = build_shop(engine)
    day = shop.earliest_delivery_day()
    mine = shop.place_customer_order(engine, world.customer, [LineRequest("SKU-1", 1)], day, "a")
    theirs = shop.place_customer_order(engine, world.neighbour, [LineRequest("SKU-1", 1)], day, "b")

    with Session(engine) as session:
        listed = shop.customer_orders(session, world.customer)
        view = order_view(session, world.customer, mine.id)
        with pytest.raises(PermissionDeniedError):
            order_view(session, world.customer, theirs.id)

    assert [order.id for order in listed] == [mine.id]
    assert [step.key for step in view.steps][:2] == ["placed", "confirmed"]

"""The shop's state handlers, called in-process as a customer's browser would call them.

Uses the two-tenant world of the handler matrix. Dealer 1 serves customer0 from the depot,
which starts with 100 units of each product. Dealer 2 serves customer1.
"""

from __future__ import annotations

from sqlmodel import Session, func, select

from distro.backbone import shop
from distro.backbone.models import Customer, Order
from tests.api.conftest import world as world  # the fixture, shared with tests/api
from tests.auth.test_handler_matrix import (
    HandlerWorld,
    call_handler,
    handler_classes,
    new_state,
    state_text,
)
from tests.auth.test_handler_matrix import handler_world as handler_world  # the fixture


def customer_state(handler_world: HandlerWorld, caller: str = "customer0"):
    state = new_state(handler_classes()["ShopState"], handler_world.api.tokens[caller])
    call_handler(state, "load_shop")
    return state


def customer_order_count(handler_world: HandlerWorld, customer_id: int) -> int:
    with Session(handler_world.api.engine) as session:
        return session.exec(
            select(func.count()).select_from(Order).where(Order.customer_id == customer_id)
        ).one()


def test_load_shop_shows_dealer_and_stock(handler_world: HandlerWorld):
    state = customer_state(handler_world)

    assert state.dealer_name == "Dealer 1"
    assert state.customer_name == "Customer 0"
    assert state.closed_reason == ""
    assert [row.sku for row in state.products] == ["SKU-1", "SKU-2", "SKU-3"]
    assert state.delivery_day == shop.earliest_delivery_day().isoformat()
    assert [row.number for row in state.orders] == [handler_world.own.markers[1]]
    text = state_text(state)
    for marker in handler_world.foreign.markers:
        assert marker not in text


def test_load_shop_without_dealer_says_why(handler_world: HandlerWorld):
    with Session(handler_world.api.engine) as session:
        customer = session.get(Customer, handler_world.api.people.customer_ids[0])
        customer.dealer_id = None
        session.add(customer)
        session.commit()

    state = customer_state(handler_world)

    assert state.dealer_name == ""
    assert state.products == []
    assert state.closed_reason.startswith("No dealer delivers to your address yet")


def test_load_shop_redirects_other_roles(handler_world: HandlerWorld):
    state = new_state(handler_classes()["ShopState"], handler_world.api.tokens["dealer0"])

    call_handler(state, "load_shop")

    assert state.products == []
    assert state.dealer_name == ""


def test_add_to_cart_shows_line_problems(handler_world: HandlerWorld):
    state = customer_state(handler_world)

    call_handler(state, "add_to_cart", ({"sku": "SKU-1", "quantity": "150"},))
    call_handler(state, "add_to_cart", ({"sku": "SKU-2", "quantity": "7"},))

    problems = {row.sku: row.problem for row in state.cart_rows}
    # Both tenants' dealer and customer orders reserved 6 of the depot's 100.
    assert problems["SKU-1"] == "Product SKU-1: 94 available, 150 requested"
    assert problems["SKU-2"].startswith("Product SKU-2: sold in packs of 6, 7 requested")
    assert not state.cart_ok


def test_add_to_cart_rejects_bad_quantity(handler_world: HandlerWorld):
    state = customer_state(handler_world)

    call_handler(state, "add_to_cart", ({"sku": "SKU-1", "quantity": "-3"},))

    assert state.cart_items == []
    assert state.notice_kind == "error"
    assert "'-3'" in state.notice


def test_place_order_twice_places_one(handler_world: HandlerWorld):
    customer_id = handler_world.api.people.customer_ids[0]
    state = customer_state(handler_world)
    call_handler(state, "add_to_cart", ({"sku": "SKU-1", "quantity": "3"},))
    assert state.cart_ok
    before = customer_order_count(handler_world, customer_id)

    call_handler(state, "place_order")
    number = state.placed_number
    call_handler(state, "place_order")

    assert customer_order_count(handler_world, customer_id) == before + 1
    assert number.startswith("SO-")
    assert state.notice_kind == "success"
    assert f"Order {number} confirmed" in state.notice
    assert state.selected_number == number
    assert state.cart_items == []
    assert state.orders[0].number == number


def test_place_order_same_key_after_retry_places_one(handler_world: HandlerWorld):
    """A submit whose response was lost is sent again with the same key and cart."""
    customer_id = handler_world.api.people.customer_ids[0]
    state = customer_state(handler_world)
    call_handler(state, "add_to_cart", ({"sku": "SKU-1", "quantity": "2"},))
    key, items = state.submit_key, list(state.cart_items)
    before = customer_order_count(handler_world, customer_id)

    call_handler(state, "place_order")
    state.submit_key, state.cart_items = key, items
    call_handler(state, "place_order")

    assert customer_order_count(handler_world, customer_id) == before + 1


def test_set_delivery_day_keeps_tomorrow_or_later(handler_world: HandlerWorld):
    state = customer_state(handler_world)

    call_handler(state, "set_delivery_day", ("2001-01-01",))

    assert state.delivery_day == shop.earliest_delivery_day().isoformat()

"""validate_cart: the rules of place_order, checked without writing, with every problem listed."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from distro.backbone.actors import Actor
from distro.backbone.cart import validate_cart
from distro.backbone.errors import PermissionDeniedError, ValidationError
from distro.backbone.models import Dealer, Order, Role, Stock
from distro.backbone.orders import LineRequest, submit_order
from tests.factories import DAY, build_network


def dealer_actor(dealer_id: int) -> Actor:
    return Actor(username="desk", role=Role.DEALER, dealer_id=dealer_id)


def rules_of(check) -> list[str]:
    return [problem["rule"] for problem in check.problems]


def test_validate_cart_prices_valid_lines(engine):
    """A valid cart is priced at the tier, shows stock and credit, and writes nothing."""
    network = build_network(engine)
    actor = dealer_actor(network.dealer_ids[0])
    with Session(engine) as session:
        check = validate_cart(session, actor, [LineRequest("sku-1", 4), LineRequest("SKU-2", 12)])
        orders = session.exec(select(func.count()).select_from(Order)).one()

    assert check.ok
    assert check.total_cents == 4 * 1000 + 12 * 2500
    assert [line.sku for line in check.lines] == ["SKU-1", "SKU-2"]
    assert check.lines[1].unit_price_cents == 2500
    assert check.lines[1].line_total_cents == 30_000
    assert check.lines[0].available == 100
    assert check.available_credit_cents == 1_000_000
    assert check.credit_after_cents == 1_000_000 - 34_000
    assert orders == 0


def test_validate_cart_lists_every_problem(engine):
    """Stock, pack, minimum and unknown SKU problems are all reported, each with its numbers."""
    network = build_network(engine, stock=12)
    actor = dealer_actor(network.dealer_ids[0])
    with Session(engine) as session:
        check = validate_cart(
            session,
            actor,
            [
                LineRequest("SKU-1", 20),
                LineRequest("SKU-2", 7),
                LineRequest("SKU-3", 5),
                LineRequest("SKU-404", 1),
            ],
        )

    messages = [problem["message"] for problem in check.problems]
    assert not check.ok
    assert "SKU-1: 12 available, 20 requested" in messages
    assert "SKU-2: sold in packs of 6, 7 requested; order 12 or 6" in messages
    assert "SKU-3: minimum order is 10, 5 requested" in messages
    assert "SKU-404: no such product in the catalog" in messages
    assert check.lines[1].hint == "order 12 or 6"


def test_validate_cart_counts_reservations(engine):
    """Stock reserved by another order is not available to the cart."""
    network = build_network(engine, stock=10)
    actor = dealer_actor(network.dealer_ids[0])
    submit_order(
        engine,
        dealer_actor(network.dealer_ids[1]),
        dealer_id=network.dealer_ids[1],
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 7)],
    )
    with Session(engine) as session:
        check = validate_cart(session, actor, [LineRequest("SKU-1", 5)])

    assert check.lines[0].available == 3
    assert rules_of(check) == ["stock"]
    assert check.problems[0]["message"] == "SKU-1: 3 available, 5 requested"


def test_validate_cart_credit_limit(engine):
    """A cart above the credit left reports the credit rule; the figures include open orders."""
    network = build_network(engine, credit_limit_cents=10_000)
    actor = dealer_actor(network.dealer_ids[0])
    submit_order(
        engine,
        actor,
        dealer_id=network.dealer_ids[0],
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 4)],
    )
    with Session(engine) as session:
        check = validate_cart(session, actor, [LineRequest("SKU-1", 7)])

    assert check.exposure_cents == 4_000
    assert check.available_credit_cents == 6_000
    assert check.credit_after_cents == -1_000
    assert check.over_credit
    assert rules_of(check) == ["credit_limit"]


def test_validate_cart_agrees_with_place_order(engine):
    """A cart the check rejects for stock is rejected by submit_order with the same numbers."""
    network = build_network(engine, stock=12)
    actor = dealer_actor(network.dealer_ids[0])
    lines = [LineRequest("SKU-1", 20)]
    with Session(engine) as session:
        check = validate_cart(session, actor, lines)

    with pytest.raises(Exception) as caught:
        submit_order(engine, actor, dealer_id=network.dealer_ids[0], delivery_day=DAY, lines=lines)
    assert check.problems[0]["message"] in caught.value.message


def test_validate_cart_uses_actor_dealer(engine):
    """Dealer staff always check their own dealer; another dealer's id is denied."""
    network = build_network(engine)
    actor = dealer_actor(network.dealer_ids[0])
    with Session(engine) as session:
        check = validate_cart(session, actor, [LineRequest("SKU-1", 1)])
        with pytest.raises(PermissionDeniedError):
            validate_cart(
                session, actor, [LineRequest("SKU-1", 1)], dealer_id=network.dealer_ids[1]
            )

    assert check.dealer_id == network.dealer_ids[0]


def test_validate_cart_operations_need_dealer(engine):
    """Operations staff must name the dealer they order for."""
    network = build_network(engine)
    actor = Actor(username="ops", role=Role.DISPATCHER)
    with Session(engine) as session:
        with pytest.raises(ValidationError):
            validate_cart(session, actor, [LineRequest("SKU-1", 1)])
        check = validate_cart(
            session, actor, [LineRequest("SKU-1", 1)], dealer_id=network.dealer_ids[2]
        )
        dealer = session.get(Dealer, network.dealer_ids[2])

    assert check.dealer_code == dealer.code


def test_validate_cart_reports_bad_quantity(engine):
    """A zero quantity is a problem of that line, not an exception."""
    network = build_network(engine)
    actor = dealer_actor(network.dealer_ids[0])
    with Session(engine) as session:
        check = validate_cart(session, actor, [LineRequest("SKU-1", 0), LineRequest("SKU-3", 10)])
        stock = session.exec(select(Stock)).all()

    assert rules_of(check) == ["quantity"]
    assert [line.sku for line in check.lines] == ["SKU-3"]
    assert all(row.reserved == 0 for row in stock)

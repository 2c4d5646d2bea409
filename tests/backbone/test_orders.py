"""Order placement rules on SQLite and PostgreSQL: prices, packs, stock, credit, idempotency."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from distro.backbone.actors import Actor
from distro.backbone.errors import (
    CreditLimitExceededError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidTransitionError,
    ValidationError,
)
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    Event,
    Order,
    OrderLine,
    OrderStatus,
    Role,
    Stock,
)
from distro.backbone.orders import LineRequest, cancel_order, place_order, submit_order
from tests.factories import DAY, build_network

DEALER_ACTOR = Actor(username="desk", role=Role.DEALER)


def stock_of(engine, product_id: int) -> Stock:
    with Session(engine) as session:
        return session.exec(select(Stock).where(Stock.product_id == product_id)).one()


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def test_place_order_reserves_stock_and_writes_event(engine):
    """A valid order is confirmed at tier prices, reserves stock, raises exposure and logs one event."""
    network = build_network(engine)
    with Session(engine, expire_on_commit=False) as session:
        order = place_order(
            session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
            lines=[LineRequest("sku-1", 4), LineRequest("SKU-2", 12)],
        )
        session.commit()

    assert order.status == OrderStatus.CONFIRMED
    assert order.number == f"SO-{order.id:07d}"
    assert order.total_cents == 4 * 1000 + 12 * 2500
    assert order.weight_kg == pytest.approx(4 * 2.0 + 12 * 5.0)
    assert stock_of(engine, network.product_ids["SKU-1"]).reserved == 4
    assert stock_of(engine, network.product_ids["SKU-2"]).reserved == 12
    with Session(engine) as session:
        dealer = session.get(Dealer, network.dealer_ids[0])
        events = session.exec(select(Event).where(Event.order_id == order.id)).all()
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
    assert dealer.open_orders_cents == order.total_cents
    assert [e.event_type for e in events] == ["order_placed", "delivery_created"]
    assert events[0].actor == "desk"
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.demand_kg == 68
    assert delivery.demand_units == 16


def test_place_order_merges_repeated_sku(engine):
    """Two lines with the same SKU become one order line with the summed quantity."""
    network = build_network(engine)
    with Session(engine, expire_on_commit=False) as session:
        order = place_order(
            session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
            lines=[LineRequest("SKU-1", 3), LineRequest("SKU-1", 2)],
        )
        session.commit()
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert len(lines) == 1
    assert lines[0].quantity == 5


def test_place_order_short_stock_names_numbers(engine):
    """Asking for more than is available fails with SKU, available and requested, and writes nothing."""
    network = build_network(engine, stock=12)
    with Session(engine) as session, pytest.raises(InsufficientStockError) as caught:
        place_order(session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
                    lines=[LineRequest("SKU-1", 20)])
    assert "SKU-1: 12 available, 20 requested" in caught.value.message
    assert caught.value.details["lines"] == [{"sku": "SKU-1", "available": 12, "requested": 20}]
    assert count(engine, Order) == 0
    assert stock_of(engine, network.product_ids["SKU-1"]).reserved == 0


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        ([LineRequest("SKU-2", 7)], "SKU-2: sold in packs of 6, 7 requested; order 12 or 6"),
        ([LineRequest("SKU-3", 5)], "SKU-3: minimum order is 10, 5 requested"),
        ([LineRequest("SKU-404", 1)], "SKU-404: no such product"),
        ([LineRequest("SKU-1", 0)], "SKU-1: quantity 0 must be a whole number above 0"),
        ([], "no lines"),
    ],
)
def test_place_order_rejects_rule_breaks(sqlite_engine, lines, fragment):
    """Each catalog rule is checked and its message names the SKU and the numbers."""
    network = build_network(sqlite_engine)
    with Session(sqlite_engine) as session, pytest.raises(ValidationError) as caught:
        place_order(session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY, lines=lines)
    assert fragment in caught.value.message


def test_place_order_credit_limit(engine):
    """An order above the available credit is rejected with the amounts; a hold is allowed on request."""
    network = build_network(engine, credit_limit_cents=5_000)
    with Session(engine) as session, pytest.raises(CreditLimitExceededError) as caught:
        place_order(session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
                    lines=[LineRequest("SKU-1", 6)])
    assert caught.value.details["available_cents"] == 5_000
    assert caught.value.details["order_total_cents"] == 6_000
    assert caught.value.message.startswith(
        "The order total 60.00 is more than the 50.00 of credit left to "
    )

    with Session(engine, expire_on_commit=False) as session:
        held = place_order(session, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
                           lines=[LineRequest("SKU-1", 6)], allow_credit_hold=True)
        session.commit()
    assert held.status == OrderStatus.CREDIT_HOLD
    assert count(engine, Delivery) == 0


def test_submit_order_idempotency_key(engine):
    """The same key and body return the same order; the same key with another body is rejected."""
    network = build_network(engine)
    request = dict(dealer_id=network.dealer_ids[0], delivery_day=DAY,
                   lines=[LineRequest("SKU-1", 2)], idempotency_key="key-1")
    first = submit_order(engine, DEALER_ACTOR, **request)
    second = submit_order(engine, DEALER_ACTOR, **request)
    assert first.id == second.id
    assert count(engine, Order) == 1
    assert stock_of(engine, network.product_ids["SKU-1"]).reserved == 2

    with pytest.raises(IdempotencyConflictError):
        submit_order(engine, DEALER_ACTOR, **{**request, "lines": [LineRequest("SKU-1", 3)]})


def test_cancel_order_releases_everything(engine):
    """Cancelling frees the reservation and the exposure and cancels the pending stop."""
    network = build_network(engine)
    order = submit_order(engine, DEALER_ACTOR, dealer_id=network.dealer_ids[0], delivery_day=DAY,
                         lines=[LineRequest("SKU-1", 5)])
    with Session(engine) as session:
        cancel_order(session, DEALER_ACTOR, order.id, "dealer changed their mind")
        session.commit()
    with Session(engine) as session:
        dealer = session.get(Dealer, network.dealer_ids[0])
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order.id)).one()
        stored = session.get(Order, order.id)
    assert stock_of(engine, network.product_ids["SKU-1"]).reserved == 0
    assert dealer.open_orders_cents == 0
    assert delivery.status == DeliveryStatus.CANCELLED
    assert stored.status == OrderStatus.CANCELLED

    with Session(engine) as session, pytest.raises(InvalidTransitionError):
        cancel_order(session, DEALER_ACTOR, order.id, "twice")


def test_locks_refresh_held_rows(engine):
    """Orders write stock and exposure with plain UPDATEs; rows the session held stay right.

    The session reads the stock row and the dealer first, places two orders and cancels one,
    all in one transaction. Each lock re-reads its row, so the second order, the cancel and
    the figures read afterwards in the same session all see the units and cents written.
    """
    network = build_network(engine)
    sku_id = network.product_ids["SKU-1"]
    dealer_id = network.dealer_ids[0]
    with Session(engine) as session:
        held_stock = session.exec(select(Stock).where(Stock.product_id == sku_id)).one()
        held_dealer = session.get(Dealer, dealer_id)
        on_hand = held_stock.on_hand

        first = place_order(session, DEALER_ACTOR, dealer_id=dealer_id, delivery_day=DAY,
                            lines=[LineRequest("SKU-1", 4)])
        place_order(session, DEALER_ACTOR, dealer_id=dealer_id, delivery_day=DAY,
                    lines=[LineRequest("SKU-1", 6)])
        assert held_dealer.open_orders_cents == 10 * 1000

        cancel_order(session, DEALER_ACTOR, first.id, "typed twice")
        assert held_stock.reserved == 6
        assert held_dealer.open_orders_cents == 6 * 1000

        with pytest.raises(InsufficientStockError) as raised:
            place_order(session, DEALER_ACTOR, dealer_id=dealer_id, delivery_day=DAY,
                        lines=[LineRequest("SKU-1", on_hand - 5)])
        assert raised.value.details["lines"] == [
            {"sku": "SKU-1", "available": on_hand - 6, "requested": on_hand - 5}
        ]
        session.rollback()

    assert stock_of(engine, sku_id).reserved == 0
    assert count(engine, Order) == 0


def test_same_session_order_rows_are_complete(engine):
    """The order, its lines, its event and its stop written by place_order are all readable."""
    network = build_network(engine)
    with Session(engine) as session:
        order = place_order(session, DEALER_ACTOR, dealer_id=network.dealer_ids[0],
                            delivery_day=DAY, lines=[LineRequest("SKU-1", 2), LineRequest("SKU-2", 6)])
        assert session.get(Order, order.id) is order
        lines = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        assert sorted((line.quantity, line.line_total_cents) for line in lines) == [
            (2, 2 * 1000), (6, 6 * 2500)
        ]
        order_id = order.id
        session.commit()
    with Session(engine) as session:
        stored = session.get(Order, order_id)
        assert stored.number == f"SO-{order_id:07d}"
        assert stored.total_cents == 2 * 1000 + 6 * 2500
        placed = session.exec(select(Event).where(Event.event_type == "order_placed")).one()
        assert placed.payload["lines"] == [["SKU-1", 2], ["SKU-2", 6]]
        assert placed.at is not None

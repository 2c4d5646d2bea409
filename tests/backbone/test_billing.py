"""Invoices raised on delivery, payments, the account summary, the statement and credit holds."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.billing import account_summary, record_payment, statement_csv
from distro.backbone.credit import approve_credit_hold, list_credit_holds, reject_credit_hold
from distro.backbone.dealer_orders import build_timeline, order_view, reorder_lines
from distro.backbone.delivery import apply_transition
from distro.backbone.errors import (
    InvalidTransitionError,
    PermissionDeniedError,
    ValidationError,
)
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    Event,
    Invoice,
    Order,
    OrderStatus,
    Role,
    Route,
    Stock,
)
from distro.backbone.orders import LineRequest, place_order, submit_order
from distro.settings import reset_settings
from tests.factories import DAY, build_network

DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
MANAGER = Actor(username="boss", role=Role.MANAGER)


@pytest.fixture(autouse=True)
def billing_settings(monkeypatch):
    monkeypatch.setenv("DISTRO_PAYMENT_TERMS_DAYS", "30")
    monkeypatch.setenv("DISTRO_PROOF_REQUIRED", "")
    reset_settings()
    yield
    reset_settings()


def dealer_actor(dealer_id: int) -> Actor:
    return Actor(username="desk", role=Role.DEALER, dealer_id=dealer_id)


def deliver(engine, network, order_id: int) -> None:
    """Plan and publish the day, then let the stop's rider deliver it."""
    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=0.5, engine=engine)
    with Session(engine) as session:
        ff.publish_plan(session, DISPATCHER, plan_id)
        session.commit()
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order_id)).one()
        route = session.get(Route, delivery.route_id)
    rider = Actor(username="rider", role=Role.RIDER, rider_id=route.rider_id)
    for target in (
        DeliveryStatus.OUT_FOR_DELIVERY,
        DeliveryStatus.ARRIVED,
        DeliveryStatus.DELIVERED,
    ):
        with Session(engine) as session:
            apply_transition(session, rider, delivery.id, target)
            session.commit()


def test_delivered_order_raises_invoice(engine):
    """Delivery moves the total to unpaid and raises one invoice due after the payment terms."""
    network = build_network(engine)
    dealer_id = network.dealer_ids[0]
    order = submit_order(
        engine,
        dealer_actor(dealer_id),
        dealer_id=dealer_id,
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 3)],
    )
    deliver(engine, network, order.id)

    with Session(engine) as session:
        invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
        dealer = session.get(Dealer, dealer_id)
    assert invoice.amount_cents == 3_000
    assert invoice.number == f"INV-{order.id:07d}"
    assert (invoice.due_at - invoice.issued_at).days == 30
    assert dealer.unpaid_cents == 3_000
    assert dealer.open_orders_cents == 0


def test_timeline_follows_delivery(engine):
    """The timeline lists placed, confirmed, planned, out, arrived and delivered, in order."""
    network = build_network(engine)
    dealer_id = network.dealer_ids[0]
    actor = dealer_actor(dealer_id)
    order = submit_order(
        engine, actor, dealer_id=dealer_id, delivery_day=DAY, lines=[LineRequest("SKU-1", 3)]
    )
    with Session(engine) as session:
        before = order_view(session, actor, order.id)
    deliver(engine, network, order.id)
    with Session(engine) as session:
        after = order_view(session, actor, order.id)

    assert [(step.key, step.at is not None) for step in before.steps] == [
        ("placed", True),
        ("confirmed", True),
        ("planned", False),
        ("out_for_delivery", False),
        ("arrived", False),
        ("delivered", False),
    ]
    assert [step.key for step in after.steps] == [
        "placed",
        "confirmed",
        "planned",
        "out_for_delivery",
        "arrived",
        "delivered",
    ]
    assert all(step.at is not None for step in after.steps)
    assert after.steps[2].eta is not None
    assert after.last_event_id > before.last_event_id


def test_record_payment_settles_oldest_invoice(engine):
    """A payment lowers the unpaid balance, marks the invoice paid and appears on the statement."""
    network = build_network(engine)
    dealer_id = network.dealer_ids[0]
    order = submit_order(
        engine,
        dealer_actor(dealer_id),
        dealer_id=dealer_id,
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 3)],
    )
    deliver(engine, network, order.id)

    with Session(engine) as session:
        record_payment(session, DISPATCHER, dealer_id, 1_000, "TRF 778")
        session.commit()
    with Session(engine) as session:
        summary = account_summary(session, dealer_actor(dealer_id), dealer_id)
        invoice = session.exec(select(Invoice).where(Invoice.order_id == order.id)).one()
        event = session.exec(select(Event).where(Event.event_type == "payment_recorded")).one()
        text = statement_csv(session, dealer_actor(dealer_id), dealer_id)

    rows = list(csv.reader(io.StringIO(text)))
    assert summary.unpaid_cents == 2_000
    assert summary.available_credit_cents == 1_000_000 - 2_000
    assert invoice.paid_cents == 1_000
    assert event.payload["invoices"] == [invoice.number]
    assert rows[0] == ["date", "type", "reference", "order", "debit", "credit", "balance"]
    assert rows[1][1:] == ["invoice", invoice.number, order.number, "30.00", "", "30.00"]
    assert rows[2][1:] == ["payment", "TRF 778", "", "", "10.00", "20.00"]


def test_record_payment_rules(engine):
    """Only operations record payments, at most the unpaid balance, always with a reference."""
    network = build_network(engine)
    dealer_id = network.dealer_ids[0]
    with Session(engine) as session:
        dealer = session.get(Dealer, dealer_id)
        dealer.unpaid_cents = 5_000
        session.add(dealer)
        session.commit()

    with Session(engine) as session:
        with pytest.raises(PermissionDeniedError):
            record_payment(session, dealer_actor(dealer_id), dealer_id, 1_000, "TRF 1")
        with pytest.raises(ValidationError, match=r"exceeds the unpaid balance 50\.00"):
            record_payment(session, DISPATCHER, dealer_id, 6_000, "TRF 1")
        with pytest.raises(ValidationError, match="reference"):
            record_payment(session, DISPATCHER, dealer_id, 1_000, "  ")
        with pytest.raises(ValidationError, match="positive"):
            record_payment(session, DISPATCHER, dealer_id, 0, "TRF 1")


def test_account_summary_of_another_dealer_denied(engine):
    network = build_network(engine)
    with Session(engine) as session, pytest.raises(PermissionDeniedError):
        account_summary(session, dealer_actor(network.dealer_ids[0]), network.dealer_ids[1])


def place_held_order(engine, network) -> int:
    with Session(engine, expire_on_commit=False) as session:
        order = place_order(
            session,
            DISPATCHER,
            dealer_id=network.dealer_ids[0],
            delivery_day=DAY,
            lines=[LineRequest("SKU-1", 6)],
            allow_credit_hold=True,
            entered_by=DISPATCHER.username,
        )
        session.commit()
    assert order.status == OrderStatus.CREDIT_HOLD
    return order.id


def test_approve_credit_hold_enqueues_delivery(engine):
    network = build_network(engine, credit_limit_cents=5_000)
    order_id = place_held_order(engine, network)
    with Session(engine) as session:
        holds = list_credit_holds(session, DISPATCHER)
        with pytest.raises(PermissionDeniedError):
            approve_credit_hold(session, DISPATCHER, order_id)
    with Session(engine, expire_on_commit=False) as session:
        order = approve_credit_hold(session, MANAGER, order_id)
        session.commit()
    with Session(engine) as session:
        delivery = session.exec(select(Delivery).where(Delivery.order_id == order_id)).one()
        events = session.exec(
            select(Event.event_type).where(Event.order_id == order_id).order_by(col(Event.id))
        ).all()
        dealer = session.get(Dealer, network.dealer_ids[0])

    assert [hold.order_id for hold in holds] == [order_id]
    assert order.status == OrderStatus.CONFIRMED
    assert delivery.status == DeliveryStatus.PENDING
    assert events == ["order_placed", "order_credit_approved", "delivery_created"]
    assert dealer.open_orders_cents == 6_000


def test_reject_credit_hold_releases_stock_and_exposure(engine):
    network = build_network(engine, credit_limit_cents=5_000)
    order_id = place_held_order(engine, network)
    with Session(engine, expire_on_commit=False) as session:
        with pytest.raises(ValidationError):
            reject_credit_hold(session, MANAGER, order_id, " ")
        order = reject_credit_hold(session, MANAGER, order_id, "Pay the March invoice first")
        session.commit()
    with Session(engine) as session:
        dealer = session.get(Dealer, network.dealer_ids[0])
        stock = session.exec(
            select(Stock).where(Stock.product_id == network.product_ids["SKU-1"])
        ).one()
        with pytest.raises(InvalidTransitionError):
            approve_credit_hold(session, MANAGER, order_id)
        view = order_view(session, MANAGER, order_id)

    assert order.status == OrderStatus.CANCELLED
    assert dealer.open_orders_cents == 0
    assert stock.reserved == 0
    assert view.steps[-1].key == "cancelled"
    assert view.steps[-1].detail == "Pay the March invoice first"


def test_reorder_lines_copies_past_order(engine):
    network = build_network(engine)
    dealer_id = network.dealer_ids[0]
    actor = dealer_actor(dealer_id)
    order = submit_order(
        engine,
        actor,
        dealer_id=dealer_id,
        delivery_day=DAY,
        lines=[LineRequest("SKU-1", 3), LineRequest("SKU-2", 12)],
    )
    with Session(engine) as session:
        _, lines = reorder_lines(session, actor, order.id)
        with pytest.raises(PermissionDeniedError):
            reorder_lines(session, dealer_actor(network.dealer_ids[1]), order.id)

    assert lines == [LineRequest("SKU-1", 3), LineRequest("SKU-2", 12)]


def timeline_event(event_type: str, to_state: str | None = None, **payload) -> Event:
    return Event(
        actor="x",
        role="rider",
        entity="delivery",
        entity_id=1,
        event_type=event_type,
        to_state=to_state,
        payload=payload,
        at=datetime(2026, 12, 7, 12, 0, tzinfo=UTC),
    )


def test_timeline_failed_then_rescheduled():
    """A failed attempt shows its reason; after a reschedule the remaining steps come again."""
    order = Order(
        number="SO-1",
        channel="dealer",
        status=OrderStatus.CONFIRMED,
        warehouse_id=1,
        delivery_day=DAY,
    )
    events = [
        timeline_event("order_placed", OrderStatus.CONFIRMED),
        timeline_event("order_planned"),
        timeline_event("delivery_out_for_delivery"),
        timeline_event("delivery_failed", reason_code="closed", note="Shop shut"),
        timeline_event("delivery_rescheduled"),
    ]
    steps = build_timeline(order, events, None, [])

    keys = [(step.key, step.at is not None) for step in steps]
    assert keys == [
        ("placed", True),
        ("confirmed", True),
        ("planned", True),
        ("out_for_delivery", True),
        ("failed", True),
        ("rescheduled", True),
        ("planned", False),
        ("out_for_delivery", False),
        ("arrived", False),
        ("delivered", False),
    ]
    assert steps[4].detail == "closed: Shop shut"


def test_timeline_final_failure_has_no_next_steps():
    order = Order(
        number="SO-2", channel="dealer", status=OrderStatus.FAILED, warehouse_id=1, delivery_day=DAY
    )
    events = [
        timeline_event("order_placed", OrderStatus.CONFIRMED),
        timeline_event("delivery_failed", reason_code="refused"),
    ]
    steps = build_timeline(order, events, None, [])

    assert steps[-1].key == "failed"
    assert steps[-1].detail == "refused"

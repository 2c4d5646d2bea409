"""The demo network: counts, consistency of stock, exposure and invoices, determinism, command."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, func, select

from distro.backbone import billing, kpis
from distro.backbone.actors import Actor
from distro.backbone.errors import ValidationError
from distro.backbone.kpis import Dimension, KpiFilter
from distro.backbone.models import (
    Customer,
    Dealer,
    Delivery,
    Event,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    PriceTier,
    Product,
    Rider,
    Role,
    Shift,
    Stock,
    TierPrice,
    Vehicle,
    Warehouse,
)
from distro.commands.demo import demo
from distro.db import make_engine, reset_engine, upgrade_database
from distro.demo import generate_demo
from distro.demo.generator import RADIUS_KM
from distro.demo.towns import haversine_km
from distro.settings import get_settings, reset_settings

DAY = date(2026, 3, 2)
MANAGER = Actor(username="manager", role=Role.MANAGER)


def _new_engine(directory, name="t.db"):
    url = f"sqlite:///{directory}/{name}"
    upgrade_database(url)
    return make_engine(url)


@pytest.fixture
def engine(tmp_path):
    engine = _new_engine(tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """One demo database shared by the read-only tests of this module."""
    engine = _new_engine(tmp_path_factory.mktemp("demo"))
    summary = generate_demo(engine, seed=7, day=DAY)
    yield engine, summary
    engine.dispose()


def _count(session, model, *where):
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _signature(engine):
    """Rows that must not change between two builds with the same seed (timestamps excluded)."""
    with Session(engine) as session:
        dealers = [
            (
                d.code,
                d.name,
                d.town,
                d.latitude,
                d.longitude,
                d.tier_id,
                d.credit_limit_cents,
                d.unpaid_cents,
                d.receiving_open_min,
                d.receiving_close_min,
                d.territory,
                d.phone,
                d.address,
            )
            for d in session.exec(select(Dealer).order_by(col(Dealer.id)))
        ]
        products = [
            (p.sku, p.name, p.weight_kg, p.pack_size, p.min_order_qty)
            for p in session.exec(select(Product).order_by(col(Product.id)))
        ]
        orders = [
            (o.number, o.dealer_id, o.total_cents, o.units, o.window_start_min, o.window_end_min)
            for o in session.exec(select(Order).order_by(col(Order.id)))
        ]
        lines = [
            (line.order_id, line.product_id, line.quantity, line.unit_price_cents)
            for line in session.exec(select(OrderLine).order_by(col(OrderLine.id)))
        ]
        customers = [
            (c.name, c.latitude, c.longitude, c.dealer_id)
            for c in session.exec(select(Customer).order_by(col(Customer.id)))
        ]
        stock = [
            (s.warehouse_id, s.product_id, s.on_hand, s.reserved)
            for s in session.exec(select(Stock).order_by(col(Stock.id)))
        ]
        invoices = [
            (i.number, i.dealer_id, i.order_id, i.amount_cents, i.issued_at, i.due_at)
            for i in session.exec(select(Invoice).order_by(col(Invoice.id)))
        ]
    return dealers, products, orders, lines, customers, stock, invoices


def test_demo_counts(demo_db):
    engine, summary = demo_db
    with Session(engine) as session:
        assert _count(session, Dealer) >= 150
        assert _count(session, Product) >= 30
        assert _count(session, PriceTier) == 3
        assert _count(session, TierPrice) == 3 * _count(session, Product)
        assert _count(session, Rider) >= 12
        assert _count(session, Shift, Shift.day == DAY) == _count(session, Rider)
        assert _count(session, Order, Order.status == OrderStatus.CONFIRMED) >= 300
        assert _count(session, Order, Order.delivery_day == DAY) == _count(
            session, Order, Order.status == OrderStatus.CONFIRMED
        )
        assert _count(session, Delivery) == _count(session, Order, Order.delivery_day == DAY)
        # Every order before the demo day is delivered and invoiced.
        assert _count(session, Order, Order.delivery_day < DAY) == _count(session, Invoice)
        assert _count(session, Order, Order.status == OrderStatus.DELIVERED) == _count(
            session, Invoice
        )
    assert summary.orders == summary.deliveries
    assert summary.towns >= 40


def test_demo_every_order_has_one_stop(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        per_order = Counter(session.exec(select(Delivery.order_id)).all())
        order_ids = session.exec(select(Order.id).where(Order.delivery_day == DAY)).all()
    assert set(per_order) == set(order_ids)
    assert set(per_order.values()) == {1}


def test_demo_reserved_stock_equals_order_lines(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        depot = session.exec(select(Warehouse).where(Warehouse.kind == "plant")).one()
        ordered = dict(
            session.exec(
                select(OrderLine.product_id, func.sum(OrderLine.quantity))
                .join(Order, col(Order.id) == col(OrderLine.order_id))
                .where(Order.status == OrderStatus.CONFIRMED)
                .group_by(OrderLine.product_id)
            ).all()
        )
        stock = session.exec(select(Stock).where(Stock.warehouse_id == depot.id)).all()
    assert {row.product_id: row.reserved for row in stock if row.reserved} == ordered
    assert all(row.on_hand >= row.reserved for row in stock)


def test_demo_exposure_equals_order_totals(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        totals = dict(
            session.exec(
                select(Order.dealer_id, func.sum(Order.total_cents))
                .where(Order.status == OrderStatus.CONFIRMED)
                .group_by(Order.dealer_id)
            ).all()
        )
        dealers = session.exec(select(Dealer)).all()
    for dealer in dealers:
        assert dealer.open_orders_cents == totals.get(dealer.id, 0), dealer.code
        assert dealer.unpaid_cents + dealer.open_orders_cents <= dealer.credit_limit_cents, (
            dealer.code
        )


def test_demo_events_match_orders_and_stops(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        placed = _count(session, Event, Event.event_type == "order_placed")
        created = _count(session, Event, Event.event_type == "delivery_created")
        assert placed == _count(session, Order, Order.delivery_day == DAY)
        assert created == _count(session, Delivery)


def test_demo_unpaid_equals_open_invoices(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        open_cents = dict(
            session.exec(
                select(
                    Invoice.dealer_id,
                    func.sum(col(Invoice.amount_cents) - col(Invoice.paid_cents)),
                ).group_by(Invoice.dealer_id)
            ).all()
        )
        dealers = session.exec(select(Dealer)).all()
    for dealer in dealers:
        assert dealer.unpaid_cents == open_cents.get(dealer.id, 0), dealer.code
    assert sum(1 for dealer in dealers if dealer.unpaid_cents) >= len(dealers) // 2


def test_demo_invoices_due_after_terms(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        invoices = session.exec(select(Invoice)).all()
        orders = {order.id: order for order in session.exec(select(Order))}
    terms = get_settings().payment_terms_days
    demo_day = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    # SQLite may return naive datetimes; the database stores UTC.
    due = [invoice.due_at.replace(tzinfo=UTC) for invoice in invoices]
    overdue_on_demo_day = sum(1 for due_at in due if due_at < demo_day)
    assert 0 < overdue_on_demo_day < len(invoices)
    for invoice in invoices:
        order = orders[invoice.order_id]
        assert invoice.number == billing.invoice_number(order)
        assert invoice.dealer_id == order.dealer_id
        assert invoice.amount_cents == order.total_cents
        assert (invoice.due_at - invoice.issued_at).days == terms
        assert invoice.issued_at.date() < DAY


def test_demo_statement_and_kpi_agree_with_account(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        dealers = session.exec(select(Dealer).where(col(Dealer.unpaid_cents) > 0)).all()
        rows = kpis.credit_exposure(
            session, KpiFilter(start=DAY, end=DAY), by=Dimension.DEALER, limit=1000
        )
        kpi_overdue = {row["key"]: row["overdue_cents"] for row in rows}
        for dealer in dealers[:20]:
            summary = billing.account_summary(session, MANAGER, dealer.id)
            entries = billing.statement_entries(session, MANAGER, dealer.id)
            assert entries[-1].balance_cents == dealer.unpaid_cents, dealer.code
            assert kpi_overdue[dealer.id] == summary.overdue_cents, dealer.code
        overdue_total = sum(kpi_overdue.values())
    assert overdue_total > 0


def test_demo_fleet_capacity_above_demand(demo_db):
    engine, summary = demo_db
    with Session(engine) as session:
        largest_kg = session.exec(select(func.max(Vehicle.capacity_kg))).one()
        largest_units = session.exec(select(func.max(Vehicle.capacity_units))).one()
        biggest_stop_kg = session.exec(select(func.max(Delivery.demand_kg))).one()
        biggest_stop_units = session.exec(select(func.max(Delivery.demand_units))).one()
        capacities = set(session.exec(select(Vehicle.capacity_kg)).all())
    assert summary.capacity_kg >= 1.5 * summary.demand_kg
    assert summary.capacity_units >= 1.5 * summary.demand_units
    assert biggest_stop_kg <= largest_kg
    assert biggest_stop_units <= largest_units
    assert len(capacities) >= 3


def test_demo_dealers_near_depot(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        depot = session.exec(select(Warehouse).where(Warehouse.kind == "plant")).one()
        dealers = session.exec(select(Dealer)).all()
    # Town centres lie within the radius; jitter adds at most 3 km.
    for dealer in dealers:
        distance = haversine_km(depot.latitude, depot.longitude, dealer.latitude, dealer.longitude)
        assert distance <= RADIUS_KM + 5, dealer.code
    assert all(dealer.code.startswith("D-") for dealer in dealers)


def test_demo_windows_inside_receiving_hours(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        rows = session.exec(
            select(Order, Dealer).join(Dealer, col(Dealer.id) == col(Order.dealer_id))
        ).all()
    narrow = 0
    for order, dealer in rows:
        assert dealer.receiving_open_min <= order.window_start_min < order.window_end_min, (
            order.number
        )
        assert order.window_end_min <= dealer.receiving_close_min, order.number
        if (order.window_start_min, order.window_end_min) != (
            dealer.receiving_open_min,
            dealer.receiving_close_min,
        ):
            narrow += 1
    assert narrow >= 30


def test_demo_customers_and_dealer_stock(demo_db):
    engine, _ = demo_db
    with Session(engine) as session:
        per_dealer = Counter(session.exec(select(Customer.dealer_id)).all())
        dealers = session.exec(select(Dealer)).all()
        dealer_stock = _count(
            session, Stock, col(Stock.warehouse_id).in_([d.stock_location_id for d in dealers])
        )
        locations = session.exec(select(Warehouse).where(Warehouse.kind == "dealer")).all()
    assert all(per_dealer[dealer.id] >= 2 for dealer in dealers)
    assert all(dealer.stock_location_id is not None for dealer in dealers)
    assert len(locations) == len(dealers)
    assert all(location.is_depot for location in locations)
    assert dealer_stock >= 8 * len(dealers)


def test_demo_same_seed_same_rows(tmp_path):
    first = _new_engine(tmp_path, "a.db")
    second = _new_engine(tmp_path, "b.db")
    generate_demo(first, seed=11, day=DAY)
    generate_demo(second, seed=11, day=DAY)
    assert _signature(first) == _signature(second)
    first.dispose()
    second.dispose()


def test_demo_other_seed_other_rows(tmp_path, demo_db):
    engine = _new_engine(tmp_path)
    generate_demo(engine, seed=8, day=DAY)
    dealers_seed_8 = _signature(engine)[0]
    dealers_seed_7 = _signature(demo_db[0])[0]
    assert dealers_seed_8 != dealers_seed_7
    engine.dispose()


def test_demo_rejects_database_with_data(engine):
    generate_demo(engine, seed=7, day=DAY)
    with pytest.raises(ValidationError, match="--reset"):
        generate_demo(engine, seed=7, day=DAY)


def test_demo_command_reset(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTRO_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    reset_settings()
    reset_engine()
    try:
        runner = CliRunner()
        first = runner.invoke(demo, ["--seed", "3", "--day", "2026-03-02"])
        assert first.exit_code == 0, first.output
        assert "320 confirmed orders" in first.output
        assert "demo-dispatcher" in first.output

        rejected = runner.invoke(demo, ["--seed", "3", "--day", "2026-03-02"])
        assert rejected.exit_code == 1
        assert "already contains data" in rejected.output

        again = runner.invoke(demo, ["--seed", "3", "--day", "2026-03-02", "--reset"])
        assert again.exit_code == 0, again.output
        engine = make_engine(f"sqlite:///{tmp_path}/cli.db")
        with Session(engine) as session:
            assert _count(session, Order, Order.status == OrderStatus.CONFIRMED) == 320
            assert session.exec(select(func.min(Order.id))).one() == 1
        engine.dispose()
    finally:
        reset_engine()
        reset_settings()


def test_demo_bad_day_option():
    result = CliRunner().invoke(demo, ["--day", "02.03.2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output

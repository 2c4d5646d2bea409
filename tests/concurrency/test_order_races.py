"""Concurrent order submits on PostgreSQL: no over-reservation, no over-credit, one order per key.

Each scenario runs in a database of its own and starts its submits together behind a
barrier. The engine's pool allows 40 connections (the server allows 100 in all), so at most
40 submits hold a connection at once and the rest queue for one; they still race on the
same rows.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from distro.backbone.actors import Actor
from distro.backbone.errors import CreditLimitExceededError, DistroError, InsufficientStockError
from distro.backbone.models import (
    Dealer,
    Event,
    Order,
    OrderLine,
    PriceTier,
    Product,
    Role,
    Stock,
    TierPrice,
    Warehouse,
)
from distro.backbone.orders import LineRequest, submit_order
from tests.factories import DAY

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ACTOR = Actor(username="race", role=Role.DEALER)


def fresh_dataset(engine: Engine, *, skus: int, units: int, dealers: int, credit_cents: int, price_cents: int = 100):
    """Create a new depot, products with `units` in stock each, and dealers; return their ids."""
    tag = uuid.uuid4().hex[:8].upper()
    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(code=f"WH-{tag}", name="Race depot", latitude=-22.9, longitude=-47.06)
        tier = PriceTier(code=f"T-{tag}", name="Race tier")
        session.add_all([depot, tier])
        session.flush()
        sku_names = []
        for index in range(skus):
            product = Product(sku=f"R{tag}-{index}", name=f"Race {index}", weight_kg=1.0)
            session.add(product)
            session.flush()
            session.add(TierPrice(tier_id=tier.id, product_id=product.id, unit_price_cents=price_cents))
            session.add(Stock(warehouse_id=depot.id, product_id=product.id, on_hand=units))
            sku_names.append(product.sku)
        dealer_ids = []
        for index in range(dealers):
            dealer = Dealer(code=f"D{tag}-{index}", name=f"Racer {index}", tier_id=tier.id,
                            credit_limit_cents=credit_cents, latitude=-22.9, longitude=-47.06,
                            warehouse_id=depot.id)
            session.add(dealer)
            session.flush()
            dealer_ids.append(dealer.id)
        session.commit()
    return depot.id, sku_names, dealer_ids


def run_together(count: int, submit) -> list[object]:
    """Call `submit(i)` for i in range(count) from `count` threads released by one barrier.

    Returns each call's order or the DistroError it raised; any other exception propagates.
    """
    barrier = threading.Barrier(count)

    def worker(index: int):
        barrier.wait()
        try:
            return submit(index)
        except DistroError as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def reserved_by_sku(engine: Engine, skus: list[str]) -> dict[str, tuple[int, int]]:
    with Session(engine) as session:
        rows = session.exec(
            select(Product.sku, Stock.on_hand, Stock.reserved)
            .join(Stock, Stock.product_id == Product.id)
            .where(Product.sku.in_(skus))
        ).all()
    return {sku: (on_hand, reserved) for sku, on_hand, reserved in rows}


@pytest.mark.parametrize("run", range(20))
def test_last_unit_goes_to_one_order(postgres_engine, run):
    """100 submits for the last unit: one order wins, 99 get INSUFFICIENT_STOCK."""
    _, skus, dealer_ids = fresh_dataset(postgres_engine, skus=1, units=1, dealers=10, credit_cents=10**9)

    results = run_together(100, lambda i: submit_order(
        postgres_engine, ACTOR, dealer_id=dealer_ids[i % 10], delivery_day=DAY,
        lines=[LineRequest(skus[0], 1)]))

    accepted = [r for r in results if isinstance(r, Order)]
    short = [r for r in results if isinstance(r, InsufficientStockError)]
    on_hand, reserved = reserved_by_sku(postgres_engine, skus)[skus[0]]
    assert len(accepted) == 1
    assert len(short) == 99
    assert reserved == 1
    assert reserved <= on_hand


@pytest.mark.parametrize("run", range(10))
def test_multi_line_orders_all_or_nothing(postgres_engine, run):
    """200 orders of 2-4 lines over 3 SKUs with 50 units each: no SKU over-reserved, no partial order."""
    _, skus, dealer_ids = fresh_dataset(postgres_engine, skus=3, units=50, dealers=20, credit_cents=10**9)
    rng = random.Random(run)
    requests = []
    for _ in range(200):
        lines = [LineRequest(rng.choice(skus), rng.randint(1, 3)) for _ in range(rng.randint(2, 4))]
        rng.shuffle(lines)
        requests.append(lines)

    results = run_together(200, lambda i: submit_order(
        postgres_engine, ACTOR, dealer_id=dealer_ids[i % 20], delivery_day=DAY, lines=requests[i]))

    errors = [r for r in results if not isinstance(r, Order)]
    assert all(isinstance(e, InsufficientStockError) for e in errors), {type(e).__name__ for e in errors}
    stock = reserved_by_sku(postgres_engine, skus)
    expected = Counter()
    with Session(postgres_engine) as session:
        for index, result in enumerate(results):
            if not isinstance(result, Order):
                continue
            wanted = Counter()
            for line in requests[index]:
                wanted[line.sku] += line.quantity
            stored = session.exec(
                select(Product.sku, OrderLine.quantity)
                .join(Product, Product.id == OrderLine.product_id)
                .where(OrderLine.order_id == result.id)
            ).all()
            assert dict(stored) == dict(wanted)
            expected.update(wanted)
        orphan_orders = session.exec(select(func.count()).select_from(Order).where(
            Order.dealer_id.in_(dealer_ids), ~Order.id.in_(select(OrderLine.order_id)))).one()
    assert orphan_orders == 0
    for sku in skus:
        on_hand, reserved = stock[sku]
        assert reserved <= on_hand
        assert reserved == expected[sku]


@pytest.mark.parametrize("run", range(20))
def test_credit_limit_admits_exactly_ten(postgres_engine, run):
    """50 orders of 1,000.00 from one dealer with a 10,000.00 limit: exactly 10 accepted."""
    _, skus, dealer_ids = fresh_dataset(postgres_engine, skus=1, units=10_000, dealers=1,
                                        credit_cents=1_000_000, price_cents=1_000)

    results = run_together(50, lambda i: submit_order(
        postgres_engine, ACTOR, dealer_id=dealer_ids[0], delivery_day=DAY,
        lines=[LineRequest(skus[0], 100)]))

    accepted = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, CreditLimitExceededError)]
    with Session(postgres_engine) as session:
        dealer = session.get(Dealer, dealer_ids[0])
    assert len(accepted) == 10
    assert len(refused) == 40
    assert dealer.open_orders_cents == 1_000_000
    assert reserved_by_sku(postgres_engine, skus)[skus[0]][1] == 1_000


def test_same_idempotency_key_makes_one_order(postgres_engine):
    """The same key submitted 20 times at once: one order, one reservation, one event."""
    _, skus, dealer_ids = fresh_dataset(postgres_engine, skus=1, units=100, dealers=1, credit_cents=10**9)
    key = f"retry-{uuid.uuid4().hex}"

    results = run_together(20, lambda i: submit_order(
        postgres_engine, ACTOR, dealer_id=dealer_ids[0], delivery_day=DAY,
        lines=[LineRequest(skus[0], 5)], idempotency_key=key))

    assert all(isinstance(r, Order) for r in results), [r for r in results if not isinstance(r, Order)]
    assert len({r.id for r in results}) == 1
    with Session(postgres_engine) as session:
        orders = session.exec(select(func.count()).select_from(Order).where(Order.idempotency_key == key)).one()
        events = session.exec(select(func.count()).select_from(Event).where(
            Event.order_id == results[0].id, Event.event_type == "order_placed")).one()
    assert orders == 1
    assert events == 1
    assert reserved_by_sku(postgres_engine, skus)[skus[0]][1] == 5


@pytest.mark.parametrize("run", range(10))
def test_credit_hold_approve_races_reject(postgres_engine, run):
    """One manager approves while another rejects the same hold: one wins, the books agree."""
    from distro.backbone.credit import approve_credit_hold, reject_credit_hold
    from distro.backbone.errors import InvalidTransitionError
    from distro.backbone.models import Delivery, DeliveryStatus, OrderStatus
    from distro.backbone.orders import place_order

    _, skus, dealer_ids = fresh_dataset(postgres_engine, skus=1, units=100, dealers=1,
                                        credit_cents=1_000, price_cents=1_000)
    operator = Actor(username="ops", role=Role.DISPATCHER)
    manager = Actor(username="manager", role=Role.MANAGER)
    with Session(postgres_engine, expire_on_commit=False) as session:
        held = place_order(session, operator, dealer_id=dealer_ids[0], delivery_day=DAY,
                           lines=[LineRequest(skus[0], 5)], allow_credit_hold=True)
        session.commit()

    def decide(index: int):
        with Session(postgres_engine, expire_on_commit=False) as session:
            if index % 2 == 0:
                order = approve_credit_hold(session, manager, held.id)
            else:
                order = reject_credit_hold(session, manager, held.id, "over limit")
            session.commit()
            return order

    results = run_together(2, decide)

    winners = [r for r in results if isinstance(r, Order)]
    losers = [r for r in results if isinstance(r, InvalidTransitionError)]
    with Session(postgres_engine) as session:
        order = session.get(Order, held.id)
        dealer = session.get(Dealer, dealer_ids[0])
        deliveries = session.exec(select(Delivery).where(Delivery.order_id == held.id)).all()
    reserved = reserved_by_sku(postgres_engine, skus)[skus[0]][1]
    assert len(winners) == 1
    assert len(losers) == 1
    if order.status == OrderStatus.CONFIRMED:
        assert reserved == 5
        assert dealer.open_orders_cents == 5_000
        assert [d.status for d in deliveries] == [DeliveryStatus.PENDING]
    else:
        assert order.status == OrderStatus.CANCELLED
        assert reserved == 0
        assert dealer.open_orders_cents == 0
        assert deliveries == []

"""The demo network: a beverage manufacturer in the Ruhr area with one day of dealer orders.

Everything is drawn from one `random.Random(seed)`, and rows are added in a fixed order, so
the same seed gives the same rows (ids, codes, names, coordinates, order lines) on an empty
database. Only timestamps (`created_at`, event times) differ between two runs.

Orders go through `backbone.orders.place_order`, so stock reservations, dealer exposure,
`order_placed` events and delivery stops are the same as for orders placed in the app.

Each dealer's opening balance is a few orders delivered in the weeks before the demo day, each
with its invoice from `billing.raise_invoice`, so the unpaid balance equals the open invoices
and some of them are already past due.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, func, select

from distro.backbone.actors import SYSTEM
from distro.backbone.billing import raise_invoice
from distro.backbone.errors import ValidationError
from distro.backbone.models import (
    Channel,
    Customer,
    Dealer,
    Delivery,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    PriceTier,
    Product,
    Rider,
    Shift,
    Stock,
    TierPrice,
    Vehicle,
    Warehouse,
)
from distro.backbone.orders import LineRequest, order_number, place_order
from distro.db import session_scope
from distro.demo import data
from distro.demo.towns import Town, find_city, offset_point, towns_around

logger = logging.getLogger(__name__)

RADIUS_KM = 40.0
"""Dealers are placed in towns within this distance of the depot."""

DEALER_COUNT = 240
ORDER_COUNT = 320
FLEET = (("truck", 10), ("van", 10), ("motorbike", 3))
"""Vehicle type and count; each vehicle has one rider with a shift on the demo day."""

WINDOW_SHARE = 0.3
"""Share of orders with a delivery window narrower than the dealer's receiving hours."""

INVOICE_AGE_DAYS = (3, 60)
"""Range of days before the demo day on which the opening balance's invoices were issued.

With the default 30-day payment terms, roughly half of them are past due.
"""

COMPASS = ("North", "North-East", "East", "South-East", "South", "South-West", "West", "North-West")


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """Counts of what `generate_demo` created, and the day's load against fleet capacity."""

    seed: int
    day: date
    depot_code: str
    towns: int
    dealers: int
    customers: int
    products: int
    tiers: int
    vehicles: int
    riders: int
    shifts: int
    orders: int
    order_lines: int
    invoices: int
    unpaid_cents: int
    deliveries: int
    demand_kg: int
    demand_units: int
    capacity_kg: int
    capacity_units: int
    seconds: float

    def lines(self) -> list[str]:
        """Return the summary as short lines for the command line."""
        return [
            f"Demo network (seed {self.seed}) for "
            f"{self.day.isoformat()} at depot {self.depot_code}",
            f"  {self.dealers} dealers in {self.towns} towns, {self.customers} customers",
            f"  {self.products} products in {self.tiers} price tiers",
            f"  {self.riders} riders with {self.vehicles} vehicles and {self.shifts} shifts",
            f"  {self.orders} confirmed orders, {self.order_lines} lines, {self.deliveries} stops",
            f"  {self.invoices} open invoices from earlier deliveries, "
            f"{self.unpaid_cents / 100:.2f} unpaid",
            f"  demand {self.demand_kg} kg / {self.demand_units} units; fleet capacity "
            f"{self.capacity_kg} kg / {self.capacity_units} units",
            f"  built in {self.seconds:.1f} s",
        ]


def generate_demo(
    engine_or_session: Engine | Session, seed: int = 7, day: date | None = None
) -> DemoSummary:
    """Build the demo network and one day of confirmed dealer orders.

    With an engine, everything is written in one transaction that commits at the end. With a
    session, rows are added and flushed and the caller commits.

    Args:
        engine_or_session: Where to write; the database must hold no products, dealers or
            warehouses yet.
        seed: Seed of the random choices; the same seed gives the same rows.
        day: Delivery day of the orders and shifts; default today.

    Returns:
        The counts of what was created.

    Raises:
        ValidationError: The database already contains master data.

    """
    day = day or date.today()
    if isinstance(engine_or_session, Session):
        return _generate(engine_or_session, seed, day)
    with session_scope(engine_or_session) as session:
        return _generate(session, seed, day)


def database_is_empty(session: Session) -> bool:
    """Return whether the database contains no warehouses, products, dealers or orders."""
    for model in (Warehouse, Product, Dealer, Order):
        if session.exec(select(func.count()).select_from(model)).one():
            return False
    return True


def clear_database(engine: Engine) -> None:
    """Delete every row of every Distro table, in one transaction.

    This also deletes the append-only event log, so it is for demo and test databases only.
    PostgreSQL tables are truncated and their id sequences restarted, so a rebuilt demo gets
    the same ids. On SQLite, rows are deleted children first and the id counters of
    AUTOINCREMENT tables (if any) are reset.
    """
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        for table in tables:
            connection.execute(table.delete())
        has_sequence = connection.execute(
            text("SELECT name FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
        ).first()
        if has_sequence:
            connection.execute(text("DELETE FROM sqlite_sequence"))
    logger.info("Deleted all rows of %d tables", len(tables))


def _generate(session: Session, seed: int, day: date) -> DemoSummary:
    started = time.perf_counter()
    if not database_is_empty(session):
        raise ValidationError(
            "The database already contains warehouses, products, dealers or orders; the demo "
            "needs an empty database. Run `distro demo --reset` to delete everything first."
        )
    rng = random.Random(seed)
    logger.info("Building the demo network with seed %d for %s", seed, day)

    tiers, products = _add_catalog(session)
    depot = _add_depot(session)
    towns = towns_around(depot.latitude, depot.longitude, RADIUS_KM)
    dealers = _add_dealers(session, rng, depot, towns, tiers)
    customers = _add_customers(session, rng, dealers)
    vehicles, riders, shifts = _add_fleet(session, rng, depot, day)

    plans = _plan_orders(rng, dealers, products)
    _add_stock(session, rng, depot, dealers, products, plans)
    # Before the day's orders, so their credit check counts the opening balance.
    invoices = _add_opening_balances(session, rng, depot, dealers, products, day)
    orders = _place_orders(session, dealers, plans, day)

    line_count = session.exec(
        select(func.count())
        .select_from(OrderLine)
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .where(Order.delivery_day == day)
    ).one()
    stops = list(
        session.exec(select(Delivery).where(Delivery.day == day, Delivery.depot_id == depot.id))
    )
    summary = DemoSummary(
        seed=seed,
        day=day,
        depot_code=depot.code,
        towns=len({dealer.town for dealer in dealers}),
        dealers=len(dealers),
        customers=len(customers),
        products=len(products),
        tiers=len(tiers),
        vehicles=len(vehicles),
        riders=len(riders),
        shifts=len(shifts),
        orders=len(orders),
        order_lines=line_count,
        invoices=len(invoices),
        unpaid_cents=sum(invoice.amount_cents for invoice in invoices),
        deliveries=len(stops),
        demand_kg=sum(stop.demand_kg for stop in stops),
        demand_units=sum(stop.demand_units for stop in stops),
        capacity_kg=sum(vehicle.capacity_kg for vehicle in vehicles),
        capacity_units=sum(vehicle.capacity_units for vehicle in vehicles),
        seconds=time.perf_counter() - started,
    )
    logger.info(
        "Demo network built in %.1fs: %d dealers, %d products, %d riders, %d orders",
        summary.seconds,
        summary.dealers,
        summary.products,
        summary.riders,
        summary.orders,
    )
    return summary


def _add_catalog(session: Session) -> tuple[dict[str, PriceTier], list[Product]]:
    tiers = {code: PriceTier(code=code, name=name) for code, name, _ in data.TIERS}
    products = [
        Product(
            sku=f"SKU-{101 + index}",
            name=item.name,
            unit=item.unit,
            weight_kg=item.weight_kg,
            pack_size=item.pack_size,
            min_order_qty=item.min_order_qty,
        )
        for index, item in enumerate(data.PRODUCTS)
    ]
    session.add_all([*tiers.values(), *products])
    session.flush()

    prices = []
    for code, _, factor in data.TIERS:
        for product, item in zip(products, data.PRODUCTS, strict=True):
            prices.append(
                TierPrice(
                    tier_id=tiers[code].id,
                    product_id=product.id,
                    unit_price_cents=round(item.list_price_cents * factor),
                )
            )
    session.add_all(prices)
    return tiers, products


def _add_depot(session: Session) -> Warehouse:
    city = find_city(data.DEPOT_CITY, data.DEPOT_COUNTRY)
    # The plant sits on the edge of the city centre rather than on the GeoNames point.
    latitude, longitude = offset_point(city["latitude"], city["longitude"], -1.2, 1.8)
    depot = Warehouse(
        code="DEPOT-DO",
        name=f"{data.MANUFACTURER} plant and depot {data.DEPOT_CITY}",
        kind="plant",
        address=data.DEPOT_ADDRESS,
        latitude=round(latitude, 6),
        longitude=round(longitude, 6),
        is_depot=True,
    )
    session.add(depot)
    session.flush()
    return depot


def _dealer_towns(rng: random.Random, towns: list[Town]) -> list[Town]:
    """Give every town one dealer, then spread the rest by the square root of population."""
    chosen = list(towns[:DEALER_COUNT])
    weights = [math.sqrt(town.population) for town in towns]
    chosen += rng.choices(towns, weights=weights, k=DEALER_COUNT - len(chosen))
    chosen.sort(key=lambda town: (town.distance_km, town.geonameid))
    return chosen


def _territory(town: Town) -> str:
    if town.distance_km < 8:
        return "Central"
    return COMPASS[round(town.bearing_deg / 45) % 8]


def _phone(rng: random.Random) -> str:
    return f"+49 2{rng.randint(10, 99)} {rng.randint(100000, 9999999)}"


def _address(rng: random.Random, town: str) -> str:
    return f"{rng.choice(data.STREETS)} {rng.randint(1, 180)}, {town}"


def _add_dealers(
    session: Session,
    rng: random.Random,
    depot: Warehouse,
    towns: list[Town],
    tiers: dict[str, PriceTier],
) -> list[Dealer]:
    per_town: Counter[str] = Counter()
    dealers = []
    stock_locations = []
    for number, town in enumerate(_dealer_towns(rng, towns), start=1):
        per_town[town.name] += 1
        code = f"D-{number:04d}"
        # Jitter within a few kilometres of the town centre, more for bigger towns.
        spread_km = 0.6 + 2.4 * min(town.population / 300_000, 1.0)
        angle = rng.uniform(0, 2 * math.pi)
        radius = spread_km * math.sqrt(rng.random())
        latitude, longitude = offset_point(
            town.latitude, town.longitude, radius * math.cos(angle), radius * math.sin(angle)
        )
        tier = rng.choices(("gold", "silver", "bronze"), weights=(2, 3, 5))[0]
        opening, closing = rng.choice(data.RECEIVING_HOURS)
        dealer = Dealer(
            code=code,
            name=f"{town.name} {rng.choice(data.TRADE_WORDS)} {per_town[town.name]}",
            tier_id=tiers[tier].id,
            credit_limit_cents=data.CREDIT_LIMIT_CENTS[tier] * rng.randint(1, 3),
            unpaid_cents=0,
            address=_address(rng, town.name),
            town=town.name,
            latitude=round(latitude, 6),
            longitude=round(longitude, 6),
            receiving_open_min=opening,
            receiving_close_min=closing,
            territory=_territory(town),
            phone=_phone(rng),
            warehouse_id=depot.id,
            service_radius_km=float(rng.choice((5, 8, 10, 15))),
        )
        dealers.append(dealer)
        stock_locations.append(
            Warehouse(
                code=f"{code}-STOCK",
                name=f"{dealer.name} stock",
                kind="dealer",
                address=dealer.address,
                latitude=dealer.latitude,
                longitude=dealer.longitude,
                is_depot=True,
            )
        )
    session.add_all(stock_locations)
    session.flush()
    for dealer, location in zip(dealers, stock_locations, strict=True):
        dealer.stock_location_id = location.id
    session.add_all(dealers)
    session.flush()
    return dealers


def _add_customers(session: Session, rng: random.Random, dealers: list[Dealer]) -> list[Customer]:
    customers = []
    for dealer in dealers:
        for _ in range(rng.randint(2, 4)):
            angle = rng.uniform(0, 2 * math.pi)
            radius = rng.uniform(0.3, min(dealer.service_radius_km, 6.0))
            latitude, longitude = offset_point(
                dealer.latitude,
                dealer.longitude,
                radius * math.cos(angle),
                radius * math.sin(angle),
            )
            customers.append(
                Customer(
                    name=f"{rng.choice(data.FIRST_NAMES)} {rng.choice(data.LAST_NAMES)}",
                    phone=_phone(rng),
                    address=_address(rng, dealer.town),
                    latitude=round(latitude, 6),
                    longitude=round(longitude, 6),
                    dealer_id=dealer.id,
                )
            )
    session.add_all(customers)
    return customers


def _add_fleet(
    session: Session, rng: random.Random, depot: Warehouse, day: date
) -> tuple[list[Vehicle], list[Rider], list[Shift]]:
    vehicles = []
    for kind, count in FLEET:
        name, capacity_kg, capacity_units, per_km, per_day, _, _ = data.VEHICLE_TYPES[kind]
        for number in range(1, count + 1):
            vehicles.append(
                Vehicle(
                    code=f"V-{len(vehicles) + 1:02d}",
                    name=f"{name} #{number}",
                    capacity_kg=capacity_kg,
                    capacity_units=capacity_units,
                    cost_per_km_cents=per_km,
                    cost_per_day_cents=per_day,
                )
            )
    session.add_all(vehicles)
    session.flush()

    riders = [
        Rider(
            code=f"R-{number:02d}",
            name=f"{rng.choice(data.FIRST_NAMES)} {rng.choice(data.LAST_NAMES)}",
            phone=_phone(rng),
            vehicle_id=vehicle.id,
        )
        for number, vehicle in enumerate(vehicles, start=1)
    ]
    session.add_all(riders)
    session.flush()

    kinds = [kind for kind, count in FLEET for _ in range(count)]
    shifts = []
    for rider, vehicle, kind in zip(riders, vehicles, kinds, strict=True):
        start_min, end_min = data.VEHICLE_TYPES[kind][5:7]
        shifts.append(
            Shift(
                rider_id=rider.id,
                vehicle_id=vehicle.id,
                depot_id=depot.id,
                day=day,
                start_min=start_min,
                end_min=end_min,
            )
        )
    session.add_all(shifts)
    return vehicles, riders, shifts


@dataclass(frozen=True, slots=True)
class _OrderPlan:
    dealer_index: int
    lines: tuple[LineRequest, ...]
    window: tuple[int, int] | None


def _plan_orders(
    rng: random.Random, dealers: list[Dealer], products: list[Product]
) -> list[_OrderPlan]:
    """Draw the day's orders before any is placed, so depot stock can be sized to them."""
    # Every dealer orders once, then the remaining orders go to dealers drawn at random.
    order_dealers = list(range(len(dealers)))
    rng.shuffle(order_dealers)
    order_dealers = order_dealers[:ORDER_COUNT]
    order_dealers += [rng.randrange(len(dealers)) for _ in range(ORDER_COUNT - len(order_dealers))]

    bulk = products[:28]
    plans = []
    for dealer_index in order_dealers:
        line_count = rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 20, 10, 5))[0]
        picked: list[Product] = []
        while len(picked) < line_count:
            product = rng.choice(bulk) if rng.random() < 0.85 else rng.choice(products)
            if product not in picked:
                picked.append(product)
        lines = []
        for product in picked:
            requested = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
            quantity = max(requested, product.min_order_qty)
            quantity = math.ceil(quantity / product.pack_size) * product.pack_size
            lines.append(LineRequest(sku=product.sku, quantity=quantity))

        window = None
        if rng.random() < WINDOW_SHARE:
            dealer = dealers[dealer_index]
            length = rng.choice((120, 150, 180))
            latest_start = dealer.receiving_close_min - length
            slots = list(range(dealer.receiving_open_min, latest_start + 1, 30))
            start = rng.choice(slots)
            window = (start, start + length)
        plans.append(_OrderPlan(dealer_index, tuple(lines), window))
    return plans


def _add_stock(
    session: Session,
    rng: random.Random,
    depot: Warehouse,
    dealers: list[Dealer],
    products: list[Product],
    plans: list[_OrderPlan],
) -> None:
    demand: Counter[str] = Counter()
    for plan in plans:
        for line in plan.lines:
            demand[line.sku] += line.quantity

    rows = [
        Stock(
            warehouse_id=depot.id,
            product_id=product.id,
            on_hand=demand[product.sku] + rng.randint(150, 600),
        )
        for product in products
    ]

    # Each dealer keeps a shelf of its best sellers for its customers' orders.
    for dealer in dealers:
        for product in rng.sample(products, rng.randint(8, 15)):
            rows.append(
                Stock(
                    warehouse_id=dealer.stock_location_id,
                    product_id=product.id,
                    on_hand=rng.randint(5, 40) * product.pack_size,
                )
            )
    session.add_all(rows)
    session.flush()


def _place_orders(
    session: Session, dealers: list[Dealer], plans: list[_OrderPlan], day: date
) -> list[Order]:
    orders = []
    for plan in plans:
        order = place_order(
            session,
            SYSTEM,
            lines=plan.lines,
            dealer_id=dealers[plan.dealer_index].id,
            delivery_day=day,
            window=plan.window,
            entered_by="demo",
        )
        if order.status != OrderStatus.CONFIRMED:
            raise RuntimeError(f"demo order {order.number} is {order.status}, expected confirmed")
        orders.append(order)
    return orders


def _add_opening_balances(
    session: Session,
    rng: random.Random,
    depot: Warehouse,
    dealers: list[Dealer],
    products: list[Product],
    day: date,
) -> list[Invoice]:
    """Add 0-3 delivered, unpaid orders per dealer with their invoices, issued before `day`.

    A dealer's invoices add up to at most a quarter of its tier's base credit limit, which
    leaves room for the day's orders under every credit limit. The dealer's `unpaid_cents`
    is set to the sum of its invoices.
    """
    factors = {tier_code: factor for tier_code, _, factor in data.TIERS}
    tier_codes = {tier.id: tier.code for tier in session.exec(select(PriceTier)).all()}
    weights = {product.id: product.weight_kg for product in products}
    list_prices = {
        product.sku: item.list_price_cents
        for product, item in zip(products, data.PRODUCTS, strict=True)
    }
    bulk = products[:28]

    history: list[tuple[Dealer, Order, list[OrderLine], datetime]] = []
    for dealer in dealers:
        tier_code = tier_codes[dealer.tier_id]
        room = data.CREDIT_LIMIT_CENTS[tier_code] // 4
        count = rng.choices((0, 1, 2, 3), weights=(20, 35, 30, 15))[0]
        for _ in range(count):
            issued_day = day - timedelta(days=rng.randint(*INVOICE_AGE_DAYS))
            lines = []
            for product in rng.sample(bulk, rng.randint(1, 3)):
                quantity = max(rng.randint(4, 30), product.min_order_qty)
                price = round(list_prices[product.sku] * factors[tier_code])
                lines.append(
                    OrderLine(
                        order_id=0,
                        product_id=product.id,
                        quantity=quantity,
                        unit_price_cents=price,
                        line_total_cents=price * quantity,
                    )
                )
            total = sum(line.line_total_cents for line in lines)
            if total > room:
                continue
            room -= total
            issued_at = datetime.combine(issued_day, clock_time(15, 0), tzinfo=UTC)
            order = Order(
                # A placeholder until the id is known, because numbers are unique.
                number=f"DEMO-{len(history)}",
                channel=Channel.DEALER,
                status=OrderStatus.DELIVERED,
                dealer_id=dealer.id,
                warehouse_id=depot.id,
                total_cents=total,
                weight_kg=round(sum(weights[line.product_id] * line.quantity for line in lines), 3),
                units=sum(line.quantity for line in lines),
                delivery_day=issued_day,
                window_start_min=dealer.receiving_open_min,
                window_end_min=dealer.receiving_close_min,
                entered_by="demo",
                created_at=issued_at - timedelta(days=1),
            )
            history.append((dealer, order, lines, issued_at))

    session.add_all([order for _, order, _, _ in history])
    session.flush()
    invoices = []
    for dealer, order, lines, issued_at in history:
        order.number = order_number(order.id)
        for line in lines:
            line.order_id = order.id
        session.add_all(lines)
        invoices.append(raise_invoice(session, order, issued_at=issued_at))
        dealer.unpaid_cents += order.total_cents
    session.add_all(dealers)
    session.flush()
    return invoices

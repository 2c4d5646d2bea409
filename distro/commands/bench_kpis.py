"""``distro bench kpis``: time every KPI query on a large synthetic network in PostgreSQL.

The command creates a throwaway database, applies the migrations, bulk-loads orders, stops,
routes, shifts and events with COPY, and times each KPI for a 30-day range (the median of
several runs). The database is dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import click
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from distro.backbone import kpis
from distro.backbone.events import latest_event_id
from distro.backbone.kpis import Dimension, KpiFilter
from distro.db import make_engine, mask_url, upgrade_database

logger = logging.getLogger(__name__)

DEFAULT_ADMIN_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"
DEPOTS = 5
TERRITORIES = 20
DEALERS = 500
RIDERS = 100
DAYS = 365
FIRST_DAY = date(2026, 1, 1)
WINDOW = (8 * 60, 18 * 60)
REASONS = ("customer_absent", "address_not_found", "refused", "damaged", "no_access")


def _copy(cursor, table: str, columns: tuple[str, ...], rows: Iterator[tuple]) -> int:
    count = 0
    quoted = ", ".join(f'"{name}"' for name in columns)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _at(day: date, minute: float) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(minutes=minute)


class _Events:
    """Collects event rows with consecutive ids."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def add(
        self,
        at: datetime,
        actor: str,
        role: str,
        entity: str,
        entity_id: int,
        kind: str,
        from_state: str | None,
        to_state: str | None,
        order_id: int | None,
        payload: dict | None = None,
    ) -> None:
        self.rows.append(
            (
                len(self.rows) + 1,
                at,
                actor,
                role,
                entity,
                entity_id,
                kind,
                from_state,
                to_state,
                order_id,
                json.dumps(payload or {}),
            )
        )


def load_network(url: str, orders: int, events: int, seed: int) -> dict[str, int]:
    """Bulk-load a synthetic network of `orders` orders and exactly `events` events.

    Returns the number of rows written per table.
    """
    rng = random.Random(seed)
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    counts: dict[str, int] = {}
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        counts["warehouse"] = _copy(
            cursor,
            "warehouse",
            ("id", "code", "name", "kind", "address", "latitude", "longitude", "is_depot"),
            (
                (i, f"WH-{i}", f"Depot {i}", "warehouse", "", -23 + i / 10, -47 + i / 10, True)
                for i in range(1, DEPOTS + 1)
            ),
        )
        counts["pricetier"] = _copy(
            cursor, "pricetier", ("id", "code", "name"), iter([(1, "std", "Standard")])
        )
        counts["product"] = _copy(
            cursor,
            "product",
            ("id", "sku", "name", "unit", "weight_kg", "pack_size", "min_order_qty", "active"),
            ((i, f"SKU-{i}", f"Product {i}", "unit", 2.0, 1, 1, True) for i in range(1, 4)),
        )
        counts["dealer"] = _copy(
            cursor,
            "dealer",
            (
                "id",
                "code",
                "name",
                "tier_id",
                "credit_limit_cents",
                "unpaid_cents",
                "open_orders_cents",
                "address",
                "town",
                "latitude",
                "longitude",
                "receiving_open_min",
                "receiving_close_min",
                "territory",
                "phone",
                "warehouse_id",
                "service_radius_km",
                "active",
            ),
            (
                (
                    i,
                    f"D-{i:04d}",
                    f"Dealer {i}",
                    1,
                    5_000_000,
                    rng.randrange(0, 3_000_000),
                    rng.randrange(0, 1_000_000),
                    "",
                    "",
                    -23 + rng.random(),
                    -47 + rng.random(),
                    WINDOW[0],
                    WINDOW[1],
                    f"T-{i % TERRITORIES:02d}",
                    "",
                    i % DEPOTS + 1,
                    15.0,
                    True,
                )
                for i in range(1, DEALERS + 1)
            ),
        )
        counts["vehicle"] = _copy(
            cursor,
            "vehicle",
            (
                "id",
                "code",
                "name",
                "capacity_kg",
                "capacity_units",
                "cost_per_km_cents",
                "cost_per_day_cents",
                "active",
            ),
            ((i, f"V-{i}", f"Van {i}", 800, 80, 0, 0, True) for i in range(1, RIDERS + 1)),
        )
        counts["rider"] = _copy(
            cursor,
            "rider",
            ("id", "code", "name", "phone", "vehicle_id", "active"),
            ((i, f"R-{i}", f"Rider {i}", "", i, True) for i in range(1, RIDERS + 1)),
        )
        counts["user"] = _copy(
            cursor,
            "user",
            (
                "id",
                "username",
                "full_name",
                "password_hash",
                "role",
                "rider_id",
                "active",
                "created_at",
            ),
            (
                (i, f"rider{i}", f"Rider {i}", "", "rider", i, True, _at(FIRST_DAY, 0))
                for i in range(1, RIDERS + 1)
            ),
        )

        # One shift, plan slot and published route per rider and day; route id = shift id.
        days = [FIRST_DAY + timedelta(days=d) for d in range(DAYS)]
        counts["shift"] = _copy(
            cursor,
            "shift",
            ("id", "rider_id", "vehicle_id", "depot_id", "day", "start_min", "end_min"),
            (
                (d * RIDERS + r, r, r, r % DEPOTS + 1, day, 7 * 60, 19 * 60)
                for d, day in enumerate(days)
                for r in range(1, RIDERS + 1)
            ),
        )
        counts["plan"] = _copy(
            cursor,
            "plan",
            (
                "id",
                "day",
                "depot_id",
                "status",
                "engine",
                "seed",
                "time_limit_s",
                "solve_seconds",
                "total_distance_m",
                "total_duration_s",
                "unassigned",
                "created_by",
                "created_at",
            ),
            (
                (
                    d * DEPOTS + w,
                    day,
                    w,
                    "published",
                    "bench",
                    0,
                    1.0,
                    1.0,
                    0,
                    0,
                    "[]",
                    "bench",
                    _at(day, 0),
                )
                for d, day in enumerate(days)
                for w in range(1, DEPOTS + 1)
            ),
        )
        counts["route"] = _copy(
            cursor,
            "route",
            (
                "id",
                "plan_id",
                "day",
                "depot_id",
                "vehicle_id",
                "rider_id",
                "shift_id",
                "status",
                "color",
                "load_kg",
                "load_units",
                "distance_m",
                "duration_s",
                "start_min",
                "locked",
            ),
            (
                (
                    d * RIDERS + r,
                    d * DEPOTS + r % DEPOTS + 1,
                    day,
                    r % DEPOTS + 1,
                    r,
                    r,
                    d * RIDERS + r,
                    "published",
                    "#1f77b4",
                    0,
                    0,
                    rng.randrange(20_000, 90_000),
                    rng.randrange(14_400, 36_000),
                    480,
                    False,
                )
                for d, day in enumerate(days)
                for r in range(1, RIDERS + 1)
            ),
        )
        counts["routeactual"] = _copy(
            cursor,
            "routeactual",
            ("id", "route_id", "started_at", "finished_at", "distance_m", "recorded_at"),
            (
                (
                    i,
                    d * RIDERS + r,
                    _at(day, 450),
                    _at(day, 450 + rng.randrange(240, 660)),
                    rng.randrange(20_000, 95_000),
                    _at(day, 1200),
                )
                for i, (d, day, r) in enumerate(
                    ((d, day, r) for d, day in enumerate(days) for r in range(1, RIDERS + 1, 2)),
                    start=1,
                )
            ),
        )

        riders_of = {
            w: [r for r in range(1, RIDERS + 1) if r % DEPOTS + 1 == w]
            for w in range(1, DEPOTS + 1)
        }
        order_rows, line_rows, delivery_rows, short_rows = [], [], [], []
        log = _Events()
        for order_id in range(1, orders + 1):
            d = (order_id - 1) * DAYS // orders
            day = days[d]
            dealer = rng.randrange(1, DEALERS + 1)
            depot = dealer % DEPOTS + 1
            rider = rng.choice(riders_of[depot])
            route_id = d * RIDERS + rider
            quantity = rng.randrange(1, 40)
            total = quantity * 1000
            channel = "dealer" if rng.random() < 0.9 else "customer"
            outcome = rng.random()
            status = "delivered" if outcome < 0.97 else "cancelled"
            placed = _at(day - timedelta(days=1), rng.uniform(480, 1080))
            order_rows.append(
                (
                    order_id,
                    f"SO-{order_id:07d}",
                    channel,
                    status,
                    dealer,
                    depot,
                    total,
                    quantity * 2.0,
                    quantity,
                    day,
                    WINDOW[0],
                    WINDOW[1],
                    0,
                    "",
                    "",
                    placed,
                )
            )
            line_rows.append((order_id, order_id, 1, quantity, 1000, total))
            eta = _at(day, rng.uniform(480, 1080))
            delivery_rows.append(
                (
                    order_id,
                    order_id,
                    f"SO-{order_id:07d}",
                    "order",
                    day,
                    depot,
                    "",
                    "",
                    "",
                    -23.0,
                    -47.0,
                    quantity * 2,
                    quantity,
                    WINDOW[0],
                    WINDOW[1],
                    5,
                    0,
                    "delivered" if status == "delivered" else "cancelled",
                    1,
                    route_id,
                    1,
                    eta,
                    None,
                    placed,
                )
            )

            actor = f"rider{rider}"
            log.add(
                placed,
                "desk",
                "dealer",
                "order",
                order_id,
                "order_placed",
                None,
                "confirmed",
                order_id,
                {"total_cents": total},
            )
            log.add(
                placed,
                "desk",
                "dealer",
                "delivery",
                order_id,
                "delivery_created",
                None,
                "pending",
                order_id,
            )
            log.add(
                _at(day, 420),
                "dispatch",
                "dispatcher",
                "delivery",
                order_id,
                "delivery_assigned",
                "pending",
                "assigned",
                order_id,
            )
            log.add(
                _at(day, 420),
                "dispatch",
                "dispatcher",
                "order",
                order_id,
                "order_planned",
                "confirmed",
                "planned",
                order_id,
            )
            minute = rng.uniform(470, 1120)
            if outcome >= 0.90:
                # Failed first: rescheduled and delivered later that day, or returned.
                log.add(
                    _at(day, minute - 30),
                    actor,
                    "rider",
                    "delivery",
                    order_id,
                    "delivery_out_for_delivery",
                    "assigned",
                    "out_for_delivery",
                    order_id,
                )
                log.add(
                    _at(day, minute - 20),
                    actor,
                    "rider",
                    "delivery",
                    order_id,
                    "delivery_failed",
                    "out_for_delivery",
                    "failed",
                    order_id,
                    {"reason_code": rng.choice(REASONS)},
                )
                if status == "cancelled":
                    log.add(
                        _at(day, minute),
                        "dispatch",
                        "dispatcher",
                        "delivery",
                        order_id,
                        "delivery_returned",
                        "failed",
                        "cancelled",
                        order_id,
                    )
                    log.add(
                        _at(day, minute),
                        "dispatch",
                        "dispatcher",
                        "order",
                        order_id,
                        "order_cancelled",
                        "failed",
                        "cancelled",
                        order_id,
                    )
                    continue
                log.add(
                    _at(day, minute - 10),
                    "dispatch",
                    "dispatcher",
                    "delivery",
                    order_id,
                    "delivery_rescheduled",
                    "failed",
                    "pending",
                    order_id,
                )
            log.add(
                _at(day, minute),
                actor,
                "rider",
                "delivery",
                order_id,
                "delivery_out_for_delivery",
                "assigned",
                "out_for_delivery",
                order_id,
            )
            log.add(
                _at(day, minute),
                actor,
                "rider",
                "order",
                order_id,
                "order_out_for_delivery",
                "planned",
                "out_for_delivery",
                order_id,
            )
            log.add(
                _at(day, minute + 20),
                actor,
                "rider",
                "delivery",
                order_id,
                "delivery_arrived",
                "out_for_delivery",
                "arrived",
                order_id,
            )
            log.add(
                _at(day, minute + 20 + rng.uniform(2, 15)),
                actor,
                "rider",
                "delivery",
                order_id,
                "delivery_delivered",
                "arrived",
                "delivered",
                order_id,
            )
            log.add(
                _at(day, minute + 30),
                actor,
                "rider",
                "order",
                order_id,
                "order_delivered",
                "out_for_delivery",
                "delivered",
                order_id,
            )
            if rng.random() < 0.05:
                short_rows.append(
                    (len(short_rows) + 1, order_id, order_id, quantity // 2, _at(day, minute + 30))
                )

        # Route and plan events fill the log up to the requested size.
        filler = events - len(log.rows)
        for index in range(max(filler, 0)):
            d = index % DAYS
            log.add(
                _at(days[d], 410),
                "dispatch",
                "dispatcher",
                "route",
                d * RIDERS + index % RIDERS + 1,
                "route_published",
                "draft",
                "published",
                None,
                {"rider_id": index % RIDERS + 1},
            )
        del log.rows[events:]
        log.rows.sort(key=lambda row: row[1])
        log.rows = [(i, *row[1:]) for i, row in enumerate(log.rows, start=1)]

        counts["orders"] = _copy(
            cursor,
            "orders",
            (
                "id",
                "number",
                "channel",
                "status",
                "dealer_id",
                "warehouse_id",
                "total_cents",
                "weight_kg",
                "units",
                "delivery_day",
                "window_start_min",
                "window_end_min",
                "priority",
                "entered_by",
                "note",
                "created_at",
            ),
            iter(order_rows),
        )
        counts["orderline"] = _copy(
            cursor,
            "orderline",
            ("id", "order_id", "product_id", "quantity", "unit_price_cents", "line_total_cents"),
            iter(line_rows),
        )
        counts["delivery"] = _copy(
            cursor,
            "delivery",
            (
                "id",
                "order_id",
                "external_id",
                "source",
                "day",
                "depot_id",
                "label",
                "address",
                "contact_phone",
                "latitude",
                "longitude",
                "demand_kg",
                "demand_units",
                "window_start_min",
                "window_end_min",
                "service_min",
                "priority",
                "status",
                "attempt",
                "route_id",
                "sequence",
                "eta",
                "failure_reason",
                "updated_at",
            ),
            iter(delivery_rows),
        )
        counts["deliveredquantity"] = _copy(
            cursor,
            "deliveredquantity",
            ("id", "delivery_id", "order_line_id", "quantity", "recorded_at"),
            iter(short_rows),
        )
        counts["event"] = _copy(
            cursor,
            "event",
            (
                "id",
                "at",
                "actor",
                "role",
                "entity",
                "entity_id",
                "event_type",
                "from_state",
                "to_state",
                "order_id",
                "payload",
            ),
            iter(log.rows),
        )
        for table in counts:
            # Table names are the fixed keys of `counts`, never user input.
            sequence = f"pg_get_serial_sequence('\"{table}\"', 'id')"
            cursor.execute(f'SELECT setval({sequence}, (SELECT max(id) FROM "{table}"))')  # noqa: S608
        connection.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    return counts


def kpi_queries() -> list[tuple[str, Callable[[Session, KpiFilter], object]]]:
    """Return (name, call) for every figure of the KPI page."""
    return [
        ("latest event id (live poll)", lambda s, f: latest_event_id(s)),
        ("order volume and value", lambda s, f: kpis.order_volume(s, f)),
        ("order volume by day", lambda s, f: kpis.order_volume(s, f, Dimension.DAY)),
        ("order volume by territory", lambda s, f: kpis.order_volume(s, f, Dimension.TERRITORY)),
        ("orders on credit hold", lambda s, f: kpis.credit_holds(s, f)),
        ("fill rate", lambda s, f: kpis.fill_rate(s, f)),
        ("fill rate by dealer", lambda s, f: kpis.fill_rate(s, f, Dimension.DEALER)),
        (
            "delivery performance (on time, OTIF, reattempts, returns)",
            lambda s, f: kpis.delivery_performance(s, f),
        ),
        (
            "delivery performance by day",
            lambda s, f: kpis.delivery_performance(s, f, Dimension.DAY),
        ),
        (
            "delivery performance by rider",
            lambda s, f: kpis.delivery_performance(s, f, Dimension.RIDER),
        ),
        (
            "delivery performance by territory",
            lambda s, f: kpis.delivery_performance(s, f, Dimension.TERRITORY),
        ),
        ("first-attempt delivery rate", lambda s, f: kpis.first_attempt_rate(s, f)),
        ("failed deliveries by reason", lambda s, f: kpis.failures_by_reason(s, f)),
        ("average service time", lambda s, f: kpis.service_time(s, f)),
        ("routes: planned against actual (page of 500)", lambda s, f: kpis.route_table(s, f)),
        ("route totals and cost per drop", lambda s, f: kpis.route_totals(s, f)),
        ("rider utilisation and stops per hour", lambda s, f: kpis.rider_utilisation(s, f)),
        ("credit exposure and overdue by dealer", lambda s, f: kpis.credit_exposure(s, f)),
    ]


def time_queries(url: str, start: date, end: date, runs: int) -> list[tuple[str, float, float]]:
    """Run every KPI `runs` times on the range and return (name, median s, max s)."""
    engine = make_engine(url)
    flt = KpiFilter(start=start, end=end)
    results = []
    try:
        with Session(engine) as session:
            for name, call in kpi_queries():
                call(session, flt)  # warm the connection and the plan cache
                timings = []
                for _ in range(runs):
                    started = time.perf_counter()
                    call(session, flt)
                    timings.append(time.perf_counter() - started)
                results.append((name, statistics.median(timings), max(timings)))
    finally:
        engine.dispose()
    return results


@click.command("kpis")
@click.option(
    "--orders",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Orders to load.",
)
@click.option(
    "--events",
    type=click.IntRange(min=1),
    default=1_000_000,
    show_default=True,
    help="Events to load.",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Timed runs per query; the median is reported.",
)
@click.option(
    "--days",
    "range_days",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Length of the queried range in days, ending on the last loaded day.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the synthetic data.")
@click.option(
    "--admin-url",
    default=lambda: os.environ.get("DISTRO_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL),
    show_default="DISTRO_TEST_POSTGRES_URL or the local server",
    help="PostgreSQL URL of a database where a throwaway database may be created.",
)
@click.option("--keep", is_flag=True, help="Keep the benchmark database instead of dropping it.")
def kpis_command(
    orders: int, events: int, runs: int, range_days: int, seed: int, admin_url: str, keep: bool
) -> None:
    """Time every KPI query on a synthetic network in a throwaway PostgreSQL database."""
    if not admin_url.startswith("postgresql"):
        raise click.BadParameter(
            f"{mask_url(admin_url)} is not a PostgreSQL URL", param_hint="--admin-url"
        )
    name = f"distro_bench_kpis_{uuid.uuid4().hex[:8]}"
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        upgrade_database(url)
        started = time.perf_counter()
        counts = load_network(url, orders, events, seed)
        load_seconds = time.perf_counter() - started

        end = FIRST_DAY + timedelta(days=DAYS - 1)
        start = end - timedelta(days=range_days - 1)
        results = time_queries(url, start, end, runs)
        with admin.connect() as connection:
            server = connection.execute(text("SHOW server_version")).scalar()
    finally:
        if not keep:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    click.echo(
        f"# KPI benchmark: {counts['orders']:,} orders, {counts['event']:,} events, "
        f"{counts['route']:,} routes; loaded in {load_seconds:.0f} s"
    )
    click.echo(
        f"# range {start} to {end} ({range_days} days), median of {runs} runs; "
        f"PostgreSQL {server}; {os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    click.echo("| KPI | median ms | max ms |")
    click.echo("|---|---:|---:|")
    for label, median, worst in results:
        click.echo(f"| {label} | {median * 1000:.0f} | {worst * 1000:.0f} |")
    if keep:
        click.echo(f"Kept database {name}.")


if __name__ == "__main__":
    kpis_command()

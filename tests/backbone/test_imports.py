"""Importers: real benchmark files, the orders CSV, and bad files that must leave no trace."""

from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, func, select

from distro.backbone.errors import ConflictError, ImportFileError
from distro.backbone.imports import (
    PLANAR_ORIGIN,
    import_cvrplib,
    import_loggibud,
    import_orders_csv,
    planar_to_latlon,
)
from distro.backbone.models import (
    Dealer,
    Delivery,
    DeliveryStatus,
    Event,
    Order,
    OrderLine,
    PriceTier,
    Product,
    Rider,
    Shift,
    Stock,
    TierPrice,
    Vehicle,
    Warehouse,
)
from distro.commands.imports import import_group
from distro.db import make_engine, reset_engine, session_scope, upgrade_database
from distro.demo.towns import haversine_km
from distro.settings import REPO_ROOT, reset_settings

DAY = date(2026, 3, 2)
INSTANCES = Path(
    os.environ.get("DISTRO_VRP_INSTANCES") or REPO_ROOT.parent / "shared" / "vrp-instances"
)
RJ0 = INSTANCES / "lastmile" / "loggibud-cvrp-0-rj-0.json"
X101 = INSTANCES / "cvrp" / "X-n101-k25.vrp"
C101 = INSTANCES / "vrptw" / "C101.txt"
C201 = INSTANCES / "vrptw" / "C201.txt"


def needs(path: Path):
    """Skip a test when a benchmark file is not on this machine."""
    return pytest.mark.skipif(
        not path.exists(),
        reason=f"benchmark file {path} not found; set DISTRO_VRP_INSTANCES to the folder with "
        "lastmile/, cvrp/ and vrptw/",
    )


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path}/t.db"
    upgrade_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def network(engine):
    """A depot, two dealers and three products with stock: the smallest network for orders."""
    with session_scope(engine) as session:
        tier = PriceTier(code="gold", name="Gold")
        depot = Warehouse(code="DEPOT", name="Depot", kind="plant", latitude=51.5, longitude=7.46)
        session.add_all([tier, depot])
        session.flush()
        products = [
            Product(sku="SKU-101", name="Water case", weight_kg=13.0),
            Product(sku="SKU-102", name="Juice pack", weight_kg=6.4),
            Product(sku="SKU-103", name="Syrup canister", weight_kg=6.2, pack_size=2),
        ]
        session.add_all(products)
        session.flush()
        session.add_all(
            TierPrice(tier_id=tier.id, product_id=p.id, unit_price_cents=1000) for p in products
        )
        session.add_all(Stock(warehouse_id=depot.id, product_id=p.id, on_hand=50) for p in products)
        session.add_all(
            Dealer(
                code=code,
                name=f"Dealer {code}",
                tier_id=tier.id,
                credit_limit_cents=1_000_000,
                latitude=51.45,
                longitude=7.4,
                warehouse_id=depot.id,
            )
            for code in ("D-0001", "D-0002")
        )
    return engine


def _snapshot(engine):
    """Counts and sums that any write by an import would change."""
    with Session(engine) as session:
        return {
            "orders": session.exec(select(func.count()).select_from(Order)).one(),
            "lines": session.exec(select(func.count()).select_from(OrderLine)).one(),
            "deliveries": session.exec(select(func.count()).select_from(Delivery)).one(),
            "events": session.exec(select(func.count()).select_from(Event)).one(),
            "warehouses": session.exec(select(func.count()).select_from(Warehouse)).one(),
            "vehicles": session.exec(select(func.count()).select_from(Vehicle)).one(),
            "shifts": session.exec(select(func.count()).select_from(Shift)).one(),
            "reserved": session.exec(select(func.coalesce(func.sum(Stock.reserved), 0))).one(),
            "exposure": session.exec(
                select(func.coalesce(func.sum(Dealer.open_orders_cents), 0))
            ).one(),
        }


def _write(tmp_path, text, name="orders.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _import_csv(engine, path, day=DAY):
    with session_scope(engine) as session:
        return import_orders_csv(session, path, day)


# --------------------------------------------------------------------------- loggibud


@needs(RJ0)
def test_loggibud_rj0_stops_and_fleet(engine):
    with session_scope(engine) as session:
        result = import_loggibud(session, RJ0, DAY)
    data = json.loads(RJ0.read_text())

    assert result.deliveries_created == 221
    assert result.depot_code == "LOGGIBUD-CVRP-0-RJ-0"
    with Session(engine) as session:
        depot = session.exec(
            select(Warehouse).where(Warehouse.code == "LOGGIBUD-CVRP-0-RJ-0")
        ).one()
        stops = session.exec(select(Delivery).where(Delivery.depot_id == depot.id)).all()
        shifts = session.exec(
            select(Shift, Vehicle)
            .join(Vehicle, col(Vehicle.id) == col(Shift.vehicle_id))
            .where(Shift.depot_id == depot.id)
        ).all()
        events = session.exec(
            select(func.count()).select_from(Event).where(Event.event_type == "delivery_created")
        ).one()

    assert (depot.latitude, depot.longitude) == (data["origin"]["lat"], data["origin"]["lng"])
    assert len(stops) == 221
    assert len({stop.external_id for stop in stops}) == 221
    assert sum(stop.demand_units for stop in stops) == 1179
    assert all(stop.source == "cvrp-0-rj-0" for stop in stops)
    assert all(stop.day == DAY and stop.status == DeliveryStatus.PENDING for stop in stops)
    assert events == 221

    # ceil(1179 / 180) = 7 vehicles, plus 30% spare rounded up = 10.
    assert len(shifts) == 10
    assert all(vehicle.capacity_units == 180 for _, vehicle in shifts)
    assert all(
        vehicle.capacity_kg >= max(stop.demand_kg for stop in stops) for _, vehicle in shifts
    )
    assert sum(vehicle.capacity_units for _, vehicle in shifts) >= 1.3 * 1179


@needs(RJ0)
def test_loggibud_reimport_rejected(engine):
    with session_scope(engine) as session:
        import_loggibud(session, RJ0, DAY)
    before = _snapshot(engine)
    with pytest.raises(ConflictError, match="already imported"), session_scope(engine) as session:
        import_loggibud(session, RJ0, DAY)
    assert _snapshot(engine) == before


@needs(RJ0)
def test_loggibud_replace_cancels_old_stops(engine):
    with session_scope(engine) as session:
        import_loggibud(session, RJ0, DAY)
    with session_scope(engine) as session:
        result = import_loggibud(session, RJ0, DAY, replace=True)
    assert result.stops_replaced == 221
    assert result.vehicles_created == 0
    assert result.shifts_created == 0
    with Session(engine) as session:
        statuses = session.exec(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    assert dict(statuses) == {DeliveryStatus.CANCELLED: 221, DeliveryStatus.PENDING: 221}


@needs(RJ0)
def test_loggibud_other_day_reuses_fleet(engine):
    with session_scope(engine) as session:
        import_loggibud(session, RJ0, DAY)
    with session_scope(engine) as session:
        result = import_loggibud(session, RJ0, date(2026, 3, 3))
    assert result.deliveries_created == 221
    assert result.vehicles_created == 0
    assert result.riders_created == 0
    assert result.shifts_created == 10


@needs(RJ0)
@pytest.mark.slow
def test_loggibud_rj0_plans_every_stop(engine):
    from distro.backbone.actors import SYSTEM
    from distro.backbone.fulfillment import plan_routes
    from distro.backbone.models import Plan, Route

    with session_scope(engine) as session:
        result = import_loggibud(session, RJ0, DAY)
        depot_id = session.exec(
            select(Warehouse.id).where(Warehouse.code == result.depot_code)
        ).one()
    plan_id = plan_routes(DAY, depot_id, SYSTEM, time_limit=5, engine=engine)
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        routes = session.exec(select(Route).where(Route.plan_id == plan_id)).all()
    assert plan.unassigned == []
    assert sum(route.load_units for route in routes) == 1179
    assert all(route.load_units <= 180 for route in routes)


def test_loggibud_bad_deliveries_listed(engine, tmp_path):
    data = {
        "name": "broken",
        "origin": {"lat": -22.8, "lng": -43.3},
        "vehicle_capacity": 10,
        "deliveries": [
            {"id": "a", "point": {"lat": -22.9, "lng": -43.2}, "size": 3},
            {"id": "b", "point": {"lat": -22.9}, "size": 3},
            {"id": "c", "point": {"lat": -22.9, "lng": -43.2}, "size": "x"},
            {"id": "d", "point": {"lat": -22.9, "lng": -43.2}, "size": 11},
        ],
    }
    path = _write(tmp_path, json.dumps(data), "broken.json")
    before = _snapshot(engine)
    with pytest.raises(ImportFileError) as error, session_scope(engine) as session:
        import_loggibud(session, path, DAY)
    rows = error.value.details["rows"]
    assert [row["row"] for row in rows] == [2, 3, 4]
    assert "point" in rows[0]["reason"]
    assert "size 'x'" in rows[1]["reason"]
    assert "above the vehicle capacity 10" in rows[2]["reason"]
    assert _snapshot(engine) == before


def test_loggibud_invalid_json(engine, tmp_path):
    path = _write(tmp_path, '{"name": "x",\n "origin": }', "bad.json")
    with pytest.raises(ImportFileError) as error, session_scope(engine) as session:
        import_loggibud(session, path, DAY)
    assert error.value.details["rows"][0]["row"] == 2


# --------------------------------------------------------------------------- CVRPLIB and Solomon


@needs(X101)
def test_cvrplib_x101_projection_keeps_distances(engine):
    with session_scope(engine) as session:
        result = import_cvrplib(session, X101, DAY)
    assert result.kind == "cvrplib"
    assert result.deliveries_created == 100
    with Session(engine) as session:
        depot = session.exec(select(Warehouse).where(Warehouse.code == "CVRPLIB-X-N101-K25")).one()
        stops = {
            s.external_id: s
            for s in session.exec(select(Delivery).where(Delivery.depot_id == depot.id))
        }
        vehicles = session.exec(
            select(Vehicle)
            .join(Shift, col(Shift.vehicle_id) == col(Vehicle.id))
            .where(Shift.depot_id == depot.id)
        ).all()
    assert (depot.latitude, depot.longitude) == PLANAR_ORIGIN
    assert sum(stop.demand_units for stop in stops.values()) <= sum(
        v.capacity_units for v in vehicles
    )
    assert all(vehicle.capacity_units == 206 for vehicle in vehicles)

    # Nodes 2 (146, 180) and 3 (792, 5) of X-n101-k25: 669.3 units apart, 40 m per unit.
    a, b = stops["2"], stops["3"]
    expected_km = math.dist((146, 180), (792, 5)) * 40 / 1000
    assert haversine_km(a.latitude, a.longitude, b.latitude, b.longitude) == pytest.approx(
        expected_km, rel=0.005
    )


@needs(C101)
def test_solomon_c101_windows_and_fleet(engine):
    with session_scope(engine) as session:
        result = import_cvrplib(session, C101, DAY)
    assert result.kind == "solomon"
    with Session(engine) as session:
        depot = session.exec(select(Warehouse).where(Warehouse.code == "SOLOMON-C101")).one()
        stops = {
            s.external_id: s
            for s in session.exec(select(Delivery).where(Delivery.depot_id == depot.id))
        }
        shifts = session.exec(select(Shift).where(Shift.depot_id == depot.id)).all()
    assert len(stops) == 100
    assert len(shifts) == 25
    assert all(
        stop.window_start_min is not None and stop.window_end_min <= 24 * 60
        for stop in stops.values()
    )

    # C101 depot due date 1236 > 1080 minutes left after 06:00, so times scale by 1080/1236.
    factor = 1080 / 1236
    assert shifts[0].start_min == 360
    assert shifts[0].end_min == 360 + 1080
    # Customer 1: ready 912, due 967, service 90.
    assert stops["1"].window_start_min == 360 + round(912 * factor)
    assert stops["1"].window_end_min == 360 + round(967 * factor)
    assert stops["1"].service_min == round(90 * factor)


@needs(C201)
def test_solomon_long_horizon_fits_one_day(engine):
    with session_scope(engine) as session:
        result = import_cvrplib(session, C201, DAY)
    assert any("scaled" in note for note in result.notes)
    with Session(engine) as session:
        latest = session.exec(select(func.max(Delivery.window_end_min))).one()
        shift_end = session.exec(select(func.max(Shift.end_min))).one()
    assert latest <= 24 * 60
    assert shift_end <= 24 * 60


@needs(X101)
def test_cvrplib_reimport_rejected(engine):
    with session_scope(engine) as session:
        import_cvrplib(session, X101, DAY)
    with pytest.raises(ConflictError), session_scope(engine) as session:
        import_cvrplib(session, X101, DAY)


def test_planar_projection_is_linear():
    origin = planar_to_latlon(10, 20, (10, 20), 100)
    east = planar_to_latlon(110, 20, (10, 20), 100)
    north = planar_to_latlon(10, 120, (10, 20), 100)
    assert origin == PLANAR_ORIGIN
    assert haversine_km(*origin, *east) == pytest.approx(10.0, rel=0.001)
    assert haversine_km(*origin, *north) == pytest.approx(10.0, rel=0.001)


def test_solomon_bad_lines_listed(engine, tmp_path):
    text = (
        "BAD1\n\nVEHICLE\nNUMBER     CAPACITY\n  3         50\n\nCUSTOMER\n"
        "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n\n"
        "    0      40         50          0          0       230          0\n"
        "    1      45         68         10         50        20         10\n"
        "    2      45         70         60          0       100         10\n"
        "    3      45         70         10          0       100\n"
    )
    path = _write(tmp_path, text, "BAD1.txt")
    before = _snapshot(engine)
    with pytest.raises(ImportFileError) as error, session_scope(engine) as session:
        import_cvrplib(session, path, DAY)
    rows = error.value.details["rows"]
    assert [row["row"] for row in rows] == [11, 12, 13]
    assert "READY TIME 50 is after DUE DATE 20" in rows[0]["reason"]
    assert "above the vehicle capacity 50" in rows[1]["reason"]
    assert "7 numbers" in rows[2]["reason"]
    assert _snapshot(engine) == before


def test_cvrplib_bad_demand_line(engine, tmp_path):
    text = (
        "NAME : tiny\nTYPE : CVRP\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EUC_2D\nCAPACITY : 10\n"
        "NODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nDEMAND_SECTION\n1 0\n2 abc\n3 4\n"
        "DEPOT_SECTION\n1\n-1\nEOF\n"
    )
    path = _write(tmp_path, text, "tiny.vrp")
    with pytest.raises(ImportFileError) as error, session_scope(engine) as session:
        import_cvrplib(session, path, DAY)
    assert error.value.details["rows"] == [
        {"row": 12, "reason": "demand line '2 abc' is not '<node> <demand>' with whole numbers"}
    ]


def test_cvrplib_unknown_format(engine, tmp_path):
    path = _write(tmp_path, "hello\n", "hello.txt")
    with pytest.raises(ImportFileError, match="unknown format"), session_scope(engine) as session:
        import_cvrplib(session, path, DAY)


# --------------------------------------------------------------------------- orders CSV


def test_orders_csv_happy_path(network, tmp_path):
    path = _write(
        tmp_path,
        "dealer_code,latitude,longitude,sku,quantity,order_ref,window_start,window_end,label\n"
        "D-0001,,,SKU-101,4,PO-1,09:00,12:00,\n"
        "D-0001,,,sku-102,2,PO-1,09:00,12:00,\n"
        "D-0002,,,SKU-103,2,,,,\n"
        ",51.49,7.45,SKU-101,3,EXT-7,14:00,16:00,Kiosk\n"
        ",51.49,7.45,SKU-102,1,EXT-7,14:00,16:00,Kiosk\n",
    )
    result = _import_csv(network, path)

    assert result.orders_created == 2
    assert result.order_lines == 3
    assert result.deliveries_created == 3
    with Session(network) as session:
        orders = session.exec(select(Order).order_by(col(Order.id))).all()
        reserved = dict(
            session.exec(
                select(Product.sku, Stock.reserved).join(
                    Product, col(Product.id) == col(Stock.product_id)
                )
            ).all()
        )
        stop = session.exec(select(Delivery).where(Delivery.source == "csv")).one()
        exposure = dict(session.exec(select(Dealer.code, Dealer.open_orders_cents)).all())
    assert (orders[0].window_start_min, orders[0].window_end_min) == (540, 720)
    assert orders[0].units == 6
    assert reserved == {"SKU-101": 4, "SKU-102": 2, "SKU-103": 2}
    assert exposure == {"D-0001": 6000, "D-0002": 2000}
    assert stop.external_id == "EXT-7"
    assert stop.label == "Kiosk"
    assert stop.demand_kg == math.ceil(3 * 13.0 + 6.4)
    assert stop.demand_units == 4
    assert (stop.window_start_min, stop.window_end_min) == (840, 960)


def test_orders_csv_reimport_skips(network, tmp_path):
    path = _write(
        tmp_path, "dealer_code,sku,quantity,order_ref\nD-0001,SKU-101,4,PO-1\nD-0002,SKU-102,1,\n"
    )
    _import_csv(network, path)
    before = _snapshot(network)
    again = _import_csv(network, path)
    assert again.orders_created == 0
    assert again.skipped_existing == 2
    assert _snapshot(network) == before


def test_orders_csv_delivery_day_column(network, tmp_path):
    path = _write(
        tmp_path,
        "dealer_code,sku,quantity,delivery_day\nD-0001,SKU-101,1,2026-03-05\nD-0001,SKU-101,1,\n",
    )
    _import_csv(network, path)
    with Session(network) as session:
        days = session.exec(select(Order.delivery_day).order_by(col(Order.id))).all()
    assert days == [date(2026, 3, 5), DAY]


def test_orders_csv_semicolons(network, tmp_path):
    path = _write(tmp_path, "dealer_code;sku;quantity\nD-0001;SKU-101;2\n")
    assert _import_csv(network, path).orders_created == 1


@pytest.mark.parametrize(
    ("text", "row", "reason"),
    [
        (
            "dealer_code,sku,quantity\nD-0001,SKU-101,1\nD-0001,SKU-101,abc\n",
            3,
            'quantity "abc" is not a whole number',
        ),
        (
            "dealer_code,sku,quantity\nD-0001,SKU-101,0\n",
            2,
            'quantity "0" is not a whole number above 0',
        ),
        (
            "dealer_code,sku,quantity\nD-0001,SKU-999,1\n",
            2,
            'sku "SKU-999" is not an active product',
        ),
        (
            "dealer_code,sku,quantity\nD-0001,SKU-101,1\nD-9999,SKU-101,1\n",
            3,
            'dealer_code "D-9999" is not an active dealer',
        ),
        ("dealer_code,quantity\nD-0001,1\n", 1, "missing column(s) sku"),
        ("dealer_code,sku,quantty\nD-0001,SKU-101,1\n", 1, "unknown column(s) 'quantty'"),
        (
            "dealer_code,sku,quantity,window_start,window_end\nD-0001,SKU-101,1,9am,12:00\n",
            2,
            'window time "9am"',
        ),
        (
            "dealer_code,sku,quantity,window_start,window_end\nD-0001,SKU-101,1,12:00,09:00\n",
            2,
            "is not before window_end",
        ),
        (
            "dealer_code,sku,quantity,delivery_day\nD-0001,SKU-101,1,03/05/2026\n",
            2,
            'delivery_day "03/05/2026"',
        ),
        ("sku,quantity,latitude,longitude\nSKU-101,1,95,7.4\n", 2, "out of range"),
        (
            "dealer_code,sku,quantity\nD-0001,SKU-101,1\nD-0001,SKU-101,1\nD-0002,SKU-101,49\n",
            4,
            "not enough stock of SKU-101: 48 available, 49 requested",
        ),
        ("dealer_code,sku,quantity\nD-0001,SKU-103,3\n", 2, "sold in packs of 2"),
        ("dealer_code,sku,quantity\n", 1, "no rows"),
        ("dealer_code,sku,quantity\nD-0001,SKU-101\n", 2, "2 values but the header has 3 columns"),
    ],
    ids=[
        "bad-quantity",
        "zero-quantity",
        "unknown-sku",
        "unknown-dealer",
        "missing-column",
        "unknown-column",
        "bad-window",
        "reversed-window",
        "bad-day",
        "bad-latitude",
        "insufficient-stock",
        "pack-size",
        "no-rows",
        "short-row",
    ],
)
def test_orders_csv_bad_file_changes_nothing(network, tmp_path, text, row, reason):
    path = _write(tmp_path, text)
    before = _snapshot(network)
    with pytest.raises(ImportFileError) as error:
        _import_csv(network, path)
    rows = error.value.details["rows"]
    assert rows[0]["row"] == row
    assert reason in rows[0]["reason"]
    assert _snapshot(network) == before


def test_orders_csv_lists_every_bad_row(network, tmp_path):
    path = _write(
        tmp_path,
        "dealer_code,sku,quantity\nD-0001,SKU-101,x\nD-0001,SKU-101,1\nD-0001,SKU-404,1\nD-0404,SKU-101,1\n",
    )
    with pytest.raises(ImportFileError) as error:
        _import_csv(network, path)
    assert [row["row"] for row in error.value.details["rows"]] == [2, 4, 5]


def test_orders_csv_placement_failures_all_reported(network, tmp_path):
    # Every row passes the file checks and is its own order. Once the first has reserved 40 of
    # the 50 units of SKU-101, the second is short by 10; the third requests 60 of 50 SKU-102.
    path = _write(
        tmp_path,
        "dealer_code,sku,quantity\nD-0001,SKU-101,40\nD-0002,SKU-101,20\nD-0002,SKU-102,60\n",
    )
    before = _snapshot(network)
    with pytest.raises(ImportFileError) as error:
        _import_csv(network, path)
    assert [row["row"] for row in error.value.details["rows"]] == [3, 4]
    assert _snapshot(network) == before


def test_orders_csv_group_must_share_window(network, tmp_path):
    path = _write(
        tmp_path,
        "dealer_code,sku,quantity,order_ref,window_start,window_end\n"
        "D-0001,SKU-101,1,PO-1,09:00,12:00\nD-0001,SKU-102,1,PO-1,10:00,12:00\n",
    )
    with pytest.raises(ImportFileError) as error:
        _import_csv(network, path)
    assert error.value.details["rows"][0]["row"] == 3
    assert "window differs from line 2" in error.value.details["rows"][0]["reason"]


def test_orders_csv_stop_without_depot(engine, tmp_path):
    with session_scope(engine) as session:
        session.add(Product(sku="SKU-101", name="Water", weight_kg=13.0))
    path = _write(tmp_path, "latitude,longitude,sku,quantity\n51.4,7.4,SKU-101,1\n")
    with pytest.raises(ImportFileError, match="bad row") as error:
        _import_csv(engine, path)
    assert "no depot exists" in error.value.details["rows"][0]["reason"]


# --------------------------------------------------------------------------- command line


@pytest.fixture
def cli_database(network, tmp_path, monkeypatch):
    monkeypatch.setenv("DISTRO_DATABASE_URL", f"sqlite:///{tmp_path}/t.db")
    reset_settings()
    reset_engine()
    yield network
    reset_engine()
    reset_settings()


def test_import_orders_command(cli_database, tmp_path):
    path = _write(tmp_path, "dealer_code,sku,quantity\nD-0001,SKU-101,2\n")
    result = CliRunner().invoke(import_group, ["orders", str(path), "--day", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert "1 orders with 1 lines" in result.output


def test_import_orders_command_bad_rows_exit_2(cli_database, tmp_path):
    path = _write(tmp_path, "dealer_code,sku,quantity\nD-0001,SKU-101,abc\nD-0001,SKU-999,1\n")
    result = CliRunner().invoke(import_group, ["orders", str(path)])
    assert result.exit_code == 2
    assert 'row 2: quantity "abc"' in result.output
    assert 'row 3: sku "SKU-999"' in result.output


@needs(RJ0)
def test_import_loggibud_command_replace(cli_database):
    runner = CliRunner()
    first = runner.invoke(import_group, ["loggibud", str(RJ0), "--day", "2026-03-02"])
    assert first.exit_code == 0, first.output
    assert "221 delivery stops" in first.output
    second = runner.invoke(import_group, ["loggibud", str(RJ0), "--day", "2026-03-02"])
    assert second.exit_code == 1
    assert "--replace" in second.output
    third = runner.invoke(import_group, ["loggibud", str(RJ0), "--day", "2026-03-02", "--replace"])
    assert third.exit_code == 0, third.output
    assert "221 stops of the earlier import cancelled" in third.output
    with Session(cli_database) as session:
        assert session.exec(select(func.count()).select_from(Rider)).one() == 10

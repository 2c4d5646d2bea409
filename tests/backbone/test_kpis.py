"""KPI aggregations on a small network whose right answers are worked out by hand.

The network's time zone is America/Sao_Paulo (UTC-3 all year), so local 10:00 is 13:00 UTC.
One rider (R-1) runs a published route on DAY with five orders:

    O1  D-001 North  10 x SKU-1 = 100.00  delivered 09:10 (arrived 09:00), in full
    O2  D-002 North   5 x SKU-1 =  50.00  delivered 10:04 (arrived 10:00), 3 of 5 handed over
    O3  D-003 South  20 x SKU-3 =  70.00  refused at 11:05 (arrived 11:00); the failure rule for
                                          "refused" returns the stop at once
    O4  D-001 North   4 x SKU-1 =  40.00  cancelled after planning
    O5  D-003 South   6 x SKU-2 = 150.00  failed 12:00 before arriving (address not found, which
                                          holds the stop for dispatch), rescheduled 12:30,
                                          put back on the route, arrived 18:20, delivered 18:30
                                          (after the 08:00-18:00 window)

O7 (D-002, 3 x SKU-1 = 30.00) goes over D-002's credit limit and waits on credit hold; it was
placed at 23:30 local on the day before DAY, which is already DAY in UTC.

A second rider (R-2) works a shift from 20:00 to 02:00 the next morning and drives a route
without stops whose actual times and distance are recorded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, update
from sqlalchemy.types import DateTime
from sqlmodel import Session, col, func, select

from distro.backbone import fulfillment as ff
from distro.backbone import kpis
from distro.backbone.actors import Actor
from distro.backbone.delivery import apply_transition
from distro.backbone.errors import ValidationError
from distro.backbone.kpis import Dimension, KpiFilter
from distro.backbone.models import (
    Dealer,
    DeliveredQuantity,
    Delivery,
    DeliveryStatus,
    Event,
    Invoice,
    Order,
    OrderLine,
    Plan,
    PlanStatus,
    Rider,
    Role,
    Route,
    RouteActual,
    RouteStatus,
    Shift,
    User,
    Vehicle,
    Warehouse,
)
from distro.backbone.orders import LineRequest, cancel_order, submit_order
from distro.backbone.sqltime import local_day_number, local_range
from distro.settings import get_settings, reset_settings
from tests.factories import DAY, build_network

ZONE = ZoneInfo("America/Sao_Paulo")
DISPATCHER = Actor(username="dispatch", role=Role.DISPATCHER)
DEALER_DESK = Actor(username="desk", role=Role.DEALER)
DAY_BEFORE = DAY - timedelta(days=1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Return a local wall-clock time in the network's zone as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture(autouse=True)
def kpi_settings(monkeypatch):
    monkeypatch.setenv("DISTRO_TIMEZONE", "America/Sao_Paulo")
    monkeypatch.setenv("DISTRO_COST_PER_KM", "0.5")
    monkeypatch.setenv("DISTRO_COST_PER_RIDER_HOUR", "15")
    monkeypatch.setenv("DISTRO_COST_PER_VEHICLE_DAY", "40")
    monkeypatch.setenv("DISTRO_PAYMENT_TERMS_DAYS", "30")
    monkeypatch.setenv("DISTRO_ETA_TOLERANCE_MIN", "15")
    # Proof of delivery has its own tests; these stops need none.
    monkeypatch.setenv("DISTRO_PROOF_REQUIRED", "")
    reset_settings()
    yield
    reset_settings()


def set_event_times(session: Session, after_id: int, at: datetime) -> None:
    """Give every event written since `after_id` the timestamp `at`."""
    session.flush()
    session.exec(update(Event).where(col(Event.id) > after_id).values(at=at))


def last_event_id(session: Session) -> int:
    return session.exec(select(Event.id).order_by(col(Event.id).desc()).limit(1)).first() or 0


def move(engine, actor, delivery_id, target, at, payload=None):
    """Apply one delivery transition and date its events and any invoice it raised at `at`."""
    with Session(engine) as session:
        before = last_event_id(session)
        last_invoice = session.exec(select(func.max(Invoice.id))).one() or 0
        apply_transition(session, actor, delivery_id, target, payload=payload)
        set_event_times(session, before, at)
        terms = timedelta(days=get_settings().payment_terms_days)
        session.exec(
            update(Invoice)
            .where(col(Invoice.id) > last_invoice)
            .values(issued_at=at, due_at=at + terms)
        )
        session.commit()


class Scenario:
    """Ids and planned figures of the fixture network."""

    def __init__(
        self, network, orders, deliveries, route, rider_actor, night_rider_id, night_route
    ):
        self.network = network
        self.orders = orders
        self.deliveries = deliveries
        self.route = route
        self.rider_actor = rider_actor
        self.night_rider_id = night_rider_id
        self.night_route = night_route


def build_scenario(engine) -> Scenario:
    network = build_network(engine, dealers=3, vehicles=((500, 60),))
    north_1, north_2, south = network.dealer_ids
    with Session(engine) as session:
        for dealer_id, territory in ((north_1, "North"), (north_2, "North"), (south, "South")):
            dealer = session.get(Dealer, dealer_id)
            dealer.territory = territory
            if dealer_id == north_2:
                dealer.credit_limit_cents = 6000
            session.add(dealer)
        shift = session.get(Shift, network.shift_ids[0])
        shift.start_min, shift.end_min = 7 * 60 + 30, 19 * 60 + 30
        session.add(shift)
        rider_1 = network.rider_ids[0]
        session.add(User(username="rider1", role=Role.RIDER, rider_id=rider_1))
        session.commit()

    def place(dealer_id, sku, quantity, **extra):
        return submit_order(
            engine,
            DEALER_DESK,
            dealer_id=dealer_id,
            delivery_day=DAY,
            lines=[LineRequest(sku, quantity)],
            **extra,
        )

    orders = {
        "O1": place(north_1, "SKU-1", 10),
        "O2": place(north_2, "SKU-1", 5),
        "O3": place(south, "SKU-3", 20),
        "O4": place(north_1, "SKU-1", 4),
        "O5": place(south, "SKU-2", 6),
    }
    orders["O7"] = place(north_2, "SKU-1", 3, allow_credit_hold=True)
    with Session(engine) as session:
        for name, order in orders.items():
            placed = local(DAY_BEFORE, 23, 30) if name == "O7" else local(DAY, 7)
            session.exec(update(Order).where(col(Order.id) == order.id).values(created_at=placed))
        session.commit()

    plan_id = ff.plan_routes(DAY, network.depot_id, DISPATCHER, time_limit=0.5, engine=engine)
    with Session(engine, expire_on_commit=False) as session:
        ff.publish_plan(session, DISPATCHER, plan_id)
        session.commit()
        deliveries = {
            name: session.exec(select(Delivery).where(Delivery.order_id == order.id)).one().id
            for name, order in orders.items()
            if name != "O7"
        }
        route = session.exec(select(Route).where(Route.plan_id == plan_id)).one()
        cancel_order(session, DISPATCHER, orders["O4"].id, "dealer changed its mind")
        session.commit()

    rider = Actor(username="rider1", role=Role.RIDER, rider_id=network.rider_ids[0])
    out = DeliveryStatus.OUT_FOR_DELIVERY
    for name in ("O1", "O2", "O3", "O5"):
        move(engine, rider, deliveries[name], out, local(DAY, 8))

    move(engine, rider, deliveries["O1"], DeliveryStatus.ARRIVED, local(DAY, 9))
    move(engine, rider, deliveries["O1"], DeliveryStatus.DELIVERED, local(DAY, 9, 10))

    move(engine, rider, deliveries["O2"], DeliveryStatus.ARRIVED, local(DAY, 10))
    with Session(engine) as session:
        line = session.exec(select(OrderLine).where(OrderLine.order_id == orders["O2"].id)).one()
        session.add(
            DeliveredQuantity(delivery_id=deliveries["O2"], order_line_id=line.id, quantity=3)
        )
        session.commit()
    move(engine, rider, deliveries["O2"], DeliveryStatus.DELIVERED, local(DAY, 10, 4))

    move(engine, rider, deliveries["O3"], DeliveryStatus.ARRIVED, local(DAY, 11))
    move(
        engine,
        rider,
        deliveries["O3"],
        DeliveryStatus.FAILED,
        local(DAY, 11, 5),
        {"reason_code": "refused"},
    )

    move(
        engine,
        rider,
        deliveries["O5"],
        DeliveryStatus.FAILED,
        local(DAY, 12),
        {"reason_code": "address_not_found"},
    )
    move(engine, DISPATCHER, deliveries["O5"], DeliveryStatus.PENDING, local(DAY, 12, 30))
    with Session(engine) as session:
        ff.move_stop(session, DISPATCHER, deliveries["O5"], route.id)
        session.commit()
    move(engine, rider, deliveries["O5"], out, local(DAY, 13))
    move(engine, rider, deliveries["O5"], DeliveryStatus.ARRIVED, local(DAY, 18, 20))
    move(engine, rider, deliveries["O5"], DeliveryStatus.DELIVERED, local(DAY, 18, 30))

    with Session(engine, expire_on_commit=False) as session:
        vehicle = Vehicle(
            code="V-2", name="Night van", capacity_kg=500, capacity_units=50, cost_per_km_cents=80
        )
        night_rider = Rider(code="R-2", name="Rider 2")
        session.add_all([vehicle, night_rider])
        session.flush()
        night_shift = Shift(
            rider_id=night_rider.id,
            vehicle_id=vehicle.id,
            depot_id=network.depot_id,
            day=DAY,
            start_min=20 * 60,
            end_min=2 * 60,
        )
        night_plan = Plan(day=DAY, depot_id=network.depot_id, status=PlanStatus.PUBLISHED)
        session.add_all([night_shift, night_plan])
        session.flush()
        night_route = Route(
            plan_id=night_plan.id,
            day=DAY,
            depot_id=network.depot_id,
            vehicle_id=vehicle.id,
            rider_id=night_rider.id,
            shift_id=night_shift.id,
            status=RouteStatus.PUBLISHED,
            distance_m=25_000,
            duration_s=14_400,
        )
        session.add(night_route)
        session.flush()
        session.add(
            RouteActual(
                route_id=night_route.id,
                started_at=local(DAY, 20, 30),
                finished_at=local(DAY + timedelta(days=1), 1, 30),
                distance_m=30_000,
            )
        )
        session.commit()
        route = session.get(Route, route.id)

    return Scenario(network, orders, deliveries, route, rider, night_rider.id, night_route)


@pytest.fixture
def scenario(engine):
    return build_scenario(engine), engine


def the_day(**narrowing) -> KpiFilter:
    return KpiFilter(start=DAY, end=DAY, **narrowing)


def test_scenario_route_carries_every_stop(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        on_route = session.exec(
            select(Delivery.id).where(Delivery.route_id == setup.route.id)
        ).all()
    # O1, O2, O3 and O5 stay on the route; cancelling O4 took it off.
    assert sorted(on_route) == sorted(setup.deliveries[n] for n in ("O1", "O2", "O3", "O5"))


def test_order_volume_counts_orders_of_the_day(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (total,) = kpis.order_volume(session, the_day())
    # O1..O5 were placed at 07:00 on DAY; O7 at 23:30 local the day before.
    assert total["orders"] == 5
    # 10000 + 5000 + 7000 + 4000 + 15000 cents
    assert total["value_cents"] == 41_000
    # O4 was cancelled after planning, and O3's order was cancelled when its stop was returned.
    assert total["cancelled"] == 2
    assert total["credit_hold"] == 0


def test_order_volume_uses_local_day(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.order_volume(session, KpiFilter(DAY_BEFORE, DAY), by=Dimension.DAY)
    by_day = {row["key"]: row for row in rows}
    # O7 was placed at 02:30 UTC on DAY, which is 23:30 on the day before in Sao Paulo.
    assert by_day[DAY_BEFORE]["orders"] == 1
    assert by_day[DAY_BEFORE]["credit_hold"] == 1
    assert by_day[DAY]["orders"] == 5


def test_order_volume_by_territory(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.order_volume(session, KpiFilter(DAY_BEFORE, DAY), by=Dimension.TERRITORY)
    by_territory = {row["key"]: row for row in rows}
    # North: O1 10000 + O4 4000 + O2 5000 + O7 3000; South: O3 7000 + O5 15000.
    assert by_territory["North"]["orders"] == 4
    assert by_territory["North"]["value_cents"] == 22_000
    assert by_territory["South"]["orders"] == 2
    assert by_territory["South"]["value_cents"] == 22_000


def test_order_volume_filters_by_dealer_and_rider(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        (dealer_row,) = kpis.order_volume(session, the_day(dealer_id=setup.network.dealer_ids[2]))
        (rider_row,) = kpis.order_volume(session, the_day(rider_id=setup.network.rider_ids[0]))
        (channel_row,) = kpis.order_volume(session, the_day(channel="customer"))
    # D-003 placed O3 and O5.
    assert dealer_row["orders"] == 2
    # R-1's route carries O1, O2, O3 and O5; O4 left the route when it was cancelled.
    assert rider_row["orders"] == 4
    assert channel_row["orders"] == 0


def test_order_volume_empty_range_is_zero(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.order_volume(
            session, KpiFilter(DAY + timedelta(days=5), DAY + timedelta(days=6))
        )
    assert row["orders"] == 0
    assert row["value_cents"] == 0


def test_credit_holds_lists_waiting_orders(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.credit_holds(session, the_day())
        by_dealer = kpis.credit_holds(session, the_day(), by=Dimension.DEALER)
    assert row["orders"] == 1
    assert row["value_cents"] == 3_000
    assert [r["key"] for r in by_dealer] == [setup.network.dealer_ids[1]]


def test_fill_rate_counts_partial_and_returned(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.fill_rate(session, the_day())
    # Closed orders: O1 10/10, O2 3/5 (partial), O5 6/6 (after a reattempt), O3 0/20 (returned).
    # O4 was cancelled before dispatch and does not count.
    assert row["ordered_units"] == 41
    assert row["delivered_units"] == 19
    assert row["fill_rate"] == pytest.approx(19 / 41)


def test_fill_rate_by_territory(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.fill_rate(session, the_day(), by=Dimension.TERRITORY)
    by_territory = {row["key"]: row for row in rows}
    # North: O1 10/10 + O2 3/5 = 13/15. South: O5 6/6 + O3 0/20 = 6/26.
    assert by_territory["North"]["fill_rate"] == pytest.approx(13 / 15)
    assert by_territory["South"]["fill_rate"] == pytest.approx(6 / 26)


def test_delivery_performance_totals(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.delivery_performance(session, the_day())
    # Outcomes: delivered O1, O2, O5; failed O3, O5 (first try).
    assert row["attempts"] == 5
    assert row["delivered"] == 3
    assert row["failed"] == 2
    assert row["rescheduled"] == 1
    assert row["returned"] == 1
    # All three deliveries have the 08:00-18:00 window; O5 came at 18:30.
    assert row["promised_delivered"] == 3
    assert row["on_time"] == 2
    assert row["on_time_rate"] == pytest.approx(2 / 3)
    # Closed with a promise: 3 delivered + O3 returned. In full and on time: only O1 (O2 short).
    assert row["closed_promised"] == 4
    assert row["otif"] == 1
    assert row["otif_rate"] == pytest.approx(0.25)


def test_delivery_performance_by_territory(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.delivery_performance(session, the_day(), by=Dimension.TERRITORY)
    by_territory = {row["key"]: row for row in rows}
    assert by_territory["North"]["attempts"] == 2
    assert by_territory["North"]["delivered"] == 2
    assert by_territory["South"]["attempts"] == 3
    assert by_territory["South"]["failed"] == 2


def test_delivery_performance_by_rider(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        rows = kpis.delivery_performance(session, the_day(), by=Dimension.RIDER)
        (other,) = kpis.delivery_performance(session, the_day(rider_id=setup.night_rider_id))
    # Every attempt was R-1's; the dispatcher's reschedule and return count for the stop's route.
    assert [row["key"] for row in rows] == [setup.network.rider_ids[0]]
    assert rows[0]["attempts"] == 5
    assert other["attempts"] == 0


def test_delivery_performance_other_day_is_empty(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.delivery_performance(session, KpiFilter(DAY_BEFORE, DAY_BEFORE))
    assert row["attempts"] == 0
    assert row["on_time_rate"] is None


def test_first_attempt_rate(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.first_attempt_rate(session, the_day())
    # First attempts: O1 delivered, O2 delivered, O3 failed, O5 failed (its later success is a
    # reattempt).
    assert row["first_attempts"] == 4
    assert row["first_attempt_delivered"] == 2
    assert row["first_attempt_rate"] == pytest.approx(0.5)


def test_failures_by_reason(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.failures_by_reason(session, the_day())
    assert {row["key"]: row["failed"] for row in rows} == {"address_not_found": 1, "refused": 1}
    assert {row["key"]: row["label"] for row in rows} == {
        "address_not_found": "Address not found",
        "refused": "Refused by the recipient",
    }


def test_service_time_from_arrival(scenario):
    _, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.service_time(session, the_day())
    # O1 600 s, O2 240 s, O3 300 s, O5 600 s (second attempt); O5's first failure came before
    # any arrival and has no service time. (600 + 240 + 300 + 600) / 4 = 435 s.
    assert row["stops"] == 4
    assert row["avg_service_s"] == pytest.approx(435, abs=0.01)


def test_route_table_planned_against_actual(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        rows = kpis.route_table(session, the_day())
    by_route = {row["route_id"]: row for row in rows}
    day_route = by_route[setup.route.id]
    night = by_route[setup.night_route.id]
    assert day_route["planned_distance_m"] == setup.route.distance_m
    assert day_route["actual_distance_m"] is None
    # No recorded times: first out-for-delivery 08:00 to last outcome 18:30 = 37800 s.
    assert day_route["actual_duration_s"] == pytest.approx(37_800, abs=0.01)
    assert day_route["attempts"] == 5
    assert day_route["delivered"] == 3
    assert day_route["planned_stops"] == 4
    # Recorded: 20:30 to 01:30 the next day = 18000 s, 30 km.
    assert night["actual_duration_s"] == pytest.approx(18_000, abs=0.01)
    assert night["actual_distance_m"] == 30_000
    assert night["day"] == DAY


def test_route_totals_and_cost_per_drop(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        (row,) = kpis.route_totals(session, the_day())
    # Day route: planned km x 50 cents + 10.5 h x 1500 cents + 4000 cents for the vehicle day.
    day_cost = setup.route.distance_m / 1000 * 50 + 10.5 * 1500 + 4000
    # Night route: 30 km x 80 cents (the vehicle's own rate) + 5 h x 1500 + 4000 = 13900 cents.
    night_cost = 30 * 80 + 5 * 1500 + 4000
    assert row["routes"] == 2
    assert row["delivered"] == 3
    assert row["actual_distance_m"] == 30_000
    assert row["planned_distance_measured_m"] == 25_000
    assert row["actual_duration_s"] == pytest.approx(55_800, abs=0.01)
    assert row["planned_duration_measured_s"] == setup.route.duration_s + 14_400
    assert row["cost_cents"] == pytest.approx(day_cost + night_cost, abs=0.01)
    assert row["cost_per_drop_cents"] == pytest.approx((day_cost + night_cost) / 3, abs=0.01)


def test_rider_utilisation_with_shift_past_midnight(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        rows = kpis.rider_utilisation(session, the_day())
        (total,) = kpis.rider_utilisation(session, the_day(), by=None)
    by_rider = {row["key"]: row for row in rows}
    day_rider = by_rider[setup.network.rider_ids[0]]
    night_rider = by_rider[setup.night_rider_id]
    # shift 07:30-19:30 = 43200 s; on route 37800 s; 5 attempts in 10.5 h.
    assert day_rider["shift_s"] == 43_200
    assert day_rider["utilisation"] == pytest.approx(37_800 / 43_200)
    assert day_rider["stops_per_hour"] == pytest.approx(5 / 10.5)
    # shift 20:00-02:00 = 21600 s; on route 18000 s.
    assert night_rider["shift_s"] == 21_600
    assert night_rider["utilisation"] == pytest.approx(18_000 / 21_600)
    assert total["utilisation"] == pytest.approx(55_800 / 64_800)


def test_credit_exposure_per_dealer(scenario):
    setup, engine = scenario
    north_1, north_2, south = setup.network.dealer_ids
    with Session(engine) as session:
        rows = kpis.credit_exposure(session, the_day(), as_of=local(DAY, 20))
        later = kpis.credit_exposure(session, the_day(), as_of=local(DAY + timedelta(days=31), 12))
    by_dealer = {row["key"]: row for row in rows}
    # D-002: O2 delivered (5000 unpaid) and O7 on hold (3000 open) against a 6000 limit.
    assert by_dealer[north_2]["exposure_cents"] == 8_000
    assert by_dealer[north_2]["utilisation"] == pytest.approx(8_000 / 6_000)
    # D-003: O5 delivered 15000; O3 was returned, which released its 7000.
    assert by_dealer[south]["unpaid_cents"] == 15_000
    assert by_dealer[south]["open_orders_cents"] == 0
    # Everything was delivered today, within the 30-day terms.
    assert by_dealer[north_1]["overdue_cents"] == 0
    later_by_dealer = {row["key"]: row for row in later}
    # 31 days on, the 10000 of O1 is past due.
    assert later_by_dealer[north_1]["overdue_cents"] == 10_000
    assert later_by_dealer[south]["overdue_cents"] == 15_000


def test_credit_exposure_by_territory(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.credit_exposure(
            session, the_day(), by=Dimension.TERRITORY, as_of=local(DAY, 20)
        )
    by_territory = {row["key"]: row for row in rows}
    # North: D-001 10000 unpaid + D-002 8000; South: D-003 15000.
    assert by_territory["North"]["exposure_cents"] == 18_000
    assert by_territory["South"]["exposure_cents"] == 15_000


def test_dimension_labels_names_riders(scenario):
    setup, engine = scenario
    with Session(engine) as session:
        labels = kpis.dimension_labels(session, Dimension.RIDER, [setup.night_rider_id])
    assert labels == {setup.night_rider_id: "Rider 2"}


def test_group_by_unknown_dimension_is_rejected(scenario):
    _, engine = scenario
    with Session(engine) as session, pytest.raises(ValueError, match="cannot be grouped by"):
        kpis.route_totals(session, the_day(), by=Dimension.TERRITORY)


def test_territory_performance_matches_breakdown(scenario):
    _, engine = scenario
    flt = the_day()
    with Session(engine) as session:
        rows = {row["territory"]: row for row in kpis.territory_performance(session, flt)}
        volume = {r["key"]: r for r in kpis.order_volume(session, flt, Dimension.TERRITORY)}
        performance = {
            r["key"]: r for r in kpis.delivery_performance(session, flt, Dimension.TERRITORY)
        }
        centres = {r["territory"]: r for r in kpis.territory_centres(session)}
    assert set(rows) == {"North", "South"}
    for name in ("North", "South"):
        assert rows[name]["orders"] == volume[name]["orders"]
        assert rows[name]["attempts"] == performance[name]["attempts"]
        assert rows[name]["on_time_rate"] == performance[name]["on_time_rate"]
        assert rows[name]["latitude"] == pytest.approx(centres[name]["latitude"])
    assert rows["North"]["dealers"] == 2


def test_territory_performance_keeps_filtered_territory(scenario):
    _, engine = scenario
    with Session(engine) as session:
        rows = kpis.territory_performance(session, the_day(territory="South"))
    assert [row["territory"] for row in rows] == ["South"]


def test_check_range_rejects_reversed_and_long_ranges():
    with pytest.raises(ValidationError, match="swap the dates"):
        kpis.check_range(KpiFilter(DAY, DAY_BEFORE))
    with pytest.raises(ValidationError, match="at most 366 days"):
        kpis.check_range(KpiFilter(DAY - timedelta(days=366), DAY))
    kpis.check_range(KpiFilter(DAY - timedelta(days=365), DAY))


def test_local_day_number_across_daylight_saving(engine):
    """Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29."""
    span = local_range(date(2026, 3, 28), date(2026, 3, 30), "Europe/Berlin")
    cases = [
        # 22:30 UTC on the 28th is 23:30 in winter time: still the 28th.
        (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), date(2026, 3, 28)),
        # 22:30 UTC on the 29th is 00:30 in summer time: already the 30th.
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), date(2026, 3, 30)),
    ]
    with Session(engine) as session:
        for moment, expected in cases:
            number = session.exec(
                select(local_day_number(literal(moment, DateTime(timezone=True)), span))
            ).one()
            assert date(1970, 1, 1) + timedelta(days=number) == expected


def test_local_range_rejects_reversed_dates():
    with pytest.raises(ValueError, match="swap the dates"):
        local_range(DAY, DAY_BEFORE, "UTC")


def test_depot_filter_lists_locations_with_stops(scenario):
    """The depot filter offers locations that dispatched stops, not every dealer's store."""
    _, engine = scenario
    with Session(engine) as session:
        session.add(
            Warehouse(code="D-STORE", name="A dealer store", kind="dealer", latitude=-22.9,
                      longitude=-47.0, is_depot=True)
        )
        session.commit()
        served = set(session.exec(select(Delivery.depot_id)).all())
        options = kpis.filter_options(session)

    labels = [label for _, label in options["depot"]]
    assert "A dealer store" not in labels
    assert {int(value) for value, _ in options["depot"]} == served

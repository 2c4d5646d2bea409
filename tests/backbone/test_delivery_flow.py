"""Failure rules, confirmation codes, cash on delivery and board exceptions (SQLite, PostgreSQL)."""

from __future__ import annotations

import io
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlmodel import Session, col, select

from distro.backbone import board, cash, dealer_orders, pod, sync, tracking
from distro.backbone.actors import Actor
from distro.backbone.delivery import apply_transition
from distro.backbone.models import Delivery, Event, Order, Role
from distro.settings import reset_settings
from tests.factories import DAY
from tests.rider_world import DISPATCHER, build_rider_world, reassign_to_route

EVENT_IDS = itertools.count(1)

SIGNATURE_PNG = io.BytesIO()
Image.new("RGB", (40, 20), "white").save(SIGNATURE_PNG, "PNG")

PHOTO_JPEG_BUFFER = io.BytesIO()
Image.new("RGB", (32, 24), (200, 120, 40)).save(PHOTO_JPEG_BUFFER, "JPEG")
PHOTO_JPEG = PHOTO_JPEG_BUFFER.getvalue()


@pytest.fixture
def flow(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    monkeypatch.setenv("DISTRO_PROOF_REQUIRED", "signature")
    reset_settings()
    world = build_rider_world(engine, riders=1, stops_per_route=3)
    yield engine, world
    reset_settings()


def send(
    engine, rider: Actor, delivery_id: int, *steps: tuple[str, dict]
) -> list[sync.SyncOutcome]:
    with Session(engine) as session:
        updates = [
            sync.ClientUpdate(f"e{next(EVENT_IDS)}", delivery_id, status, payload)
            for status, payload in steps
        ]
        outcomes = sync.apply_client_updates(session, rider, updates)
        session.commit()
    return outcomes


def status_events(engine, delivery_id: int) -> list[Event]:
    with Session(engine) as session:
        return list(
            session.exec(
                select(Event)
                .where(Event.entity == "delivery", Event.entity_id == delivery_id)
                .order_by(col(Event.id))
            )
        )


def test_failure_absent_reschedules_next_day(flow):
    """Recipient absent sends the stop back to planning for the next day, with its own event."""
    engine, world = flow
    stop = world.stops[0][0]
    send(
        engine,
        world.riders[0],
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "recipient_absent"}),
    )

    with Session(engine) as session:
        delivery = session.get(Delivery, stop)
    events = [e for e in status_events(engine, stop) if e.event_type == "delivery_rescheduled"]
    assert delivery.status == "pending"
    assert delivery.day == DAY + timedelta(days=1)
    assert delivery.attempt == 2
    assert delivery.route_id is None
    assert events[0].actor == "failure-rules"
    assert events[0].payload["reason_code"] == "recipient_absent"


def test_failure_refused_returns_to_stock(flow):
    """Refused cancels the order and releases its reservation in the failure's transaction."""
    engine, world = flow
    stop = world.stops[0][1]
    send(
        engine,
        world.riders[0],
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "refused"}),
    )

    with Session(engine) as session:
        delivery = session.get(Delivery, stop)
        order = session.get(Order, delivery.order_id)
    kinds = [e.event_type for e in status_events(engine, stop)]
    assert delivery.status == "cancelled"
    assert order.status == "cancelled"
    assert "delivery_returned" in kinds


def test_failure_second_attempt_returns_and_notifies(flow):
    """The second failed attempt returns the stop and writes a dealer_notified event."""
    engine, world = flow
    stop = world.stops[0][2]
    rider = world.riders[0]
    send(
        engine,
        rider,
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "recipient_absent"}),
    )
    reassign_to_route(engine, stop, world.route_ids[0])
    send(
        engine,
        rider,
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "business_closed"}),
    )

    with Session(engine) as session:
        delivery = session.get(Delivery, stop)
        notified = session.exec(select(Event).where(Event.event_type == "dealer_notified")).all()
    assert delivery.status == "cancelled"
    assert len(notified) == 1
    assert notified[0].payload["failed_attempts"] == 2


def test_failure_other_needs_note(flow):
    """The "other" reason without a note is rejected and the stop does not move."""
    engine, world = flow
    stop = world.stops[0][0]
    outcomes = send(
        engine,
        world.riders[0],
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "other"}),
    )
    assert outcomes[1].outcome == "rejected"
    assert "needs a note" in outcomes[1].message


def test_code_locks_after_five_wrong_tries(flow):
    """Five wrong codes lock it; dispatch's override with a reason lets the rider finish."""
    engine, world = flow
    stop = world.stops[0][0]
    rider = world.riders[0]
    with Session(engine) as session:
        pod.set_policy(session, DISPATCHER, stop, {"code"})
        session.commit()
    send(engine, rider, stop, ("out_for_delivery", {}), ("arrived", {}))
    with Session(engine) as session:
        code_row = pod._code_row(session, session.get(Delivery, stop))
        right = pod.derive_code(stop, 1, code_row.nonce)
    wrong = "000000" if right != "000000" else "111111"

    outcomes = send(engine, rider, stop, *[("delivered", {"confirmation_code": wrong})] * 5)
    locked = send(engine, rider, stop, ("delivered", {"confirmation_code": right}))
    with Session(engine) as session:
        found = board.board_exceptions(session, DAY, world.network.depot_id)
        pod.override_code(session, DISPATCHER, stop, "Recipient showed an ID card")
        session.commit()
    after = send(engine, rider, stop, ("delivered", {}))

    assert [o.code for o in outcomes] == ["CONFIRMATION_CODE_INVALID"] * 5
    assert "locked" in outcomes[-1].message
    assert locked[0].outcome == "rejected"
    assert "code_locked" in {item.kind for item in found}
    assert after[0].outcome == "applied"
    text = json.dumps([e.payload for e in status_events(engine, stop)])
    assert right not in text
    assert wrong not in text


def test_code_right_completes_and_recipient_sees_it(flow):
    """The recipient's tracking shows the code; typed by the rider, it completes the delivery."""
    engine, world = flow
    stop = world.stops[0][1]
    rider = world.riders[0]
    with Session(engine) as session:
        pod.set_policy(session, DISPATCHER, stop, {"code", "signature"})
        order = session.get(Order, session.get(Delivery, stop).order_id)
        order_id, dealer_id = order.id, order.dealer_id
        session.commit()
    dealer = Actor(username="desk", role=Role.DEALER, dealer_id=dealer_id)
    send(engine, rider, stop, ("out_for_delivery", {}), ("arrived", {}))
    with Session(engine) as session:
        shown = tracking.order_tracking(session, dealer, order_id)["deliveries"][0][
            "confirmation_code"
        ]
        on_order_page = dealer_orders.order_view(session, dealer, order_id).confirmation_code
        pod.store_proof_file(session, rider, stop, SIGNATURE_PNG.getvalue(), "signature")
        session.commit()
    outcome = send(engine, rider, stop, ("delivered", {"confirmation_code": shown}))

    assert shown is not None
    assert len(shown) == 6
    assert on_order_page == shown
    assert outcome[0].outcome == "applied"


def test_cash_due_collected_and_settled(flow):
    """A stop with cash due needs the collection; settling records the difference."""
    engine, world = flow
    stop = world.stops[0][2]
    rider = world.riders[0]
    with Session(engine) as session:
        pod.set_policy(session, DISPATCHER, stop, set())
        cash.set_amount_due(session, DISPATCHER, stop, 5000)
        session.commit()
    missing = send(
        engine, rider, stop, ("out_for_delivery", {}), ("arrived", {}), ("delivered", {})
    )
    paid = send(
        engine, rider, stop, ("delivered", {"cash": {"amount_cents": 4500, "method": "cash"}})
    )
    with Session(engine, expire_on_commit=False) as session:
        on_hand = cash.cash_on_hand(session, DISPATCHER)
        settlement = cash.settle(session, DISPATCHER, rider.rider_id, DAY, 4000, "5.00 missing")
        session.commit()
        after = cash.cash_on_hand(session, DISPATCHER)

    assert missing[2].code == "PROOF_REQUIRED"
    assert paid[0].outcome == "applied"
    assert on_hand[0].cash_cents == 4500
    assert settlement.difference_cents == -500
    assert after == []


def test_board_exceptions_lists_failed_far_and_late(flow):
    """A failure, a completion far from its stop and a late stop all show on the board."""
    engine, world = flow
    rider = world.riders[0]
    first, second, third = world.stops[0]
    with Session(engine) as session:
        pod.set_policy(session, DISPATCHER, second, set())
        late = session.get(Delivery, third)
        late.eta = datetime.now(UTC) - timedelta(hours=2)
        session.add(late)
        session.commit()
    send(
        engine,
        rider,
        first,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "address_not_found"}),
    )
    far = {"position": {"lat": 0.0, "lon": 0.0}}
    send(engine, rider, second, ("out_for_delivery", {}), ("arrived", {}), ("delivered", far))

    with Session(engine) as session:
        found = board.board_exceptions(session, DAY, world.network.depot_id, now=datetime.now(UTC))
    kinds = {(item.kind, item.delivery_id) for item in found}
    assert ("failed", first) in kinds
    assert ("far_from_stop", second) in kinds
    assert ("late", third) in kinds


def test_position_recorded_and_shown(flow):
    """A rider's position is stored and returned as the rider's last position of the day."""
    engine, world = flow
    with Session(engine) as session:
        tracking.record_position(session, world.riders[0], -22.9, -47.06, 12.0)
        session.commit()
        found = tracking.last_positions(session, DAY, world.network.depot_id)
    assert len(found) in (0, 1)  # Only when the test runs on the fixture's day.


def test_rider_cannot_move_other_riders_stop(engine, tmp_path, monkeypatch):
    """Another rider's update is refused and the stop stays assigned."""
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    reset_settings()
    world = build_rider_world(engine, riders=2, stops_per_route=1)
    outcomes = send(engine, world.riders[1], world.stops[0][0], ("out_for_delivery", {}))
    with Session(engine) as session:
        status = session.get(Delivery, world.stops[0][0]).status
    assert outcomes[0].code == "PERMISSION_DENIED"
    assert status == "assigned"
    with Session(engine) as session, pytest.raises(Exception, match="not on a route assigned"):
        apply_transition(session, world.riders[1], world.stops[0][0], "out_for_delivery")
    reset_settings()


def shift_stops(engine, rider: Actor) -> dict[int, tracking.ShiftStop]:
    with Session(engine) as session:
        shift = tracking.rider_shift(session, rider, DAY)
    return {stop.delivery_id: stop for stop in shift.stops}


def test_shift_times_in_network_zone(flow, monkeypatch):
    """ETAs and windows come as HH:MM in DISTRO_TIMEZONE, whatever zone the caller is in."""
    engine, world = flow
    stop = world.stops[0][0]
    with Session(engine) as session:
        delivery = session.get(Delivery, stop)
        delivery.eta = datetime(2026, 12, 7, 7, 57, tzinfo=UTC)
        delivery.window_start_min = 7 * 60
        delivery.window_end_min = 9 * 60 + 30
        session.add(delivery)
        session.commit()

    monkeypatch.setenv("DISTRO_TIMEZONE", "Europe/Berlin")
    reset_settings()
    berlin = shift_stops(engine, world.riders[0])[stop]
    monkeypatch.setenv("DISTRO_TIMEZONE", "Asia/Kolkata")
    reset_settings()
    kolkata = shift_stops(engine, world.riders[0])[stop]

    assert berlin.eta_local == "08:57"
    assert kolkata.eta_local == "13:27"
    assert berlin.eta == "2026-12-07T07:57:00+00:00"
    assert berlin.window_start_local == "07:00"
    assert berlin.window_end_local == "09:30"
    assert kolkata.window_start_local == "07:00"


def test_shift_keeps_failed_stops_with_outcome(flow):
    """A rescheduled and a returned stop stay on the list, in place, as failed and done."""
    engine, world = flow
    rider = world.riders[0]
    absent, refused, delivered = world.stops[0]
    send(
        engine,
        rider,
        absent,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "recipient_absent"}),
    )
    send(engine, rider, refused, ("out_for_delivery", {}), ("failed", {"reason_code": "refused"}))

    with Session(engine) as session:
        shift = tracking.rider_shift(session, rider, DAY)
    stops = {stop.delivery_id: stop for stop in shift.stops}

    assert [stop.delivery_id for stop in shift.stops] == [absent, refused, delivered]
    assert stops[absent].status == "failed"
    assert stops[absent].outcome == "Failed — Recipient absent (rescheduled for Tue 8 Dec)"
    assert stops[absent].failure_next_step == "rescheduled"
    assert stops[absent].rescheduled_for == DAY + timedelta(days=1)
    assert stops[absent].sequence == 1
    assert stops[absent].attempt == 1
    assert stops[refused].status == "failed"
    assert stops[refused].outcome == "Failed — Refused by the recipient (returned)"
    assert stops[refused].failure_reason == "refused"
    assert stops[delivered].status == "assigned"
    assert stops[delivered].outcome is None
    # The stops that left the route keep their numbers, and the rest keep theirs: every
    # card on the rider's list has its own number.
    assert [stop.sequence for stop in shift.stops] == [1, 2, 3]


def test_shift_failed_held_stop_waits_for_dispatch(flow):
    """A failure that waits for dispatch stays on the route with that step."""
    engine, world = flow
    stop = world.stops[0][0]
    send(
        engine,
        world.riders[0],
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "address_not_found"}),
    )

    found = shift_stops(engine, world.riders[0])

    assert len(found) == 3
    assert found[stop].status == "failed"
    assert found[stop].outcome == "Failed — Address not found (waiting for dispatch)"
    assert found[stop].failure_next_step == "held"


def test_shift_reassigned_failed_stop_listed_once(flow):
    """A failed stop put back on the rider's route shows once, as the new attempt."""
    engine, world = flow
    stop = world.stops[0][0]
    rider = world.riders[0]
    send(
        engine,
        rider,
        stop,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "recipient_absent"}),
    )
    reassign_to_route(engine, stop, world.route_ids[0])

    with Session(engine) as session:
        shift = tracking.rider_shift(session, rider, DAY)
    mine = [item for item in shift.stops if item.delivery_id == stop]

    assert len(mine) == 1
    assert mine[0].status == "assigned"
    assert mine[0].attempt == 2
    assert mine[0].outcome is None


def test_shift_other_riders_failure_not_listed(engine, tmp_path, monkeypatch):
    """A stop failed on another rider's route never shows on this rider's list."""
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    reset_settings()
    world = build_rider_world(engine, riders=2, stops_per_route=1)
    other = world.stops[1][0]
    send(
        engine,
        world.riders[1],
        other,
        ("out_for_delivery", {}),
        ("failed", {"reason_code": "refused"}),
    )

    mine = shift_stops(engine, world.riders[0])
    theirs = shift_stops(engine, world.riders[1])

    assert other not in mine
    assert theirs[other].status == "failed"
    reset_settings()


def test_shift_delivered_stop_lists_proof(flow):
    """A delivered stop lists the proof stored for its attempt: signature, photo and code."""
    engine, world = flow
    stop = world.stops[0][0]
    rider = world.riders[0]
    with Session(engine) as session:
        pod.set_policy(session, DISPATCHER, stop, {"signature", "photo", "code"})
        dealer_id = session.get(Order, session.get(Delivery, stop).order_id).dealer_id
        session.commit()
    dealer = Actor(username="desk", role=Role.DEALER, dealer_id=dealer_id)
    send(engine, rider, stop, ("out_for_delivery", {}), ("arrived", {}))
    with Session(engine) as session:
        code = pod.recipient_code(session, dealer, stop)
        pod.store_proof_file(session, rider, stop, SIGNATURE_PNG.getvalue(), "signature")
        pod.store_proof_file(session, rider, stop, PHOTO_JPEG, "photo")
        session.commit()
    send(engine, rider, stop, ("delivered", {"confirmation_code": code}))

    found = shift_stops(engine, rider)

    assert found[stop].status == "delivered"
    assert found[stop].proof_recorded == ["signature", "photo", "code"]
    assert found[world.stops[0][1]].proof_recorded == []

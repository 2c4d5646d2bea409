"""Offline outbox replay through `sync.apply_client_updates`: at most once, end state as in order.

A simulated phone queues the rider's updates for a few stops, then sends them in batches
over a bad connection: answers get lost (so batches are sent again), copies of updates
already answered come back, and each batch interleaves the stops in a random order while
keeping every stop's own updates in order, as the page's outbox does. Each schedule must
leave every stop where applying its updates once, in order, leaves it, with one event per
applied update.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from distro.backbone import sync
from distro.backbone.models import Delivery, DeliveryStatus, Event
from distro.db import make_engine, upgrade_database
from distro.settings import reset_settings
from tests.rider_world import build_rider_world

SCHEDULES = 1000
STOPS_PER_SCHEDULE = 3

PLANS = (
    ("out_for_delivery", "arrived", "delivered"),
    ("out_for_delivery", "failed"),
    ("out_for_delivery", "arrived", "failed"),
    ("out_for_delivery", "arrived"),
)
"""What a rider does at one stop; failures use a reason whose rule leaves the stop failed."""

STATUS_EVENT_TYPES = (
    "delivery_out_for_delivery",
    "delivery_arrived",
    "delivery_delivered",
    "delivery_failed",
)


@pytest.fixture(scope="module")
def replay_world(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite database with one published route holding enough stops for every schedule."""
    folder: Path = tmp_path_factory.mktemp("replay")
    mp = pytest.MonkeyPatch()
    mp.setenv("DISTRO_PRIVATE_DIR", str(folder / "private"))
    # No proof required, so that "delivered" depends only on the order of updates.
    mp.setenv("DISTRO_PROOF_REQUIRED", "")
    reset_settings()
    url = f"sqlite:///{folder / 'distro.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    world = build_rider_world(engine, riders=1, stops_per_route=1)
    with Session(engine) as session:
        template = session.get(Delivery, world.stops[0][0])
        for index in range(SCHEDULES * STOPS_PER_SCHEDULE):
            session.add(
                Delivery(
                    day=template.day,
                    depot_id=template.depot_id,
                    label=f"Replay stop {index}",
                    latitude=template.latitude,
                    longitude=template.longitude,
                    status=DeliveryStatus.ASSIGNED,
                    route_id=world.route_ids[0],
                    sequence=index + 2,
                    source="test",
                )
            )
        session.commit()
        pool = list(
            session.exec(
                select(Delivery.id).where(Delivery.source == "test").order_by(col(Delivery.id))
            )
        )
    yield engine, world.riders[0], pool
    engine.dispose()
    mp.undo()
    reset_settings()


def in_order_result(plan: tuple[str, ...]) -> str:
    """Return the status a stop ends in when its updates are applied once, in order."""
    return plan[-1]


def make_updates(rng: random.Random, stops: list[int], schedule: int) -> list[sync.ClientUpdate]:
    """Return the phone's outbox: each stop's plan, the stops interleaved as the rider worked."""
    queues = []
    for stop in stops:
        plan = rng.choice(PLANS)
        queues.append(
            [
                sync.ClientUpdate(
                    f"s{schedule}-d{stop}-{step}",
                    stop,
                    status,
                    {"reason_code": "address_not_found"} if status == "failed" else {},
                )
                for step, status in enumerate(plan)
            ]
        )
    outbox = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        outbox.append(queue.pop(0))
    return outbox


def shuffle_keeping_stop_order(rng: random.Random, batch: list[sync.ClientUpdate]) -> list:
    """Interleave the stops of a batch randomly while each stop keeps its own order."""
    by_stop: dict[int, list[sync.ClientUpdate]] = {}
    for update in batch:
        by_stop.setdefault(update.delivery_id, []).append(update)
    mixed = []
    while any(by_stop.values()):
        stop = rng.choice([s for s, q in by_stop.items() if q])
        mixed.append(by_stop[stop].pop(0))
    return mixed


def test_outbox_replay_applies_each_update_once(replay_world):
    """1,000 schedules with lost answers, duplicates and interleaving end as if sent in order."""
    engine, rider, pool = replay_world
    for schedule in range(SCHEDULES):
        rng = random.Random(schedule)
        stops = pool[schedule * STOPS_PER_SCHEDULE : (schedule + 1) * STOPS_PER_SCHEDULE]
        outbox = make_updates(rng, stops, schedule)
        expected = {
            stop: in_order_result(tuple(u.status for u in outbox if u.delivery_id == stop))
            for stop in stops
        }
        applied = Counter()
        answered: list[sync.ClientUpdate] = []

        pending = list(outbox)
        for _ in range(200):
            if not pending:
                break
            batch = pending[: rng.randint(1, len(pending))]
            if answered and rng.random() < 0.3:
                # A copy of an update already answered, sent again by a second tab or a retry.
                batch = [*batch, rng.choice(answered)]
            if rng.random() < 0.2:
                batch = [*batch, batch[0]]  # The same update twice in one batch.
            batch = shuffle_keeping_stop_order(rng, batch)
            with Session(engine) as session:
                outcomes = sync.apply_client_updates(session, rider, batch)
                session.commit()
            for outcome in outcomes:
                if outcome.outcome == "applied" and not outcome.duplicate:
                    applied[outcome.client_event_id] += 1
            if rng.random() < 0.35:
                continue  # The answer was lost: the phone keeps the batch and sends it again.
            sent = {u.client_event_id for u in batch}
            answered += [u for u in pending if u.client_event_id in sent]
            pending = [u for u in pending if u.client_event_id not in sent]
        assert not pending, f"schedule {schedule}: the outbox never emptied"

        with Session(engine) as session:
            final = {stop: session.get(Delivery, stop).status for stop in stops}
            events = session.exec(
                select(Event.entity_id).where(
                    Event.entity == "delivery",
                    col(Event.entity_id).in_(stops),
                    col(Event.event_type).in_(STATUS_EVENT_TYPES),
                )
            ).all()
        assert final == expected, f"schedule {schedule}"
        assert max(applied.values(), default=0) <= 1, f"schedule {schedule}"
        assert sorted(applied) == sorted(u.client_event_id for u in outbox), f"schedule {schedule}"
        assert len(events) == len(outbox), f"schedule {schedule}: one event per update"

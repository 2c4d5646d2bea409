"""A rider completing a stop while dispatch moves it to another rider, on PostgreSQL, 200 times.

The rider's phone sends out-for-delivery, arrived and delivered in one sync batch (as after
a stretch offline), while a dispatcher moves the same stop to another published route. Both
lock the stop's row first, so exactly one wins: either the stop is delivered and the move
gets a conflict naming its state, or the stop moved and the rider's first update gets a
conflict naming its state now.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from distro.backbone import fulfillment as ff
from distro.backbone import sync
from distro.backbone.errors import ConflictError, DistroError
from distro.backbone.models import Delivery
from distro.settings import reset_settings
from tests.rider_world import DISPATCHER, add_assigned_stop, build_rider_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

RUNS = 200


def test_rider_and_dispatcher_race_one_wins(postgres_engine, monkeypatch, tmp_path):
    """Each run has one winner; the loser gets CONFLICT with the current state."""
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    monkeypatch.setenv("DISTRO_PROOF_REQUIRED", "")
    reset_settings()
    world = build_rider_world(postgres_engine, riders=2, stops_per_route=1)
    rider = world.riders[0]
    other_route = world.route_ids[1]
    winners = Counter()

    def rider_side(delivery_id: int, barrier: threading.Barrier) -> list[sync.SyncOutcome]:
        updates = [
            sync.ClientUpdate(f"race-{delivery_id}-{n}", delivery_id, status, {})
            for n, status in enumerate(("out_for_delivery", "arrived", "delivered"))
        ]
        with Session(postgres_engine) as session:
            barrier.wait()
            outcomes = sync.apply_client_updates(session, rider, updates)
            session.commit()
        return outcomes

    def dispatch_side(delivery_id: int, barrier: threading.Barrier) -> DistroError | None:
        with Session(postgres_engine) as session:
            barrier.wait()
            try:
                ff.move_stop(session, DISPATCHER, delivery_id, other_route)
            except DistroError as error:
                session.rollback()
                return error
            session.commit()
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        for run in range(RUNS):
            delivery_id = add_assigned_stop(postgres_engine, world, route_index=0)
            barrier = threading.Barrier(2)
            rider_future = pool.submit(rider_side, delivery_id, barrier)
            dispatch_future = pool.submit(dispatch_side, delivery_id, barrier)
            outcomes = rider_future.result(timeout=60)
            move_error = dispatch_future.result(timeout=60)

            with Session(postgres_engine) as session:
                final = session.get(Delivery, delivery_id)
            rider_won = [o.outcome for o in outcomes] == ["applied"] * 3
            dispatch_won = move_error is None
            assert rider_won != dispatch_won, f"run {run}: {outcomes} / {move_error}"
            if rider_won:
                winners["rider"] += 1
                assert final.status == "delivered", f"run {run}"
                assert isinstance(move_error, ConflictError), f"run {run}"
                assert move_error.details["status"] == "delivered", f"run {run}"
            else:
                winners["dispatch"] += 1
                assert final.status == "assigned", f"run {run}"
                assert final.route_id == other_route, f"run {run}"
                assert outcomes[0].outcome == "rejected", f"run {run}"
                assert outcomes[0].code == "CONFLICT", f"run {run}"
                assert outcomes[0].status == "assigned", f"run {run}"
                assert all(o.outcome == "rejected" for o in outcomes), f"run {run}"
    reset_settings()
    print(f"race winners over {RUNS} runs: {dict(winners)}")

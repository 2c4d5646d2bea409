"""The delivery state machine against a model, driven by Hypothesis with random sequences of moves.

Each example gets a fresh stop on rider 1's published route; rider 2 works another route.
The model knows the table, the proof policy and the failure rules, and after every step the
database must agree with it. Properties checked throughout: delivered is final, a failed stop
is never delivered without a reschedule and a new assignment, only the assigned rider moves
rider states, and delivered requires the policy's proof.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from PIL import Image
from sqlmodel import Session, col, select

from distro.backbone import delivery as delivery_machine
from distro.backbone import pod
from distro.backbone.errors import DistroError
from distro.backbone.models import Delivery, Event
from distro.db import make_engine, upgrade_database
from distro.settings import reset_settings
from tests.rider_world import DISPATCHER, add_assigned_stop, build_rider_world, reassign_to_route

RIDER_TARGETS = ("out_for_delivery", "arrived", "delivered", "failed")
REASONS = ("recipient_absent", "refused", "address_not_found", "not_a_reason")
NEXT_STEP = {"recipient_absent": "pending", "refused": "cancelled", "address_not_found": "failed"}
MODEL_TABLE = {
    ("assigned", "out_for_delivery"),
    ("out_for_delivery", "arrived"),
    ("out_for_delivery", "failed"),
    ("arrived", "delivered"),
    ("arrived", "failed"),
}
STATUS_EVENTS = (
    "delivery_assigned",
    "delivery_out_for_delivery",
    "delivery_arrived",
    "delivery_delivered",
    "delivery_failed",
    "delivery_rescheduled",
    "delivery_returned",
)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 30), "white").save(buffer, "PNG")
    return buffer.getvalue()


SIGNATURE = png_bytes()


@pytest.fixture(scope="module")
def machine_world(tmp_path_factory: pytest.TempPathFactory):
    """One migrated SQLite database with two published routes, shared by every example."""
    folder = tmp_path_factory.mktemp("machine")
    previous = os.environ.get("DISTRO_PRIVATE_DIR")
    os.environ["DISTRO_PRIVATE_DIR"] = str(folder / "private")
    reset_settings()
    url = f"sqlite:///{folder / 'distro.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    world = build_rider_world(engine, riders=2, stops_per_route=1)
    yield engine, world
    engine.dispose()
    if previous is None:
        os.environ.pop("DISTRO_PRIVATE_DIR", None)
    else:
        os.environ["DISTRO_PRIVATE_DIR"] = previous
    reset_settings()


class DeliveryMachine(RuleBasedStateMachine):
    """Random rider, proof, policy and dispatch actions on one stop, checked against a model."""

    engine = None
    world = None

    @initialize()
    def new_stop(self) -> None:
        self.delivery_id = add_assigned_stop(self.engine, self.world, route_index=0)
        self.status = "assigned"
        self.attempt = 1
        self.required = {"signature"}
        self.signed_attempts: set[int] = set()
        self.ever_delivered = False

    def _try(self, work) -> DistroError | None:
        with Session(self.engine) as session:
            try:
                work(session)
            except DistroError as error:
                session.rollback()
                return error
            session.commit()
        return None

    @rule(move=st.sampled_from(RIDER_TARGETS), reason=st.sampled_from(REASONS))
    def assigned_rider_moves(self, move: str, reason: str) -> None:
        target = move
        rider = self.world.riders[0]
        payload = {"reason_code": reason} if target == "failed" else {}
        error = self._try(
            lambda s: delivery_machine.apply_transition(
                s, rider, self.delivery_id, target, payload=payload
            )
        )

        allowed = (self.status, target) in MODEL_TABLE
        if target == "delivered" and not self.required <= self._given():
            allowed = False
        if target == "failed" and reason not in NEXT_STEP:
            allowed = False
        assert (error is None) == allowed, (self.status, target, reason, error)
        if not allowed:
            return

        if target == "delivered":
            self.status = "delivered"
            self.ever_delivered = True
        elif target == "failed":
            next_status = NEXT_STEP[reason]
            if self.attempt >= 2:
                next_status = "cancelled"  # The second failed attempt returns the goods.
            self.status = next_status
            if next_status == "pending":
                self.attempt += 1
        else:
            self.status = target

    @rule(move=st.sampled_from(RIDER_TARGETS))
    def other_rider_moves(self, move: str) -> None:
        target = move
        rider = self.world.riders[1]
        payload = {"reason_code": "recipient_absent"} if target == "failed" else {}
        error = self._try(
            lambda s: delivery_machine.apply_transition(
                s, rider, self.delivery_id, target, payload=payload
            )
        )
        assert error is not None
        assert error.code in ("PERMISSION_DENIED", "INVALID_TRANSITION", "CONFLICT")

    @rule()
    def rider_adds_signature(self) -> None:
        error = self._try(
            lambda s: pod.store_proof_file(
                s, self.world.riders[0], self.delivery_id, SIGNATURE, "signature"
            )
        )
        on_route = self.status in ("assigned", "out_for_delivery", "arrived", "failed")
        assert (error is None) == on_route, (self.status, error)
        if error is None:
            self.signed_attempts.add(self.attempt)

    @rule(needs_signature=st.booleans())
    def dispatch_sets_policy(self, needs_signature: bool) -> None:
        required = {"signature"} if needs_signature else set()
        error = self._try(lambda s: pod.set_policy(s, DISPATCHER, self.delivery_id, required))
        assert error is None
        self.required = required

    @precondition(lambda self: self.status == "failed")
    @rule()
    def dispatch_reschedules(self) -> None:
        error = self._try(
            lambda s: delivery_machine.apply_transition(s, DISPATCHER, self.delivery_id, "pending")
        )
        assert error is None
        self.status = "pending"
        self.attempt += 1

    @precondition(lambda self: self.status == "pending")
    @rule()
    def planning_assigns_again(self) -> None:
        reassign_to_route(self.engine, self.delivery_id, self.world.route_ids[0])
        self.status = "assigned"

    def _given(self) -> set[str]:
        return {"signature"} if self.attempt in self.signed_attempts else set()

    @invariant()
    def database_matches_model(self) -> None:
        if not hasattr(self, "delivery_id"):
            return
        with Session(self.engine) as session:
            stored = session.get(Delivery, self.delivery_id)
        assert stored.status == self.status
        assert stored.attempt == self.attempt

    @invariant()
    def delivered_is_final_and_follows_arrival(self) -> None:
        if not hasattr(self, "delivery_id"):
            return
        with Session(self.engine) as session:
            events = session.exec(
                select(Event)
                .where(
                    Event.entity == "delivery",
                    Event.entity_id == self.delivery_id,
                    col(Event.event_type).in_(STATUS_EVENTS),
                )
                .order_by(col(Event.id))
            ).all()
        kinds = [event.event_type for event in events]
        assert kinds.count("delivery_delivered") <= 1
        if "delivery_delivered" in kinds:
            assert kinds[-1] == "delivery_delivered"
            assert kinds[-2] == "delivery_arrived"
        if self.ever_delivered:
            assert self.status == "delivered"


def test_delivery_state_machine_against_model(machine_world):
    """Random move sequences on SQLite keep the database and the model in step."""
    engine, world = machine_world
    DeliveryMachine.engine = engine
    DeliveryMachine.world = world
    run_state_machine_as_test(
        DeliveryMachine,
        settings=settings(
            max_examples=int(os.environ.get("DISTRO_MACHINE_EXAMPLES", "150")),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@pytest.mark.postgres
def test_delivery_state_machine_on_postgres(postgres_engine, tmp_path: Path, monkeypatch):
    """A smaller run of the same machine on PostgreSQL."""
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    reset_settings()
    DeliveryMachine.engine = postgres_engine
    DeliveryMachine.world = build_rider_world(postgres_engine, riders=2, stops_per_route=1)
    run_state_machine_as_test(
        DeliveryMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    reset_settings()

"""Rider sync: apply a batch of status updates that a device queued, each at most once, in order.

A rider's phone may lose the network, queue updates and send them again later, twice, or
after the office changed the stop. Each update carries an id that the device chose; the
first time an id arrives its outcome is stored in `ClientEvent`, and any later copy gets
the stored outcome back without touching the delivery. An update that would move a
delivery back (its stop is already at or past the requested state) changes nothing and is
reported as "stale".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.delivery import apply_transition
from distro.backbone.errors import DistroError, ValidationError
from distro.backbone.models import ClientEvent, Delivery, DeliveryStatus, Role
from distro.backbone.pod import verify_code

logger = logging.getLogger(__name__)

S = DeliveryStatus

PROGRESS_RANK: dict[str, int] = {
    S.PENDING: 0,
    S.ASSIGNED: 1,
    S.OUT_FOR_DELIVERY: 2,
    S.ARRIVED: 3,
    S.FAILED: 4,
    S.DELIVERED: 4,
    S.CANCELLED: 5,
}
"""How far along a stop is; a sync update never moves a stop to a lower or equal rank."""

RIDER_TARGETS = frozenset({S.OUT_FOR_DELIVERY, S.ARRIVED, S.DELIVERED, S.FAILED})
"""States a rider's device may request."""

MAX_BATCH = 200
"""Updates accepted in one sync request; the device sends the rest in the next one."""


@dataclass(frozen=True, slots=True)
class ClientUpdate:
    """One queued status update from a device."""

    client_event_id: str
    delivery_id: int
    status: str
    payload: dict[str, Any] = field(default_factory=dict)
    """Reason code, position, proof reference and the device's clock, recorded on the event."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What became of one update: "applied", "stale" or "rejected", and the stop's state now."""

    client_event_id: str
    outcome: str
    delivery_id: int | None
    status: str | None
    code: str | None = None
    message: str = ""
    duplicate: bool = False


def owner_key(actor: Actor) -> str:
    """Return the key under which an actor's client event ids are unique."""
    if actor.api_token_id is not None:
        return f"token:{actor.api_token_id}"
    return f"user:{actor.user_id}"


def apply_client_updates(
    session: Session, actor: Actor, updates: list[ClientUpdate]
) -> list[SyncOutcome]:
    """Apply each update in the given order, at most once per client event id.

    Each update runs in its own savepoint, so a rejected one leaves the others applied. The
    caller commits.

    Raises:
        PermissionDeniedError: the actor is not a rider.
        ValidationError: more than `MAX_BATCH` updates.

    """
    require_role(actor, Role.RIDER, target="rider sync")
    if len(updates) > MAX_BATCH:
        raise ValidationError(
            f"{len(updates)} updates in one batch; send at most {MAX_BATCH}.", count=len(updates)
        )
    owner = owner_key(actor)
    return [_apply_one(session, actor, owner, update) for update in updates]


def _stored(session: Session, owner: str, client_event_id: str) -> ClientEvent | None:
    return session.exec(
        select(ClientEvent).where(
            ClientEvent.owner == owner, ClientEvent.client_event_id == client_event_id
        )
    ).first()


def _from_record(record: ClientEvent, duplicate: bool) -> SyncOutcome:
    result = record.result or {}
    return SyncOutcome(
        client_event_id=record.client_event_id,
        outcome=record.outcome,
        delivery_id=record.delivery_id,
        status=result.get("status"),
        code=result.get("code"),
        message=result.get("message", ""),
        duplicate=duplicate,
    )


def _apply_one(session: Session, actor: Actor, owner: str, update: ClientUpdate) -> SyncOutcome:
    event_id = update.client_event_id.strip()
    if not event_id or len(event_id) > 80:
        return SyncOutcome(
            update.client_event_id,
            "rejected",
            update.delivery_id,
            None,
            "VALIDATION_ERROR",
            "client_event_id must have 1-80 characters.",
        )

    previous = _stored(session, owner, event_id)
    if previous is not None:
        return _from_record(previous, duplicate=True)

    try:
        with session.begin_nested():
            outcome = _decide_and_apply(session, actor, event_id, update)
            record = ClientEvent(
                owner=owner,
                client_event_id=event_id,
                delivery_id=update.delivery_id,
                outcome=outcome.outcome,
                result={"status": outcome.status, "code": outcome.code, "message": outcome.message},
            )
            session.add(record)
            session.flush()
    except IntegrityError:
        # The same id arrived at another worker at the same moment; return what it stored.
        previous = _stored(session, owner, event_id)
        if previous is None:
            raise
        return _from_record(previous, duplicate=True)
    return outcome


def _decide_and_apply(
    session: Session, actor: Actor, event_id: str, update: ClientUpdate
) -> SyncOutcome:
    """Apply one update inside the caller's savepoint, turning domain errors into an outcome."""
    if update.status not in RIDER_TARGETS:
        allowed = ", ".join(sorted(RIDER_TARGETS))
        return SyncOutcome(
            event_id,
            "rejected",
            update.delivery_id,
            None,
            "VALIDATION_ERROR",
            f"Status {update.status!r} cannot be sent by a rider; use one of {allowed}.",
        )

    delivery = session.get(Delivery, update.delivery_id)
    if (
        delivery is not None
        and PROGRESS_RANK.get(delivery.status, 0) >= PROGRESS_RANK[update.status]
    ):
        return SyncOutcome(
            event_id,
            "stale",
            delivery.id,
            delivery.status,
            None,
            f"Delivery {delivery.id} is already {delivery.status}; the update changed nothing.",
        )

    payload = dict(update.payload)
    # The typed confirmation code is checked before the move and never recorded. A wrong
    # code's try count must survive the rejection, so it is written outside the savepoint
    # that the move's own errors roll back.
    typed_code = payload.pop("confirmation_code", None)
    try:
        if typed_code is not None and update.status == S.DELIVERED:
            verify_code(session, actor, update.delivery_id, str(typed_code))
        with session.begin_nested():
            moved = apply_transition(
                session, actor, update.delivery_id, S(update.status), payload=payload
            )
    except DistroError as error:
        if error.code == "PERMISSION_DENIED":
            logger.warning(
                "Access denied: %s (%s) -> delivery %s: %s",
                actor.username,
                actor.role,
                update.delivery_id,
                error.message,
            )
        current = session.get(Delivery, update.delivery_id)
        return SyncOutcome(
            event_id,
            "rejected",
            update.delivery_id,
            current.status if current else None,
            error.code,
            error.message,
        )
    return SyncOutcome(event_id, "applied", moved.id, moved.status)

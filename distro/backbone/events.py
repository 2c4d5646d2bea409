"""The append-only event log and the cursor-based feed that live views read."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from distro.backbone.actors import Actor
from distro.backbone.models import Event, utc_now
from distro.db import insert_rows


def _event_fields(
    actor: Actor,
    entity: str,
    entity_id: int,
    event_type: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    order_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "actor": actor.username,
        "role": str(actor.role),
        "entity": entity,
        "entity_id": entity_id,
        "event_type": event_type,
        "from_state": None if from_state is None else str(from_state),
        "to_state": None if to_state is None else str(to_state),
        "order_id": order_id,
        "payload": payload or {},
    }


def record_event(
    session: Session, actor: Actor, entity: str, entity_id: int, event_type: str, **facts: Any
) -> Event:
    """Add one event to the session; it commits with the change it describes.

    Args:
        session: The open session of the transaction that makes the change.
        actor: Who made the change.
        entity: The kind of record: "order", "delivery", "route" or "plan".
        entity_id: The record's primary key.
        event_type: What happened, for example "order_placed" or "delivery_delivered".
        **facts: Optional `from_state` (status before the change), `to_state` (status
            after it), `order_id` (the order concerned, so that an order's timeline is one
            query) and `payload` (extra facts such as amounts, reasons or coordinates,
            JSON-serialisable).
    """
    event = Event(**_event_fields(actor, entity, entity_id, event_type, **facts))
    session.add(event)
    return event


def write_event(
    session: Session, actor: Actor, entity: str, entity_id: int, event_type: str, **facts: Any
) -> None:
    """Insert one event at once with a single statement, for the busiest write paths.

    Takes the arguments of `record_event`. The event still commits or rolls back with the
    caller's transaction; no Event object is built.
    """
    row = _event_fields(actor, entity, entity_id, event_type, **facts)
    insert_rows(session, Event.__table__, [{"at": utc_now(), **row}])


def events_after(session: Session, cursor: int, limit: int = 500) -> list[Event]:
    """Return up to `limit` events with an id greater than `cursor`, oldest first."""
    statement = select(Event).where(col(Event.id) > cursor).order_by(col(Event.id)).limit(limit)
    return list(session.exec(statement))


def latest_event_id(session: Session) -> int:
    """Return the id of the newest event, or 0 when the log is empty.

    Live views poll this number: when it moves, something they show may have changed.
    """
    newest = session.exec(select(Event.id).order_by(col(Event.id).desc()).limit(1)).first()
    return newest or 0


def order_timeline(session: Session, order_id: int) -> list[Event]:
    """Return every event about one order and its deliveries, oldest first."""
    statement = select(Event).where(Event.order_id == order_id).order_by(col(Event.id))
    return list(session.exec(statement))

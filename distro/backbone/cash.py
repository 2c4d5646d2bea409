"""Cash on delivery: amounts to collect at stops, what riders collected, and the shift's settlement.

A stop with a `CashCollection` row cannot be delivered until the rider records the amount
and the method collected (`backbone.delivery` calls `record_collection`). Cash the rider
holds is the sum of cash collections not yet settled; operations count it at the end of the
shift with `settle`, which records the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, func, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import ProofRequiredError, ValidationError
from distro.backbone.events import record_event
from distro.backbone.models import (
    CashCollection,
    CashSettlement,
    Delivery,
    Rider,
    Role,
)

METHODS = ("cash", "card", "transfer")
"""Ways a recipient can pay on delivery; only "cash" stays with the rider."""

MAX_AMOUNT_CENTS = 100_000_000

SETTLING_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class CashOnHand:
    """Cash one rider collected and has not handed in yet."""

    rider_id: int
    rider_name: str
    collections: int
    cash_cents: int


def amount_due(session: Session, delivery_id: int) -> int:
    """Return the amount to collect at a stop in cents (0 when nothing is due)."""
    row = session.exec(
        select(CashCollection).where(CashCollection.delivery_id == delivery_id)
    ).first()
    return row.amount_due_cents if row is not None else 0


def set_amount_due(
    session: Session, actor: Actor, delivery_id: int, amount_cents: int
) -> CashCollection:
    """Set the amount a rider must collect at a stop; the caller commits.

    Raises:
        PermissionDeniedError: the actor is not operations staff.
        ValidationError: a negative or absurd amount, or the amount was already collected.

    """
    require_role(actor, *SETTLING_ROLES, Role.SYSTEM, target=f"cash due at delivery {delivery_id}")
    if not 0 <= amount_cents <= MAX_AMOUNT_CENTS:
        raise ValidationError(f"Amount {amount_cents} cents is out of range 0..{MAX_AMOUNT_CENTS}.")
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise ValidationError(
            f"Delivery {delivery_id} not found; check the id.", delivery_id=delivery_id
        )
    row = session.exec(
        select(CashCollection).where(CashCollection.delivery_id == delivery_id)
    ).first()
    if row is not None and row.collected_at is not None:
        raise ValidationError(
            f"Delivery {delivery_id} was already paid; record a correction instead.",
            delivery_id=delivery_id,
        )
    row = row or CashCollection(delivery_id=delivery_id, amount_due_cents=0)
    row.amount_due_cents = amount_cents
    session.add(row)
    record_event(
        session,
        actor,
        "delivery",
        delivery_id,
        "delivery_cash_due_set",
        order_id=delivery.order_id,
        payload={"amount_due_cents": amount_cents},
    )
    return row


def record_collection(
    session: Session, actor: Actor, delivery: Delivery, cash: Any
) -> dict[str, Any] | None:
    """Record what the rider collected at a stop being delivered; return the event's cash facts.

    Called by `backbone.delivery` inside the delivered transition. Returns None when nothing
    is due.

    Raises:
        ProofRequiredError: an amount is due and the rider sent no collection.
        ValidationError: a bad amount or method.

    """
    row = session.exec(
        select(CashCollection).where(CashCollection.delivery_id == delivery.id).with_for_update()
    ).first()
    if row is None or row.amount_due_cents == 0:
        return None
    if not isinstance(cash, dict):
        raise ProofRequiredError(
            f"Delivery {delivery.id} has {row.amount_due_cents / 100:.2f} to collect; record the "
            "amount and method collected before marking it delivered.",
            delivery_id=delivery.id,
            missing=["cash"],
            amount_due_cents=row.amount_due_cents,
        )
    amount = cash.get("amount_cents")
    method = cash.get("method")
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not 0 <= amount <= MAX_AMOUNT_CENTS
    ):
        raise ValidationError(
            f"Collected amount {amount!r} is invalid; send whole cents from 0 to "
            f"{MAX_AMOUNT_CENTS}.",
            delivery_id=delivery.id,
        )
    if method not in METHODS:
        raise ValidationError(
            f"Payment method {method!r} is unknown; use one of {', '.join(METHODS)}.",
            delivery_id=delivery.id,
        )

    row.collected_cents = amount
    row.method = method
    row.rider_id = actor.rider_id
    row.collected_at = datetime.now(UTC)
    session.add(row)
    return {
        "amount_due_cents": row.amount_due_cents,
        "collected_cents": amount,
        "method": method,
        "short_cents": row.amount_due_cents - amount,
    }


def cash_on_hand(session: Session, actor: Actor) -> list[CashOnHand]:
    """Return each rider's unsettled cash collections, largest amount first.

    Raises:
        PermissionDeniedError: the actor is not operations staff.

    """
    require_role(actor, *SETTLING_ROLES, target="cash on hand")
    statement = (
        select(
            CashCollection.rider_id,
            Rider.name,
            func.count(col(CashCollection.id)),
            func.coalesce(func.sum(CashCollection.collected_cents), 0),
        )
        .join(Rider, col(Rider.id) == col(CashCollection.rider_id))
        .where(
            CashCollection.method == "cash",
            col(CashCollection.settlement_id).is_(None),
            col(CashCollection.collected_at).is_not(None),
        )
        .group_by(CashCollection.rider_id, Rider.name)
    )
    rows = [
        CashOnHand(rider_id, name, count, int(total))
        for rider_id, name, count, total in session.exec(statement)
    ]
    return sorted(rows, key=lambda row: -row.cash_cents)


def settle(
    session: Session, actor: Actor, rider_id: int, day: date, counted_cents: int, note: str = ""
) -> CashSettlement:
    """Settle a rider's cash: count it, link every unsettled collection, record the difference.

    Raises:
        PermissionDeniedError: the actor is not operations staff.
        ValidationError: a negative count, or a difference without a note.

    """
    require_role(actor, *SETTLING_ROLES, target=f"cash settlement of rider {rider_id}")
    if not 0 <= counted_cents <= MAX_AMOUNT_CENTS:
        raise ValidationError(
            f"Counted amount {counted_cents} cents is out of range 0..{MAX_AMOUNT_CENTS}."
        )
    if session.get(Rider, rider_id) is None:
        raise ValidationError(f"Rider {rider_id} not found; check the id.", rider_id=rider_id)

    collections = list(
        session.exec(
            select(CashCollection)
            .where(
                CashCollection.rider_id == rider_id,
                CashCollection.method == "cash",
                col(CashCollection.settlement_id).is_(None),
                col(CashCollection.collected_at).is_not(None),
            )
            .order_by(col(CashCollection.id))
            .with_for_update()
        )
    )
    expected = sum(row.collected_cents or 0 for row in collections)
    difference = counted_cents - expected
    if difference != 0 and not note.strip():
        raise ValidationError(
            f"Counted {counted_cents / 100:.2f} but the rider collected {expected / 100:.2f} in "
            "cash; write a note that explains the difference.",
            expected_cents=expected,
            counted_cents=counted_cents,
        )

    settlement = CashSettlement(
        rider_id=rider_id,
        day=day,
        expected_cents=expected,
        counted_cents=counted_cents,
        difference_cents=difference,
        note=note.strip()[:500],
        settled_by=actor.username,
    )
    session.add(settlement)
    session.flush()
    for row in collections:
        row.settlement_id = settlement.id
        session.add(row)
    record_event(
        session,
        actor,
        "rider",
        rider_id,
        "cash_settled",
        payload={
            "settlement_id": settlement.id,
            "day": day.isoformat(),
            "expected_cents": expected,
            "counted_cents": counted_cents,
            "difference_cents": difference,
            "collections": [row.delivery_id for row in collections],
            "note": settlement.note,
        },
    )
    return settlement

"""The dispute record of an order: its whole timeline with who did what and when, and the proof.

Dealers and customers get the same record as operations, except that riders' positions are
left out of the event details and proof images are the copies without metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from distro.backbone import pod
from distro.backbone.actors import Actor
from distro.backbone.authz import is_operations, require_order
from distro.backbone.errors import NotFoundError
from distro.backbone.events import order_timeline
from distro.backbone.models import Delivery, Order, OrderLine, Product, ProofFile

HIDDEN_FROM_TENANTS = frozenset({"position", "distance_from_stop_m", "review_limit_m"})
"""Event details that only operations see."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of the order's timeline as the dispute record shows it."""

    event_id: int
    at: datetime
    actor: str
    role: str
    entity: str
    entity_id: int
    event_type: str
    from_state: str | None
    to_state: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ProofImage:
    """A proof file with the bytes this reader may see."""

    row: ProofFile
    content: bytes


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """Everything the dispute view shows for one order."""

    order: Order
    lines: list[tuple[str, str, int]]
    """(SKU, product name, quantity) of each order line."""
    deliveries: list[Delivery]
    timeline: list[TimelineEntry]
    proofs: list[ProofImage]
    operations_view: bool
    generated_at: datetime
    generated_for: str


def order_dispute(session: Session, actor: Actor, order_id: int) -> DisputeRecord:
    """Collect an order's dispute record for `actor`.

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another tenant.

    """
    order = require_order(session, actor, order_id)
    operations = is_operations(actor)
    lines = session.exec(
        select(Product.sku, Product.name, OrderLine.quantity)
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(OrderLine.order_id == order.id)
        .order_by(col(OrderLine.id))
    ).all()
    deliveries = list(
        session.exec(
            select(Delivery).where(Delivery.order_id == order.id).order_by(col(Delivery.id))
        )
    )

    timeline = []
    for event in order_timeline(session, order.id):
        details = dict(event.payload or {})
        if not operations:
            details = {k: v for k, v in details.items() if k not in HIDDEN_FROM_TENANTS}
        timeline.append(
            TimelineEntry(
                event_id=event.id,
                at=event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC),
                actor=event.actor,
                role=event.role,
                entity=event.entity,
                entity_id=event.entity_id,
                event_type=event.event_type,
                from_state=event.from_state,
                to_state=event.to_state,
                details=details,
            )
        )

    proofs = []
    for delivery in deliveries:
        for row in pod.proof_files(session, delivery.id):
            try:
                _, content = pod.read_proof_file(session, actor, row.id)
            except NotFoundError:
                # The record still lists the proof and its hash; the view says the file is gone.
                content = b""
            proofs.append(ProofImage(row, content))

    return DisputeRecord(
        order=order,
        lines=[tuple(line) for line in lines],
        deliveries=deliveries,
        timeline=timeline,
        proofs=proofs,
        operations_view=operations,
        generated_at=datetime.now(UTC),
        generated_for=actor.username,
    )

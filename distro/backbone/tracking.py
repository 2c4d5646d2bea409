"""Live tracking: riders' positions, a rider's shift list, and a recipient's view of an order.

Positions go to `RiderPosition`, not to the event log: they change nothing, and at one fix
every 20 s per rider they would drown the events that live views poll.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from distro.backbone import cash, failure_rules, pod
from distro.backbone.actors import Actor
from distro.backbone.authz import is_operations, require_order, require_role
from distro.backbone.errors import ValidationError
from distro.backbone.models import (
    Delivery,
    DeliveryStatus,
    Event,
    FailureReason,
    Order,
    OrderLine,
    Product,
    Rider,
    RiderPosition,
    Role,
    Route,
    RouteStatus,
)
from distro.formatting import clock, local_clock
from distro.settings import get_settings

logger = logging.getLogger(__name__)

S = DeliveryStatus

OPEN_STATES = frozenset({S.ASSIGNED, S.OUT_FOR_DELIVERY, S.ARRIVED})
"""States of a stop that the rider still has to finish."""

MAX_DEVICE_CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RiderLocation:
    """The last position of a rider on a published route."""

    rider_id: int
    rider_name: str
    route_id: int
    color: str
    lat: float
    lon: float
    accuracy_m: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ShiftStop:
    """One stop of a rider's shift, with everything the rider needs at the door."""

    delivery_id: int
    route_id: int
    sequence: int
    label: str
    address: str
    phone: str
    lat: float
    lon: float
    status: str
    """The delivery's status; "failed" for a stop that the rider failed today and that the
    failure rule took off the route since (see `outcome`)."""
    attempt: int
    eta: str | None
    """The planned arrival as an ISO 8601 UTC timestamp."""
    eta_local: str | None
    """The planned arrival as HH:MM in the network's time zone, as the board shows it."""
    window_start_min: int | None
    window_end_min: int | None
    window_start_local: str | None
    window_end_local: str | None
    demand_kg: int
    demand_units: int
    order_number: str | None
    lines: list[dict[str, Any]]
    required_proof: list[str]
    cash_due_cents: int
    code_locked: bool
    failure_reason: str | None = None
    """The reason code of the stop's last failed attempt on this shift."""
    failure_next_step: str | None = None
    """The failure rule's step: "rescheduled", "returned" or "held" (waits for dispatch)."""
    rescheduled_for: date | None = None
    outcome: str | None = None
    """The line the rider reads on a failed stop, for example
    "Failed — Recipient absent (rescheduled for Tue 8 Dec)"."""
    proof_recorded: list[str] = field(default_factory=list)
    """The proof stored for a delivered stop's attempt: "signature", "photo", "code" or
    "code waived"."""


@dataclass(frozen=True, slots=True)
class Shift:
    """A rider's published stops for a day in driving order, and the choices the page offers."""

    rider_id: int
    rider_name: str
    day: date
    stops: list[ShiftStop]
    failure_reasons: list[dict[str, Any]]
    position_interval_s: int
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC start and end of a local day in the network's time zone."""
    zone = ZoneInfo(get_settings().timezone)
    start = datetime.combine(day, time(0, 0), tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_today() -> date:
    """Return today's date in the network's time zone."""
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


def record_position(
    session: Session,
    actor: Actor,
    lat: float,
    lon: float,
    accuracy_m: float | None = None,
    device_at: datetime | None = None,
) -> RiderPosition | None:
    """Store a position sent by a rider's device; the caller commits.

    A fix that arrives sooner than a third of the reporting interval after the previous
    one is dropped (None is returned), so a page open twice does not double the rate.

    Raises:
        PermissionDeniedError: the actor is not a rider.
        ValidationError: coordinates or accuracy out of range.

    """
    require_role(actor, Role.RIDER, target="rider position")
    if actor.rider_id is None:
        raise ValidationError("This rider account is bound to no rider; ask an admin to fix it.")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(
            f"Position {lat}, {lon} is out of range; latitude must be within -90..90 and "
            "longitude within -180..180.",
            lat=lat,
            lon=lon,
        )
    if accuracy_m is not None and not 0 <= accuracy_m <= 100_000:
        raise ValidationError(f"Accuracy {accuracy_m} m is out of range 0..100000.")

    now = datetime.now(UTC)
    if device_at is not None:
        device_at = device_at if device_at.tzinfo else device_at.replace(tzinfo=UTC)
        if abs(device_at - now) > MAX_DEVICE_CLOCK_SKEW:
            logger.info(
                "Rider %d sent a device time %s far from the server's", actor.rider_id, device_at
            )
    minimum_gap = timedelta(seconds=get_settings().position_interval_s / 3)
    previous = session.exec(
        select(RiderPosition.at)
        .where(RiderPosition.rider_id == actor.rider_id)
        .order_by(col(RiderPosition.id).desc())
        .limit(1)
    ).first()
    if previous is not None and now - _aware(previous) < minimum_gap:
        return None

    position = RiderPosition(
        rider_id=actor.rider_id,
        at=now,
        device_at=device_at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
    )
    session.add(position)
    return position


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored timestamp is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def published_routes(session: Session, day: date, depot_id: int | None = None) -> list[Route]:
    """Return the published routes of a day (and depot) that have a rider, in id order."""
    statement = select(Route).where(
        Route.day == day, Route.status == RouteStatus.PUBLISHED, col(Route.rider_id).is_not(None)
    )
    if depot_id is not None:
        statement = statement.where(Route.depot_id == depot_id)
    return list(session.exec(statement.order_by(col(Route.id))))


def last_positions(session: Session, day: date, depot_id: int | None = None) -> list[RiderLocation]:
    """Return the last position of every rider on a published route of the day, if any."""
    routes = published_routes(session, day, depot_id)
    by_rider = {route.rider_id: route for route in routes}
    if not by_rider:
        return []
    start, end = day_bounds(day)
    latest_ids = (
        select(func.max(RiderPosition.id))
        .where(
            col(RiderPosition.rider_id).in_(list(by_rider)),
            col(RiderPosition.at) >= start,
            col(RiderPosition.at) < end,
        )
        .group_by(RiderPosition.rider_id)
    )
    positions = session.exec(
        select(RiderPosition).where(col(RiderPosition.id).in_(latest_ids))
    ).all()
    names = dict(
        session.exec(select(Rider.id, Rider.name).where(col(Rider.id).in_(list(by_rider)))).all()
    )
    return [
        RiderLocation(
            rider_id=p.rider_id,
            rider_name=names.get(p.rider_id, ""),
            route_id=by_rider[p.rider_id].id,
            color=by_rider[p.rider_id].color,
            lat=p.lat,
            lon=p.lon,
            accuracy_m=p.accuracy_m,
            at=_aware(p.at),
        )
        for p in sorted(positions, key=lambda p: p.rider_id)
    ]


def rider_shift(session: Session, actor: Actor, day: date) -> Shift:
    """Return the signed-in rider's published stops of `day` in driving order.

    Stops that the rider failed on those routes stay in the list with status "failed" and
    an `outcome` line, even after the failure rule took them off the route.

    Raises:
        PermissionDeniedError: the actor is not a rider.

    """
    require_role(actor, Role.RIDER, target="rider shift")
    rider = session.get(Rider, actor.rider_id) if actor.rider_id else None
    route_ids = [
        route.id
        for route in published_routes(session, day)
        if actor.rider_id is not None and route.rider_id == actor.rider_id
    ]
    rows: list[tuple[Delivery, str | None]] = []
    if route_ids:
        rows = list(
            session.exec(
                select(Delivery, Order.number)
                .join(Order, col(Order.id) == col(Delivery.order_id), isouter=True)
                .where(col(Delivery.route_id).in_(route_ids))
                .order_by(col(Delivery.route_id), col(Delivery.sequence), col(Delivery.id))
            ).all()
        )
    failures = _failures_on_routes(session, route_ids)
    on_route = {d.id for d, _ in rows}
    off_route = [delivery_id for delivery_id in failures if delivery_id not in on_route]
    off_route_rows: list[tuple[Delivery, str | None]] = []
    if off_route:
        off_route_rows = list(
            session.exec(
                select(Delivery, Order.number)
                .join(Order, col(Order.id) == col(Delivery.order_id), isouter=True)
                .where(col(Delivery.id).in_(off_route))
            ).all()
        )
    order_ids = [d.order_id for d, _ in rows + off_route_rows if d.order_id is not None]
    lines = _order_lines(session, order_ids)

    stops = [_shift_stop(session, d, number, lines, failures.get(d.id)) for d, number in rows]
    stops += [
        _failed_stop(session, d, number, lines, failures[d.id]) for d, number in off_route_rows
    ]
    # A failed stop keeps the place it had in the driving order when it was published.
    stops.sort(key=lambda stop: (route_ids.index(stop.route_id), stop.sequence, stop.delivery_id))
    reasons = [
        {"code": r.code, "label": r.label, "needs_note": r.needs_note}
        for r in failure_rules.active_reasons(session)
    ]
    return Shift(
        rider_id=actor.rider_id or 0,
        rider_name=rider.name if rider else actor.username,
        day=day,
        stops=stops,
        failure_reasons=reasons,
        position_interval_s=get_settings().position_interval_s,
    )


@dataclass(frozen=True, slots=True)
class _Failure:
    """The last failed attempt of a stop on one of the shift's routes, and the rule's step."""

    route_id: int
    reason_code: str
    reason_label: str
    sequence: int | None
    next_step: str
    rescheduled_for: date | None


def _failures_on_routes(session: Session, route_ids: list[int]) -> dict[int, _Failure]:
    """Return the last failed attempt per delivery on the given routes, from the event log.

    The `delivery_failed` event stores the route the stop was on, which the failure rule
    clears from the delivery itself when it reschedules or returns the stop.
    """
    if not route_ids:
        return {}
    failed = session.exec(
        select(Event)
        .where(
            Event.entity == "delivery",
            Event.event_type == "delivery_failed",
            col(Event.payload)["route_id"].as_integer().in_(route_ids),
        )
        .order_by(col(Event.id))
    ).all()
    last_failed = {event.entity_id: event for event in failed}
    if not last_failed:
        return {}

    later = session.exec(
        select(Event)
        .where(
            Event.entity == "delivery",
            col(Event.entity_id).in_(list(last_failed)),
            col(Event.event_type).in_(
                [
                    "delivery_assigned",
                    "delivery_reassigned",
                    "delivery_rescheduled",
                    "delivery_returned",
                ]
            ),
        )
        .order_by(col(Event.id))
    ).all()
    sequences: dict[int, int] = {}
    next_steps: dict[int, Event] = {}
    for event in later:
        failure = last_failed[event.entity_id]
        payload = event.payload if isinstance(event.payload, dict) else {}
        if event.event_type in ("delivery_assigned", "delivery_reassigned"):
            route_id = payload.get("route_id", payload.get("to_route_id"))
            sequence = payload.get("sequence")
            same_route = route_id == failure.payload.get("route_id")
            if event.id < failure.id and same_route and isinstance(sequence, int):
                sequences[event.entity_id] = sequence
        elif event.id > failure.id and event.entity_id not in next_steps:
            next_steps[event.entity_id] = event

    # Inactive reasons count too: a reason may be switched off after a rider used it.
    labels = dict(session.exec(select(FailureReason.code, FailureReason.label)).all())
    result = {}
    for delivery_id, event in last_failed.items():
        step = next_steps.get(delivery_id)
        rescheduled_for = None
        if step is None:
            next_step = "held"
        elif step.event_type == "delivery_rescheduled":
            next_step = "rescheduled"
            day_text = step.payload.get("day") if isinstance(step.payload, dict) else None
            rescheduled_for = date.fromisoformat(day_text) if day_text else None
        else:
            next_step = "returned"
        reason_code = str(event.payload.get("reason_code") or "")
        result[delivery_id] = _Failure(
            route_id=event.payload["route_id"],
            reason_code=reason_code,
            reason_label=labels.get(reason_code, reason_code.replace("_", " ")),
            sequence=sequences.get(delivery_id),
            next_step=next_step,
            rescheduled_for=rescheduled_for,
        )
    return result


def _shift_stop(
    session: Session,
    d: Delivery,
    number: str | None,
    lines: dict[int, list[dict[str, Any]]],
    failure: _Failure | None,
) -> ShiftStop:
    """Build the card of a stop that is on one of the rider's routes."""
    proof = _proof_recorded(session, d) if d.status == S.DELIVERED else []
    stop = ShiftStop(
        delivery_id=d.id,
        route_id=d.route_id,
        sequence=d.sequence or 0,
        label=d.label,
        address=d.address,
        phone=d.contact_phone,
        lat=d.latitude,
        lon=d.longitude,
        status=d.status,
        attempt=d.attempt,
        eta=_aware(d.eta).isoformat() if d.eta else None,
        eta_local=local_clock(d.eta) or None,
        window_start_min=d.window_start_min,
        window_end_min=d.window_end_min,
        window_start_local=clock(d.window_start_min) or None,
        window_end_local=clock(d.window_end_min) or None,
        demand_kg=d.demand_kg,
        demand_units=d.demand_units,
        order_number=number,
        lines=lines.get(d.order_id, []),
        required_proof=sorted(pod.required_proof(session, d)),
        cash_due_cents=cash.amount_due(session, d.id),
        code_locked=pod.code_status(session, d)["locked"],
        proof_recorded=proof,
    )
    if failure is None or d.status in OPEN_STATES or d.status == S.DELIVERED:
        return stop
    # A returned stop stays on its route as cancelled, but the rider reads it as the failure
    # that caused it. A stop that dispatch cancelled after a held failure stays cancelled.
    if d.status == S.FAILED or failure.next_step != "held":
        return dataclasses.replace(_with_failure(stop, failure), status=S.FAILED)
    return stop


def _failed_stop(
    session: Session,
    d: Delivery,
    number: str | None,
    lines: dict[int, list[dict[str, Any]]],
    failure: _Failure,
) -> ShiftStop:
    """Build the card of a stop that the rider failed and the failure rule took off the route.

    The delivery row has moved on to another day, a new attempt and no ETA. So the card
    keeps only what the rider saw at the door, and its attempt is the one that failed.
    """
    stop = ShiftStop(
        delivery_id=d.id,
        route_id=failure.route_id,
        sequence=failure.sequence or 0,
        label=d.label,
        address=d.address,
        phone=d.contact_phone,
        lat=d.latitude,
        lon=d.longitude,
        status=S.FAILED,
        attempt=d.attempt - 1 if failure.next_step == "rescheduled" else d.attempt,
        eta=None,
        eta_local=None,
        window_start_min=d.window_start_min,
        window_end_min=d.window_end_min,
        window_start_local=clock(d.window_start_min) or None,
        window_end_local=clock(d.window_end_min) or None,
        demand_kg=d.demand_kg,
        demand_units=d.demand_units,
        order_number=number,
        lines=lines.get(d.order_id, []),
        required_proof=[],
        cash_due_cents=0,
        code_locked=False,
    )
    return _with_failure(stop, failure)


def _with_failure(stop: ShiftStop, failure: _Failure) -> ShiftStop:
    if failure.next_step == "rescheduled" and failure.rescheduled_for is not None:
        day = failure.rescheduled_for
        step_text = f"rescheduled for {day:%a} {day.day} {day:%b}"
    elif failure.next_step == "returned":
        step_text = "returned"
    else:
        step_text = "waiting for dispatch"
    return dataclasses.replace(
        stop,
        failure_reason=failure.reason_code,
        failure_next_step=failure.next_step,
        rescheduled_for=failure.rescheduled_for,
        outcome=f"Failed — {failure.reason_label} ({step_text})",
    )


def _proof_recorded(session: Session, delivery: Delivery) -> list[str]:
    """Return the proof kinds stored for the delivery's current attempt, files first."""
    kinds = {
        file.kind
        for file in pod.proof_files(session, delivery.id)
        if file.attempt == delivery.attempt
    }
    recorded = [kind for kind in pod.FILE_KINDS if kind in kinds]
    code = pod.code_status(session, delivery)
    if code["verified"]:
        recorded.append("code")
    elif code["waived"]:
        recorded.append("code waived")
    return recorded


def _order_lines(session: Session, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not order_ids:
        return {}
    result: dict[int, list[dict[str, Any]]] = {}
    statement = (
        select(OrderLine.order_id, Product.sku, Product.name, OrderLine.quantity, Product.unit)
        .join(Product, col(Product.id) == col(OrderLine.product_id))
        .where(col(OrderLine.order_id).in_(sorted(set(order_ids))))
        .order_by(col(OrderLine.id))
    )
    for order_id, sku, name, quantity, unit in session.exec(statement):
        result.setdefault(order_id, []).append(
            {"sku": sku, "name": name, "quantity": quantity, "unit": unit}
        )
    return result


def order_tracking(session: Session, actor: Actor, order_id: int) -> dict[str, Any]:
    """Return what the dealer or customer sees of an order on its way, including the code.

    The rider's position is shown while a delivery is out for delivery or arrived. The
    confirmation code is shown to the recipient only (see `pod.recipient_code`).

    Raises:
        NotFoundError: no such order.
        PermissionDeniedError: the order belongs to another tenant.

    """
    order = require_order(session, actor, order_id)
    deliveries = session.exec(
        select(Delivery).where(Delivery.order_id == order.id).order_by(col(Delivery.id))
    ).all()
    recipient = actor.role in (Role.DEALER, Role.CUSTOMER)
    items = []
    for delivery in deliveries:
        route = session.get(Route, delivery.route_id) if delivery.route_id else None
        rider = session.get(Rider, route.rider_id) if route and route.rider_id else None
        position = None
        if rider is not None and delivery.status in (S.OUT_FOR_DELIVERY, S.ARRIVED):
            last = session.exec(
                select(RiderPosition)
                .where(RiderPosition.rider_id == rider.id)
                .order_by(col(RiderPosition.id).desc())
                .limit(1)
            ).first()
            if last is not None:
                position = {"lat": last.lat, "lon": last.lon, "at": _aware(last.at).isoformat()}
        items.append(
            {
                "delivery_id": delivery.id,
                "status": delivery.status,
                "attempt": delivery.attempt,
                "day": delivery.day.isoformat(),
                "eta": _aware(delivery.eta).isoformat() if delivery.eta else None,
                "window_start_min": delivery.window_start_min,
                "window_end_min": delivery.window_end_min,
                "failure_reason": delivery.failure_reason,
                "rider_name": rider.name if rider else None,
                "rider_position": position,
                "confirmation_code": (
                    pod.recipient_code(session, actor, delivery.id) if recipient else None
                ),
                "proof": [
                    {"proof_id": p.id, "kind": p.kind, "attempt": p.attempt}
                    for p in pod.proof_files(session, delivery.id)
                ],
            }
        )
    return {
        "order_id": order.id,
        "number": order.number,
        "status": order.status,
        "deliveries": items,
        "operations_view": is_operations(actor),
    }

"""Live tracking: riders' positions, a rider's shift list, and a recipient's view of an order.

Positions go to `RiderPosition`, not to the event log: they change nothing, and at one fix
every 20 s per rider they would drown the events that live views poll.
"""

from __future__ import annotations

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
    Order,
    OrderLine,
    Product,
    Rider,
    RiderPosition,
    Role,
    Route,
    RouteStatus,
)
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
    attempt: int
    eta: str | None
    window_start_min: int | None
    window_end_min: int | None
    demand_kg: int
    demand_units: int
    order_number: str | None
    lines: list[dict[str, Any]]
    required_proof: list[str]
    cash_due_cents: int
    code_locked: bool


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

    Raises:
        PermissionDeniedError: the actor is not a rider.

    """
    require_role(actor, Role.RIDER, target="rider shift")
    rider = session.get(Rider, actor.rider_id) if actor.rider_id else None
    routes = [
        route
        for route in published_routes(session, day)
        if actor.rider_id is not None and route.rider_id == actor.rider_id
    ]
    rows = []
    if routes:
        rows = session.exec(
            select(Delivery, Order.number)
            .join(Order, col(Order.id) == col(Delivery.order_id), isouter=True)
            .where(col(Delivery.route_id).in_([route.id for route in routes]))
            .order_by(col(Delivery.route_id), col(Delivery.sequence), col(Delivery.id))
        ).all()
    lines = _order_lines(session, [d.order_id for d, _ in rows if d.order_id is not None])

    stops = [
        ShiftStop(
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
            window_start_min=d.window_start_min,
            window_end_min=d.window_end_min,
            demand_kg=d.demand_kg,
            demand_units=d.demand_units,
            order_number=number,
            lines=lines.get(d.order_id, []),
            required_proof=sorted(pod.required_proof(session, d)),
            cash_due_cents=cash.amount_due(session, d.id),
            code_locked=pod.code_status(session, d)["locked"],
        )
        for d, number in rows
    ]
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

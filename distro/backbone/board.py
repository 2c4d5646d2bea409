"""Exceptions the dispatch board highlights: failed attempts, late stops, idle or off-route riders.

Thresholds are settings: DISTRO_ETA_TOLERANCE_MIN (late), DISTRO_RIDER_IDLE_MIN (idle),
DISTRO_OFF_ROUTE_M (off route) and DISTRO_POD_MAX_DISTANCE_M (completions flagged far from
their stop, recorded on the event by `backbone.delivery`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, col, func, select

from distro.backbone.models import (
    ConfirmationCode,
    Delivery,
    DeliveryStatus,
    Event,
    Rider,
    Route,
    Warehouse,
)
from distro.backbone.tracking import OPEN_STATES, day_bounds, last_positions, published_routes
from distro.routing.geo import haversine_m
from distro.settings import get_settings

S = DeliveryStatus

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}

AFTER_FAILURE = {
    S.PENDING: "rescheduled",
    S.CANCELLED: "returned to stock",
    S.FAILED: "waiting for dispatch",
}
"""What became of a stop after its failed attempt, by its status now."""


@dataclass(frozen=True, slots=True)
class BoardException:
    """One thing on the board that needs a dispatcher's attention."""

    kind: str
    """"failed", "far_from_stop", "code_locked", "late", "idle" or "off_route"."""
    severity: str
    """"high", "medium" or "low"."""
    title: str
    detail: str
    delivery_id: int | None
    rider_id: int | None
    at: datetime


def board_exceptions(
    session: Session, day: date, depot_id: int, now: datetime | None = None
) -> list[BoardException]:
    """Return the exceptions of one depot and day, most severe and newest first.

    Args:
        session: Open session.
        day: The delivery day.
        depot_id: The depot whose stops and routes are checked.
        now: The current time (UTC); default the clock, tests pass a fixed one.

    """
    now = now or datetime.now(UTC)
    settings = get_settings()
    found: list[BoardException] = []
    found += _event_exceptions(session, day, depot_id)
    found += _locked_codes(session, day, depot_id)
    found += _late_stops(session, day, depot_id, now, settings.eta_tolerance_min)
    found += _rider_exceptions(
        session, day, depot_id, now, settings.rider_idle_min, settings.off_route_m
    )
    found.sort(key=lambda item: item.at, reverse=True)
    found.sort(key=lambda item: SEVERITY_ORDER.get(item.severity, 9))
    return found


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _event_exceptions(session: Session, day: date, depot_id: int) -> list[BoardException]:
    """Failed attempts on the day's routes, and completions flagged far from their stop."""
    route_ids = {
        route_id
        for route_id in session.exec(
            select(Route.id).where(Route.day == day, Route.depot_id == depot_id)
        )
    }
    # A stop rescheduled after a failure has moved to the next day and left its route, so
    # the event's own route id, not the stop's, places the failure on this board.
    rows = session.exec(
        select(Event, Delivery)
        .join(Delivery, col(Delivery.id) == col(Event.entity_id))
        .where(
            Event.entity == "delivery",
            col(Event.event_type).in_(["delivery_failed", "delivery_delivered"]),
            col(Delivery.day).in_([day, day + timedelta(days=1)]),
            Delivery.depot_id == depot_id,
        )
        .order_by(col(Event.id))
    ).all()

    found = []
    for event, delivery in rows:
        payload = event.payload or {}
        if payload.get("route_id") not in route_ids:
            continue
        label = delivery.label or f"Delivery {delivery.id}"
        if event.event_type == "delivery_failed":
            outcome = AFTER_FAILURE.get(delivery.status, delivery.status)
            note = f" ({payload['note']})" if payload.get("note") else ""
            found.append(
                BoardException(
                    kind="failed",
                    severity="high" if delivery.status == S.FAILED else "medium",
                    title=f"Failed: {label}",
                    detail=f"{payload.get('reason_code', 'no reason')}{note} by {event.actor}; "
                    f"{outcome}",
                    delivery_id=delivery.id,
                    rider_id=None,
                    at=_aware(event.at),
                )
            )
        if payload.get("review") == "far_from_stop":
            found.append(
                BoardException(
                    kind="far_from_stop",
                    severity="medium",
                    title=f"Check: {label}",
                    detail=f"{event.event_type.removeprefix('delivery_')} recorded "
                    f"{payload.get('distance_from_stop_m')} m from the stop by {event.actor}",
                    delivery_id=delivery.id,
                    rider_id=None,
                    at=_aware(event.at),
                )
            )
    return found


def _locked_codes(session: Session, day: date, depot_id: int) -> list[BoardException]:
    rows = session.exec(
        select(ConfirmationCode, Delivery)
        .join(Delivery, col(Delivery.id) == col(ConfirmationCode.delivery_id))
        .where(
            Delivery.day == day,
            Delivery.depot_id == depot_id,
            col(ConfirmationCode.locked_at).is_not(None),
            col(ConfirmationCode.waived_by).is_(None),
            ConfirmationCode.attempt == Delivery.attempt,
            col(Delivery.status).in_(list(OPEN_STATES)),
        )
    ).all()
    return [
        BoardException(
            kind="code_locked",
            severity="high",
            title=f"Code locked: {delivery.label or delivery.id}",
            detail=f"{code.failed_tries} wrong codes; override it with a reason to let the "
            "rider finish",
            delivery_id=delivery.id,
            rider_id=None,
            at=_aware(code.locked_at),
        )
        for code, delivery in rows
    ]


def _late_stops(
    session: Session, day: date, depot_id: int, now: datetime, tolerance_min: int
) -> list[BoardException]:
    stops = session.exec(
        select(Delivery).where(
            Delivery.day == day,
            Delivery.depot_id == depot_id,
            col(Delivery.status).in_(list(OPEN_STATES)),
            col(Delivery.eta).is_not(None),
        )
    ).all()
    found = []
    for stop in stops:
        eta = _aware(stop.eta)
        late_by = now - eta - timedelta(minutes=tolerance_min)
        if late_by <= timedelta(0):
            continue
        minutes = int((now - eta).total_seconds() // 60)
        found.append(
            BoardException(
                kind="late",
                severity="medium",
                title=f"Late: {stop.label or stop.id}",
                detail=f"{minutes} min past its ETA and still {stop.status.replace('_', ' ')}",
                delivery_id=stop.id,
                rider_id=None,
                at=eta,
            )
        )
    return found


def _rider_exceptions(
    session: Session, day: date, depot_id: int, now: datetime, idle_min: int, off_route_m: int
) -> list[BoardException]:
    """Riders with open stops who sent nothing for a while, or who are far from every stop."""
    routes = published_routes(session, day, depot_id)
    if not routes:
        return []
    positions = {p.rider_id: p for p in last_positions(session, day, depot_id)}
    names = dict(session.exec(select(Rider.id, Rider.name)).all())
    start, _ = day_bounds(day)
    found = []
    for route in routes:
        open_stops = session.exec(
            select(Delivery).where(
                Delivery.route_id == route.id, col(Delivery.status).in_(list(OPEN_STATES))
            )
        ).all()
        if not open_stops:
            continue
        route_start = start + timedelta(minutes=route.start_min)
        if now < route_start:
            continue

        last_event = session.exec(
            select(func.max(Event.at)).where(
                Event.entity == "delivery",
                col(Event.entity_id).in_(select(Delivery.id).where(Delivery.route_id == route.id)),
                col(Event.at) >= start,
            )
        ).first()
        position = positions.get(route.rider_id)
        seen = [route_start]
        if last_event is not None:
            seen.append(_aware(last_event))
        if position is not None:
            seen.append(position.at)
        quiet = now - max(seen)
        name = names.get(route.rider_id, f"rider {route.rider_id}")
        if quiet > timedelta(minutes=idle_min):
            found.append(
                BoardException(
                    kind="idle",
                    severity="medium",
                    title=f"Idle: {name}",
                    detail=f"no position or update for {int(quiet.total_seconds() // 60)} min, "
                    f"{len(open_stops)} stops open",
                    delivery_id=None,
                    rider_id=route.rider_id,
                    at=max(seen),
                )
            )

        if position is not None:
            depot_point = _depot_point(session, route.depot_id)
            targets = [(s.latitude, s.longitude) for s in open_stops] + [depot_point]
            nearest = min(haversine_m(position.lat, position.lon, lat, lon) for lat, lon in targets)
            if nearest > off_route_m:
                found.append(
                    BoardException(
                        kind="off_route",
                        severity="medium",
                        title=f"Off route: {name}",
                        detail=f"{nearest / 1000:.1f} km from the nearest open stop or the depot",
                        delivery_id=None,
                        rider_id=route.rider_id,
                        at=position.at,
                    )
                )
    return found


def _depot_point(session: Session, depot_id: int) -> tuple[float, float]:
    depot = session.get(Warehouse, depot_id)
    return depot.latitude, depot.longitude

"""Dispatcher edits around a planning run: locked routes, urgent insertion, plan comparison.

A locked route keeps its stops and order when the day is planned again. An urgent stop
goes into a published route at its cheapest feasible place after the stops the rider has
started. The comparison puts a new draft plan's totals next to the routes riders have now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
from sqlmodel import Session, col, select

from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.errors import ConflictError, NotFoundError
from distro.backbone.events import record_event
from distro.backbone.models import (
    Delivery,
    DeliveryStatus,
    Plan,
    PlanStatus,
    Route,
    RouteStatus,
    Shift,
    Vehicle,
    Warehouse,
)
from distro.backbone.running_costs import route_cost_cents, vehicle_rates
from distro.routing.insert import Insertion, insert_stop
from distro.routing.problem import Problem
from distro.routing.problem import Route as RoutingRoute
from distro.routing.problem import Stop as RoutingStop
from distro.routing.problem import Vehicle as RoutingVehicle
from distro.routing.schedule import check_route
from distro.settings import get_settings

logger = logging.getLogger(__name__)

STARTED_STATUSES = (
    DeliveryStatus.OUT_FOR_DELIVERY,
    DeliveryStatus.ARRIVED,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
)
"""Stop states that mean the rider has started the stop, so it keeps its place and ETA."""


@dataclass(frozen=True, slots=True)
class PlanFigures:
    """Totals of one set of routes for the plan comparison.

    Attributes:
        label: What the figures describe, for example "Published now".
        plan_id: The plan behind the figures, or None for published routes of several plans.
        distance_m: Driven distance in metres.
        duration_s: Route durations in seconds, driving, service and waiting.
        vehicles: Routes with at least one stop.
        late_stops: Stops whose ETA is after their window closes, or None when the plan's
            stops are no longer on its routes (a superseded draft).
        unassigned: Stops of the day on none of these routes (cancelled stops excluded).
        cost_cents: Running cost of the routes with a stop: distance at each vehicle's
            per-km rate plus one vehicle day each (see `running_costs.vehicle_rates`).

    """

    label: str
    plan_id: int | None
    distance_m: int
    duration_s: int
    vehicles: int
    late_stops: int | None
    unassigned: int
    cost_cents: int = 0


@dataclass(frozen=True, slots=True)
class PlanComparison:
    """The routes riders have now (or the previous draft) against the newest draft."""

    day: date
    depot_id: int
    current: PlanFigures | None
    draft: PlanFigures | None


def lock_route(session: Session, actor: Actor, route_id: int, locked: bool) -> Route:
    """Lock or unlock a route; a locked route keeps its stops when the day is planned again.

    Writes a `route_locked` or `route_unlocked` event when the flag changes.

    Raises:
        NotFoundError: no such route.
        ConflictError: the route is superseded.
    """
    route = session.exec(select(Route).where(Route.id == route_id).with_for_update()).first()
    if route is None:
        raise NotFoundError(f"Route {route_id} not found", route_id=route_id)
    if route.status not in (RouteStatus.DRAFT, RouteStatus.PUBLISHED):
        raise ConflictError(
            f"The route {ff.route_name(session, route)} is {route.status}; only draft and "
            "published routes can be locked.",
            route_id=route_id, status=route.status,
        )
    if route.locked == locked:
        return route

    record_event(
        session, actor, "route", route.id, "route_locked" if locked else "route_unlocked",
        from_state=route.status, to_state=route.status,
        payload={"locked": locked, "plan_id": route.plan_id},
    )
    route.locked = locked
    session.add(route)
    return route


def insert_urgent(
    session: Session, actor: Actor, delivery_id: int, now: datetime | None = None
) -> int:
    """Insert a pending stop into the published route where it adds the least distance.

    The stop goes after the last stop the rider has started (see `STARTED_STATUSES`), so
    started stops keep their place and ETA. Only the ETAs of the stops after them are
    recomputed. The route must keep its vehicle's capacity in kg and units, the stop
    limit, every time window and the shift end. Locked routes are left alone.

    Args:
        session: Open session; the caller commits.
        actor: The dispatcher.
        delivery_id: A pending stop, on no route or on a draft route.
        now: Current time, for tests; on the delivery day the rider cannot leave the
            last started stop before it.

    Returns:
        The id of the route that took the stop.

    Raises:
        NotFoundError: no such stop.
        ConflictError: the stop is not pending, or no published route can take it.
    """
    delivery = session.exec(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
    ).first()
    if delivery is None:
        raise NotFoundError(f"Stop {delivery_id} not found", delivery_id=delivery_id)
    if delivery.status != DeliveryStatus.PENDING:
        raise ConflictError(
            f"Stop {delivery_id} is {delivery.status}; only a pending stop can be inserted.",
            delivery_id=delivery_id, status=delivery.status,
        )

    # Rows are locked in the same order as in `move_stop`: the stop, then routes by id.
    routes = list(
        session.exec(
            select(Route)
            .where(
                Route.day == delivery.day,
                Route.depot_id == delivery.depot_id,
                Route.status == RouteStatus.PUBLISHED,
                col(Route.locked).is_(False),
            )
            .order_by(col(Route.id))
            .with_for_update()
        )
    )
    if not routes:
        raise ConflictError(
            f"No unlocked published route on {delivery.day} at depot "
            f"{ff.depot_code(session, delivery.depot_id)}; "
            "publish a plan first or plan the stop with the next run.",
            delivery_id=delivery_id,
        )

    depot = session.get(Warehouse, delivery.depot_id)
    tz = ZoneInfo(get_settings().timezone)
    ready = _ready_time(delivery.day, now or datetime.now(UTC), tz)

    best: tuple[int, Route, list[Delivery], int, Insertion] | None = None
    for route in routes:
        stops = ff._route_stops(session, route.id)
        started = [i for i, s in enumerate(stops) if s.status in STARTED_STATUSES]
        fixed = started[-1] + 1 if started else 0
        insertion = _cheapest_insertion(session, depot, route, stops, delivery, fixed, ready, tz)
        if insertion is None:
            continue
        cost = insertion.added_distance
        if best is None or cost < best[0]:
            best = (cost, route, stops, fixed, insertion)
    if best is None:
        raise ConflictError(
            f"No published route can take stop {delivery.label or delivery_id} "
            f"({delivery.demand_kg} kg, {delivery.demand_units} units) within capacity, time "
            "windows and shift end after the stops already started; add a shift and plan "
            "it, or move another stop off a route first.",
            delivery_id=delivery_id,
        )

    _, route, stops, fixed, insertion = best
    source_id = delivery.route_id
    from_state = delivery.status
    stops.insert(insertion.position, delivery)
    for index, stop in enumerate(stops):
        if index < fixed:
            continue
        stop.route_id = route.id
        stop.sequence = index + 1
        stop.eta = ff._eta_datetime(route.day, insertion.route.etas[index], tz)
        session.add(stop)
    delivery.status = DeliveryStatus.ASSIGNED
    delivery.updated_at = datetime.now(UTC)
    session.add(delivery)

    route.load_kg = insertion.route.load[0]
    route.load_units = insertion.route.load[1]
    route.distance_m = insertion.route.distance
    route.duration_s = insertion.route.duration
    session.add(route)
    session.flush()

    if source_id is not None:
        source = session.get(Route, source_id)
        if source is not None:
            ff._refresh_route_metrics(session, source)
    for plan_id in {route.plan_id, *_draft_plan_ids(session, delivery)}:
        ff._drop_from_unassigned(session, plan_id, delivery.id)

    record_event(
        session, actor, "delivery", delivery.id, "urgent_inserted",
        from_state=from_state, to_state=DeliveryStatus.ASSIGNED, order_id=delivery.order_id,
        payload={
            "route_id": route.id, "from_route_id": source_id, "sequence": delivery.sequence,
            "eta": delivery.eta.isoformat() if delivery.eta else None,
            "added_distance_m": insertion.added_distance, "started_stops": fixed,
        },
    )
    if delivery.order_id is not None:
        ff._mark_order_planned(session, actor, delivery)
    logger.info("Urgent stop %d inserted into route %d at position %d",
                delivery.id, route.id, insertion.position + 1)
    return route.id


def _ready_time(day: date, now: datetime, tz: ZoneInfo) -> int | None:
    """Return the current time in seconds after midnight when `day` is today, else None."""
    local = now.astimezone(tz)
    if local.date() != day:
        return None
    return local.hour * 3600 + local.minute * 60 + local.second


def _cheapest_insertion(
    session: Session,
    depot: Warehouse,
    route: Route,
    stops: list[Delivery],
    delivery: Delivery,
    fixed: int,
    ready: int | None,
    tz: ZoneInfo,
) -> Insertion | None:
    """Build the routing problem of one route plus the new stop and insert the stop."""
    shift = session.get(Shift, route.shift_id) if route.shift_id else None
    vehicle = session.get(Vehicle, route.vehicle_id)
    points = np.array(
        [(depot.latitude, depot.longitude)]
        + [(s.latitude, s.longitude) for s in stops]
        + [(delivery.latitude, delivery.longitude)],
        dtype=float,
    )
    distance, duration = ff.matrix_provider().matrices(points)
    routing_stops = tuple(
        _routing_stop(d, location) for location, d in enumerate([*stops, delivery], start=1)
    )
    routing_vehicle = RoutingVehicle(
        id=str(route.id),
        depot=0,
        capacity=(vehicle.capacity_kg, vehicle.capacity_units),
        shift_start=(shift.start_min if shift else route.start_min) * 60,
        shift_end=shift.end_min * 60 if shift else None,
        max_stops=get_settings().max_stops_per_route or None,
    )
    problem = Problem(routing_stops, (routing_vehicle,), distance, duration)

    # Stored ETAs are the rider's schedule; a stop without one gets the computed time.
    timed = check_route(problem, 0, list(range(len(stops)))).route
    etas = tuple(
        _seconds_of_day(stop.eta, route.day, tz) if stop.eta is not None else computed
        for stop, computed in zip(stops, timed.etas, strict=True)
    )
    current = RoutingRoute(
        vehicle_id=routing_vehicle.id,
        stop_ids=timed.stop_ids,
        load=timed.load,
        distance=timed.distance,
        duration=timed.duration,
        etas=etas,
        start=route.start_min * 60,
        end=timed.end,
    )
    # NOTE: the capacity check counts every stop of the route, delivered ones too, as if
    # the urgent goods were loaded at the depot with the rest. Fetching them mid-route is
    # not modelled.
    return insert_stop(problem, current, str(delivery.id), fixed_prefix=fixed, ready_time=ready)


def _routing_stop(delivery: Delivery, location: int) -> RoutingStop:
    window = None
    if delivery.window_start_min is not None and delivery.window_end_min is not None:
        window = (delivery.window_start_min * 60, delivery.window_end_min * 60)
    return RoutingStop(
        id=str(delivery.id),
        location=location,
        demand=(delivery.demand_kg, delivery.demand_units),
        service_time=delivery.service_min * 60,
        time_window=window,
        priority=delivery.priority,
    )


def _seconds_of_day(moment: datetime, day: date, tz: ZoneInfo) -> int:
    """Return seconds after local midnight of `day`; naive datetimes are read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return int((moment - midnight).total_seconds())


def _draft_plan_ids(session: Session, delivery: Delivery) -> list[int]:
    statement = select(Plan.id).where(
        Plan.day == delivery.day, Plan.depot_id == delivery.depot_id,
        Plan.status == PlanStatus.DRAFT,
    )
    return list(session.exec(statement))


def compare_plans(session: Session, day: date, depot_id: int) -> PlanComparison:
    """Compare the newest draft plan with the routes riders have now.

    With published routes, "current" is those routes and "draft" is the day after
    publishing the draft (published routes plus the draft's routes). Without published
    routes, "current" is the previous draft from its stored totals, whose late stops are
    unknown because its stops have moved on.

    Raises:
        NotFoundError: the depot does not exist.
    """
    if session.get(Warehouse, depot_id) is None:
        raise NotFoundError(f"Depot {depot_id} not found", depot_id=depot_id)
    tz = ZoneInfo(get_settings().timezone)
    stops = list(
        session.exec(
            select(Delivery).where(
                Delivery.day == day, Delivery.depot_id == depot_id,
                Delivery.status != DeliveryStatus.CANCELLED,
            )
        )
    )
    plans = list(
        session.exec(
            select(Plan).where(Plan.day == day, Plan.depot_id == depot_id).order_by(col(Plan.id))
        )
    )
    draft_plan = next((p for p in reversed(plans) if p.status == PlanStatus.DRAFT), None)
    routes = ff.active_routes(session, day, depot_id)
    published = [r for r in routes if r.status == RouteStatus.PUBLISHED]

    current = None
    if published:
        current = _figures(session, "Published now", None, published, stops, day, tz)
    else:
        before = [
            p for p in plans
            if p.status == PlanStatus.SUPERSEDED and (draft_plan is None or p.id < draft_plan.id)
        ]
        if before:
            handed_on = _handed_on_routes(routes, draft_plan)
            current = _stored_figures(session, before[-1], len(stops), handed_on)

    draft = None
    if draft_plan is not None:
        draft_routes = [r for r in routes if r.plan_id == draft_plan.id]
        label = f"With draft {draft_plan.id}" if published else f"Draft {draft_plan.id}"
        draft = _figures(session, label, draft_plan.id, published + draft_routes, stops, day, tz)
    return PlanComparison(day, depot_id, current, draft)


def _handed_on_routes(routes: list[Route], draft_plan: Plan | None) -> list[Route]:
    """Return the draft's routes that an earlier draft locked and handed on unchanged.

    Route ids only grow, so a route the newer draft planned itself has a larger id than any
    route it took over. A route locked after planning is therefore not counted.
    """
    if draft_plan is None:
        return []
    draft_routes = [r for r in routes if r.plan_id == draft_plan.id]
    own = [r.id for r in draft_routes if not r.locked]
    first_own = min(own) if own else None
    return [r for r in draft_routes if r.locked and (first_own is None or r.id < first_own)]


def _figures(
    session: Session,
    label: str,
    plan_id: int | None,
    routes: list[Route],
    stops: list[Delivery],
    day: date,
    tz: ZoneInfo,
) -> PlanFigures:
    route_ids = {r.id for r in routes}
    routed = [s for s in stops if s.route_id in route_ids]
    late = sum(
        1 for s in routed
        if s.eta is not None and s.window_end_min is not None
        and _seconds_of_day(s.eta, day, tz) > s.window_end_min * 60
    )
    used = {s.route_id for s in routed}
    return PlanFigures(
        label=label,
        plan_id=plan_id,
        distance_m=sum(r.distance_m for r in routes if r.id in used),
        duration_s=sum(r.duration_s for r in routes if r.id in used),
        vehicles=len(used),
        late_stops=late,
        unassigned=len(stops) - len(routed),
        cost_cents=_routes_cost(session, [r for r in routes if r.id in used]),
    )


def _routes_cost(session: Session, routes: list[Route]) -> int:
    vehicle_ids = {r.vehicle_id for r in routes}
    statement = select(Vehicle).where(col(Vehicle.id).in_(vehicle_ids))
    vehicles = {v.id: v for v in session.exec(statement)}
    return sum(
        route_cost_cents(r.distance_m, vehicle_rates(vehicles[r.vehicle_id])) for r in routes
    )


def _stored_figures(
    session: Session, plan: Plan, n_stops: int, handed_on: list[Route]
) -> PlanFigures:
    """Figures of a superseded draft, as it stood when the newer draft replaced it.

    Its own routes keep the totals of their last edit. `handed_on` are its locked routes, which
    moved on to the newer draft unchanged, so they count here too.
    """
    routes = list(session.exec(select(Route).where(Route.plan_id == plan.id)).all())
    used = [r for r in routes + handed_on if r.distance_m > 0]
    return PlanFigures(
        label=f"Previous draft {plan.id}",
        plan_id=plan.id,
        distance_m=sum(r.distance_m for r in used),
        duration_s=sum(r.duration_s for r in used),
        vehicles=len(used),
        late_stops=None,
        unassigned=min(n_stops, len(plan.unassigned or [])),
        cost_cents=_routes_cost(session, used),
    )

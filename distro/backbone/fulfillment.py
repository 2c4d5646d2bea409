"""Turning confirmed orders into delivery stops, planning runs and publishing routes.

A planning run reads the day's pending stops and the riders on shift at one depot or at
several depots together, solves the routing problem outside any transaction, and writes one
draft plan per depot in one transaction. The dispatcher edits the draft (`move_stop`) and
publishes it (`publish_plan`), which assigns the routes to riders and writes one event per
changed delivery, order and route.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from distro.backbone.actors import Actor
from distro.backbone.errors import (
    CapacityExceededError,
    ConflictError,
    DistroError,
    NotFoundError,
    ValidationError,
)
from distro.backbone.events import record_event, write_event
from distro.backbone.models import (
    Customer,
    Dealer,
    Delivery,
    DeliveryStatus,
    Order,
    OrderStatus,
    Plan,
    PlanStatus,
    Rider,
    Route,
    RouteStatus,
    Shift,
    Vehicle,
    Warehouse,
)
from distro.backbone.running_costs import objective_weights, route_cost_cents, vehicle_rates
from distro.db import insert_objects
from distro.routing import geo
from distro.routing.problem import CostRangeError, Problem, Unassigned
from distro.routing.problem import Plan as SolvedPlan
from distro.routing.problem import Route as SolvedRoute
from distro.routing.problem import Stop as RoutingStop
from distro.routing.problem import Vehicle as RoutingVehicle
from distro.routing.solve import solve
from distro.settings import get_settings

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]

ROUTE_COLORS = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
    "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#ad494a",
)
"""Route line colours, chosen to stay distinct on a light map."""


@dataclass(frozen=True, slots=True)
class BoardOption:
    """A depot and day that has delivery stops, for the board's selectors."""

    depot_id: int
    depot_code: str
    depot_name: str
    day: date
    deliveries: int


@dataclass(frozen=True, slots=True)
class BoardStop:
    """One delivery stop as the dispatch board shows it."""

    delivery_id: int
    label: str
    address: str
    latitude: float
    longitude: float
    demand_kg: int
    demand_units: int
    status: str
    route_id: int | None
    sequence: int | None
    eta: datetime | None
    window_start_min: int | None
    window_end_min: int | None
    order_number: str | None


@dataclass(frozen=True, slots=True)
class BoardDepot:
    """A depot drawn on the board's map."""

    depot_id: int
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class BoardRoute:
    """One route with its rider, vehicle, load against capacity, running cost and geometry.

    `cost_cents` is the distance at the vehicle's per-km rate plus one vehicle day (see
    `running_costs.vehicle_rates`); rider hours are not included.
    """

    route_id: int
    color: str
    status: str
    rider_name: str
    vehicle_code: str
    capacity_kg: int
    capacity_units: int
    load_kg: int
    load_units: int
    stop_count: int
    distance_m: int
    duration_s: int
    path: list[tuple[float, float]]
    locked: bool = False
    cost_cents: int = 0
    depot_id: int = 0
    depot_code: str = ""


@dataclass(frozen=True, slots=True)
class BoardUnassigned:
    """A stop the planner could not route, with the reason."""

    delivery_id: int
    label: str
    reason: str


@dataclass(frozen=True, slots=True)
class BoardSnapshot:
    """Everything the dispatch board shows for one depot and day, or for all depots of a day.

    A board of all depots (see `distro.backbone.day_board`) has `depot_id` 0, the first
    depot's position, every depot in `depots` and the newest plan of each depot in
    `plan_ids`.
    """

    day: date
    depot_id: int
    depot_name: str
    depot_lat: float
    depot_lon: float
    plan_id: int | None
    plan_status: str | None
    engine: str
    solve_seconds: float
    total_distance_m: int
    total_duration_s: int
    stops: list[BoardStop]
    routes: list[BoardRoute]
    unassigned: list[BoardUnassigned]
    total_cost_cents: int = 0
    depots: tuple[BoardDepot, ...] = ()
    plan_ids: tuple[int, ...] = ()
    """The newest plan of each depot on the board, whatever its status."""
    draft_plan_ids: tuple[int, ...] = ()
    """The plans of `plan_ids` that are drafts, which Publish publishes."""


def enqueue_order(
    session: Session, actor: Actor, order: Order, dealer: Dealer, customer: Customer | None
) -> Delivery:
    """Create the delivery stop of a confirmed order at its dealer's or customer's address."""
    target = customer if customer is not None else dealer
    return create_stop(
        session,
        actor,
        depot_id=order.warehouse_id,
        day=order.delivery_day,
        latitude=target.latitude,
        longitude=target.longitude,
        demand_kg=math.ceil(order.weight_kg),
        demand_units=order.units,
        label=customer.name if customer is not None else f"{dealer.code} {dealer.name}",
        address=target.address,
        contact_phone=target.phone,
        window=(order.window_start_min, order.window_end_min)
        if order.window_start_min is not None and order.window_end_min is not None
        else None,
        priority=order.priority,
        source="order",
        external_id=order.number,
        order_id=order.id,
    )


def create_stop(
    session: Session,
    actor: Actor,
    *,
    depot_id: int,
    day: date,
    latitude: float,
    longitude: float,
    demand_kg: int = 0,
    demand_units: int = 0,
    label: str = "",
    address: str = "",
    contact_phone: str = "",
    window: tuple[int, int] | None = None,
    service_min: int = 5,
    priority: int = 0,
    source: str = "import",
    external_id: str = "",
    order_id: int | None = None,
) -> Delivery:
    """Add a pending delivery stop and its `delivery_created` event to the session.

    Raises:
        ValidationError: coordinates out of range, negative demand or a bad window.
    """
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValidationError(
            f"Coordinates {latitude}, {longitude} are out of range; latitude must be within "
            "-90..90 and longitude within -180..180.",
            latitude=latitude,
            longitude=longitude,
        )
    if demand_kg < 0 or demand_units < 0:
        raise ValidationError(
            f"Demand {demand_kg} kg / {demand_units} units is negative; use 0 or more.",
        )
    if window is not None and not (0 <= window[0] < window[1] <= 24 * 60):
        raise ValidationError(
            f"Time window {window[0]}-{window[1]} is invalid; start must be before end, in "
            "minutes 0-1440.",
            window=list(window),
        )

    delivery = Delivery(
        order_id=order_id,
        external_id=external_id,
        source=source,
        day=day,
        depot_id=depot_id,
        label=label,
        address=address,
        contact_phone=contact_phone,
        latitude=latitude,
        longitude=longitude,
        demand_kg=demand_kg,
        demand_units=demand_units,
        window_start_min=window[0] if window else None,
        window_end_min=window[1] if window else None,
        service_min=service_min,
        priority=priority,
        status=DeliveryStatus.PENDING,
    )
    insert_objects(session, [delivery])
    write_event(
        session,
        actor,
        "delivery",
        delivery.id,
        "delivery_created",
        to_state=DeliveryStatus.PENDING,
        order_id=order_id,
        payload={"day": day.isoformat(), "depot_id": depot_id, "source": source},
    )
    return delivery


def list_board_options(session: Session) -> list[BoardOption]:
    """Return each depot and day that has stops, newest day first."""
    statement = (
        select(Warehouse.id, Warehouse.code, Warehouse.name, Delivery.day, func.count(col(Delivery.id)))
        .join(Warehouse, col(Warehouse.id) == col(Delivery.depot_id))
        .where(col(Delivery.status) != DeliveryStatus.CANCELLED)
        .group_by(Warehouse.id, Warehouse.code, Warehouse.name, Delivery.day)
        .order_by(col(Delivery.day).desc(), col(Warehouse.code))
    )
    return [BoardOption(*row) for row in session.exec(statement)]


def active_routes(session: Session, day: date, depot_id: int) -> list[Route]:
    """Return the draft and published routes of a depot and day, in id order."""
    statement = (
        select(Route)
        .where(
            Route.day == day,
            Route.depot_id == depot_id,
            col(Route.status).in_([RouteStatus.DRAFT, RouteStatus.PUBLISHED]),
        )
        .order_by(col(Route.id))
    )
    return list(session.exec(statement))


def board_snapshot(session: Session, day: date, depot_id: int) -> BoardSnapshot:
    """Collect the stops, routes and unassigned stops of one depot and day.

    Raises:
        NotFoundError: the depot does not exist.
    """
    depot = session.get(Warehouse, depot_id)
    if depot is None:
        raise NotFoundError(f"Depot {depot_id} not found", depot_id=depot_id)

    rows = session.exec(
        select(Delivery, Order.number)
        .join(Order, col(Order.id) == col(Delivery.order_id), isouter=True)
        .where(
            Delivery.day == day,
            Delivery.depot_id == depot_id,
            col(Delivery.status) != DeliveryStatus.CANCELLED,
        )
        .order_by(col(Delivery.id))
    ).all()
    stops = [
        BoardStop(
            delivery_id=d.id,
            label=d.label,
            address=d.address,
            latitude=d.latitude,
            longitude=d.longitude,
            demand_kg=d.demand_kg,
            demand_units=d.demand_units,
            status=d.status,
            route_id=d.route_id,
            sequence=d.sequence,
            eta=d.eta,
            window_start_min=d.window_start_min,
            window_end_min=d.window_end_min,
            order_number=number,
        )
        for d, number in rows
    ]

    routes = active_routes(session, day, depot_id)
    vehicles = _by_id(session, Vehicle, [r.vehicle_id for r in routes])
    riders = _by_id(session, Rider, [r.rider_id for r in routes if r.rider_id])
    by_route: dict[int, list[BoardStop]] = {}
    for stop in stops:
        if stop.route_id is not None:
            by_route.setdefault(stop.route_id, []).append(stop)

    board_routes = []
    for route in routes:
        route_stops = sorted(by_route.get(route.id, []), key=lambda s: s.sequence or 0)
        vehicle = vehicles[route.vehicle_id]
        rider = riders.get(route.rider_id)
        cost_cents = 0
        if route_stops:
            cost_cents = route_cost_cents(route.distance_m, vehicle_rates(vehicle))
        path = [(depot.latitude, depot.longitude)]
        path += [(s.latitude, s.longitude) for s in route_stops]
        path.append((depot.latitude, depot.longitude))
        board_routes.append(
            BoardRoute(
                route_id=route.id,
                color=route.color,
                status=route.status,
                rider_name=rider.name if rider else "unassigned",
                vehicle_code=vehicle.code,
                capacity_kg=vehicle.capacity_kg,
                capacity_units=vehicle.capacity_units,
                load_kg=route.load_kg,
                load_units=route.load_units,
                stop_count=len(route_stops),
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                path=path,
                locked=route.locked,
                cost_cents=cost_cents,
                depot_id=depot.id,
                depot_code=depot.code,
            )
        )

    plan = latest_plan(session, day, depot_id)
    labels = {s.delivery_id: s for s in stops}
    unassigned = []
    routed_ids = {s.delivery_id for s in stops if s.route_id is not None}
    if plan is not None:
        for item in plan.unassigned or []:
            stop = labels.get(item["delivery_id"])
            if stop is not None and stop.delivery_id not in routed_ids:
                unassigned.append(BoardUnassigned(stop.delivery_id, stop.label, item["reason"]))
    listed = {u.delivery_id for u in unassigned}
    for stop in stops:
        if stop.route_id is None and stop.status == DeliveryStatus.PENDING and stop.delivery_id not in listed:
            reason = "not planned yet" if plan is None else "added after the last planning run"
            unassigned.append(BoardUnassigned(stop.delivery_id, stop.label, reason))

    return BoardSnapshot(
        day=day,
        depot_id=depot.id,
        depot_name=depot.name,
        depot_lat=depot.latitude,
        depot_lon=depot.longitude,
        plan_id=plan.id if plan else None,
        plan_status=plan.status if plan else None,
        engine=plan.engine if plan else "",
        solve_seconds=plan.solve_seconds if plan else 0.0,
        total_distance_m=sum(r.distance_m for r in board_routes),
        total_duration_s=sum(r.duration_s for r in board_routes),
        stops=stops,
        routes=board_routes,
        unassigned=unassigned,
        total_cost_cents=sum(r.cost_cents for r in board_routes),
        depots=(BoardDepot(depot.id, depot.code, depot.name, depot.latitude, depot.longitude),),
        plan_ids=(plan.id,) if plan else (),
        draft_plan_ids=(plan.id,) if plan and plan.status == PlanStatus.DRAFT else (),
    )


def latest_plan(session: Session, day: date, depot_id: int) -> Plan | None:
    """Return the newest planning run of a depot and day, whatever its status."""
    statement = (
        select(Plan)
        .where(Plan.day == day, Plan.depot_id == depot_id)
        .order_by(col(Plan.id).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def _by_id(session: Session, model, ids):
    ids = sorted({i for i in ids if i is not None})
    if not ids:
        return {}
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(ids)))}


@dataclass(frozen=True, slots=True)
class _PlanningInput:
    depot: Warehouse
    deliveries: list[Delivery]
    shifts: list[tuple[Shift, Vehicle]]


def _planning_input(session: Session, day: date, depot_id: int) -> _PlanningInput:
    depot = session.get(Warehouse, depot_id)
    if depot is None:
        raise NotFoundError(f"Depot {depot_id} not found", depot_id=depot_id)

    # Locked draft routes are kept as they are, like published ones.
    kept_routes = select(Route.id).where(
        (Route.status == RouteStatus.PUBLISHED)
        | ((Route.status == RouteStatus.DRAFT) & (col(Route.locked).is_(True)))
    )
    deliveries = list(
        session.exec(
            select(Delivery)
            .where(
                Delivery.day == day,
                Delivery.depot_id == depot_id,
                Delivery.status == DeliveryStatus.PENDING,
                (col(Delivery.route_id).is_(None)) | (col(Delivery.route_id).not_in(kept_routes)),
            )
            .order_by(col(Delivery.id))
        )
    )

    busy_shifts = select(Route.shift_id).where(
        (Route.status == RouteStatus.PUBLISHED)
        | ((Route.status == RouteStatus.DRAFT) & (col(Route.locked).is_(True))),
        col(Route.shift_id).is_not(None),
    )
    shifts = list(
        session.exec(
            select(Shift, Vehicle)
            .join(Vehicle, col(Vehicle.id) == col(Shift.vehicle_id))
            .where(Shift.day == day, Shift.depot_id == depot_id, col(Shift.id).not_in(busy_shifts))
            .order_by(col(Shift.id))
        )
    )
    return _PlanningInput(depot, deliveries, shifts)


def matrix_provider() -> geo.MatrixProvider:
    """Return the travel-distance provider named by the settings (OSRM or haversine)."""
    settings = get_settings()
    return geo.provider_from_settings(settings.osrm_url or None, settings.road_factor, settings.speed_kmh)


def build_problem(inputs: list[_PlanningInput]) -> Problem:
    """Translate the stops and shifts of one or more depots into the planner's problem.

    Locations 0..k-1 are the k depots in the order of `inputs`, then the stops. Each stop is
    bound to its own depot, whose warehouse stores its goods, and each vehicle starts and ends
    at the depot of its shift. Demand and capacity have two dimensions, kilograms then
    units. Times are seconds after midnight of the delivery day. Costs are the vehicles'
    running costs (see `running_costs.objective_weights`).

    Raises:
        ValidationError: a vehicle's costs are too large for the planner's integer objective.
    """
    deliveries = [(index, d) for index, data in enumerate(inputs) for d in data.deliveries]
    shifts = [
        (index, shift, vehicle)
        for index, data in enumerate(inputs)
        for shift, vehicle in data.shifts
    ]
    points = np.array(
        [(data.depot.latitude, data.depot.longitude) for data in inputs]
        + [(d.latitude, d.longitude) for _, d in deliveries],
        dtype=float,
    )
    distance, duration = matrix_provider().matrices(points)
    max_stops = get_settings().max_stops_per_route or None
    weights = objective_weights(vehicle for _, _, vehicle in shifts)

    stops = tuple(
        RoutingStop(
            id=str(d.id),
            location=location,
            demand=(d.demand_kg, d.demand_units),
            service_time=d.service_min * 60,
            time_window=(d.window_start_min * 60, d.window_end_min * 60)
            if d.window_start_min is not None and d.window_end_min is not None
            else None,
            priority=d.priority,
            depot=depot_index,
        )
        for location, (depot_index, d) in enumerate(deliveries, start=len(inputs))
    )
    # NOTE: the duration of a route is not a cost here; rider hours count only in the KPIs.
    vehicles = tuple(
        RoutingVehicle(
            id=str(shift.id),
            depot=depot_index,
            capacity=(vehicle.capacity_kg, vehicle.capacity_units),
            shift_start=shift.start_min * 60,
            shift_end=shift.end_min * 60,
            max_stops=max_stops,
            fixed_cost=weights[vehicle.id].fixed_cost,
            distance_cost=weights[vehicle.id].distance_cost,
        )
        for depot_index, shift, vehicle in shifts
    )
    try:
        return Problem(
            stops=stops,
            vehicles=vehicles,
            distance=distance,
            duration=duration,
            dimension_units=("kg", "units"),
            coordinates=points,
        )
    except CostRangeError as exc:
        vehicle = next(v for _, shift, v in shifts if str(shift.id) == exc.vehicle_id)
        raise ValidationError(
            f"Vehicle {vehicle.code} costs {vehicle.cost_per_km_cents} cents per km and "
            f"{vehicle.cost_per_day_cents} cents per day, too much for the planner to add up "
            "over these distances; correct its costs on the admin page's Vehicles tab.",
            vehicle_id=vehicle.id,
        ) from exc


def plan_routes(
    day: date,
    depot_id: int,
    actor: Actor,
    time_limit: float | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    engine: Engine | None = None,
) -> int:
    """Plan the pending stops of a depot and day and store the result as a draft plan.

    Blocking: the solve takes up to `time_limit` seconds, so call it from a worker thread.
    The previous draft plan of the same depot and day is superseded; published routes and the
    shifts on them are left alone. Every pending stop ends up on a route or in the plan's
    unassigned list with a reason.

    Returns:
        The id of the new draft plan.

    Raises:
        NotFoundError: the depot does not exist.
        ValidationError: there are no pending stops or no riders on shift.
    """
    return plan_depots(day, [depot_id], actor, time_limit, seed, progress, engine)[0]


def plan_depots(
    day: date,
    depot_ids: list[int],
    actor: Actor,
    time_limit: float | None = None,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    engine: Engine | None = None,
) -> list[int]:
    """Plan the pending stops of several depots of a day in one solve, one draft plan per depot.

    One solve with one time limit covers every depot. Each stop stays with the vehicles of
    its own depot, where its goods are reserved, and each route starts and ends there. Each
    depot's previous draft is superseded as in `plan_routes`. The plans are written in one
    transaction, so either every depot gets its new draft or, on failure, every new plan is
    marked failed and no route is written.

    With several depots, a depot without pending stops is left out of the run (its routes
    stay as they are).

    Returns:
        The ids of the new draft plans, in the order of the depots planned.

    Raises:
        NotFoundError: a depot does not exist.
        ValidationError: no depot has pending stops, a depot with pending stops has no
            riders on shift, or a vehicle's costs are out of range.
    """
    from distro.db import get_engine

    engine = engine or get_engine()
    report = progress or (lambda _message, _fraction: None)
    limit = time_limit if time_limit is not None else get_settings().plan_time_limit
    depot_ids = list(dict.fromkeys(depot_ids))
    if not depot_ids:
        raise ValidationError("No depot chosen; pick at least one depot to plan.")

    with Session(engine, expire_on_commit=False) as session:
        inputs = _checked_inputs(session, day, depot_ids)
        plan_ids = []
        for data in inputs:
            plan = Plan(day=day, depot_id=data.depot.id, status=PlanStatus.RUNNING, seed=seed,
                        time_limit_s=limit, created_by=actor.username)
            session.add(plan)
            session.flush()
            payload = {"stops": len(data.deliveries), "vehicles": len(data.shifts)}
            if len(inputs) > 1:
                payload["depot_ids"] = [d.depot.id for d in inputs]
            record_event(session, actor, "plan", plan.id, "plan_started",
                         to_state=PlanStatus.RUNNING, payload=payload)
            plan_ids.append(plan.id)
        session.commit()

    n_stops = sum(len(data.deliveries) for data in inputs)
    n_shifts = sum(len(data.shifts) for data in inputs)
    logger.info("Planning %d stops with %d shifts at depots %s on %s (plans %s, limit %.1fs)",
                n_stops, n_shifts, [d.depot.id for d in inputs], day, plan_ids, limit)
    try:
        report("Computing travel distances", 0.05)
        problem = build_problem(inputs)
        report(f"Routing {len(problem.stops)} stops over {len(problem.vehicles)} vehicles", 0.1)

        def solver_progress(message: str, fraction: float) -> None:
            report(message, 0.1 + 0.8 * min(max(fraction, 0.0), 1.0))

        result = solve(problem, time_limit=limit, seed=seed, progress=solver_progress)
        report("Saving the plan", 0.95)
        _store_plans(engine, actor, plan_ids, inputs, result)
    except Exception as exc:
        if isinstance(exc, DistroError):
            logger.info("Planning run %s rejected: %s", plan_ids, exc.message)
        else:
            logger.exception("Planning run %s failed", plan_ids)
        with Session(engine) as session:
            for plan_id in plan_ids:
                failed = session.get(Plan, plan_id)
                record_event(session, actor, "plan", plan_id, "plan_failed",
                             from_state=failed.status, to_state=PlanStatus.FAILED)
                failed.status = PlanStatus.FAILED
                session.add(failed)
            session.commit()
        raise

    report("Plan ready", 1.0)
    logger.info("Plans %s stored: %d routes, %d unassigned, %.1fs",
                plan_ids, len(result.routes), len(result.unassigned), result.solve_seconds)
    return plan_ids


def _checked_inputs(session: Session, day: date, depot_ids: list[int]) -> list[_PlanningInput]:
    """Read each depot's planning input and reject a run that cannot plan every depot."""
    inputs = [_planning_input(session, day, depot_id) for depot_id in depot_ids]
    if len(inputs) > 1:
        with_stops = [data for data in inputs if data.deliveries]
        if not with_stops:
            codes = ", ".join(data.depot.code for data in inputs)
            raise ValidationError(
                f"No pending stops at depots {codes} on {day.isoformat()}; nothing to plan."
            )
        inputs = with_stops
    for data in inputs:
        if not data.deliveries:
            raise ValidationError(
                f"No pending stops at depot {data.depot.code} on {day.isoformat()}; "
                "nothing to plan."
            )
        if not data.shifts:
            together = " or plan the other depots on their own boards" if len(inputs) > 1 else ""
            raise ValidationError(
                f"No riders are on shift at depot {data.depot.code} on {day.isoformat()}; "
                f"add shifts before planning{together}.",
                depot_id=data.depot.id,
            )
    return inputs


def _store_plans(
    engine: Engine,
    actor: Actor,
    plan_ids: list[int],
    inputs: list[_PlanningInput],
    result: SolvedPlan,
) -> None:
    """Write the routes and assignments of a solved run, one plan per depot, in one transaction."""
    vehicle_depot = {
        str(shift.id): index for index, data in enumerate(inputs) for shift, _ in data.shifts
    }
    stop_depot = {str(d.id): index for index, data in enumerate(inputs) for d in data.deliveries}
    with Session(engine, expire_on_commit=False) as session:
        color_offset = 0
        for index, (plan_id, data) in enumerate(zip(plan_ids, inputs, strict=True)):
            routes = [r for r in result.routes if vehicle_depot[r.vehicle_id] == index]
            unassigned = [u for u in result.unassigned if stop_depot[u.stop_id] == index]
            _write_plan(session, actor, plan_id, data, routes, unassigned, result, color_offset)
            # Routes of different depots get different colours on a board of all depots.
            color_offset += len(routes)
        session.commit()


def _unused_colors(session: Session, day: date, start: int = 0) -> Iterator[str]:
    """Yield route colours, first those no kept route of the day uses (locked, published).

    Starts at palette position `start`; after the palette runs out it repeats, since more
    routes than colours cannot all differ.
    """
    used_colors = set(
        session.exec(
            select(Route.color).where(
                Route.day == day,
                col(Route.status).in_([RouteStatus.DRAFT, RouteStatus.PUBLISHED]),
            )
        ).all()
    )
    order = ROUTE_COLORS[start % len(ROUTE_COLORS):] + ROUTE_COLORS[: start % len(ROUTE_COLORS)]
    yield from (color for color in order if color not in used_colors)
    while True:
        yield from order


def _write_plan(
    session: Session,
    actor: Actor,
    plan_id: int,
    data: _PlanningInput,
    routes: list[SolvedRoute],
    unassigned_stops: list[Unassigned],
    result: SolvedPlan,
    color_offset: int = 0,
) -> None:
    """Write the routes and assignments of one depot's plan into the session."""
    tz = ZoneInfo(get_settings().timezone)
    shifts = {str(shift.id): (shift, vehicle) for shift, vehicle in data.shifts}

    plan = session.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).one()
    day, depot_id = plan.day, plan.depot_id

    # Supersede older drafts of this depot and day, and free their stops.
    older = session.exec(
        select(Plan).where(Plan.day == day, Plan.depot_id == depot_id,
                           Plan.status == PlanStatus.DRAFT, col(Plan.id) != plan_id)
    ).all()
    for old in older:
        record_event(session, actor, "plan", old.id, "plan_superseded",
                     from_state=old.status, to_state=PlanStatus.SUPERSEDED,
                     payload={"by_plan_id": plan_id})
        old.status = PlanStatus.SUPERSEDED
        session.add(old)
        old_routes = session.exec(select(Route).where(Route.plan_id == old.id)).all()
        for route in old_routes:
            if route.locked and route.status == RouteStatus.DRAFT:
                # A locked route moves to the new plan with its stops unchanged.
                route.plan_id = plan_id
            else:
                route.status = RouteStatus.SUPERSEDED
            session.add(route)
        old_ids = [r.id for r in old_routes if r.status == RouteStatus.SUPERSEDED]
        if old_ids:
            for delivery in session.exec(select(Delivery).where(col(Delivery.route_id).in_(old_ids))):
                delivery.route_id = None
                delivery.sequence = None
                delivery.eta = None
                session.add(delivery)
    session.flush()

    # Stops that changed while the solver ran stay out of the plan.
    current = {
        d.id: d
        for d in session.exec(
            select(Delivery).where(col(Delivery.id).in_([d.id for d in data.deliveries]))
        )
    }
    still_pending = {
        delivery_id
        for delivery_id, d in current.items()
        if d.status == DeliveryStatus.PENDING and d.route_id is None
    }

    unassigned = [
        {"delivery_id": int(item.stop_id), "reason": item.reason} for item in unassigned_stops
    ]
    total_distance = 0
    total_duration = 0
    colors = _unused_colors(session, day, color_offset)
    for planned in routes:
        stop_ids = [int(s) for s in planned.stop_ids if int(s) in still_pending]
        if not stop_ids:
            continue
        shift, vehicle = shifts[planned.vehicle_id]
        route = Route(
            plan_id=plan_id,
            day=day,
            depot_id=depot_id,
            vehicle_id=vehicle.id,
            rider_id=shift.rider_id,
            shift_id=shift.id,
            status=RouteStatus.DRAFT,
            color=next(colors),
            load_kg=sum(current[i].demand_kg for i in stop_ids),
            load_units=sum(current[i].demand_units for i in stop_ids),
            distance_m=planned.distance,
            duration_s=planned.duration,
            start_min=planned.start // 60,
        )
        session.add(route)
        session.flush()
        etas = dict(zip(planned.stop_ids, planned.etas, strict=True))
        for sequence, delivery_id in enumerate(stop_ids, start=1):
            delivery = current[delivery_id]
            delivery.route_id = route.id
            delivery.sequence = sequence
            delivery.eta = _eta_datetime(day, etas[str(delivery_id)], tz)
            session.add(delivery)
        if len(stop_ids) != len(planned.stop_ids):
            _refresh_route_metrics(session, route)
        total_distance += route.distance_m
        total_duration += route.duration_s

    dropped = [d for d in data.deliveries if d.id not in still_pending]
    if dropped:
        logger.info("Plan %d: %d stops changed while planning and were left out", plan_id, len(dropped))

    record_event(session, actor, "plan", plan_id, "plan_drafted",
                 from_state=plan.status, to_state=PlanStatus.DRAFT,
                 payload={"routes": len(routes), "unassigned": len(unassigned),
                          "distance_m": total_distance, "engine": result.engine})
    plan.status = PlanStatus.DRAFT
    plan.engine = result.engine
    plan.solve_seconds = round(result.solve_seconds, 3)
    plan.total_distance_m = total_distance
    plan.total_duration_s = total_duration
    plan.unassigned = unassigned
    session.add(plan)


def _eta_datetime(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(0, 0), tzinfo=tz) + timedelta(seconds=int(seconds))
    return local.astimezone(UTC)


def _route_stops(session: Session, route_id: int) -> list[Delivery]:
    statement = (
        select(Delivery)
        .where(Delivery.route_id == route_id)
        .order_by(col(Delivery.sequence), col(Delivery.id))
    )
    return list(session.exec(statement))


def _refresh_route_metrics(session: Session, route: Route, renumber: bool = True) -> None:
    """Recompute sequence, load, distance, duration and ETAs of a route from its stops.

    Travel times come from the configured matrix provider; the rider waits at a stop that
    opens later than the arrival. With `renumber` False the stops keep their numbers, gaps
    included.
    """
    stops = _route_stops(session, route.id)
    depot = session.get(Warehouse, route.depot_id)
    tz = ZoneInfo(get_settings().timezone)

    route.load_kg = sum(s.demand_kg for s in stops)
    route.load_units = sum(s.demand_units for s in stops)
    if not stops:
        route.distance_m = 0
        route.duration_s = 0
        session.add(route)
        return

    points = np.array([(depot.latitude, depot.longitude)] + [(s.latitude, s.longitude) for s in stops])
    distance, duration = matrix_provider().matrices(points)
    clock = route.start_min * 60
    start = clock
    total_distance = 0
    previous = 0
    for index, stop in enumerate(stops, start=1):
        total_distance += int(distance[previous, index])
        clock += int(duration[previous, index])
        if stop.window_start_min is not None:
            clock = max(clock, stop.window_start_min * 60)
        if renumber:
            stop.sequence = index
        stop.eta = _eta_datetime(route.day, clock, tz)
        session.add(stop)
        clock += stop.service_min * 60
        previous = index
    total_distance += int(distance[previous, 0])
    clock += int(duration[previous, 0])

    route.distance_m = total_distance
    route.duration_s = clock - start
    session.add(route)


def remove_from_route(session: Session, delivery: Delivery) -> None:
    """Take a stop off its route and recompute that route's load, distance and ETAs.

    Used when a stop is cancelled or rescheduled, so the route's load frees the room. On a
    published route the other stops keep their numbers: the rider has seen them, and the
    stop that left stays on the rider's list under its own number.
    """
    route_id = delivery.route_id
    delivery.route_id = None
    delivery.sequence = None
    delivery.eta = None
    session.add(delivery)
    session.flush()
    if route_id is not None:
        route = session.get(Route, route_id)
        if route is not None:
            _refresh_route_metrics(session, route, renumber=route.status != RouteStatus.PUBLISHED)


def route_name(session: Session, route: Route) -> str:
    """Name a route as the board shows it: its rider and vehicle, e.g. "Ana Lima · VAN-03"."""
    rider = session.get(Rider, route.rider_id) if route.rider_id is not None else None
    vehicle = session.get(Vehicle, route.vehicle_id)
    rider_text = rider.name if rider is not None else "no rider"
    return f"{rider_text} · {vehicle.code}" if vehicle is not None else rider_text


def depot_code(session: Session, depot_id: int) -> str:
    """Return a depot's code, as the board's selector shows it."""
    depot = session.get(Warehouse, depot_id)
    return depot.code if depot is not None else f"#{depot_id}"


def move_stop(
    session: Session, actor: Actor, delivery_id: int, route_id: int, position: int | None = None
) -> None:
    """Move a stop onto another route of the same depot and day, re-checking capacity.

    The stop goes to `position` (1-based) or, when omitted, where it adds the least distance.
    Both routes' loads, distances and ETAs are recomputed. On a published route only a stop
    that the rider has not started may move; the change writes a `delivery_reassigned` event.

    Raises:
        NotFoundError: no such stop or route.
        CapacityExceededError: the target vehicle cannot carry the stop.
        ConflictError: the stop has already started, or the route belongs to another day or
            depot or is no longer active.
    """
    delivery = session.exec(select(Delivery).where(Delivery.id == delivery_id).with_for_update()).first()
    if delivery is None:
        raise NotFoundError(f"Stop {delivery_id} not found", delivery_id=delivery_id)
    target = session.exec(select(Route).where(Route.id == route_id).with_for_update()).first()
    if target is None:
        raise NotFoundError(f"Route {route_id} not found", route_id=route_id)

    stop_text = delivery.label or f"Stop {delivery_id}"
    if target.status not in (RouteStatus.DRAFT, RouteStatus.PUBLISHED):
        raise ConflictError(
            f"The route {route_name(session, target)} is {target.status}; re-open the board "
            "and pick an active route.",
            route_id=route_id, status=target.status,
        )
    if (target.day, target.depot_id) != (delivery.day, delivery.depot_id):
        raise ConflictError(
            f"{stop_text} is for {delivery.day} at depot {depot_code(session, delivery.depot_id)}, "
            f"but the route {route_name(session, target)} is for {target.day} at depot "
            f"{depot_code(session, target.depot_id)}; pick a route of the same day and depot.",
            delivery_id=delivery_id, route_id=route_id,
        )
    if delivery.status not in (DeliveryStatus.PENDING, DeliveryStatus.ASSIGNED):
        raise ConflictError(
            f"{stop_text} is {delivery.status} and can no longer move to another route.",
            delivery_id=delivery_id, status=delivery.status,
        )
    if delivery.route_id == route_id:
        return
    source_locked = delivery.route_id is not None and session.get(Route, delivery.route_id).locked
    if target.locked or source_locked:
        locked = target if target.locked else session.get(Route, delivery.route_id)
        raise ConflictError(
            f"The route {route_name(session, locked)} is locked; unlock it on the board before "
            "moving stops on or off it.",
            route_id=locked.id,
        )

    vehicle = session.get(Vehicle, target.vehicle_id)
    new_kg = target.load_kg + delivery.demand_kg
    new_units = target.load_units + delivery.demand_units
    if new_kg > vehicle.capacity_kg or new_units > vehicle.capacity_units:
        raise CapacityExceededError(
            f"Stop {delivery.label or delivery_id} ({delivery.demand_kg} kg, {delivery.demand_units} units) "
            f"does not fit on the route {route_name(session, target)}: the load would be {new_kg}/{vehicle.capacity_kg} kg "
            f"and {new_units}/{vehicle.capacity_units} units. Pick a route with room or move another stop off it first.",
            delivery_id=delivery_id, route_id=route_id,
            load_kg=new_kg, capacity_kg=vehicle.capacity_kg,
            load_units=new_units, capacity_units=vehicle.capacity_units,
        )

    source_id = delivery.route_id
    source = session.get(Route, source_id) if source_id else None
    from_state = delivery.status

    target_stops = _route_stops(session, route_id)
    index = _insertion_index(session, target, target_stops, delivery) if position is None else max(0, min(position - 1, len(target_stops)))
    target_stops.insert(index, delivery)
    for sequence, stop in enumerate(target_stops, start=1):
        stop.sequence = sequence
        stop.route_id = route_id
        session.add(stop)

    if target.status == RouteStatus.PUBLISHED:
        delivery.status = DeliveryStatus.ASSIGNED
    elif delivery.status == DeliveryStatus.ASSIGNED:
        delivery.status = DeliveryStatus.PENDING
    delivery.updated_at = datetime.now(UTC)
    session.add(delivery)
    session.flush()

    _refresh_route_metrics(session, target)
    if source is not None:
        _refresh_route_metrics(session, source)
    if target.plan_id is not None:
        _drop_from_unassigned(session, target.plan_id, delivery_id)

    record_event(
        session, actor, "delivery", delivery_id,
        "delivery_reassigned" if from_state == DeliveryStatus.ASSIGNED or target.status == RouteStatus.PUBLISHED else "stop_moved",
        from_state=from_state, to_state=delivery.status, order_id=delivery.order_id,
        payload={"from_route_id": source_id, "to_route_id": route_id, "sequence": delivery.sequence},
    )


def _drop_from_unassigned(session: Session, plan_id: int, delivery_id: int) -> None:
    plan = session.get(Plan, plan_id)
    remaining = [u for u in plan.unassigned or [] if u.get("delivery_id") != delivery_id]
    if len(remaining) != len(plan.unassigned or []):
        plan.unassigned = remaining
        session.add(plan)


def _insertion_index(session: Session, route: Route, stops: list[Delivery], delivery: Delivery) -> int:
    """Return the position in `stops` where `delivery` adds the least travel distance."""
    depot = session.get(Warehouse, route.depot_id)
    points = np.array(
        [(depot.latitude, depot.longitude)]
        + [(s.latitude, s.longitude) for s in stops]
        + [(delivery.latitude, delivery.longitude)]
    )
    distance, _ = matrix_provider().matrices(points)
    new = len(points) - 1
    sequence = [0, *range(1, len(stops) + 1), 0]
    best_index, best_cost = 0, None
    for i in range(len(sequence) - 1):
        a, b = sequence[i], sequence[i + 1]
        cost = int(distance[a, new]) + int(distance[new, b]) - int(distance[a, b])
        if best_cost is None or cost < best_cost:
            best_index, best_cost = i, cost
    return best_index


def publish_plan(session: Session, actor: Actor, plan_id: int) -> int:
    """Publish a draft plan: assign its routes to riders and mark their stops assigned.

    Writes one event per route, stop and order that changes state, and one for the plan.

    Returns:
        The number of routes published.

    Raises:
        NotFoundError: no such plan.
        ConflictError: the plan is not a draft (already published, superseded or running).
    """
    plan = session.exec(select(Plan).where(Plan.id == plan_id).with_for_update()).first()
    if plan is None:
        raise NotFoundError(f"Plan {plan_id} not found", plan_id=plan_id)
    if plan.status != PlanStatus.DRAFT:
        raise ConflictError(
            f"Plan {plan_id} is {plan.status}, not a draft; only the latest draft can be published.",
            plan_id=plan_id, status=plan.status,
        )

    routes = session.exec(
        select(Route).where(Route.plan_id == plan_id, Route.status == RouteStatus.DRAFT).order_by(col(Route.id))
    ).all()
    published = 0
    for route in routes:
        stops = _route_stops(session, route.id)
        if not stops:
            route.status = RouteStatus.SUPERSEDED
            session.add(route)
            continue
        record_event(session, actor, "route", route.id, "route_published",
                     from_state=route.status, to_state=RouteStatus.PUBLISHED,
                     payload={"rider_id": route.rider_id, "vehicle_id": route.vehicle_id,
                              "stops": [s.id for s in stops]})
        route.status = RouteStatus.PUBLISHED
        session.add(route)
        published += 1

        for stop in stops:
            record_event(session, actor, "delivery", stop.id, "delivery_assigned",
                         from_state=stop.status, to_state=DeliveryStatus.ASSIGNED,
                         order_id=stop.order_id,
                         payload={"route_id": route.id, "rider_id": route.rider_id, "sequence": stop.sequence,
                                  "eta": stop.eta.isoformat() if stop.eta else None})
            stop.status = DeliveryStatus.ASSIGNED
            stop.updated_at = datetime.now(UTC)
            session.add(stop)
            if stop.order_id is not None:
                _mark_order_planned(session, actor, stop)

    record_event(session, actor, "plan", plan_id, "plan_published",
                 from_state=plan.status, to_state=PlanStatus.PUBLISHED, payload={"routes": published})
    plan.status = PlanStatus.PUBLISHED
    plan.published_at = datetime.now(UTC)
    session.add(plan)
    return published


def _mark_order_planned(session: Session, actor: Actor, stop: Delivery) -> None:
    order = session.get(Order, stop.order_id)
    if order is None or order.status != OrderStatus.CONFIRMED:
        return
    record_event(session, actor, "order", order.id, "order_planned",
                 from_state=order.status, to_state=OrderStatus.PLANNED, order_id=order.id,
                 payload={"eta": stop.eta.isoformat() if stop.eta else None, "route_id": stop.route_id})
    order.status = OrderStatus.PLANNED
    session.add(order)

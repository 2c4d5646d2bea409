"""Network KPIs as SQL aggregations over the event log and the order records.

Every function takes a `KpiFilter` (local days, inclusive, in DISTRO_TIMEZONE, and optional
depot, territory, dealer, rider and channel) and an optional dimension to group by, and runs
one or two aggregate queries that work on SQLite and PostgreSQL. Rates are computed from the
aggregated counts; no function loops over order or event rows in Python. docs/kpis.md
defines each figure: numerator, denominator and the events that count.

A filter that does not apply to a KPI's records is ignored by that KPI: routes, shifts and
costs have no dealer, territory or channel, and credit has no date range or rider.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from distro.backbone.errors import ValidationError
from distro.backbone.models import (
    Dealer,
    DeliveredQuantity,
    Delivery,
    Event,
    FailureReason,
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Rider,
    Route,
    RouteActual,
    RouteStatus,
    Shift,
    User,
    Vehicle,
    Warehouse,
)
from distro.backbone.sqltime import (
    LocalRange,
    date_day_number,
    day_from_number,
    epoch_seconds,
    local_day_number,
    local_range,
    local_seconds,
)
from distro.settings import get_settings

logger = logging.getLogger(__name__)

DELIVERED = "delivery_delivered"
FAILED = "delivery_failed"
ARRIVED = "delivery_arrived"
OUT_FOR_DELIVERY = "delivery_out_for_delivery"
RESCHEDULED = "delivery_rescheduled"
RETURNED = "delivery_returned"
OUTCOME_EVENTS = (DELIVERED, FAILED)
"""Events that end one delivery attempt."""

UNSPECIFIED_REASON = "unspecified"
"""Failure reason shown for a `delivery_failed` event without a `reason_code`."""

DEFAULT_ROW_LIMIT = 500
"""Rows a per-route or per-dealer table returns unless the caller asks for another page size."""


class Dimension(enum.StrEnum):
    """A breakdown that a KPI can be grouped by."""

    DAY = "day"
    """Local day of the event that counts (DISTRO_TIMEZONE)."""
    DEPOT = "depot"
    """Warehouse that fulfils the order or serves the stop."""
    TERRITORY = "territory"
    """The ordering dealer's territory (customers count in their dealer's)."""
    DEALER = "dealer"
    """The ordering dealer, or the dealer that serves the ordering customer."""
    RIDER = "rider"
    """The rider who made the attempt or drove the route."""
    CHANNEL = "channel"
    """How the order came in: "dealer" or "customer"."""


@dataclass(frozen=True, slots=True)
class KpiFilter:
    """The range of local days (inclusive) and the optional narrowing of every KPI."""

    start: date
    end: date
    depot_id: int | None = None
    territory: str | None = None
    dealer_id: int | None = None
    rider_id: int | None = None
    channel: str | None = None

    def span(self) -> LocalRange:
        """Return the range with its UTC bounds in the network's time zone."""
        return local_range(self.start, self.end, get_settings().timezone)


MAX_RANGE_DAYS = 366
"""Longest range, in days, that the page and the map accept; longer ranges belong in an export."""


def check_range(flt: KpiFilter) -> None:
    """Check that the filter's range runs forward and is at most `MAX_RANGE_DAYS` long.

    Raises:
        ValidationError: the range ends before it starts, or is too long.

    """
    if flt.end < flt.start:
        raise ValidationError(
            f"The range ends on {flt.end} before it starts on {flt.start}; swap the dates."
        )
    if (flt.end - flt.start).days >= MAX_RANGE_DAYS:
        raise ValidationError(
            f"Pick at most {MAX_RANGE_DAYS} days; export longer ranges from the API."
        )


Row = dict[str, Any]
"""One result row: "key" (the group, None for the total) and the KPI's figures."""

DimensionMap = dict[Dimension, ColumnElement | None]
"""The expression of each dimension for one kind of record; None where it does not apply."""

FILTER_FIELDS = (
    (Dimension.DEPOT, "depot_id"),
    (Dimension.TERRITORY, "territory"),
    (Dimension.DEALER, "dealer_id"),
    (Dimension.RIDER, "rider_id"),
    (Dimension.CHANNEL, "channel"),
)
"""Which filter field narrows which dimension."""


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """Return numerator / denominator, or None when the denominator is 0 or missing."""
    if not denominator:
        return None
    return (numerator or 0) / denominator


def _filter_conditions(dimensions: DimensionMap, flt: KpiFilter) -> list[ColumnElement]:
    conditions = []
    for dimension, field in FILTER_FIELDS:
        value = getattr(flt, field)
        expression = dimensions.get(dimension)
        if value is None or value == "" or expression is None:
            continue
        conditions.append(expression == value)
    return conditions


def _key_expression(dimensions: DimensionMap, by: Dimension | None) -> ColumnElement:
    if by is None:
        return literal(None).label("key")
    expression = dimensions.get(Dimension(by))
    if expression is None:
        raise ValueError(
            f"This KPI cannot be grouped by {by}; use one of "
            f"{', '.join(d for d, e in dimensions.items() if e is not None)}."
        )
    return expression.label("key")


def _aggregate(
    session: Session,
    facts: Any,
    by: Dimension | None,
    measures: Callable[[Any], Sequence[ColumnElement]],
) -> list[Row]:
    """Group the fact subquery by its "key" column and return one dict per group.

    Grouping happens outside the subquery so that a dimension may be any expression,
    including a correlated subquery, on both databases.
    """
    subquery = facts.subquery()
    statement = _grouped(select(*measures(subquery.c)), subquery.c.key, by)
    return _rows(session, statement, by)


def _grouped(statement: Any, key: ColumnElement, by: Dimension | None) -> Any:
    """Group an aggregate select by `key` when a dimension is asked for."""
    if by is None:
        return statement
    return statement.add_columns(key).group_by(key).order_by(key)


def _rows(session: Session, statement: Any, by: Dimension | None) -> list[Row]:
    """Run an aggregate select and return plain dicts with a "key" and Python numbers.

    PostgreSQL returns numeric sums and averages as Decimal; they become floats here.
    """
    rows = []
    for result in session.exec(statement):
        row = {
            name: float(value) if isinstance(value, Decimal) else value
            for name, value in result._mapping.items()
        }
        row.setdefault("key", None)
        if by == Dimension.DAY:
            row["key"] = day_from_number(row["key"])
        rows.append(row)
    return rows


def _sum_if(condition: ColumnElement, value: Any = 1) -> ColumnElement:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _order_rider(order_id: ColumnElement) -> ColumnElement:
    """Return the rider of the route that carries (or carried) the order's latest stop."""
    return (
        select(Route.rider_id)
        .join(Delivery, col(Delivery.route_id) == col(Route.id))
        .where(col(Delivery.order_id) == order_id)
        .order_by(col(Delivery.id).desc())
        .limit(1)
        .scalar_subquery()
    )


def _order_dimensions(day: ColumnElement | None) -> DimensionMap:
    return {
        Dimension.DAY: day,
        Dimension.DEPOT: col(Order.warehouse_id),
        Dimension.TERRITORY: col(Dealer.territory),
        Dimension.DEALER: col(Order.dealer_id),
        Dimension.RIDER: _order_rider(col(Order.id)),
        Dimension.CHANNEL: col(Order.channel),
    }


def _in_range(timestamp: ColumnElement, span: LocalRange) -> ColumnElement:
    return and_(timestamp >= span.start_utc, timestamp < span.end_utc)


def order_volume(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Count and value the orders placed in the range.

    Rows: orders, value_cents, units, cancelled (of those orders, cancelled since), and
    credit_hold (of those orders, placed on credit hold).
    """
    span = flt.span()
    dimensions = _order_dimensions(local_day_number(col(Order.created_at), span))
    placed_on_hold = (
        select(Event.id)
        .where(
            col(Event.entity) == "order",
            col(Event.entity_id) == col(Order.id),
            col(Event.event_type) == "order_placed",
            col(Event.to_state) == OrderStatus.CREDIT_HOLD,
        )
        .exists()
    )
    facts = (
        select(
            _key_expression(dimensions, by),
            col(Order.total_cents).label("total_cents"),
            col(Order.units).label("units"),
            col(Order.status).label("status"),
            case((placed_on_hold, 1), else_=0).label("held"),
        )
        .select_from(Order)
        .outerjoin(Dealer, col(Dealer.id) == col(Order.dealer_id))
        .where(_in_range(col(Order.created_at), span), *_filter_conditions(dimensions, flt))
    )
    return _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.count().label("orders"),
            func.coalesce(func.sum(c.total_cents), 0).label("value_cents"),
            func.coalesce(func.sum(c.units), 0).label("units"),
            _sum_if(c.status == OrderStatus.CANCELLED).label("cancelled"),
            func.coalesce(func.sum(c.held), 0).label("credit_hold"),
        ],
    )


def credit_holds(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Count and value the orders on credit hold now, whenever they were placed.

    The date range does not apply: this is the queue a manager has to decide today.
    Rows: orders, value_cents.
    """
    dimensions = _order_dimensions(None)
    facts = (
        select(_key_expression(dimensions, by), col(Order.total_cents).label("total_cents"))
        .select_from(Order)
        .outerjoin(Dealer, col(Dealer.id) == col(Order.dealer_id))
        .where(col(Order.status) == OrderStatus.CREDIT_HOLD, *_filter_conditions(dimensions, flt))
    )
    return _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.count().label("orders"),
            func.coalesce(func.sum(c.total_cents), 0).label("value_cents"),
        ],
    )


def fill_rate(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Compare the quantity delivered with the quantity ordered on the orders closed in the range.

    An order closes with `order_delivered`, or with `order_cancelled` from "failed" when its
    stop was returned (nothing delivered). Orders cancelled before dispatch do not count.
    Rows: ordered_units, delivered_units, fill_rate.
    """
    span = flt.span()
    dimensions = _order_dimensions(local_day_number(col(Event.at), span))
    closed = or_(
        col(Event.event_type) == "order_delivered",
        and_(
            col(Event.event_type) == "order_cancelled", col(Event.from_state) == OrderStatus.FAILED
        ),
    )
    delivered_quantity = case(
        (
            col(Event.event_type) == "order_delivered",
            func.coalesce(col(DeliveredQuantity.quantity), col(OrderLine.quantity)),
        ),
        else_=0,
    )
    facts = (
        select(
            _key_expression(dimensions, by),
            col(OrderLine.quantity).label("ordered"),
            delivered_quantity.label("delivered"),
        )
        .select_from(Event)
        .join(Order, and_(col(Event.entity) == "order", col(Order.id) == col(Event.entity_id)))
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .outerjoin(DeliveredQuantity, col(DeliveredQuantity.order_line_id) == col(OrderLine.id))
        .outerjoin(Dealer, col(Dealer.id) == col(Order.dealer_id))
        .where(
            col(Event.event_type).in_(["order_delivered", "order_cancelled"]),
            closed,
            _in_range(col(Event.at), span),
            *_filter_conditions(dimensions, flt),
        )
    )
    rows = _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.coalesce(func.sum(c.ordered), 0).label("ordered_units"),
            func.coalesce(func.sum(c.delivered), 0).label("delivered_units"),
        ],
    )
    for row in rows:
        row["fill_rate"] = ratio(row["delivered_units"], row["ordered_units"])
    return rows


def _attempt_rider() -> ColumnElement:
    """Return the rider behind a delivery event: the signed-in rider, else the route's rider."""
    return func.coalesce(col(User.rider_id), col(Route.rider_id))


def _delivery_dimensions(day: ColumnElement | None) -> DimensionMap:
    return {
        Dimension.DAY: day,
        Dimension.DEPOT: col(Delivery.depot_id),
        Dimension.TERRITORY: col(Dealer.territory),
        Dimension.DEALER: col(Order.dealer_id),
        Dimension.RIDER: _attempt_rider(),
        Dimension.CHANNEL: col(Order.channel),
    }


def _delivery_event_facts(columns: list[ColumnElement], source: Any = None):
    """Select `columns` from delivery events joined to their stop, order, dealer, route and user.

    `source` is the event table (default) or a subquery with the event table's columns.
    """
    source = Event.__table__ if source is None else source
    events = source.c
    return (
        select(*columns)
        .select_from(source)
        .join(Delivery, and_(events.entity == "delivery", col(Delivery.id) == events.entity_id))
        .outerjoin(Order, col(Order.id) == col(Delivery.order_id))
        .outerjoin(Dealer, col(Dealer.id) == col(Order.dealer_id))
        .outerjoin(Route, col(Route.id) == col(Delivery.route_id))
        .outerjoin(User, and_(col(User.username) == events.actor, col(User.rider_id).is_not(None)))
    )


def _on_time(event_at: ColumnElement, span: LocalRange) -> ColumnElement:
    """Whether an event falls inside its stop's time window on the stop's day, or by its ETA.

    A stop with a window is judged by the window alone; one without a window by its ETA plus
    DISTRO_ETA_TOLERANCE_MIN.
    """
    tolerance_s = get_settings().eta_tolerance_min * 60
    wall_clock = local_seconds(event_at, span)
    day_start = epoch_seconds(col(Delivery.day))
    has_window = and_(
        col(Delivery.window_start_min).is_not(None), col(Delivery.window_end_min).is_not(None)
    )
    in_window = and_(
        wall_clock >= day_start + col(Delivery.window_start_min) * 60,
        wall_clock <= day_start + col(Delivery.window_end_min) * 60,
    )
    by_eta = epoch_seconds(event_at) <= epoch_seconds(col(Delivery.eta)) + tolerance_s
    return or_(
        and_(has_window, in_window),
        and_(~has_window, col(Delivery.eta).is_not(None), by_eta),
    )


def _has_promise() -> ColumnElement:
    return or_(
        and_(
            col(Delivery.window_start_min).is_not(None), col(Delivery.window_end_min).is_not(None)
        ),
        col(Delivery.eta).is_not(None),
    )


def _in_full() -> ColumnElement:
    """Whether no line of the stop was handed over short."""
    short = (
        select(DeliveredQuantity.id)
        .join(OrderLine, col(OrderLine.id) == col(DeliveredQuantity.order_line_id))
        .where(
            col(DeliveredQuantity.delivery_id) == col(Delivery.id),
            col(DeliveredQuantity.quantity) < col(OrderLine.quantity),
        )
    )
    return ~exists(short)


def delivery_performance(
    session: Session, flt: KpiFilter, by: Dimension | None = None
) -> list[Row]:
    """Count attempts, outcomes, reattempts and returns, and rate punctuality, in the range.

    Each delivery event counts on the local day it happened. Rows: attempts, delivered,
    failed, rescheduled (reattempts), returned, promised_delivered (delivered stops with a
    window or ETA), on_time, closed_promised (delivered or returned stops with a promise),
    otif (delivered on time and in full), on_time_rate, otif_rate.
    """
    span = flt.span()
    dimensions = _delivery_dimensions(local_day_number(col(Event.at), span))
    kind = col(Event.event_type)
    promised = _has_promise()
    facts = _delivery_event_facts(
        [
            _key_expression(dimensions, by),
            kind.label("kind"),
            case((promised, 1), else_=0).label("promised"),
            case((and_(kind == DELIVERED, _on_time(col(Event.at), span)), 1), else_=0).label(
                "on_time"
            ),
            case(
                (and_(kind == DELIVERED, _on_time(col(Event.at), span), _in_full()), 1), else_=0
            ).label("otif"),
        ],
    ).where(
        kind.in_([DELIVERED, FAILED, RESCHEDULED, RETURNED]),
        _in_range(col(Event.at), span),
        *_filter_conditions(dimensions, flt),
    )
    rows = _aggregate(
        session,
        facts,
        by,
        lambda c: [
            _sum_if(c.kind.in_(OUTCOME_EVENTS)).label("attempts"),
            _sum_if(c.kind == DELIVERED).label("delivered"),
            _sum_if(c.kind == FAILED).label("failed"),
            _sum_if(c.kind == RESCHEDULED).label("rescheduled"),
            _sum_if(c.kind == RETURNED).label("returned"),
            _sum_if(and_(c.kind == DELIVERED, c.promised == 1)).label("promised_delivered"),
            func.coalesce(func.sum(c.on_time), 0).label("on_time"),
            _sum_if(and_(c.kind.in_([DELIVERED, RETURNED]), c.promised == 1)).label(
                "closed_promised"
            ),
            func.coalesce(func.sum(c.otif), 0).label("otif"),
        ],
    )
    for row in rows:
        row["on_time_rate"] = ratio(row["on_time"], row["promised_delivered"])
        row["otif_rate"] = ratio(row["otif"], row["closed_promised"])
    return rows


def first_attempt_rate(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Rate the stops whose first attempt, made in the range, delivered.

    A stop's first attempt is its earliest `delivery_delivered` or `delivery_failed` event;
    the stop counts on that event's local day and for that event's rider.
    Rows: first_attempts, first_attempt_delivered, first_attempt_rate.
    """
    span = flt.span()
    in_range_ids = select(Event.entity_id).where(
        col(Event.entity) == "delivery",
        col(Event.event_type).in_(OUTCOME_EVENTS),
        _in_range(col(Event.at), span),
    )
    ranked = (
        select(
            Event.id,
            Event.at,
            Event.actor,
            Event.entity,
            Event.entity_id,
            Event.event_type,
            func.row_number()
            .over(partition_by=col(Event.entity_id), order_by=(col(Event.at), col(Event.id)))
            .label("attempt_number"),
        )
        .where(
            col(Event.entity) == "delivery",
            col(Event.event_type).in_(OUTCOME_EVENTS),
            col(Event.entity_id).in_(in_range_ids),
        )
        .subquery("ranked")
    )
    dimensions = _delivery_dimensions(local_day_number(ranked.c.at, span))
    facts = _delivery_event_facts(
        [_key_expression(dimensions, by), ranked.c.event_type.label("kind")], source=ranked
    ).where(
        ranked.c.attempt_number == 1,
        _in_range(ranked.c.at, span),
        *_filter_conditions(dimensions, flt),
    )
    rows = _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.count().label("first_attempts"),
            _sum_if(c.kind == DELIVERED).label("first_attempt_delivered"),
        ],
    )
    for row in rows:
        row["first_attempt_rate"] = ratio(row["first_attempt_delivered"], row["first_attempts"])
    return rows


def failures_by_reason(session: Session, flt: KpiFilter) -> list[Row]:
    """Count the failed attempts in the range by their reason code, most frequent first.

    Rows: key (the reason code, "unspecified" when the event carries none), label (the
    reason's label as riders pick it, or the code when the reason no longer exists), failed.
    """
    span = flt.span()
    dimensions = _delivery_dimensions(None)
    reason = func.coalesce(col(Event.payload)["reason_code"].as_string(), UNSPECIFIED_REASON)
    facts = _delivery_event_facts([reason.label("key")]).where(
        col(Event.event_type) == FAILED,
        _in_range(col(Event.at), span),
        *_filter_conditions(dimensions, flt),
    )
    subquery = facts.subquery()
    statement = (
        select(subquery.c.key, func.count().label("failed"))
        .group_by(subquery.c.key)
        .order_by(func.count().desc(), subquery.c.key)
    )
    rows = _rows(session, statement, None)
    labels = dict(session.exec(select(FailureReason.code, FailureReason.label)).all())
    for row in rows:
        row["label"] = labels.get(row["key"], row["key"])
    return rows


def service_time(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Average the time at the stop, from `delivery_arrived` to the attempt's outcome.

    Counts outcome events in the range that left the "arrived" state; a failure reported
    before arriving has no service time. Rows: stops, avg_service_s.
    """
    span = flt.span()
    dimensions = _delivery_dimensions(local_day_number(col(Event.at), span))
    arrival = Event.__table__.alias("arrival")
    arrived_at = (
        select(func.max(arrival.c.at))
        .where(
            arrival.c.entity == "delivery",
            arrival.c.entity_id == col(Event.entity_id),
            arrival.c.event_type == ARRIVED,
            arrival.c.id < col(Event.id),
        )
        .scalar_subquery()
    )
    facts = _delivery_event_facts(
        [
            _key_expression(dimensions, by),
            (epoch_seconds(col(Event.at)) - epoch_seconds(arrived_at)).label("service_s"),
        ],
    ).where(
        col(Event.event_type).in_(OUTCOME_EVENTS),
        col(Event.from_state) == "arrived",
        _in_range(col(Event.at), span),
        *_filter_conditions(dimensions, flt),
    )
    return _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.count(c.service_s).label("stops"),
            func.avg(cast(c.service_s, Float)).label("avg_service_s"),
        ],
    )


def _route_facts(span: LocalRange, flt: KpiFilter):
    """One row per published route of the range with planned and actual figures.

    Actual times come from `RouteActual` when recorded, else from the route's stop events:
    the first `delivery_out_for_delivery` to the last outcome. Actual distance comes only
    from `RouteActual`.
    """
    routes_in_range = select(Route.id).where(
        col(Route.status) == RouteStatus.PUBLISHED,
        col(Route.day) >= flt.start,
        col(Route.day) <= flt.end,
    )
    at = epoch_seconds(col(Event.at))
    kind = col(Event.event_type)
    stop_events = (
        select(
            col(Delivery.route_id).label("route_id"),
            func.min(case((kind == OUT_FOR_DELIVERY, at))).label("first_out"),
            func.max(case((kind.in_(OUTCOME_EVENTS), at))).label("last_outcome"),
            _sum_if(kind.in_(OUTCOME_EVENTS)).label("attempts"),
            _sum_if(kind == DELIVERED).label("delivered"),
        )
        .select_from(Event)
        .join(
            Delivery,
            and_(col(Event.entity) == "delivery", col(Delivery.id) == col(Event.entity_id)),
        )
        .where(
            col(Delivery.route_id).in_(routes_in_range),
            kind.in_([OUT_FOR_DELIVERY, DELIVERED, FAILED]),
        )
        .group_by(col(Delivery.route_id))
        .subquery("stop_events")
    )
    planned_stops = (
        select(func.count(Delivery.id))
        .where(col(Delivery.route_id) == col(Route.id))
        .scalar_subquery()
    )

    started = func.coalesce(epoch_seconds(col(RouteActual.started_at)), stop_events.c.first_out)
    finished = func.coalesce(
        epoch_seconds(col(RouteActual.finished_at)), stop_events.c.last_outcome
    )
    actual_duration = finished - started
    vehicle_routes_that_day = func.count().over(
        partition_by=(col(Route.vehicle_id), col(Route.day))
    )

    settings = get_settings()
    km_cost = func.coalesce(
        func.nullif(col(Vehicle.cost_per_km_cents), 0), settings.cost_per_km * 100
    )
    day_cost = func.coalesce(
        func.nullif(col(Vehicle.cost_per_day_cents), 0), settings.cost_per_vehicle_day * 100
    )
    distance_for_cost = func.coalesce(col(RouteActual.distance_m), col(Route.distance_m))
    hours_for_cost = func.coalesce(actual_duration, col(Route.duration_s)) / 3600.0
    cost_cents = (
        distance_for_cost / 1000.0 * km_cost
        + hours_for_cost * settings.cost_per_rider_hour * 100
        # A vehicle that runs several routes on a day costs one vehicle day, shared out.
        + day_cost / vehicle_routes_that_day
    )

    return (
        select(
            col(Route.id).label("route_id"),
            col(Route.day).label("day"),
            col(Route.depot_id).label("depot_id"),
            col(Route.rider_id).label("rider_id"),
            col(Route.shift_id).label("shift_id"),
            col(Vehicle.code).label("vehicle"),
            planned_stops.label("planned_stops"),
            func.coalesce(stop_events.c.attempts, 0).label("attempts"),
            func.coalesce(stop_events.c.delivered, 0).label("delivered"),
            col(Route.distance_m).label("planned_distance_m"),
            col(RouteActual.distance_m).label("actual_distance_m"),
            col(Route.duration_s).label("planned_duration_s"),
            actual_duration.label("actual_duration_s"),
            cost_cents.label("cost_cents"),
        )
        .select_from(Route)
        .join(Vehicle, col(Vehicle.id) == col(Route.vehicle_id))
        .outerjoin(RouteActual, col(RouteActual.route_id) == col(Route.id))
        .outerjoin(stop_events, stop_events.c.route_id == col(Route.id))
        .where(
            col(Route.status) == RouteStatus.PUBLISHED,
            col(Route.day) >= flt.start,
            col(Route.day) <= flt.end,
            *([col(Route.depot_id) == flt.depot_id] if flt.depot_id else []),
            *([col(Route.rider_id) == flt.rider_id] if flt.rider_id else []),
        )
    )


def route_table(session: Session, flt: KpiFilter, limit: int = DEFAULT_ROW_LIMIT) -> list[Row]:
    """List the published routes of the range with planned against actual distance and duration.

    Rows, newest day first: route_id, day, depot_id, rider_id, vehicle, planned_stops,
    attempts, delivered, planned_distance_m, actual_distance_m (None until recorded),
    planned_duration_s, actual_duration_s (None before the first stop event), cost_cents.
    """
    facts = _route_facts(flt.span(), flt).subquery()
    statement = select(facts).order_by(facts.c.day.desc(), facts.c.route_id).limit(limit)
    rows = _rows(session, statement, None)
    for row in rows:
        row["day"] = _as_date(row["day"])
    return rows


def _route_dimension(facts: Any, by: Dimension | None) -> ColumnElement:
    if by is None:
        return literal(None).label("key")
    columns = {
        Dimension.DAY: date_day_number(facts.c.day),
        Dimension.DEPOT: facts.c.depot_id,
        Dimension.RIDER: facts.c.rider_id,
    }
    if Dimension(by) not in columns:
        raise ValueError(f"Route KPIs cannot be grouped by {by}; use day, depot or rider.")
    return columns[Dimension(by)].label("key")


def route_totals(session: Session, flt: KpiFilter, by: Dimension | None = None) -> list[Row]:
    """Sum planned and actual distance and duration, and cost, over the routes of the range.

    Actual sums cover only routes with an actual figure; the matching planned sums
    (planned_*_measured) cover the same routes, so the two compare like for like.
    Rows: routes, delivered, planned_distance_m, planned_duration_s,
    actual_distance_m, planned_distance_measured_m, actual_duration_s,
    planned_duration_measured_s, cost_cents, cost_per_drop_cents.
    """
    facts = _route_facts(flt.span(), flt).subquery()
    inner = select(_route_dimension(facts, by), facts).subquery()
    c = inner.c
    statement = select(
        func.count().label("routes"),
        func.coalesce(func.sum(c.delivered), 0).label("delivered"),
        func.coalesce(func.sum(c.planned_distance_m), 0).label("planned_distance_m"),
        func.coalesce(func.sum(c.planned_duration_s), 0).label("planned_duration_s"),
        func.sum(c.actual_distance_m).label("actual_distance_m"),
        func.sum(case((c.actual_distance_m.is_not(None), c.planned_distance_m))).label(
            "planned_distance_measured_m"
        ),
        func.sum(c.actual_duration_s).label("actual_duration_s"),
        func.sum(case((c.actual_duration_s.is_not(None), c.planned_duration_s))).label(
            "planned_duration_measured_s"
        ),
        func.coalesce(func.sum(c.cost_cents), 0).label("cost_cents"),
    )
    rows = _rows(session, _grouped(statement, c.key, by), by)
    for row in rows:
        row["cost_per_drop_cents"] = ratio(row["cost_cents"], row["delivered"])
    return rows


def rider_utilisation(
    session: Session, flt: KpiFilter, by: Dimension | None = Dimension.RIDER
) -> list[Row]:
    """Compare time on route with shift time, and count stops per hour on route.

    Every shift of the range counts, with or without a route. A shift whose end is not
    after its start ends the next day. Rows: shifts, shift_s, route_s, attempts,
    utilisation (route_s / shift_s), stops_per_hour (attempts per hour on route).
    """
    routes = _route_facts(flt.span(), flt).subquery()
    per_shift = (
        select(
            routes.c.shift_id,
            func.sum(routes.c.actual_duration_s).label("route_s"),
            func.sum(routes.c.attempts).label("attempts"),
        )
        .group_by(routes.c.shift_id)
        .subquery("per_shift")
    )
    start, end = col(Shift.start_min), col(Shift.end_min)
    shift_minutes = case((end > start, end - start), else_=end + 24 * 60 - start)
    dimensions: DimensionMap = {
        Dimension.DAY: date_day_number(col(Shift.day)),
        Dimension.DEPOT: col(Shift.depot_id),
        Dimension.RIDER: col(Shift.rider_id),
    }
    facts = (
        select(
            _key_expression(dimensions, by),
            (shift_minutes * 60).label("shift_s"),
            per_shift.c.route_s,
            per_shift.c.attempts,
        )
        .select_from(Shift)
        .outerjoin(per_shift, per_shift.c.shift_id == col(Shift.id))
        .where(
            col(Shift.day) >= flt.start,
            col(Shift.day) <= flt.end,
            *_filter_conditions(dimensions, flt),
        )
    )
    rows = _aggregate(
        session,
        facts,
        by,
        lambda c: [
            func.count().label("shifts"),
            func.coalesce(func.sum(c.shift_s), 0).label("shift_s"),
            func.coalesce(func.sum(c.route_s), 0).label("route_s"),
            func.coalesce(func.sum(c.attempts), 0).label("attempts"),
        ],
    )
    for row in rows:
        row["route_s"] = float(row["route_s"])
        row["utilisation"] = ratio(row["route_s"], row["shift_s"])
        hours = row["route_s"] / 3600
        row["stops_per_hour"] = ratio(row["attempts"], hours)
    return rows


def credit_exposure(
    session: Session,
    flt: KpiFilter,
    by: Dimension | None = Dimension.DEALER,
    as_of: datetime | None = None,
    limit: int = DEFAULT_ROW_LIMIT,
) -> list[Row]:
    """Report credit limit, exposure and overdue balance per dealer (or summed by a dimension).

    Overdue is the unpaid remainder of the dealer's invoices due before `as_of`, the same
    rule as the dealer's account page. Part of the unpaid balance may have no invoice (it
    was recorded before invoices were raised on delivery). For that part, payments are
    assumed to settle the oldest deliveries first, so it is overdue except for the value of
    uninvoiced orders delivered within the last DISTRO_PAYMENT_TERMS_DAYS.
    Rows: dealers, credit_limit_cents, unpaid_cents, open_orders_cents, exposure_cents,
    overdue_cents; per dealer also code, name, territory and utilisation.
    """
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    due_after = as_of - timedelta(days=get_settings().payment_terms_days)
    remainder = col(Invoice.amount_cents) - col(Invoice.paid_cents)
    invoiced = (
        select(
            col(Invoice.dealer_id).label("dealer_id"),
            func.sum(remainder).label("open_cents"),
            func.sum(case((col(Invoice.due_at) < as_of, remainder), else_=0)).label(
                "overdue_cents"
            ),
        )
        .where(col(Invoice.paid_cents) < col(Invoice.amount_cents))
        .group_by(col(Invoice.dealer_id))
        .subquery("open_invoices")
    )
    # One grouped pass over the recent deliveries; a correlated subquery per dealer was
    # several times slower on a large event log.
    recent = (
        select(
            col(Order.dealer_id).label("dealer_id"),
            func.sum(Order.total_cents).label("cents"),
        )
        .select_from(Event)
        .join(Order, and_(col(Event.entity) == "order", col(Order.id) == col(Event.entity_id)))
        .outerjoin(Invoice, col(Invoice.order_id) == col(Order.id))
        .where(
            col(Event.event_type) == "order_delivered",
            col(Event.at) > due_after,
            col(Event.at) <= as_of,
            col(Order.channel) == "dealer",
            col(Invoice.id).is_(None),
        )
        .group_by(col(Order.dealer_id))
        .subquery("not_yet_due")
    )
    uninvoiced_overdue = (
        col(Dealer.unpaid_cents)
        - func.coalesce(invoiced.c.open_cents, 0)
        - func.coalesce(recent.c.cents, 0)
    )
    overdue = func.coalesce(invoiced.c.overdue_cents, 0) + case(
        (uninvoiced_overdue > 0, uninvoiced_overdue), else_=0
    )
    dimensions: DimensionMap = {
        Dimension.DEPOT: col(Dealer.warehouse_id),
        Dimension.TERRITORY: col(Dealer.territory),
        Dimension.DEALER: col(Dealer.id),
    }
    facts = (
        select(
            _key_expression(dimensions, by),
            col(Dealer.code).label("code"),
            col(Dealer.name).label("name"),
            col(Dealer.territory).label("territory"),
            col(Dealer.credit_limit_cents).label("credit_limit_cents"),
            col(Dealer.unpaid_cents).label("unpaid_cents"),
            col(Dealer.open_orders_cents).label("open_orders_cents"),
            overdue.label("overdue_cents"),
        )
        .outerjoin(invoiced, invoiced.c.dealer_id == col(Dealer.id))
        .outerjoin(recent, recent.c.dealer_id == col(Dealer.id))
        .where(col(Dealer.active), *_filter_conditions(dimensions, flt))
    )

    subquery = facts.subquery()
    c = subquery.c
    exposure = func.coalesce(func.sum(c.unpaid_cents + c.open_orders_cents), 0)
    columns = [
        func.count().label("dealers"),
        func.coalesce(func.sum(c.credit_limit_cents), 0).label("credit_limit_cents"),
        func.coalesce(func.sum(c.unpaid_cents), 0).label("unpaid_cents"),
        func.coalesce(func.sum(c.open_orders_cents), 0).label("open_orders_cents"),
        exposure.label("exposure_cents"),
        func.coalesce(func.sum(c.overdue_cents), 0).label("overdue_cents"),
    ]
    if by == Dimension.DEALER:
        columns += [
            func.max(c.code).label("code"),
            func.max(c.name).label("name"),
            func.max(c.territory).label("territory"),
        ]
    statement = select(*columns)
    if by is not None:
        statement = (
            statement.add_columns(c.key)
            .group_by(c.key)
            .order_by(exposure.desc(), c.key)
            .limit(limit)
        )
    rows = _rows(session, statement, by)
    for row in rows:
        row["utilisation"] = ratio(row["exposure_cents"], row["credit_limit_cents"])
    return rows


def dimension_labels(session: Session, by: Dimension | None, keys: Sequence[Any]) -> dict[Any, str]:
    """Return the name to show for each group key of a dimension (one query for ids)."""
    present = [key for key in keys if key is not None]
    if by is None or not present:
        return {}
    by = Dimension(by)
    if by == Dimension.DAY:
        return {key: key.isoformat() for key in present}
    if by in (Dimension.TERRITORY, Dimension.CHANNEL):
        return {key: str(key) or "(none)" for key in present}
    model, label = {
        Dimension.DEPOT: (Warehouse, col(Warehouse.name)),
        Dimension.DEALER: (Dealer, col(Dealer.code) + " " + col(Dealer.name)),
        Dimension.RIDER: (Rider, col(Rider.name)),
    }[by]
    statement = select(model.id, label).where(col(model.id).in_(present))
    return {row[0]: row[1] for row in session.exec(statement)}


def filter_options(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Return (value, label) choices for the depot, territory, dealer and rider filters."""
    # Every dealer's stock location can be a depot for its customers' deliveries. Only
    # locations with stops are offered, because the list would otherwise show hundreds of
    # dealer stores that never dispatched anything.
    served = select(Delivery.depot_id).distinct()
    depots = session.exec(
        select(Warehouse.id, Warehouse.name)
        .where(col(Warehouse.is_depot), col(Warehouse.id).in_(served))
        .order_by(col(Warehouse.name))
    ).all()
    territories = session.exec(
        select(Dealer.territory)
        .where(col(Dealer.territory) != "")
        .distinct()
        .order_by(col(Dealer.territory))
    ).all()
    dealers = session.exec(
        select(Dealer.id, Dealer.code, Dealer.name)
        .where(col(Dealer.active))
        .order_by(col(Dealer.code))
    ).all()
    riders = session.exec(
        select(Rider.id, Rider.name).where(col(Rider.active)).order_by(col(Rider.name))
    ).all()
    return {
        "depot": [(str(row[0]), row[1]) for row in depots],
        "territory": [(row[0], row[0]) for row in territories],
        "dealer": [(str(row[0]), f"{row[1]} {row[2]}") for row in dealers],
        "rider": [(str(row[0]), row[1]) for row in riders],
    }


def territory_centres(session: Session) -> list[Row]:
    """Return each territory with the mean position of its dealers, for the performance map."""
    statement = (
        select(
            col(Dealer.territory).label("territory"),
            func.avg(col(Dealer.latitude)).label("latitude"),
            func.avg(col(Dealer.longitude)).label("longitude"),
            func.count().label("dealers"),
        )
        .where(col(Dealer.territory) != "")
        .group_by(col(Dealer.territory))
        .order_by(col(Dealer.territory))
    )
    return [dict(row._mapping) for row in session.exec(statement)]


def territory_performance(session: Session, flt: KpiFilter) -> list[Row]:
    """Return the main figures of each territory with the mean position of its dealers.

    The figures come from the same functions, grouped by territory, as the page's
    performance table, so the map and the table cannot disagree. A territory filter keeps
    only that territory; otherwise every territory with a dealer is listed, active or not.
    Rows, by territory name: territory, latitude, longitude, dealers, orders, value_cents,
    attempts, delivered, failed, on_time_rate, first_attempt_rate, fill_rate.
    """
    by = Dimension.TERRITORY
    volume = {row["key"]: row for row in order_volume(session, flt, by)}
    performance = {row["key"]: row for row in delivery_performance(session, flt, by)}
    first = {row["key"]: row for row in first_attempt_rate(session, flt, by)}
    fill = {row["key"]: row for row in fill_rate(session, flt, by)}

    rows = []
    for centre in territory_centres(session):
        name = centre["territory"]
        if flt.territory and name != flt.territory:
            continue
        placed = volume.get(name, {})
        done = performance.get(name, {})
        rows.append(
            {
                "territory": name,
                "latitude": float(centre["latitude"]),
                "longitude": float(centre["longitude"]),
                "dealers": centre["dealers"],
                "orders": placed.get("orders", 0),
                "value_cents": placed.get("value_cents", 0),
                "attempts": done.get("attempts", 0),
                "delivered": done.get("delivered", 0),
                "failed": done.get("failed", 0),
                "on_time_rate": done.get("on_time_rate"),
                "first_attempt_rate": first.get(name, {}).get("first_attempt_rate"),
                "fill_rate": fill.get(name, {}).get("fill_rate"),
            }
        )
    return rows


def _as_date(value: Any) -> date:
    """Dates come back as date objects from PostgreSQL and as ISO text from raw SQLite."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))

"""The board of all depots of a day: one view, one comparison and one Publish over per-depot plans.

Each depot keeps its own Plan rows, so moving, locking and inserting work per depot as on a
single-depot board. The functions here combine the newest plan of every depot that has
stops on the day.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlmodel import Session, col, select

from distro.backbone import fulfillment as ff
from distro.backbone import route_edits
from distro.backbone.actors import Actor
from distro.backbone.errors import ConflictError, NotFoundError
from distro.backbone.models import Delivery, DeliveryStatus, Plan, PlanStatus, Warehouse


def day_depot_ids(session: Session, day: date) -> list[int]:
    """Return the depots with stops (cancelled ones aside) on a day, by depot code."""
    statement = (
        select(Warehouse.id)
        .join(Delivery, col(Delivery.depot_id) == col(Warehouse.id))
        .where(Delivery.day == day, col(Delivery.status) != DeliveryStatus.CANCELLED)
        .group_by(Warehouse.id, Warehouse.code)
        .order_by(col(Warehouse.code))
    )
    return list(session.exec(statement))


def day_snapshot(session: Session, day: date) -> ff.BoardSnapshot:
    """Collect the stops, routes and unassigned stops of every depot of a day into one board.

    Raises:
        NotFoundError: no depot has stops on the day.
    """
    depot_ids = day_depot_ids(session, day)
    if not depot_ids:
        raise NotFoundError(f"No depot has stops on {day.isoformat()}", day=day.isoformat())
    parts = [ff.board_snapshot(session, day, depot_id) for depot_id in depot_ids]

    newest = max(
        (part for part in parts if part.plan_id is not None),
        key=lambda part: part.plan_id,
        default=None,
    )
    draft_ids = tuple(i for part in parts for i in part.draft_plan_ids)
    plan_ids = tuple(i for part in parts for i in part.plan_ids)
    status = newest.plan_status if newest is not None else None
    if draft_ids:
        status = PlanStatus.DRAFT
    codes = ", ".join(depot.code for part in parts for depot in part.depots)
    return ff.BoardSnapshot(
        day=day,
        depot_id=0,
        depot_name=f"All depots: {codes}",
        depot_lat=parts[0].depot_lat,
        depot_lon=parts[0].depot_lon,
        plan_id=newest.plan_id if newest is not None else None,
        plan_status=status,
        engine=newest.engine if newest is not None else "",
        solve_seconds=newest.solve_seconds if newest is not None else 0.0,
        total_distance_m=sum(part.total_distance_m for part in parts),
        total_duration_s=sum(part.total_duration_s for part in parts),
        stops=[stop for part in parts for stop in part.stops],
        routes=[route for part in parts for route in part.routes],
        unassigned=[item for part in parts for item in part.unassigned],
        total_cost_cents=sum(part.total_cost_cents for part in parts),
        depots=tuple(depot for part in parts for depot in part.depots),
        plan_ids=plan_ids,
        draft_plan_ids=draft_ids,
    )


def compare_day(session: Session, day: date) -> route_edits.PlanComparison:
    """Compare the drafts of every depot of a day with the routes riders have now, summed.

    Only depots with a draft take part, so the lines show what Publish would change. The
    labels show whether the "current" side is published routes or previous drafts.
    """
    comparisons = [
        route_edits.compare_plans(session, day, depot_id)
        for depot_id in day_depot_ids(session, day)
    ]
    with_draft = [c for c in comparisons if c.draft is not None]
    if not with_draft:
        return route_edits.PlanComparison(day, 0, None, None)

    drafts = [c.draft for c in with_draft]
    currents = [c.current for c in with_draft if c.current is not None]
    published = any(c.label == "Published now" for c in currents)
    count = f" ({len(drafts)} depots)" if len(drafts) > 1 else ""
    draft_label = "With drafts" if published else "Drafts"
    current = None
    if currents:
        current_label = "Published now" if published else "Previous drafts"
        current = _sum_figures(f"{current_label}{count}", currents)
    draft = _sum_figures(f"{draft_label}{count}", drafts)
    return route_edits.PlanComparison(day, 0, current, draft)


def _sum_figures(label: str, figures: list[route_edits.PlanFigures]) -> route_edits.PlanFigures:
    late = [f.late_stops for f in figures]
    return replace(
        figures[0],
        label=label,
        plan_id=None,
        distance_m=sum(f.distance_m for f in figures),
        duration_s=sum(f.duration_s for f in figures),
        vehicles=sum(f.vehicles for f in figures),
        late_stops=None if any(n is None for n in late) else sum(late),
        unassigned=sum(f.unassigned for f in figures),
        cost_cents=sum(f.cost_cents for f in figures),
    )


def publish_plans(session: Session, actor: Actor, plan_ids: list[int]) -> int:
    """Publish several depots' draft plans together; the caller commits once for all.

    Plans are locked and published in id order. If one is no longer a draft, the error
    propagates and the caller's rollback leaves every plan unpublished.

    Returns:
        The number of routes published over all plans.

    Raises:
        ConflictError: no plan given, or a plan is not a draft.
        NotFoundError: a plan does not exist.
    """
    if not plan_ids:
        raise ConflictError("There is no draft plan to publish; plan routes first.")
    published = 0
    for plan_id in sorted(set(plan_ids)):
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise NotFoundError(f"Plan {plan_id} not found", plan_id=plan_id)
        published += ff.publish_plan(session, actor, plan_id)
    return published

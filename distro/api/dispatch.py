"""Dispatch routes: the board of one depot and day, and single routes with their stops."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from distro.api.auth import ActorDep, SessionDep, actor_with
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.api.schemas import RouteOut, RouteStopOut
from distro.backbone import feed
from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.models import Role

router = APIRouter(tags=["dispatch"], responses=AUTH_RESPONSES)

BOARD_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)


@router.get("/dispatch/board", responses=NOT_FOUND_RESPONSE)
def board(
    _actor: Annotated[Actor, Depends(actor_with(*BOARD_ROLES))],
    session: SessionDep,
    day: date = Query(),
    depot_id: int = Query(ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Return the plan of one depot and day: stops, routes with load and geometry, unassigned."""
    return dataclasses.asdict(ff.board_snapshot(session, day, depot_id))


@router.get("/routes/{route_id}", response_model=RouteOut, responses=NOT_FOUND_RESPONSE)
def get_route(
    actor: ActorDep,
    session: SessionDep,
    route_id: int = Path(ge=1, le=2**31 - 1),
) -> RouteOut:
    """Return one route and its stops in driving order.

    Riders see only the published routes assigned to them.
    """
    route, stops = feed.route_stops(session, actor, route_id)
    return RouteOut(
        route_id=route.id,
        day=route.day,
        status=route.status,
        rider_id=route.rider_id,
        vehicle_id=route.vehicle_id,
        color=route.color,
        stops=[
            RouteStopOut(
                delivery_id=s.id,
                sequence=s.sequence,
                label=s.label,
                address=s.address,
                latitude=s.latitude,
                longitude=s.longitude,
                status=s.status,
                window_start_min=s.window_start_min,
                window_end_min=s.window_end_min,
                eta=s.eta,
                order_id=s.order_id,
            )
            for s in stops
        ],
    )

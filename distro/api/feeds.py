"""Live-view routes: the tenant-filtered event feed and the GeoJSON of stops and riders."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query

from distro.api.auth import ActorDep, SessionDep
from distro.api.errors import AUTH_RESPONSES
from distro.api.orders import event_out
from distro.api.schemas import EventPageOut
from distro.backbone import feed

router = APIRouter(tags=["live"], responses=AUTH_RESPONSES)


@router.get("/events", response_model=EventPageOut)
def events(
    actor: ActorDep,
    session: SessionDep,
    after: int = Query(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="The cursor from the previous page; 0 for the start.",
    ),
    limit: int = Query(default=100, ge=1, le=feed.MAX_FEED_PAGE),
) -> EventPageOut:
    """Return the events after a cursor that the caller may see, oldest first."""
    rows = feed.visible_events_after(session, actor, after, limit)
    return EventPageOut(events=[event_out(e) for e in rows], cursor=rows[-1].id if rows else after)


@router.get(
    "/map/live.geojson",
    responses={
        200: {
            "content": {"application/geo+json": {}},
            "description": "A GeoJSON FeatureCollection.",
        }
    },
)
def live_geojson(
    actor: ActorDep,
    session: SessionDep,
    day: date = Query(),
    depot_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Return the caller's visible stops of a day (and, for operations, riders' last positions)."""
    return feed.live_map(session, actor, day, depot_id)

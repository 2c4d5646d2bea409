"""Live updates of the dispatch board: riders' changes, exceptions and positions without a reload.

The board page runs a timer in the browser that calls `BoardLiveState.poll_live` every
`POLL_INTERVAL_MS`. Each call reads the newest event id, one integer from the database that
every backend worker shares. When it moved, the board re-reads its routes and stops, and the
exceptions and the recent rider updates are read again. Exceptions that come from the clock
(late stops, idle riders) are re-read every `CLOCK_REFRESH_S`. The map is rebuilt on the
server and re-rendered in the browser on each reload, so it follows status changes at most
every `MAP_EVENT_REFRESH_S`, and positions alone at most every `MAP_REFRESH_S`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime

import reflex as rx
from sqlmodel import col, func, select

from distro.backbone.board import SEVERITY_ORDER, board_exceptions
from distro.backbone.day_board import day_depot_ids
from distro.backbone.events import latest_event_id
from distro.backbone.models import Delivery, Event, RiderPosition
from distro.db import session_scope
from distro.formatting import local_clock, status_label
from distro.state.dispatch import BOARD_ROLES, DispatchState, parse_board_key

POLL_INTERVAL_MS = 250
"""How often the browser asks for changes; a rider's update shows within about this long."""

CLOCK_REFRESH_S = 15.0
MAP_EVENT_REFRESH_S = 5.0
"""Shortest time between two map reloads for status changes; tables update at every poll."""
MAP_REFRESH_S = 30.0
EXCEPTIONS_PAGE_SIZE = 30
RECENT_UPDATES = 12

RIDER_EVENT_TYPES = (
    "delivery_out_for_delivery",
    "delivery_arrived",
    "delivery_delivered",
    "delivery_failed",
    "delivery_rescheduled",
    "delivery_returned",
)


@dataclasses.dataclass
class ExceptionRow:
    """One exception as the board's panel lists it."""

    kind: str
    severity: str
    title: str
    detail: str
    delivery_id: int
    rider_id: int
    at: str


@dataclasses.dataclass
class UpdateRow:
    """One recent status change of a stop on the open board."""

    event_id: int
    delivery_id: int
    label: str
    status: str
    status_text: str
    actor: str
    at: str


@dataclasses.dataclass
class LiveView:
    """What one poll read from the database."""

    cursor: int
    position_stamp: int
    exceptions: list[ExceptionRow]
    updates: list[UpdateRow]


def read_cursor() -> tuple[int, int]:
    """Return the newest event id and the newest position id."""
    with session_scope() as session:
        newest_position = session.exec(select(func.max(RiderPosition.id))).first() or 0
        return latest_event_id(session), newest_position


def read_live(board: str) -> tuple[list[ExceptionRow], int, list[UpdateRow]]:
    """Read the exceptions and the recent rider updates of a board; runs in a worker thread.

    Returns the first `EXCEPTIONS_PAGE_SIZE` exceptions, the total number of exceptions and
    the recent updates.
    """
    parsed = parse_board_key(board)
    if parsed is None:
        return [], 0, []
    day, depot_id = parsed
    with session_scope() as session:
        depot_ids = day_depot_ids(session, day) if depot_id is None else [depot_id]
        found = [item for depot in depot_ids for item in board_exceptions(session, day, depot)]
        found.sort(key=lambda item: item.at, reverse=True)
        found.sort(key=lambda item: SEVERITY_ORDER.get(item.severity, 9))
        rows = session.exec(
            select(Event, Delivery.label)
            .join(Delivery, col(Delivery.id) == col(Event.entity_id))
            .where(
                Event.entity == "delivery",
                col(Event.event_type).in_(RIDER_EVENT_TYPES),
                col(Delivery.depot_id).in_(depot_ids),
                col(Delivery.day).in_([day, day.fromordinal(day.toordinal() + 1)]),
            )
            .order_by(col(Event.id).desc())
            .limit(RECENT_UPDATES)
        ).all()
    exceptions = [
        ExceptionRow(
            kind=item.kind,
            severity=item.severity,
            title=item.title,
            detail=item.detail,
            delivery_id=item.delivery_id or 0,
            rider_id=item.rider_id or 0,
            at=local_clock(item.at),
        )
        for item in found[:EXCEPTIONS_PAGE_SIZE]
    ]
    updates = [
        UpdateRow(
            event_id=event.id,
            delivery_id=event.entity_id,
            label=label or f"Delivery {event.entity_id}",
            status=event.to_state or "",
            status_text=status_label(event.to_state or ""),
            actor=event.actor,
            at=local_clock(event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)),
        )
        for event, label in rows
    ]
    return exceptions, len(found), updates


class BoardLiveState(DispatchState):
    """The board's live panel; its poll also refreshes the parent board when something changed."""

    live_cursor: int = 0
    position_stamp: int = 0
    exceptions: list[ExceptionRow] = []
    exception_count: int = 0
    """All exceptions of the board; `exceptions` holds at most `EXCEPTIONS_PAGE_SIZE` of them."""
    exceptions_truncated: bool = False
    updates: list[UpdateRow] = []
    live_board: str = ""
    """The board whose panel is shown, so a switch of board re-reads it at once."""
    live_checked_at: str = ""
    _clock_read_at: float = 0.0
    _map_reloaded_at: float = 0.0
    _map_stale: bool = False

    @rx.event
    async def poll_live(self) -> None:
        """Check for new events and positions; refresh the board and the live panel if any."""
        self.require(*BOARD_ROLES)
        if parse_board_key(self.board) is None:
            return
        cursor, position_stamp = await asyncio.to_thread(read_cursor)
        now = time.monotonic()

        events_moved = cursor != self.live_cursor
        board_switched = self.board != self.live_board
        positions_moved = position_stamp != self.position_stamp
        clock_due = now - self._clock_read_at >= CLOCK_REFRESH_S

        if events_moved and self.live_cursor and not board_switched:
            await self._reload()
            self._map_stale = True
        since_map = now - self._map_reloaded_at
        if (self._map_stale and since_map >= MAP_EVENT_REFRESH_S) or (
            positions_moved and since_map >= MAP_REFRESH_S
        ):
            self.map_version += 1
            self._map_reloaded_at = now
            self._map_stale = False

        if events_moved or board_switched or clock_due or positions_moved:
            exceptions, total, updates = await asyncio.to_thread(read_live, self.board)
            self.exceptions = exceptions
            self.exception_count = total
            self.exceptions_truncated = total > len(exceptions)
            self.updates = updates
            self._clock_read_at = now
        self.live_cursor = cursor
        self.position_stamp = position_stamp
        self.live_board = self.board
        self.live_checked_at = datetime.now(UTC).strftime("%H:%M:%S")

"""State of the dispatch board: the chosen depot or all depots, the day, routes and edit forms.

The state contains ids, page-sized lists of plain rows and form input. Every handler re-reads the
board from the database through the backbone, which re-checks every id the browser sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from datetime import date
from urllib.parse import urlencode

import reflex as rx

from distro.backbone import day_board, route_edits
from distro.backbone import fulfillment as ff
from distro.backbone.actors import Actor
from distro.backbone.errors import DistroError
from distro.backbone.models import Role
from distro.backbone.running_costs import default_rates_text
from distro.db import session_scope
from distro.formatting import (
    hours_minutes,
    km,
    local_clock,
    money,
    percent,
    status_label,
    time_window,
)
from distro.state.auth import AuthState

logger = logging.getLogger(__name__)

UNASSIGNED_PAGE_SIZE = 50
"""Unassigned stops listed on the page; the rest are counted."""

ROUTE_STOPS_PAGE_SIZE = 150
"""Stops of the selected route listed on the page; the rest are counted."""

PROGRESS_POLL_SECONDS = 0.5
"""How often the planning progress shown in the browser is refreshed."""

MAP_PATH = "/api/v1/maps/dispatch"

ALL_DEPOTS = "all"
"""The depot part of the key of a board that shows every depot of a day."""


@dataclasses.dataclass
class BoardChoice:
    """One depot and day the dispatcher can open."""

    key: str
    label: str


@dataclasses.dataclass
class RouteRow:
    """One route of the plan as the route table shows it."""

    route_id: int
    color: str
    rider: str
    vehicle: str
    status: str
    status_text: str
    stops: int
    load_kg: int
    capacity_kg: int
    kg_percent: int
    load_units: int
    capacity_units: int
    units_percent: int
    distance_km: str
    duration: str
    locked: bool = False
    cost: str = ""
    depot: str = ""


@dataclasses.dataclass
class ComparisonRow:
    """One line of the plan comparison: the routes riders have now, or the new draft."""

    label: str
    distance_km: str
    duration: str
    vehicles: int
    late: str
    unassigned: int
    cost: str = ""


@dataclasses.dataclass
class StopRow:
    """One stop of the selected route."""

    delivery_id: int
    sequence: int
    label: str
    address: str
    demand: str
    window: str
    eta: str
    status: str
    status_text: str


@dataclasses.dataclass
class UnassignedRow:
    """One stop that the plan leaves off every route, with the planner's reason."""

    delivery_id: int
    label: str
    reason: str


@dataclasses.dataclass
class BoardView:
    """Everything the page shows about one board, read in one database session."""

    depot_name: str
    plan_id: int
    plan_status: str
    engine: str
    solve_seconds: float
    stop_count: int
    routed_count: int
    total_km: str
    total_duration: str
    max_load_percent: int
    routes: list[RouteRow]
    route_stops: list[StopRow]
    route_stop_count: int
    unassigned: list[UnassignedRow]
    unassigned_count: int
    comparison: list[ComparisonRow] = dataclasses.field(default_factory=list)
    total_cost: str = "0.00"
    draft_plan_ids: list[int] = dataclasses.field(default_factory=list)


class PlanProgress:
    """The planner's latest progress message, shared between its thread and the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._message = "Starting the planner"
        self._fraction = 0.0

    def update(self, message: str, fraction: float) -> None:
        """Record progress; called from the planner's thread."""
        with self._lock:
            self._message = message
            self._fraction = min(max(fraction, 0.0), 1.0)

    def read(self) -> tuple[str, float]:
        """Return the latest message and the fraction done (0 to 1)."""
        with self._lock:
            return self._message, self._fraction


BOARD_ROLES = (Role.DISPATCHER, Role.ADMIN)
"""Roles that may open, plan, edit and publish the board; every handler checks them."""


def parse_board_key(key: str) -> tuple[date, int | None] | None:
    """Split a board key into the day and the depot id; None if the key is invalid.

    A key is "YYYY-MM-DD|depot_id", or "YYYY-MM-DD|all" for every depot of the day, which
    gives the depot id None.
    """
    day_text, _, depot_text = key.partition("|")
    try:
        day = date.fromisoformat(day_text)
        return day, None if depot_text == ALL_DEPOTS else int(depot_text)
    except ValueError:
        return None


def board_key(day: date, depot_id: int | None) -> str:
    """Return the key of a depot's board on one day, or of all depots when `depot_id` is None."""
    return f"{day.isoformat()}|{ALL_DEPOTS if depot_id is None else depot_id}"


def read_board_choices() -> list[BoardChoice]:
    """Read the depots and days that have deliveries, in the backbone's order.

    A day with stops at two or more depots gets an "All depots" choice before its depots.
    """
    with session_scope() as session:
        options = ff.list_board_options(session)
    depots_per_day: dict[date, list[ff.BoardOption]] = {}
    for option in options:
        depots_per_day.setdefault(option.day, []).append(option)

    choices = []
    for day, day_options in depots_per_day.items():
        if len(day_options) > 1:
            stops = sum(option.deliveries for option in day_options)
            choices.append(
                BoardChoice(
                    key=board_key(day, None),
                    label=f"{day.isoformat()} · All depots ({len(day_options)}) · {stops} stops",
                )
            )
        choices.extend(
            BoardChoice(
                key=board_key(option.day, option.depot_id),
                label=(
                    f"{option.day.isoformat()} · {option.depot_code} {option.depot_name}"
                    f" · {option.deliveries} stops"
                ),
            )
            for option in day_options
        )
    return choices


def read_board(day: date, depot_id: int | None, selected_route_id: int) -> BoardView:
    """Read one board, or all depots of a day, into page rows; runs in a worker thread."""
    with session_scope() as session:
        if depot_id is None:
            snapshot = day_board.day_snapshot(session, day)
            comparison = day_board.compare_day(session, day)
        else:
            snapshot = ff.board_snapshot(session, day, depot_id)
            comparison = route_edits.compare_plans(session, day, depot_id)

    routes = [_route_row(route) for route in snapshot.routes]
    route_stops = sorted(
        (
            stop
            for stop in snapshot.stops
            if selected_route_id and stop.route_id == selected_route_id
        ),
        key=lambda stop: stop.sequence or 0,
    )
    return BoardView(
        depot_name=snapshot.depot_name,
        plan_id=snapshot.plan_id or 0,
        plan_status=snapshot.plan_status or "",
        engine=snapshot.engine or "",
        solve_seconds=round(snapshot.solve_seconds or 0.0, 1),
        stop_count=len(snapshot.stops),
        routed_count=sum(1 for stop in snapshot.stops if stop.route_id is not None),
        total_km=km(snapshot.total_distance_m),
        total_duration=hours_minutes(snapshot.total_duration_s),
        max_load_percent=max((max(row.kg_percent, row.units_percent) for row in routes), default=0),
        routes=routes,
        route_stops=[_stop_row(stop) for stop in route_stops[:ROUTE_STOPS_PAGE_SIZE]],
        route_stop_count=len(route_stops),
        unassigned=[
            UnassignedRow(item.delivery_id, item.label, item.reason)
            for item in snapshot.unassigned[:UNASSIGNED_PAGE_SIZE]
        ],
        unassigned_count=len(snapshot.unassigned),
        comparison=_comparison_rows(comparison),
        total_cost=money(snapshot.total_cost_cents),
        draft_plan_ids=list(snapshot.draft_plan_ids),
    )


def plan_board(
    day: date, depot_id: int | None, actor: Actor, progress: ff.ProgressCallback
) -> list[int]:
    """Plan one depot, or every depot of the day together; runs in a worker thread."""
    if depot_id is not None:
        return [ff.plan_routes(day, depot_id, actor, progress=progress)]
    with session_scope() as session:
        depot_ids = day_board.day_depot_ids(session, day)
    return ff.plan_depots(day, depot_ids, actor, progress=progress)


def _comparison_rows(comparison: route_edits.PlanComparison) -> list[ComparisonRow]:
    """Return the comparison lines, or none when there is no draft to compare."""
    if comparison.draft is None:
        return []
    figures = [f for f in (comparison.current, comparison.draft) if f is not None]
    return [
        ComparisonRow(
            label=f.label,
            distance_km=km(f.distance_m),
            duration=hours_minutes(f.duration_s),
            vehicles=f.vehicles,
            late="n/a" if f.late_stops is None else str(f.late_stops),
            unassigned=f.unassigned,
            cost=money(f.cost_cents),
        )
        for f in figures
    ]


def _route_row(route: ff.BoardRoute) -> RouteRow:
    return RouteRow(
        route_id=route.route_id,
        color=route.color,
        rider=route.rider_name or "No rider",
        vehicle=route.vehicle_code,
        status=route.status,
        status_text=status_label(route.status),
        stops=route.stop_count,
        load_kg=route.load_kg,
        capacity_kg=route.capacity_kg,
        kg_percent=percent(route.load_kg, route.capacity_kg),
        load_units=route.load_units,
        capacity_units=route.capacity_units,
        units_percent=percent(route.load_units, route.capacity_units),
        distance_km=km(route.distance_m),
        duration=hours_minutes(route.duration_s),
        locked=route.locked,
        cost=money(route.cost_cents),
        depot=route.depot_code,
    )


def _stop_row(stop: ff.BoardStop) -> StopRow:
    return StopRow(
        delivery_id=stop.delivery_id,
        sequence=stop.sequence or 0,
        label=stop.label or f"Delivery {stop.delivery_id}",
        address=stop.address,
        demand=f"{stop.demand_kg} kg · {stop.demand_units} u",
        window=time_window(stop.window_start_min, stop.window_end_min),
        eta=local_clock(stop.eta),
        status=stop.status,
        status_text=status_label(stop.status),
    )


def move_stop(actor: Actor, delivery_id: int, route_id: int, position: int | None) -> None:
    """Move a stop in its own transaction; runs in a worker thread."""
    with session_scope() as session:
        ff.move_stop(session, actor, delivery_id, route_id, position)


def lock_route(actor: Actor, route_id: int, locked: bool) -> None:
    """Lock or unlock a route in its own transaction; runs in a worker thread."""
    with session_scope() as session:
        route_edits.lock_route(session, actor, route_id, locked)


def insert_urgent(actor: Actor, delivery_id: int) -> int:
    """Insert a pending stop into a published route and return the route's id."""
    with session_scope() as session:
        return route_edits.insert_urgent(session, actor, delivery_id)


def publish_plan(actor: Actor, plan_id: int) -> int:
    """Publish a plan in its own transaction and return the number of routes published."""
    with session_scope() as session:
        return ff.publish_plan(session, actor, plan_id)


def publish_plans(actor: Actor, plan_ids: list[int]) -> int:
    """Publish the drafts of all depots in one transaction; return the routes published."""
    with session_scope() as session:
        return day_board.publish_plans(session, actor, plan_ids)


def _parse_positive_int(text: str) -> int | None:
    text = text.strip().lstrip("#")
    if not text.isdigit():
        return None
    value = int(text)
    return value if value > 0 else None


class DispatchState(AuthState):
    """The dispatch board of one depot and day."""

    choices: list[BoardChoice] = []
    board: str = ""
    """The open board as "YYYY-MM-DD|depot_id"; empty when there is none."""

    depot_name: str = ""
    plan_id: int = 0
    plan_status: str = ""
    engine: str = ""
    solve_seconds: float = 0.0
    stop_count: int = 0
    routed_count: int = 0
    total_km: str = "0.0"
    total_duration: str = "0:00"
    max_load_percent: int = 0
    total_cost: str = "0.00"
    draft_plan_ids: list[int] = []
    """Draft plans of the open board, one per depot on a board of all depots."""
    default_rates: str = ""
    """The sentence naming the rates charged for vehicles with no cost set."""
    draft_route_count: int = 0
    """Draft routes on the open board: what Publish would publish."""

    routes: list[RouteRow] = []
    selected_route_id: int = 0
    route_stops: list[StopRow] = []
    route_stop_count: int = 0
    unassigned: list[UnassignedRow] = []
    unassigned_count: int = 0
    comparison: list[ComparisonRow] = []

    move_stop_text: str = ""
    move_route: str = ""
    move_position_text: str = ""

    notice: str = ""
    notice_kind: str = "info"
    """"info", "success" or "error": the colour of the notice."""

    planning: bool = False
    # NOTE: with Redis as the state manager this stays True if the backend restarts during a
    # run, so Plan routes stays disabled in that tab until its state expires.
    progress_message: str = ""
    progress_percent: int = 0
    busy: bool = False
    """True while a move or publish waits for the database."""

    map_version: int = 0

    @rx.var
    def map_path(self) -> str:
        """Path of the map page for the open board, with a version that changes on every edit."""
        parsed = parse_board_key(self.board)
        if parsed is None:
            return ""
        day, depot_id = parsed
        query: dict[str, str | int] = {"day": day.isoformat()}
        if depot_id is not None:
            query["depot_id"] = depot_id
        query["v"] = self.map_version
        if self.selected_route_id:
            query["route_id"] = self.selected_route_id
        return f"{MAP_PATH}?{urlencode(query)}"

    @rx.var
    def has_plan(self) -> bool:
        """Whether the open board has a plan."""
        return self.plan_id > 0

    @rx.var
    def can_publish(self) -> bool:
        """Whether the open board has a draft plan that can be published."""
        return len(self.draft_plan_ids) > 0 and not self.planning

    @rx.var
    def all_depots(self) -> bool:
        """Tell whether the open board shows every depot of its day."""
        return self.board.endswith(f"|{ALL_DEPOTS}")

    @rx.event
    async def load_page(self) -> rx.event.EventSpec | None:
        """Read the board choices and open the requested board, or the first one."""
        if (redirect := self.redirect_unless(*BOARD_ROLES)) is not None:
            return redirect
        self.require(*BOARD_ROLES)
        self.choices = await asyncio.to_thread(read_board_choices)
        keys = [choice.key for choice in self.choices]

        requested = self.router.page.params.get("board", "")
        if isinstance(requested, str) and requested in keys:
            self.board = requested
        elif self.board not in keys:
            self.board = keys[0] if keys else ""
        self.selected_route_id = 0
        await self._reload()

    @rx.event
    async def open_board(self, key: str) -> None:
        """Open the board of another depot or day."""
        self.require(*BOARD_ROLES)
        if parse_board_key(key) is None:
            return
        self.board = key
        self.selected_route_id = 0
        self.move_stop_text = ""
        self.move_route = ""
        self._set_notice("", "info")
        await self._reload()

    @rx.event
    async def refresh(self) -> None:
        """Re-read the board, for example after someone else changed it."""
        self.require(*BOARD_ROLES)
        await self._reload()
        self.map_version += 1

    @rx.event
    async def select_route(self, route_id: int) -> None:
        """Show the stops of one route and highlight it on the map; select it again to clear."""
        self.require(*BOARD_ROLES)
        self.selected_route_id = 0 if route_id == self.selected_route_id else int(route_id)
        await self._reload()

    @rx.event
    def pick_stop(self, delivery_id: int) -> None:
        """Put a stop into the move form."""
        self.move_stop_text = str(int(delivery_id))

    @rx.event
    def set_move_stop_text(self, value: str) -> None:
        """Set the delivery id typed into the move form."""
        self.move_stop_text = value[:20]

    @rx.event
    def set_move_route(self, value: str) -> None:
        """Set the target route chosen in the move form."""
        self.move_route = value[:20]

    @rx.event
    def set_move_position_text(self, value: str) -> None:
        """Set the position typed into the move form."""
        self.move_position_text = value[:6]

    @rx.event
    async def move_selected_stop(self) -> None:
        """Move the stop in the form to the chosen route, at the typed position or the cheapest one.

        The backbone re-checks the stop, the route, the vehicle's capacity and whether the
        stop has started, so a stale page cannot overload a vehicle.
        """
        actor = self.require(*BOARD_ROLES)
        delivery_id = _parse_positive_int(self.move_stop_text)
        route_id = _parse_positive_int(self.move_route)
        position = _parse_positive_int(self.move_position_text)
        if delivery_id is None:
            self._set_notice(
                "Enter the delivery id of the stop to move, for example 1042.", "error"
            )
            return
        if route_id is None:
            self._set_notice("Choose the route to move the stop to.", "error")
            return
        if self.move_position_text.strip() and position is None:
            self._set_notice(
                "Position must be a whole number from 1, or empty for the cheapest place.", "error"
            )
            return

        self.busy = True
        try:
            await asyncio.to_thread(move_stop, actor, delivery_id, route_id, position)
        except DistroError as exc:
            logger.info(
                "Move of delivery %s to route %s rejected: %s", delivery_id, route_id, exc.code
            )
            self._set_notice(exc.message, "error")
            return
        finally:
            self.busy = False

        self._set_notice(
            f"Moved delivery {delivery_id} to route {self._route_name(route_id)}.", "success"
        )
        self.move_stop_text = ""
        self.move_position_text = ""
        await self._reload()
        self.map_version += 1

    @rx.event
    async def toggle_lock(self, route_id: int) -> None:
        """Lock a route so that planning again keeps it, or unlock it."""
        actor = self.require(*BOARD_ROLES)
        route = next((r for r in self.routes if r.route_id == int(route_id)), None)
        if route is None:
            self._set_notice("That route is no longer on the board; reload it.", "error")
            return
        locked = not route.locked
        self.busy = True
        try:
            await asyncio.to_thread(lock_route, actor, route.route_id, locked)
        except DistroError as exc:
            logger.info("Lock of route %s rejected: %s", route.route_id, exc.code)
            self._set_notice(exc.message, "error")
            return
        finally:
            self.busy = False
        name = self._route_name(route.route_id)
        self._set_notice(
            f"Locked route {name}: planning again keeps it."
            if locked
            else f"Unlocked route {name}: planning again may change it.",
            "success",
        )
        await self._reload()

    @rx.event
    async def insert_urgent(self, delivery_id: int) -> None:
        """Insert a pending stop into the published route where it adds the least distance.

        Stops the riders have started keep their place; the backbone re-checks capacity,
        windows and shift ends.
        """
        actor = self.require(*BOARD_ROLES)
        self.busy = True
        try:
            route_id = await asyncio.to_thread(insert_urgent, actor, int(delivery_id))
        except DistroError as exc:
            logger.info("Urgent insert of delivery %s rejected: %s", delivery_id, exc.code)
            self._set_notice(exc.message, "error")
            return
        finally:
            self.busy = False
        await self._reload()
        self.map_version += 1
        self._set_notice(
            f"Inserted delivery {delivery_id} into route {self._route_name(route_id)}; "
            "the rider sees it now.",
            "success",
        )

    @rx.event
    async def publish(self) -> None:
        """Publish the open draft plan so that each rider sees their route."""
        actor = self.require(*BOARD_ROLES)
        if not self.plan_id:
            self._set_notice("There is no plan to publish. Plan routes first.", "error")
            return

        self.busy = True
        try:
            if self.all_depots:
                published = await asyncio.to_thread(publish_plans, actor, self.draft_plan_ids)
            else:
                published = await asyncio.to_thread(publish_plan, actor, self.plan_id)
        except DistroError as exc:
            logger.info("Publishing plan %s rejected: %s", self.draft_plan_ids, exc.code)
            self._set_notice(exc.message, "error")
            return
        finally:
            self.busy = False

        self._set_notice(f"Published {published} routes. Riders now see their stops.", "success")
        await self._reload()
        self.map_version += 1

    @rx.event(background=True)
    async def plan_routes(self) -> None:
        """Plan routes for the open board in a worker thread and show its progress."""
        async with self:
            actor = self.require(*BOARD_ROLES)
            parsed = parse_board_key(self.board)
            if self.planning or parsed is None:
                return
            self.planning = True
            self.progress_message = "Starting the planner"
            self.progress_percent = 0
            self._set_notice("", "info")
        day, depot_id = parsed

        progress = PlanProgress()
        task = asyncio.create_task(
            asyncio.to_thread(plan_board, day, depot_id, actor, progress.update)
        )
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_POLL_SECONDS)
            message, fraction = progress.read()
            async with self:
                self.progress_message = message
                self.progress_percent = round(100 * fraction)

        async with self:
            self.planning = False
            try:
                plan_ids = task.result()
            except DistroError as exc:
                logger.info("Planning %s for depot %s rejected: %s", day, depot_id, exc.code)
                self._set_notice(exc.message, "error")
                return
            except Exception:
                logger.exception("Planning %s for depot %s failed", day, depot_id)
                self._set_notice(
                    "Planning failed because of an internal error; the server log has the details.",
                    "error",
                )
                return

            self.selected_route_id = 0
            await self._reload()
            self.map_version += 1
            if len(plan_ids) == 1:
                drafted = f"Plan {plan_ids[0]} is ready as a draft"
            else:
                numbers = ", ".join(str(plan_id) for plan_id in plan_ids[:-1])
                drafted = (
                    f"Plans {numbers} and {plan_ids[-1]} are ready as drafts, one per depot"
                )
            self._set_notice(
                f"{drafted}: {len(self.routes)} routes, "
                f"{self.routed_count} of {self.stop_count} stops routed. Review, then publish.",
                "success",
            )

    def _set_notice(self, message: str, kind: str) -> None:
        self.notice = message
        self.notice_kind = kind

    def _route_name(self, route_id: int) -> str:
        for route in self.routes:
            if route.route_id == route_id:
                return f"{route.rider} ({route.vehicle})"
        return str(route_id)

    async def _reload(self) -> None:
        parsed = parse_board_key(self.board)
        if parsed is None:
            self._apply(None)
            return
        day, depot_id = parsed
        try:
            view = await asyncio.to_thread(read_board, day, depot_id, self.selected_route_id)
        except DistroError as exc:
            self._set_notice(exc.message, "error")
            self._apply(None)
            return
        self._apply(view)

    def _apply(self, view: BoardView | None) -> None:
        if view is None:
            view = BoardView("", 0, "", "", 0.0, 0, 0, "0.0", "0:00", 0, [], [], 0, [], 0)
        self.depot_name = view.depot_name
        self.plan_id = view.plan_id
        self.plan_status = view.plan_status
        self.engine = view.engine
        self.solve_seconds = view.solve_seconds
        self.stop_count = view.stop_count
        self.routed_count = view.routed_count
        self.total_km = view.total_km
        self.total_duration = view.total_duration
        self.max_load_percent = view.max_load_percent
        self.total_cost = view.total_cost
        self.default_rates = default_rates_text()
        self.draft_plan_ids = view.draft_plan_ids
        self.routes = view.routes
        self.draft_route_count = sum(1 for route in view.routes if route.status == "draft")
        route_ids = {route.route_id for route in view.routes}
        if self.selected_route_id not in route_ids:
            self.selected_route_id = 0
        self.route_stops = view.route_stops if self.selected_route_id else []
        self.route_stop_count = view.route_stop_count if self.selected_route_id else 0
        self.unassigned = view.unassigned
        self.unassigned_count = view.unassigned_count
        self.comparison = view.comparison
        if _parse_positive_int(self.move_route) not in route_ids:
            self.move_route = ""

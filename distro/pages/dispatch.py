"""The dispatch board: plan, review, edit and publish the routes of a day's depots."""

from __future__ import annotations

import reflex as rx

from distro.components.badges import status_badge
from distro.components.board_live import live_panel
from distro.components.layout import app_shell, panel
from distro.components.map_frame import map_frame
from distro.components.tables import header_cell, load_cell, number_cell, text_cell
from distro.state.dispatch import (
    ROUTE_STOPS_PAGE_SIZE,
    UNASSIGNED_PAGE_SIZE,
    ComparisonRow,
    DispatchState,
    RouteRow,
    StopRow,
    UnassignedRow,
)

ROUTE = "/dispatch"


def board_picker() -> rx.Component:
    """Render the depot-and-day selector."""
    return rx.select.root(
        rx.select.trigger(
            placeholder="No deliveries to plan", min_width="340px", id="board-select"
        ),
        rx.select.content(
            rx.foreach(
                DispatchState.choices,
                lambda choice: rx.select.item(choice.label, value=choice.key),
            ),
        ),
        value=DispatchState.board,
        on_change=DispatchState.open_board,
        size="2",
    )


def publish_button() -> rx.Component:
    """Render Publish, which asks for confirmation first."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                rx.icon("send", size=15),
                "Publish",
                color_scheme="green",
                disabled=~DispatchState.can_publish | DispatchState.busy,
                id="publish-button",
            ),
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Publish the plan?"),
            rx.alert_dialog.description(
                "This publishes ",
                DispatchState.draft_route_count,
                " draft routes",
                rx.cond(
                    DispatchState.draft_plan_ids.length() > 1,
                    rx.text.span(" of ", DispatchState.draft_plan_ids.length(), " depots"),
                ),
                ". Each rider will see their route in order and its stops become assigned. "
                "Stops that have not started can still be moved afterwards.",
                size="2",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Publish routes",
                        color_scheme="green",
                        on_click=DispatchState.publish,
                        id="publish-confirm",
                    ),
                ),
                spacing="3",
                justify="end",
                margin_top="16px",
            ),
            max_width="420px",
        ),
    )


def toolbar() -> rx.Component:
    """Render the board selector and the plan and publish actions."""
    return rx.hstack(
        board_picker(),
        rx.tooltip(
            rx.icon_button(
                rx.icon("refresh-cw", size=15),
                variant="soft",
                color_scheme="gray",
                on_click=DispatchState.refresh,
                id="refresh-button",
            ),
            content="Reload the board",
        ),
        rx.button(
            rx.icon("route", size=15),
            "Plan routes",
            on_click=DispatchState.plan_routes,
            loading=DispatchState.planning,
            disabled=(DispatchState.board == "") | DispatchState.busy,
            id="plan-button",
        ),
        publish_button(),
        rx.cond(
            DispatchState.has_plan,
            rx.hstack(
                rx.text("Plan ", DispatchState.plan_id, size="2", color_scheme="gray"),
                status_badge(DispatchState.plan_status),
                spacing="2",
                align="center",
                id="plan-status",
            ),
            rx.text("Not planned yet", size="2", color_scheme="gray", id="plan-status"),
        ),
        rx.cond(
            DispatchState.planning,
            rx.hstack(
                rx.progress(value=DispatchState.progress_percent, max=100, width="160px", size="2"),
                rx.text(
                    DispatchState.progress_message,
                    size="1",
                    color_scheme="gray",
                    id="plan-progress",
                ),
                spacing="2",
                align="center",
            ),
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def stat(label: str, *value: rx.Component | rx.Var | str, test_id: str) -> rx.Component:
    """Render one number of the summary strip."""
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(
            *value,
            size="3",
            weight="bold",
            style={"font_variant_numeric": "tabular-nums"},
            id=test_id,
        ),
        spacing="0",
        padding="4px 14px",
        border_left="1px solid var(--gray-5)",
    )


def summary_strip() -> rx.Component:
    """Render the board's totals: stops routed, routes, distance, time, fullest vehicle, solver."""
    return rx.hstack(
        rx.vstack(
            rx.text("Depot", size="1", color_scheme="gray"),
            rx.text(DispatchState.depot_name, size="3", weight="bold"),
            spacing="0",
            padding="4px 14px 4px 0",
        ),
        stat(
            "Stops routed",
            DispatchState.routed_count,
            " / ",
            DispatchState.stop_count,
            test_id="stat-routed",
        ),
        stat("Routes", DispatchState.routes.length(), test_id="stat-routes"),
        stat("On no route", DispatchState.unassigned_count, test_id="stat-unassigned"),
        stat("Distance", DispatchState.total_km, " km", test_id="stat-distance"),
        stat("Driving + service", DispatchState.total_duration, " h", test_id="stat-duration"),
        stat("Running cost", DispatchState.total_cost, test_id="stat-cost"),
        stat("Fullest vehicle", DispatchState.max_load_percent, " %", test_id="stat-max-load"),
        rx.cond(
            DispatchState.engine != "",
            stat(
                "Solver",
                DispatchState.engine,
                " · ",
                DispatchState.solve_seconds,
                " s",
                test_id="stat-solver",
            ),
        ),
        spacing="0",
        align="center",
        wrap="wrap",
        background="white",
        border="1px solid var(--gray-5)",
        border_radius="8px",
        padding="4px 12px",
    )


def notice() -> rx.Component:
    """Render the result of the last action: green for success, red for a rejected edit."""
    return rx.cond(
        DispatchState.notice != "",
        rx.callout.root(
            rx.callout.icon(
                rx.icon(
                    rx.match(
                        DispatchState.notice_kind,
                        ("error", "circle-alert"),
                        ("success", "circle-check"),
                        "info",
                    )
                )
            ),
            rx.callout.text(DispatchState.notice, id="notice-text"),
            color_scheme=rx.match(
                DispatchState.notice_kind, ("error", "red"), ("success", "green"), "blue"
            ),
            role=rx.cond(DispatchState.notice_kind == "error", "alert", "status"),
            size="1",
            id="notice",
        ),
    )


def route_row(route: RouteRow) -> rx.Component:
    """Render one route; clicking it shows its stops and highlights it on the map."""
    selected = DispatchState.selected_route_id == route.route_id
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.box(width="10px", height="10px", border_radius="50%", background=route.color),
                lock_button(route),
                spacing="2",
                align="center",
            )
        ),
        text_cell(route.rider, max_width="200px", title=route.rider),
        rx.cond(DispatchState.all_depots, text_cell(route.depot)),
        text_cell(route.vehicle),
        number_cell(route.stops),
        load_cell(route.load_kg, route.capacity_kg, route.kg_percent, "kg"),
        load_cell(route.load_units, route.capacity_units, route.units_percent, "u"),
        number_cell(route.distance_km),
        number_cell(route.duration),
        number_cell(route.cost),
        rx.table.cell(status_badge(route.status, route.status_text)),
        on_click=DispatchState.select_route(route.route_id),
        cursor="pointer",
        background=rx.cond(selected, "var(--accent-3)", "transparent"),
        _hover={"background": rx.cond(selected, "var(--accent-4)", "var(--gray-3)")},
        custom_attrs={"data-route-id": route.route_id},
        class_name="route-row",
    )


def lock_button(route: RouteRow) -> rx.Component:
    """Render the toggle that keeps a route as it is when the day is planned again."""
    return rx.tooltip(
        rx.icon_button(
            rx.cond(route.locked, rx.icon("lock", size=14), rx.icon("lock-open", size=14)),
            size="1",
            variant=rx.cond(route.locked, "solid", "ghost"),
            color_scheme=rx.cond(route.locked, "amber", "gray"),
            on_click=DispatchState.toggle_lock(route.route_id).stop_propagation,
            disabled=DispatchState.busy | DispatchState.planning,
            custom_attrs={"data-route-id": route.route_id, "data-locked": route.locked},
            class_name="lock-route",
            aria_label=rx.cond(route.locked, "Unlock route", "Lock route"),
        ),
        content=rx.cond(
            route.locked,
            "Locked: planning again keeps this route. Click to unlock.",
            "Lock this route so that planning again keeps it",
        ),
    )


def comparison_row(row: ComparisonRow) -> rx.Component:
    """Render the totals of one side of the plan comparison."""
    return rx.table.row(
        text_cell(row.label),
        number_cell(row.distance_km),
        number_cell(row.duration),
        number_cell(row.vehicles),
        number_cell(row.late),
        number_cell(row.unassigned),
        number_cell(row.cost),
    )


def comparison_panel() -> rx.Component:
    """Render the new draft against the published routes (or the previous draft)."""
    return rx.cond(
        DispatchState.comparison.length() > 0,
        panel(
            "Compare before publishing",
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        header_cell("Plan"),
                        header_cell("km", numeric=True),
                        header_cell("h:mm", numeric=True),
                        header_cell("Vehicles", numeric=True),
                        header_cell("Late stops", numeric=True),
                        header_cell("On no route", numeric=True),
                        header_cell("Cost", numeric=True),
                    ),
                ),
                rx.table.body(rx.foreach(DispatchState.comparison, comparison_row)),
                size="1",
                width="100%",
                id="comparison-table",
            ),
            actions=rx.text(
                "Late: ETA after the window closes. Cost: each route's km at its vehicle's rate "
                "per km, plus the vehicle's rate per day. ",
                DispatchState.default_rates,
                size="1",
                color_scheme="gray",
            ),
        ),
    )


def routes_panel() -> rx.Component:
    """Render the route table."""
    return panel(
        "Routes",
        rx.cond(
            DispatchState.routes.length() > 0,
            # Wide tables (the all-depots board adds a column) scroll sideways in their panel
            # instead of pushing the last columns off the page.
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            header_cell(""),
                            header_cell("Rider"),
                            rx.cond(DispatchState.all_depots, header_cell("Depot")),
                            header_cell("Vehicle"),
                            header_cell("Stops", numeric=True),
                            header_cell("Load kg", numeric=True),
                            header_cell("Load units", numeric=True),
                            header_cell("km", numeric=True),
                            header_cell("h:mm", numeric=True),
                            header_cell("Cost", numeric=True),
                            header_cell("Status"),
                        ),
                    ),
                    rx.table.body(rx.foreach(DispatchState.routes, route_row)),
                    size="1",
                    width="100%",
                    id="routes-table",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.text(
                rx.cond(
                    DispatchState.stop_count > 0,
                    "No routes yet. Plan routes to assign the stops to vehicles.",
                    "No deliveries for this depot and day.",
                ),
                size="2",
                color_scheme="gray",
                padding="12px",
            ),
        ),
        actions=rx.text("Click a route to see its stops", size="1", color_scheme="gray"),
    )


def move_form() -> rx.Component:
    """Render the form that moves one stop to another route."""
    return panel(
        "Move a stop",
        rx.hstack(
            rx.vstack(
                rx.text("Delivery id", size="1", color_scheme="gray"),
                rx.input(
                    value=DispatchState.move_stop_text,
                    on_change=DispatchState.set_move_stop_text,
                    placeholder="e.g. 1042",
                    width="110px",
                    size="2",
                    id="move-stop-input",
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.text("To route", size="1", color_scheme="gray"),
                rx.select.root(
                    rx.select.trigger(
                        placeholder="Choose a route", min_width="240px", id="move-route-select"
                    ),
                    rx.select.content(
                        rx.foreach(
                            DispatchState.routes,
                            lambda route: rx.select.item(
                                route.rider,
                                " · ",
                                route.vehicle,
                                " · ",
                                route.load_kg,
                                "/",
                                route.capacity_kg,
                                " kg · ",
                                route.load_units,
                                "/",
                                route.capacity_units,
                                " u",
                                value=route.route_id.to_string(),
                            ),
                        ),
                    ),
                    value=DispatchState.move_route,
                    on_change=DispatchState.set_move_route,
                    size="2",
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.text("Position", size="1", color_scheme="gray"),
                rx.input(
                    value=DispatchState.move_position_text,
                    on_change=DispatchState.set_move_position_text,
                    placeholder="best",
                    width="70px",
                    size="2",
                    id="move-position-input",
                ),
                spacing="1",
            ),
            rx.button(
                rx.icon("arrow-right-left", size=15),
                "Move",
                on_click=DispatchState.move_selected_stop,
                loading=DispatchState.busy,
                disabled=~DispatchState.has_plan | DispatchState.planning,
                id="move-button",
            ),
            align="end",
            spacing="3",
            padding="10px 12px",
            wrap="wrap",
        ),
        actions=rx.text(
            "Pick a stop with its Move… button, or type its id. Empty position: cheapest place.",
            size="1",
            color_scheme="gray",
        ),
    )


def pick_button(delivery_id: rx.Var[int]) -> rx.Component:
    """Render the small button that puts a stop into the move form."""
    return rx.button(
        "Move…",
        size="1",
        variant="ghost",
        on_click=DispatchState.pick_stop(delivery_id),
        custom_attrs={"data-delivery-id": delivery_id},
        class_name="pick-stop",
    )


def stop_row(stop: StopRow) -> rx.Component:
    """Render one stop of the selected route."""
    return rx.table.row(
        number_cell(stop.sequence),
        number_cell(stop.delivery_id),
        text_cell(stop.label, max_width="170px", title=stop.address),
        text_cell(stop.window),
        number_cell(stop.eta),
        text_cell(stop.demand),
        rx.table.cell(status_badge(stop.status, stop.status_text)),
        rx.table.cell(pick_button(stop.delivery_id)),
    )


def route_stops_panel() -> rx.Component:
    """Render the stops of the selected route in driving order."""
    return rx.cond(
        DispatchState.selected_route_id > 0,
        panel(
            rx.hstack(
                rx.text("Stops of the selected route", size="2", weight="bold"),
                rx.badge(DispatchState.route_stop_count, variant="soft", color_scheme="gray"),
                spacing="2",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        header_cell("#", numeric=True),
                        header_cell("Delivery", numeric=True),
                        header_cell("Stop"),
                        header_cell("Window"),
                        header_cell("ETA", numeric=True),
                        header_cell("Demand"),
                        header_cell("Status"),
                        header_cell(""),
                    ),
                ),
                rx.table.body(rx.foreach(DispatchState.route_stops, stop_row)),
                size="1",
                width="100%",
                id="route-stops-table",
                custom_attrs={"data-route-id": DispatchState.selected_route_id},
            ),
            rx.cond(
                DispatchState.route_stop_count > ROUTE_STOPS_PAGE_SIZE,
                rx.text(
                    f"Showing the first {ROUTE_STOPS_PAGE_SIZE} stops.",
                    size="1",
                    color_scheme="gray",
                    padding="6px 12px",
                ),
            ),
            actions=rx.button(
                "Close",
                size="1",
                variant="ghost",
                color_scheme="gray",
                on_click=DispatchState.select_route(DispatchState.selected_route_id),
                id="close-route-stops",
            ),
        ),
    )


def unassigned_row(item: UnassignedRow) -> rx.Component:
    """Render one stop that no route serves, with the planner's reason."""
    return rx.table.row(
        number_cell(item.delivery_id),
        text_cell(item.label, max_width="180px"),
        rx.table.cell(rx.text(item.reason, size="1", color_scheme="red")),
        rx.table.cell(
            rx.hstack(
                pick_button(item.delivery_id),
                rx.button(
                    "Insert urgent",
                    size="1",
                    variant="soft",
                    color_scheme="orange",
                    on_click=DispatchState.insert_urgent(item.delivery_id),
                    disabled=DispatchState.busy | DispatchState.planning,
                    custom_attrs={"data-delivery-id": item.delivery_id},
                    class_name="insert-urgent",
                    title="Put this stop into the published route where it adds the least "
                    "distance, after the stops riders have started",
                ),
                spacing="2",
            )
        ),
    )


def unassigned_panel() -> rx.Component:
    """Render the stops on no route: left out by the planner, or not planned yet."""
    return rx.cond(
        DispatchState.unassigned_count > 0,
        panel(
            rx.hstack(
                rx.text("Stops on no route", size="2", weight="bold"),
                rx.badge(DispatchState.unassigned_count, color_scheme="red", variant="soft"),
                spacing="2",
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        header_cell("Delivery", numeric=True),
                        header_cell("Stop"),
                        header_cell("Reason"),
                        header_cell(""),
                    ),
                ),
                rx.table.body(rx.foreach(DispatchState.unassigned, unassigned_row)),
                size="1",
                width="100%",
                id="unassigned-table",
            ),
            rx.cond(
                DispatchState.unassigned_count > UNASSIGNED_PAGE_SIZE,
                rx.text(
                    f"Showing the first {UNASSIGNED_PAGE_SIZE}.",
                    size="1",
                    color_scheme="gray",
                    padding="6px 12px",
                ),
            ),
        ),
    )


def map_panel() -> rx.Component:
    """Render the map of the open board; it keeps its place while the tables beside it scroll."""
    return rx.box(
        rx.cond(
            DispatchState.map_path != "",
            map_frame(DispatchState.map_path, title="Dispatch map", id="dispatch-map"),
            rx.center(
                rx.text("Choose a depot and day to see the map.", color_scheme="gray"),
                height="100%",
            ),
        ),
        height="100%",
        min_height="360px",
        background="white",
        border="1px solid var(--gray-5)",
        border_radius="8px",
        overflow="hidden",
    )


def dispatch_page() -> rx.Component:
    """Render the dispatch board."""
    return app_shell(
        rx.vstack(
            toolbar(),
            summary_strip(),
            notice(),
            rx.grid(
                rx.vstack(
                    live_panel(),
                    comparison_panel(),
                    routes_panel(),
                    move_form(),
                    route_stops_panel(),
                    unassigned_panel(),
                    spacing="3",
                    width="100%",
                    min_width="0",
                    height="100%",
                    overflow_y="auto",
                    padding_right="2px",
                ),
                map_panel(),
                columns="minmax(0, 11fr) minmax(0, 9fr)",
                gap="12px",
                width="100%",
                flex="1",
                min_height="0",
            ),
            spacing="2",
            width="100%",
            height="100%",
        ),
        active="Dispatch",
    )


def register(app: rx.App) -> None:
    """Add the dispatch board to `app`."""
    app.add_page(
        dispatch_page, route=ROUTE, title="Dispatch · Distro", on_load=DispatchState.load_page
    )

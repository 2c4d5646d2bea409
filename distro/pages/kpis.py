"""The KPI page: network figures, trends and breakdowns for managers and admins."""

from __future__ import annotations

from typing import Any

import reflex as rx

from distro.components.layout import app_shell, panel
from distro.components.map_frame import map_frame
from distro.components.tables import header_cell, number_cell, text_cell
from distro.state.kpis import (
    POLL_MS,
    BreakdownRow,
    CreditRow,
    Figure,
    KpiState,
    Option,
    ReasonRow,
    RiderRow,
    RouteRow,
    TerritoryRow,
    TrendPoint,
)

ROUTE = "/kpis"
CHART_HEIGHT = 220
MAP_HEIGHT = "380px"


def _select(
    name: str, value: rx.Var[str], options: rx.Var[list[Option]], all_label: str
) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(placeholder=all_label, min_width="150px"),
        rx.select.content(
            rx.select.item(all_label, value="all"),
            rx.foreach(options, lambda option: rx.select.item(option.label, value=option.value)),
        ),
        name=name,
        default_value=rx.cond(value == "", "all", value),
        size="2",
    )


def filters() -> rx.Component:
    """Render the filter form; Apply re-reads every figure."""
    return rx.form(
        rx.hstack(
            rx.input(
                type="date", name="start", default_value=KpiState.start, id="kpi-start", size="2"
            ),
            rx.text("to", size="2", color_scheme="gray"),
            rx.input(type="date", name="end", default_value=KpiState.end, id="kpi-end", size="2"),
            _select("depot", KpiState.depot, KpiState.depot_options, "All depots"),
            _select("territory", KpiState.territory, KpiState.territory_options, "All territories"),
            _select("dealer", KpiState.dealer, KpiState.dealer_options, "All dealers"),
            _select("rider", KpiState.rider, KpiState.rider_options, "All riders"),
            rx.select.root(
                rx.select.trigger(placeholder="All channels", min_width="130px"),
                rx.select.content(
                    rx.select.item("All channels", value="all"),
                    rx.select.item("Dealer orders", value="dealer"),
                    rx.select.item("Customer orders", value="customer"),
                ),
                name="channel",
                default_value=rx.cond(KpiState.channel == "", "all", KpiState.channel),
                size="2",
            ),
            rx.button(rx.icon("filter", size=15), "Apply", type="submit", id="kpi-apply"),
            spacing="2",
            align="center",
            wrap="wrap",
        ),
        on_submit=KpiState.apply_filters,
    )


def figure_card(figure: Figure) -> rx.Component:
    """Render one headline number."""
    return rx.box(
        rx.text(figure.label, size="1", color_scheme="gray"),
        rx.text(
            figure.value,
            size="6",
            weight="bold",
            style={"font_variant_numeric": "tabular-nums"},
            id="kpi-" + figure.key,
        ),
        rx.text(figure.detail, size="1", color_scheme="gray"),
        padding="10px 12px",
        background="white",
        border="1px solid var(--gray-5)",
        border_radius="8px",
        min_width="170px",
    )


def csv_button(table: str) -> rx.Component:
    """Render the button that downloads a table's rows as CSV."""
    return rx.button(
        rx.icon("download", size=13),
        "CSV",
        size="1",
        variant="soft",
        color_scheme="gray",
        on_click=KpiState.download_csv(table),
        id=f"csv-{table}",
    )


def _table(headers: list[tuple[str, bool]], rows: rx.Var, render_row) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(
                rx.table.row(*[header_cell(text, numeric) for text, numeric in headers])
            ),
            rx.table.body(rx.foreach(rows, render_row)),
            size="1",
            width="100%",
        ),
        max_height="320px",
        overflow_y="auto",
    )


def _percent(value: rx.Var) -> rx.Component:
    return rx.cond(value.is_none(), "-", value.to_string() + " %")


def trend_panel() -> rx.Component:
    """Render orders and deliveries per day, and the on-time rate per day."""
    volume_chart = rx.recharts.composed_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        rx.recharts.bar(
            is_animation_active=False,
            data_key="delivered",
            name="delivered",
            fill="#2ca02c",
            stack_id="outcome",
        ),
        rx.recharts.bar(
            is_animation_active=False,
            data_key="failed",
            name="failed",
            fill="#d62728",
            stack_id="outcome",
        ),
        rx.recharts.line(
            is_animation_active=False,
            data_key="orders",
            name="orders placed",
            stroke="#1f77b4",
            dot=False,
        ),
        data=KpiState.trend.to(list[dict[str, Any]]),
        width="100%",
        height=CHART_HEIGHT,
    )
    on_time_chart = rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(domain=[0, 100], unit=" %"),
        rx.recharts.graphing_tooltip(),
        rx.recharts.line(
            is_animation_active=False,
            data_key="on_time_pct",
            name="on time",
            stroke="#9467bd",
            connect_nulls=True,
        ),
        data=KpiState.trend.to(list[dict[str, Any]]),
        width="100%",
        height=CHART_HEIGHT,
    )

    def render(point: TrendPoint) -> rx.Component:
        return rx.table.row(
            text_cell(point.day),
            number_cell(point.orders),
            number_cell(point.value),
            number_cell(point.delivered),
            number_cell(point.failed),
            number_cell(_percent(point.on_time_pct)),
        )

    table = _table(
        [
            ("Day", False),
            ("Orders", True),
            ("Value", True),
            ("Delivered", True),
            ("Failed", True),
            ("On time", True),
        ],
        KpiState.trend,
        render,
    )
    return panel(
        "Trend by day",
        rx.grid(volume_chart, on_time_chart, columns="2", spacing="3", padding="8px"),
        rx.accordion.root(
            rx.accordion.item(header="Numbers", content=table, value="numbers"),
            collapsible=True,
            type="single",
            variant="ghost",
        ),
        actions=csv_button("trend"),
    )


def reasons_panel() -> rx.Component:
    """Render failed attempts by reason as bars, with the numbers below."""
    chart = rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(type_="number"),
        rx.recharts.y_axis(data_key="reason", type_="category", width=170),
        rx.recharts.graphing_tooltip(),
        rx.recharts.bar(
            is_animation_active=False, data_key="failed", name="failed attempts", fill="#d62728"
        ),
        data=KpiState.reasons.to(list[dict[str, Any]]),
        layout="vertical",
        width="100%",
        height=CHART_HEIGHT,
    )

    def render(row: ReasonRow) -> rx.Component:
        return rx.table.row(text_cell(row.reason), number_cell(row.failed))

    return panel(
        "Failed attempts by reason",
        rx.box(chart, padding="8px"),
        _table([("Reason", False), ("Failed", True)], KpiState.reasons, render),
        actions=csv_button("reasons"),
    )


def breakdown_panel() -> rx.Component:
    """Render the main figures per territory (or another dimension), with a bar chart."""
    chart = rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="label"),
        rx.recharts.y_axis(domain=[0, 100], unit=" %"),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        rx.recharts.bar(
            is_animation_active=False, data_key="on_time_pct", name="on time", fill="#9467bd"
        ),
        rx.recharts.bar(
            is_animation_active=False,
            data_key="first_attempt_pct",
            name="first attempt",
            fill="#17becf",
        ),
        rx.recharts.bar(
            is_animation_active=False, data_key="fill_pct", name="fill rate", fill="#2ca02c"
        ),
        data=KpiState.breakdown_table.to(list[dict[str, Any]]),
        width="100%",
        height=CHART_HEIGHT,
    )

    def render(row: BreakdownRow) -> rx.Component:
        return rx.table.row(
            text_cell(row.label),
            number_cell(row.orders),
            number_cell(row.value),
            number_cell(row.attempts),
            number_cell(_percent(row.on_time_pct)),
            number_cell(_percent(row.first_attempt_pct)),
            number_cell(_percent(row.fill_pct)),
        )

    picker = rx.select.root(
        rx.select.trigger(),
        rx.select.content(
            *[
                rx.select.item(f"By {name}", value=name)
                for name in ("territory", "depot", "dealer", "rider", "channel")
            ]
        ),
        value=KpiState.breakdown,
        on_change=KpiState.set_breakdown,
        size="1",
    )
    return panel(
        rx.hstack(
            rx.text("Performance", size="2", weight="bold"), picker, spacing="2", align="center"
        ),
        rx.box(chart, padding="8px"),
        _table(
            [
                ("Group", False),
                ("Orders", True),
                ("Value", True),
                ("Attempts", True),
                ("On time", True),
                ("First attempt", True),
                ("Fill rate", True),
            ],
            KpiState.breakdown_table,
            render,
        ),
        actions=csv_button("breakdown"),
    )


def territory_map_panel() -> rx.Component:
    """Render the territories as circles on a map, with the same figures as a table below."""

    def render(row: TerritoryRow) -> rx.Component:
        return rx.table.row(
            text_cell(row.territory),
            number_cell(row.orders),
            number_cell(row.value),
            number_cell(row.delivered),
            number_cell(row.failed),
            number_cell(_percent(row.on_time_pct)),
            number_cell(_percent(row.first_attempt_pct)),
            number_cell(_percent(row.fill_pct)),
        )

    table = _table(
        [
            ("Territory", False),
            ("Orders", True),
            ("Value", True),
            ("Delivered", True),
            ("Failed", True),
            ("On time", True),
            ("First attempt", True),
            ("Fill rate", True),
        ],
        KpiState.territories,
        render,
    )
    frame = rx.box(
        rx.cond(
            KpiState.territory_map_path != "",
            map_frame(KpiState.territory_map_path, title="Territory map", id="kpi-map"),
            rx.center(
                rx.text("Fix the filters to see the map.", color_scheme="gray"), height="100%"
            ),
        ),
        height=MAP_HEIGHT,
    )
    return panel(
        "Territories: orders and on-time rate",
        frame,
        rx.accordion.root(
            rx.accordion.item(header="Numbers", content=table, value="numbers"),
            collapsible=True,
            type="single",
            variant="ghost",
        ),
        actions=csv_button("territories"),
    )


def routes_panel() -> rx.Component:
    """Render planned against actual distance and time per route."""

    def render(row: RouteRow) -> rx.Component:
        return rx.table.row(
            text_cell(row.day),
            text_cell(row.rider),
            text_cell(row.vehicle),
            number_cell(row.stops),
            number_cell(row.delivered),
            number_cell(row.planned_km),
            number_cell(row.actual_km),
            number_cell(row.planned_time),
            number_cell(row.actual_time),
            number_cell(row.cost),
        )

    return panel(
        "Routes: planned against actual",
        _table(
            [
                ("Day", False),
                ("Rider", False),
                ("Vehicle", False),
                ("Stops", True),
                ("Delivered", True),
                ("Plan km", True),
                ("Actual km", True),
                ("Plan h:mm", True),
                ("Actual h:mm", True),
                ("Cost", True),
            ],
            KpiState.routes,
            render,
        ),
        actions=csv_button("routes"),
    )


def riders_panel() -> rx.Component:
    """Render time on route against shift time per rider."""

    def render(row: RiderRow) -> rx.Component:
        return rx.table.row(
            text_cell(row.rider),
            number_cell(row.shifts),
            number_cell(row.shift_time),
            number_cell(row.route_time),
            number_cell(_percent(row.utilisation_pct)),
            number_cell(row.stops_per_hour),
        )

    return panel(
        "Riders",
        _table(
            [
                ("Rider", False),
                ("Shifts", True),
                ("Shift h:mm", True),
                ("Route h:mm", True),
                ("Utilisation", True),
                ("Stops per hour", True),
            ],
            KpiState.riders,
            render,
        ),
        actions=csv_button("riders"),
    )


def credit_panel() -> rx.Component:
    """Render the dealers with the largest credit exposure."""

    def render(row: CreditRow) -> rx.Component:
        return rx.table.row(
            text_cell(row.dealer),
            text_cell(row.territory),
            number_cell(row.limit),
            number_cell(row.exposure),
            number_cell(_percent(row.utilisation_pct)),
            number_cell(row.overdue),
        )

    return panel(
        "Credit exposure (now)",
        _table(
            [
                ("Dealer", False),
                ("Territory", False),
                ("Limit", True),
                ("Exposure", True),
                ("Used", True),
                ("Overdue", True),
            ],
            KpiState.credit,
            render,
        ),
        actions=csv_button("credit"),
    )


def live_status() -> rx.Component:
    """Render the refresh time and the hidden timer that polls for new events."""
    return rx.hstack(
        # The timer re-renders every POLL_MS and fires on_change, which asks the server
        # whether the event log moved.
        rx.moment(interval=POLL_MS, format="HH:mm:ss", on_change=KpiState.poll, display="none"),
        rx.icon("radio", size=14, color="white"),
        rx.text(
            "Live · updated ", KpiState.refreshed_at, size="1", color="white", id="kpi-refreshed"
        ),
        spacing="1",
        align="center",
    )


def kpis_page() -> rx.Component:
    """Render the KPI page."""
    return app_shell(
        rx.vstack(
            filters(),
            rx.cond(
                KpiState.error != "",
                rx.callout(KpiState.error, color_scheme="red", icon="triangle_alert"),
            ),
            rx.flex(rx.foreach(KpiState.figures, figure_card), wrap="wrap", spacing="2"),
            trend_panel(),
            rx.grid(
                territory_map_panel(), breakdown_panel(), columns="2", spacing="3", width="100%"
            ),
            rx.grid(reasons_panel(), riders_panel(), columns="2", spacing="3", width="100%"),
            routes_panel(),
            credit_panel(),
            spacing="3",
            width="100%",
        ),
        active="KPIs",
        right=live_status(),
    )


def register(app: rx.App) -> None:
    """Add the KPI page to `app`."""
    app.add_page(kpis_page, route=ROUTE, title="KPIs · Distro", on_load=KpiState.load_page)

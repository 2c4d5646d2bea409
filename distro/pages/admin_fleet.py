"""The vehicles and riders tabs of the admin page."""

from __future__ import annotations

import reflex as rx

from distro.components.forms import active_badge, form_row, labeled_input, row_actions
from distro.components.layout import panel
from distro.components.tables import header_cell, number_cell
from distro.state.admin_fleet import FleetAdminState, RiderRow, VehicleRow


def _cancel_button(on_click: rx.EventHandler) -> rx.Component:
    return rx.button(
        "Cancel", size="1", variant="soft", color_scheme="gray", type="button", on_click=on_click
    )


def _vehicle_form() -> rx.Component:
    form = FleetAdminState.vehicle_form
    editing = form.vehicle_id != 0
    return rx.form(
        form_row(
            labeled_input(
                "Code",
                "code",
                form.code,
                form_id="vehicle",
                width="100px",
                required=True,
                read_only=editing,
            ),
            labeled_input(
                "Name", "name", form.name, form_id="vehicle", width="200px", required=True
            ),
            labeled_input(
                "Capacity (kg)",
                "capacity_kg",
                form.capacity_kg,
                form_id="vehicle",
                width="100px",
                required=True,
            ),
            labeled_input(
                "Capacity (units)",
                "capacity_units",
                form.capacity_units,
                form_id="vehicle",
                width="100px",
                required=True,
            ),
            labeled_input(
                "Cost per km", "cost_per_km", form.cost_per_km, form_id="vehicle", width="100px"
            ),
            labeled_input(
                "Cost per day", "cost_per_day", form.cost_per_day, form_id="vehicle", width="100px"
            ),
            rx.button(
                rx.cond(editing, "Save vehicle", "Create vehicle"),
                size="1",
                type="submit",
                id="save-vehicle",
            ),
            rx.cond(editing, _cancel_button(FleetAdminState.new_vehicle)),
        ),
        on_submit=FleetAdminState.save_vehicle,
        key=FleetAdminState.form_version,
    )


def _vehicle_row(row: VehicleRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.code),
        rx.table.cell(row.name),
        number_cell(row.capacity_kg),
        number_cell(row.capacity_units),
        number_cell(row.cost_per_km),
        number_cell(row.cost_per_day),
        rx.table.cell(active_badge(row.active)),
        row_actions(
            row.active,
            FleetAdminState.edit_vehicle(row.vehicle_id),
            FleetAdminState.set_vehicle_active(row.vehicle_id, False),
            FleetAdminState.set_vehicle_active(row.vehicle_id, True),
        ),
    )


def vehicles_panel() -> rx.Component:
    """Render the vehicle form and the vehicles table."""
    return panel(
        rx.cond(
            FleetAdminState.vehicle_form.vehicle_id != 0,
            rx.text("Edit vehicle ", FleetAdminState.vehicle_form.code, size="2", weight="bold"),
            rx.text("New vehicle", size="2", weight="bold"),
        ),
        _vehicle_form(),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell("Code"),
                    header_cell("Name"),
                    header_cell("Capacity (kg)", numeric=True),
                    header_cell("Capacity (units)", numeric=True),
                    header_cell("Cost per km", numeric=True),
                    header_cell("Cost per day", numeric=True),
                    header_cell("Status"),
                    header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(FleetAdminState.vehicles, _vehicle_row)),
            size="1",
            id="vehicles-table",
        ),
        rx.text(FleetAdminState.default_rates, size="1", color_scheme="gray", id="default-rates"),
    )


def _rider_form() -> rx.Component:
    form = FleetAdminState.rider_form
    editing = form.rider_id != 0
    return rx.form(
        form_row(
            labeled_input(
                "Code",
                "code",
                form.code,
                form_id="rider",
                width="100px",
                required=True,
                read_only=editing,
            ),
            labeled_input("Name", "name", form.name, form_id="rider", width="200px", required=True),
            labeled_input("Phone", "phone", form.phone, form_id="rider", width="140px"),
            rx.vstack(
                rx.text("Default vehicle", size="1", color="gray"),
                rx.select.root(
                    rx.select.trigger(width="200px"),
                    rx.select.content(
                        rx.select.item("no vehicle", value="none"),
                        rx.foreach(
                            FleetAdminState.vehicle_options,
                            lambda option: rx.select.item(option.label, value=option.value),
                        ),
                    ),
                    name="vehicle_id",
                    default_value=form.vehicle_id,
                    size="1",
                ),
                spacing="1",
            ),
            rx.button(
                rx.cond(editing, "Save rider", "Create rider"),
                size="1",
                type="submit",
                id="save-rider",
            ),
            rx.cond(editing, _cancel_button(FleetAdminState.new_rider)),
        ),
        on_submit=FleetAdminState.save_rider,
        key=FleetAdminState.form_version,
    )


def _rider_row(row: RiderRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.code),
        rx.table.cell(row.name),
        rx.table.cell(row.phone),
        rx.table.cell(row.vehicle),
        rx.table.cell(active_badge(row.active)),
        row_actions(
            row.active,
            FleetAdminState.edit_rider(row.rider_id),
            FleetAdminState.set_rider_active(row.rider_id, False),
            FleetAdminState.set_rider_active(row.rider_id, True),
        ),
    )


def riders_panel() -> rx.Component:
    """Render the rider form and the riders table."""
    return panel(
        rx.cond(
            FleetAdminState.rider_form.rider_id != 0,
            rx.text("Edit rider ", FleetAdminState.rider_form.code, size="2", weight="bold"),
            rx.text("New rider", size="2", weight="bold"),
        ),
        _rider_form(),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell("Code"),
                    header_cell("Name"),
                    header_cell("Phone"),
                    header_cell("Default vehicle"),
                    header_cell("Status"),
                    header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(FleetAdminState.riders, _rider_row)),
            size="1",
        ),
    )

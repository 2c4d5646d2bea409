"""The admin page: users, API tokens, dealers' terms, products, prices, vehicles and riders."""

from __future__ import annotations

import reflex as rx

from distro.components.forms import (
    active_badge,
    form_row,
    labeled_input,
    row_actions,
    search_and_pager,
)
from distro.components.layout import app_shell, panel
from distro.components.tables import header_cell, number_cell
from distro.pages.admin_catalog import prices_panel, products_panel
from distro.pages.admin_fleet import riders_panel, vehicles_panel
from distro.state.admin import AdminState, DealerRow, TokenRow, UserRow
from distro.state.admin_catalog import CatalogAdminState
from distro.state.admin_fleet import FleetAdminState

ROUTE = "/admin"

ROLE_CHOICES = ["dealer", "customer", "rider", "dispatcher", "manager", "admin"]


def _input(name: str, placeholder: str, **props) -> rx.Component:
    return rx.input(name=name, placeholder=placeholder, size="1", **props)


def _tenant_inputs() -> list[rx.Component]:
    return [
        _input("dealer_id", "dealer id", width="90px"),
        _input("customer_id", "customer id", width="100px"),
        _input("rider_id", "rider id", width="80px"),
    ]


def _user_row(row: UserRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.user_id),
        rx.table.cell(row.username),
        rx.table.cell(row.full_name),
        rx.table.cell(row.role),
        rx.table.cell(row.tenant),
        rx.table.cell(
            rx.cond(
                row.active,
                rx.button(
                    "Disable",
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    on_click=AdminState.disable_user(row.user_id),
                ),
                rx.button(
                    "Enable", size="1", variant="soft", on_click=AdminState.enable_user(row.user_id)
                ),
            )
        ),
    )


def users_panel() -> rx.Component:
    """Render the users table and the create and reset-password forms."""
    return panel(
        "Users",
        rx.form(
            rx.hstack(
                _input("username", "username", required=True),
                _input("full_name", "full name"),
                _input("password", "password (10+ characters)", type="password", required=True),
                rx.select(ROLE_CHOICES, name="role", default_value="dealer", size="1"),
                *_tenant_inputs(),
                rx.button("Create user", size="1", type="submit"),
                spacing="2",
                wrap="wrap",
                padding="8px 12px",
            ),
            on_submit=AdminState.create_user,
            reset_on_submit=True,
        ),
        rx.form(
            rx.hstack(
                _input("user_id", "user id", width="80px", required=True),
                _input("password", "new password", type="password", required=True),
                rx.button("Reset password", size="1", type="submit", variant="soft"),
                spacing="2",
                padding="0 12px 8px",
            ),
            on_submit=AdminState.reset_password,
            reset_on_submit=True,
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Id", "Username", "Name", "Role", "Tenant", "")
                    ]
                )
            ),
            rx.table.body(rx.foreach(AdminState.users, _user_row)),
            size="1",
        ),
    )


def _token_row(row: TokenRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.token_id),
        rx.table.cell(row.name),
        rx.table.cell(row.role),
        rx.table.cell(row.tenant),
        rx.table.cell(row.created_by),
        rx.table.cell(
            rx.cond(
                row.revoked,
                rx.text("revoked", size="1", color="gray"),
                rx.button(
                    "Revoke",
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    on_click=AdminState.revoke_token(row.token_id),
                ),
            )
        ),
    )


def tokens_panel() -> rx.Component:
    """Render the API tokens table, the create form and a new token shown once."""
    return panel(
        "API tokens",
        rx.form(
            rx.hstack(
                _input("name", "name (the system that uses it)", required=True),
                rx.select(ROLE_CHOICES[:-1], name="role", default_value="dealer", size="1"),
                *_tenant_inputs(),
                rx.button("Create token", size="1", type="submit"),
                spacing="2",
                wrap="wrap",
                padding="8px 12px",
            ),
            on_submit=AdminState.create_token,
            reset_on_submit=True,
        ),
        rx.cond(
            AdminState.new_token != "",
            rx.callout(
                rx.code(AdminState.new_token, id="new-api-token"),
                icon="key",
                color_scheme="amber",
                size="1",
                margin="0 12px 8px",
            ),
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[
                        rx.table.column_header_cell(h)
                        for h in ("Id", "Name", "Role", "Tenant", "Created by", "")
                    ]
                )
            ),
            rx.table.body(rx.foreach(AdminState.tokens, _token_row)),
            size="1",
        ),
    )


def _dealer_row(row: DealerRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.code),
        rx.table.cell(row.name),
        rx.table.cell(row.town),
        rx.table.cell(row.tier),
        number_cell(row.credit_limit),
        rx.table.cell(row.territory),
        rx.table.cell(active_badge(row.active)),
        row_actions(
            row.active,
            AdminState.edit_dealer(row.dealer_id),
            AdminState.set_dealer_active(row.dealer_id, False),
            AdminState.set_dealer_active(row.dealer_id, True),
        ),
    )


def _dealer_form() -> rx.Component:
    form = AdminState.dealer_form
    return rx.form(
        form_row(
            rx.vstack(
                rx.text("Price tier", size="1", color="gray"),
                rx.select.root(
                    rx.select.trigger(width="140px"),
                    rx.select.content(
                        rx.foreach(
                            AdminState.tier_options,
                            lambda tier: rx.select.item(tier.label, value=tier.value),
                        )
                    ),
                    name="tier_id",
                    default_value=form.tier_id,
                    size="1",
                ),
                spacing="1",
            ),
            labeled_input(
                "Credit limit", "credit_limit", form.credit_limit, form_id="dealer", width="140px"
            ),
            labeled_input(
                "Territory", "territory", form.territory, form_id="dealer", width="180px"
            ),
            rx.button("Save terms", size="1", type="submit"),
            rx.button(
                "Cancel",
                size="1",
                variant="soft",
                color_scheme="gray",
                type="button",
                on_click=AdminState.cancel_dealer_edit,
            ),
        ),
        on_submit=AdminState.update_dealer,
        key=AdminState.form_version,
    )


def dealers_panel() -> rx.Component:
    """Render one page of dealers, a search box, and the terms form of the dealer being edited."""
    return panel(
        rx.cond(
            AdminState.dealer_form.dealer_id != 0,
            rx.text("Terms of ", AdminState.dealer_form.label, size="2", weight="bold"),
            rx.text("Dealers", size="2", weight="bold"),
        ),
        rx.cond(AdminState.dealer_form.dealer_id != 0, _dealer_form()),
        search_and_pager(
            AdminState.search_dealers,
            AdminState.dealer_page_label,
            AdminState.turn_dealer_page(-1),
            AdminState.turn_dealer_page(1),
            "code, name, town or territory",
        ),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    header_cell("Code"),
                    header_cell("Name"),
                    header_cell("Town"),
                    header_cell("Tier"),
                    header_cell("Credit limit", numeric=True),
                    header_cell("Territory"),
                    header_cell("Status"),
                    header_cell(""),
                )
            ),
            rx.table.body(rx.foreach(AdminState.dealers, _dealer_row)),
            size="1",
        ),
    )


TABS = [
    ("users", "Users", users_panel),
    ("tokens", "API tokens", tokens_panel),
    ("dealers", "Dealers", dealers_panel),
    ("products", "Products", products_panel),
    ("prices", "Prices", prices_panel),
    ("vehicles", "Vehicles", vehicles_panel),
    ("riders", "Riders", riders_panel),
]
"""(value, label, panel) of each tab of the admin page, in display order."""


def admin_page() -> rx.Component:
    """Render the admin page: a notice line, then one tab per kind of record."""
    return app_shell(
        rx.cond(
            AdminState.notice != "",
            rx.callout(AdminState.notice, icon="info", size="1", margin_bottom="8px", id="notice"),
        ),
        rx.tabs.root(
            rx.tabs.list(*[rx.tabs.trigger(label, value=value) for value, label, _ in TABS]),
            *[
                rx.tabs.content(render(), value=value, padding_top="10px")
                for value, _, render in TABS
            ],
            default_value="users",
            flex="1",
            min_height="0",
            overflow_y="auto",
        ),
        active="Admin",
    )


def register(app: rx.App) -> None:
    """Add the admin page to `app`; each tab's state loads its first page on arrival."""
    app.add_page(
        admin_page,
        route=ROUTE,
        title="Admin · Distro",
        on_load=[AdminState.load_page, CatalogAdminState.load_page, FleetAdminState.load_page],
    )

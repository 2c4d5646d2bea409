"""The operations order desk: take orders for a dealer, record payments, decide credit holds.

Dispatchers, managers and admins use it for orders that arrive by phone or chat while
dealers adopt the app. Orders placed here record who entered them.
"""

from __future__ import annotations

import reflex as rx

from distro.components.layout import app_shell, panel
from distro.pages.ordering_views import desk_tabs, notice, scrolling
from distro.state.ordering import OrderingState
from distro.state.ordering_rows import HoldRow

ROUTE = "/orders/desk"

State = OrderingState


def dealer_picker() -> rx.Component:
    """Render the dealer selector."""
    return rx.hstack(
        rx.text("Ordering for", size="2", color_scheme="gray"),
        rx.select.root(
            rx.select.trigger(placeholder="Choose a dealer", min_width="300px", id="desk-dealer"),
            rx.select.content(
                rx.foreach(
                    State.dealer_choices,
                    lambda choice: rx.select.item(choice.label, value=choice.key),
                )
            ),
            value=rx.cond(State.dealer_id > 0, State.dealer_id.to_string(), ""),
            on_change=State.pick_dealer,
        ),
        spacing="2",
        align="center",
        wrap="wrap",
    )


def payment_form() -> rx.Component:
    """Render the form that records a payment received from the chosen dealer."""
    return rx.form(
        rx.hstack(
            rx.input(name="amount", placeholder="Amount, e.g. 1250.00", width="160px"),
            rx.input(
                name="reference",
                placeholder="Bank or receipt reference",
                flex="1",
                min_width="160px",
            ),
            rx.button("Record payment", type="submit", variant="soft"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        on_submit=State.record_payment,
        reset_on_submit=True,
        width="100%",
        padding="10px 12px",
    )


def hold_row(row: HoldRow) -> rx.Component:
    """Render one order on credit hold with approve and reject."""
    return rx.hstack(
        rx.vstack(
            rx.text(row.number, " · ", row.dealer, size="2", weight="medium"),
            rx.text(
                "total ",
                row.total,
                " · exposure ",
                row.exposure,
                " of limit ",
                row.limit,
                rx.cond(row.entered_by != "", " · by " + row.entered_by, ""),
                size="1",
                color_scheme="gray",
            ),
            spacing="0",
            flex="1",
        ),
        rx.button(
            "Approve", size="1", color_scheme="green", on_click=State.approve_hold(row.order_id)
        ),
        rx.button(
            "Reject",
            size="1",
            variant="soft",
            color_scheme="red",
            on_click=State.reject_hold(row.order_id),
        ),
        spacing="2",
        align="center",
        width="100%",
        padding="6px 12px",
        border_bottom="1px solid var(--gray-4)",
    )


def holds_panel() -> rx.Component:
    """Render the orders waiting for a credit decision; managers approve or reject them."""
    return rx.cond(
        State.holds.length() > 0,
        panel(
            rx.hstack(
                rx.text("Credit holds", size="2", weight="bold"),
                rx.badge(State.holds.length(), color_scheme="amber", variant="soft"),
                spacing="2",
            ),
            rx.foreach(State.holds, hold_row),
            id="credit-holds",
        ),
    )


def desk_page() -> rx.Component:
    """Render the operations order desk."""
    return app_shell(
        scrolling(
            dealer_picker(),
            notice(),
            holds_panel(),
            rx.cond(
                State.has_dealer,
                rx.vstack(
                    desk_tabs(),
                    panel("Payment received", payment_form()),
                    spacing="3",
                    width="100%",
                ),
                rx.text("Choose the dealer whose order you are taking.", color_scheme="gray"),
            ),
        ),
        active="Order desk",
    )


def register(app: rx.App) -> None:
    """Add the operations order desk to `app`."""
    app.add_page(desk_page, route=ROUTE, title="Order desk · Distro", on_load=State.load_desk_page)

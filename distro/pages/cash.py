"""The cash page: riders' cash collected on delivery and the end-of-shift settlement."""

from __future__ import annotations

import reflex as rx

from distro.components.layout import app_shell, panel
from distro.components.tables import header_cell, number_cell, text_cell
from distro.state.cash import CashRow, CashState

ROUTE = "/cash"


def cash_row(row: CashRow) -> rx.Component:
    """Render one rider's cash on hand."""
    return rx.table.row(
        text_cell(row.rider_name),
        number_cell(row.collections),
        number_cell(row.amount),
        custom_attrs={"data-rider-id": row.rider_id},
    )


def settle_form() -> rx.Component:
    """Render the form that settles one rider's cash."""
    return rx.hstack(
        rx.select.root(
            rx.select.trigger(placeholder="Rider", min_width="200px"),
            rx.select.content(
                rx.foreach(
                    CashState.rows,
                    lambda row: rx.select.item(row.rider_name, value=row.rider_id.to_string()),
                )
            ),
            value=CashState.rider_id,
            on_change=CashState.set_rider_id,
        ),
        rx.input(
            placeholder="Counted, e.g. 120.50",
            value=CashState.counted_text,
            on_change=CashState.set_counted_text,
            width="160px",
            id="cash-counted",
        ),
        rx.input(
            placeholder="Note (needed when it differs)",
            value=CashState.note,
            on_change=CashState.set_note,
            width="280px",
            id="cash-note",
        ),
        rx.button("Settle", on_click=CashState.settle, id="cash-settle"),
        spacing="2",
        padding="10px 12px",
        wrap="wrap",
    )


def cash_page() -> rx.Component:
    """Render the cash page."""
    return app_shell(
        rx.vstack(
            rx.cond(
                CashState.notice != "",
                rx.callout(
                    CashState.notice,
                    color_scheme=rx.match(
                        CashState.notice_kind, ("error", "red"), ("success", "green"), "blue"
                    ),
                    size="1",
                ),
            ),
            panel(
                "Cash on hand (collected on delivery, not yet settled)",
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            header_cell("Rider"),
                            header_cell("Stops", numeric=True),
                            header_cell("Cash", numeric=True),
                        )
                    ),
                    rx.table.body(rx.foreach(CashState.rows, cash_row)),
                    size="1",
                    width="100%",
                ),
            ),
            panel("Settle a rider's cash", settle_form()),
            spacing="3",
            width="100%",
            max_width="760px",
        ),
        active="Cash",
    )


def register(app: rx.App) -> None:
    """Add the cash page to `app`."""
    app.add_page(cash_page, route=ROUTE, title="Cash · Distro", on_load=CashState.load_page)

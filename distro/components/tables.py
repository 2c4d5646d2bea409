"""Dense table cells for operational lists: small text, numbers aligned right."""

from __future__ import annotations

import reflex as rx

NUMERIC_STYLE = {
    "text_align": "right",
    "font_variant_numeric": "tabular-nums",
    "white_space": "nowrap",
}


def header_cell(text: str, numeric: bool = False) -> rx.Component:
    """Render a column header; numeric columns align right like their values."""
    style = {"text_align": "right"} if numeric else {}
    return rx.table.column_header_cell(text, style={**style, "white_space": "nowrap"})


def number_cell(*children: rx.Component | rx.Var | str) -> rx.Component:
    """Render a cell that contains a number, aligned right with figures of equal width."""
    return rx.table.cell(*children, style=NUMERIC_STYLE)


def text_cell(*children: rx.Component | rx.Var | str, **props) -> rx.Component:
    """Render a cell of text that truncates instead of wrapping."""
    return rx.table.cell(
        *children,
        style={"white_space": "nowrap", "overflow": "hidden", "text_overflow": "ellipsis"},
        **props,
    )


def load_cell(
    load: rx.Var[int], capacity: rx.Var[int], load_percent: rx.Var[int], unit: str
) -> rx.Component:
    """Render "load / capacity unit" over a bar that turns amber above 90 % and red above 100 %."""
    color = rx.cond(
        load_percent > 100,
        "var(--red-9)",
        rx.cond(load_percent > 90, "var(--amber-9)", "var(--green-9)"),
    )
    return rx.table.cell(
        rx.vstack(
            rx.text(
                load,
                " / ",
                capacity,
                " ",
                unit,
                size="1",
                style={"font_variant_numeric": "tabular-nums", "white_space": "nowrap"},
            ),
            rx.box(
                rx.box(
                    width=rx.cond(load_percent > 100, "100%", load_percent.to_string() + "%"),
                    height="100%",
                    background=color,
                    border_radius="2px",
                ),
                width="100%",
                height="4px",
                background="var(--gray-4)",
                border_radius="2px",
            ),
            spacing="1",
            align="end",
            width="100%",
        ),
        min_width="92px",
    )

"""Small form and list parts of the admin tabs: labelled inputs, pagers and active toggles."""

from __future__ import annotations

import reflex as rx
from reflex.event import EventType


def labeled_input(
    label: str, name: str, default: rx.Var | str = "", *, form_id: str, **props
) -> rx.Component:
    """Render an input with its label above it; `default` fills it when the form is drawn.

    The input's id is `<form_id>-<name>`, unique on the page as long as `form_id` is.
    """
    input_id = f"{form_id}-{name}"
    return rx.vstack(
        rx.el.label(
            label, html_for=input_id, style={"font_size": "12px", "color": "var(--gray-11)"}
        ),
        rx.input(name=name, id=input_id, default_value=default, size="1", **props),
        spacing="1",
    )


def form_row(*children: rx.Component) -> rx.Component:
    """Render form fields side by side, aligned on their bottom edge, wrapping when narrow."""
    return rx.hstack(*children, spacing="3", wrap="wrap", align="end", padding="8px 12px")


def active_badge(active: rx.Var[bool]) -> rx.Component:
    """Render "active" in green or "inactive" in gray."""
    return rx.cond(
        active,
        rx.badge("active", color_scheme="green", size="1"),
        rx.badge("inactive", color_scheme="gray", size="1"),
    )


def active_toggle(active: rx.Var[bool], deactivate: EventType, activate: EventType) -> rx.Component:
    """Render Deactivate for an active record and Activate for an inactive one."""
    return rx.cond(
        active,
        rx.button("Deactivate", size="1", color_scheme="red", variant="soft", on_click=deactivate),
        rx.button("Activate", size="1", variant="soft", on_click=activate),
    )


def row_actions(
    active: rx.Var[bool], edit: EventType, deactivate: EventType, activate: EventType
) -> rx.Component:
    """Render a table cell with an Edit button and the record's Activate or Deactivate button."""
    return rx.table.cell(
        rx.hstack(
            rx.button("Edit", size="1", variant="soft", on_click=edit),
            active_toggle(active, deactivate, activate),
            spacing="2",
        )
    )


def search_and_pager(
    on_search: EventType,
    label: rx.Var[str],
    previous: EventType,
    following: EventType,
    placeholder: str,
) -> rx.Component:
    """Render a search box and the Previous and Next buttons of a paged table."""
    return rx.hstack(
        rx.form(
            rx.hstack(
                rx.input(name="search", placeholder=placeholder, size="1", width="240px"),
                rx.button("Search", size="1", variant="soft", type="submit"),
                spacing="2",
            ),
            on_submit=on_search,
        ),
        rx.spacer(),
        rx.text(label, size="1", color="gray", white_space="nowrap"),
        rx.button(rx.icon("chevron-left", size=14), size="1", variant="soft", on_click=previous),
        rx.button(rx.icon("chevron-right", size=14), size="1", variant="soft", on_click=following),
        spacing="2",
        align="center",
        padding="8px 12px",
        width="100%",
    )

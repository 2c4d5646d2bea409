"""Status badges with one colour per status, shared by every face."""

from __future__ import annotations

import reflex as rx

STATUS_COLOR_SCHEMES = {
    "draft": "gray",
    "running": "blue",
    "published": "green",
    "superseded": "orange",
    "failed": "red",
    "pending": "gray",
    "planned": "blue",
    "assigned": "indigo",
    "out_for_delivery": "amber",
    "arrived": "cyan",
    "delivered": "green",
    "cancelled": "tomato",
}
"""Radix colour scheme of each plan, route and delivery status."""


def status_badge(status: rx.Var[str] | str, text: rx.Var[str] | str | None = None) -> rx.Component:
    """Render a status as a small coloured badge.

    Args:
        status: The status value, which picks the colour.
        text: The words shown; the status value when omitted.

    """
    color_scheme = rx.match(status, *STATUS_COLOR_SCHEMES.items(), "gray")
    return rx.badge(
        text if text is not None else status,
        color_scheme=color_scheme,
        variant="soft",
        radius="full",
        size="1",
    )

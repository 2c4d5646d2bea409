"""The dealer's order desk: catalog, quick order, cart, live order tracking and account.

The page scrolls as one column on a phone and splits into two columns from medium widths.
"""

from __future__ import annotations

import reflex as rx

from distro.pages.ordering_views import desk_tabs, notice
from distro.state.ordering import OrderingState

ROUTE = "/dealer"


def header() -> rx.Component:
    """Render the dealer's bar: product name, dealer and sign-out."""
    return rx.hstack(
        rx.icon("truck", size=18, color="white"),
        rx.text("Distro", size="3", weight="bold", color="white"),
        rx.text(
            OrderingState.dealer_label, size="2", color="white", trim="both", id="dealer-label"
        ),
        rx.spacer(),
        rx.button(
            "Sign out",
            size="1",
            variant="ghost",
            color_scheme="gray",
            style={"color": "white"},
            on_click=OrderingState.sign_out,
        ),
        align="center",
        spacing="2",
        padding="0 14px",
        height="44px",
        background="var(--slate-12)",
        width="100%",
    )


def dealer_page() -> rx.Component:
    """Render the dealer's order desk."""
    return rx.box(
        header(),
        rx.vstack(
            notice(),
            desk_tabs(),
            spacing="3",
            width="100%",
            max_width="1280px",
            margin="0 auto",
            padding="10px 12px 40px",
        ),
        min_height="100vh",
        background="var(--gray-2)",
    )


def register(app: rx.App) -> None:
    """Add the dealer's order desk to `app`."""
    app.add_page(
        dealer_page,
        route=ROUTE,
        title="Order desk · Distro",
        on_load=OrderingState.load_dealer_page,
    )

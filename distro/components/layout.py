"""The page frame every signed-in face shares: a top bar with navigation and the signed-in user."""

from __future__ import annotations

import reflex as rx

from distro.backbone.models import Role
from distro.state.auth import AuthState

NAV_ITEMS = [
    ("Dispatch", "/dispatch", "route", (Role.DISPATCHER, Role.ADMIN)),
    ("Order desk", "/orders/desk", "clipboard-list", (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)),
    ("Cash", "/cash", "banknote", (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)),
    ("KPIs", "/kpis", "chart-line", (Role.MANAGER, Role.ADMIN)),
    ("Admin", "/admin", "settings", (Role.ADMIN,)),
]
"""(label, route, lucide icon, roles that see it) of each page in the top bar.

Hiding a link is only a convenience: each page checks the role on the server.
"""


def _nav_link(label: str, href: str, icon: str, active: bool) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(icon, size=15),
            rx.text(label, size="2", weight="medium"),
            spacing="1",
            align="center",
        ),
        href=href,
        underline="none",
        padding="4px 10px",
        border_radius="6px",
        color="white",
        background="rgba(255,255,255,0.14)" if active else "transparent",
        _hover={"background": "rgba(255,255,255,0.22)"},
    )


def _visible_to(roles: tuple[Role, ...]) -> rx.Var:
    """Return a condition that is true when the signed-in user has one of `roles`."""
    condition = AuthState.signed_in_role == str(roles[0])
    for role in roles[1:]:
        condition = condition | (AuthState.signed_in_role == str(role))
    return condition


def user_menu() -> rx.Component:
    """Render the signed-in user's name and a Sign out button; nothing before sign-in."""
    return rx.cond(
        AuthState.signed_in_name != "",
        rx.hstack(
            rx.icon("circle-user", size=15, color="white"),
            rx.text(AuthState.signed_in_name, size="2", color="white", id="signed-in-user"),
            rx.button(
                "Sign out",
                size="1",
                variant="outline",
                color="white",
                box_shadow="inset 0 0 0 1px rgba(255,255,255,0.5)",
                _hover={"background": "rgba(255,255,255,0.14)"},
                on_click=AuthState.sign_out,
                id="sign-out",
            ),
            spacing="2",
            align="center",
            padding_left="8px",
        ),
    )


def top_bar(active: str, right: rx.Component | None = None) -> rx.Component:
    """Render the dark top bar; `active` is the label of the current page."""
    return rx.hstack(
        rx.hstack(
            rx.icon("truck", size=18, color="white"),
            rx.text("Distro", size="3", weight="bold", color="white"),
            spacing="2",
            align="center",
            padding_right="12px",
        ),
        *[
            rx.cond(_visible_to(roles), _nav_link(label, href, icon, label == active))
            for label, href, icon, roles in NAV_ITEMS
        ],
        rx.spacer(),
        right if right is not None else rx.fragment(),
        user_menu(),
        align="center",
        spacing="2",
        padding="0 16px",
        height="44px",
        background="var(--slate-12)",
        flex_shrink="0",
        width="100%",
    )


def app_shell(
    *children: rx.Component, active: str, right: rx.Component | None = None
) -> rx.Component:
    """Render a page that fills the window: the top bar, then `children` in a column below it.

    The page itself never scrolls; a child that may grow gets `flex="1"`, `min_height="0"`
    and its own scrolling, so toolbars and maps stay in view.
    """
    return rx.box(
        top_bar(active, right),
        rx.box(
            *children,
            display="flex",
            flex_direction="column",
            flex="1",
            min_height="0",
            padding="10px 14px",
        ),
        display="flex",
        flex_direction="column",
        height="100vh",
        background="var(--gray-2)",
    )


def panel(
    title: str | rx.Component, *children: rx.Component, actions: rx.Component | None = None, **props
) -> rx.Component:
    """Render a titled white panel for one block of the page."""
    heading = rx.text(title, size="2", weight="bold") if isinstance(title, str) else title
    return rx.box(
        rx.hstack(
            heading,
            rx.spacer(),
            actions if actions is not None else rx.fragment(),
            align="center",
            padding="8px 12px",
            border_bottom="1px solid var(--gray-4)",
        ),
        rx.box(*children),
        background="white",
        border="1px solid var(--gray-5)",
        border_radius="8px",
        overflow="hidden",
        width="100%",
        # Inside a scrolling column a panel keeps its height instead of being squeezed.
        flex_shrink="0",
        **props,
    )

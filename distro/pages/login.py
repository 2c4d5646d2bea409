"""The sign-in page; after signing in, each role lands on its own home page."""

from __future__ import annotations

import reflex as rx

from distro.state.auth import LOGIN_ROUTE, AuthState

ROUTE = LOGIN_ROUTE


def login_page() -> rx.Component:
    """Render the username and password form."""
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.icon("truck", size=22),
                        rx.heading("Sign in to Distro", size="5"),
                        align="center",
                        spacing="2",
                    ),
                    rx.text("Username", size="2", weight="medium"),
                    rx.input(
                        name="username",
                        id="login-username",
                        auto_complete="username",
                        required=True,
                        width="100%",
                    ),
                    rx.text("Password", size="2", weight="medium"),
                    rx.input(
                        name="password",
                        id="login-password",
                        type="password",
                        auto_complete="current-password",
                        required=True,
                        width="100%",
                    ),
                    rx.cond(
                        AuthState.sign_in_error != "",
                        rx.callout(
                            AuthState.sign_in_error,
                            icon="triangle_alert",
                            color_scheme="red",
                            size="1",
                            id="login-error",
                        ),
                    ),
                    rx.button("Sign in", type="submit", width="100%", id="login-submit"),
                    spacing="2",
                    width="100%",
                ),
                on_submit=AuthState.sign_in,
                reset_on_submit=False,
            ),
            width="340px",
        ),
        height="100vh",
        background="var(--gray-2)",
    )


def register(app: rx.App) -> None:
    """Add the sign-in page to `app`."""
    app.add_page(login_page, route=ROUTE, title="Sign in · Distro", on_load=AuthState.load_login)

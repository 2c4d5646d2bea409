"""The root URL, which sends the browser to the dispatch board."""

import reflex as rx


def index() -> rx.Component:
    """Render nothing; the page's load event redirects to /dispatch."""
    return rx.center(rx.spinner(), height="100vh")


def register(app: rx.App) -> None:
    """Add the root page to `app`."""
    app.add_page(index, route="/", title="Distro", on_load=rx.redirect("/dispatch", replace=True))

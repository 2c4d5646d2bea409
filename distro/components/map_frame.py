"""An iframe that shows a map page served by the embedded API."""

from __future__ import annotations

import reflex as rx
from reflex_base.constants import Dirs
from reflex_base.vars import VarData
from reflex_base.vars.base import Var

# The browser's URL of the backend, which serves /api/v1. In production the frontend and the
# backend share one origin; in development they listen on different ports. Reflex's own
# upload URLs are built the same way.
backend_origin: Var[str] = Var(
    _js_expr="getBackendURL(env.PING).origin",
    _var_data=VarData(
        imports={
            f"$/{Dirs.STATE_PATH}": "getBackendURL",
            "$/env.json": rx.ImportVar(tag="env", is_default=True),
        }
    ),
).to(str)


def map_frame(path: Var[str], title: str, **props) -> rx.Component:
    """Render the map page at `path` (for example "/api/v1/maps/dispatch?...") in an iframe.

    The map HTML never enters the state: the browser loads it from the API, and a change of
    `path` (a new version parameter) reloads it.
    """
    return rx.el.iframe(
        src=backend_origin + path,
        title=title,
        # The map needs scripts, but no access to the board's cookies or storage.
        sandbox="allow-scripts allow-popups",
        style={"width": "100%", "height": "100%", "border": "0", "display": "block"},
        **props,
    )

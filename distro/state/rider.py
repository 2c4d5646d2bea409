"""State of the rider page: only who is signed in; the stop list lives in the browser.

The list, the offline queue and the position reports are run by `assets/js/rider-app.js`
against the HTTP API, so the page keeps working when the Reflex websocket drops. The API
checks the rider's session on every call, and the backbone checks that each stop is on the
rider's own published route.
"""

from __future__ import annotations

import reflex as rx
from reflex.event import EventSpec

from distro.backbone.models import Rider, Role
from distro.backbone.tracking import local_today
from distro.db import session_scope
from distro.state.auth import AuthState


class RiderState(AuthState):
    """The signed-in rider's name and the day shown in the page header."""

    rider_name: str = ""
    day_label: str = ""

    @rx.event
    def load_page(self) -> EventSpec | None:
        """Send anyone but a signed-in rider away, and show the rider's name and today's date."""
        if (redirect := self.redirect_unless(Role.RIDER)) is not None:
            return redirect
        actor = self.require(Role.RIDER)
        with session_scope() as session:
            rider = session.get(Rider, actor.rider_id) if actor.rider_id else None
        self.rider_name = rider.name if rider else actor.username
        self.day_label = local_today().strftime("%a %d %b %Y")
        return None

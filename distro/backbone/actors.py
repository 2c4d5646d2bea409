"""The identity on whose behalf a backbone function runs."""

from __future__ import annotations

from dataclasses import dataclass

from distro.backbone.models import Role


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an action, as established by the server-side session.

    Never build an Actor from values the browser sent: pages and API routes take it from
    the signed-in session or the API token.
    """

    username: str
    role: Role
    dealer_id: int | None = None
    customer_id: int | None = None
    rider_id: int | None = None
    user_id: int | None = None
    api_token_id: int | None = None
    """Set when the actor is an API token rather than a signed-in user."""


SYSTEM = Actor(username="system", role=Role.SYSTEM)
"""The actor for imports, the demo generator and other unattended jobs."""

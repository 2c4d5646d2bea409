"""Authentication for the HTTP API: who is calling, as an `Actor`, resolved on every request.

A caller sends `Authorization: Bearer <token>` with either an API token (made by an admin,
prefixed `dst_`) or a user's session token (what the rider page holds, so its offline
queue can replay to the sync endpoint). GET and HEAD requests may instead carry the
session cookie of the web app, so that the map iframe and live GeoJSON work in the
browser. The cookie never authorizes a change, so a cross-site form cannot use it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from distro.backbone import accounts
from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import AuthenticationError
from distro.backbone.models import Role
from distro.db import get_engine, session_scope

logger = logging.getLogger(__name__)

SESSION_COOKIE = "distro_session"
"""The web app's session cookie (the same name as in `distro.state.auth`)."""

SAFE_METHODS = frozenset({"GET", "HEAD"})

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token (`dst_...`) made by an admin, or a user's session token.",
)


def get_session() -> Iterator[Session]:
    """Yield a database session that commits when the route returns and rolls back on error."""
    with session_scope(get_engine()) as session:
        yield session


def _presented_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> str | None:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials
    if request.method in SAFE_METHODS:
        return request.cookies.get(SESSION_COOKIE)
    return None


def get_actor(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> Actor:
    """Resolve the caller's token to an Actor.

    Raises:
        AuthenticationError: no token, or a token that is unknown, revoked or expired (401).

    """
    token = _presented_token(request, credentials)
    if not token:
        raise AuthenticationError(
            "Send 'Authorization: Bearer <token>' with an API or session token."
        )
    with session_scope(get_engine()) as session:
        if token.startswith(accounts.API_TOKEN_PREFIX):
            actor = accounts.resolve_api_token(session, token)
        else:
            actor = accounts.resolve_token(session, token)
    if actor is None:
        logger.warning(
            "API request %s %s with an invalid or expired token", request.method, request.url.path
        )
        raise AuthenticationError(
            "The token is invalid, revoked or expired; sign in again or ask an admin for a new one."
        )
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]
"""A route parameter that receives the authenticated caller."""

SessionDep = Annotated[Session, Depends(get_session)]
"""A route parameter that receives a database session committed when the route returns."""


def actor_with(*roles: Role) -> Callable[..., Actor]:
    """Return a dependency that resolves the caller and requires one of `roles`."""

    def dependency(request: Request, actor: ActorDep) -> Actor:
        return require_role(actor, *roles, target=f"{request.method} {request.url.path}")

    return dependency

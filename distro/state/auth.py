"""Sign-in state: the session cookie, and the checks every protected page and handler runs.

How to protect a page and a handler
-----------------------------------
Identity comes from the session token in the browser's `distro_session` cookie, which the
server resolves against the database on every call. Never take a role, user, dealer, rider
or customer id from a handler argument or a state var: the browser can call any public
handler by name with any arguments, and can set client-storage vars.

1. Make the face's state a substate of `AuthState`, so that `self.require` and the cookie
   are available (`AuthState` is small, so loading it with every event is cheap)::

       class DealerState(AuthState):
           rows: list[OrderRow] = []

2. Give the page an `on_load` handler that calls `self.redirect_unless(...)` first. It sends a
   visitor with no live session to `/login?next=<this page>`, and a signed-in user with
   another role to their own home. It only hides the page; step 3 is the real check::

           @rx.event
           def load_page(self):
               if (redirect := self.redirect_unless(Role.DEALER)) is not None:
                   return redirect
               actor = self.require(Role.DEALER)
               with session_scope() as session:
                   self.rows = read_orders(session, actor)

       app.add_page(dealer_page, route="/dealer", on_load=DealerState.load_page)

3. Start every handler that reads or writes protected data with `actor = self.require(role,
   ...)`, then pass `actor` to the backbone, which applies the tenant rules (see
   `distro.backbone.authz`: `require_dealer`, `require_order`, `scope_orders`, ...).
   `require` raises PermissionDeniedError (logged at WARNING with the actor and target);
   the app's `handle_backend_exception` turns it into a redirect to /login when the session
   has ended, or a "not allowed" toast otherwise. Handlers that touch no protected data
   (form field setters, toggles) need no check, but must then be listed as public in
   tests/auth/test_matrix.py, which fails for any handler that neither calls `require(`
   nor is listed.

   In a background handler (`@rx.event(background=True)`), call `self.require` inside
   `async with self:` before the work starts, and keep the returned actor.

4. A state that cannot subclass `AuthState` reaches it with
   `auth = await self.get_state(AuthState)` and calls `auth.require(...)` (async handlers
   only).

`current_actor` and `require` live on a plain mixin class so that Reflex does not turn them
into event handlers that the browser could call.

Why a cookie rather than LocalStorage: the dispatch map and the live GeoJSON are loaded by
an iframe and by `fetch` from the embedded API, and a `SameSite=Strict` cookie authenticates
those GET requests with no token in the URL. The API accepts the cookie for GET requests
only, so a cross-site form cannot make it change anything. The cookie is written by the
frontend's JavaScript, so it cannot be `HttpOnly`.
"""

import logging
from urllib.parse import quote

import reflex as rx
from reflex.app import default_backend_exception_handler
from reflex.event import EventSpec

from distro.backbone import accounts
from distro.backbone.actors import Actor
from distro.backbone.authz import deny
from distro.backbone.errors import (
    AuthenticationError,
    DistroError,
    PermissionDeniedError,
    RateLimitedError,
)
from distro.backbone.models import Role
from distro.db import session_scope
from distro.settings import get_settings

logger = logging.getLogger(__name__)

SESSION_COOKIE = "distro_session"
"""Name of the browser cookie that carries the session token."""

LOGIN_ROUTE = "/login"

HOME_BY_ROLE: dict[str, str] = {
    Role.DISPATCHER: "/dispatch",
    Role.MANAGER: "/kpis",
    Role.DEALER: "/dealer",
    Role.RIDER: "/rider",
    Role.CUSTOMER: "/shop",
    Role.ADMIN: "/admin",
}
"""The page each role lands on after signing in."""


def home_for(role: str) -> str:
    """Return the home page of `role` (the login page for a role with no home)."""
    return HOME_BY_ROLE.get(role, LOGIN_ROUTE)


def safe_return_path(path: str | None) -> str:
    """Return `path` if it is a path on this site, else an empty string.

    Only paths that start with one "/" are accepted, so that `?next=` cannot send the user
    to another site after signing in.
    """
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return ""
    if path.startswith(LOGIN_ROUTE):
        return ""
    return path


class _SessionAccess:
    """The session checks, kept off the Reflex state class so the browser cannot call them."""

    session_token: str
    signed_in_name: str
    signed_in_role: str

    def current_actor(self) -> Actor | None:
        """Return the Actor of the live session in the cookie, or None when there is none."""
        token = self.session_token
        if not token:
            return None
        with session_scope() as session:
            return accounts.resolve_token(session, token)

    def require(self, *roles: Role) -> Actor:
        """Return the signed-in Actor if its role is one of `roles`.

        Raises:
            AuthenticationError: no live session (never signed in, signed out, expired,
                disabled).
            PermissionDeniedError: signed in with a role outside `roles`.

        """
        actor = self.current_actor()
        target = f"{type(self).__name__} ({self._page_path()})"
        if actor is None:
            logger.warning("Access denied: anonymous -> %s: no live session", target)
            raise AuthenticationError("Your session has ended; sign in again.")
        if roles and actor.role not in roles:
            allowed = ", ".join(str(role) for role in roles)
            deny(actor, target, f"A {actor.role} may not use this page; it needs: {allowed}.")
        return actor

    def redirect_unless(self, *roles: Role) -> EventSpec | None:
        """Return a redirect for a visitor who may not see the page, or None for one who may.

        No live session goes to the login page with this page as `next`; a signed-in user
        with another role goes to their own home, and the attempt is logged at WARNING.
        """
        actor = self.current_actor()
        path = self._page_path()
        if actor is None:
            return rx.redirect(f"{LOGIN_ROUTE}?next={quote(path, safe='/')}", replace=True)
        if roles and actor.role not in roles:
            logger.warning(
                "Access denied: %s (%s) -> page %s: wrong role", actor.username, actor.role, path
            )
            return rx.redirect(home_for(actor.role), replace=True)
        # A new tab starts with an empty state, so the top bar learns the user here.
        self._remember(actor)
        return None

    def _remember(self, actor: Actor) -> None:
        self.signed_in_name = actor.username
        self.signed_in_role = str(actor.role)

    def _page_path(self) -> str:
        try:
            return self.router.url.path or "/"  # type: ignore[attr-defined]
        except AttributeError:
            return "/"


class AuthState(_SessionAccess, rx.State):
    """The session cookie and the sign-in form's feedback; parent of every face's state."""

    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        same_site="strict",
        max_age=get_settings().session_max_age_s,
        secure=get_settings().env == "prod",
    )
    signed_in_name: str = ""
    signed_in_role: str = ""
    sign_in_error: str = ""
    return_to: str = ""

    @rx.event
    def load_login(self) -> EventSpec | None:
        """Remember where to go after signing in; skip the form when already signed in."""
        self.sign_in_error = ""
        self.return_to = safe_return_path(self.router.url.query_parameters.get("next", ""))
        actor = self.current_actor()
        if actor is None:
            return None
        self._remember(actor)
        return rx.redirect(self._destination(actor), replace=True)

    @rx.event
    def sign_in(self, form_data: dict) -> EventSpec | None:
        """Check the submitted username and password and open a new session.

        The password is read from the submitted form and never kept in the state.
        """
        username = str(form_data.get("username", ""))
        password = str(form_data.get("password", ""))
        address = self.router.session.client_ip or "unknown"

        try:
            with session_scope() as session:
                user, token = accounts.sign_in(session, username, password, address)
                # A new token at every sign-in; the session this browser had before ends.
                accounts.sign_out(session, self.session_token)
                actor = accounts.actor_for(user)
        except RateLimitedError as error:
            self.sign_in_error = error.message
            return None
        except AuthenticationError as error:
            self.sign_in_error = error.message
            return None

        self.session_token = token
        self.sign_in_error = ""
        self._remember(actor)
        return rx.redirect(self._destination(actor), replace=True)

    @rx.event
    def sign_out(self) -> EventSpec:
        """End the session in the database and clear the cookie."""
        with session_scope() as session:
            accounts.sign_out(session, self.session_token)
        self.session_token = ""
        self.signed_in_name = ""
        self.signed_in_role = ""
        return rx.redirect(LOGIN_ROUTE, replace=True)

    def _destination(self, actor: Actor) -> str:
        home = home_for(actor.role)
        # Go back to the page that sent the user here only if it is under their home.
        if self.return_to and self.return_to.startswith(home):
            return self.return_to
        return home


def handle_backend_exception(exception: Exception) -> EventSpec | None:
    """Turn errors raised by event handlers into what the user should see.

    An ended session redirects to the login page; a denial or another DistroError shows its
    message (both were logged where they were raised); anything else goes to Reflex's
    default handler, which logs it at ERROR.
    """
    if isinstance(exception, AuthenticationError):
        return rx.redirect(LOGIN_ROUTE)
    if isinstance(exception, PermissionDeniedError):
        return rx.toast.error(exception.message, id="permission_denied")
    if isinstance(exception, DistroError):
        logger.info("Handler raised %s: %s", exception.code, exception.message)
        return rx.toast.error(exception.message, id="distro_error")
    return default_backend_exception_handler(exception)

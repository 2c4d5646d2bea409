"""State of the admin page's users, API tokens and dealers' terms tabs, for the admin role only.

Every handler calls `self.require(Role.ADMIN)` first and passes the actor to the backbone,
which checks the role again and records an event for each change.
"""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx

from distro.backbone import accounts, admin
from distro.backbone.errors import DistroError, NotFoundError, ValidationError
from distro.backbone.models import Role
from distro.db import session_scope
from distro.state.auth import AuthState
from distro.state.forms import form_cents, form_optional_id, form_text, format_cents

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class UserRow:
    """One user as the users table shows it."""

    user_id: int
    username: str
    full_name: str
    role: str
    tenant: str
    active: bool


@dataclasses.dataclass
class TokenRow:
    """One API token (never the token itself)."""

    token_id: int
    name: str
    role: str
    tenant: str
    created_by: str
    revoked: bool


@dataclasses.dataclass
class DealerRow:
    """One dealer's terms; money in currency units."""

    dealer_id: int
    code: str
    name: str
    town: str
    tier_id: int
    tier: str
    credit_limit: str
    territory: str
    active: bool


@dataclasses.dataclass
class DealerForm:
    """The dealer being edited, as text for the form's default values."""

    dealer_id: int = 0
    label: str = ""
    tier_id: str = ""
    credit_limit: str = ""
    territory: str = ""


@dataclasses.dataclass
class TierOption:
    """A price tier as a choice in a select; the id as text because select values are text."""

    value: str
    label: str


def _tenant(dealer_id: int | None, customer_id: int | None, rider_id: int | None) -> str:
    if dealer_id is not None:
        return f"dealer {dealer_id}"
    if customer_id is not None:
        return f"customer {customer_id}"
    if rider_id is not None:
        return f"rider {rider_id}"
    return ""


def _optional_id(form: dict, key: str) -> int | None:
    raw = str(form.get(key, "")).strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise DistroError(f"{key} {raw!r} is not a whole number; leave it empty or type an id.")
    return int(raw)


class AdminState(AuthState):
    """The admin page's tables, the one-time display of a new API token, and feedback."""

    users: list[UserRow] = []
    tokens: list[TokenRow] = []
    dealers: list[DealerRow] = []
    """One page of dealers."""
    dealer_search: str = ""
    dealer_offset: int = 0
    dealer_total: int = 0
    dealer_form: DealerForm = DealerForm()
    """The dealer being edited; `dealer_id` 0 when none is."""
    tier_options: list[TierOption] = []
    form_version: int = 0
    """Increased whenever a form gets new default values, so that the form is drawn afresh."""
    new_token: str = ""
    """A token just created, shown once; cleared on the next action."""
    notice: str = ""

    @rx.event
    def load_page(self) -> rx.event.EventSpec | None:
        """Read users, tokens and dealers for an admin; redirect anyone else."""
        if (redirect := self.redirect_unless(Role.ADMIN)) is not None:
            return redirect
        self.require(Role.ADMIN)
        self._reload()
        return None

    @rx.event
    def create_user(self, form: dict) -> None:
        """Create a user from the form; the password is used once and not kept in the state."""
        actor = self.require(Role.ADMIN)
        self.new_token = ""
        with session_scope() as session:
            user = accounts.create_user(
                session,
                str(form.get("username", "")),
                str(form.get("password", "")),
                str(form.get("role", "")),
                dealer_id=_optional_id(form, "dealer_id"),
                customer_id=_optional_id(form, "customer_id"),
                rider_id=_optional_id(form, "rider_id"),
                full_name=str(form.get("full_name", "")),
                actor=actor,
            )
            self.notice = f"Created user {user.username}."
        self._reload()

    @rx.event
    def disable_user(self, user_id: int) -> None:
        """Disable a user and end their sessions."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            user = accounts.disable_user(session, actor, int(user_id))
            self.notice = f"Disabled {user.username}; their sessions ended."
        self._reload()

    @rx.event
    def enable_user(self, user_id: int) -> None:
        """Enable a disabled user."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            user = accounts.enable_user(session, actor, int(user_id))
            self.notice = f"Enabled {user.username}."
        self._reload()

    @rx.event
    def reset_password(self, form: dict) -> None:
        """Set a new password for the user in the form and end their sessions."""
        actor = self.require(Role.ADMIN)
        user_id = _optional_id(form, "user_id")
        if user_id is None:
            raise DistroError("Give the id of the user whose password to reset.")
        with session_scope() as session:
            user = accounts.reset_password(session, actor, user_id, str(form.get("password", "")))
            self.notice = f"Password of {user.username} reset; their sessions ended."
        self._reload()

    @rx.event
    def create_token(self, form: dict) -> None:
        """Create an API token and show it once."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            record, token = accounts.create_api_token(
                session,
                actor,
                str(form.get("name", "")),
                str(form.get("role", "")),
                dealer_id=_optional_id(form, "dealer_id"),
                customer_id=_optional_id(form, "customer_id"),
                rider_id=_optional_id(form, "rider_id"),
            )
            self.notice = f"Created API token {record.name}. Copy it now; it is not shown again."
        self.new_token = token
        self._reload()

    @rx.event
    def revoke_token(self, token_id: int) -> None:
        """Revoke an API token."""
        actor = self.require(Role.ADMIN)
        self.new_token = ""
        with session_scope() as session:
            record = accounts.revoke_api_token(session, actor, int(token_id))
            self.notice = f"Revoked API token {record.name}."
        self._reload()

    @rx.event
    def search_dealers(self, form: dict) -> None:
        """Show the first page of dealers whose code, name, town or territory contains the text."""
        self.require(Role.ADMIN)
        self.dealer_search = form_text(form, "search")
        self.dealer_offset = 0
        self._load_dealers()

    @rx.event
    def turn_dealer_page(self, step: int) -> None:
        """Show the next (`step` 1) or previous (`step` -1) page of dealers."""
        self.require(Role.ADMIN)
        offset = self.dealer_offset + int(step) * admin.DEFAULT_PAGE_SIZE
        self.dealer_offset = max(0, min(offset, self.dealer_total - 1))
        self._load_dealers()

    @rx.event
    def edit_dealer(self, dealer_id: int) -> None:
        """Fill the terms form with one dealer's tier, credit limit and territory."""
        self.require(Role.ADMIN)
        row = next((r for r in self.dealers if r.dealer_id == int(dealer_id)), None)
        if row is None:
            raise NotFoundError(f"Dealer {dealer_id} is not on this page; search for it again.")
        self.dealer_form = DealerForm(
            dealer_id=row.dealer_id,
            label=f"{row.code} {row.name}",
            tier_id=str(row.tier_id),
            credit_limit=row.credit_limit,
            territory=row.territory,
        )
        self.form_version += 1

    @rx.event
    def cancel_dealer_edit(self) -> None:
        """Close the terms form without saving."""
        self.require(Role.ADMIN)
        self.dealer_form = DealerForm()

    @rx.event
    def update_dealer(self, form: dict) -> None:
        """Save the tier, credit limit (in currency units) and territory of the edited dealer."""
        actor = self.require(Role.ADMIN)
        dealer_id = self.dealer_form.dealer_id
        if not dealer_id:
            raise ValidationError("Pick a dealer with its Edit button first.")
        with session_scope() as session:
            dealer = admin.update_dealer_terms(
                session,
                actor,
                dealer_id,
                tier_id=form_optional_id(form, "tier_id", "Tier"),
                credit_limit_cents=form_cents(form, "credit_limit", "Credit limit"),
                territory=form_text(form, "territory"),
            )
            self.notice = f"Saved the terms of dealer {dealer.code}."
        self.dealer_form = DealerForm()
        self._load_dealers()

    @rx.event
    def set_dealer_active(self, dealer_id: int, active: bool) -> None:
        """Activate or deactivate a dealer."""
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            dealer = admin.set_dealer_active(session, actor, int(dealer_id), bool(active))
            state = "active" if dealer.active else "inactive"
            self.notice = f"Dealer {dealer.code} is now {state}."
        self._load_dealers()

    def _reload(self) -> None:
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            self.users = [
                UserRow(
                    u.id,
                    u.username,
                    u.full_name,
                    u.role,
                    _tenant(u.dealer_id, u.customer_id, u.rider_id),
                    u.active,
                )
                for u in accounts.list_users(session, actor)
            ]
            self.tokens = [
                TokenRow(
                    t.id,
                    t.name,
                    t.role,
                    _tenant(t.dealer_id, t.customer_id, t.rider_id),
                    t.created_by,
                    t.revoked_at is not None,
                )
                for t in accounts.list_api_tokens(session, actor)
            ]
        self._load_dealers()

    def _load_dealers(self) -> None:
        actor = self.require(Role.ADMIN)
        with session_scope() as session:
            tiers = admin.list_price_tiers(session, actor)
            page = admin.list_dealers(
                session, actor, search=self.dealer_search, offset=self.dealer_offset
            )
        tier_names = {t.id: t.name for t in tiers}
        self.tier_options = [TierOption(str(t.id), t.name) for t in tiers]
        self.dealer_total = page.total
        self.dealer_offset = page.offset
        self.dealers = [
            DealerRow(
                d.id,
                d.code,
                d.name,
                d.town,
                d.tier_id,
                tier_names.get(d.tier_id, str(d.tier_id)),
                format_cents(d.credit_limit_cents),
                d.territory,
                d.active,
            )
            for d in page.items
        ]

    @rx.var
    def dealer_page_label(self) -> str:
        """Return the range of dealers shown, such as "26-50 of 240"."""
        if not self.dealer_total:
            return "no dealers match"
        last = min(self.dealer_offset + admin.DEFAULT_PAGE_SIZE, self.dealer_total)
        return f"{self.dealer_offset + 1}-{last} of {self.dealer_total}"

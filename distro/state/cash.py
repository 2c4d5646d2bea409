"""State of the cash page: each rider's unsettled cash on delivery, and the settlement form."""

from __future__ import annotations

import dataclasses
import logging

import reflex as rx
from reflex.event import EventSpec

from distro.backbone import cash
from distro.backbone.errors import DistroError
from distro.backbone.models import Role
from distro.backbone.tracking import local_today
from distro.db import session_scope
from distro.state.auth import AuthState

logger = logging.getLogger(__name__)

CASH_ROLES = (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)


@dataclasses.dataclass
class CashRow:
    """One rider's cash on hand."""

    rider_id: int
    rider_name: str
    collections: int
    amount: str


def _parse_cents(text: str) -> int | None:
    cleaned = text.strip().replace(",", ".")
    try:
        value = round(float(cleaned) * 100)
    except ValueError:
        return None
    return value if value >= 0 else None


class CashState(AuthState):
    """Riders' cash on hand and the form that settles one rider's cash."""

    rows: list[CashRow] = []
    rider_id: str = ""
    counted_text: str = ""
    note: str = ""
    notice: str = ""
    notice_kind: str = "info"

    @rx.event
    def load_page(self) -> EventSpec | None:
        """Send anyone but operations staff away, then read the cash on hand."""
        if (redirect := self.redirect_unless(*CASH_ROLES)) is not None:
            return redirect
        actor = self.require(*CASH_ROLES)
        with session_scope() as session:
            on_hand = cash.cash_on_hand(session, actor)
        self.rows = [
            CashRow(row.rider_id, row.rider_name, row.collections, f"{row.cash_cents / 100:.2f}")
            for row in on_hand
        ]
        return None

    @rx.event
    def set_rider_id(self, value: str) -> None:
        """Set the rider chosen in the settlement form."""
        self.rider_id = value[:12]

    @rx.event
    def set_counted_text(self, value: str) -> None:
        """Set the counted amount typed into the settlement form."""
        self.counted_text = value[:16]

    @rx.event
    def set_note(self, value: str) -> None:
        """Set the note typed into the settlement form."""
        self.note = value[:500]

    @rx.event
    def settle(self) -> EventSpec | None:
        """Settle the chosen rider's cash with the counted amount; a difference needs a note."""
        actor = self.require(*CASH_ROLES)
        counted = _parse_cents(self.counted_text)
        if not self.rider_id.isdigit() or counted is None:
            self.notice, self.notice_kind = (
                "Choose a rider and type the counted amount, e.g. 120.50.",
                "error",
            )
            return None
        try:
            with session_scope() as session:
                settlement = cash.settle(
                    session, actor, int(self.rider_id), local_today(), counted, self.note
                )
        except DistroError as error:
            logger.info("Cash settlement of rider %s rejected: %s", self.rider_id, error.code)
            self.notice, self.notice_kind = error.message, "error"
            return None
        self.notice = (
            f"Settled: expected {settlement.expected_cents / 100:.2f}, counted "
            f"{settlement.counted_cents / 100:.2f}, difference "
            f"{settlement.difference_cents / 100:.2f}."
        )
        self.notice_kind = "success"
        self.counted_text = ""
        self.note = ""
        return CashState.load_page

"""Failure reasons that operations configure, and the next step each one sets for a stop.

A rider's failed attempt names a reason code from `FailureReason`. Its rule decides, in the
same transaction as the failure, whether the stop goes back to planning on the next day,
back to stock, or waits for dispatch; `backbone.delivery` carries the decision out and
writes its event. After a reason's `max_attempts` failed attempts the stop is returned and
the dealer notified, whatever the reason's own next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from distro.backbone.actors import Actor
from distro.backbone.authz import require_role
from distro.backbone.errors import NotFoundError, ValidationError
from distro.backbone.events import record_event
from distro.backbone.models import Delivery, FailureReason, NextStep, Role

DEFAULT_REASONS: tuple[tuple[str, str, NextStep, bool], ...] = (
    ("recipient_absent", "Recipient absent", NextStep.RESCHEDULE_NEXT_DAY, False),
    ("address_not_found", "Address not found", NextStep.HOLD_FOR_DISPATCH, False),
    ("refused", "Refused by the recipient", NextStep.RETURN_TO_STOCK, False),
    ("damaged", "Goods damaged", NextStep.RETURN_TO_STOCK, False),
    ("business_closed", "Business closed", NextStep.RESCHEDULE_NEXT_DAY, False),
    ("payment_not_ready", "Payment not ready", NextStep.RESCHEDULE_NEXT_DAY, False),
    ("other", "Other (write a note)", NextStep.HOLD_FOR_DISPATCH, True),
)
"""(code, label, next step, needs a note) of the reasons a new database starts with."""

DEFAULT_MAX_ATTEMPTS = 2

MAX_NOTE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rule of a failure reason does to the stop right after the failure."""

    next_step: NextStep
    new_day: date | None
    """The day a rescheduled stop moves to."""
    notify_dealer: bool
    attempts_exhausted: bool


def ensure_default_reasons(session: Session) -> None:
    """Add the default failure reasons that are missing; the caller commits."""
    present = set(session.exec(select(FailureReason.code)).all())
    for order, (code, label, next_step, needs_note) in enumerate(DEFAULT_REASONS):
        if code not in present:
            session.add(
                FailureReason(
                    code=code,
                    label=label,
                    next_step=next_step,
                    max_attempts=DEFAULT_MAX_ATTEMPTS,
                    needs_note=needs_note,
                    sort_order=order,
                )
            )
    session.flush()


def active_reasons(session: Session) -> list[FailureReason]:
    """Return the active failure reasons in display order, adding the defaults on first use."""
    if session.exec(select(FailureReason.id).limit(1)).first() is None:
        ensure_default_reasons(session)
    statement = (
        select(FailureReason)
        .where(col(FailureReason.active).is_(True))
        .order_by(col(FailureReason.sort_order), col(FailureReason.code))
    )
    return list(session.exec(statement))


def check_failure(session: Session, reason_code: object, note: object) -> FailureReason:
    """Return the active reason named by a failed attempt, checking its note.

    Raises:
        ValidationError: no reason code, an unknown or inactive one, or a missing note.

    """
    reasons = {reason.code: reason for reason in active_reasons(session)}
    if not isinstance(reason_code, str) or reason_code not in reasons:
        raise ValidationError(
            f"Failure reason {reason_code!r} is not one of {', '.join(sorted(reasons))}; "
            "pick a reason from the list.",
            reason_code=str(reason_code)[:40],
            allowed=sorted(reasons),
        )
    reason = reasons[reason_code]
    text = note.strip() if isinstance(note, str) else ""
    if reason.needs_note and not text:
        raise ValidationError(
            f"Failure reason {reason.label!r} needs a note; write what happened.",
            reason_code=reason_code,
        )
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError(
            f"The note has {len(text)} characters; write at most {MAX_NOTE_LENGTH}.",
            reason_code=reason_code,
        )
    return reason


def decide(delivery: Delivery, reason: FailureReason) -> Decision:
    """Return what the reason's rule does to a stop whose attempt `delivery.attempt` just failed."""
    if delivery.attempt >= reason.max_attempts:
        return Decision(NextStep.RETURN_TO_STOCK, None, notify_dealer=True, attempts_exhausted=True)
    step = NextStep(reason.next_step)
    if step == NextStep.RESCHEDULE_NEXT_DAY:
        return Decision(
            step, delivery.day + timedelta(days=1), notify_dealer=False, attempts_exhausted=False
        )
    return Decision(step, None, notify_dealer=False, attempts_exhausted=False)


def update_reason(
    session: Session,
    actor: Actor,
    code: str,
    *,
    label: str | None = None,
    next_step: str | None = None,
    max_attempts: int | None = None,
    needs_note: bool | None = None,
    active: bool | None = None,
) -> FailureReason:
    """Add or change a failure reason and its rule; the caller commits.

    Raises:
        PermissionDeniedError: the actor is not dispatch, a manager or an admin.
        ValidationError: a bad code, label, next step or attempt count.

    """
    require_role(actor, Role.DISPATCHER, Role.MANAGER, Role.ADMIN, target=f"failure reason {code}")
    if not code or len(code) > 40 or not all(ch.isalnum() or ch == "_" for ch in code):
        raise ValidationError(f"Reason code {code!r} is invalid; use 1-40 letters, digits or '_'.")
    if next_step is not None and next_step not in {step.value for step in NextStep}:
        raise ValidationError(
            f"Next step {next_step!r} is unknown; use one of "
            f"{', '.join(step.value for step in NextStep)}."
        )
    if max_attempts is not None and not 1 <= max_attempts <= 10:
        raise ValidationError(f"max_attempts {max_attempts} is out of range; use 1 to 10.")

    active_reasons(session)
    reason = session.exec(select(FailureReason).where(FailureReason.code == code)).first()
    if reason is None:
        if not label:
            raise NotFoundError(f"Failure reason {code} not found; give a label to create it.")
        reason = FailureReason(code=code, label=label, max_attempts=DEFAULT_MAX_ATTEMPTS)
    changes = {
        "label": label,
        "next_step": next_step,
        "max_attempts": max_attempts,
        "needs_note": needs_note,
        "active": active,
    }
    for name, value in changes.items():
        if value is not None:
            setattr(reason, name, value)
    session.add(reason)
    session.flush()
    record_event(
        session,
        actor,
        "failure_reason",
        reason.id,
        "failure_reason_changed",
        payload={"code": code, **{k: v for k, v in changes.items() if v is not None}},
    )
    return reason

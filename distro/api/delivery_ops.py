"""Operations routes for stops on the road: exceptions, code overrides, proof, cash, reasons."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from distro.api.auth import SessionDep, actor_with
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.backbone import board, cash, failure_rules, pod, tracking
from distro.backbone.actors import Actor
from distro.backbone.models import NextStep, Role

router = APIRouter(tags=["delivery operations"], responses=AUTH_RESPONSES)

OperationsDep = Annotated[Actor, Depends(actor_with(Role.DISPATCHER, Role.MANAGER, Role.ADMIN))]


class ReasonIn(BaseModel):
    """An override with the reason operations give for it."""

    reason: str = Field(min_length=1, max_length=500)


class PolicyIn(BaseModel):
    """The proof kinds a delivery requires."""

    required: list[str] = Field(max_length=3, examples=[["signature", "code"]])


class CashDueIn(BaseModel):
    """The amount a rider must collect at a stop."""

    amount_cents: int = Field(ge=0, le=cash.MAX_AMOUNT_CENTS)


class SettleIn(BaseModel):
    """The cash counted from one rider at the end of the shift."""

    day: date
    counted_cents: int = Field(ge=0, le=cash.MAX_AMOUNT_CENTS)
    note: str = Field(default="", max_length=500)


class FailureReasonIn(BaseModel):
    """Changes to a failure reason; absent fields stay as they are."""

    label: str | None = Field(default=None, max_length=120)
    next_step: NextStep | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=10)
    needs_note: bool | None = None
    active: bool | None = None


@router.get("/dispatch/exceptions")
def exceptions(
    _actor: OperationsDep,
    session: SessionDep,
    day: date = Query(),
    depot_id: int = Query(ge=1, le=2**31 - 1),
) -> list[dict[str, Any]]:
    """List what needs attention on one board: failures, late stops, idle or off-route riders."""
    return [dataclasses.asdict(item) for item in board.board_exceptions(session, day, depot_id)]


@router.get("/dispatch/positions")
def positions(
    _actor: OperationsDep,
    session: SessionDep,
    day: date = Query(),
    depot_id: int | None = Query(default=None, ge=1, le=2**31 - 1),
) -> list[dict[str, Any]]:
    """List the last position of each rider on a published route of the day."""
    return [dataclasses.asdict(item) for item in tracking.last_positions(session, day, depot_id)]


@router.post("/deliveries/{delivery_id}/code/override", responses=NOT_FOUND_RESPONSE)
def override_code(
    body: ReasonIn,
    actor: OperationsDep,
    session: SessionDep,
    delivery_id: int = Path(ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Waive a delivery's confirmation code (for example after it locked), with a reason."""
    row = pod.override_code(session, actor, delivery_id, body.reason)
    return {"delivery_id": delivery_id, "attempt": row.attempt, "waived_by": row.waived_by}


@router.put("/deliveries/{delivery_id}/proof-policy", responses=NOT_FOUND_RESPONSE)
def set_proof_policy(
    body: PolicyIn,
    actor: OperationsDep,
    session: SessionDep,
    delivery_id: int = Path(ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Set the proof a delivery requires, overriding the default."""
    pod.set_policy(session, actor, delivery_id, set(body.required))
    return {"delivery_id": delivery_id, "required": sorted(body.required)}


@router.put("/deliveries/{delivery_id}/cash-due", responses=NOT_FOUND_RESPONSE)
def set_cash_due(
    body: CashDueIn,
    actor: OperationsDep,
    session: SessionDep,
    delivery_id: int = Path(ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Set the amount the rider must collect on delivery."""
    row = cash.set_amount_due(session, actor, delivery_id, body.amount_cents)
    return {"delivery_id": delivery_id, "amount_due_cents": row.amount_due_cents}


@router.get("/cash/on-hand")
def cash_on_hand(actor: OperationsDep, session: SessionDep) -> list[dict[str, Any]]:
    """List each rider's unsettled cash."""
    return [dataclasses.asdict(row) for row in cash.cash_on_hand(session, actor)]


@router.post("/riders/{rider_id}/cash/settle")
def settle_cash(
    body: SettleIn,
    actor: OperationsDep,
    session: SessionDep,
    rider_id: int = Path(ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """Settle a rider's cash at the end of the shift, recording any difference."""
    row = cash.settle(session, actor, rider_id, body.day, body.counted_cents, body.note)
    return {
        "settlement_id": row.id,
        "expected_cents": row.expected_cents,
        "counted_cents": row.counted_cents,
        "difference_cents": row.difference_cents,
    }


@router.get("/failure-reasons")
def list_failure_reasons(_actor: OperationsDep, session: SessionDep) -> list[dict[str, Any]]:
    """List the active failure reasons with their next-step rules."""
    return [
        {
            "code": r.code,
            "label": r.label,
            "next_step": r.next_step,
            "max_attempts": r.max_attempts,
            "needs_note": r.needs_note,
        }
        for r in failure_rules.active_reasons(session)
    ]


@router.put("/failure-reasons/{code}", responses=NOT_FOUND_RESPONSE)
def update_failure_reason(
    body: FailureReasonIn,
    actor: OperationsDep,
    session: SessionDep,
    code: str = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$"),
) -> dict[str, Any]:
    """Add or change a failure reason and its next-step rule."""
    reason = failure_rules.update_reason(
        session,
        actor,
        code,
        label=body.label,
        next_step=body.next_step.value if body.next_step else None,
        max_attempts=body.max_attempts,
        needs_note=body.needs_note,
        active=body.active,
    )
    return {
        "code": reason.code,
        "label": reason.label,
        "next_step": reason.next_step,
        "max_attempts": reason.max_attempts,
        "needs_note": reason.needs_note,
        "active": reason.active,
    }

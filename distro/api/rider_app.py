"""Routes the rider page calls: the shift's stops, positions, and signature and photo uploads.

Status changes go through `POST /rider/sync` (`distro.api.rider`), online or replayed from
the page's offline queue alike.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from distro.api.auth import SessionDep, actor_with
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.backbone import pod, tracking
from distro.backbone.actors import Actor
from distro.backbone.errors import UploadRejectedError
from distro.backbone.models import Role
from distro.db import get_engine, session_scope
from distro.settings import get_settings

router = APIRouter(tags=["rider"], responses=AUTH_RESPONSES)

RiderDep = Annotated[Actor, Depends(actor_with(Role.RIDER))]
UploaderDep = Annotated[Actor, Depends(actor_with(Role.RIDER, Role.DISPATCHER, Role.ADMIN))]


class PositionIn(BaseModel):
    """One position fix from the rider's device."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    device_time: datetime | None = Field(default=None, description="The device's clock at the fix.")


class PositionOut(BaseModel):
    """Whether the fix was stored (False when it came sooner than the interval allows)."""

    stored: bool
    next_in_s: int


class ProofFileOut(BaseModel):
    """A stored signature or photo."""

    proof_id: int
    delivery_id: int
    kind: str
    sha256: str
    shared_sha256: str
    media_type: str
    size_bytes: int


@router.get("/rider/shift")
def my_shift(
    actor: RiderDep,
    session: SessionDep,
    day: date | None = Query(default=None, description="Default: today in the network's zone."),
) -> dict[str, Any]:
    """Return the signed-in rider's published stops of a day in driving order.

    ETAs and time windows come as HH:MM in the network's time zone (`eta_local`,
    `window_start_local`, `window_end_local`), so the phone's own zone never shifts them.
    Stops that the rider failed on the day's routes stay listed with status "failed" and an
    `outcome` line. Delivered stops list their stored proof in `proof_recorded`.
    """
    shift = tracking.rider_shift(session, actor, day or tracking.local_today())
    return dataclasses.asdict(shift)


@router.post("/rider/positions", response_model=PositionOut)
def post_position(body: PositionIn, actor: RiderDep, session: SessionDep) -> PositionOut:
    """Record the rider's current position for the dispatch board."""
    stored = tracking.record_position(
        session, actor, body.lat, body.lon, body.accuracy_m, body.device_time
    )
    return PositionOut(stored=stored is not None, next_in_s=get_settings().position_interval_s)


async def _read_limited(request: Request, limit: int, what: str) -> bytes:
    """Read the raw body, stopping as soon as it passes `limit` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise UploadRejectedError(
                f"The {what} file is larger than {limit} bytes. Send a smaller {what}.",
                limit_bytes=limit,
            )
    return bytes(body)


async def _store(
    actor: Actor, delivery_id: int, content: bytes, kind: str, filename: str | None
) -> ProofFileOut:
    def work() -> ProofFileOut:
        with session_scope(get_engine()) as session:
            row = pod.store_proof_file(session, actor, delivery_id, content, kind, filename)
            return ProofFileOut(
                proof_id=row.id,
                delivery_id=row.delivery_id,
                kind=row.kind,
                sha256=row.sha256,
                shared_sha256=row.shared_sha256,
                media_type=row.media_type,
                size_bytes=row.size_bytes,
            )

    # Decoding, hashing and writing block, so they leave the event loop.
    return await run_in_threadpool(work)


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "image/webp")
        },
    }
}


@router.put(
    "/deliveries/{delivery_id}/signature",
    response_model=ProofFileOut,
    responses=NOT_FOUND_RESPONSE,
    openapi_extra=UPLOAD_BODY,
)
async def upload_signature(
    request: Request,
    actor: UploaderDep,
    delivery_id: int = Path(ge=1, le=2**31 - 1),
    x_filename: str | None = Header(default=None, max_length=200),
) -> ProofFileOut:
    """Store the recipient's signature (a PNG drawn on the screen) as the raw request body."""
    content = await _read_limited(request, pod.SIGNATURE_MAX_BYTES, "signature")
    return await _store(actor, delivery_id, content, "signature", x_filename)


@router.put(
    "/deliveries/{delivery_id}/photo",
    response_model=ProofFileOut,
    responses=NOT_FOUND_RESPONSE,
    openapi_extra=UPLOAD_BODY,
)
async def upload_photo(
    request: Request,
    actor: UploaderDep,
    delivery_id: int = Path(ge=1, le=2**31 - 1),
    x_filename: str | None = Header(default=None, max_length=200),
) -> ProofFileOut:
    """Store a proof photo (JPEG, PNG or WebP) as the raw request body."""
    content = await _read_limited(request, get_settings().proof_max_bytes, "photo")
    return await _store(actor, delivery_id, content, "photo", x_filename)

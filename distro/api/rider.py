"""Rider routes: replay queued status updates, and upload proof of delivery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from distro.api.auth import SessionDep, actor_with
from distro.api.errors import AUTH_RESPONSES, NOT_FOUND_RESPONSE
from distro.api.schemas import ProofOut, SyncIn, SyncOut, SyncResultOut
from distro.backbone import proof, sync
from distro.backbone.actors import Actor
from distro.backbone.errors import ValidationError
from distro.backbone.models import Role
from distro.db import get_engine, session_scope
from distro.settings import get_settings

router = APIRouter(tags=["rider"], responses=AUTH_RESPONSES)

PROOF_MEDIA_TYPES = ("image/jpeg", "image/png", "image/webp")


@router.post("/rider/sync", response_model=SyncOut)
def rider_sync(
    body: SyncIn,
    actor: Annotated[Actor, Depends(actor_with(Role.RIDER))],
    session: SessionDep,
) -> SyncOut:
    """Apply queued status updates in order, each client_event_id at most once.

    Returns the outcome of each update in the order they were sent.
    """
    updates = [
        sync.ClientUpdate(e.client_event_id, e.delivery_id, e.status, e.payload)
        for e in body.events
    ]
    outcomes = sync.apply_client_updates(session, actor, updates)
    return SyncOut(results=[SyncResultOut(**_asdict(o)) for o in outcomes])


def _asdict(outcome: sync.SyncOutcome) -> dict:
    return {name: getattr(outcome, name) for name in outcome.__slots__}


@router.put(
    "/deliveries/{delivery_id}/proof",
    response_model=ProofOut,
    responses=NOT_FOUND_RESPONSE,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in PROOF_MEDIA_TYPES
            },
        }
    },
)
async def upload_proof(
    request: Request,
    actor: Annotated[Actor, Depends(actor_with(Role.RIDER, Role.DISPATCHER, Role.ADMIN))],
    delivery_id: int = Path(ge=1, le=2**31 - 1),
) -> ProofOut:
    """Store a proof-of-delivery photo (JPEG, PNG or WebP) sent as the raw request body."""
    limit = get_settings().proof_max_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ValidationError(
                f"The proof file is larger than {limit} bytes. Send a smaller photo.",
                limit_bytes=limit,
            )
    return await _store(actor, delivery_id, bytes(body))


async def _store(actor: Actor, delivery_id: int, content: bytes) -> ProofOut:
    def work() -> ProofOut:
        with session_scope(get_engine()) as session:
            stored = proof.store_proof(session, actor, delivery_id, content)
        return ProofOut(
            delivery_id=delivery_id,
            sha256=stored.sha256,
            media_type=stored.media_type,
            size_bytes=stored.size_bytes,
        )

    # Hashing and writing the file and the database calls block, so they leave the event loop.
    return await run_in_threadpool(work)

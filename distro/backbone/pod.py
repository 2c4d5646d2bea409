"""Proof of delivery: what each stop requires, the stored signatures and photos, and the codes.

A stop requires the proof kinds in its `ProofPolicy` row, or the settings' default
(`DISTRO_PROOF_REQUIRED`). `backbone.delivery` calls `require_proof` before it lets a stop
become delivered, so the rule holds for the rider page, the sync endpoint and any other
caller alike.

Confirmation codes: one per attempt, six digits, derived as an HMAC of the server secret
and a random nonce. The table stores the nonce and a keyed hash. The recipient's tracking
recomputes the code with the secret, and the rider's entry is compared with the hash. After
`DISTRO_CODE_MAX_TRIES` wrong entries the code locks until dispatch overrides it with a
reason. Codes never enter logs, events or error messages.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from distro.backbone.actors import Actor
from distro.backbone.authz import OPERATIONS_ROLES, deny, require_delivery, require_role
from distro.backbone.errors import (
    ConfirmationCodeError,
    NotFoundError,
    ProofRequiredError,
    ValidationError,
)
from distro.backbone.events import record_event
from distro.backbone.models import (
    ConfirmationCode,
    Delivery,
    DeliveryStatus,
    ProofFile,
    ProofPolicy,
    Role,
    Route,
    RouteStatus,
)
from distro.backbone.pod_images import check_filename, check_image
from distro.settings import get_settings

logger = logging.getLogger(__name__)

PROOF_KINDS = ("signature", "photo", "code")
"""Every kind of proof a policy can require."""

FILE_KINDS = ("signature", "photo")

SIGNATURE_MAX_BYTES = 512 * 1024
"""Largest accepted signature PNG; a canvas drawing is a few tens of kilobytes."""

SIGNATURE_MAX_PIXELS = 4_000_000

CODE_DIGITS = 6

CODE_VISIBLE_STATES = frozenset(
    {DeliveryStatus.ASSIGNED, DeliveryStatus.OUT_FOR_DELIVERY, DeliveryStatus.ARRIVED}
)
"""States in which the recipient's tracking shows the code."""


def required_proof(session: Session, delivery: Delivery) -> frozenset[str]:
    """Return the proof kinds the delivery needs: its own policy, else the settings' default."""
    policy = session.exec(select(ProofPolicy).where(ProofPolicy.delivery_id == delivery.id)).first()
    if policy is not None:
        chosen = {
            "signature": policy.require_signature,
            "photo": policy.require_photo,
            "code": policy.require_code,
        }
        return frozenset(kind for kind, required in chosen.items() if required)
    return frozenset(kind for kind in get_settings().proof_required if kind in PROOF_KINDS)


def set_policy(
    session: Session, actor: Actor, delivery_id: int, required: set[str] | frozenset[str]
) -> ProofPolicy:
    """Set the proof kinds one delivery requires, overriding the default; the caller commits.

    Raises:
        PermissionDeniedError: the actor is not operations staff.
        ValidationError: an unknown kind.
        NotFoundError: no such delivery.

    """
    require_role(actor, *OPERATIONS_ROLES, target=f"proof policy of delivery {delivery_id}")
    unknown = set(required) - set(PROOF_KINDS)
    if unknown:
        raise ValidationError(
            f"Unknown proof kinds {sorted(unknown)}; use {', '.join(PROOF_KINDS)}.",
            unknown=sorted(unknown),
        )
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"Delivery {delivery_id} not found", delivery_id=delivery_id)

    policy = session.exec(select(ProofPolicy).where(ProofPolicy.delivery_id == delivery_id)).first()
    if policy is None:
        policy = ProofPolicy(delivery_id=delivery_id)
    policy.require_signature = "signature" in required
    policy.require_photo = "photo" in required
    policy.require_code = "code" in required
    policy.set_by = actor.username
    policy.set_at = datetime.now(UTC)
    session.add(policy)
    record_event(
        session,
        actor,
        "delivery",
        delivery_id,
        "delivery_proof_policy_set",
        order_id=delivery.order_id,
        payload={"required": sorted(required)},
    )
    return policy


def missing_proof(session: Session, delivery: Delivery) -> list[str]:
    """Return the required proof kinds not yet given for the delivery's current attempt."""
    missing = []
    required = required_proof(session, delivery)
    for kind in FILE_KINDS:
        if kind in required and _proof_file(session, delivery, kind) is None:
            missing.append(kind)
    if "code" in required:
        code = _code_row(session, delivery)
        if code is None or (code.verified_at is None and code.waived_by is None):
            missing.append("code")
    return missing


def require_proof(session: Session, delivery: Delivery) -> None:
    """Raise ProofRequiredError unless every proof the delivery's policy requires is given.

    Raises:
        ProofRequiredError: with `details["missing"]`, the kinds still needed.

    """
    missing = missing_proof(session, delivery)
    if missing:
        raise ProofRequiredError(
            f"Delivery {delivery.id} needs {', '.join(missing)} before it can be marked "
            "delivered; add the missing proof and try again.",
            delivery_id=delivery.id,
            missing=missing,
        )


def _proof_file(session: Session, delivery: Delivery, kind: str) -> ProofFile | None:
    return session.exec(
        select(ProofFile)
        .where(
            ProofFile.delivery_id == delivery.id,
            ProofFile.attempt == delivery.attempt,
            ProofFile.kind == kind,
        )
        .order_by(col(ProofFile.id).desc())
        .limit(1)
    ).first()


def proof_files(session: Session, delivery_id: int) -> list[ProofFile]:
    """Return every proof file of a delivery, oldest first."""
    return list(
        session.exec(
            select(ProofFile)
            .where(ProofFile.delivery_id == delivery_id)
            .order_by(col(ProofFile.id))
        )
    )


def _check_can_upload(session: Session, actor: Actor, delivery_id: int) -> Delivery:
    """Allow the rider of the stop's published route, and dispatch or admins, to add proof."""
    require_role(
        actor, Role.RIDER, Role.DISPATCHER, Role.ADMIN, target=f"proof for delivery {delivery_id}"
    )
    delivery = require_delivery(session, actor, delivery_id)
    if delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.CANCELLED):
        raise ValidationError(
            f"Delivery {delivery_id} is {delivery.status}; its proof can no longer change. "
            "Ask dispatch to record a correction instead.",
            delivery_id=delivery_id,
            status=delivery.status,
        )
    return delivery


def store_proof_file(
    session: Session,
    actor: Actor,
    delivery_id: int,
    content: bytes,
    kind: str,
    filename: str | None = None,
) -> ProofFile:
    """Check, re-encode and store a signature or photo for a delivery's current attempt.

    The original and the re-encoded copy without metadata go to the private folder, named
    by content hash, so a retried upload of the same file stores one row. Writes a
    `delivery_proof_stored` event; the caller commits.

    Args:
        session: Open session.
        actor: The rider of the stop, or dispatch or an admin.
        delivery_id: The stop.
        content: The uploaded bytes.
        kind: "signature" (PNG only) or "photo" (JPEG, PNG or WebP).
        filename: The name the client sent, checked but never used on disk.

    Raises:
        UploadRejectedError: bad name, empty, too large, wrong type or not decodable.
        PermissionDeniedError, NotFoundError, ValidationError.

    """
    if kind not in FILE_KINDS:
        raise ValidationError(f"Proof kind {kind!r} is not a file; use signature or photo.")
    check_filename(filename)
    delivery = _check_can_upload(session, actor, delivery_id)

    settings = get_settings()
    if kind == "signature":
        checked = check_image(
            content,
            max_bytes=SIGNATURE_MAX_BYTES,
            max_pixels=SIGNATURE_MAX_PIXELS,
            formats=("PNG",),
            what="signature",
        )
    else:
        checked = check_image(
            content,
            max_bytes=settings.proof_max_bytes,
            max_pixels=settings.proof_max_pixels,
        )

    digest = hashlib.sha256(content).hexdigest()
    existing = session.exec(
        select(ProofFile).where(
            ProofFile.delivery_id == delivery.id,
            ProofFile.attempt == delivery.attempt,
            ProofFile.kind == kind,
            ProofFile.sha256 == digest,
        )
    ).first()
    if existing is not None:
        return existing

    folder = Path("pod") / str(delivery.id)
    original_path = folder / f"{digest}.{checked.extension}"
    shared_digest = hashlib.sha256(checked.shared).hexdigest()
    shared_path = folder / f"{digest}.shared.{checked.extension}"
    _write_once(settings.private_dir / original_path, content)
    _write_once(settings.private_dir / shared_path, checked.shared)

    row = ProofFile(
        delivery_id=delivery.id,
        attempt=delivery.attempt,
        kind=kind,
        media_type=checked.media_type,
        sha256=digest,
        shared_sha256=shared_digest,
        size_bytes=len(content),
        width=checked.width,
        height=checked.height,
        original_path=original_path.as_posix(),
        shared_path=shared_path.as_posix(),
        uploaded_by=actor.username,
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor,
        "delivery",
        delivery.id,
        "delivery_proof_stored",
        order_id=delivery.order_id,
        payload={
            "proof_id": row.id,
            "kind": kind,
            "sha256": digest,
            "shared_sha256": shared_digest,
            "media_type": checked.media_type,
            "size_bytes": len(content),
            "attempt": delivery.attempt,
        },
    )
    logger.info(
        "Stored %s %s for delivery %d (%d bytes)", kind, digest[:12], delivery.id, len(content)
    )
    return row


def _write_once(target: Path, content: bytes) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write to a temporary name and rename, so a reader never sees half a file.
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    partial.write_bytes(content)
    partial.replace(target)


def read_proof_file(session: Session, actor: Actor, proof_id: int) -> tuple[ProofFile, bytes]:
    """Return a proof file's row and bytes: the original for operations, else the clean copy.

    Raises:
        NotFoundError: no such proof, or its file is gone.
        PermissionDeniedError: the actor may not see the delivery.

    """
    row = session.get(ProofFile, proof_id)
    if row is None:
        raise NotFoundError(f"Proof {proof_id} not found", proof_id=proof_id)
    require_delivery(session, actor, row.delivery_id)
    relative = row.original_path if actor.role in OPERATIONS_ROLES else row.shared_path
    path = get_settings().private_dir / relative
    if not path.is_file():
        logger.warning(
            "Proof %d of delivery %d is missing on disk at %s", row.id, row.delivery_id, path
        )
        raise NotFoundError(f"The file of proof {proof_id} is missing; ask an admin to restore it.")
    return row, path.read_bytes()


def _code_key() -> bytes:
    return get_settings().code_secret.encode()


def derive_code(delivery_id: int, attempt: int, nonce: str) -> str:
    """Return the six-digit code of one attempt, from the server secret and the nonce."""
    digest = hmac.new(_code_key(), f"code:{delivery_id}:{attempt}:{nonce}".encode(), hashlib.sha256)
    return f"{int.from_bytes(digest.digest()[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def _code_hash(delivery_id: int, attempt: int, code: str) -> str:
    message = f"verify:{delivery_id}:{attempt}:{code}".encode()
    return hmac.new(_code_key(), message, hashlib.sha256).hexdigest()


def _code_row(
    session: Session, delivery: Delivery, *, lock: bool = False
) -> ConfirmationCode | None:
    statement = select(ConfirmationCode).where(
        ConfirmationCode.delivery_id == delivery.id, ConfirmationCode.attempt == delivery.attempt
    )
    if lock:
        statement = statement.with_for_update()
    return session.exec(statement).first()


def issue_code(session: Session, delivery: Delivery) -> ConfirmationCode:
    """Create the confirmation code of the delivery's current attempt, or return the one it has."""
    existing = _code_row(session, delivery)
    if existing is not None:
        return existing
    nonce = secrets.token_hex(16)
    row = ConfirmationCode(
        delivery_id=delivery.id,
        attempt=delivery.attempt,
        nonce=nonce,
        code_hash=_code_hash(
            delivery.id, delivery.attempt, derive_code(delivery.id, delivery.attempt, nonce)
        ),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # Another request issued it at the same moment; use theirs.
        existing = _code_row(session, delivery)
        if existing is None:
            raise
        return existing
    return row


def recipient_code(session: Session, actor: Actor, delivery_id: int) -> str | None:
    """Return the code the recipient reads to the rider, or None when there is none to show.

    Only the dealer staff or the customer who will receive the order get the code; the
    rider and operations do not, so the code proves the recipient was there.

    Raises:
        NotFoundError: no such delivery.
        PermissionDeniedError: the actor is not the recipient.

    """
    delivery = require_delivery(session, actor, delivery_id)
    if actor.role not in (Role.DEALER, Role.CUSTOMER):
        deny(
            actor,
            f"code of delivery {delivery_id}",
            "Only the recipient sees the confirmation code.",
        )
    if delivery.status not in CODE_VISIBLE_STATES or "code" not in required_proof(
        session, delivery
    ):
        return None
    row = issue_code(session, delivery)
    return derive_code(delivery.id, row.attempt, row.nonce)


def verify_code(session: Session, actor: Actor, delivery_id: int, code: str) -> None:
    """Check a code the rider typed; a wrong one counts a try and may lock the code.

    The try count is written in the caller's transaction, which must commit even when this
    raises, so call it outside any savepoint that the error would roll back.

    Raises:
        PermissionDeniedError: the actor is not the stop's rider.
        ConfirmationCodeError: the code is wrong, or locked after too many wrong tries.

    """
    delivery = require_delivery(session, actor, delivery_id)
    require_role(actor, Role.RIDER, target=f"code of delivery {delivery_id}")
    route = session.get(Route, delivery.route_id) if delivery.route_id else None
    if route is None or route.status != RouteStatus.PUBLISHED or route.rider_id != actor.rider_id:
        deny(
            actor,
            f"code of delivery {delivery_id}",
            f"Delivery {delivery_id} is not on your route.",
        )

    row = _code_row(session, delivery, lock=True)
    if row is None:
        issue_code(session, delivery)
        row = _code_row(session, delivery, lock=True)
    if row.verified_at is not None or row.waived_by is not None:
        return
    max_tries = get_settings().code_max_tries
    if row.locked_at is not None:
        raise ConfirmationCodeError(
            f"The confirmation code of delivery {delivery_id} is locked after {max_tries} wrong "
            "tries; call dispatch to override it.",
            delivery_id=delivery_id,
            locked=True,
            tries_left=0,
        )

    typed = "".join(ch for ch in str(code) if ch.isdigit())
    expected = row.code_hash
    if hmac.compare_digest(_code_hash(delivery.id, delivery.attempt, typed), expected):
        row.verified_at = datetime.now(UTC)
        session.add(row)
        record_event(
            session,
            actor,
            "delivery",
            delivery.id,
            "delivery_code_verified",
            order_id=delivery.order_id,
            payload={"attempt": delivery.attempt},
        )
        return

    row.failed_tries += 1
    locked = row.failed_tries >= max_tries
    if locked:
        row.locked_at = datetime.now(UTC)
    session.add(row)
    record_event(
        session,
        actor,
        "delivery",
        delivery.id,
        "delivery_code_locked" if locked else "delivery_code_rejected",
        order_id=delivery.order_id,
        payload={"attempt": delivery.attempt, "failed_tries": row.failed_tries},
    )
    logger.info(
        "Wrong confirmation code for delivery %d (%d of %d tries)",
        delivery.id,
        row.failed_tries,
        max_tries,
    )
    if locked:
        raise ConfirmationCodeError(
            f"Wrong confirmation code; delivery {delivery_id} is now locked after {max_tries} "
            "wrong tries. Call dispatch to override it.",
            delivery_id=delivery_id,
            locked=True,
            tries_left=0,
        )
    raise ConfirmationCodeError(
        f"Wrong confirmation code for delivery {delivery_id}; {max_tries - row.failed_tries} "
        "tries left. Ask the recipient to read it again from their tracking page.",
        delivery_id=delivery_id,
        locked=False,
        tries_left=max_tries - row.failed_tries,
    )


def override_code(
    session: Session, actor: Actor, delivery_id: int, reason: str
) -> ConfirmationCode:
    """Waive the confirmation code of the delivery's current attempt, with a reason.

    Raises:
        PermissionDeniedError: the actor is not dispatch, a manager or an admin.
        ValidationError: the reason is empty.
        NotFoundError: no such delivery.

    """
    require_role(
        actor,
        Role.DISPATCHER,
        Role.MANAGER,
        Role.ADMIN,
        target=f"code override of delivery {delivery_id}",
    )
    if not reason.strip():
        raise ValidationError("An override needs a reason; say how the recipient was confirmed.")
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFoundError(f"Delivery {delivery_id} not found", delivery_id=delivery_id)
    issue_code(session, delivery)
    row = _code_row(session, delivery, lock=True)
    row.waived_by = actor.username
    session.add(row)
    record_event(
        session,
        actor,
        "delivery",
        delivery.id,
        "delivery_code_overridden",
        order_id=delivery.order_id,
        payload={
            "attempt": delivery.attempt,
            "reason": reason.strip()[:500],
            "failed_tries": row.failed_tries,
            "was_locked": row.locked_at is not None,
        },
    )
    return row


def code_status(session: Session, delivery: Delivery) -> dict[str, Any]:
    """Return whether the current attempt's code is verified, waived or locked, and its tries."""
    row = _code_row(session, delivery)
    if row is None:
        return {
            "issued": False,
            "verified": False,
            "waived": False,
            "locked": False,
            "failed_tries": 0,
        }
    return {
        "issued": True,
        "verified": row.verified_at is not None,
        "waived": row.waived_by is not None,
        "locked": row.locked_at is not None,
        "failed_tries": row.failed_tries,
    }

"""Proof-of-delivery files: checked, hashed and stored in a private folder that no route serves.

Files go to `<DISTRO_PRIVATE_DIR>/pod/<delivery id>/<sha256>.<ext>`, outside `assets/`, the
compiled frontend and Reflex's public upload folder. They are named by content hash, so a
retried upload of the same photo stores one file.

`store_proof` hands the upload to `backbone.pod`, which decodes it, limits its pixels and
keeps a re-encoded copy without metadata next to the original.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from distro.backbone import pod
from distro.backbone.actors import Actor
from distro.settings import get_settings

logger = logging.getLogger(__name__)

SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"WEBP", 8, "image/webp", "webp"),
)
"""(magic bytes, offset, media type, extension) of each accepted file type."""


@dataclass(frozen=True, slots=True)
class StoredProof:
    """A stored proof file: its content hash, media type, size and path under the private folder."""

    sha256: str
    media_type: str
    size_bytes: int
    relative_path: str


def detect_media_type(content: bytes) -> tuple[str, str] | None:
    """Return (media type, extension) from the file's leading bytes, or None if not accepted."""
    for magic, offset, media_type, extension in SIGNATURES:
        if content[offset : offset + len(magic)] == magic:
            if media_type == "image/webp" and not content.startswith(b"RIFF"):
                continue
            return media_type, extension
    return None


def proof_root() -> Path:
    """Return the folder that holds proof files."""
    return get_settings().private_dir / "pod"


def store_proof(session: Session, actor: Actor, delivery_id: int, content: bytes) -> StoredProof:
    """Check and store a proof-of-delivery photo for a delivery the actor may work on.

    Writes the file, then records a `delivery_proof_stored` event (no status change); the
    caller commits.

    Raises:
        PermissionDeniedError: the actor is not a rider on the delivery's route (or operations).
        NotFoundError: no such delivery.
        ValidationError: empty, too large, or not a JPEG, PNG or WebP image.

    """
    # The checks, the re-encoded copy without metadata and the event live in `pod`, shared
    # with the signature and photo routes of the rider page.
    row = pod.store_proof_file(session, actor, delivery_id, content, "photo")
    return StoredProof(row.sha256, row.media_type, row.size_bytes, row.original_path)

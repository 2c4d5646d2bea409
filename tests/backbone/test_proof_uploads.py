"""Proof uploads: a corpus of bad files is rejected fast with a clear message and bounded memory."""

from __future__ import annotations

import io
import time
import tracemalloc
import zlib
from struct import pack

import pytest
from PIL import Image
from sqlmodel import Session, select

from distro.backbone import pod
from distro.backbone.errors import UploadRejectedError
from distro.backbone.models import ProofFile
from distro.settings import get_settings, reset_settings
from tests.rider_world import build_rider_world


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(side: int = 50_000) -> bytes:
    """Return a decompression bomb: a PNG header of side x side pixels and a tiny body."""
    header = png_chunk(b"IHDR", pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
    body = png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
    return b"\x89PNG\r\n\x1a\n" + header + body + png_chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    """A real JPEG photo whose EXIF carries a GPS position."""
    image = Image.new("RGB", (64, 48), (30, 120, 200))
    exif = Image.Exif()
    exif[0x8825] = {1: "S", 2: (22.0, 54.0, 20.0), 3: "W", 4: (47.0, 3.0, 39.0)}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


CORPUS = {
    "oversized": (b"\xff\xd8\xff" + b"\x00" * (9 * 1024 * 1024), None, "limit is"),
    "decompression bomb": (png_bomb(), None, "pixels"),
    "html disguised as jpg": (
        b"<!DOCTYPE html><script>alert(1)</script>",
        "photo.jpg",
        "HTML page",
    ),
    "pdf disguised as png": (b"%PDF-1.7\n1 0 obj<<>>endobj\n", "scan.png", "PDF document"),
    "svg with script": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "sign.png",
        "SVG drawing",
    ),
    "path traversal name": (jpeg_with_gps(), "../../etc/passwd.jpg", "File name"),
    "empty file": (b"", "photo.jpg", "empty"),
    "truncated jpeg": (jpeg_with_gps()[:200], "photo.jpg", "could not be decoded"),
}


@pytest.fixture
def upload_world(sqlite_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("DISTRO_PRIVATE_DIR", str(tmp_path / "private"))
    reset_settings()
    world = build_rider_world(sqlite_engine, riders=1, stops_per_route=1)
    yield sqlite_engine, world
    reset_settings()


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_upload_corpus_rejected(upload_world, case):
    """Each bad file is rejected with a message naming the fault, within 1 s and little memory."""
    engine, world = upload_world
    content, filename, expected = CORPUS[case]
    tracemalloc.start()
    started = time.perf_counter()
    with Session(engine) as session, pytest.raises(UploadRejectedError) as caught:
        pod.store_proof_file(
            session, world.riders[0], world.stops[0][0], content, "photo", filename
        )
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert expected in caught.value.message
    assert elapsed < 1.0
    assert peak < 2 * len(content) + 4 * 1024 * 1024
    with Session(engine) as session:
        assert session.exec(select(ProofFile)).first() is None


def test_upload_photo_strips_location_from_shared_copy(upload_world):
    """The stored original keeps its bytes and hash; the copy dealers see has no EXIF at all."""
    engine, world = upload_world
    photo = jpeg_with_gps()
    with Session(engine) as session:
        row = pod.store_proof_file(
            session, world.riders[0], world.stops[0][0], photo, "photo", "door.jpg"
        )
        session.commit()
        private = get_settings().private_dir
        original = (private / row.original_path).read_bytes()
        shared = (private / row.shared_path).read_bytes()

    assert original == photo
    assert Image.open(io.BytesIO(photo)).getexif().get(0x8825) is not None
    assert len(Image.open(io.BytesIO(shared)).getexif()) == 0
    assert "exif" not in Image.open(io.BytesIO(shared)).info
    assert row.media_type == "image/jpeg"
    assert "static" not in row.original_path and "assets" not in str(private)


def test_upload_signature_rejects_jpeg(upload_world):
    """A signature must be the PNG the canvas draws."""
    engine, world = upload_world
    with Session(engine) as session, pytest.raises(UploadRejectedError, match="only image/png"):
        pod.store_proof_file(
            session, world.riders[0], world.stops[0][0], jpeg_with_gps(), "signature"
        )

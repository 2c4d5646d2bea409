"""Checking and re-encoding proof-of-delivery images with Pillow; no database, no files.

An upload is accepted only when its leading bytes and Pillow both identify a JPEG, PNG or
WebP image, and it decodes completely. Its pixel count is checked against the limit from the
header, before any pixel is decoded, so a decompression bomb costs no memory. The copy
that dealers and customers see is re-encoded from the pixels alone, so it carries no EXIF,
XMP or text chunks: no location, no camera, no timestamps.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from distro.backbone.errors import UploadRejectedError

FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
"""Pillow format name -> (media type, file extension) of every accepted image type."""

MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"WEBP", 8, "WEBP"),
)
"""(leading bytes, offset, Pillow format) that identify each accepted type."""

KNOWN_DOCUMENTS: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"<svg", "an SVG drawing"),
    (b"<?xml", "an XML or SVG document"),
    (b"<!doctype html", "an HTML page"),
    (b"<html", "an HTML page"),
    (b"<script", "a script"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"GIF8", "a GIF image"),
)
"""Leading bytes of common files that are not accepted, so the message can name them."""

SHARED_MAX_SIDE = 2048
"""Longest side, in pixels, of the copy dealers and customers see."""

FILENAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,119}$")
"""A plain file name: no folders, no control characters, no leading dot."""

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp"})


@dataclass(frozen=True, slots=True)
class CheckedImage:
    """An accepted upload: its type and size, and the re-encoded copy without metadata."""

    format: str
    media_type: str
    extension: str
    width: int
    height: int
    shared: bytes
    """The re-encoded copy: the same format, at most `SHARED_MAX_SIDE` pixels, no metadata."""


def check_filename(filename: str | None) -> None:
    """Reject a client-sent file name that names a folder or is not an image name.

    The name is never used to store the file (files are named by content hash); a name
    with path parts or an unexpected extension is rejected because it shows a confused or
    hostile client.

    Raises:
        UploadRejectedError: the name has path separators, "..", control characters, or an
            extension other than jpg, jpeg, png or webp.

    """
    if filename is None or filename == "":
        return
    if not FILENAME_PATTERN.match(filename) or ".." in filename:
        raise UploadRejectedError(
            f"File name {filename[:80]!r} is invalid: use a plain name such as photo.jpg, "
            "without folders, '..' or special characters.",
            filename=filename[:120],
        )
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension not in IMAGE_EXTENSIONS:
        raise UploadRejectedError(
            f"File name {filename!r} does not end in .jpg, .jpeg, .png or .webp; "
            "send a photo in one of those formats.",
            filename=filename,
        )


def sniff_format(content: bytes) -> str | None:
    """Return the Pillow format named by the leading bytes, or None when none matches."""
    for magic, offset, name in MAGIC:
        if content[offset : offset + len(magic)] == magic:
            if name == "WEBP" and not content.startswith(b"RIFF"):
                continue
            return name
    return None


def _describe_unaccepted(content: bytes) -> str:
    head = content[:256].lstrip().lower()
    for magic, description in KNOWN_DOCUMENTS:
        if head.startswith(magic.lower()):
            return description
    return "not a JPEG, PNG or WebP image"


def check_image(
    content: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP"),
    what: str = "photo",
) -> CheckedImage:
    """Check an uploaded image and re-encode a copy of it without metadata.

    Args:
        content: The uploaded bytes.
        max_bytes: Largest accepted size in bytes.
        max_pixels: Largest accepted width x height.
        formats: Accepted Pillow format names.
        what: The word for the file in error messages ("photo", "signature").

    Returns:
        The image's type and size and the re-encoded copy.

    Raises:
        UploadRejectedError: empty, too large, of another type, too many pixels, or not
            decodable.

    """
    if not content:
        raise UploadRejectedError(f"The {what} file is empty; take the {what} again.")
    if len(content) > max_bytes:
        raise UploadRejectedError(
            f"The {what} file has {len(content)} bytes; the limit is {max_bytes}. "
            f"Send a smaller {what}.",
            size_bytes=len(content),
            limit_bytes=max_bytes,
        )

    sniffed = sniff_format(content)
    if sniffed is None or sniffed not in formats:
        accepted = ", ".join(FORMATS[name][0] for name in formats)
        found = _describe_unaccepted(content) if sniffed is None else FORMATS[sniffed][0]
        raise UploadRejectedError(
            f"The {what} file is {found}; only {accepted} is accepted.",
            accepted=accepted,
        )

    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; make it an error.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[sniffed]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise UploadRejectedError(
                        f"The {what} is {width}x{height} pixels; the limit is {max_pixels} "
                        "pixels in total. Send a smaller image.",
                        width=width,
                        height=height,
                        limit_pixels=max_pixels,
                    )
                shared = _reencode(image, sniffed)
    except UploadRejectedError:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise UploadRejectedError(
            f"The {what} file could not be decoded as {FORMATS[sniffed][0]} ({error}); "
            f"take the {what} again.",
        ) from error

    media_type, extension = FORMATS[sniffed]
    return CheckedImage(sniffed, media_type, extension, width, height, shared)


def _reencode(image: Image.Image, format_name: str) -> bytes:
    """Decode every pixel, apply the EXIF rotation, shrink, and save with no metadata."""
    if format_name == "JPEG":
        # Decode at a reduced scale where the format allows it, to bound memory.
        image.draft("RGB", (SHARED_MAX_SIDE, SHARED_MAX_SIDE))
    image.load()
    upright = ImageOps.exif_transpose(image)
    upright.thumbnail((SHARED_MAX_SIDE, SHARED_MAX_SIDE))

    # A fresh image from the pixels alone carries no EXIF, XMP, ICC or text chunks.
    mode = "RGB" if format_name == "JPEG" else ("RGBA" if "A" in upright.getbands() else "RGB")
    clean = Image.new(mode, upright.size)
    clean.paste(upright.convert(mode))

    output = io.BytesIO()
    if format_name == "JPEG":
        clean.save(output, "JPEG", quality=85, optimize=True)
    elif format_name == "PNG":
        clean.save(output, "PNG", optimize=True)
    else:
        clean.save(output, "WEBP", quality=85)
    return output.getvalue()

"""Each platform's limits on pictures, and copies made to fit them.

A picture over a platform's limit (bytes, pixels, format) is scaled down and
re-encoded by Pillow; it is never scaled up, and the original is kept: the
copy is a file of its own in the store, named by its own hash, so fitting
the same picture again finds the same file. Photos are turned upright first
(their EXIF orientation), as platforms show them.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image, ImageOps

from visibility.errors import InputError
from visibility.media.files import ImageFiles, StoredImage, write_new
from visibility.media.limits import MB, ImageLimits

_QUALITIES = (90, 85, 80, 72, 65)


def fits(image: StoredImage, limits: ImageLimits) -> bool:
    return (
        image.size <= limits.max_bytes
        and max(image.width, image.height) <= limits.max_side
        and image.mime_type in limits.formats
    )


def fit(image: StoredImage, limits: ImageLimits, files: ImageFiles) -> StoredImage:
    """``image`` itself when the platform takes it, else a smaller copy that it takes.

    The copy made for a picture and a set of limits is noted in the store, so
    approval makes it once and each publish finds it instead of re-encoding.
    """
    if fits(image, limits):
        return image
    note = _note_path(image, limits, files)
    made = _made_before(note, files)
    if made is not None:
        return made
    copy = _make(image, limits, files)
    write_new(note, f"{copy.sha256} {copy.mime_type}".encode("ascii"))
    return copy


def _note_path(image: StoredImage, limits: ImageLimits, files: ImageFiles) -> Path:
    key = f"{limits.max_bytes}-{limits.max_side}-{','.join(sorted(limits.formats))}"
    digest = hashlib.sha256(key.encode("ascii")).hexdigest()[:16]
    return files.root / "fitted" / f"{image.sha256}-{digest}"


def _made_before(note: Path, files: ImageFiles) -> StoredImage | None:
    try:
        sha256, mime_type = note.read_text(encoding="ascii").split()
        return files.get(sha256, mime_type)
    except (OSError, ValueError, InputError):
        return None  # no note, or its copy is gone: make it again


def _make(image: StoredImage, limits: ImageLimits, files: ImageFiles) -> StoredImage:
    with Image.open(image.path) as opened:
        picture = ImageOps.exif_transpose(opened)
        picture.load()
    keep_alpha = picture.mode in ("RGBA", "LA", "P") and "image/png" in limits.formats
    side = min(limits.max_side, max(picture.size))
    if image.size > limits.max_bytes:
        # Bytes grow with the pixels: start near the size that fits, not at the top.
        side = min(side, int(max(picture.size) * (limits.max_bytes / image.size) ** 0.5 * 1.1))
    for _ in range(8):
        scaled = _scaled(picture, side)
        for data in _encodings(scaled, keep_alpha):
            if len(data) <= limits.max_bytes:
                return files.add(data, name=image.path.name)
        side = int(side * 0.8)
    raise InputError(
        f"the picture {image.path.name} cannot be made small enough for this platform "
        f"({limits.max_bytes // MB} MB): choose a simpler or smaller picture"
    )


def _scaled(picture: Image.Image, side: int) -> Image.Image:
    if max(picture.size) <= side:
        return picture  # never scaled up
    copy = picture.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _encodings(picture: Image.Image, keep_alpha: bool) -> list[bytes]:
    """The picture in the platform's formats, best first."""
    out: list[bytes] = []
    if keep_alpha:
        buffer = io.BytesIO()
        picture.convert("RGBA").save(buffer, format="PNG", optimize=True)
        out.append(buffer.getvalue())
    rgb = _on_white(picture)
    for quality in _QUALITIES:
        buffer = io.BytesIO()
        rgb.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
        out.append(buffer.getvalue())
    return out


def _on_white(picture: Image.Image) -> Image.Image:
    """JPEG has no transparency: transparent parts become white, as on a page."""
    if picture.mode in ("RGBA", "LA", "P"):
        rgba = picture.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return picture.convert("RGB")


def thumbnail(image: StoredImage, files: ImageFiles, *, side: int = 320) -> StoredImage:
    """A small JPEG of ``image`` for pages and reports (kept in the store like any copy)."""
    return fit(image, ImageLimits(200_000, side, frozenset({"image/jpeg"}), 1), files)

"""Image files: checked by their content, stored once by content hash.

An image is what Pillow finds in the bytes, never what a file name or a
Content-Type says: a ``.jpg`` that is really a PNG is stored as PNG, and a
text file called ``photo.jpg`` is refused. Files live under the storage folder
as ``<hash[:2]>/<hash>.<ext>``: the same picture added twice is kept once,
and a file's name tells which content it holds, so nothing is overwritten in
place. Originals are kept; resized copies for a platform's limits and
thumbnails for the pages are files of their own (``visibility.media.fit``).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from visibility.errors import InputError

#: What platforms take and Pillow reads back faithfully; others are refused.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
#: A picture larger than this on either side is no photo but a mistake (or an attack).
MAX_SIDE = 12_000
#: The smallest picture a platform shows as one.
MIN_SIDE = 16


@dataclass(frozen=True)
class StoredImage:
    """An image file in the store, as its content says it is."""

    sha256: str
    mime_type: str
    width: int
    height: int
    size: int  # bytes
    path: Path

    @property
    def extension(self) -> str:
        return self.path.suffix.lstrip(".")


def inspect(data: bytes, *, name: str, max_bytes: int) -> tuple[str, int, int]:
    """The format, width and height of an image, or an ``InputError`` saying what is wrong.

    ``name`` is only used in messages (the file the person chose).
    """
    if not data:
        raise InputError(f"{name} is empty: choose a JPEG, PNG, GIF or WebP picture")
    # Loaded here: a worker that publishes no pictures never needs Pillow.
    from PIL import Image, UnidentifiedImageError

    if len(data) > max_bytes:
        raise InputError(
            f"{name} is {_megabytes(len(data))}; pictures up to {_megabytes(max_bytes)} are "
            "taken: save it smaller"
        )
    try:
        with warnings.catch_warnings():
            # A decompression-bomb warning is a refusal here, not a warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(
            f"{name} is not a picture visibility can use: choose a JPEG, PNG, GIF or WebP file"
        ) from None
    except (OSError, SyntaxError, ValueError):
        raise InputError(
            f"{name} is a damaged picture file: save it again from an image program"
        ) from None
    if fmt not in FORMATS:
        raise InputError(
            f"{name} is a {fmt or 'picture'} file; platforms take JPEG, PNG, GIF or WebP: "
            "save it as one of those"
        )
    if max(width, height) > MAX_SIDE:
        raise InputError(
            f"{name} is {width}×{height} pixels; pictures up to {MAX_SIDE} pixels a side are "
            "taken: make it smaller"
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(
            f"{name} is {width}×{height} pixels, too small to show: choose a larger picture"
        )
    return fmt, width, height


class ImageFiles:
    """The folder of image files, by content hash."""

    def __init__(self, root: Path, *, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def add(self, data: bytes, *, name: str) -> StoredImage:
        """Check ``data`` and keep it (once); the stored image, as its content says."""
        fmt, width, height = inspect(data, name=name, max_bytes=self.max_bytes)
        mime, extension = FORMATS[fmt]
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest, extension)
        if not path.is_file():
            write_new(path, data)
        return StoredImage(digest, mime, width, height, len(data), path)

    def path_of(self, sha256: str, extension: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    def get(self, sha256: str, mime_type: str) -> StoredImage:
        """A stored image by its hash; ``InputError`` when its file has gone."""
        extension = next((ext for m, ext in FORMATS.values() if m == mime_type), None)
        if extension is None:
            raise ValueError(f"not an image type visibility stores: {mime_type}")
        path = self.path_of(sha256, extension)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(
                f"the picture file {path} is missing from the image store; add the picture again"
            ) from None
        fmt, width, height = inspect(data, name=path.name, max_bytes=max(self.max_bytes, len(data)))
        return StoredImage(sha256, FORMATS[fmt][0], width, height, len(data), path)

    def find(self, sha256: str) -> StoredImage | None:
        """A stored image by its hash alone, whatever its format; None when absent."""
        for mime, extension in FORMATS.values():
            if self.path_of(sha256, extension).is_file():
                return self.get(sha256, mime)
        return None


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"

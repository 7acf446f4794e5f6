"""A post's pictures as an adapter takes them: files within the platform's limits."""

from __future__ import annotations

from collections.abc import Sequence

from visibility.adapters.base import Media
from visibility.errors import InputError
from visibility.media.files import ImageFiles
from visibility.media.fit import fit
from visibility.media.limits import LIMITS
from visibility.queue.views import ImageView


def media_for(images: Sequence[ImageView], kind: str, files: ImageFiles) -> tuple[Media, ...]:
    """The pictures fitted to ``kind``'s limits (copies made at approval are found again).

    Raises ``InputError`` when a picture is missing from the store, has no alt
    text, or cannot be fitted: the post must not go out without it.
    """
    limits = LIMITS.get(kind)
    out = []
    for number, image in enumerate(images, 1):
        if not image.alt:
            raise InputError(
                f"picture {number} has no alt text; describe it, then approve the post again"
            )
        stored = files.get(image.sha256, image.mime_type)
        if limits is not None:
            stored = fit(stored, limits, files)
        out.append(
            Media(
                path=str(stored.path),
                mime_type=stored.mime_type,
                sha256=stored.sha256,
                alt=image.alt,
                width=stored.width,
                height=stored.height,
                size=stored.size,
                caption=image.caption,
                role=image.role,
            )
        )
    return tuple(out)

"""Facebook Page posts with pictures: one photo post, or a multi-photo post.

One picture goes out as a photo post: ``POST /{page-id}/photos`` with the
file as the multipart ``source``, the post text as ``caption`` (the Photo
reference marks ``message`` deprecated in its favour) and the alt text as
``alt_text_custom``. Graph answers ``{"id": photo id, "post_id": post id}``.

Several go out as one multi-photo post: each picture is uploaded with
``published=false`` (Graph answers only ``{"id": photo id}`` and shows
nothing on the Page), then ``POST /{page-id}/feed`` with ``message`` and
``attached_media[0]={"media_fbid":"<photo id>"}``, ``attached_media[1]=...``,
form-encoded, makes the post. Graph takes no ``link`` together with
``attached_media`` (a link makes a link share with its own preview card), so
a post with pictures carries its link in its text instead, at the end when
the text does not hold it already.

An unpublished photo can be attached later, so a retry after a crash reuses
what the earlier try uploaded: each photo id is kept in the adapter's memory
under ``photo:<sha256>``, with the post it was uploaded for. Once a photo is
attached to a published post Graph will not attach it again, so the note is
spent after the feed post; a note Graph refuses anyway (the photo was
deleted) is dropped, and the next try uploads again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from visibility.adapters.base import Media, Memory, Publication
from visibility.adapters.graph_client import GraphClient
from visibility.adapters.graph_errors import is_attachment_refusal
from visibility.errors import PermanentChannelError, RetryableChannelError
from visibility.media.limits import FACEBOOK_LIMITS

PHOTO_NOTE = "photo:"
#: How long an unpublished photo is reused by later tries of its post: retries come
#: within hours; after that an upload costs less than a refused attachment.
REUSE_UPLOADS_FOR = timedelta(days=1)
MAX_PHOTOS = FACEBOOK_LIMITS.max_images


def photo_message(publication: Publication) -> str:
    """The text a post with pictures goes out with: the body, and its link when the
    body does not hold it (Graph takes no ``link`` field with photos)."""
    body = publication.body
    link = publication.link
    if not link or link in body:
        return body
    return f"{body.rstrip()}\n\n{link}" if body.strip() else link


class PagePhotos:
    """Publishes a Page's posts with pictures through ``client``."""

    def __init__(self, client: GraphClient, memory: Memory) -> None:
        self.client = client
        self.memory = memory

    @property
    def channel(self) -> str:
        return self.client.channel

    def publish(self, publication: Publication) -> str:
        """Publish ``publication`` (with at least one picture); return the post id."""
        media = publication.media
        if len(media) > MAX_PHOTOS:
            raise PermanentChannelError(
                f"post {publication.post_id} has {len(media)} pictures; a Facebook post takes "
                f"{MAX_PHOTOS} at most: choose fewer for it",
                channel=self.channel,
            )
        if len(media) == 1:
            return self._photo_post(publication, media[0])
        return self._multi_photo_post(publication)

    # -- one picture: a photo post ----------------------------------------------------

    def _photo_post(self, publication: Publication, picture: Media) -> str:
        data = {"caption": photo_message(publication), "alt_text_custom": picture.alt}
        with ExitStack() as files:
            source = self._open(files, picture, 1, publication)
            answer = self.client.call(
                "POST",
                f"{self.client.page_path}/photos",
                data=data,
                files={"source": source},
                action="the photo post",
            )
        post_id = answer.body.get("post_id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentChannelError(
                "Facebook accepted the photo but gave no post id; look for the post on the "
                "Page before publishing it again",
                channel=self.channel,
            )
        return post_id

    # -- several pictures: unpublished photos, then one feed post ------------------------

    def _multi_photo_post(self, publication: Publication) -> str:
        media = publication.media
        uploaded = self._uploaded(publication)
        photo_ids: list[str] = []
        with ExitStack() as files:
            # Every file is opened before the first upload: one that cannot be read
            # fails the post before anything is sent.
            sources = {
                number: self._open(files, picture, number, publication)
                for number, picture in enumerate(media, 1)
                if picture.sha256 not in uploaded
            }
            for number, picture in enumerate(media, 1):
                photo_id = uploaded.get(picture.sha256)
                if photo_id is None:
                    photo_id = self._upload(picture, sources[number], number, publication)
                photo_ids.append(photo_id)
        data = {"message": photo_message(publication)}
        for index, photo_id in enumerate(photo_ids):
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        path = f"{self.client.page_path}/feed"
        answer = self.client.request("POST", path, data=data)
        if not answer.ok:
            error = self.client.error(answer)
            if uploaded and error is not None and is_attachment_refusal(error):
                self._spend(publication)
                raise RetryableChannelError(
                    "Facebook would not attach the pictures uploaded on an earlier try "
                    f"({error.said}{error.trace}); they will be uploaded again on the next try",
                    channel=self.channel,
                    reached=False,  # Graph refused the post: nothing is on the Page
                )
            raise self.client.failure(answer, error, action="the multi-photo post", path=path)
        post_id = answer.body.get("id")
        self._spend(publication)
        if not isinstance(post_id, str) or not post_id:
            raise PermanentChannelError(
                "Facebook accepted the multi-photo post but gave no post id; look for it on "
                "the Page before publishing it again",
                channel=self.channel,
            )
        return post_id

    def _upload(
        self, picture: Media, source: tuple[str, BinaryIO, str], number: int, post: Publication
    ) -> str:
        """Upload ``picture`` as an unpublished photo and remember its id."""
        data = {"published": "false", "alt_text_custom": picture.alt}
        if picture.caption:
            data["caption"] = picture.caption
        action = f"the upload of picture {number} of {len(post.media)}"
        try:
            answer = self.client.call(
                "POST",
                f"{self.client.page_path}/photos",
                data=data,
                files={"source": source},
                action=action,
            )
        except RetryableChannelError as exc:
            if not exc.reached:
                raise
            # An unpublished photo shows nothing on the Page: the post cannot be there,
            # so the next try need not look for it first. (Without ``retry_after``: an
            # unreached error with one reads as a rate limit and pauses the channel.)
            raise RetryableChannelError(str(exc), channel=self.channel, reached=False) from exc
        photo_id = answer.body.get("id")
        if not isinstance(photo_id, str) or not photo_id:
            raise RetryableChannelError(
                f"Facebook answered {action} without a photo id; will try again",
                channel=self.channel,
                reached=False,
            )
        self.memory.remember(PHOTO_NOTE + picture.sha256, f"{photo_id} {post.post_id}")
        return photo_id

    # -- what earlier tries uploaded ----------------------------------------------------

    def _notes(self, media: Sequence[Media]) -> dict[str, tuple[str, str]]:
        """``{sha256: (photo id, post id)}`` for the notes kept about ``media``."""
        since = datetime.now(UTC) - REUSE_UPLOADS_FOR
        notes: dict[str, tuple[str, str]] = {}
        for picture in media:
            key = PHOTO_NOTE + picture.sha256
            photo_id, _, post_id = self.memory.recall(key, since=since).get(key, "").partition(" ")
            if photo_id and post_id:
                notes[picture.sha256] = (photo_id, post_id)
        return notes

    def _uploaded(self, publication: Publication) -> dict[str, str]:
        """The photos an earlier try of this post uploaded, by picture."""
        wanted = str(publication.post_id)
        return {
            sha256: photo_id
            for sha256, (photo_id, post_id) in self._notes(publication.media).items()
            if post_id == wanted
        }

    def _spend(self, publication: Publication) -> None:
        """Forget this post's uploads: Graph attaches a photo to one post only."""
        for sha256 in self._uploaded(publication):
            self.memory.remember(PHOTO_NOTE + sha256, "")

    # -- files ------------------------------------------------------------------------------

    def _open(
        self, files: ExitStack, picture: Media, number: int, publication: Publication
    ) -> tuple[str, BinaryIO, str]:
        path = Path(picture.path)
        try:
            handle: BinaryIO = files.enter_context(path.open("rb"))
        except OSError as exc:
            raise PermanentChannelError(
                f"picture {number} of post {publication.post_id} ({path.name}) cannot be read "
                f"({exc.strerror}); add it to the news item again or choose another picture",
                channel=self.channel,
            ) from exc
        return (path.name, handle, picture.mime_type)

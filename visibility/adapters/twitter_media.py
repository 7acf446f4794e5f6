"""The X adapter's pictures: uploaded through X's v2 media endpoints, with their alt text.

Each picture goes up on its own, signed with OAuth 1.0a user context like the
rest of the adapter (multipart bodies are not part of the signature, as RFC
5849 has it):

* up to ``ONE_SHOT_MAX`` bytes, JPEG, PNG or WebP: one ``POST /2/media/upload``,
  ``multipart/form-data`` with ``media``, ``media_category=tweet_image`` and
  ``media_type``;
* anything larger, and GIFs (the one-shot form takes no ``image/gif``):
  ``POST /2/media/upload/initialize`` (JSON), ``POST /2/media/upload/{id}/append``
  per ``SEGMENT_BYTES`` segment (multipart ``segment_index`` and ``media``),
  ``POST /2/media/upload/{id}/finalize``. Multipart bodies of several megabytes
  have been refused by X's front servers; one-megabyte pieces are what X's
  own samples send.

When the answer carries ``processing_info`` still ``pending`` or ``in_progress``,
the attempt ends with a retryable error (an adapter never sleeps): the next
one asks ``GET /2/media/upload?command=STATUS`` instead of uploading again.
Alt text goes with ``POST /2/media/metadata`` (at most 1,000 characters).

Media ids expire (``expires_after_secs``, a day for pictures). Each upload is
kept in the adapter's ``Memory`` under ``media:<sha256>`` with its id, expiry
and the alt text X holds for it, so a retry after a crash or a lost answer
reuses it instead of uploading the same file again, until shortly before it
expires. An upload whose alt text differs is not reused (setting it anew would
change the words of a post that shows it). A reused id X no longer knows is
forgotten and uploaded again.

No tweet exists while pictures go up: every retryable error here says
``reached=False``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import requests
import tweepy

from visibility.adapters.base import Media, Memory
from visibility.adapters.http import redact
from visibility.adapters.twitter_errors import Auth, media_refusal, platform_message
from visibility.errors import ChannelError, PermanentChannelError, RetryableChannelError

__all__ = ["ALT_TEXT_MAX", "MAX_PICTURES", "ONE_SHOT_MAX", "SEGMENT_BYTES", "XMedia"]

log = logging.getLogger(__name__)

#: The largest file sent in one request; larger ones go in segments of this size.
ONE_SHOT_MAX: Final = 1024 * 1024
SEGMENT_BYTES: Final = 1024 * 1024
ONE_SHOT_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_PICTURES: Final = 4
ALT_TEXT_MAX: Final = 1000
#: An upload is reused only while it has at least this long to live.
REUSE_MARGIN: Final = timedelta(minutes=15)
#: X's lifetime of a picture upload, when an answer does not say.
DEFAULT_LIFETIME: Final = 86_400
NOTE_PREFIX: Final = "media:"
_OCTETS: Final = "application/octet-stream"
#: Statuses by which X refuses a picture itself (not the credentials, not the plan).
_REFUSALS: Final = frozenset({400, 404, 413, 415, 422})
_NOTES_SINCE: Final = timedelta(days=30)

Translate = Callable[[Exception, str, Auth], ChannelError]


@dataclass(frozen=True)
class _Upload:
    """What X holds for one picture: its id, until when, and which alt text."""

    media_id: str
    expires_at: datetime
    alt: str = ""  # the digest of the alt text set on it; "" when none yet
    processing: bool = False

    def dumps(self) -> str:
        return json.dumps(
            {
                "id": self.media_id,
                "expires_at": int(self.expires_at.timestamp()),
                "alt": self.alt,
                "processing": self.processing,
            }
        )

    @classmethod
    def loads(cls, value: str) -> _Upload | None:
        try:
            note = json.loads(value)
            media_id, expires = str(note["id"]), int(note["expires_at"])
        except (ValueError, TypeError, KeyError):
            return None
        if not media_id.isdigit():
            return None
        return cls(
            media_id=media_id,
            expires_at=datetime.fromtimestamp(expires, UTC),
            alt=str(note.get("alt") or ""),
            processing=bool(note.get("processing")),
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label(number: int, media: Media) -> str:
    """How staff recognise a picture in a message: its number and the start of its alt."""
    alt = " ".join(media.alt.split())
    if not alt:
        return f"picture {number}"
    return f"picture {number} (“{alt if len(alt) <= 40 else alt[:39].rstrip() + '…'}”)"


class XMedia:
    """Uploads one channel's pictures to X and remembers what it uploaded."""

    def __init__(
        self,
        *,
        channel: str,
        api: str,
        session: requests.Session,
        auth: requests.auth.AuthBase,
        memory: Memory,
        translate: Translate,
        secrets: Sequence[str],
    ) -> None:
        self.channel = channel
        self._api = api
        self._session = session
        self._auth = auth
        self._memory = memory
        self._translate = translate
        self._secrets = tuple(secrets)

    # -- what the adapter calls ---------------------------------------------------

    def check(self, pictures: Sequence[Media]) -> None:
        """Refuse, before any call, what X would refuse for certain."""
        if len(pictures) > MAX_PICTURES:
            raise PermanentChannelError(
                f"X takes at most {MAX_PICTURES} pictures per post and this one has "
                f"{len(pictures)}: take some off the post, then publish it again",
                channel=self.channel,
            )
        for number, media in enumerate(pictures, start=1):
            if len(media.alt) > ALT_TEXT_MAX:
                raise PermanentChannelError(
                    f"the alt text of {label(number, media)} has {len(media.alt):,} "
                    f"characters and X takes at most {ALT_TEXT_MAX:,}: shorten it on the "
                    "news item page, then publish the post again",
                    channel=self.channel,
                )

    def upload(self, pictures: Sequence[Media]) -> tuple[list[str], set[str]]:
        """The media ids of ``pictures`` for a post, and which of them are reused uploads."""
        self.check(pictures)
        ids: list[str] = []
        reused: set[str] = set()
        for number, media in enumerate(pictures, start=1):
            media_id, again = self._ready(number, media)
            if media_id in ids:
                continue  # the same picture twice: attached once
            ids.append(media_id)
            if again:
                reused.add(media_id)
        return ids, reused

    def forget(self, pictures: Sequence[Media]) -> None:
        """Upload these pictures again next time (X said it no longer knows them)."""
        for media in pictures:
            self._memory.remember(NOTE_PREFIX + media.sha256, "")

    # -- one picture ----------------------------------------------------------------

    def _ready(self, number: int, media: Media) -> tuple[str, bool]:
        """A media id X takes for ``media``, with its alt text set; whether it is reused."""
        earlier = self._recall(media)
        if earlier is not None:
            try:
                return self._described(number, media, self._settled(number, media, earlier)), True
            except _Refused as exc:
                log.info(
                    "X no longer takes the earlier upload of %s (%s); uploading it again",
                    label(number, media),
                    exc,
                    extra={"channel": self.channel},
                )
                self.forget([media])
        return self._described(number, media, self._send_file(number, media)), False

    def _described(self, number: int, media: Media, upload: _Upload) -> str:
        """``upload``'s media id, once X holds the picture's alt text for it."""
        if media.alt and upload.alt != _digest(media.alt):
            self._call(
                number,
                media,
                "POST",
                "/2/media/metadata",
                json={"id": upload.media_id, "metadata": {"alt_text": {"text": media.alt}}},
            )
            self._keep(media, _Upload(upload.media_id, upload.expires_at, _digest(media.alt)))
        return upload.media_id

    def _recall(self, media: Media) -> _Upload | None:
        now = datetime.now(UTC)
        notes = self._memory.recall(NOTE_PREFIX + media.sha256, since=now - _NOTES_SINCE)
        value = notes.get(NOTE_PREFIX + media.sha256)
        upload = _Upload.loads(value) if value else None
        if upload is None or upload.expires_at - now < REUSE_MARGIN:
            return None
        if upload.alt and upload.alt != _digest(media.alt):
            # A post may show it with other words: changing them would change that post.
            return None
        return upload

    def _keep(self, media: Media, upload: _Upload) -> None:
        self._memory.remember(NOTE_PREFIX + media.sha256, upload.dumps())

    def _settled(self, number: int, media: Media, upload: _Upload) -> _Upload:
        """``upload`` once X has processed it; a retryable error while it still works."""
        if not upload.processing:
            return upload
        answer = self._call(
            number,
            media,
            "GET",
            "/2/media/upload",
            params={"command": "STATUS", "media_id": upload.media_id},
        )
        return self._processed(number, media, answer, previous=upload)

    def _processed(
        self, number: int, media: Media, answer: Mapping[str, Any], *, previous: _Upload | None
    ) -> _Upload:
        """The upload an answer describes, kept in memory; raises unless it is usable."""
        data = answer.get("data")
        if not isinstance(data, Mapping):
            data = {}
        # The status answer names it media_id, the others id.
        media_id = str(data.get("id") or data.get("media_id") or "")
        if not media_id.isdigit():
            if previous is None:
                raise PermanentChannelError(
                    f"X's answer to uploading {label(number, media)} had no media id; "
                    "try `visibility channels check`",
                    channel=self.channel,
                )
            media_id = previous.media_id
        lifetime = data.get("expires_after_secs")
        if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0:
            expires = datetime.now(UTC) + timedelta(seconds=lifetime)
        elif previous is not None:
            expires = previous.expires_at
        else:
            expires = datetime.now(UTC) + timedelta(seconds=DEFAULT_LIFETIME)
        info = data.get("processing_info")
        state = str(info.get("state", "")) if isinstance(info, Mapping) else "succeeded"
        alt = previous.alt if previous is not None else ""
        if state == "failed":
            self.forget([media])
            error = info.get("error") if isinstance(info, Mapping) else None
            said = ""
            if isinstance(error, Mapping):
                said = redact(str(error.get("message") or error.get("name") or ""), self._secrets)
            raise PermanentChannelError(
                f"X could not process {label(number, media)}"
                + (f" ({said})" if said else "")
                + ": replace it with another picture (a JPEG or PNG) on the news item page, "
                "then publish the post again",
                channel=self.channel,
            )
        upload = _Upload(media_id, expires, alt, processing=state in ("pending", "in_progress"))
        self._keep(media, upload)
        if upload.processing:
            # The next attempt asks for the state again instead of uploading again.
            raise RetryableChannelError(
                f"X is still processing {label(number, media)}; will try again",
                channel=self.channel,
                reached=False,
            )
        return upload

    def _send_file(self, number: int, media: Media) -> _Upload:
        try:
            data = Path(media.path).read_bytes()
        except OSError as exc:
            raise PermanentChannelError(
                f"{label(number, media)} could not be read from the image store "
                f"({type(exc).__name__}): add the picture to the news item again",
                channel=self.channel,
            ) from exc
        if len(data) <= ONE_SHOT_MAX and media.mime_type in ONE_SHOT_TYPES:
            answer = self._call(
                number,
                media,
                "POST",
                "/2/media/upload",
                data={"media_category": "tweet_image", "media_type": media.mime_type},
                files={"media": (Path(media.path).name, data, media.mime_type)},
            )
            return self._processed(number, media, answer, previous=None)
        return self._send_in_segments(number, media, data)

    def _send_in_segments(self, number: int, media: Media, data: bytes) -> _Upload:
        started = self._call(
            number,
            media,
            "POST",
            "/2/media/upload/initialize",
            json={
                "media_type": media.mime_type,
                "total_bytes": len(data),
                "media_category": "tweet_image",
            },
        )
        created = started.get("data")
        media_id = str(created.get("id", "")) if isinstance(created, Mapping) else ""
        if not media_id.isdigit():
            raise PermanentChannelError(
                f"X's answer to starting the upload of {label(number, media)} had no media "
                "id; try `visibility channels check`",
                channel=self.channel,
            )
        for index, start in enumerate(range(0, len(data), SEGMENT_BYTES)):
            self._call(
                number,
                media,
                "POST",
                f"/2/media/upload/{media_id}/append",
                data={"segment_index": str(index)},
                files={"media": ("segment", data[start : start + SEGMENT_BYTES], _OCTETS)},
            )
        answer = self._call(number, media, "POST", f"/2/media/upload/{media_id}/finalize")
        return self._processed(number, media, answer, previous=None)

    # -- plumbing -------------------------------------------------------------------

    def _call(
        self, number: int, media: Media, method: str, path: str, **kwargs: Any
    ) -> Mapping[str, Any]:
        """One signed media request; X's refusals become channel errors about the picture."""
        action = f"uploading {label(number, media)}"
        try:
            with self._session.request(
                method, self._api + path, auth=self._auth, **kwargs
            ) as response:
                _raise_for_status(response)
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self._refused(exc, action, number, media) from exc
        if not isinstance(answer, Mapping):
            raise PermanentChannelError(
                f"X's answer to {action} was not what its API documents; try "
                "`visibility channels check`",
                channel=self.channel,
            )
        return answer

    def _refused(self, exc: Exception, action: str, number: int, media: Media) -> ChannelError:
        error = self._translate(exc, action, "user")
        if isinstance(error, RetryableChannelError):
            message = str(error)
            if label(number, media) not in message:  # network trouble names the host only
                message = f"while {action}, {message}"
            # Whatever happened to the upload, no tweet was made.
            return RetryableChannelError(
                message, channel=self.channel, retry_after=error.retry_after, reached=False
            )
        status = getattr(getattr(exc, "response", None), "status_code", 0)
        if isinstance(exc, tweepy.HTTPException) and status in _REFUSALS:
            said = platform_message(exc.response, self._secrets)
            return _Refused(media_refusal(label(number, media), said, status), channel=self.channel)
        return error


class _Refused(PermanentChannelError):
    """X refused a request about one picture (for a reused upload: it no longer knows it)."""


def _raise_for_status(response: requests.Response) -> None:
    """tweepy's exception for an error answer, as its ``Client`` raises them."""
    status = response.status_code
    if status == 400:
        raise tweepy.BadRequest(response)
    if status == 401:
        raise tweepy.Unauthorized(response)
    if status == 403:
        raise tweepy.Forbidden(response)
    if status == 404:
        raise tweepy.NotFound(response)
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(
            response, reset_time=int(reset) if reset and reset.isdigit() else None
        )
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    if not 200 <= status < 300:
        raise tweepy.HTTPException(response)

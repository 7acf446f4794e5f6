"""The one interface every channel adapter implements.

An adapter speaks to one channel account (a WordPress site, a Facebook Page,
an X account, a dry-run outbox). The contract, for every method:

* Success returns a value; failure raises a ``visibility.errors.ChannelError``:
  ``RetryableChannelError`` when trying again later may succeed (network
  trouble, timeouts, 5xx, rate limits, with ``retry_after`` set when the
  channel said when), ``PermanentChannelError`` when it will not, and its
  subclasses ``CredentialsError`` (the account must be re-authorised or given
  a permission) and ``DuplicateContentError`` (the platform says it has this
  post already). Vendor exceptions (requests, tweepy) never leave an adapter
  untranslated: ``raise ... from exc`` at the boundary.
* Messages are written for the staff who read them in ``visibility posts
  show``: what the channel said, and what to do about it. They never contain
  a secret (token, password, signature), not even inside a URL.
* Methods are called from worker threads, each call at most once per
  attempt. An adapter never retries or sleeps on its own (the scheduler owns
  retries and backoff); it may keep an HTTP session between calls.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Media:
    """A picture to attach: a local file already within the platform's limits.

    ``sha256`` names the file's content: the same picture has the same
    ``sha256`` on every try, so an adapter may reuse what it uploaded before.
    ``alt`` is its text alternative (never empty: approval requires it).
    ``role`` is ``"emblem"`` for a donor's emblem that a grant requires: an
    article shows it with the funding statement at its end, never as its
    featured image.
    """

    path: str
    mime_type: str
    sha256: str
    alt: str
    width: int
    height: int
    size: int
    caption: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Publication:
    """What to publish: a post with its link resolved, as the adapter needs it."""

    post_id: int
    news_item_id: int
    channel: str
    kind: str  # website | facebook | twitter
    body: str  # HTML for website posts, plain text otherwise; {link} already replaced
    title: str | None = None
    excerpt: str | None = None
    link: str | None = None
    # The pictures, in order (the article's first is its featured image).
    media: tuple[Media, ...] = ()


@dataclass(frozen=True)
class Published:
    """The channel's record of a published post.

    ``parts``: the texts exactly as the platform received them, when they
    differ from the publication's body (an X thread, trimmed text); empty
    when the body went out as it is. Recorded with the post.
    """

    external_id: str
    url: str | None
    # What was sent, not which post it is: two records of one post compare equal.
    parts: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Account:
    """What a harmless read call said about the account: proof the credentials work."""

    name: str
    external_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Engagement:
    """One post's figures at one moment, normalised across platforms.

    A figure the platform does not give is ``None`` (not 0). ``raw`` keeps the
    platform's own answer for that post.
    """

    external_id: str
    impressions: int | None = None
    reactions: int | None = None
    comments: int | None = None
    shares: int | None = None
    clicks: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


class Memory(Protocol):
    """What an adapter learnt about its platform, shared by every worker and kept
    across restarts (the database, in production): for example an insights metric
    the platform refused, so no worker spends calls finding it out again."""

    def recall(self, prefix: str, *, since: datetime) -> dict[str, str]:
        """Notes whose key starts with ``prefix``, learnt at or after ``since``."""

    def remember(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key``, learnt now (replacing an older note)."""


class LocalMemory:
    """A ``Memory`` for one process only: for adapters used without a database."""

    def __init__(self) -> None:
        self._notes: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def recall(self, prefix: str, *, since: datetime) -> dict[str, str]:
        with self._lock:
            return {
                key: value
                for key, (value, learnt) in self._notes.items()
                if key.startswith(prefix) and learnt >= since
            }

    def remember(self, key: str, value: str) -> None:
        with self._lock:
            self._notes[key] = (value, datetime.now(UTC))


class Adapter(ABC):
    """Publishes posts to one channel account and reads them back."""

    #: The channel account this adapter serves.
    channel: str

    #: The most ids one ``engagement`` call may ask the platform about at once.
    engagement_batch: int = 1

    @abstractmethod
    def publish(self, publication: Publication) -> Published:
        """Publish ``publication`` and return the channel's id and URL for it."""

    @abstractmethod
    def check(self) -> Account:
        """Verify the credentials with a harmless read call.

        Raises ``CredentialsError`` with what is wrong in staff's words (expired
        token, missing permission, wrong page id) when they do not work.
        """

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        """Whether this post is already on the channel, published at or after ``since``.

        Asked after a worker died mid-publish or a request's outcome is unknown
        (a timeout, a 5xx), before anything is sent again. Match by content
        (the text or title as it would have been sent) and time. Returns the
        channel's record when found, ``None`` when the post is certainly not
        there; raises a ``ChannelError`` when the channel cannot tell (the
        scheduler then holds the post ``in_doubt`` for a person to decide).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot look for a post")

    def delete(self, external_id: str) -> None:
        """Remove a published post from the channel."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete posts")

    def engagement(self, external_ids: Sequence[str]) -> list[Engagement]:
        """Current figures for up to ``engagement_batch`` published posts.

        Posts the platform no longer knows (deleted) are left out of the result.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot read engagement")

    def close(self) -> None:  # noqa: B027  (optional hook, empty by default)
        """Release connections; called once when the service stops."""

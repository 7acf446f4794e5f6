"""The one interface every channel adapter implements.

An adapter turns a ``Publication`` into a post on one channel account and
reports what the channel made of it. The contract:

* ``publish`` either returns a ``Published`` (the channel accepted the post
  and gave it an id) or raises a ``visibility.errors.ChannelError``:
  ``RetryableChannelError`` when trying again later may succeed (network
  trouble, 5xx, rate limits; ``retry_after`` set when the channel said when),
  ``PermanentChannelError`` (or its subclasses ``CredentialsError`` and
  ``DuplicateContentError``) when it will not. Vendor exceptions never leave
  an adapter untranslated.
* ``publish`` is called at most once per publish attempt, from a worker
  thread; an adapter must not retry or sleep on its own (the scheduler owns
  retries and backoff), and must not log secrets.
* Messages in raised errors are written for the staff who read them in
  ``visibility posts show``: what the channel said and what to do about it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class Publication:
    """What to publish: a post with its link resolved, as the adapter needs it."""

    post_id: int
    news_item_id: int
    channel: str
    kind: str  # website | facebook | twitter
    body: str  # HTML for website posts, plain text otherwise
    title: str | None = None
    excerpt: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Published:
    """The channel's record of a published post."""

    external_id: str
    url: str | None


class Adapter(ABC):
    """Publishes posts to one channel account."""

    #: The channel account this adapter serves.
    channel: str

    @abstractmethod
    def publish(self, publication: Publication) -> Published:
        """Publish ``publication``; raise a ChannelError subclass on failure."""

    def close(self) -> None:  # noqa: B027  (optional hook, empty by default)
        """Release connections; called once when the service stops."""

"""One exception root for everything visibility raises on purpose.

User mistakes (bad input, bad configuration, a forbidden state change) are
``UserError`` subclasses: the CLI prints their message as one line and exits
non-zero, without a traceback. Channel errors are ``ChannelError`` subclasses,
split into retryable and permanent so the scheduler knows what to do next;
adapters translate vendor exceptions into these at the boundary with
``raise ... from exc``.
"""

from __future__ import annotations

import re
from datetime import datetime

from visibility.i18n import translate


class VisibilityError(Exception):
    """Root of every error visibility raises deliberately.

    The message is a catalogue id (an English format string marked with ``N_``)
    and its parameters, so each reader gets it in their own language:
    ``UserError(N_("Post {post} is not a draft."), post=7)``. ``str()`` is the
    English text (logs, tests); :meth:`translated` is what a person reads.
    A message built before this existed (an f-string) is its own id and stays
    English until it is moved to an id.
    """

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.msgid = message
        self.params = params
        super().__init__(message.format(**params) if params else message)

    def translated(self, language: str) -> str:
        """The message in ``language`` (one of ``visibility.i18n.LANGUAGES``)."""
        if not self.msgid:
            return str(self)
        values = {
            k: v.translated(language) if isinstance(v, VisibilityError) else v
            for k, v in self.params.items()
        }
        return translate(language, self.msgid, **values)


class UserError(VisibilityError):
    """Something the person running visibility can fix; the message says how."""


class ConfigError(UserError):
    """Invalid settings or channel configuration, found at start-up."""


class InputError(UserError):
    """A news item file or other input that cannot be used."""


class NotFoundError(UserError):
    """A record named by the user does not exist."""


class ConflictError(UserError):
    """The request clashes with a record that exists already (e.g. a name in use)."""


class TransitionError(UserError):
    """A post cannot move to the requested state from the state it is in."""


class ValidationError(UserError):
    """A post's content breaks its channel's limits."""


class ChannelError(VisibilityError):
    """A channel (website, Facebook, X, ...) refused or failed a request."""

    retryable: bool = False

    def __init__(self, message: str, *, channel: str | None = None, **params: object) -> None:
        super().__init__(message, **params)
        self.channel = channel


# "; will try again", "; will try again after 12:00 UTC", " (will try again after 12:00 UTC)"
_RETRY_PROMISE = re.compile(r"[;,]?\s*\(?will try again[^)]*\)?\.?$")


def without_retry_promise(message: str) -> str:
    """A channel's message without its "will try again", for when nobody will: the
    post is given up, or waits for a person to decide."""
    return _RETRY_PROMISE.sub("", message).strip()


class RetryableChannelError(ChannelError):
    """Worth trying again later: network trouble, 5xx, rate limits.

    ``reached`` says whether the request may have reached the platform and been
    acted on: ``False`` only when it certainly was not (a refused connection, a
    429). Otherwise the scheduler asks the channel whether the post exists
    before it sends it again.
    """

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        channel: str | None = None,
        retry_after: datetime | None = None,
        reached: bool = True,
        **params: object,
    ) -> None:
        super().__init__(message, channel=channel, **params)
        self.retry_after = retry_after
        self.reached = reached


class PermanentChannelError(ChannelError):
    """Trying again will not help: invalid content, duplicate, missing permission."""


class CredentialsError(PermanentChannelError):
    """The account's credentials are missing, expired or lack a permission."""


class DuplicateContentError(PermanentChannelError):
    """The platform says this content was already posted."""

"""Graph API error objects, translated into visibility's channel errors.

Graph answers a failed call with ``{"error": {"message", "type", "code",
"error_subcode", "fbtrace_id", "is_transient", "error_user_title",
"error_user_msg"}}``; the ``code`` (and for tokens the ``error_subcode``) says
what went wrong, far more reliably than the HTTP status. The messages built
here are for communications staff: what Facebook said, what to do, and the
``fbtrace_id`` that Meta support asks for. Graph sometimes echoes a token in
its message ("Malformed access token EAAB..."), so every text it sends back
goes through ``redact`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from visibility.adapters.graph_usage import read_usage
from visibility.adapters.http import redact, retry_after
from visibility.errors import (
    ChannelError,
    CredentialsError,
    DuplicateContentError,
    PermanentChannelError,
    RetryableChannelError,
)

TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
APP_LIMIT_CODES = frozenset({4, 17})  # the app's or the user's hourly budget
PAGE_LIMIT_CODES = frozenset({32, 613, *range(80001, 80100)})  # Page / business use case
TRANSIENT_CODES = frozenset({1, 2})
DUPLICATE_CODE = 506
BLOCKED_CODE = 368
INVALID_PARAMETER = 100
MISSING_OBJECT_SUBCODE = 33
#: "(#324) Missing or invalid image file" / "(#324) Requires upload file".
PHOTO_FILE_CODE = 324
#: Code 100 with this subcode: "Can't Read Files", a picture too large (Graph's message
#: says under 4 MB) or of a type it does not read.
UNREADABLE_PHOTO_SUBCODE = 1366046

# Graph only says "rate limited"; these are its usual windows when no header says more.
APP_LIMIT_PAUSE = timedelta(minutes=60)
PAGE_LIMIT_PAUSE = timedelta(minutes=15)

_TOKEN_TROUBLE = {
    458: "the Page access token no longer works: the app was removed from the Facebook "
    "account that created it",
    459: "the Page access token no longer works: the Facebook account that created it is "
    "checkpointed (log in at facebook.com and complete the security check first)",
    460: "the Page access token was invalidated because the password of the Facebook account "
    "that created it changed",
    463: "the Page access token has expired",
    464: "the Page access token no longer works: the Facebook account that created it is not "
    "confirmed (log in at facebook.com and confirm it first)",
    467: "the Page access token is invalid (it was revoked, or the account that created it "
    "logged out)",
    492: "the Page access token no longer works: the account that created it no longer has a "
    "role on the Page",
}

_PERMISSION = re.compile(r"\b(pages_[a-z_]+|publish_[a-z_]+|read_insights|business_management)\b")
_MISSING_OBJECT = re.compile(r"Object with ID '([^']+)' does not exist")
_MISSING_ALIASES = re.compile(r"aliases you requested do not exist: ?(.+)$")


@dataclass(frozen=True)
class GraphError:
    """One Graph error object, its texts already redacted."""

    message: str
    code: int | None
    subcode: int | None = None
    type: str | None = None
    fbtrace_id: str | None = None
    is_transient: bool = False
    user_message: str | None = None

    @classmethod
    def from_body(cls, body: Any, *, secrets: Iterable[str]) -> GraphError | None:
        if not isinstance(body, Mapping):
            return None
        error = body.get("error")
        if not isinstance(error, Mapping):
            return None
        secrets = tuple(secrets)

        def text(key: str) -> str | None:
            value = error.get(key)
            return redact(str(value), secrets).strip() if value not in (None, "") else None

        def number(key: str) -> int | None:
            value = error.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.isdigit():
                return int(value)
            return None

        return cls(
            message=text("message") or "no message",
            code=number("code"),
            subcode=number("error_subcode"),
            type=text("type"),
            fbtrace_id=text("fbtrace_id"),
            is_transient=error.get("is_transient") is True,
            user_message=text("error_user_msg"),
        )

    @property
    def trace(self) -> str:
        """`` (fbtrace_id X)`` for messages, so staff can quote it to Meta support."""
        return f" (fbtrace_id {self.fbtrace_id})" if self.fbtrace_id else ""

    @property
    def said(self) -> str:
        """What Facebook said, in its own words, for staff."""
        said = self.message
        if self.user_message and self.user_message not in said:
            stop = "" if said.endswith((".", "!", "?")) else "."
            said = f"{said}{stop} {self.user_message}"
        return f'Facebook said "{said}"'

    def missing_ids(self) -> list[str]:
        """The ids Graph says do not exist (or this token may not see), if it names them."""
        match = _MISSING_OBJECT.search(self.message)
        if match:
            return [match.group(1)]
        match = _MISSING_ALIASES.search(self.message)
        if match:
            return [part.strip() for part in match.group(1).split(",") if part.strip()]
        return []

    @property
    def is_missing_object(self) -> bool:
        return self.code in (INVALID_PARAMETER, 803) and (
            self.subcode == MISSING_OBJECT_SUBCODE or bool(self.missing_ids())
        )


_INVALID_METRIC = re.compile(
    r"valid insights metric|metric is no longer supported|invalid metric", re.IGNORECASE
)


def is_invalid_metric(error: GraphError | None) -> bool:
    """Graph refusing an insights metric it does not (or no longer) give.

    It fails the whole call with code 100 and, for Page post metrics, does not
    say which metric it means: "(#100) The value must be a valid insights metric".
    """
    return (
        error is not None
        and error.code == INVALID_PARAMETER
        and bool(_INVALID_METRIC.search(error.message))
    )


def is_photo_refusal(error: GraphError | None) -> bool:
    """Graph refusing the picture itself: the file, its type or its size."""
    return error is not None and (
        error.code == PHOTO_FILE_CODE or error.subcode == UNREADABLE_PHOTO_SUBCODE
    )


def is_attachment_refusal(error: GraphError | None) -> bool:
    """Graph refusing a feed post's ``attached_media``: a photo id it will not attach
    (unknown, another Page's, deleted, or published already)."""
    return (
        error is not None
        and error.code == INVALID_PARAMETER
        and ("attached_media" in error.message or "media_fbid" in error.message)
    )


def may_block_insights(error: GraphError | None) -> bool:
    """A permission error that may be about reading insights alone.

    Graph names the missing permission (read_insights) or none at all; an
    error naming only another permission (pages_read_engagement) is not it.
    """
    if error is None or error.code not in PERMISSION_CODES:
        return False
    named = _permissions(error.message)
    return not named or "read_insights" in named or "insights" in error.message.lower()


def renew_token_advice(channel: str) -> str:
    return (
        "Generate a new Page access token, set it as the page_access_token secret of "
        f"channel '{channel}', then run `visibility channels check`."
    )


def _permissions(message: str) -> list[str]:
    found: list[str] = []
    for name in _PERMISSION.findall(message):
        if name not in found:
            found.append(name)
    return found


def credentials_error(error: GraphError, *, channel: str) -> CredentialsError:
    """A token (190) or permission (10, 200-299) error in staff's words."""
    if error.code in TOKEN_CODES:
        what = _TOKEN_TROUBLE.get(error.subcode or 0, "the Page access token is not valid")
        return CredentialsError(
            f"{what}: {error.said}{error.trace}. {renew_token_advice(channel)}",
            channel=channel,
        )
    permissions = _permissions(error.message)
    if permissions:
        names = " and ".join(permissions)
        plural = "s" if len(permissions) > 1 else ""
        what = f"the Page access token lacks the permission{plural} {names}"
        fix = (
            f"Grant {names} to the app for this Page (re-authorise it in the Meta app "
            "settings), then generate a new Page access token, set it as the "
            f"page_access_token secret of channel '{channel}' and run "
            "`visibility channels check`."
        )
    else:
        what = "the Page access token lacks a permission this needs"
        fix = (
            "Check that the token is a Page access token (not a user token) with "
            "pages_manage_posts and pages_read_engagement. " + renew_token_advice(channel)
        )
    return CredentialsError(f"{what}: {error.said}{error.trace}. {fix}", channel=channel)


def rate_limit_until(error: GraphError, headers: Mapping[str, str], *, now: datetime) -> datetime:
    """When a rate-limited Page may call again: Graph's estimate, else its usual window."""
    usage = read_usage(headers)
    if usage is not None and usage.regain_minutes > 0:
        return now + timedelta(minutes=usage.regain_minutes)
    told = retry_after(headers, now=now)
    if told is not None:
        return told
    return now + (APP_LIMIT_PAUSE if error.code in APP_LIMIT_CODES else PAGE_LIMIT_PAUSE)


def rate_limit_reason(error: GraphError) -> str:
    if error.code == 4:
        whose = "the Facebook app this channel uses"
    elif error.code == 17:
        whose = "the Facebook account behind the Page access token"
    else:
        whose = "this Page"
    return f"Facebook is rate limiting {whose} ({error.message})"


def is_rate_limit(error: GraphError) -> bool:
    return error.code in APP_LIMIT_CODES or error.code in PAGE_LIMIT_CODES


def translate(
    error: GraphError | None,
    *,
    status: int,
    headers: Mapping[str, str],
    channel: str,
    action: str,
    now: datetime,
) -> ChannelError:
    """The channel error for a failed Graph call; ``action`` names the request ('the post')."""
    if error is None:
        return _without_error_object(status, headers, channel=channel, action=action, now=now)
    if error.code in TOKEN_CODES or error.code in PERMISSION_CODES:
        return credentials_error(error, channel=channel)
    if is_rate_limit(error):
        until = rate_limit_until(error, headers, now=now)
        return RetryableChannelError(
            f"{rate_limit_reason(error)}; will try again after {until:%H:%M} UTC",
            channel=channel,
            retry_after=until,
            reached=False,  # Graph refuses a rate-limited call before acting on it
        )
    if error.code == DUPLICATE_CODE:
        return DuplicateContentError(
            f"Facebook refused the post as a duplicate of one already on the Page: "
            f"{error.said}{error.trace}. Change the text if it should go out again.",
            channel=channel,
        )
    if error.code == BLOCKED_CODE:
        return PermanentChannelError(
            f"Facebook blocked {action} as abusive or against its policies: "
            f"{error.said}{error.trace}. It will not be retried; review the content, "
            "and quote the fbtrace_id to Meta support if Facebook is wrong.",
            channel=channel,
        )
    if is_photo_refusal(error):
        return PermanentChannelError(
            f"Facebook refused the picture ({action}): {error.said} (code "
            f"{error.code}){error.trace}. Replace the picture with a JPEG, PNG or GIF under "
            "4 MB, or choose another one for the post.",
            channel=channel,
        )
    if error.code in TRANSIENT_CODES or error.is_transient or status >= 500:
        return RetryableChannelError(
            f"Facebook had a temporary problem with {action} ({error.message}); will try again",
            channel=channel,
            retry_after=retry_after(headers, now=now),
        )
    code = f" (code {error.code})" if error.code not in (None, INVALID_PARAMETER) else ""
    return PermanentChannelError(
        f"Facebook refused {action}: {error.said}{code}{error.trace}.", channel=channel
    )


def _without_error_object(
    status: int, headers: Mapping[str, str], *, channel: str, action: str, now: datetime
) -> ChannelError:
    if status == 429 or status >= 500:
        return RetryableChannelError(
            f"Facebook answered HTTP {status} to {action}; will try again",
            channel=channel,
            retry_after=retry_after(headers, now=now),
            reached=status >= 500,
        )
    if 200 <= status < 300:
        return RetryableChannelError(
            f"Facebook answered {action} with something that is not a Graph answer; will try again",
            channel=channel,
        )
    return PermanentChannelError(
        f"Facebook answered HTTP {status} to {action} without saying why; check the "
        f"base_url and api_version options of channel '{channel}'",
        channel=channel,
    )

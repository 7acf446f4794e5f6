"""How the X adapter turns tweepy's and requests' exceptions into channel errors.

tweepy raises one exception class per HTTP status and leaves network trouble
(``requests.ConnectionError``, ``requests.Timeout``) unwrapped; both end here.
The message staff read says what X said (redacted: X may echo a token back)
and what to do; which credentials to fix depends on how the request was
authenticated: the account's OAuth 1.0a tokens or the app's Bearer token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

import requests
import tweepy

from visibility.adapters.http import network_error, redact, retry_after
from visibility.errors import (
    ChannelError,
    CredentialsError,
    DuplicateContentError,
    PermanentChannelError,
    RetryableChannelError,
)

Auth = Literal["user", "app"]

DUPLICATE_DETAIL: Final = "You are not allowed to create a Tweet with duplicate content."
_MAX_SAID: Final = 300
# Generic problem texts that say less than the ``errors`` entries next to them.
_GENERIC = frozenset(
    {
        "One or more parameters to your request was invalid.",
        "Invalid Request",
        "Forbidden",
        "Unauthorized",
        "Too Many Requests",
    }
)

CHECK_HINT: Final = "then run `visibility channels check`"
USER_TOKENS_FIX: Final = (
    "in the X developer portal open the app's Keys and tokens, re-create the access token "
    "and secret (and check the API key and secret), put the new values in the channel's "
    f"api_key, api_secret, access_token and access_token_secret secrets, {CHECK_HINT}"
)
BEARER_FIX: Final = (
    "in the X developer portal open the app's Keys and tokens, regenerate the Bearer token "
    "and put it in the channel's bearer_token secret (or remove that secret to read with the "
    f"account's own tokens), {CHECK_HINT}"
)
WRITE_PERMISSION_FIX: Final = (
    'in the X developer portal set the app\'s permissions to "Read and write" (User '
    "authentication settings), then regenerate the access token and secret (tokens made "
    "before the change stay read-only), put them in the channel's access_token and "
    f"access_token_secret secrets, {CHECK_HINT}"
)


def platform_message(response: Any, secrets: Iterable[str] = ()) -> str:
    """What X said in an error answer, in one line, with any secret blanked out."""
    status = getattr(response, "status_code", None)
    reason = getattr(response, "reason", None) or ""
    try:
        body = response.json()
    except (ValueError, AttributeError):
        body = None
    said: list[str] = []
    if isinstance(body, Mapping):
        for error in body.get("errors") or []:
            if isinstance(error, Mapping):
                text = error.get("message") or error.get("detail")
            else:
                text = error if isinstance(error, str) else None
            if text and str(text) not in said:
                said.append(str(text))
        for key in ("detail", "title", "error"):
            text = body.get(key)
            if isinstance(text, str) and text and text not in said:
                if not said or text not in _GENERIC:
                    said.append(text)
                break
    if not said:
        said.append(f"{status} {reason}".strip())
    text = " ".join(" ".join(said).split())
    if len(text) > _MAX_SAID:
        text = text[: _MAX_SAID - 1].rstrip() + "…"
    return redact(text, secrets)


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _problem_type(response: Any) -> str:
    try:
        body = response.json()
    except (ValueError, AttributeError):
        return ""
    return str(body.get("type", "")) if isinstance(body, Mapping) else ""


def refuses_private_metrics(exc: Exception) -> bool:
    """Whether ``exc`` is X refusing ``non_public_metrics`` to the app as a whole.

    X answers 403 with a ``client-forbidden`` problem (``reason``
    ``client-not-enrolled``) when the app's plan or Project does not cover what
    was asked, and may name the field itself in a ``not-authorized-for-field``
    problem.
    """
    if not isinstance(exc, tweepy.Forbidden):
        return False
    try:
        body = exc.response.json()
    except (ValueError, AttributeError):
        return False
    if not isinstance(body, Mapping):
        return False
    kind = str(body.get("type", ""))
    return (
        kind.endswith(("/client-forbidden", "/not-authorized-for-field"))
        or body.get("reason") == "client-not-enrolled"
        or "non_public_metrics" in str(body.get("detail", ""))
    )


def field_refusals(
    answer: Any, field: str, asked: Iterable[str], secrets: Iterable[str] = ()
) -> dict[str, str]:
    """The ids of ``asked`` that X's lookup answer refused ``field`` for, with X's words.

    X leaves such a tweet out of ``data`` and puts a ``not-authorized-for-field``
    error for it under ``errors``, naming the id in ``resource_id``/``value``
    (and in its ``detail``: "... on the Tweet with ids: 1, 2.").
    """
    errors = answer.get("errors") if isinstance(answer, Mapping) else None
    wanted = set(asked)
    secrets = tuple(secrets)
    refused: dict[str, str] = {}
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, Mapping):
            continue
        kind = str(error.get("type", ""))
        if not (kind.endswith("/not-authorized-for-field") or error.get("field") == field):
            continue
        detail = " ".join(str(error.get("detail") or error.get("title") or "").split())
        named = {str(error.get(key)) for key in ("resource_id", "value") if error.get(key)}
        named |= set(re.findall(r"\d+", detail.partition("ids:")[2]))
        for tweet_id in named & wanted:
            refused[tweet_id] = redact(detail[:_MAX_SAID], secrets)
    return refused


def _user_limit_reset(headers: Mapping[str, str]) -> datetime | None:
    """X's 24-hour posting cap, which can run out while the 15-minute window has room."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if lowered.get("x-user-limit-24hour-remaining", "").strip() != "0":
        return None
    reset = lowered.get("x-user-limit-24hour-reset", "").strip()
    return datetime.fromtimestamp(int(reset), UTC) if reset.isdigit() else None


def _rate_limited(exc: Any, *, channel: str, action: str) -> RetryableChannelError:
    headers: Mapping[str, str] = getattr(exc.response, "headers", {}) or {}
    when = retry_after(headers)
    daily = _user_limit_reset(headers)
    if daily is not None and (when is None or daily > when):
        when = daily
        what = "the account's 24-hour posting limit on X is used up"
    else:
        what = f"X's rate limit for {action} is used up"
    if when is None:
        message = f"{what} and X did not say when it resets; will try again later"
    else:
        message = f"{what}; will try again after {when:%Y-%m-%d %H:%M} UTC"
    # X refuses a rate-limited request before acting on it.
    return RetryableChannelError(message, channel=channel, retry_after=when, reached=False)


def _forbidden(exc: Any, said: str, *, channel: str, action: str, auth: Auth) -> ChannelError:
    kind = _problem_type(exc.response)
    lowered = said.lower()
    if "duplicate content" in lowered:
        return DuplicateContentError(
            "X refused the tweet as a duplicate: this account already posted exactly this "
            "text. Change the text (or delete the earlier tweet on X) before publishing again",
            channel=channel,
        )
    if "reply to a tweet that is deleted" in lowered or "not visible to you" in lowered:
        return PermanentChannelError(f"X refused {action}: {said}", channel=channel)
    if kind.endswith("/unsupported-authentication"):
        fix = USER_TOKENS_FIX if auth == "user" else BEARER_FIX
        return CredentialsError(
            f"X refused {action} with this kind of credentials ({said}): {fix}", channel=channel
        )
    if kind.endswith("/client-not-enrolled") or "attached to a project" in lowered:
        return CredentialsError(
            f"X refused {action} ({said}): in the X developer portal attach the app to a "
            f"Project, {CHECK_HINT}",
            channel=channel,
        )
    return CredentialsError(
        f"X refused {action}; the app or account lacks a permission ({said}): "
        f"{WRITE_PERMISSION_FIX}",
        channel=channel,
    )


def translate(
    exc: Exception,
    *,
    channel: str,
    action: str,
    auth: Auth,
    base_url: str,
    timeout: float,
    secrets: Iterable[str],
) -> ChannelError:
    """The channel error for ``exc``, raised while ``action`` (e.g. "posting the tweet")."""
    if isinstance(exc, requests.RequestException):
        return network_error(exc, channel=channel, url=base_url, timeout=timeout)
    if not isinstance(exc, tweepy.HTTPException):
        return PermanentChannelError(
            f"{action} failed unexpectedly ({type(exc).__name__})", channel=channel
        )
    response = exc.response
    status = getattr(response, "status_code", 0)
    said = platform_message(response, secrets)
    if isinstance(exc, tweepy.TooManyRequests):
        return _rate_limited(exc, channel=channel, action=action)
    if isinstance(exc, tweepy.TwitterServerError):
        # X may have acted before failing: ``reached`` stays True.
        return RetryableChannelError(
            f"X answered {status} while {action} ({said}); will try again", channel=channel
        )
    if isinstance(exc, tweepy.Unauthorized):
        if auth == "app":
            return CredentialsError(
                f"X rejected the app's Bearer token while {action} ({said}): {BEARER_FIX}",
                channel=channel,
            )
        return CredentialsError(
            f"X rejected the account's credentials while {action} ({said}): {USER_TOKENS_FIX}",
            channel=channel,
        )
    if isinstance(exc, tweepy.Forbidden):
        return _forbidden(exc, said, channel=channel, action=action, auth=auth)
    if isinstance(exc, tweepy.BadRequest) and "too long" in said.lower():
        return PermanentChannelError(
            f"X refused {action}: {_sentence(said)} Shorten the text to 280 characters as X "
            "counts them, or set options.thread = true on the channel to post it as a thread",
            channel=channel,
        )
    if status == 402:
        return PermanentChannelError(
            f"X refused {action}: {_sentence(said)} The app's API plan has no credits or "
            "access for this: check its plan in the X developer portal",
            channel=channel,
        )
    return PermanentChannelError(f"X refused {action} ({status}): {said}", channel=channel)


_TOO_LARGE = re.compile(r"size exceeds|too large|too big|exceeds? .*bytes|\b413\b", re.I)
_WRONG_TYPE = re.compile(
    r"media type|unrecognized|unsupported|not supported|invalid media|format|\b415\b", re.I
)
_MEDIA_IDS = re.compile(r"media ids? (are|is) invalid|invalid media id", re.I)


def media_refusal(picture: str, said: str, status: int) -> str:
    """Why X refused ``picture`` ("picture 2 (…)"), in words staff can act on."""
    if _TOO_LARGE.search(said) or status == 413:
        return (
            f"X refused {picture} as too large ({said}): X takes pictures up to 5 MB; replace "
            "it with a smaller one on the news item page, then publish the post again"
        )
    if _WRONG_TYPE.search(said) or status == 415:
        return (
            f"X refused {picture}: it does not take this kind of file ({said}); replace it "
            "with a JPEG or PNG picture on the news item page, then publish the post again"
        )
    return f"X refused {picture} ({status}): {said}"


def refuses_media_ids(exc: BaseException) -> bool:
    """Whether ``exc`` is X refusing a post's ``media.media_ids`` (unknown or expired ids)."""
    if not isinstance(exc, tweepy.BadRequest):
        return False
    return bool(_MEDIA_IDS.search(platform_message(exc.response)))

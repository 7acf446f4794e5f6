"""An emulator of X's API v2 for the endpoints the X adapter uses.

It answers like api.twitter.com does: the same status codes, the same JSON
error documents (``title``/``detail``/``type`` problems, ``errors`` arrays for
lookups), and ``x-rate-limit-*`` headers on every answer. Authentication is
checked the way X checks it: writes need OAuth 1.0a user context, whose
HMAC-SHA1 signature is verified over the *real* URL
(``https://api.twitter.com/...``), because the adapter signs for X and only
then sends the request here; an app-only Bearer token is accepted for reads
and refused for writes.

Tweets' ``public_metrics`` grow with the seconds since posting (a
deterministic function, see :func:`grown_metrics`); tests pin them with
:meth:`XEmulator.set_metrics` or move time with :meth:`XEmulator.advance`.
``non_public_metrics`` (``impression_count``, ``url_link_clicks``,
``user_profile_clicks``, see :func:`grown_private_metrics`) are given as X
gives them: only to OAuth 1.0a user context, only for the authenticating
account's own tweets, only for tweets under 30 days old. Any other tweet asked
for with that field is left out of ``data`` and answered with X's
``not-authorized-for-field`` error for its id. ``private_metrics`` simulates
an app whose plan lacks the field: ``"client-forbidden"`` (X's 403
``client-not-enrolled`` problem for the whole lookup) or ``"field-errors"``
(the per-id error for every tweet).

As on X, every URL in a tweet (with or without ``https://``, as twitter-text
finds them) is kept as a ``https://t.co/...`` link: answers carry that text,
with ``&``, ``<`` and ``>`` HTML-escaped as API v2 sends them.
``PostedTweet.text`` keeps what the client sent, ``stored_text`` what X shows.
The user timeline (``GET /2/users/:id/tweets``) answers newest first, filtered
by ``start_time``/``end_time`` and ``exclude``, paged with ``next_token``,
over the account's 3200 most recent tweets.

Media (``emulators.x_media``): the v2 upload endpoints, one-shot and chunked,
processing status and alt text, signed and rate-limited like the rest. A post
may carry up to four uploaded media ids (``media.media_ids``); an id that is
unknown, another account's, unprocessed or expired is refused with X's "Your
media IDs are invalid.". X shows a post's media as one more t.co link at the
end of its text, and so does the emulator (``PostedTweet.media_ids`` keeps them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import math
import re
import secrets
import string
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from oauthlib.oauth1.rfc5849 import utils as oauth_utils

from emulators.server import Emulator, Request, Response, route
from emulators.x_media import INVALID_MEDIA_IDS, MediaStore, UploadedMedia
from visibility.text.tweet import MAX_TWEET_LENGTH, url_spans, weighted_length

REAL_API: Final = "https://api.twitter.com"
_TWEPOCH_MS: Final = 1288834974657  # X's snowflake epoch
_PROBLEM: Final = "https://api.twitter.com/2/problems"
_MAX_IDS: Final = 100
_TIMELINE_DEPTH: Final = 3200  # X serves only an account's most recent tweets
_TCO_LENGTH: Final = 10
#: X gives ``non_public_metrics`` only for tweets created within this many seconds.
PRIVATE_METRICS_SECONDS: Final = 30 * 24 * 3600
PUBLIC_METRICS: Final = (
    "retweet_count",
    "reply_count",
    "like_count",
    "quote_count",
    "bookmark_count",
    "impression_count",
)
PRIVATE_METRICS: Final = ("impression_count", "url_link_clicks", "user_profile_clicks")

PrivateMetrics = Literal["granted", "client-forbidden", "field-errors"]

# Requests per window for the endpoints whose limit tests do not set.
_FIXED_LIMITS: Final = {
    "delete": 50,
    "me": 75,
    "lookup": 900,
    "user": 900,
    "timeline": 900,
    # The media endpoints' per-user limits of the X API v2 rate-limit table.
    "media-upload": 500,
    "media-chunked": 1875,
    "media-status": 1875,
    "media-metadata": 500,
}
#: The most pictures one post may carry.
MAX_MEDIA_IDS: Final = 4
_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


@dataclass
class XAccount:
    """A user who authorised the emulated app: its access token and secret."""

    user_id: str
    username: str
    name: str
    access_token: str
    access_token_secret: str
    #: False for a token made while the app had "Read" permission only.
    can_write: bool = True


@dataclass
class PostedTweet:
    id: str
    text: str
    author_id: str
    created_at: float
    in_reply_to_tweet_id: str | None = None
    deleted: bool = False
    #: Pinned by set_metrics (public and non-public names); else grown.
    metrics: dict[str, int] | None = None
    #: The text as X keeps and shows it: NFC, every URL a t.co link.
    stored_text: str = ""
    #: The media attached to it, in order.
    media_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.stored_text:
            self.stored_text = shorten_links(self.text)
            if self.media_ids:
                # X shows a post's pictures as one more t.co link at the end of its text.
                link = "https://t.co/" + _random(_TCO_LENGTH)
                self.stored_text = f"{self.stored_text} {link}" if self.stored_text else link


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def shorten_links(text: str) -> str:
    """``text`` as X stores it: NFC, each URL replaced by a new ``https://t.co/...`` link."""
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    position = 0
    for start, end in url_spans(text):
        pieces += [text[position:start], "https://t.co/" + _random(_TCO_LENGTH)]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def grown_metrics(age_seconds: float) -> dict[str, int]:
    """``public_metrics`` of a tweet ``age_seconds`` old: all grow, never shrink."""
    age = max(0.0, age_seconds)
    return {
        "retweet_count": int(age // 60),
        "reply_count": int(age // 90),
        "like_count": int(age // 20),
        "quote_count": int(age // 300),
        "bookmark_count": int(age // 120),
        "impression_count": int(age * 5),
    }


def grown_private_metrics(age_seconds: float) -> dict[str, int]:
    """``non_public_metrics`` of a tweet ``age_seconds`` old (impressions as in public)."""
    age = max(0.0, age_seconds)
    return {
        "impression_count": int(age * 5),
        "url_link_clicks": int(age // 40),
        "user_profile_clicks": int(age // 200),
    }


def _shown(tweet: PostedTweet) -> str:
    """A tweet's ``text`` as API v2 answers it: t.co links, and ``&<>`` HTML-escaped."""
    return html.escape(tweet.stored_text, quote=False)


def _rfc3339(value: str) -> float | None:
    if not _RFC3339.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int(seconds * 1000) % 1000:03d}Z"
    )


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Response:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return Response(status, body, {"Content-Type": "application/problem+json"})


def _unauthorized() -> Response:
    return _problem(401, "Unauthorized", "Unauthorized")


def _app_only_forbidden() -> Response:
    return _problem(
        403,
        "Unsupported Authentication",
        "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
        "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
        f"{_PROBLEM}/unsupported-authentication",
    )


def _invalid_request(*messages: str, parameters: dict[str, Any] | None = None) -> Response:
    errors = [{"parameters": parameters or {}, "message": m} for m in messages]
    body = {
        "errors": errors,
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": f"{_PROBLEM}/invalid-request",
    }
    return Response(400, body, {"Content-Type": "application/problem+json"})


def _client_forbidden(client_id: str) -> Response:
    """X's answer when the app's plan or Project does not cover what was asked."""
    body = {
        "client_id": client_id,
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project. You can "
        "create a project via the developer portal.",
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": f"{_PROBLEM}/client-forbidden",
    }
    return Response(403, body, {"Content-Type": "application/json; charset=utf-8"})


def _write_refused(account: XAccount) -> Response | None:
    """X's answer to a write by a token made while the app could only read."""
    if account.can_write:
        return None
    return _problem(
        403,
        "Forbidden",
        "Your client app is not configured with the appropriate oauth1 app "
        "permissions for this endpoint.",
        f"{_PROBLEM}/oauth1-permissions",
    )


def _media_ids(media: Any) -> tuple[str, ...] | Response:
    """The ``media.media_ids`` of a post, checked as X checks their shape."""
    if media is None:
        return ()
    ids = media.get("media_ids") if isinstance(media, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_MEDIA_IDS:
        return _invalid_request(
            f"The `media.media_ids` field must hold between 1 and {MAX_MEDIA_IDS} ids",
            parameters={"media.media_ids": [str(ids)]},
        )
    bad = [i for i in ids if not isinstance(i, str) or not re.fullmatch(r"[0-9]{1,19}", i)]
    if bad:
        return _invalid_request(
            *(f"The `media.media_ids` value [{i}] does not match ^[0-9]{{1,19}}$" for i in bad),
            parameters={"media.media_ids": [str(i) for i in ids]},
        )
    return tuple(ids)


def _field_refused(tweet_id: str, field_name: str) -> dict[str, str]:
    """X's per-id error for a field the caller may not see on that tweet."""
    return {
        "value": tweet_id,
        "detail": f"Sorry, you are not authorized to access '{field_name}' on the Tweet with "
        f"ids: {tweet_id}.",
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": "tweet.fields",
        "resource_id": tweet_id,
        "type": f"{_PROBLEM}/not-authorized-for-field",
        "field": field_name,
        "section": "data",
    }


def _not_found_error(value: str, resource: str, parameter: str) -> dict[str, str]:
    return {
        "value": value,
        "detail": f"Could not find {resource} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource,
        "parameter": parameter,
        "resource_id": value,
        "type": f"{_PROBLEM}/resource-not-found",
    }


@dataclass
class _Caller:
    kind: str  # "user" (OAuth 1.0a) or "app" (Bearer)
    account: XAccount | None = None

    @property
    def subject(self) -> str:
        return self.account.user_id if self.account else "app"


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class SignedRequest:
    """One OAuth 1.0a request whose signature verified, and the URL it was signed for."""

    method: str
    url: str
    consumer_key: str
    token: str
    params: dict[str, str] = field(default_factory=dict)


class XEmulator(Emulator):
    """X's API v2 on loopback: post, delete and look up tweets, read the account."""

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        bearer_token: str | None = None,
        accounts: Sequence[XAccount] | None = None,
        post_limit: int = 100,
        window_seconds: int = 900,
        max_clock_skew: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        # Fresh random credentials unless given: tests read them off the emulator.
        self.consumer_key = consumer_key or _random(25)
        self.consumer_secret = consumer_secret or _random(50)
        self.bearer_token = bearer_token or "AAAAAAAAAAAAAAAAAAAAA" + _random(80)
        if accounts is None:
            accounts = [
                XAccount(
                    user_id="1580000000000000001",
                    username="QendraBurimore",
                    name="Qendra Burimore",
                    access_token="1580000000000000001-" + _random(30),
                    access_token_secret=_random(45),
                )
            ]
        self.accounts: dict[str, XAccount] = {a.access_token: a for a in accounts}
        self.post_limit = self._initial_post_limit = post_limit
        self.window_seconds = window_seconds
        self.max_clock_skew = max_clock_skew
        self._clock = clock
        self._offset = 0.0
        self._tweets: dict[str, PostedTweet] = {}
        self._windows: dict[tuple[str, str], _Window] = {}
        self._nonces: set[tuple[str, str, str]] = set()
        self._sequence = 0
        self._page_tokens: dict[str, str] = {}  # next_token → the id the page ends after
        #: Every OAuth 1.0a request whose signature verified, in order.
        self.signed: list[SignedRequest] = []
        #: Whether the app's plan gives ``non_public_metrics``, and how X refuses them if not.
        self.private_metrics: PrivateMetrics = "granted"
        self.client_id = str(20_000_000 + secrets.randbelow(9_000_000))
        #: Uploaded media (see ``emulators.x_media``).
        self.media = MediaStore(now=self.now, new_id=self._new_id)

    def start(self) -> XEmulator:
        super().start()
        return self

    def __enter__(self) -> XEmulator:
        return self.start()

    # -- helpers for tests ----------------------------------------------------

    @property
    def account(self) -> XAccount:
        """The first (by default the only) account."""
        return next(iter(self.accounts.values()))

    def reset(self) -> None:
        """Forget tweets, requests, faults, rate-limit windows and clock moves.

        Lets one running emulator serve many tests; credentials and accounts stay.
        """
        with self.lock:
            self._tweets.clear()
            self._windows.clear()
            self._nonces.clear()
            self.signed.clear()
            self._page_tokens.clear()
            self.requests.clear()
            self.faults.clear()
            self._offset = 0.0
            self.post_limit = self._initial_post_limit
            self.private_metrics = "granted"
            self.media.reset()

    def now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock on (metrics grow, rate-limit windows end)."""
        with self.lock:
            self._offset += seconds

    @property
    def tweets(self) -> dict[str, list[PostedTweet]]:
        """What each account (by username) posted and has not deleted, oldest first."""
        by_id = {a.user_id: a.username for a in self.accounts.values()}
        result: dict[str, list[PostedTweet]] = {a.username: [] for a in self.accounts.values()}
        with self.lock:
            for tweet in self._tweets.values():
                if not tweet.deleted:
                    result[by_id[tweet.author_id]].append(tweet)
        return result

    def tweet(self, tweet_id: str) -> PostedTweet:
        return self._tweets[tweet_id]

    def post(
        self,
        text: str,
        *,
        username: str | None = None,
        age_seconds: float = 0.0,
        in_reply_to: str | None = None,
        media_ids: Sequence[str] = (),
    ) -> PostedTweet:
        """Put a tweet in place without a request (posted ``age_seconds`` ago)."""
        account = self.account
        if username is not None:
            account = next(a for a in self.accounts.values() if a.username == username)
        created = self.now() - age_seconds
        tweet = PostedTweet(
            id=self._new_id(created),
            text=text,
            author_id=account.user_id,
            created_at=created,
            in_reply_to_tweet_id=in_reply_to,
            media_ids=tuple(media_ids),
        )
        with self.lock:
            self._tweets[tweet.id] = tweet
        return tweet

    def set_metrics(self, tweet_id: str, **counts: int) -> None:
        """Pin a tweet's metrics (names as X spells them: ``like_count``, ``url_link_clicks``).

        ``impression_count`` is one figure, shown in both ``public_metrics`` and
        ``non_public_metrics``.
        """
        with self.lock:
            tweet = self._tweets[tweet_id]
            age = self.now() - tweet.created_at
            base = tweet.metrics or {**grown_metrics(age), **grown_private_metrics(age)}
            unknown = set(counts) - set(base)
            if unknown:
                raise KeyError(f"unknown metrics: {sorted(unknown)}")
            tweet.metrics = {**base, **counts}

    @property
    def uploads(self) -> list[UploadedMedia]:
        """Every media upload made (finished or not), oldest first."""
        with self.lock:
            return self.media.uploads

    def process_next(self, *, polls: int = 1, failure: str | None = None) -> None:
        """Process the next finished upload asynchronously, as X does for some media: its
        state is ``pending`` until ``polls`` status requests, then ``succeeded`` (or
        ``failed`` with ``failure`` as X's message)."""
        with self.lock:
            self.media.process_next(polls=polls, failure=failure)

    def deny_private_metrics(self, style: PrivateMetrics = "client-forbidden") -> None:
        """Act as for an app whose plan gives no ``non_public_metrics`` (``granted`` undoes it)."""
        with self.lock:
            self.private_metrics = style

    def calls(self, path: str, method: str | None = None) -> list[Request]:
        """Requests that arrived for ``path`` (a regex matched against the whole path)."""
        pattern = re.compile(path)
        with self.lock:
            return [
                r
                for r in self.requests
                if pattern.fullmatch(r.path) and (method is None or r.method == method)
            ]

    # -- authentication -------------------------------------------------------

    def _authenticate(self, request: Request) -> _Caller | Response:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme == "Bearer":
            if credentials and hmac.compare_digest(credentials, self.bearer_token):
                return _Caller("app")
            return _unauthorized()
        if scheme == "OAuth":
            account = self._verify_oauth1(request, header)
            return _Caller("user", account) if account else _unauthorized()
        return _unauthorized()

    def _verify_oauth1(self, request: Request, header: str) -> XAccount | None:
        try:
            params = {
                oauth_utils.unescape(k): oauth_utils.unescape(v)
                for k, v in oauth_utils.parse_authorization_header(header)
            }
        except (ValueError, IndexError):
            return None
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return None
        if params.get("oauth_version", "1.0") != "1.0":
            return None
        if params.get("oauth_consumer_key") != self.consumer_key:
            return None
        account = self.accounts.get(params.get("oauth_token", ""))
        if account is None:
            return None
        try:
            stamp = int(params.get("oauth_timestamp", ""))
        except ValueError:
            return None
        # Against the real clock: the client stamps with it, whatever advance() did.
        if abs(self._clock() - stamp) > self.max_clock_skew:
            return None
        nonce_key = (self.consumer_key, params.get("oauth_nonce", ""), str(stamp))
        if not nonce_key[1] or nonce_key in self._nonces:
            return None  # X refuses a replayed nonce

        real_url = REAL_API + request.path
        query = urlsplit(request.url).query
        body: str | None = None
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            body = request.body.decode("utf-8")
        collected = oauth_signature.collect_parameters(
            uri_query=query,
            body=body,
            headers={"Authorization": header},
            exclude_oauth_signature=True,
        )
        base = oauth_signature.signature_base_string(
            request.method,
            oauth_signature.base_string_uri(real_url),
            oauth_signature.normalize_parameters(collected),
        )
        # RFC 5849 section 3.4.2: the key is both secrets, encoded, joined by "&".
        key = "&".join(
            oauth_utils.escape(s) for s in (self.consumer_secret, account.access_token_secret)
        )
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, params.get("oauth_signature", "")):
            return None
        with self.lock:
            self._nonces.add(nonce_key)
            self.signed.append(
                SignedRequest(
                    method=request.method,
                    url=real_url,
                    consumer_key=self.consumer_key,
                    token=account.access_token,
                    params={k: v for k, v in params.items() if k != "oauth_signature"},
                )
            )
        return account

    # -- rate limits ------------------------------------------------------------

    def _limit_for(self, bucket: str) -> int:
        return self.post_limit if bucket == "post" else _FIXED_LIMITS[bucket]

    def _window(self, bucket: str, subject: str) -> _Window:
        now = self.now()
        with self.lock:
            window = self._windows.get((bucket, subject))
            if window is None or now >= window.start + self.window_seconds:
                window = self._windows[(bucket, subject)] = _Window(start=now)
            return window

    def _headers(self, bucket: str, window: _Window) -> dict[str, str]:
        limit = self._limit_for(bucket)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - window.used)),
            # Rounded up, as X does: a client honouring it never comes back early.
            "x-rate-limit-reset": str(math.ceil(window.start + self.window_seconds)),
        }

    def _spend(self, bucket: str, subject: str) -> tuple[bool, dict[str, str]]:
        """Count one request; ``False`` when the window's allowance was already used."""
        with self.lock:
            window = self._window(bucket, subject)
            allowed = window.used < self._limit_for(bucket)
            if allowed:
                window.used += 1
            return allowed, self._headers(bucket, window)

    def _answer(
        self,
        request: Request,
        bucket: str,
        handler: Callable[[_Caller], Response],
        *,
        user_only: bool = False,
    ) -> Response:
        caller = self._authenticate(request)
        if isinstance(caller, Response):
            caller.headers.update(self._headers(bucket, self._window(bucket, "anonymous")))
            return caller
        if user_only and caller.kind != "user":
            response = _app_only_forbidden()
            response.headers.update(self._headers(bucket, self._window(bucket, caller.subject)))
            return response
        allowed, headers = self._spend(bucket, caller.subject)
        if not allowed:
            response = _problem(429, "Too Many Requests", "Too Many Requests")
        else:
            response = handler(caller)
        response.headers.update(headers)
        return response

    # -- ids --------------------------------------------------------------------

    def _new_id(self, at: float | None = None) -> str:
        """A snowflake id: the creation time in its high bits, so ids sort by time."""
        with self.lock:
            self._sequence = (self._sequence + 1) % 4096
            millis = int((self.now() if at is None else at) * 1000) - _TWEPOCH_MS
            return str((millis << 22) | (1 << 17) | self._sequence)

    def _public_metrics(self, tweet: PostedTweet) -> dict[str, int]:
        if tweet.metrics is not None:
            return {k: tweet.metrics[k] for k in PUBLIC_METRICS}
        return grown_metrics(self.now() - tweet.created_at)

    def _private_metrics(self, tweet: PostedTweet) -> dict[str, int]:
        if tweet.metrics is not None:
            return {k: tweet.metrics[k] for k in PRIVATE_METRICS}
        return grown_private_metrics(self.now() - tweet.created_at)

    def _may_see_private(self, tweet: PostedTweet, caller: _Caller) -> bool:
        """X's rule: user context, the caller's own tweet, created in the last 30 days."""
        return (
            self.private_metrics == "granted"
            and caller.kind == "user"
            and caller.account is not None
            and tweet.author_id == caller.account.user_id
            and self.now() - tweet.created_at < PRIVATE_METRICS_SECONDS
        )

    # -- routes -----------------------------------------------------------------

    @route("POST", r"/2/tweets")
    def create_tweet(self, request: Request) -> Response:
        return self._answer(request, "post", lambda c: self._create(request, c), user_only=True)

    def _create(self, request: Request, caller: _Caller) -> Response:
        account = caller.account
        assert account is not None
        refused = _write_refused(account)
        if refused is not None:
            return refused
        try:
            payload = request.json()
        except ValueError:
            return _invalid_request("Request body is not valid JSON")
        if not isinstance(payload, dict):
            return _invalid_request("Request body must be a JSON object")
        media_ids = _media_ids(payload.get("media"))
        if isinstance(media_ids, Response):
            return media_ids
        text = payload.get("text", "")
        if not isinstance(text, str) or not (text.strip() or media_ids):
            return _invalid_request(
                "Requires at least one of: text, media.media_ids, quote_tweet_id, "
                "poll.options, card_uri"
            )
        if weighted_length(text) > MAX_TWEET_LENGTH:
            return _invalid_request(
                "Your Tweet text is too long. For more information on how Twitter "
                "determines text length see https://github.com/twitter/twitter-text."
            )
        reply = payload.get("reply") or {}
        parent_id = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        with self.lock:
            if self.media.refused_for_post(media_ids, account.user_id):
                # Unknown, another account's, unprocessed or expired: X names no culprit.
                return _invalid_request(
                    INVALID_MEDIA_IDS, parameters={"media.media_ids": list(media_ids)}
                )
            if parent_id is not None:
                parent = self._tweets.get(str(parent_id))
                if parent is None or parent.deleted:
                    return _problem(
                        403,
                        "Forbidden",
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                    )
            for earlier in self._tweets.values():
                mine = earlier.author_id == account.user_id and not earlier.deleted
                if mine and text.strip() and earlier.text == text:
                    return _problem(
                        403,
                        "Forbidden",
                        "You are not allowed to create a Tweet with duplicate content.",
                    )
            tweet = PostedTweet(
                id=self._new_id(),
                text=text,
                author_id=account.user_id,
                created_at=self.now(),
                in_reply_to_tweet_id=None if parent_id is None else str(parent_id),
                media_ids=tuple(media_ids),
            )
            self._tweets[tweet.id] = tweet
        data = {"id": tweet.id, "text": _shown(tweet), "edit_history_tweet_ids": [tweet.id]}
        return Response(201, {"data": data})

    @route("DELETE", r"/2/tweets/(?P<id>[^/]+)")
    def delete_tweet(self, request: Request) -> Response:
        return self._answer(request, "delete", lambda c: self._delete(request, c), user_only=True)

    def _delete(self, request: Request, caller: _Caller) -> Response:
        tweet_id = request.params["id"]
        if not tweet_id.isdigit():
            return _invalid_request(
                f"The `id` query parameter value [{tweet_id}] does not match ^[0-9]{{1,19}}$",
                parameters={"id": [tweet_id]},
            )
        with self.lock:
            tweet = self._tweets.get(tweet_id)
            if tweet is None or tweet.deleted:
                error = _not_found_error(tweet_id, "tweet", "id")
                body = {
                    "errors": [error],
                    "title": "Not Found Error",
                    "detail": error["detail"],
                    "type": error["type"],
                }
                return Response(404, body, {"Content-Type": "application/problem+json"})
            assert caller.account is not None
            if tweet.author_id != caller.account.user_id:
                return _problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
            tweet.deleted = True
        return Response(200, {"data": {"deleted": True}})

    @route("GET", r"/2/tweets")
    def lookup_tweets(self, request: Request) -> Response:
        return self._answer(request, "lookup", lambda c: self._lookup(request, c))

    def _lookup(self, request: Request, caller: _Caller) -> Response:
        raw = request.arg("ids")
        if not raw:
            return _invalid_request("The `ids` query parameter can not be empty")
        ids = raw.split(",")
        if len(ids) > _MAX_IDS:
            return _invalid_request(
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not "
                f"between 1 and {_MAX_IDS}",
                parameters={"ids": [raw]},
            )
        bad = [i for i in ids if not re.fullmatch(r"[0-9]{1,19}", i)]
        if bad:
            return _invalid_request(
                *(f"The `ids` query parameter value [{i}] is not valid" for i in bad),
                parameters={"ids": [raw]},
            )
        fields = set((request.arg("tweet.fields") or "").split(","))
        private = "non_public_metrics" in fields
        if private and self.private_metrics == "client-forbidden":
            return _client_forbidden(self.client_id)
        data: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        with self.lock:
            for tweet_id in ids:
                tweet = self._tweets.get(tweet_id)
                if tweet is None or tweet.deleted:
                    errors.append(_not_found_error(tweet_id, "tweet", "ids"))
                    continue
                if private and not self._may_see_private(tweet, caller):
                    # X leaves the whole tweet out, not just the field.
                    errors.append(_field_refused(tweet_id, "non_public_metrics"))
                    continue
                item: dict[str, Any] = {
                    "id": tweet.id,
                    "text": _shown(tweet),
                    "edit_history_tweet_ids": [tweet.id],
                }
                if "created_at" in fields:
                    item["created_at"] = _iso(tweet.created_at)
                if "public_metrics" in fields:
                    item["public_metrics"] = self._public_metrics(tweet)
                if private:
                    item["non_public_metrics"] = self._private_metrics(tweet)
                if "author_id" in fields:
                    item["author_id"] = tweet.author_id
                item.update(self._attachments(tweet, fields))
                data.append(item)
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return Response(200, body)

    @route("GET", r"/2/users/me")
    def users_me(self, request: Request) -> Response:
        return self._answer(request, "me", self._me, user_only=True)

    def _me(self, caller: _Caller) -> Response:
        account = caller.account
        assert account is not None
        body = {"data": {"id": account.user_id, "name": account.name, "username": account.username}}
        return Response(200, body)

    @route("GET", r"/2/users/(?P<id>[0-9]+)")
    def user_by_id(self, request: Request) -> Response:
        return self._answer(request, "user", lambda c: self._user(request.params["id"]))

    def _user(self, user_id: str) -> Response:
        for account in self.accounts.values():
            if account.user_id == user_id:
                data = {"id": user_id, "name": account.name, "username": account.username}
                return Response(200, {"data": data})
        return Response(200, {"errors": [_not_found_error(user_id, "user", "id")]})

    @route("GET", r"/2/users/(?P<id>[^/]+)/tweets")
    def user_tweets(self, request: Request) -> Response:
        return self._answer(request, "timeline", lambda c: self._timeline(request))

    def _timeline(self, request: Request) -> Response:
        user_id = request.params["id"]
        if not re.fullmatch(r"[0-9]{1,19}", user_id):
            return _invalid_request(
                f"The `id` query parameter value [{user_id}] does not match ^[0-9]{{1,19}}$",
                parameters={"id": [user_id]},
            )
        raw_max = request.arg("max_results", "10") or ""
        if not raw_max.isdigit() or not 5 <= int(raw_max) <= 100:
            return _invalid_request(
                f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
                parameters={"max_results": [raw_max]},
            )
        limit = int(raw_max)
        excluded = [e for e in (request.arg("exclude") or "").split(",") if e]
        unknown = [e for e in excluded if e not in ("replies", "retweets")]
        if unknown:
            return _invalid_request(
                *(
                    f"The `exclude` query parameter value [{e}] is not one of [replies, retweets]"
                    for e in unknown
                ),
                parameters={"exclude": [request.arg("exclude") or ""]},
            )
        window: dict[str, float] = {}
        for name in ("start_time", "end_time"):
            value = request.arg(name)
            if value is None:
                continue
            when = _rfc3339(value)
            if when is None:
                return _invalid_request(
                    f"Invalid '{name}':'{value}'. '{name}' must be a valid RFC 3339 "
                    "date-time (YYYY-MM-DDTHH:mm:ssZ)",
                    parameters={name: [value]},
                )
            window[name] = when
        if window.get("start_time", 0.0) > self.now() - 10:
            value = request.arg("start_time")
            return _invalid_request(
                f"Invalid 'start_time':'{value}'. 'start_time' must be a minimum of 10 seconds "
                "prior to the request time.",
                parameters={"start_time": [value]},
            )
        token = request.arg("pagination_token")
        with self.lock:
            after_id = self._page_tokens.get(token) if token else None
            if token and after_id is None:
                return _invalid_request(
                    f"The `pagination_token` query parameter value [{token}] is not valid",
                    parameters={"pagination_token": [token]},
                )
            account = next((a for a in self.accounts.values() if a.user_id == user_id), None)
            if account is None:
                return Response(200, {"errors": [_not_found_error(user_id, "user", "id")]})
            theirs = sorted(
                (t for t in self._tweets.values() if t.author_id == user_id and not t.deleted),
                key=lambda t: int(t.id),
                reverse=True,
            )[:_TIMELINE_DEPTH]
            found = [
                t
                for t in theirs
                if not ("replies" in excluded and t.in_reply_to_tweet_id is not None)
                and window.get("start_time", float("-inf")) <= t.created_at
                and t.created_at <= window.get("end_time", float("inf"))
                and (after_id is None or int(t.id) < int(after_id))
            ]
            page, more = found[:limit], len(found) > limit
            next_token = None
            if more:
                next_token = _random(45).lower()
                self._page_tokens[next_token] = page[-1].id
        fields = set((request.arg("tweet.fields") or "").split(","))
        data = [self._timeline_item(t, fields) for t in page]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta = {"newest_id": page[0].id, "oldest_id": page[-1].id, **meta}
        if next_token:
            meta["next_token"] = next_token
        body: dict[str, Any] = {"data": data, "meta": meta} if data else {"meta": meta}
        return Response(200, body)

    def _timeline_item(self, tweet: PostedTweet, fields: set[str]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": tweet.id,
            "text": _shown(tweet),
            "edit_history_tweet_ids": [tweet.id],
        }
        if "created_at" in fields:
            item["created_at"] = _iso(tweet.created_at)
        if "author_id" in fields:
            item["author_id"] = tweet.author_id
        if "public_metrics" in fields:
            item["public_metrics"] = self._public_metrics(tweet)
        if "referenced_tweets" in fields and tweet.in_reply_to_tweet_id:
            item["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to_tweet_id}]
        item.update(self._attachments(tweet, fields))
        return item

    def _attachments(self, tweet: PostedTweet, fields: set[str]) -> dict[str, Any]:
        if "attachments" not in fields or not tweet.media_ids:
            return {}
        with self.lock:
            keys = [
                self.media.media[i].media_key if i in self.media.media else f"3_{i}"
                for i in tweet.media_ids
            ]
        return {"attachments": {"media_keys": keys}}

    # -- media ----------------------------------------------------------------------

    def _media_call(
        self, request: Request, bucket: str, act: Callable[[str], Response], *, write: bool = True
    ) -> Response:
        """A media endpoint: user context only, and a token that may write for uploads."""

        def handle(caller: _Caller) -> Response:
            account = caller.account
            assert account is not None
            refused = _write_refused(account) if write else None
            if refused is not None:
                return refused
            with self.lock:
                return act(account.user_id)

        return self._answer(request, bucket, handle, user_only=True)

    @route("POST", r"/2/media/upload")
    def media_upload(self, request: Request) -> Response:
        return self._media_call(request, "media-upload", lambda u: self.media.upload(request, u))

    @route("GET", r"/2/media/upload")
    def media_status(self, request: Request) -> Response:
        return self._media_call(
            request, "media-status", lambda u: self.media.status(request, u), write=False
        )

    @route("POST", r"/2/media/upload/initialize")
    def media_initialize(self, request: Request) -> Response:
        return self._media_call(
            request, "media-chunked", lambda u: self.media.initialize(request, u)
        )

    @route("POST", r"/2/media/upload/(?P<id>[^/]+)/append")
    def media_append(self, request: Request) -> Response:
        media_id = request.params["id"]
        return self._media_call(
            request, "media-chunked", lambda u: self.media.append(request, u, media_id)
        )

    @route("POST", r"/2/media/upload/(?P<id>[^/]+)/finalize")
    def media_finalize(self, request: Request) -> Response:
        media_id = request.params["id"]
        return self._media_call(
            request, "media-chunked", lambda u: self.media.finalize(request, u, media_id)
        )

    @route("POST", r"/2/media/metadata")
    def media_metadata(self, request: Request) -> Response:
        return self._media_call(
            request, "media-metadata", lambda u: self.media.metadata(request, u)
        )

    def not_found(self, request: Request) -> Response:
        return Response(
            404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
        )

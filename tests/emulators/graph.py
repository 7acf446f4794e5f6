"""An emulator of the Facebook Graph API, for the Facebook Page adapter's tests.

It answers like Graph does, on loopback: routes under ``/v{N}.{M}/``; a Page
access token taken from the ``Authorization`` header (``Bearer`` or
``OAuth``) or an ``access_token`` query or form parameter; Graph's error
objects (``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id"}}``) with HTTP 400; and the usage headers ``X-App-Usage``,
``X-Page-Usage`` and ``X-Business-Use-Case-Usage`` on every answer.

Tests steer it: ``add_page``, ``expire_token``/``invalidate_token``,
``revoke_permission``, ``set_usage``, ``rate_limit``, ``block_word``,
``seed_post``, ``set_engagement``, ``advance`` (the clock engagement grows
with), ``missing_ids_style``, ``retire_metric``, ``reset`` (a fresh Graph on
the same port, so a test module can share one server), and the base
``fail_next``, which here answers Graph's "unexpected error" body for 5xx
statuses. ``posts_on`` and ``errors`` show what it holds and what error
objects it sent.

Post insights come by field expansion, as on Graph:
``fields=insights.metric(post_media_view,post_total_media_view_unique,post_clicks)``
on a post, the feed or an ``ids`` batch, with lifetime values that grow with
the post's age. They need the ``read_insights`` permission (else the whole
call fails with code 10). A metric Meta retired (``post_impressions``,
``post_impressions_unique`` and the rest of the November 2025 list, see
``DEPRECATED_POST_METRICS``), an unknown one, or one retired with
``retire_metric`` fails the whole call with Graph's "(#100) The value must be
a valid insights metric", which does not say which metric it means.

A Page's feed (``GET /{page-id}/feed``) lists its posts newest first, at most
``limit`` (default 25, at most 100) per page, from ``since`` and up to
``until`` (Unix times), paged with cursors: ``{"data": [...], "paging":
{"cursors": {"before", "after"}, "next": ...}}``, where ``next`` is a full
URL carrying the access token, as Graph writes it.

Photos (see ``graph_media`` for what is checked): ``POST /{page-id}/photos``
takes the file as the multipart ``source`` (or a ``url``), the post text as
``caption`` (or the deprecated ``message``) and the alt text as
``alt_text_custom``; it answers ``{"id", "post_id"}`` and shows the photo as a
post, or with ``published=false`` answers ``{"id"}`` and shows nothing. ``POST
/{page-id}/feed`` with ``attached_media`` makes one post of such unpublished
photos (which are then published), and refuses a ``link`` beside them.
``photos`` holds every photo by id, ``GET /{photo-id}`` reads one back.
"""

from __future__ import annotations

import base64
import binascii
import functools
import itertools
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from emulators.graph_media import (
    GraphPhoto,
    Refusal,
    attached_media,
    check_attachable,
    check_source,
    multipart_parts,
    parse_boolean,
)
from emulators.server import Emulator, Request, Response, route

V = r"/(?P<version>v\d{1,2}\.\d)"
BATCH_LIMIT = 50
FEED_LIMIT = 100  # the most posts one feed page holds
FEED_DEFAULT_LIMIT = 25
POSTING_PERMISSIONS = frozenset({"pages_manage_posts", "pages_read_engagement"})
DEFAULT_PERMISSIONS = frozenset(
    {
        "pages_manage_posts",
        "pages_read_engagement",
        "pages_show_list",
        "pages_read_user_content",
        "read_insights",
    }
)
#: Post metrics Graph still answers, with the titles it gives them.
POST_METRICS = {
    "post_media_view": "Lifetime Post media views",
    "post_total_media_view_unique": "Lifetime Post total media viewers",
    "post_clicks": "Lifetime Post Clicks",
    "post_clicks_by_type": "Lifetime Post Clicks by type",
    "post_reactions_by_type_total": "Lifetime Total post Reactions by Type.",
}
#: Post metrics Meta retired for every API version (March 2024, June and November 2025).
DEPRECATED_POST_METRICS = frozenset(
    {
        "post_impressions",
        "post_impressions_unique",
        "post_impressions_paid",
        "post_impressions_paid_unique",
        "post_impressions_fan",
        "post_impressions_fan_unique",
        "post_impressions_organic",
        "post_impressions_organic_unique",
        "post_impressions_viral",
        "post_impressions_viral_unique",
        "post_impressions_nonviral",
        "post_impressions_nonviral_unique",
        "post_engaged_users",
        "post_clicks_unique",
        "post_negative_feedback",
    }
)
INVALID_METRIC_MESSAGE = "(#100) The value must be a valid insights metric"
INSIGHTS_PERMISSION_MESSAGE = (
    "(#10) This endpoint requires the 'read_insights' permission or the 'Page Public Content "
    "Access' feature."
)
DOCS = "https://developers.facebook.com/docs/graph-api"

TOKEN_MESSAGES = {
    458: "Error validating access token: User 100000000000001 has not authorized application "
    "438291049213.",
    459: "Error validating access token: You cannot access the app till you log in to "
    "www.facebook.com and follow the instructions given.",
    460: "Error validating access token: The session has been invalidated because the user "
    "changed their password or Facebook has changed the session for security reasons.",
    463: "Error validating access token: Session has expired on {expired}. The current time is "
    "{now}.",
    464: "Error validating access token: Sessions for the user 100000000000001 are not allowed "
    "because the user is not a confirmed user.",
    467: "Error validating access token: The session is invalid because the user logged out.",
}
RATE_LIMIT_MESSAGES = {
    4: "(#4) Application request limit reached",
    17: "(#17) User request limit reached",
    32: "(#32) Page request limit reached",
    613: "(#613) Calls to this api have exceeded the rate limit.",
    80001: "There have been too many calls to this Page account. Wait a bit and try again. "
    "For more info, please refer to "
    "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
}
TRANSIENT_BODY_MESSAGE = "An unexpected error has occurred. Please retry your request later."


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16)


def transient_error_body() -> dict[str, Any]:
    """Graph's answer to a request that failed on its side (sent with HTTP 500)."""
    return {
        "error": {
            "message": TRANSIENT_BODY_MESSAGE,
            "type": "OAuthException",
            "is_transient": True,
            "code": 2,
            "fbtrace_id": fbtrace_id(),
        }
    }


@dataclass
class GraphPost:
    """A post the emulator holds, as the test sees it."""

    id: str
    page_id: str
    message: str | None
    link: str | None
    created: float  # on the emulator's clock
    photos: list[GraphPhoto] = field(default_factory=list)  # in the order shown
    deleted: bool = False


@dataclass
class PageToken:
    token: str
    page_id: str
    permissions: set[str] = field(default_factory=lambda: set(DEFAULT_PERMISSIONS))
    broken: int | None = None  # the 190 subcode it now fails with


@dataclass
class _RateLimit:
    code: int
    minutes: int
    remaining: int | None  # calls still refused; None: until cleared


@dataclass
class _Usage:
    app: int | None = 2
    page: int | None = 2
    business: int | None = 2
    regain_minutes: int = 0


@dataclass(frozen=True)
class _Insights:
    """What one call asked of the ``insights`` edge, checked."""

    metrics: list[str]
    token: str  # Graph writes it into the edge's paging links
    prefix: str  # ``{base_url}/{version}``


class GraphFault(Exception):
    """Raised inside a handler to answer with a Graph error."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


GraphHandler = Callable[["GraphEmulator", Request, PageToken], Response]


def graph_call(func: GraphHandler) -> Callable[[GraphEmulator, Request], Response]:
    """Authenticate, apply rate limits, catch Graph errors and add the usage headers."""

    @functools.wraps(func)
    def handle(self: GraphEmulator, request: Request) -> Response:
        try:
            token = self._authenticate(request)
            self._apply_rate_limit()
            response = func(self, request, token)
        except GraphFault as fault:
            response = fault.response
        for name, value in self.usage_headers().items():
            response.headers.setdefault(name, value)
        return response

    return handle


class GraphEmulator(Emulator):
    """Graph API for one or more Pages, each with its Page access token."""

    def __init__(
        self,
        *,
        page_id: str = "104857600123456",
        page_name: str = "Qendra Burimore",
        token: str = "EAAGemulatorPageToken0123456789abcdef",
        business_id: str = "112233445566778",
    ) -> None:
        super().__init__()
        self.page_id = page_id
        self.page_name = page_name
        self.token = token
        self.business_id = business_id
        self._ids = itertools.count(122_094_000_000_000_001)
        self.reset()

    def reset(self) -> None:
        """Forget every post, request, fault and setting: as new, but on the same port."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self._fresh_state()

    def _fresh_state(self) -> None:
        self.pages: dict[str, str] = {}
        self.tokens: dict[str, PageToken] = {}
        self.posts: dict[str, list[GraphPost]] = {}
        self.photos: dict[str, GraphPhoto] = {}  # every photo uploaded, by id
        self.errors: list[dict[str, Any]] = []  # every error object sent, newest last
        self.blocked_words: set[str] = set()
        self.missing_ids_style = "object"  # or "aliases": how the ids batch names unknown ids
        self._by_id: dict[str, GraphPost] = {}
        self._engagement: dict[str, dict[str, int]] = {}
        self.retired_metrics: set[str] = set()
        self._offset = 0.0
        self._usage = _Usage()
        self._limit: _RateLimit | None = None
        self.add_page(self.page_id, self.page_name, self.token)

    def start(self) -> GraphEmulator:
        super().start()
        assert self._server is not None
        # Answers go out as a header write and a body write; with Nagle's
        # algorithm on, each one then waits ~40 ms for the client's delayed ACK.
        self._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        report = self._server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            # A client that gave up (a test's short timeout) is no server error.
            if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
                report(request, client_address)

        self._server.handle_error = handle_error  # type: ignore[method-assign]
        return self

    # -- what tests set up --------------------------------------------------------

    def add_page(
        self, page_id: str, name: str, token: str, *, permissions: Iterable[str] | None = None
    ) -> PageToken:
        with self.lock:
            self.pages[page_id] = name
            self.posts.setdefault(page_id, [])
            record = PageToken(token, page_id)
            if permissions is not None:
                record.permissions = set(permissions)
            self.tokens[token] = record
            return record

    def expire_token(self, token: str | None = None) -> None:
        self.invalidate_token(token, subcode=463)

    def invalidate_token(self, token: str | None = None, *, subcode: int = 467) -> None:
        """Make a token fail with code 190 and ``subcode`` (458-467)."""
        with self.lock:
            self.tokens[token or self.token].broken = subcode

    def revoke_permission(self, permission: str, token: str | None = None) -> None:
        with self.lock:
            self.tokens[token or self.token].permissions.discard(permission)

    def set_usage(
        self,
        *,
        app: int | None = 2,
        page: int | None = 2,
        business: int | None = 2,
        regain_minutes: int = 0,
    ) -> None:
        """Percentages the usage headers report from now on; None leaves a header out."""
        with self.lock:
            self._usage = _Usage(app, page, business, regain_minutes)

    def rate_limit(self, code: int = 32, *, minutes: int = 17, count: int | None = None) -> None:
        """Refuse calls with rate-limit error ``code`` (4, 17, 32, 613, 80001)."""
        if code not in RATE_LIMIT_MESSAGES:
            raise ValueError(f"not a Graph rate-limit code: {code}")
        with self.lock:
            self._limit = _RateLimit(code, minutes, count)

    def clear_rate_limit(self) -> None:
        with self.lock:
            self._limit = None

    def block_word(self, word: str) -> None:
        """Posts containing ``word`` are refused as abusive (code 368)."""
        with self.lock:
            self.blocked_words.add(word.lower())

    def set_engagement(
        self,
        post_id: str,
        *,
        reactions: int | None = None,
        comments: int | None = None,
        shares: int | None = None,
        views: int | None = None,
        reach: int | None = None,
        clicks: int | None = None,
    ) -> None:
        """Fix a post's figures instead of letting them grow with time.

        ``views``, ``reach`` and ``clicks`` are the insights ``post_media_view``,
        ``post_total_media_view_unique`` and ``post_clicks``.
        """
        given = {
            "reactions": reactions,
            "comments": comments,
            "shares": shares,
            "views": views,
            "reach": reach,
            "clicks": clicks,
        }
        with self.lock:
            figures = self._engagement.setdefault(post_id, {})
            figures.update({name: value for name, value in given.items() if value is not None})

    def retire_metric(self, name: str) -> None:
        """Answer ``name`` (e.g. ``post_clicks``) as an invalid insights metric from now on."""
        with self.lock:
            self.retired_metrics.add(name)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock on (posts gather reactions as it goes)."""
        with self.lock:
            self._offset += seconds

    def seed_post(
        self,
        message: str | None,
        *,
        page_id: str | None = None,
        age_seconds: float = 0.0,
        link: str | None = None,
    ) -> GraphPost:
        """A post already on the Page, published ``age_seconds`` ago (no request needed)."""
        page_id = page_id or self.page_id
        post = GraphPost(
            id=f"{page_id}_{next(self._ids)}",
            page_id=page_id,
            message=message,
            link=link,
            created=self.now() - age_seconds,
        )
        self._keep(post)
        return post

    def posts_on(self, page_id: str | None = None) -> list[GraphPost]:
        """The live posts on a Page, oldest first."""
        with self.lock:
            return [p for p in self.posts.get(page_id or self.page_id, []) if not p.deleted]

    def fail_next(self, count: int = 1, **fault: Any) -> None:
        """As the base; a 5xx ``status`` without a ``body`` answers Graph's transient error."""
        if (fault.get("status") or 0) >= 500 and "body" not in fault:
            fault["body"] = transient_error_body()
        super().fail_next(count, **fault)

    # -- the clock and the figures -------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def figures(self, post: GraphPost) -> dict[str, int]:
        """A post's figures: fixed by ``set_engagement``, else growing with its age."""
        age = max(0.0, self.now() - post.created)
        grown = {
            "reactions": int(age // 10),
            "comments": int(age // 60),
            "shares": int(age // 120),
            "views": int(age // 2),
            "reach": int(age // 3),
            "clicks": int(age // 45),
        }
        return {**grown, **self._engagement.get(post.id, {})}

    def usage_headers(self) -> dict[str, str]:
        """The usage headers Graph would send with an answer now."""
        with self.lock:
            return self._usage_headers(self._limit)

    def _usage_headers(self, limit: _RateLimit | None) -> dict[str, str]:
        usage = self._usage
        app, page, business, regain = usage.app, usage.page, usage.business, usage.regain_minutes
        if limit is not None:
            regain = limit.minutes
            if limit.code in (4, 17):
                app = 100
            else:
                page = 100 if page is not None else None
                business = 100 if business is not None else None
        headers: dict[str, str] = {}
        for name, value in (("X-App-Usage", app), ("X-Page-Usage", page)):
            if value is not None:
                headers[name] = json.dumps(
                    {"call_count": value, "total_cputime": value // 2, "total_time": value}
                )
        if business is not None:
            headers["X-Business-Use-Case-Usage"] = json.dumps(
                {
                    self.business_id: [
                        {
                            "type": "pages",
                            "call_count": business,
                            "total_cputime": business // 2,
                            "total_time": business,
                            "estimated_time_to_regain_access": regain,
                        }
                    ]
                }
            )
        return headers

    # -- Graph errors ----------------------------------------------------------------

    def error(
        self,
        message: str,
        code: int,
        *,
        subcode: int | None = None,
        type: str = "OAuthException",
        status: int = 400,
        user_title: str | None = None,
        user_msg: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> GraphFault:
        body: dict[str, Any] = {"message": message, "type": type, "code": code}
        if subcode is not None:
            body["error_subcode"] = subcode
        if user_title:
            body["is_transient"] = False
            body["error_user_title"] = user_title
            body["error_user_msg"] = user_msg
        body["fbtrace_id"] = fbtrace_id()
        with self.lock:
            self.errors.append(body)
        return GraphFault(Response(status, {"error": body}, dict(headers or {})))

    def refuse(self, refusal: Refusal) -> GraphFault:
        return self.error(
            refusal.message,
            refusal.code,
            subcode=refusal.subcode,
            user_title=refusal.user_title,
            user_msg=refusal.user_msg,
        )

    def missing(self, request: Request, object_id: str) -> GraphFault:
        return self.error(
            f"Unsupported {request.method.lower()} request. Object with ID '{object_id}' does "
            "not exist, cannot be loaded due to missing permissions, or does not support this "
            f"operation. Please read the Graph API documentation at {DOCS}",
            100,
            subcode=33,
            type="GraphMethodException",
        )

    def not_found(self, request: Request) -> Response:
        fault = self.error(f"Unknown path components: {request.path}", 2500)
        fault.response.headers.update(self.usage_headers())
        return fault.response

    # -- checks every call goes through -------------------------------------------------

    def _authenticate(self, request: Request) -> PageToken:
        token = _token_of(request)
        if not token:
            raise self.error(
                "An active access token must be used to query information about the current user.",
                2500,
            )
        with self.lock:
            record = self.tokens.get(token)
        if record is None:
            if not re.fullmatch(r"[A-Za-z0-9]+", token):
                # Graph does echo a malformed token back in its message.
                message = f"Malformed access token {token}"
            else:
                message = "Invalid OAuth access token - Cannot parse access token"
            raise self._token_error(message, subcode=None)
        if record.broken is not None:
            now = datetime.fromtimestamp(self.now(), UTC)
            template = TOKEN_MESSAGES.get(record.broken, TOKEN_MESSAGES[467])
            message = template.format(
                expired=(now - timedelta(days=1)).strftime("%A, %d-%b-%y %H:%M:%S UTC"),
                now=now.strftime("%A, %d-%b-%y %H:%M:%S UTC"),
            )
            raise self._token_error(message, subcode=record.broken)
        return record

    def _token_error(self, message: str, *, subcode: int | None) -> GraphFault:
        quoted = message.replace('"', "'")
        return self.error(
            message,
            190,
            subcode=subcode,
            headers={"WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{quoted}"'},
        )

    def _apply_rate_limit(self) -> None:
        with self.lock:
            limit = self._limit
            if limit is None:
                return
            if limit.remaining is not None:
                limit.remaining -= 1
                if limit.remaining <= 0:
                    self._limit = None
            headers = self._usage_headers(limit)
        raise self.error(RATE_LIMIT_MESSAGES[limit.code], limit.code, headers=headers)

    def _page(self, request: Request, token: PageToken, page_id: str) -> str:
        with self.lock:
            name = self.pages.get(page_id)
        if name is None or token.page_id != page_id:
            raise self.missing(request, page_id)
        return name

    def _require(self, token: PageToken, needed: Iterable[str], message: str, code: int) -> None:
        if not set(needed) <= token.permissions:
            raise self.error(message, code)

    def _require_posting(self, token: PageToken) -> None:
        self._require(
            token,
            POSTING_PERMISSIONS,
            "(#200) If posting to a page, requires both pages_read_engagement and "
            "pages_manage_posts permission with page token",
            200,
        )

    # -- routes ----------------------------------------------------------------------------

    @route("POST", V + r"/(?P<object_id>[^/]+)/feed")
    @graph_call
    def post_feed(self, request: Request, token: PageToken) -> Response:
        page_id = request.params["object_id"]
        self._page(request, token, page_id)
        self._require_posting(token)
        params = _params(request)
        message = params.get("message")
        link = params.get("link")
        attached = attached_media(params)
        if isinstance(attached, Refusal):
            raise self.refuse(attached)
        if attached and link:
            raise self.error(
                "(#100) link cannot be used with attached_media: a post shows either a link "
                "preview or its photos.",
                100,
            )
        if not message and not link and not attached:
            raise self.error("(#100) Missing message or attachment", 100)
        with self.lock:  # two identical posts at once: one of them is the duplicate
            refusal = check_attachable(self.photos, page_id, attached)
            if refusal is not None:
                raise self.refuse(refusal)
            self._screen(page_id, message)
            post = GraphPost(
                id=f"{page_id}_{next(self._ids)}",
                page_id=page_id,
                message=message,
                link=link,
                created=self.now(),
                photos=[self.photos[fbid] for fbid in attached],
            )
            for photo in post.photos:
                photo.published, photo.post_id = True, post.id
            self._keep(post)
        return Response(200, {"id": post.id})

    @route("GET", V + r"/(?P<object_id>[^/]+)/feed")
    @graph_call
    def get_feed(self, request: Request, token: PageToken) -> Response:
        page_id = request.params["object_id"]
        self._page(request, token, page_id)
        self._require(
            token,
            {"pages_read_engagement"},
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
            "'Page Public Content Access' feature.",
            10,
        )
        params = _params(request)
        raw_limit = params.get("limit", str(FEED_DEFAULT_LIMIT))
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise self.error(
                f"(#100) The parameter limit must be a positive number: {raw_limit}", 100
            )
        if int(raw_limit) > FEED_LIMIT:
            raise self.error(f"(#100) The limit parameter can't exceed {FEED_LIMIT}", 100)
        limit = int(raw_limit)
        bounds: dict[str, float] = {}
        for name in ("since", "until"):
            value = params.get(name)
            if value is None:
                continue
            when = _unix_time(value)
            if when is None:
                raise self.error(f"(#100) The parameter {name} must be a valid time: {value}", 100)
            bounds[name] = when
        after = params.get("after")
        after_id = _cursor_post(after) if after else None
        if after and after_id is None:
            raise self.error("(#100) The after cursor is not valid", 100)
        with self.lock:
            listed = sorted(
                (
                    p
                    for p in self.posts_on(page_id)
                    if bounds.get("since", float("-inf")) <= p.created
                    and p.created <= bounds.get("until", float("inf"))
                ),
                key=lambda p: (p.created, p.id),
                reverse=True,
            )
        if after_id is not None:
            ids = [p.id for p in listed]
            listed = listed[ids.index(after_id) + 1 :] if after_id in ids else []
        fields = _fields(params.get("fields")) or ["created_time", "message", "id"]
        insights = self._insights_asked(request, token, params.get("fields"))
        page = listed[:limit]
        body: dict[str, Any] = {"data": [self._post_object(p, fields, insights) for p in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}
            }
            if len(listed) > limit:
                query = {k: v for k, v in params.items() if k not in ("after", "before")}
                # Graph writes the token into its paging links, however it came.
                query = {"access_token": token.token, **query, "after": _cursor(page[-1].id)}
                paging["next"] = f"{self.base_url}{request.path}?{urlencode(query)}"
            body["paging"] = paging
        return Response(200, body)

    @route("POST", V + r"/(?P<object_id>[^/]+)/photos")
    @graph_call
    def post_photo(self, request: Request, token: PageToken) -> Response:
        page_id = request.params["object_id"]
        self._page(request, token, page_id)
        self._require_posting(token)
        params = _params(request)
        source = multipart_parts(request).get("source")
        refusal = check_source(source, params.get("url"))
        if refusal is not None:
            raise self.refuse(refusal)
        published = parse_boolean(params.get("published"), default=True)
        if published is None:
            raise self.error("(#100) param published must be a boolean", 100)
        caption = params.get("caption") or params.get("message")
        with self.lock:
            photo = GraphPhoto(
                id=str(next(self._ids)),
                page_id=page_id,
                data=source.data if source is not None else None,
                filename=source.filename if source is not None else params.get("url"),
                content_type=source.content_type if source is not None else None,
                alt_text=params.get("alt_text_custom"),
                caption=caption,
                published=published,
                created=self.now(),
            )
            if not published:
                self.photos[photo.id] = photo
                return Response(200, {"id": photo.id})
            self._screen(page_id, caption)
            post = GraphPost(
                id=f"{page_id}_{next(self._ids)}",
                page_id=page_id,
                message=caption,
                link=None,
                created=photo.created,
                photos=[photo],
            )
            photo.post_id = post.id
            self.photos[photo.id] = photo
            self._keep(post)
        return Response(200, {"id": photo.id, "post_id": post.id})

    @route("GET", V + r"/(?P<object_id>[^/]+)")
    @graph_call
    def get_object(self, request: Request, token: PageToken) -> Response:
        object_id = request.params["object_id"]
        fields = _fields(request.arg("fields"))
        if object_id in self.pages:
            name = self._page(request, token, object_id)
            known = {"id": object_id, "name": name, "link": f"https://www.facebook.com/{object_id}"}
            wanted = fields or ["name", "id"]
            for field_name in wanted:
                if field_name not in known:
                    raise self.error(
                        f"(#100) Tried accessing nonexisting field ({field_name}) "
                        "on node type (Page)",
                        100,
                    )
            return Response(200, {k: known[k] for k in wanted})
        with self.lock:
            photo = self.photos.get(object_id)
        if photo is not None and photo.page_id == token.page_id:
            return Response(200, self._photo_object(photo, fields or ["created_time", "id"]))
        post = self._post(request, token, object_id)
        insights = self._insights_asked(request, token, request.arg("fields"))
        wanted = fields or ["created_time", "message", "id"]
        return Response(200, self._post_object(post, wanted, insights))

    @route("DELETE", V + r"/(?P<object_id>[^/]+)")
    @graph_call
    def delete_object(self, request: Request, token: PageToken) -> Response:
        post = self._post(request, token, request.params["object_id"])
        self._require(
            token,
            {"pages_manage_posts"},
            "(#200) The user hasn't authorized the application to perform this action",
            200,
        )
        with self.lock:
            post.deleted = True
        return Response(200, {"success": True})

    @route("GET", V + r"/?")
    @graph_call
    def get_ids(self, request: Request, token: PageToken) -> Response:
        ids_param = request.arg("ids")
        if not ids_param:
            raise self.error(
                f"Unsupported get request. Please read the Graph API documentation at {DOCS}",
                100,
                type="GraphMethodException",
            )
        ids = list(dict.fromkeys(i.strip() for i in ids_param.split(",") if i.strip()))
        if len(ids) > BATCH_LIMIT:
            raise self.error(
                f"(#100) Too many IDs. Maximum: {BATCH_LIMIT}. Provided: {len(ids)}.", 100
            )
        self._require(
            token,
            {"pages_read_engagement"},
            "(#10) This endpoint requires the 'pages_read_engagement' permission or the "
            "'Page Public Content Access' feature.",
            10,
        )
        fields = _fields(request.arg("fields")) or ["created_time", "message", "id"]
        unknown = [i for i in ids if self._visible(token, i) is None]
        if unknown and self.missing_ids_style == "aliases":
            raise self.error(
                f"(#803) Some of the aliases you requested do not exist: {','.join(unknown)}", 803
            )
        if unknown:
            raise self.missing(request, unknown[0])
        insights = self._insights_asked(request, token, request.arg("fields"))
        answer = {}
        for post_id in ids:
            post = self._visible(token, post_id)
            assert post is not None
            answer[post_id] = self._post_object(post, fields, insights)
        return Response(200, answer)

    # -- insights -----------------------------------------------------------------------------

    def _insights_asked(
        self, request: Request, token: PageToken, fields: str | None
    ) -> _Insights | None:
        """The checked ``insights`` field expansion of a call, or None if it has none.

        Graph checks the whole expansion before answering anything: one bad
        metric fails the call for every post in it.
        """
        modifiers = _field_specs(fields).get("insights")
        if modifiers is None:
            return None
        self._require(token, {"read_insights"}, INSIGHTS_PERMISSION_MESSAGE, 10)
        found = re.search(r"\.metric\(([^)]*)\)", modifiers)
        metrics = [m.strip() for m in found.group(1).split(",") if m.strip()] if found else []
        if not metrics:
            raise self.error(
                "Invalid query",
                3001,
                subcode=1504028,
                user_title="No Metric Specified",
                user_msg="No metric was specified to be fetched. Please specify one or more "
                "metrics to be fetched and try again.",
            )
        period = re.search(r"\.period\(([^)]*)\)", modifiers)
        if period and period.group(1).strip() != "lifetime":
            raise self.error("(#100) The value must be a valid insights period", 100)
        with self.lock:
            retired = DEPRECATED_POST_METRICS | self.retired_metrics
        if any(m in retired or m not in POST_METRICS for m in metrics):
            raise self.error(INVALID_METRIC_MESSAGE, 100)
        version = request.params.get("version") or "v24.0"
        return _Insights(list(dict.fromkeys(metrics)), token.token, f"{self.base_url}/{version}")

    def _insights_node(self, post: GraphPost, insights: _Insights) -> dict[str, Any]:
        figures = self.figures(post)
        values: dict[str, Any] = {
            "post_media_view": figures["views"],
            "post_total_media_view_unique": figures["reach"],
            "post_clicks": figures["clicks"],
            "post_clicks_by_type": {"other clicks": figures["clicks"]},
            "post_reactions_by_type_total": {"like": figures["reactions"]},
        }
        data = [
            {
                "name": metric,
                "period": "lifetime",
                "values": [{"value": values[metric]}],
                "title": POST_METRICS[metric],
                "description": f"Lifetime: {POST_METRICS[metric]}",
                "id": f"{post.id}/insights/{metric}/lifetime",
            }
            for metric in insights.metrics
        ]
        now = int(self.now())
        query = {"access_token": insights.token, "metric": ",".join(insights.metrics)}
        link = f"{insights.prefix}/{post.id}/insights?"
        paging = {
            "previous": link + urlencode({**query, "since": now - 2 * 86400, "until": now - 86400}),
            "next": link + urlencode({**query, "since": now + 86400, "until": now + 2 * 86400}),
        }
        return {"data": data, "paging": paging}

    # -- posts --------------------------------------------------------------------------------

    def _screen(self, page_id: str, message: str | None) -> None:
        text = (message or "").strip()
        lowered = text.lower()
        if any(word in lowered for word in self.blocked_words):
            raise self.error(
                "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
                368,
                subcode=1390008,
            )
        if text and any((p.message or "").strip() == text for p in self.posts_on(page_id)):
            raise self.error(
                "(#506) Duplicate status message",
                506,
                subcode=1455006,
                user_title="Duplicate Status Update",
                user_msg="This status update is identical to the last one you posted. Try "
                "posting something different, or delete your previous update.",
            )

    def _keep(self, post: GraphPost) -> None:
        with self.lock:
            self.posts.setdefault(post.page_id, []).append(post)
            self._by_id[post.id] = post

    def _visible(self, token: PageToken, post_id: str) -> GraphPost | None:
        with self.lock:
            post = self._by_id.get(post_id)
        if post is None or post.deleted or post.page_id != token.page_id:
            return None
        return post

    def _post(self, request: Request, token: PageToken, post_id: str) -> GraphPost:
        post = self._visible(token, post_id)
        if post is None:
            raise self.missing(request, post_id)
        return post

    def _post_object(
        self, post: GraphPost, fields: list[str], insights: _Insights | None = None
    ) -> dict[str, Any]:
        figures = self.figures(post)
        created = datetime.fromtimestamp(post.created, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        obj: dict[str, Any] = {}
        for name in fields:
            if name == "shares":
                if figures["shares"]:  # Graph leaves "shares" out while there are none
                    obj["shares"] = {"count": figures["shares"]}
            elif name == "reactions":
                obj["reactions"] = {
                    "data": [],
                    "summary": {"total_count": figures["reactions"], "viewer_reaction": "NONE"},
                }
            elif name == "comments":
                obj["comments"] = {
                    "data": [],
                    "summary": {
                        "order": "ranked",
                        "total_count": figures["comments"],
                        "can_comment": True,
                    },
                }
            elif name == "message":
                if post.message:
                    obj["message"] = post.message
            elif name == "created_time":
                obj["created_time"] = created
            elif name == "permalink_url":
                obj["permalink_url"] = f"https://www.facebook.com/{post.id}"
            elif name == "insights" and insights is not None:
                obj["insights"] = self._insights_node(post, insights)
            elif name != "id":
                raise self.error(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type (Post)", 100
                )
        obj["id"] = post.id
        return obj

    def _photo_object(self, photo: GraphPhoto, fields: list[str]) -> dict[str, Any]:
        created = datetime.fromtimestamp(photo.created, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
        known: dict[str, Any] = {
            "id": photo.id,
            "created_time": created,
            "alt_text_custom": photo.alt_text,
            "name": photo.caption,  # Graph reads the caption back as "name"
            "page_story_id": photo.post_id,
        }
        obj: dict[str, Any] = {}
        for name in fields:
            if name not in known:
                raise self.error(
                    f"(#100) Tried accessing nonexisting field ({name}) on node type (Photo)", 100
                )
            if known[name] is not None:
                obj[name] = known[name]
        obj["id"] = photo.id
        return obj


def _cursor(post_id: str) -> str:
    return base64.urlsafe_b64encode(f"post:{post_id}".encode()).decode().rstrip("=")


def _cursor_post(cursor: str) -> str | None:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.removeprefix("post:") if decoded.startswith("post:") else None


def _unix_time(value: str) -> float | None:
    """Graph's ``since``/``until``: a Unix time, or a date strtotime() reads."""
    if re.fullmatch(r"\d{1,12}", value):
        return float(value)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _token_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return _params(request).get("access_token") or None


def _params(request: Request) -> dict[str, str]:
    """Query, form and multipart text fields, as Graph merges them."""
    params = {k: v[-1] for k, v in request.query.items()}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        params.update(request.form())
    elif content_type.startswith("multipart/form-data"):
        for name, part in multipart_parts(request).items():
            if part.filename is None:
                params[name] = part.text
    elif content_type.startswith("application/json") and request.body:
        body = request.json()
        if isinstance(body, dict):
            params.update({k: str(v) for k, v in body.items()})
    return params


def _fields(value: str | None) -> list[str]:
    """Top-level field names of a ``fields`` parameter: ``reactions.summary(...)`` → reactions."""
    return list(_field_specs(value))


def _field_specs(value: str | None) -> dict[str, str]:
    """Each top-level field of a ``fields`` parameter with its modifiers.

    ``insights.metric(a,b),shares`` → ``{"insights": ".metric(a,b)", "shares": ""}``.
    """
    if not value:
        return {}
    specs: dict[str, str] = {}
    depth = 0
    current = ""
    for char in value + ",":
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            name = re.split(r"[.({]", current.strip(), maxsplit=1)[0]
            if name and name not in specs:
                specs[name] = current.strip()[len(name) :]
            current = ""
        else:
            current += char
    return specs

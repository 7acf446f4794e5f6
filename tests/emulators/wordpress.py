"""An emulator of a WordPress site's REST API, for the endpoints the adapter uses.

It answers as WordPress core does: the same routes under ``/wp-json/`` (with
pretty permalinks) and under ``/?rest_route=`` (always), the same error
documents ``{"code", "message", "data": {"status"}}`` with WordPress's own
codes and words, ``201`` with a ``Location`` header on creation, and
``X-WP-Total``/``X-WP-TotalPages`` on collections.

Authentication is WordPress's application-password check: HTTP Basic with a
user's login (or email) and one of its application passwords, compared with
everything but letters and digits removed. A wrong password or unknown user
fails every REST request with 401; no credentials (or a site that does not
offer application passwords, e.g. one not on HTTPS) make the request a
visitor's, which may read but not write. Users have WordPress's roles and
capabilities: a contributor may write drafts but not publish or upload.

Also as WordPress: term names are stored HTML-escaped (``A &amp; B``), a term
that exists already is refused with ``term_exists`` and its id, unknown
category or tag ids given to a post are dropped silently, and a post's
``featured_media`` must be an attachment of the site. The Media Library is
``emulators.wordpress_media``.

The post list (``GET /wp/v2/posts``) filters as WP_Query does: ``search``
split into terms (stopwords and single letters dropped, ``-term`` excluded,
more than nine terms searched as one sentence), each matched case- and
accent-insensitively in the title, excerpt or content (or the
``search_columns`` given); ``after``/``before`` against the post date;
``status`` a comma-separated list, where anything but ``publish`` needs the
``edit_posts`` capability, as does ``context=edit``; newest first, paged.
"""

from __future__ import annotations

import base64
import binascii
import html
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qs

from emulators.server import Emulator, Request, Response, route
from emulators.wordpress_media import MediaLibrary

# A made-up application password, shown the way WordPress shows them.
DEFAULT_APP_PASSWORD: Final = "abcd EFGH 1234 ijkl MNOP 6789"

_EDITOR_CAPS: Final = frozenset(
    {
        "read",
        "edit_posts",
        "publish_posts",
        "delete_posts",
        "edit_published_posts",
        "delete_published_posts",
        "edit_others_posts",
        "delete_others_posts",
        "upload_files",
        "manage_categories",
        "moderate_comments",
        "unfiltered_html",
        "edit_pages",
        "publish_pages",
    }
)
ROLE_CAPABILITIES: Final[Mapping[str, frozenset[str]]] = {
    "administrator": _EDITOR_CAPS
    | {"manage_options", "list_users", "edit_users", "create_users", "activate_plugins"},
    "editor": _EDITOR_CAPS,
    "author": frozenset(
        {
            "read",
            "edit_posts",
            "publish_posts",
            "delete_posts",
            "edit_published_posts",
            "delete_published_posts",
            "upload_files",
        }
    ),
    "contributor": frozenset({"read", "edit_posts", "delete_posts"}),
    "subscriber": frozenset({"read"}),
}

_STATUSES: Final = ("publish", "future", "draft", "pending", "private")
# Every status WordPress registers for posts, and "any", as the list accepts them.
_LIST_STATUSES: Final = (
    *_STATUSES,
    "trash",
    "auto-draft",
    "inherit",
    "request-pending",
    "request-confirmed",
    "request-failed",
    "request-completed",
    "any",
)
_SEARCH_COLUMNS: Final = ("post_title", "post_excerpt", "post_content")
# get_search_stopwords(): terms WordPress leaves out of a search.
_STOPWORDS: Final = frozenset(
    [
        "about",
        "an",
        "are",
        "as",
        "at",
        "be",
        "by",
        "com",
        "for",
        "from",
        "how",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "who",
        "will",
        "with",
        "www",
    ]
)
_SEARCH_TERM: Final = re.compile(r'".*?("|$)|((?<=[\t ",+])|^)[^\t ",+]+')
# rest_parse_date()'s RFC 3339 pattern.
_REST_DATE: Final = re.compile(
    r"^(\d{4})-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])[Tt](0[0-9]|1[0-9]|2[0-3]):"
    r"([0-5][0-9]):([0-5][0-9]|60)(\.[0-9]+)?(([Zz])|([+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
)
_DATE_FORMAT: Final = "%Y-%m-%dT%H:%M:%S"
_TAXONOMIES: Final = {"categories": "category", "tags": "post_tag"}
_NOT_LOGGED_IN: Final = "Sorry, you are not allowed to create posts as this user."


@dataclass
class WPUser:
    id: int
    login: str
    email: str
    name: str
    role: str
    #: Application passwords, letters and digits only (as WordPress compares them).
    app_passwords: list[str] = field(default_factory=list)

    def can(self, capability: str) -> bool:
        return capability in ROLE_CAPABILITIES.get(self.role, frozenset())


def _error(status: int, code: str, message: str, **data: Any) -> Response:
    return Response(status, {"code": code, "message": message, "data": {"status": status, **data}})


def _invalid_param(
    name: str, problem: str, *, code: str = "rest_invalid_type", data: Any = None
) -> Response:
    return _error(
        400,
        "rest_invalid_param",
        f"Invalid parameter(s): {name}",
        params={name: problem},
        details={name: {"code": code, "message": problem, "data": data}},
    )


def _alnum(password: str) -> str:
    return re.sub(r"[^a-z\d]", "", password, flags=re.I)


def sanitize_title(text: str) -> str:
    """A slug as WordPress makes one: ASCII, lower case, words joined by '-'."""
    text = unicodedata.normalize("NFKD", html.unescape(text))
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9\s_-]", "", text)
    return re.sub(r"[\s_-]+", "-", text).strip("-")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return bool(value)


def _int_list(value: Any) -> list[int] | None:
    """A list of ids as WordPress accepts one (list, or comma-separated string)."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list):
        return None
    ids = []
    for item in value:
        if isinstance(item, bool):
            return None
        if isinstance(item, int):
            ids.append(item)
        elif isinstance(item, str) and item.strip().isdigit():
            ids.append(int(item))
        else:
            return None
    return ids


def _search_terms(search: str) -> list[str]:
    """WP_Query::parse_search(): the terms a search string is split into."""
    search = search.replace("\r", "").replace("\n", "")
    checked = []
    for match in _SEARCH_TERM.finditer(search):
        term = match.group(0)
        term = term.strip("\"'") if re.fullmatch(r'".+"', term) else term.strip("\"' ")
        if not term or (len(term) == 1 and re.fullmatch(r"[a-z-]", term, re.I)):
            continue
        if term.lower() in _STOPWORDS:
            continue
        checked.append(term)
    if not checked or len(checked) > 9:
        return [search]
    return checked


def _term_matches(term: str, haystacks: list[str]) -> bool:
    """One search term against a post's columns: LIKE '%term%', or NOT LIKE for '-term'."""
    if term.startswith("-") and len(term) > 1:
        return not any(_folded(term[1:]) in h for h in haystacks)
    return any(_folded(term) in h for h in haystacks)


def _folded(text: str) -> str:
    """Text as MySQL's utf8mb4_unicode_ci compares it: no case, no accents."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _rest_date(value: str) -> datetime | None:
    """A date-time parameter as WordPress reads it, in the site's (here UTC) time."""
    if not _REST_DATE.match(value):
        return None
    try:
        when = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # a leap second, which the pattern lets through
        return None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


class WordPressEmulator(Emulator):
    """A WordPress site with users, posts, categories, tags, media and comments."""

    def __init__(
        self,
        *,
        username: str = "editor",
        application_password: str = DEFAULT_APP_PASSWORD,
        role: str = "editor",
        pretty_permalinks: bool = True,
        application_passwords_available: bool = True,
        site_name: str = "Qendra Burimore",
    ) -> None:
        super().__init__()
        #: Off: ``/wp-json/...`` is the theme's 404 page; only ``?rest_route=`` works.
        self.pretty_permalinks = pretty_permalinks
        #: Off: what a site not on HTTPS does, credentials are ignored.
        self.application_passwords_available = application_passwords_available
        self.site_name = site_name
        self.users: dict[int, WPUser] = {}
        self.posts: dict[int, dict[str, Any]] = {}
        #: Attachments by id (see ``emulators.wordpress_media``).
        self.media: dict[int, dict[str, Any]] = {}
        self.library = MediaLibrary(self)
        self.terms: dict[str, dict[int, dict[str, Any]]] = {"category": {}, "post_tag": {}}
        self.comments: list[dict[str, Any]] = []
        self._ids = {"user": 1, "post": 1, "term": 1, "comment": 1}
        self._state = threading.RLock()
        self.add_user("admin", role="administrator", name="Site Admin")
        self.add_term("category", "Uncategorized")  # WordPress's default category, id 1
        self.add_user(username, application_password=application_password, role=role)

    # -- set-up and inspection ---------------------------------------------------

    def _next(self, kind: str) -> int:
        with self._state:
            value = self._ids[kind]
            self._ids[kind] += 1
            return value

    def add_user(
        self,
        login: str,
        *,
        application_password: str | None = None,
        role: str = "editor",
        name: str | None = None,
    ) -> WPUser:
        if role not in ROLE_CAPABILITIES:
            raise ValueError(f"unknown role {role!r}")
        user = WPUser(
            id=self._next("user"),
            login=login,
            email=f"{login}@example.org",
            name=name or login.capitalize(),
            role=role,
            app_passwords=[_alnum(application_password)] if application_password else [],
        )
        self.users[user.id] = user
        return user

    def user(self, login: str) -> WPUser:
        return next(u for u in self.users.values() if u.login == login)

    def add_term(self, taxonomy: str, name: str) -> int:
        """Create a category (``category``) or tag (``post_tag``) as an admin would."""
        term_id = self._next("term")
        stored = html.escape(name, quote=False)
        self.terms[taxonomy][term_id] = {
            "id": term_id,
            "name": stored,
            "slug": sanitize_title(name) or str(term_id),
            "description": "",
            "parent": 0,
        }
        return term_id

    def delete_term(self, taxonomy: str, term_id: int) -> None:
        with self._state:
            del self.terms[taxonomy][term_id]
            base = "categories" if taxonomy == "category" else "tags"
            for post in self.posts.values():
                post[base] = [t for t in post[base] if t != term_id]

    def term_names(self, taxonomy: str, ids: list[int]) -> list[str]:
        return [html.unescape(self.terms[taxonomy][i]["name"]) for i in ids]

    def add_comment(self, post_id: int, content: str = "Bravo!", *, approved: bool = True) -> int:
        comment_id = self._next("comment")
        self.comments.append(
            {
                "id": comment_id,
                "post": post_id,
                "author_name": "Reader",
                "content": {"rendered": f"<p>{html.escape(content)}</p>\n"},
                "status": "approved" if approved else "hold",
            }
        )
        return comment_id

    def add_post(
        self,
        title: str,
        *,
        content: str = "",
        excerpt: str = "",
        status: str = "publish",
        age_seconds: float = 0.0,
        author: str | None = None,
    ) -> int:
        """A post already on the site, dated ``age_seconds`` ago (no request needed)."""
        if status not in _STATUSES:
            raise ValueError(f"unknown status {status!r}")
        date = datetime.now(UTC) - timedelta(seconds=age_seconds)
        with self._state:
            post: dict[str, Any] = {
                "id": self._next("post"),
                "date": date.strftime(_DATE_FORMAT),
                "slug": "",
                "status": status,
                "title": title,
                "content": content,
                "excerpt": excerpt,
                "author": self.user(author or "admin").id,
                "featured_media": 0,
                "categories": [1],
                "tags": [],
            }
            if status in ("publish", "private", "future"):
                post["slug"] = self._unique_slug(title, post["id"])
            self.posts[post["id"]] = post
        return int(post["id"])

    # -- HTTP entry points ---------------------------------------------------------

    @route("GET,POST,DELETE", r"/wp-json(?P<rest>/.*)?")
    def _pretty_route(self, request: Request) -> Response:
        return self._pretty(request)

    @route("GET,POST,DELETE", r"/")
    def _home_route(self, request: Request) -> Response:
        return self._home(request)

    def not_found(self, request: Request) -> Response:
        return self._page_not_found()

    def _pretty(self, request: Request) -> Response:
        if not self.pretty_permalinks:
            return self._page_not_found()
        return self._rest(request, request.params.get("rest") or "/")

    def _home(self, request: Request) -> Response:
        rest_route = request.arg("rest_route")
        if rest_route is not None:
            return self._rest(request, rest_route or "/")
        body = (
            f"<!DOCTYPE html><html><head><title>{self.site_name}</title></head><body></body></html>"
        )
        return Response(
            200,
            body.encode("utf-8"),
            {
                "Content-Type": "text/html; charset=UTF-8",
                "Link": f'<{self._rest_url("/")}>; rel="https://api.w.org/"',
            },
        )

    def _page_not_found(self) -> Response:
        page = (
            '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>Page not found &#8211; {html.escape(self.site_name)}</title>\n</head>\n"
            '<body class="error404">\n<h1 class="page-title">Oops! That page can&rsquo;t be '
            "found.</h1>\n</body>\n</html>\n"
        )
        return Response(404, page.encode("utf-8"), {"Content-Type": "text/html; charset=UTF-8"})

    # -- the REST server -----------------------------------------------------------

    def _rest_url(self, route_path: str) -> str:
        if self.pretty_permalinks:
            return f"{self.base_url}/wp-json{route_path}"
        return f"{self.base_url}/?rest_route={route_path}"

    def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = {k: v[-1] for k, v in request.query.items() if k != "rest_route"}
        content_type = request.headers.get("content-type", "")
        if request.body and content_type.startswith("application/json"):
            try:
                body = request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                params.update(body)
        elif request.body and content_type.startswith("application/x-www-form-urlencoded"):
            parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in parsed.items()})
        return params

    def _authenticate(self, request: Request) -> tuple[WPUser | None, Response | None]:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic ") or not self.application_passwords_available:
            return None, None
        if not any(u.app_passwords for u in self.users.values()):
            return None, None  # WordPress skips the check until an app password exists
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        login, _, password = decoded.partition(":")
        user = next((u for u in self.users.values() if u.login == login), None)
        if user is None and "@" in login:
            user = next((u for u in self.users.values() if u.email == login), None)
            if user is None:
                return None, _error(
                    401,
                    "invalid_email",
                    "<strong>Error</strong>: Unknown email address. Check again or try your "
                    "username.",
                )
        if user is None:
            return None, _error(
                401,
                "invalid_username",
                "<strong>Error</strong>: Unknown username. Check again or try your email address.",
            )
        if _alnum(password) and _alnum(password) in user.app_passwords:
            return user, None
        return None, _error(
            401, "incorrect_password", "The provided password is an invalid application password."
        )

    def _rest(self, request: Request, path: str) -> Response:
        user, failure = self._authenticate(request)
        if failure is not None:
            return failure
        params = self._params(request)
        handler = self._rest_handler(request.method, path)
        if handler is None:
            return _error(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        func, groups = handler
        with self._state:
            response = func(request, params, user, *groups)
        fields = params.get("_fields")
        if isinstance(fields, str) and 200 <= response.status < 300:
            wanted = {f.strip() for f in fields.split(",") if f.strip()}
            if isinstance(response.body, dict):
                response.body = {k: v for k, v in response.body.items() if k in wanted}
            elif isinstance(response.body, list):
                response.body = [
                    {k: v for k, v in item.items() if k in wanted} for item in response.body
                ]
        return response

    def _rest_handler(
        self, method: str, path: str
    ) -> tuple[Callable[..., Response], tuple[str, ...]] | None:
        table: list[tuple[str, str, Callable[..., Response]]] = [
            ("GET", r"/?", self._index),
            ("GET", r"/wp/v2/users/me", self._users_me),
            ("GET", r"/wp/v2/posts", self._list_posts),
            ("GET", r"/wp/v2/posts/(\d+)", self._get_post),
            ("POST", r"/wp/v2/posts", self._create_post),
            ("POST", r"/wp/v2/posts/(\d+)", self._update_post),
            ("DELETE", r"/wp/v2/posts/(\d+)", self._delete_post),
            ("GET", r"/wp/v2/(categories|tags)", self._list_terms),
            ("POST", r"/wp/v2/(categories|tags)", self._create_term),
            *self.library.routes(),
            ("GET", r"/wp/v2/comments", self._list_comments),
        ]
        for verb, pattern, func in table:
            match = re.fullmatch(pattern, path)
            if match and verb == method:
                return func, match.groups()
        return None

    def _collection(self, items: list[dict[str, Any]], params: Mapping[str, Any]) -> Response:
        raw = str(params.get("per_page", "10"))
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            return _invalid_param(
                "per_page", "per_page must be between 1 (inclusive) and 100 (inclusive)"
            )
        per_page = int(raw)
        page = int(params["page"]) if str(params.get("page", "")).isdigit() else 1
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(math.ceil(total / per_page))}
        return Response(200, chunk, headers)

    # -- routes ------------------------------------------------------------------------

    def _index(self, request: Request, params: Mapping[str, Any], user: WPUser | None) -> Response:
        auth: Any = []
        if self.application_passwords_available:
            auth = {
                "application-passwords": {
                    "endpoints": {
                        "authorization": f"{self.base_url}/wp-admin/authorize-application.php"
                    }
                }
            }
        routes = [
            "/",
            "/wp/v2/posts",
            "/wp/v2/posts/(?P<id>[\\d]+)",
            "/wp/v2/media",
            "/wp/v2/categories",
            "/wp/v2/tags",
            "/wp/v2/comments",
            "/wp/v2/users/me",
        ]
        return Response(
            200,
            {
                "name": self.site_name,
                "description": "",
                "url": self.base_url,
                "home": self.base_url,
                "gmt_offset": 1,
                "timezone_string": "Europe/Belgrade",
                "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
                "authentication": auth,
                "routes": {r: {"namespace": "wp/v2" if r != "/" else ""} for r in routes},
            },
        )

    def _users_me(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None
    ) -> Response:
        if user is None:
            return _error(401, "rest_not_logged_in", "You are not currently logged in.")
        body: dict[str, Any] = {
            "id": user.id,
            "name": user.name,
            "url": "",
            "description": "",
            "link": f"{self.base_url}/author/{user.login}/",
            "slug": user.login,
        }
        if params.get("context") == "edit":
            caps = {cap: True for cap in sorted(ROLE_CAPABILITIES[user.role])}
            body.update(
                {
                    "username": user.login,
                    "email": user.email,
                    "roles": [user.role],
                    "capabilities": {**caps, user.role: True},
                    "extra_capabilities": {user.role: True},
                }
            )
        return Response(200, body)

    def _post_json(self, post: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": post["id"],
            "date": post["date"],
            "date_gmt": post["date"],
            "guid": {"rendered": f"{self.base_url}/?p={post['id']}"},
            "modified": post["date"],
            "slug": post["slug"],
            "status": post["status"],
            "type": "post",
            "link": self._link(post),
            "title": {"raw": post["title"], "rendered": post["title"]},
            "content": {
                "raw": post["content"],
                "rendered": post["content"],
                "protected": False,
                "block_version": 0,
            },
            "excerpt": {"raw": post["excerpt"], "rendered": post["excerpt"], "protected": False},
            "author": post["author"],
            "featured_media": post["featured_media"],
            "comment_status": "open",
            "format": "standard",
            "categories": list(post["categories"]),
            "tags": list(post["tags"]),
        }

    def _link(self, post: Mapping[str, Any]) -> str:
        if self.pretty_permalinks and post["status"] == "publish" and post["slug"]:
            return f"{self.base_url}/{post['slug']}/"
        return f"{self.base_url}/?p={post['id']}"

    def _get_post(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, post_id: str
    ) -> Response:
        post = self.posts.get(int(post_id))
        if post is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if post["status"] != "publish" and (user is None or not user.can("edit_posts")):
            status = 401 if user is None else 403
            return _error(status, "rest_forbidden", "Sorry, you are not allowed to do that.")
        return Response(200, self._post_json(post))

    def _list_posts(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None
    ) -> Response:
        # Validation and sanitising come first, then the permission check, as
        # WP_REST_Server runs them.
        statuses = [s.strip() for s in str(params.get("status", "publish")).split(",")]
        if any(status not in _LIST_STATUSES for status in statuses):
            # WordPress checks each status on its own, so always names "status[0]".
            return _invalid_param(
                "status",
                f"status[0] is not one of {', '.join(_LIST_STATUSES[:-1])}, and any.",
                code="rest_not_in_enum",
            )
        columns = [c.strip() for c in str(params.get("search_columns", "")).split(",") if c]
        for n, column in enumerate(columns):
            if column not in _SEARCH_COLUMNS:
                return _invalid_param(
                    "search_columns",
                    f"search_columns[{n}] is not one of post_title, post_excerpt, and "
                    "post_content.",
                )
        bounds: dict[str, datetime] = {}
        for name in ("after", "before"):
            if name in params:
                when = _rest_date(str(params[name]))
                if when is None:
                    return _invalid_param(name, "Invalid date.", code="rest_invalid_date")
                bounds[name] = when
        may_edit = user is not None and user.can("edit_posts")
        denied = 401 if user is None else 403
        if any(s != "publish" for s in statuses) and not may_edit:
            # sanitize_post_statuses() refuses while the parameters are read:
            # an invalid parameter, with the refusal in its details.
            return _invalid_param(
                "status",
                "Status is forbidden.",
                code="rest_forbidden_status",
                data={"status": denied},
            )
        if params.get("context") == "edit" and not may_edit:
            return _error(
                denied,
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
        if "any" in statuses:
            statuses = [s for s in _STATUSES if s != "private" or may_edit]
        terms = _search_terms(str(params["search"])) if params.get("search") else []
        fields = [c.removeprefix("post_") for c in columns or _SEARCH_COLUMNS]
        found = []
        for post in self.posts.values():
            date = datetime.strptime(post["date"], _DATE_FORMAT)
            if post["status"] not in statuses:
                continue
            if "after" in bounds and not date > bounds["after"]:
                continue
            if "before" in bounds and not date < bounds["before"]:
                continue
            if not self._may_read(user, post):
                continue
            haystacks = [_folded(str(post[f])) for f in fields]
            if all(_term_matches(term, haystacks) for term in terms):
                found.append(post)
        found.sort(key=lambda p: (p["date"], p["id"]), reverse=True)
        response = self._collection([self._post_json(p) for p in found], params)
        pages = int(response.headers.get("X-WP-TotalPages", "0") or 0)
        page = int(params["page"]) if str(params.get("page", "")).isdigit() else 1
        if response.status == 200 and page > max(pages, 1):
            return _error(
                400,
                "rest_post_invalid_page_number",
                "The page number requested is larger than the number of pages available.",
            )
        return response

    def _may_read(self, user: WPUser | None, post: Mapping[str, Any]) -> bool:
        if post["status"] == "publish":
            return True
        if user is None:
            return False
        return post["author"] == user.id or user.can("edit_others_posts")

    def _check_post_params(self, params: Mapping[str, Any]) -> Response | None:
        if "status" in params and params["status"] not in _STATUSES:
            return _invalid_param("status", f"status is not one of {', '.join(_STATUSES)}.")
        for base in _TAXONOMIES:
            if base in params and _int_list(params[base]) is None:
                return _invalid_param(base, f"{base}[0] is not of type integer.")
        return None

    def _status_allowed(self, user: WPUser, status: str) -> Response | None:
        if status in ("publish", "future") and not user.can("publish_posts"):
            return _error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to publish posts in this post type.",
            )
        if status == "private" and not user.can("publish_posts"):
            return _error(
                403,
                "rest_cannot_publish",
                "Sorry, you are not allowed to create private posts in this post type.",
            )
        return None

    def _apply(self, post: dict[str, Any], params: Mapping[str, Any]) -> Response | None:
        """Set the fields a create or update request gives; an error when one is invalid."""
        if "featured_media" in params:
            media_id = params["featured_media"]
            if not isinstance(media_id, int) or (media_id and media_id not in self.media):
                return _error(400, "rest_invalid_featured_media", "Invalid featured media ID.")
            post["featured_media"] = media_id
        for key in ("title", "content", "excerpt"):
            value = params.get(key)
            if isinstance(value, dict):
                value = value.get("raw")
            if isinstance(value, str):
                post[key] = value
        if "status" in params:
            post["status"] = params["status"]
        for base, taxonomy in _TAXONOMIES.items():
            if base in params:
                # Unknown ids are skipped by wp_set_object_terms, without a word.
                ids = _int_list(params[base]) or []
                post[base] = [i for i in dict.fromkeys(ids) if i in self.terms[taxonomy]]
        if post["status"] in ("publish", "private", "future") and not post["slug"]:
            post["slug"] = self._unique_slug(post["title"], post["id"])
        return None

    def _unique_slug(self, title: str, post_id: int) -> str:
        slug = sanitize_title(title) or str(post_id)
        taken = {p["slug"] for p in self.posts.values() if p["id"] != post_id}
        candidate, n = slug, 2
        while candidate in taken:
            candidate, n = f"{slug}-{n}", n + 1
        return candidate

    def _create_post(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None
    ) -> Response:
        invalid = self._check_post_params(params)
        if invalid is not None:
            return invalid
        if user is None:
            return _error(401, "rest_cannot_create", _NOT_LOGGED_IN)
        if not user.can("edit_posts"):
            return _error(403, "rest_cannot_create", _NOT_LOGGED_IN)
        if params.get("id"):
            return _error(400, "rest_post_exists", "Cannot create existing post.")
        status = str(params.get("status", "draft"))
        refused = self._status_allowed(user, status)
        if refused is not None:
            return refused
        post: dict[str, Any] = {
            "id": self._next("post"),
            "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "slug": "",
            "status": "draft",
            "title": "",
            "content": "",
            "excerpt": "",
            "author": user.id,
            "featured_media": 0,
            "categories": [1],  # the default category, unless the request names some
            "tags": [],
        }
        invalid = self._apply(post, params)
        if invalid is not None:
            return invalid
        self.posts[post["id"]] = post
        location = self._rest_url(f"/wp/v2/posts/{post['id']}")
        return Response(201, self._post_json(post), {"Location": location})

    def _update_post(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, post_id: str
    ) -> Response:
        post = self.posts.get(int(post_id))
        if post is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        invalid = self._check_post_params(params)
        if invalid is not None:
            return invalid
        if user is None or not self._may_change(user, post, "edit"):
            return _error(
                401 if user is None else 403,
                "rest_cannot_edit",
                "Sorry, you are not allowed to edit this post.",
            )
        if "status" in params:
            refused = self._status_allowed(user, str(params["status"]))
            if refused is not None:
                return refused
        invalid = self._apply(post, params)
        if invalid is not None:
            return invalid
        return Response(200, self._post_json(post))

    def _may_change(self, user: WPUser, post: Mapping[str, Any], verb: str) -> bool:
        if post["author"] != user.id and not user.can(f"{verb}_others_posts"):
            return False
        if post["status"] == "publish":
            return user.can(f"{verb}_published_posts")
        return user.can(f"{verb}_posts")

    def _delete_post(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, post_id: str
    ) -> Response:
        post = self.posts.get(int(post_id))
        if post is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if user is None or not self._may_change(user, post, "delete"):
            return _error(
                401 if user is None else 403,
                "rest_cannot_delete",
                "Sorry, you are not allowed to delete this post.",
            )
        previous = self._post_json(post)
        if _truthy(params.get("force", False)):
            del self.posts[post["id"]]
            return Response(200, {"deleted": True, "previous": previous})
        if post["status"] == "trash":
            return _error(410, "rest_already_trashed", "The post has already been deleted.")
        post["status"] = "trash"
        return Response(200, self._post_json(post))

    def _term_json(self, taxonomy: str, term: Mapping[str, Any]) -> dict[str, Any]:
        count = sum(
            1
            for p in self.posts.values()
            if term["id"] in p["categories" if taxonomy == "category" else "tags"]
        )
        body = {
            "id": term["id"],
            "count": count,
            "description": term["description"],
            "link": f"{self.base_url}/{'category' if taxonomy == 'category' else 'tag'}/"
            f"{term['slug']}/",
            "name": term["name"],
            "slug": term["slug"],
            "taxonomy": taxonomy,
            "meta": [],
        }
        if taxonomy == "category":
            body["parent"] = term["parent"]
        return body

    def _list_terms(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, base: str
    ) -> Response:
        taxonomy = _TAXONOMIES[base]
        search = str(params.get("search", "")).lower()
        items = [
            self._term_json(taxonomy, t)
            for t in sorted(self.terms[taxonomy].values(), key=lambda t: t["name"].lower())
            # SQL LIKE '%search%' on the stored (escaped) name or the slug.
            if not search or search in t["name"].lower() or search in t["slug"]
        ]
        return self._collection(items, params)

    def _create_term(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, base: str
    ) -> Response:
        taxonomy = _TAXONOMIES[base]
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(
                400, "rest_missing_callback_param", "Missing parameter(s): name", params=["name"]
            )
        if user is None or not user.can("manage_categories"):
            return _error(
                401 if user is None else 403,
                "rest_cannot_create",
                "Sorry, you are not allowed to create terms in this taxonomy.",
            )
        stored = html.escape(name.strip(), quote=False)
        slug = sanitize_title(name)
        for term in self.terms[taxonomy].values():
            if term["name"].lower() == stored.lower() or (slug and term["slug"] == slug):
                message = (
                    "A term with the name provided already exists with this parent."
                    if taxonomy == "category"
                    else "A term with the name provided already exists in this taxonomy."
                )
                body = {
                    "code": "term_exists",
                    "message": message,
                    "data": {"status": 400, "term_id": term["id"]},
                    "additional_data": [term["id"], term["id"]],
                }
                return Response(400, body)
        term_id = self.add_term(taxonomy, name.strip())
        term = self.terms[taxonomy][term_id]
        return Response(
            201,
            self._term_json(taxonomy, term),
            {"Location": self._rest_url(f"/wp/v2/{base}/{term_id}")},
        )

    def _list_comments(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None
    ) -> Response:
        posts = _int_list(params["post"]) if "post" in params else None
        if "post" in params and posts is None:
            return _invalid_param("post", "post[0] is not of type integer.")
        items = [
            {k: v for k, v in c.items() if k != "status"} | {"status": "approved"}
            for c in self.comments
            if c["status"] == "approved" and (posts is None or c["post"] in posts)
        ]
        return self._collection(items, params)

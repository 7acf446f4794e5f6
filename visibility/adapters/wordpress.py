"""The WordPress adapter: publishes articles through the site's REST API.

Authentication is an Application Password (Users → Profile → Application
Passwords) sent with HTTP Basic, as WordPress shows it (spaces and all:
WordPress strips them). WordPress accepts application passwords only over
HTTPS, or on a site whose ``WP_ENVIRONMENT_TYPE`` is ``local``; elsewhere it
ignores them and answers as it would a visitor.

The API lives at ``{base}/wp-json/`` on sites with pretty permalinks and at
``{base}/?rest_route=/`` on every site. The adapter asks once, without
credentials, which of the two answers and keeps the answer (following a
redirect there, e.g. from http:// to https://). The index it reads also says
whether the site offers application passwords, which turns a puzzling "not
logged in" into a precise message.

API requests themselves are never redirected: a redirected POST arrives as a
GET without its credentials, so a redirect is reported, with the address to
configure, instead of followed.

Category and tag ids are looked up by name (or the terms created) once and
kept. If an administrator deletes one later, WordPress silently drops the
unknown id from the post; the adapter notices, looks the names up again and
corrects the post's terms.

``find_published`` lists the posts (any status the adapter may have given)
dated from a day before the given time, searched by the title's words, and
takes the newest whose title, as stored (``title.raw``, unescaped), is the
publication's title and whose ``date_gmt`` is not before that time. The day's
margin is for ``after``, which WordPress compares with the site's local time.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

import requests

from visibility.adapters.base import Account, Adapter, Engagement, Publication, Published
from visibility.adapters.http import (
    excerpt,
    host_of,
    loads_json,
    make_session,
    network_error,
    plain_text,
    redact,
    retry_after,
)
from visibility.adapters.specs import WordPressOptions
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

__all__ = ["WordPressAdapter"]

log = logging.getLogger(__name__)

#: Errors WordPress's application-password check gives (always HTTP 401).
_LOGIN_CODES: Final = frozenset(
    {
        "incorrect_password",
        "invalid_username",
        "invalid_email",
        "application_passwords_disabled",
        "application_passwords_disabled_for_user",
    }
)
_TAXONOMY_NAMES: Final = {
    "categories": ("category", "Posts → Categories"),
    "tags": ("tag", "Posts → Tags"),
}
_POST_IN_LOCATION: Final = re.compile(r"/wp/v2/posts/(\d+)")
_PUBLISHING_STATUSES: Final = ("publish", "private")
#: Every status a post the adapter created may have by now.
_FIND_STATUSES: Final = "publish,future,draft,pending,private"
_FIND_PER_PAGE: Final = 20
_FIND_PAGES: Final = 10
#: How far before ``since`` a post still counts: the site's clock and ours may differ.
CLOCK_SKEW: Final = timedelta(minutes=2)
# ``after`` is compared with the site's local time: a day covers every time zone.
_AFTER_MARGIN: Final = timedelta(days=1)
_MAX_SEARCH_WORDS: Final = 8  # WordPress searches more than nine terms as one sentence
# get_search_stopwords(): words WordPress leaves out of a search.
_STOPWORDS: Final = frozenset(
    {
        *("about", "an", "are", "as", "at", "be", "by", "com", "for", "from", "how", "in"),
        *("is", "it", "of", "on", "or", "that", "the", "this", "to", "was", "what", "when"),
        *("where", "who", "will", "with", "www"),
    }
)


@dataclass(frozen=True)
class _Api:
    """Where the REST API answers, and what its index said."""

    root: str  # ".../wp-json" (pretty) or the home URL ending in "/" (rest_route)
    pretty: bool
    app_passwords: bool | None  # None: the index did not say

    def url(self, route: str, params: Mapping[str, str] | None = None) -> str:
        query = urlencode(params or {})
        if self.pretty:
            return f"{self.root}{route}" + (f"?{query}" if query else "")
        url = f"{self.root}?rest_route={quote(route, safe='/')}"
        return f"{url}&{query}" if query else url


@dataclass(frozen=True)
class _Answer:
    """A WordPress error answer, reduced to what a message needs."""

    status: int
    code: str | None  # None: not a WordPress error body (a proxy's page, say)
    message: str  # plain text, secrets blanked
    data: Mapping[str, Any]


def _salvage(text: str) -> Any:
    """A success answer's JSON object after PHP notices printed in front of it."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return value


def _comparable_title(title: str) -> str:
    return " ".join(unicodedata.normalize("NFC", html.unescape(title)).split())


def _search_words(title: str) -> str:
    """Words of ``title`` for WordPress's search: each must appear in the post.

    Only the longest few, in the title's order, and none that WordPress drops
    (stopwords, single letters): a search of dropped words only would be run
    as one sentence, punctuation and all.
    """
    words = list(dict.fromkeys(re.findall(r"\w+", title)))
    kept = [w for w in words if w.casefold() not in _STOPWORDS and not re.fullmatch(r"[a-zA-Z]", w)]
    longest = set(sorted(kept, key=len, reverse=True)[:_MAX_SEARCH_WORDS])
    return " ".join(w for w in kept if w in longest)


def _refused_parameter(answer: _Answer) -> _Answer | None:
    """A parameter WordPress refused for want of a permission (``rest_forbidden_status``).

    WordPress reports it as an invalid parameter (HTTP 400) with the refusal
    in the parameter's details: the details are what staff need.
    """
    details = answer.data.get("details")
    if answer.code != "rest_invalid_param" or not isinstance(details, Mapping):
        return None
    for detail in details.values():
        code = detail.get("code") if isinstance(detail, Mapping) else None
        if isinstance(code, str) and code.startswith("rest_forbidden"):
            data = detail.get("data")
            data = data if isinstance(data, Mapping) else {}
            status = data.get("status")
            return _Answer(
                status if isinstance(status, int) else answer.status,
                code,
                plain_text(str(detail.get("message") or code)),
                data,
            )
    return None


def _gmt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def _filename(path: Path) -> str:
    # WordPress reads the name between the quotes of filename="..." up to
    # the next ';' and has no escapes, so those characters cannot travel.
    name = re.sub(r'[\x00-\x1f\x7f";\\]', "_", path.name)
    return name or "image"


class WordPressAdapter(Adapter):
    """Publishes articles to one WordPress site as one user."""

    # A comment count per post costs one request; WordPress only totals a list.
    engagement_batch = 1

    def __init__(self, channel: Channel, *, session: requests.Session | None = None) -> None:
        self.channel = channel.name
        self.options = WordPressOptions.model_validate(dict(channel.options))
        values = {role: secret.get_secret_value() for role, secret in channel.secrets.items()}
        missing = [r for r in ("username", "application_password") if not values.get(r)]
        if missing:
            raise CredentialsError(
                f"channel {channel.name!r} lacks the WordPress secret(s) {', '.join(missing)}: "
                "name them under secrets in the channels file and set them, then run "
                "`visibility channels check`",
                channel=channel.name,
            )
        self._username = values["username"]
        password = values["application_password"]
        self._authorization = "Basic " + base64.b64encode(
            f"{self._username}:{password}".encode()
        ).decode("ascii")
        self._secrets = (password, password.replace(" ", ""), self._authorization[6:])
        self._owns_session = session is None
        self.session = session if session is not None else make_session()
        self._base = self.options.base_url
        self._api: _Api | None = None
        self._term_ids: dict[str, dict[str, int]] = {name: {} for name in _TAXONOMY_NAMES}
        # A retry after a failed post creation reuses the image already uploaded.
        self._uploads: dict[tuple[int, str], int] = {}

    def __repr__(self) -> str:
        return f"WordPressAdapter(channel={self.channel!r}, base_url={self._base!r})"

    # -- the Adapter interface -------------------------------------------------

    def check(self) -> Account:
        user = self._json(
            "GET",
            "/wp/v2/users/me",
            params={"context": "edit"},
            what="user",
            action="reading the user account",
        )
        if not isinstance(user, dict) or "id" not in user:
            raise PermanentChannelError(
                f"WordPress at {self._host} answered the account check without a user; "
                "check base_url",
                channel=self.channel,
            )
        caps = user.get("capabilities")
        caps = caps if isinstance(caps, dict) else {}
        roles = ", ".join(str(r) for r in user.get("roles") or []) or "no role"
        login = str(user.get("username") or self._username)
        publishing = self.options.status in _PUBLISHING_STATUSES
        needed = "publish_posts" if publishing else "edit_posts"
        if caps and not caps.get(needed):
            if publishing:
                advice = (
                    "give the user the Author or Editor role (Users → All Users → Role), or set "
                    'status = "pending" in this channel\'s options so an editor publishes '
                    "each article"
                )
            else:
                advice = "give the user the Contributor role or higher (Users → All Users → Role)"
            raise CredentialsError(
                f"WordPress user '{login}' ({roles}) cannot "
                f"{'publish' if publishing else 'write'} posts: it lacks the {needed} "
                f"capability; {advice}",
                channel=self.channel,
            )
        if not caps:
            detail = "logged in (WordPress did not show the user's capabilities)"
        else:
            detail = "can publish posts" if caps.get("publish_posts") else "can write posts"
            if not caps.get("upload_files"):
                detail += "; cannot upload images, so articles with a featured image will fail"
            if (self.options.categories or self.options.tags) and not caps.get("manage_categories"):
                detail += "; cannot create categories or tags, so they must exist already"
        return Account(
            name=str(user.get("name") or login), external_id=str(user["id"]), detail=detail
        )

    def publish(self, publication: Publication) -> Published:
        try:
            self._root()
            featured = self._featured_media(publication) if publication.image_path else None
            terms = {
                taxonomy: self._resolve_terms(taxonomy, names)
                for taxonomy, names in (
                    ("categories", self.options.categories),
                    ("tags", self.options.tags),
                )
            }
        except RetryableChannelError as exc:
            exc.reached = False  # the article itself was not sent yet
            raise
        body: dict[str, Any] = {
            "title": publication.title or "",
            "content": publication.body,
            "status": self.options.status,
        }
        if publication.excerpt is not None:
            body["excerpt"] = publication.excerpt
        for taxonomy, ids in terms.items():
            if ids:
                body[taxonomy] = ids
        if featured is not None:
            body["featured_media"] = featured
        response = self._request("POST", "/wp/v2/posts", json_body=body)
        if not 200 <= response.status_code < 300:
            raise self._error(response, what="post", action="publishing the article")
        post = loads_json(response.text)
        if not isinstance(post, dict):
            post = _salvage(response.text)
        post_id = post.get("id") if isinstance(post, dict) else None
        if post_id is None:
            match = _POST_IN_LOCATION.search(unquote(response.headers.get("Location", "")))
            post_id = match.group(1) if match else None
        if post_id is None:
            raise PermanentChannelError(
                f"WordPress at {self._host} answered HTTP {response.status_code} to the new "
                "article without saying which post it created: look for the article under "
                "Posts in WordPress before publishing it again",
                channel=self.channel,
            )
        link = post.get("link") if isinstance(post, dict) else None
        if isinstance(post, dict):
            self._repair_terms(str(post_id), terms, post)
        return Published(external_id=str(post_id), url=link if isinstance(link, str) else None)

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        wanted = _comparable_title(publication.title or "")
        if not wanted:
            raise PermanentChannelError(
                f"post {publication.post_id} has no title to look for it by on WordPress "
                "(look under Posts in WordPress)",
                channel=self.channel,
            )
        earliest = since - CLOCK_SKEW
        params = {
            "after": (since - _AFTER_MARGIN).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            "status": _FIND_STATUSES,
            "context": "edit",
            "per_page": str(_FIND_PER_PAGE),
            "orderby": "date",
            "order": "desc",
            "_fields": "id,date_gmt,link,status,title",
        }
        search = _search_words(wanted)
        if search:
            params |= {"search": search, "search_columns": "post_title"}
        for page in range(1, _FIND_PAGES + 1):
            response = self._request("GET", "/wp/v2/posts", params={**params, "page": str(page)})
            if response.status_code != 200:
                raise self._error(response, what="find", action="looking for the article")
            posts = loads_json(response.text)
            if not isinstance(posts, list):
                raise PermanentChannelError(
                    f"WordPress at {self._host} did not answer the search for the article with "
                    f"a list of posts ({self._redact(excerpt(response.text))}); check base_url",
                    channel=self.channel,
                )
            found = [p for p in posts if self._is_wanted(p, wanted, earliest)]
            if found:
                newest = max(found, key=lambda p: (_gmt(p.get("date_gmt")) or earliest, p["id"]))
                link = newest.get("link")
                return Published(str(newest["id"]), link if isinstance(link, str) else None)
            total = response.headers.get("X-WP-TotalPages", "").strip()
            pages = int(total) if total.isdigit() else page
            if page >= pages:
                return None
        raise PermanentChannelError(
            f"WordPress at {self._host} has more than {_FIND_PAGES * _FIND_PER_PAGE} posts like "
            f"'{publication.title}' since {since:%Y-%m-%d %H:%M} UTC, too many for visibility "
            "to look through (look under Posts in WordPress)",
            channel=self.channel,
        )

    @staticmethod
    def _is_wanted(post: Any, wanted: str, earliest: datetime) -> bool:
        if not isinstance(post, dict) or not isinstance(post.get("id"), int):
            return False
        title = post.get("title")
        if isinstance(title, dict):
            title = title.get("raw", title.get("rendered"))
        if not isinstance(title, str) or _comparable_title(title) != wanted:
            return False
        date = _gmt(post.get("date_gmt"))
        return date is None or date >= earliest

    def delete(self, external_id: str) -> None:
        post_id = self._post_id(external_id)
        response = self._request("DELETE", f"/wp/v2/posts/{post_id}", params={"force": "true"})
        if response.status_code == 200:
            return
        answer = self._answer(response)
        if answer.code == "rest_post_invalid_id":
            return  # already gone, which is what was asked
        raise self._error(response, what="delete", action=f"deleting post {post_id}")

    def engagement(self, external_ids: Sequence[str]) -> list[Engagement]:
        figures = []
        for external_id in external_ids:
            post_id = self._post_id(external_id)
            response = self._request(
                "GET", "/wp/v2/comments", params={"post": str(post_id), "per_page": "1"}
            )
            if response.status_code != 200:
                raise self._error(
                    response, what="read", action=f"reading the comments of post {post_id}"
                )
            total = response.headers.get("X-WP-Total", "")
            count = int(total) if total.strip().isdigit() else None
            # WordPress lists no comments for a post it does not have: a
            # count of 0 needs a look at the post itself.
            if count == 0 and not self._post_exists(post_id):
                continue
            figures.append(
                Engagement(external_id=str(post_id), comments=count, raw={"X-WP-Total": total})
            )
        return figures

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- the API root ----------------------------------------------------------

    @property
    def _host(self) -> str:
        return host_of(self._api.root if self._api else self._base)

    def _root(self) -> _Api:
        if self._api is None:
            self._api = self._discover()
        return self._api

    def _discover(self) -> _Api:
        tried = []
        for pretty, url in (
            (True, f"{self._base}/wp-json/"),
            (False, f"{self._base}/?rest_route=/"),
        ):
            try:
                # No credentials: the index is public, and a wrong password
                # would make this look like a site without a REST API.
                response = self.session.get(url, timeout=self.options.timeout)
            except requests.RequestException as exc:
                raise network_error(
                    exc, channel=self.channel, url=url, timeout=self.options.timeout
                ) from exc
            status = response.status_code
            if status == 429 or status >= 500:
                raise RetryableChannelError(
                    f"WordPress at {host_of(url)} answered HTTP {status} when asked where its "
                    f"REST API is ({self._redact(excerpt(response.text))}); will try again",
                    channel=self.channel,
                    retry_after=retry_after(response.headers),
                    reached=status != 429,
                )
            index = loads_json(response.text)
            if isinstance(index, dict) and (
                "namespaces" in index or "routes" in index or "code" in index
            ):
                final = urlsplit(response.url)
                if pretty:
                    path = final.path.rstrip("/")
                    root = (
                        f"{final.scheme}://{final.netloc}{path}"
                        if path.endswith("/wp-json")
                        else f"{self._base}/wp-json"
                    )
                else:
                    root = f"{final.scheme}://{final.netloc}{final.path or '/'}"
                auth = index.get("authentication")
                available = (
                    isinstance(auth, dict) and "application-passwords" in auth
                    if "namespaces" in index
                    else None
                )
                return _Api(root=root, pretty=pretty, app_passwords=available)
            shape = "JSON" if index is not None else "not JSON"
            tried.append(f"{url} gave HTTP {status}, {shape}")
        raise PermanentChannelError(
            f"no WordPress REST API answers at {self._base} ({'; '.join(tried)}): check "
            "base_url (the site's address, e.g. https://qbsc.example.org) and that no plugin "
            "turns the REST API off",
            channel=self.channel,
        )

    # -- requests --------------------------------------------------------------

    def _request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> requests.Response:
        url = self._root().url(route, params)
        sent: dict[str, str | bytes] = {
            "Authorization": self._authorization,
            "Accept": "application/json",
        }
        sent.update(headers or {})
        try:
            return self.session.request(
                method,
                url,
                json=json_body,
                data=data,
                headers=sent,
                timeout=self.options.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(
                exc, channel=self.channel, url=url, timeout=self.options.timeout
            ) from exc

    def _json(
        self,
        method: str,
        route: str,
        *,
        what: str,
        action: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Any:
        response = self._request(method, route, params=params, json_body=json_body)
        if not 200 <= response.status_code < 300:
            raise self._error(response, what=what, action=action)
        value = loads_json(response.text)
        if value is None:
            raise PermanentChannelError(
                f"WordPress at {self._host} gave an answer that is not JSON (HTTP "
                f"{response.status_code}) while {action}: "
                f"{self._redact(excerpt(response.text))}; check base_url",
                channel=self.channel,
            )
        return value

    def _post_id(self, external_id: str) -> int:
        if not external_id.strip().isdigit():
            raise PermanentChannelError(
                f"{external_id!r} is not a WordPress post id (a number)", channel=self.channel
            )
        return int(external_id)

    def _post_exists(self, post_id: int) -> bool:
        response = self._request("GET", f"/wp/v2/posts/{post_id}", params={"_fields": "id"})
        if response.status_code == 200:
            return True
        if self._answer(response).code == "rest_post_invalid_id":
            return False
        raise self._error(response, what="read", action=f"looking up post {post_id}")

    # -- images and terms ------------------------------------------------------

    def _featured_media(self, publication: Publication) -> int:
        assert publication.image_path is not None
        path = Path(publication.image_path)
        key = (publication.post_id, str(path))
        if key in self._uploads:
            return self._uploads[key]
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PermanentChannelError(
                f"the article's image {path.name} cannot be read ({exc.strerror}): put the "
                "file back or remove the image from the post",
                channel=self.channel,
            ) from exc
        if not content:
            raise PermanentChannelError(
                f"the article's image {path.name} is an empty file", channel=self.channel
            )
        name = _filename(path)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        disposition = f'attachment; filename="{name}"'
        response = self._request(
            "POST",
            "/wp/v2/media",
            data=content,
            headers={
                "Content-Type": content_type,
                # WordPress takes the name's bytes as they come: UTF-8 here.
                "Content-Disposition": disposition.encode("utf-8")
                if not disposition.isascii()
                else disposition,
            },
        )
        if response.status_code not in (200, 201):
            raise self._error(response, what="media", action=f"uploading the image {path.name}")
        media = loads_json(response.text)
        if not isinstance(media, dict) or not isinstance(media.get("id"), int):
            raise PermanentChannelError(
                f"WordPress at {self._host} accepted the image {path.name} without giving its "
                "id; check the Media Library, then publish again",
                channel=self.channel,
            )
        self._uploads[key] = media["id"]
        return int(media["id"])

    def _resolve_terms(self, taxonomy: str, names: Sequence[str]) -> list[int]:
        ids = []
        for name in names:
            name = name.strip()
            if not name:
                continue
            known = self._term_ids[taxonomy].get(name.casefold())
            if known is None:
                known = self._term_id(taxonomy, name)
                self._term_ids[taxonomy][name.casefold()] = known
            if known not in ids:
                ids.append(known)
        return ids

    def _term_id(self, taxonomy: str, name: str) -> int:
        """The id of the category or tag called ``name``, created when missing."""
        label = _TAXONOMY_NAMES[taxonomy][0]
        found = self._json(
            "GET",
            f"/wp/v2/{taxonomy}",
            params={"search": name, "per_page": "100", "_fields": "id,name"},
            what="term",
            action=f"looking up the {label} '{name}'",
        )
        for term in found if isinstance(found, list) else []:
            # WordPress stores and returns names HTML-escaped ("A &amp; B").
            if (
                isinstance(term, dict)
                and html.unescape(str(term.get("name", ""))).casefold() == name.casefold()
                and isinstance(term.get("id"), int)
            ):
                return int(term["id"])
        response = self._request("POST", f"/wp/v2/{taxonomy}", json_body={"name": name})
        if response.status_code in (200, 201):
            created = loads_json(response.text)
            if isinstance(created, dict) and isinstance(created.get("id"), int):
                return int(created["id"])
        answer = self._answer(response)
        if answer.code == "term_exists":
            term_id = answer.data.get("term_id")
            if isinstance(term_id, int) or (isinstance(term_id, str) and term_id.isdigit()):
                return int(term_id)
        raise self._error(
            response, what="term", action=f"creating the {label} '{name}'", subject=name
        )

    def _repair_terms(
        self, post_id: str, sent: Mapping[str, list[int]], post: Mapping[str, Any]
    ) -> None:
        """Re-resolve terms WordPress dropped from the post (deleted since cached)."""
        stale = {
            taxonomy: set(ids) - set(post.get(taxonomy) or [])
            for taxonomy, ids in sent.items()
            if ids and isinstance(post.get(taxonomy), list)
        }
        if not any(stale.values()):
            return
        fix: dict[str, list[int]] = {}
        try:
            for taxonomy, gone in stale.items():
                if not gone:
                    continue
                cache = self._term_ids[taxonomy]
                for key in [k for k, v in cache.items() if v in gone]:
                    del cache[key]
                names = self.options.categories if taxonomy == "categories" else self.options.tags
                fix[taxonomy] = self._resolve_terms(taxonomy, names)
            self._json(
                "POST",
                f"/wp/v2/posts/{post_id}",
                json_body=fix,
                what="post",
                action=f"correcting the categories and tags of post {post_id}",
            )
        except ChannelError as exc:
            # The article is published; failing now would publish it twice.
            log.warning(
                "post %s was published without some of its categories or tags: %s",
                post_id,
                exc,
                extra={"channel": self.channel},
            )

    # -- errors ----------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def _answer(self, response: requests.Response) -> _Answer:
        body = loads_json(response.text)
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            data = body.get("data")
            message = self._redact(plain_text(str(body.get("message") or "")))
            return _Answer(
                response.status_code,
                body["code"],
                message or body["code"],
                data if isinstance(data, dict) else {},
            )
        return _Answer(response.status_code, None, self._redact(excerpt(response.text)), {})

    def _error(
        self, response: requests.Response, *, what: str, action: str, subject: str = ""
    ) -> ChannelError:
        """The error staff should see for a WordPress answer that is not a success."""
        answer = self._answer(response)
        status, host = answer.status, self._host
        if status == 429 or status == 408:
            return RetryableChannelError(
                f"WordPress at {host} asked to slow down (HTTP {status}) while {action}; "
                "will try again",
                channel=self.channel,
                retry_after=retry_after(response.headers),
                reached=False,  # refused before WordPress acted on it
            )
        if 300 <= status < 400:
            location = urljoin(response.url, response.headers.get("Location", ""))
            parts = urlsplit(location)
            return PermanentChannelError(
                f"WordPress at {host} redirected the request to "
                f"{parts.scheme}://{parts.netloc}{parts.path} (HTTP {status}) while {action}: "
                "set base_url to the site's current address",
                channel=self.channel,
            )
        if answer.code is None:
            return self._error_not_json(answer, action)
        if answer.code.startswith("rest_upload_") and status >= 500:
            return PermanentChannelError(
                f"WordPress at {host} could not store the image while {action}: "
                f"{answer.message}. Use a JPEG, PNG, GIF or WebP image, or ask the site "
                "administrator to check the uploads folder",
                channel=self.channel,
            )
        if status >= 500:
            return RetryableChannelError(
                f"WordPress at {host} failed while {action} (HTTP {status}: {answer.message}); "
                "will try again",
                channel=self.channel,
            )
        refusal = _refused_parameter(answer)
        if refusal is not None:
            refusal = _Answer(refusal.status, refusal.code, self._redact(refusal.message), {})
            return self._credentials(refusal, what=what, action=action, subject=subject)
        if (
            answer.code in _LOGIN_CODES
            or status in (401, 403)
            or (answer.code.startswith("rest_cannot_") or answer.code.startswith("rest_forbidden"))
        ):
            return self._credentials(answer, what=what, action=action, subject=subject)
        if answer.code == "rest_no_route":
            return PermanentChannelError(
                f"the WordPress REST API is not reachable at {self._base}: WordPress at {host} "
                f"has no route for this request ({answer.message}). Check base_url, and that "
                "no plugin turns off the REST API or its posts endpoint",
                channel=self.channel,
            )
        details = ""
        params = answer.data.get("params")
        if isinstance(params, dict) and params:
            details = (
                " ("
                + "; ".join(
                    f"{key}: {self._redact(plain_text(str(value)))}"
                    for key, value in params.items()
                )
                + ")"
            )
        refused = "the article" if what == "post" else f"the request while {action}"
        return PermanentChannelError(
            f"WordPress refused {refused}: {answer.message}{details} "
            f"[HTTP {status}, {answer.code}]",
            channel=self.channel,
        )

    def _error_not_json(self, answer: _Answer, action: str) -> ChannelError:
        status, host = answer.status, self._host
        what = f"WordPress at {host} answered HTTP {status} while {action}: {answer.message}"
        if status >= 500:
            return RetryableChannelError(f"{what}; will try again", channel=self.channel)
        if status in (401, 403):
            hint = (
                "something in front of WordPress (a firewall, or password protection of the "
                "whole site) refused the request: ask the site administrator to let requests "
                "to the REST API through"
            )
        elif status == 404:
            hint = "the REST API is not at that address: check base_url"
        else:
            hint = "ask the site administrator what refused the request"
        return PermanentChannelError(f"{what}. {hint}", channel=self.channel)

    def _credentials(
        self, answer: _Answer, *, what: str, action: str, subject: str
    ) -> CredentialsError:
        user, host, said = self._username, self._host, answer.message
        code = answer.code
        if code == "incorrect_password":
            text = (
                f"WordPress rejected the application password for user '{user}' ({said}): "
                "create a new one under Users → Profile → Application Passwords and put it in "
                "this channel's application_password secret"
            )
        elif code in ("invalid_username", "invalid_email"):
            text = (
                f"WordPress at {host} has no user '{user}' ({said}): set this channel's username "
                "secret to the login name of the WordPress user who owns the application password"
            )
        elif code == "application_passwords_disabled":
            text = f"WordPress at {host} does not accept application passwords ({said}): " + (
                self._why_no_app_passwords()
            )
        elif code == "application_passwords_disabled_for_user":
            text = (
                f"WordPress does not allow application passwords for user '{user}' ({said}): ask "
                "the site administrator to allow them for this user, or use another user"
            )
        elif answer.status == 401:
            # WordPress answered as to a visitor: it never saw a valid login.
            api = self._api
            if api is not None and api.app_passwords is False:
                text = (
                    f"WordPress at {host} ignored the application password and answered as to "
                    f"a visitor ({said}): " + self._why_no_app_passwords()
                )
            else:
                text = (
                    f"WordPress at {host} answered as to a visitor, not as user '{user}' "
                    f"({said}): check that this user has an application password (Users → "
                    "Profile → Application Passwords); if it has, the web server is not passing "
                    "the Authorization header on to WordPress, ask the site administrator"
                )
                unsure = api is None or api.app_passwords is None
                if unsure and urlsplit(api.root if api else self._base).scheme != "https":
                    text += (
                        ". WordPress also ignores application passwords on sites that are "
                        "not on HTTPS"
                    )
        elif what == "media":
            text = (
                f"WordPress user '{user}' may not upload images ({said}): give the user the "
                "Author role or higher (contributors cannot upload), or publish the article "
                "without an image"
            )
        elif what == "term":
            text = (
                f"WordPress user '{user}' may not create '{subject}' ({said}): create it in "
                "WordPress first (Posts → Categories or Posts → Tags) or give the user the "
                "Editor role"
            )
        elif code == "rest_cannot_publish":
            text = (
                f"WordPress user '{user}' may not publish posts ({said}): give the user the "
                'Author or Editor role, or set status = "pending" in this channel\'s options '
                "so an editor publishes each article"
            )
        elif code == "rest_cannot_assign_term":
            text = (
                f"WordPress user '{user}' may not give posts the categories or tags of this "
                f"channel ({said}): give the user the Editor role, or change categories and "
                "tags in this channel's options"
            )
        elif what == "post":
            text = (
                f"WordPress user '{user}' may not create posts ({said}): give the user the "
                "Author or Editor role (Users → All Users → Role)"
            )
        elif what == "find":
            text = (
                f"WordPress user '{user}' may not list unpublished posts ({said}), which "
                "visibility needs to find out whether the article was created: give the user "
                "a role that may write posts, Contributor or higher (Users → All Users → Role)"
            )
        elif what == "delete":
            text = (
                f"WordPress user '{user}' may not delete this post ({said}): delete it in "
                "WordPress, or give the user the Editor role"
            )
        else:
            text = (
                f"WordPress refused user '{user}' while {action} ({said}; HTTP {answer.status}, "
                f"{code}): ask the site administrator for the permission"
            )
        return CredentialsError(self._redact(text), channel=self.channel)

    def _why_no_app_passwords(self) -> str:
        root = self._api.root if self._api else self._base
        if urlsplit(root).scheme != "https":
            return (
                "WordPress offers application passwords only on sites served over HTTPS, and "
                f"{host_of(root)} is not: set base_url to the site's https:// address (the "
                "site needs an HTTPS certificate first), or, on a local test site only, set "
                "WP_ENVIRONMENT_TYPE to 'local'"
            )
        return (
            "application passwords are turned off on this site (by a security plugin or the "
            "site's configuration): ask the site administrator to turn them on"
        )

"""The WordPress adapter: publishes articles through the site's REST API.

Requests, authentication (an application password) and what WordPress's
errors mean are in ``wordpress_site`` and ``wordpress_errors``; an article's
pictures, uploaded once to the Media Library and shown in the article, are in
``wordpress_media``.

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

import html
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote

import requests

from visibility.adapters.base import (
    Account,
    Adapter,
    Engagement,
    LocalMemory,
    Memory,
    Publication,
    Published,
)
from visibility.adapters.http import excerpt, loads_json
from visibility.adapters.specs import WordPressOptions
from visibility.adapters.wordpress_media import MediaLibrary, figure, with_emblems, with_pictures
from visibility.adapters.wordpress_site import WordPressSite, salvage_json
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

__all__ = ["WordPressAdapter"]

log = logging.getLogger(__name__)

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


def _gmt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


class WordPressAdapter(Adapter):
    """Publishes articles to one WordPress site as one user."""

    # A comment count per post costs one request; WordPress only totals a list.
    engagement_batch = 1

    def __init__(
        self,
        channel: Channel,
        *,
        session: requests.Session | None = None,
        memory: Memory | None = None,
    ) -> None:
        """``memory``: where the pictures uploaded are noted, for every worker and after a
        restart (the database, in production); without one, for this process only."""
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
        self._base = self.options.base_url
        self._site = WordPressSite(
            channel=channel.name,
            base=self._base,
            username=self._username,
            password=values["application_password"],
            timeout=self.options.timeout,
            session=session,
        )
        self.session = self._site.session
        self._media = MediaLibrary(self._site, memory if memory is not None else LocalMemory())
        self._term_ids: dict[str, dict[str, int]] = {name: {} for name in _TAXONOMY_NAMES}

    def __repr__(self) -> str:
        return f"WordPressAdapter(channel={self.channel!r}, base_url={self._base!r})"

    # -- the Adapter interface -------------------------------------------------

    def check(self) -> Account:
        user = self._site.json(
            "GET",
            "/wp/v2/users/me",
            params={"context": "edit"},
            what="user",
            action="reading the user account",
        )
        if not isinstance(user, dict) or "id" not in user:
            raise PermanentChannelError(
                f"WordPress at {self._site.host} answered the account check without a user; "
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
                detail += "; cannot upload images, so articles with pictures will fail"
            if (self.options.categories or self.options.tags) and not caps.get("manage_categories"):
                detail += "; cannot create categories or tags, so they must exist already"
        return Account(
            name=str(user.get("name") or login), external_id=str(user["id"]), detail=detail
        )

    def publish(self, publication: Publication) -> Published:
        try:
            self._site.root()
            uploaded = self._media.put(publication.media)
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
        pairs = list(zip(publication.media, uploaded, strict=True))
        pictures = [(p, u) for p, u in pairs if p.role != "emblem"]
        emblems = [figure(p, u) for p, u in pairs if p.role == "emblem"]
        figures = [figure(p, u) for p, u in pictures[1:]]
        body: dict[str, Any] = {
            "title": publication.title or "",
            "content": with_emblems(with_pictures(publication.body, figures), emblems),
            "status": self.options.status,
        }
        if publication.excerpt is not None:
            body["excerpt"] = publication.excerpt
        for taxonomy, ids in terms.items():
            if ids:
                body[taxonomy] = ids
        if pictures:
            body["featured_media"] = pictures[0][1].id
        response = self._site.request("POST", "/wp/v2/posts", json_body=body)
        if not 200 <= response.status_code < 300:
            raise self._site.error(response, what="post", action="publishing the article")
        post = salvage_json(response.text)
        post_id = post.get("id") if isinstance(post, dict) else None
        if post_id is None:
            match = _POST_IN_LOCATION.search(unquote(response.headers.get("Location", "")))
            post_id = match.group(1) if match else None
        if post_id is None:
            raise PermanentChannelError(
                f"WordPress at {self._site.host} answered HTTP {response.status_code} to the new "
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
            response = self._site.request(
                "GET", "/wp/v2/posts", params={**params, "page": str(page)}
            )
            if response.status_code != 200:
                raise self._site.error(response, what="find", action="looking for the article")
            posts = loads_json(response.text)
            if not isinstance(posts, list):
                raise PermanentChannelError(
                    f"WordPress at {self._site.host} did not answer the search for the article "
                    f"with a list of posts ({self._site.redact(excerpt(response.text))}); check "
                    "base_url",
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
            f"WordPress at {self._site.host} has more than {_FIND_PAGES * _FIND_PER_PAGE} posts "
            f"like '{publication.title}' since {since:%Y-%m-%d %H:%M} UTC, too many for visibility "
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
        response = self._site.request("DELETE", f"/wp/v2/posts/{post_id}", params={"force": "true"})
        if response.status_code == 200:
            return
        answer = self._site.answer(response)
        if answer.code == "rest_post_invalid_id":
            return  # already gone, which is what was asked
        raise self._site.error(response, what="delete", action=f"deleting post {post_id}")

    def engagement(self, external_ids: Sequence[str]) -> list[Engagement]:
        figures = []
        for external_id in external_ids:
            post_id = self._post_id(external_id)
            response = self._site.request(
                "GET", "/wp/v2/comments", params={"post": str(post_id), "per_page": "1"}
            )
            if response.status_code != 200:
                raise self._site.error(
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
        self._site.close()

    def _post_id(self, external_id: str) -> int:
        if not external_id.strip().isdigit():
            raise PermanentChannelError(
                f"{external_id!r} is not a WordPress post id (a number)", channel=self.channel
            )
        return int(external_id)

    def _post_exists(self, post_id: int) -> bool:
        response = self._site.request("GET", f"/wp/v2/posts/{post_id}", params={"_fields": "id"})
        if response.status_code == 200:
            return True
        if self._site.answer(response).code == "rest_post_invalid_id":
            return False
        raise self._site.error(response, what="read", action=f"looking up post {post_id}")

    # -- terms ---------------------------------------------------------------

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
        found = self._site.json(
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
        response = self._site.request("POST", f"/wp/v2/{taxonomy}", json_body={"name": name})
        if response.status_code in (200, 201):
            created = loads_json(response.text)
            if isinstance(created, dict) and isinstance(created.get("id"), int):
                return int(created["id"])
        answer = self._site.answer(response)
        if answer.code == "term_exists":
            term_id = answer.data.get("term_id")
            if isinstance(term_id, int) or (isinstance(term_id, str) and term_id.isdigit()):
                return int(term_id)
        raise self._site.error(
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
            self._site.json(
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

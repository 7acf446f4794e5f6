"""The Facebook Page adapter: posts, photos and figures through the Graph API.

It speaks to ``{base_url}/{api_version}`` with the Page access token in the
``Authorization`` header, never in a URL, so no logged URL can leak it. After
every answer it reads Graph's usage headers (see ``graph_usage``) and, once
the Page is near its limits, refuses publish and engagement calls with a
retryable error instead of letting Facebook throttle the Page. Graph's error
objects are translated in ``graph_errors``.

``find_published`` reads the Page's feed since the given time and compares
each post's ``message`` with the body the adapter sends as the message
(Facebook keeps it as sent; whitespace and Unicode form are evened out).
"""

from __future__ import annotations

import mimetypes
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from visibility.adapters.base import Account, Adapter, Engagement, Publication, Published
from visibility.adapters.graph_errors import (
    GraphError,
    is_rate_limit,
    rate_limit_reason,
    rate_limit_until,
    translate,
)
from visibility.adapters.graph_usage import UsageGauge
from visibility.adapters.http import make_session, network_error, redact
from visibility.adapters.specs import FacebookOptions
from visibility.config.channels import Channel
from visibility.errors import ChannelError, ConfigError, CredentialsError, PermanentChannelError

TOKEN_ROLE = "page_access_token"  # noqa: S105  (the secret's role, not its value)
ENGAGEMENT_FIELDS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
POST_URL = "https://www.facebook.com/{id}"
MISSING_ID_ROUNDS = 5  # calls again without ids Graph says it does not know
FEED_FIELDS = "id,message,created_time,permalink_url"
FEED_PAGES = 5  # feed pages of 100 posts read at most when looking for a post
CLOCK_SKEW = timedelta(minutes=2)  # how far before ``since`` the feed is read


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: Any  # the decoded JSON, or None when the answer was not JSON

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and isinstance(self.body, dict) and "error" not in self.body


class FacebookAdapter(Adapter):
    """Publishes to one Facebook Page with its Page access token."""

    engagement_batch = 50

    def __init__(self, channel: Channel, *, session: requests.Session | None = None) -> None:
        self.channel = channel.name
        self.options = FacebookOptions.model_validate(channel.options)
        secret = channel.secrets.get(TOKEN_ROLE)
        if secret is None or not secret.get_secret_value():
            raise ConfigError(
                f"channel {channel.name!r}: the {TOKEN_ROLE} secret is not set; "
                "name the variable that holds the Page access token in its secrets table"
            )
        self._token = secret.get_secret_value()
        self._owns_session = session is None
        self._session = session if session is not None else make_session()
        self._api = f"{self.options.base_url}/{self.options.api_version}"
        self._gauge = UsageGauge(
            slow_down_at=self.options.slow_down_at_percent, channel=self.channel
        )

    def __repr__(self) -> str:
        return f"FacebookAdapter(channel={self.channel!r}, page_id={self.options.page_id!r})"

    # -- what the scheduler may look at ------------------------------------------

    @property
    def page_id(self) -> str:
        return self.options.page_id

    @property
    def usage_percent(self) -> int | None:
        """The highest usage figure of Graph's latest answer (None before any answer)."""
        return self._gauge.percent

    @property
    def slow_down_until(self) -> datetime | None:
        """Until when publish and engagement calls are held back, if they are."""
        return self._gauge.hold_until

    # -- the Adapter interface ----------------------------------------------------

    def publish(self, publication: Publication) -> Published:
        self._refuse_when_near_limit()
        page = quote(self.page_id, safe="")
        if publication.image_path:
            answer = self._publish_photo(publication)
            post_id = answer.body.get("post_id") or answer.body.get("id")
        else:
            data = {"message": publication.body}
            if publication.link:
                data["link"] = publication.link
            answer = self._call("POST", f"/{page}/feed", data=data, action="the post")
            post_id = answer.body.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentChannelError(
                "Facebook accepted the post but gave no post id; look for it on the Page "
                "before publishing it again",
                channel=self.channel,
            )
        return Published(external_id=post_id, url=POST_URL.format(id=post_id))

    def check(self) -> Account:
        page = quote(self.page_id, safe="")
        answer = self._call(
            "GET", f"/{page}", params={"fields": "name,id"}, action="the Page lookup"
        )
        name = answer.body.get("name")
        usage = self.usage_percent
        detail = f"Graph API {self.options.api_version}"
        if usage is not None:
            detail += f"; usage at {usage}% of its limit"
        return Account(
            name=str(name) if name else f"Page {self.page_id}",
            external_id=str(answer.body.get("id") or self.page_id),
            detail=detail,
        )

    def delete(self, external_id: str) -> None:
        answer = self._request("DELETE", f"/{quote(external_id, safe='')}")
        if not answer.ok:
            error = self._error(answer)
            if error is not None and error.is_missing_object:
                raise PermanentChannelError(
                    f"Facebook does not have post {external_id} (any more): it was deleted on "
                    f"Facebook already, or this Page access token cannot see it; "
                    f"{error.said}{error.trace}.",
                    channel=self.channel,
                )
            raise self._failure(answer, error, action=f"the deletion of post {external_id}")
        if answer.body.get("success") is not True:
            raise PermanentChannelError(
                f"Facebook did not confirm the deletion of post {external_id}; "
                "check the Page and delete it there if it is still visible",
                channel=self.channel,
            )

    def engagement(self, external_ids: Sequence[str]) -> list[Engagement]:
        if len(external_ids) > self.engagement_batch:
            raise ValueError(
                f"at most {self.engagement_batch} posts per engagement call, "
                f"got {len(external_ids)}"
            )
        for external_id in external_ids:
            if not external_id or "," in external_id:
                raise ValueError(f"{external_id!r} is not a Facebook post id")
        wanted = list(dict.fromkeys(external_ids))
        if not wanted:
            return []
        self._refuse_when_near_limit()
        # Graph fails the whole call when an id is unknown (a post deleted on
        # Facebook), naming it or all of them: ask again without those. Each
        # round costs a call against the Page's limits, so only a few.
        gone: list[str] = []
        for _round in range(MISSING_ID_ROUNDS + 1):
            answer = self._request(
                "GET", "/", params={"ids": ",".join(wanted), "fields": ENGAGEMENT_FIELDS}
            )
            if answer.ok:
                return [
                    _engagement(external_id, answer.body[external_id])
                    for external_id in wanted
                    if isinstance(answer.body.get(external_id), dict)
                ]
            error = self._error(answer)
            missing = error.missing_ids() if error is not None and error.is_missing_object else []
            known = [external_id for external_id in missing if external_id in wanted]
            if not known:
                if missing and error is not None:
                    raise PermanentChannelError(
                        f"Facebook cannot find {', '.join(missing)} while reading engagement: "
                        f"{error.said}{error.trace}.",
                        channel=self.channel,
                    )
                raise self._failure(answer, error, action="the engagement request")
            gone += known
            wanted = [external_id for external_id in wanted if external_id not in known]
            if not wanted:
                return []
        raise PermanentChannelError(
            f"Facebook does not know {len(gone)} of these posts any more "
            f"({', '.join(gone)}, and maybe more): deleted on Facebook, or the Page access "
            "token cannot see them; run `visibility channels check`",
            channel=self.channel,
        )

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        wanted = _wanted_messages(publication)
        if not wanted:
            raise PermanentChannelError(
                f"post {publication.post_id} has no text to recognise it by on the Page "
                "(look for it on Facebook)",
                channel=self.channel,
            )
        self._refuse_when_near_limit()
        path = f"/{quote(self.page_id, safe='')}/feed"
        params = {
            "since": str(int((since - CLOCK_SKEW).timestamp())),
            "fields": FEED_FIELDS,
            "limit": "100",
        }
        for _page in range(FEED_PAGES):
            answer = self._call("GET", path, params=params, action="the search for the post")
            data = answer.body.get("data")
            for item in data if isinstance(data, list) else []:
                if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                    continue
                message = item.get("message")
                if isinstance(message, str) and _comparable(message) in wanted:
                    post_id = item["id"]
                    return Published(external_id=post_id, url=POST_URL.format(id=post_id))
            following = _next_page(answer.body)
            if following is None:
                return None
            params = following
        raise PermanentChannelError(
            f"the Page has more than {FEED_PAGES * 100} posts since {since:%Y-%m-%d %H:%M} UTC, "
            "too many for visibility to look through for this one (look for it on the Page)",
            channel=self.channel,
        )

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    # -- Graph calls ---------------------------------------------------------------

    def _publish_photo(self, publication: Publication) -> _Answer:
        path = Path(publication.image_path or "")
        try:
            handle: BinaryIO = path.open("rb")
        except OSError as exc:
            raise PermanentChannelError(
                f"the image {path} for post {publication.post_id} cannot be read "
                f"({exc.strerror}); fix the image or remove it from the post",
                channel=self.channel,
            ) from exc
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        with handle:
            return self._call(
                "POST",
                f"/{quote(self.page_id, safe='')}/photos",
                data={"message": publication.body},
                files={"source": (path.name, handle, content_type)},
                action="the photo post",
            )

    def _call(
        self,
        method: str,
        path: str,
        *,
        action: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, BinaryIO, str]] | None = None,
    ) -> _Answer:
        """One Graph call that must succeed; any failure is raised, translated."""
        answer = self._request(method, path, params=params, data=data, files=files)
        if answer.ok:
            return answer
        error = self._error(answer)
        target = path.strip("/").split("/")[0]
        if error is not None and error.is_missing_object and target == self.page_id:
            # Graph cannot tell "no such Page" from "this token may not see it".
            raise CredentialsError(
                f"Facebook cannot find Page {self.page_id} with this token: either the "
                f"page_id option of channel '{self.channel}' is wrong, or the Page access "
                f"token is not for that Page or lacks access to it{error.trace}. Check the "
                "Page id (Page settings, About, Page ID) and the token, then run "
                "`visibility channels check`.",
                channel=self.channel,
            )
        raise self._failure(answer, error, action=action)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, BinaryIO, str]] | None = None,
    ) -> _Answer:
        url = self._api + path
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=data,
                files=files,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.options.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(
                exc, channel=self.channel, url=url, timeout=self.options.timeout
            ) from exc
        with response:
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            headers = dict(response.headers)
            status = response.status_code
        self._gauge.record(headers, now=datetime.now(UTC))
        return _Answer(status=status, headers=headers, body=body)

    def _error(self, answer: _Answer) -> GraphError | None:
        return GraphError.from_body(answer.body, secrets=self._secrets())

    def _failure(self, answer: _Answer, error: GraphError | None, *, action: str) -> ChannelError:
        now = datetime.now(UTC)
        if error is not None and is_rate_limit(error):
            until = rate_limit_until(error, answer.headers, now=now)
            self._gauge.hold(until, rate_limit_reason(error))
        failure = translate(
            error,
            status=answer.status,
            headers=answer.headers,
            channel=self.channel,
            action=action,
            now=now,
        )
        # Belt and braces: no message leaves with the token in it, whatever its source.
        failure.args = (redact(str(failure), self._secrets()),)
        return failure

    def _secrets(self) -> tuple[str, ...]:
        return (self._token, quote(self._token, safe=""))

    def _refuse_when_near_limit(self) -> None:
        refusal = self._gauge.refuse(now=datetime.now(UTC))
        if refusal is not None:
            raise refusal


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _wanted_messages(publication: Publication) -> set[str]:
    """The ``message`` texts that mean this post is on the Page.

    The adapter sends the body as the message and the link as its own field;
    a body that also holds the link counts without it too, as a message edited
    down to the preview card.
    """
    wanted = {_comparable(publication.body)}
    if publication.link and publication.link in publication.body:
        wanted.add(_comparable(publication.body.replace(publication.link, " ")))
    wanted.discard("")
    return wanted


def _next_page(body: Mapping[str, Any]) -> dict[str, str] | None:
    """The query of the feed's next page, or None on the last page.

    Graph's ``paging.next`` is a full URL with the access token in it: only
    its query is kept, without the token, and sent to our own address.
    """
    paging = body.get("paging")
    following = paging.get("next") if isinstance(paging, Mapping) else None
    if not isinstance(following, str) or not following:
        return None
    query = {k: v for k, v in parse_qsl(urlsplit(following).query) if k != "access_token"}
    query.setdefault("fields", FEED_FIELDS)
    return query


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _summary_total(obj: Mapping[str, Any], edge: str) -> int | None:
    node = obj.get(edge)
    if not isinstance(node, Mapping):
        return None
    summary = node.get("summary")
    if not isinstance(summary, Mapping):
        return None
    return _count(summary.get("total_count"))


def _engagement(external_id: str, obj: Mapping[str, Any]) -> Engagement:
    shares_node = obj.get("shares")
    # Graph leaves "shares" out altogether while a post has none.
    shares = _count(shares_node.get("count")) if isinstance(shares_node, Mapping) else 0
    return Engagement(
        external_id=external_id,
        impressions=None,
        reactions=_summary_total(obj, "reactions"),
        comments=_summary_total(obj, "comments"),
        shares=shares,
        raw=dict(obj),
    )

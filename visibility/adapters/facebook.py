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

``engagement`` reads up to 50 posts in one ``GET /?ids=...`` call: the public
counters (shares, reactions and comments totals) and, by field expansion, the
post insights Meta still gives (``post_media_view`` for views, which replaced
``post_impressions`` in November 2025; ``post_total_media_view_unique`` for
reach; ``post_clicks`` while it lasts). Graph fails the whole call for one
metric it no longer gives, without naming it; the adapter then finds which
(in as few calls as it can), leaves it out from then on and says so in each
reading's ``raw["unavailable"]``. Without permission to read insights, it
reads the public counters alone.
"""

from __future__ import annotations

import logging
import mimetypes
import threading
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
    is_invalid_metric,
    is_rate_limit,
    may_block_insights,
    rate_limit_reason,
    rate_limit_until,
    translate,
)
from visibility.adapters.graph_usage import UsageGauge
from visibility.adapters.http import make_session, network_error, redact
from visibility.adapters.specs import FacebookOptions
from visibility.config.channels import Channel
from visibility.errors import ChannelError, ConfigError, CredentialsError, PermanentChannelError

log = logging.getLogger(__name__)

TOKEN_ROLE = "page_access_token"  # noqa: S105  (the secret's role, not its value)
ENGAGEMENT_FIELDS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
VIEWS = "post_media_view"  # lifetime views: what impressions became in November 2025
REACH = "post_total_media_view_unique"
CLICKS = "post_clicks"
#: The post insights read with the counters, in the order they are tried when
#: Graph refuses one without naming it (the likeliest to go last).
INSIGHT_METRICS = (VIEWS, REACH, CLICKS)
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
        self._lock = threading.Lock()  # the state below is shared by worker threads
        #: Insights metrics Graph refused, with why: never asked again.
        self._unavailable: dict[str, str] = {}
        #: Why insights cannot be read at all (a missing permission), once Graph said so.
        self._no_insights: str | None = None

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
        search: _MetricSearch | None = None  # Graph refused a metric without naming it
        blocked: GraphError | None = None  # a permission error that may be about insights
        gone: list[str] = []
        missing_failures = 0
        # Each round drops unknown ids, settles a metric or ends the call: few rounds.
        for _round in range(MISSING_ID_ROUNDS + 2 * len(INSIGHT_METRICS) + 3):
            if blocked is not None:
                asked: list[str] = []
            elif search is not None:
                asked = search.asked
            else:
                asked = self._metrics()
            answer = self._request(
                "GET", "/", params={"ids": ",".join(wanted), "fields": engagement_fields(asked)}
            )
            error = None if answer.ok else self._error(answer)
            if search is not None and (answer.ok or is_invalid_metric(error)):
                search.record(answer if answer.ok else None)
                if not search.done:
                    continue
                self._retire(search.rejected, search.said)
                if search.answer is None:  # none of them is given: once more without
                    search = None
                    continue
                answer, asked = search.answer, search.confirmed
            if answer.ok:
                if blocked is not None:
                    self._insights_refused(blocked)
                return [
                    _engagement(external_id, answer.body[external_id], self._left_out(asked))
                    for external_id in wanted
                    if isinstance(answer.body.get(external_id), dict)
                ]
            if asked and error is not None and is_invalid_metric(error):
                named = [metric for metric in asked if metric in error.message]
                if named or len(asked) == 1:
                    self._retire(named or asked, error.said)
                else:
                    search = _MetricSearch(asked, error.said)
                continue
            if asked and may_block_insights(error):
                blocked, search = error, None  # once more without insights, to tell
                continue
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
            # Graph fails the whole call when an id is unknown (a post deleted on
            # Facebook), naming it or all of them: ask again without those. Each
            # round costs a call against the Page's limits, so only a few.
            gone += known
            wanted = [external_id for external_id in wanted if external_id not in known]
            if not wanted:
                return []
            missing_failures += 1
            if missing_failures > MISSING_ID_ROUNDS:
                break
        raise PermanentChannelError(
            f"Facebook does not know {len(gone)} of these posts any more "
            f"({', '.join(gone)}, and maybe more): deleted on Facebook, or the Page access "
            "token cannot see them; run `visibility channels check`",
            channel=self.channel,
        )

    # -- which insights metrics to ask for -----------------------------------------------

    def _metrics(self) -> list[str]:
        with self._lock:
            if self._no_insights is not None:
                return []
            return [metric for metric in INSIGHT_METRICS if metric not in self._unavailable]

    def _left_out(self, asked: Sequence[str]) -> dict[str, str]:
        """Each insights metric not in ``asked``, with why, for the readings' ``raw``."""
        with self._lock:
            return {
                metric: self._unavailable.get(metric) or self._no_insights or "not read"
                for metric in INSIGHT_METRICS
                if metric not in asked
            }

    def _retire(self, metrics: Sequence[str], said: str) -> None:
        """Never ask for ``metrics`` again: Graph said they are no valid insights metric."""
        reason = f"Graph {self.options.api_version} refused it as an insights metric ({said})"
        with self._lock:
            new = [metric for metric in metrics if metric not in self._unavailable]
            for metric in new:
                self._unavailable[metric] = reason
        for metric in new:
            log.info(
                "Facebook no longer gives the insights metric %s (%s); reading engagement "
                "without it",
                metric,
                said,
                extra={"channel": self.channel},
            )

    def _insights_refused(self, error: GraphError) -> None:
        reason = f"the Page access token may not read insights ({error.said})"
        with self._lock:
            first = self._no_insights is None
            self._no_insights = self._no_insights or reason
        if first:
            log.info(
                "%s; reading reactions, comments and shares only. Grant read_insights to "
                "the app for this Page and set a new Page access token to read views, reach "
                "and clicks too",
                reason,
                extra={"channel": self.channel},
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


def engagement_fields(metrics: Sequence[str]) -> str:
    """The ``fields`` of an engagement call: the counters, and ``metrics`` if any."""
    if not metrics:
        return ENGAGEMENT_FIELDS
    return f"{ENGAGEMENT_FIELDS},insights.metric({','.join(metrics)})"


class _MetricSearch:
    """Finds which of several metrics Graph refuses, when it does not say which.

    Graph refused a call asking for all of ``candidates``. Each further call
    asks for the metrics found good so far and the next candidate: its answer
    settles that one. When all before the last were good, the last is the one
    refused, and is settled without a call.
    """

    def __init__(self, candidates: Sequence[str], said: str) -> None:
        self.candidates = list(candidates)
        self.said = said
        self.confirmed: list[str] = []
        self.rejected: list[str] = []
        self.answer: _Answer | None = None  # the latest good answer: for ``confirmed``
        self._next = 0

    @property
    def asked(self) -> list[str]:
        return [*self.confirmed, self.candidates[self._next]]

    @property
    def done(self) -> bool:
        return self._next >= len(self.candidates)

    def record(self, answer: _Answer | None) -> None:
        """The call for ``asked`` answered ``answer``, or None: refused the metric."""
        metric = self.candidates[self._next]
        self._next += 1
        if answer is None:
            self.rejected.append(metric)
        else:
            self.confirmed.append(metric)
            self.answer = answer
        if self._next == len(self.candidates) - 1 and not self.rejected:
            self.rejected.append(self.candidates[self._next])
            self._next += 1


def _insight_values(node: Any) -> dict[str, int]:
    """``{metric: lifetime value}`` from a post's ``insights`` edge, numbers only."""
    data = node.get("data") if isinstance(node, Mapping) else None
    values: dict[str, int] = {}
    for entry in data if isinstance(data, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        series = entry.get("values")
        last = series[-1] if isinstance(series, list) and series else None
        value = _count(last.get("value")) if isinstance(last, Mapping) else None
        name = entry["name"]
        if value is not None and (name not in values or entry.get("period") == "lifetime"):
            values[name] = value
    return values


def _without_paging(value: Any) -> Any:
    """``value`` without Graph's ``paging`` links: they carry the access token."""
    if isinstance(value, Mapping):
        return {k: _without_paging(v) for k, v in value.items() if k != "paging"}
    if isinstance(value, list):
        return [_without_paging(v) for v in value]
    return value


def _engagement(
    external_id: str, obj: Mapping[str, Any], unavailable: Mapping[str, str]
) -> Engagement:
    shares_node = obj.get("shares")
    # Graph leaves "shares" out altogether while a post has none.
    shares = _count(shares_node.get("count")) if isinstance(shares_node, Mapping) else 0
    insights = _insight_values(obj.get("insights"))
    raw = _without_paging(obj)
    if unavailable:
        raw["unavailable"] = dict(unavailable)
    return Engagement(
        external_id=external_id,
        impressions=insights.get(VIEWS),
        reactions=_summary_total(obj, "reactions"),
        comments=_summary_total(obj, "comments"),
        shares=shares,
        clicks=insights.get(CLICKS),
        raw=raw,
    )

"""The Facebook Page adapter: posts, photos and figures through the Graph API.

Its calls go through ``graph_client`` (the Page access token in the
``Authorization`` header, never in a URL; Graph's error objects translated
in ``graph_errors``). After every answer it reads Graph's usage headers (see
``graph_usage``) and, once the Page is near its limits, refuses publish and
engagement calls with a retryable error instead of letting Facebook throttle
the Page. Posts with pictures go out as photo or multi-photo posts (see
``facebook_photos``).

``find_published`` reads the Page's feed since the given time and compares
each post's ``message`` with the text the adapter sends as the message
(Facebook keeps it as sent; whitespace and Unicode form are evened out).

``engagement`` reads up to 50 posts in one ``GET /?ids=...`` call: the public
counters (shares, reactions and comments totals) and, by field expansion, the
post insights Meta still gives (``post_media_view`` for views, which replaced
``post_impressions`` in November 2025; ``post_total_media_view_unique`` for
reach; ``post_clicks`` while it lasts). Graph fails the whole call for one
metric it no longer gives, without naming it; the adapter then finds which
(in as few calls as it can), leaves it out from then on and says so in each
reading's ``raw["unavailable"]``. Without permission to read insights, it
reads the public counters alone (the fields and numbers: ``facebook_figures``).
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

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
from visibility.adapters.facebook_figures import (
    INSIGHT_METRICS,
    MetricSearch,
    engagement_fields,
    reading,
)
from visibility.adapters.facebook_photos import PagePhotos, photo_message
from visibility.adapters.graph_client import GraphClient
from visibility.adapters.graph_errors import (
    GraphError,
    is_invalid_metric,
    may_block_insights,
)
from visibility.adapters.graph_usage import UsageGauge
from visibility.adapters.specs import FacebookOptions
from visibility.config.channels import Channel
from visibility.errors import ConfigError, PermanentChannelError

log = logging.getLogger(__name__)

TOKEN_ROLE = "page_access_token"  # noqa: S105  (the secret's role, not its value)
#: How long a metric Graph refused is left out before it is asked for again:
#: Meta changes its metrics with new API versions, not from week to week.
REASK_REFUSED_AFTER = timedelta(days=30)
_REFUSED = "refused-metric:"
POST_URL = "https://www.facebook.com/{id}"
MISSING_ID_ROUNDS = 5  # calls again without ids Graph says it does not know
FEED_FIELDS = "id,message,created_time,permalink_url"
FEED_PAGES = 5  # feed pages of 100 posts read at most when looking for a post
CLOCK_SKEW = timedelta(minutes=2)  # how far before ``since`` the feed is read


class FacebookAdapter(Adapter):
    """Publishes to one Facebook Page with its Page access token."""

    engagement_batch = 50

    def __init__(
        self,
        channel: Channel,
        *,
        session: requests.Session | None = None,
        memory: Memory | None = None,
    ) -> None:
        self.channel = channel.name
        # Refused metrics and unpublished photo uploads are kept here, shared by all
        # workers and restarts when it is the database.
        self._memory = memory if memory is not None else LocalMemory()
        self.options = FacebookOptions.model_validate(channel.options)
        secret = channel.secrets.get(TOKEN_ROLE)
        if secret is None or not secret.get_secret_value():
            raise ConfigError(
                f"channel {channel.name!r}: the {TOKEN_ROLE} secret is not set; "
                "name the variable that holds the Page access token in its secrets table"
            )
        self._graph = GraphClient(
            channel=self.channel,
            page_id=self.options.page_id,
            api=f"{self.options.base_url}/{self.options.api_version}",
            token=secret.get_secret_value(),
            timeout=self.options.timeout,
            gauge=UsageGauge(slow_down_at=self.options.slow_down_at_percent, channel=self.channel),
            session=session,
        )
        self._photos = PagePhotos(self._graph, self._memory)
        self._lock = threading.Lock()  # the state below is shared by worker threads
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
        return self._graph.gauge.percent

    @property
    def slow_down_until(self) -> datetime | None:
        """Until when publish and engagement calls are held back, if they are."""
        return self._graph.gauge.hold_until

    # -- the Adapter interface ----------------------------------------------------

    def publish(self, publication: Publication) -> Published:
        self._graph.refuse_when_near_limit()
        if publication.media:
            post_id = self._photos.publish(publication)
            text = photo_message(publication)
            parts = (text,) if text != publication.body else ()
            return Published(external_id=post_id, url=POST_URL.format(id=post_id), parts=parts)
        data = {"message": publication.body}
        if publication.link:
            data["link"] = publication.link
        answer = self._graph.call(
            "POST", f"{self._graph.page_path}/feed", data=data, action="the post"
        )
        post_id = answer.body.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise PermanentChannelError(
                "Facebook accepted the post but gave no post id; look for it on the Page "
                "before publishing it again",
                channel=self.channel,
            )
        return Published(external_id=post_id, url=POST_URL.format(id=post_id))

    def check(self) -> Account:
        answer = self._graph.call(
            "GET", self._graph.page_path, params={"fields": "name,id"}, action="the Page lookup"
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
        answer = self._graph.request("DELETE", f"/{quote(external_id, safe='')}")
        if not answer.ok:
            error = self._graph.error(answer)
            if error is not None and error.is_missing_object:
                raise PermanentChannelError(
                    f"Facebook does not have post {external_id} (any more): it was deleted on "
                    f"Facebook already, or this Page access token cannot see it; "
                    f"{error.said}{error.trace}.",
                    channel=self.channel,
                )
            raise self._graph.failure(answer, error, action=f"the deletion of post {external_id}")
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
        self._graph.refuse_when_near_limit()
        search: MetricSearch | None = None  # Graph refused a metric without naming it
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
            answer = self._graph.request(
                "GET", "/", params={"ids": ",".join(wanted), "fields": engagement_fields(asked)}
            )
            error = None if answer.ok else self._graph.error(answer)
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
                    reading(external_id, answer.body[external_id], self._left_out(asked))
                    for external_id in wanted
                    if isinstance(answer.body.get(external_id), dict)
                ]
            if asked and error is not None and is_invalid_metric(error):
                named = [metric for metric in asked if metric in error.message]
                if named or len(asked) == 1:
                    self._retire(named or asked, error.said)
                else:
                    search = MetricSearch(asked, error.said)
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
                raise self._graph.failure(answer, error, action="the engagement request")
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

    def _unavailable(self) -> dict[str, str]:
        """Insights metrics Graph refused lately (any worker), with why."""
        since = datetime.now(UTC) - REASK_REFUSED_AFTER
        notes = self._memory.recall(_REFUSED, since=since)
        return {key.removeprefix(_REFUSED): why for key, why in notes.items()}

    def _metrics(self) -> list[str]:
        with self._lock:
            if self._no_insights is not None:
                return []
        unavailable = self._unavailable()
        return [metric for metric in INSIGHT_METRICS if metric not in unavailable]

    def _left_out(self, asked: Sequence[str]) -> dict[str, str]:
        """Each insights metric not in ``asked``, with why, for the readings' ``raw``."""
        unavailable = self._unavailable()
        with self._lock:
            return {
                metric: unavailable.get(metric) or self._no_insights or "not read"
                for metric in INSIGHT_METRICS
                if metric not in asked
            }

    def _retire(self, metrics: Sequence[str], said: str) -> None:
        """Leave ``metrics`` out for a long while: Graph said they are no valid insights
        metric. Kept in the adapter's memory, so other workers and restarts know too."""
        reason = f"Graph {self.options.api_version} refused it as an insights metric ({said})"
        unavailable = self._unavailable()
        new = [metric for metric in metrics if metric not in unavailable]
        for metric in new:
            self._memory.remember(_REFUSED + metric, reason)
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
        self._graph.refuse_when_near_limit()
        path = f"{self._graph.page_path}/feed"
        params = {
            "since": str(int((since - CLOCK_SKEW).timestamp())),
            "fields": FEED_FIELDS,
            "limit": "100",
        }
        for _page in range(FEED_PAGES):
            answer = self._graph.call("GET", path, params=params, action="the search for the post")
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
        self._graph.close()


def _comparable(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _wanted_messages(publication: Publication) -> set[str]:
    """The ``message`` texts that mean this post is on the Page.

    The adapter sends the body as the message and the link as its own field,
    or with pictures the link in the message (``photo_message``); a body that
    also holds the link counts without it too, as a message edited down to the
    preview card.
    """
    wanted = {_comparable(publication.body)}
    if publication.media:
        wanted.add(_comparable(photo_message(publication)))
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

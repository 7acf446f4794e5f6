"""The X (Twitter) adapter: posts tweets and threads, reads them back, via tweepy.

Writes use OAuth 1.0a user context (the app's API key and secret plus the
account's access token and secret).

Engagement is read with ``GET /2/tweets?ids=...``, in at most two calls per
batch. X gives ``non_public_metrics`` (``impression_count``,
``url_link_clicks``, ``user_profile_clicks``) only to user context, only for
the account's own tweets, and only for tweets under 30 days old; asked for any
other tweet, it leaves that tweet out and answers an error for its id. So the
batch is split by each id's creation time (a snowflake id carries it): the
recent ones are read with ``non_public_metrics`` in user context (the ids
handed to an adapter are the ones it published, so they are the account's
own), the rest with ``public_metrics`` only, with the app's Bearer token when
the channel has one (app-only limits are separate from the account's), else
user context. When X says the app may not have ``non_public_metrics`` at all
(its plan lacks them), the adapter reads public metrics only from then on,
and says so in each reading's ``raw["unavailable"]``.

Requests go through one session whose transport (``twitter_transport``) sends
them to ``options.base_url`` after they were signed for api.twitter.com.

Pictures (``Publication.media``, up to four) are uploaded first through X's
v2 media endpoints with their alt text (``twitter_media``), and attached to
the first tweet (a thread's first part). Uploads are remembered in the
adapter's ``Memory`` so a retry does not upload the same file again.

``find_published`` reads the account's own timeline (``GET
/2/users/:id/tweets``) since the given time and compares texts the way X keeps
them (``twitter_text``); X shows a post's pictures as one more link at the end
of its text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import requests
import tweepy

from visibility.adapters.base import (
    Account,
    Adapter,
    Engagement,
    LocalMemory,
    Memory,
    Publication,
    Published,
)
from visibility.adapters.http import USER_AGENT, make_session
from visibility.adapters.specs import TwitterOptions
from visibility.adapters.twitter_errors import (
    Auth,
    field_refusals,
    platform_message,
    refuses_media_ids,
    refuses_private_metrics,
    translate,
)
from visibility.adapters.twitter_media import XMedia
from visibility.adapters.twitter_text import URL_MARK, comparable_text, split_thread, stored_forms
from visibility.adapters.twitter_transport import XTransport
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
    without_retry_promise,
)
from visibility.text.tweet import MAX_TWEET_LENGTH, weighted_length

__all__ = ["TWITTER_API", "TwitterAdapter", "comparable_text", "split_thread", "tweet_created"]

log = logging.getLogger(__name__)

TWITTER_API: Final = "https://api.twitter.com"
_USER_SECRETS: Final = ("api_key", "api_secret", "access_token", "access_token_secret")
#: How far before ``since`` the timeline is read: our clock and X's may differ.
CLOCK_SKEW: Final = timedelta(minutes=2)
#: Timeline pages of 100 tweets read at most when looking for a post.
TIMELINE_PAGES: Final = 5
#: X's snowflake epoch: a tweet id's bits above the 22nd count milliseconds since it.
TWEPOCH_MS: Final = 1288834974657
#: X gives non_public_metrics for tweets under 30 days old; the hour's margin
#: keeps a tweet at the edge (or a clock behind X's) from being refused them.
PRIVATE_METRICS_AGE: Final = timedelta(days=30) - timedelta(hours=1)
PUBLIC_FIELDS: Final = ("public_metrics",)
PRIVATE_FIELDS: Final = ("public_metrics", "non_public_metrics", "created_at")
#: Tweets X refused non_public_metrics for, remembered so they are not asked again.
REFUSED_IDS_KEPT: Final = 10_000
TOO_OLD: Final = "X gives non_public_metrics only for the account's tweets of the last 30 days"


class TwitterAdapter(Adapter):
    """Publishes to one X account through API v2."""

    engagement_batch = 100

    def __init__(
        self,
        channel: Channel,
        *,
        session: requests.Session | None = None,
        memory: Memory | None = None,
    ) -> None:
        self.channel = channel.name
        self.options = TwitterOptions.model_validate(dict(channel.options))
        values = {role: secret.get_secret_value() for role, secret in channel.secrets.items()}
        missing = [role for role in _USER_SECRETS if not values.get(role)]
        if missing:
            raise CredentialsError(
                f"channel {channel.name!r} lacks the X secret(s) {', '.join(missing)}: name "
                "them under secrets in the channels file and set them, then run "
                "`visibility channels check`",
                channel=channel.name,
            )
        self._secrets = tuple(v for v in values.values() if v)
        self._bearer = values.get("bearer_token") or None
        self._owns_session = session is None
        self.session = session if session is not None else make_session()
        base_url = self.options.base_url
        target = None if base_url == TWITTER_API else base_url
        self.session.mount(
            f"{TWITTER_API}/", XTransport(target=target, timeout=self.options.timeout)
        )
        self.client = tweepy.Client(
            bearer_token=self._bearer,
            consumer_key=values["api_key"],
            consumer_secret=values["api_secret"],
            access_token=values["access_token"],
            access_token_secret=values["access_token_secret"],
            return_type=dict,
            # True would sleep inside the worker, and loop on a 429 that has
            # no reset header; the scheduler owns waiting.
            wait_on_rate_limit=False,
        )
        self.client.session.close()
        self.client.session = self.session
        self.client.user_agent = USER_AGENT
        self.media = XMedia(
            channel=self.channel,
            api=TWITTER_API,
            session=self.session,
            # Signed exactly as tweepy signs its own requests.
            auth=tweepy.OAuth1UserHandler(
                values["api_key"],
                values["api_secret"],
                values["access_token"],
                values["access_token_secret"],
            ).apply_auth(),
            # Uploads are kept here, shared by all workers when it is the database.
            memory=memory if memory is not None else LocalMemory(),
            translate=self._translated,
            secrets=self._secrets,
        )
        self._username: str | None = None
        self._user_id: str | None = None
        self._lock = threading.Lock()  # the state below is shared by worker threads
        #: Why X gives this app no non_public_metrics at all, once it said so.
        self._no_private_metrics: str | None = None
        #: Tweets X refused non_public_metrics for, with its words.
        self._refused: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"TwitterAdapter(channel={self.channel!r}, base_url={self.options.base_url!r})"

    # -- plumbing -------------------------------------------------------------

    def _call(
        self, action: str, auth: Auth, method: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        try:
            return method(*args, **kw)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self._translated(exc, action, auth) from exc

    def _translated(self, exc: Exception, action: str, auth: Auth) -> ChannelError:
        return translate(
            exc,
            channel=self.channel,
            action=action,
            auth=auth,
            base_url=self.options.base_url,
            timeout=self.options.timeout,
            secrets=self._secrets,
        )

    def _data(self, answer: Any, action: str) -> Mapping[str, Any]:
        data = answer.get("data") if isinstance(answer, Mapping) else None
        if not isinstance(data, Mapping):
            raise PermanentChannelError(
                f"X's answer to {action} had no data; try `visibility channels check`",
                channel=self.channel,
            )
        return data

    # -- publishing -----------------------------------------------------------

    def _text(self, publication: Publication) -> str:
        return publication.body.strip()

    def _post(self, text: str, reply_to: str | None, media_ids: Sequence[str] = ()) -> str:
        action = "posting the tweet" if reply_to is None else "posting the reply"
        answer = self._call(
            action,
            "user",
            self.client.create_tweet,
            text=text,
            in_reply_to_tweet_id=reply_to,
            media_ids=list(media_ids) or None,
        )
        return str(self._data(answer, action)["id"])

    def _parts(self, publication: Publication) -> list[str]:
        """The tweets ``publication`` goes out as: one, or a thread."""
        text = self._text(publication)
        if self.options.thread and weighted_length(text) > MAX_TWEET_LENGTH:
            return split_thread(text)
        return [text]

    def publish(self, publication: Publication) -> Published:
        parts = self._parts(publication)
        # Pictures go up first: until the first tweet is out, nothing is on X.
        media_ids, reused = self.media.upload(publication.media)
        try:
            # A thread carries them on its first tweet, the one people see first.
            ids = [self._post(parts[0], None, media_ids)]
        except ChannelError as exc:
            cause = exc.__cause__
            if media_ids and cause is not None and refuses_media_ids(cause):
                raise self._media_ids_refused(exc, publication, reused) from exc
            raise
        for number, part in enumerate(parts[1:], start=2):
            try:
                ids.append(self._post(part, ids[-1]))
            except ChannelError as exc:
                raise self._thread_broken(exc, number, len(parts), ids) from exc
        if len(ids) > 1:
            log.info("posted a thread of %d tweets", len(ids), extra={"channel": self.channel})
        return Published(external_id=ids[0], url=self._status_url(ids[0]), parts=tuple(parts))

    def _media_ids_refused(
        self, exc: ChannelError, publication: Publication, reused: set[str]
    ) -> ChannelError:
        """X refused the post's media ids: the tweet was not made."""
        said = platform_message(getattr(exc.__cause__, "response", None), self._secrets)
        self.media.forget(publication.media)
        if reused:
            # Uploads kept from an earlier try: X may have dropped them sooner than it said.
            return RetryableChannelError(
                f"X no longer takes the pictures uploaded on an earlier try ({said}); they "
                "will be uploaded again; will try again",
                channel=self.channel,
                reached=False,
            )
        return PermanentChannelError(
            f"X refused the pictures it had just taken for this post ({said}): check them "
            "on the news item page (a JPEG or PNG under 5 MB each), then publish the post again",
            channel=self.channel,
        )

    def _thread_broken(
        self, exc: ChannelError, number: int, total: int, ids: list[str]
    ) -> PermanentChannelError:
        # Never retryable: publishing again would post part 1 a second time.
        reason = without_retry_promise(str(exc))
        if len(ids) == 1:
            out = f"Part 1 is on X (tweet id {ids[0]}): delete it there"
        else:
            out = f"Parts 1 to {len(ids)} are on X (tweet ids {', '.join(ids)}): delete them there"
        return PermanentChannelError(
            f"the thread stopped at part {number} of {total} ({reason}). {out} and publish "
            f"again, or post the rest by hand as replies to tweet {ids[-1]}; visibility does "
            "not retry, as that would post part 1 a second time",
            channel=self.channel,
        )

    def _status_url(self, tweet_id: str) -> str:
        if self._username is None:
            try:
                self._username = self._me()["username"]
            except (ChannelError, KeyError) as exc:
                # The tweet is out: a URL without the name works as well.
                log.info("could not read the account's username: %s", exc)
                return f"https://x.com/i/web/status/{tweet_id}"
        return f"https://x.com/{self._username}/status/{tweet_id}"

    def _me(self) -> Mapping[str, Any]:
        action = "reading the account"
        me = self._data(self._call(action, "user", self.client.get_me, user_auth=True), action)
        if me.get("id"):
            self._user_id = str(me["id"])
        return me

    def _account_id(self) -> str:
        if self._user_id is None:
            me = self._me()
            self._username = str(me.get("username") or "") or self._username
            if self._user_id is None:
                raise PermanentChannelError(
                    "X's answer about the account had no user id; run `visibility channels check`",
                    channel=self.channel,
                )
        return self._user_id

    # -- finding a post that may have gone out ---------------------------------

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        parts = self._parts(publication)
        wanted = [comparable_text(part) for part in parts]
        # X shows a post's pictures as one more link at the end of its text.
        firsts = [f"{wanted[0]} {URL_MARK}".strip()] if publication.media else []
        firsts.append(wanted[0])
        user_id = self._account_id()
        # X refuses a start_time less than 10 s old; ours may run ahead of X's clock.
        start = min(since - CLOCK_SKEW, datetime.now(UTC) - timedelta(seconds=30))
        auth: Auth = "app" if self._bearer else "user"
        # A thread's later parts are replies to its first: they must show too.
        exclude = ["retweets"] if len(parts) > 1 else ["retweets", "replies"]
        seen: dict[str, str] = {}  # comparable text → the newest tweet id with it
        token: str | None = None
        for _page in range(TIMELINE_PAGES):
            answer = self._call(
                "looking for the post on X",
                auth,
                self.client.get_users_tweets,
                user_id,
                start_time=start,
                max_results=100,
                exclude=exclude,
                pagination_token=token,
                user_auth=auth == "user",
            )
            tweets, token = self._timeline_page(answer)
            for tweet in tweets:
                for form in stored_forms(str(tweet.get("text", ""))):
                    seen.setdefault(form, str(tweet["id"]))
            # Newest first: once the first part shows, the later parts were on this
            # page or an earlier one.
            if any(form in seen for form in firsts) or not token:
                break
        first = next((seen[form] for form in firsts if form in seen), None)
        if first is None:
            if token:
                raise PermanentChannelError(
                    f"the X account posted more than {TIMELINE_PAGES * 100} tweets since "
                    f"{since:%Y-%m-%d %H:%M} UTC, too many for visibility to look through "
                    "for this one (look for it on x.com)",
                    channel=self.channel,
                )
            return None
        url = self._status_url(first)
        missing = [str(n) for n, text in enumerate(wanted[1:], start=2) if text not in seen]
        if missing:
            raise PermanentChannelError(
                f"part 1 of this thread is on X ({url}) but part(s) {', '.join(missing)} of "
                f"{len(parts)} are not: either post the missing parts by hand as replies to it "
                "and confirm the post, or delete it on X and resend the post",
                channel=self.channel,
            )
        return Published(external_id=first, url=url)

    def _timeline_page(self, answer: Any) -> tuple[list[Mapping[str, Any]], str | None]:
        """One timeline answer's tweets, and the token of the next page if there is one."""
        if not isinstance(answer, Mapping) or not (
            isinstance(answer.get("meta"), Mapping) or "data" in answer
        ):
            errors = answer.get("errors") if isinstance(answer, Mapping) else None
            said = ""
            if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
                said = f" ({errors[0].get('detail') or errors[0].get('title') or ''})"
            raise PermanentChannelError(
                f"X did not show the account's tweets{said}; run `visibility channels check`",
                channel=self.channel,
            )
        data = answer.get("data")
        tweets = [t for t in data if isinstance(t, Mapping) and "id" in t] if data else []
        meta = answer.get("meta")
        token = meta.get("next_token") if isinstance(meta, Mapping) else None
        return tweets, str(token) if token else None

    # -- reading and removing -------------------------------------------------

    def check(self) -> Account:
        me = self._me()
        username, user_id = str(me.get("username", "")), str(me.get("id", ""))
        self._username = username or None
        detail = f"{me.get('name', username)}; posts with the account's access token"
        if self._bearer:
            self._call(
                "checking the app's Bearer token",
                "app",
                self.client.get_user,
                id=user_id,
                user_auth=False,
            )
            detail += (
                "; reads engagement with the app's Bearer token, and the private figures "
                "of the account's recent tweets with the account's tokens"
            )
        else:
            detail += ", and reads engagement with it too"
        return Account(name=f"@{username}", external_id=user_id, detail=detail)

    def delete(self, external_id: str) -> None:
        action = f"deleting tweet {external_id}"
        try:
            answer = self.client.delete_tweet(external_id, user_auth=True)
        except tweepy.NotFound:
            log.info("tweet %s was already gone from X", external_id)
            return
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self._translated(exc, action, "user") from exc
        if not self._data(answer, action).get("deleted"):
            raise PermanentChannelError(
                f"X did not delete tweet {external_id}; delete it on x.com", channel=self.channel
            )

    def engagement(self, external_ids: Sequence[str]) -> list[Engagement]:
        if len(external_ids) > self.engagement_batch:
            raise ValueError(
                f"X looks up at most {self.engagement_batch} tweets at once, "
                f"not {len(external_ids)}"
            )
        ids = list(dict.fromkeys(str(i) for i in external_ids))
        bad = [i for i in ids if not i.isdigit()]
        if bad:
            raise ValueError(f"not X tweet ids: {', '.join(bad)}")
        if not ids:
            return []
        oldest = datetime.now(UTC) - PRIVATE_METRICS_AGE
        with self._lock:
            no_private = self._no_private_metrics
            refused = {i: self._refused[i] for i in ids if i in self._refused}
        recent = [] if no_private else [i for i in ids if tweet_created(i) > oldest]
        recent = [i for i in recent if i not in refused]
        readings: dict[str, Engagement] = {}
        if recent:
            readings, newly = self._read_private(recent)
            refused.update(newly)
            no_private = self._no_private_metrics
        rest = [i for i in ids if i not in recent or i in refused]
        if rest:
            why = {i: refused.get(i) or no_private or TOO_OLD for i in rest}
            readings.update(self._read_public(rest, why))
        return [readings[i] for i in ids if i in readings]

    def _read_private(self, ids: list[str]) -> tuple[dict[str, Engagement], dict[str, str]]:
        """Figures with non_public_metrics, and the ids X refused them for (with why)."""
        action = "reading engagement"
        try:
            answer = self.client.get_tweets(ids, tweet_fields=list(PRIVATE_FIELDS), user_auth=True)
        except tweepy.Forbidden as exc:
            if not refuses_private_metrics(exc):
                raise self._translated(exc, action, "user") from exc
            said = platform_message(exc.response, self._secrets)
            reason = self._refuse_private_metrics(said)
            return {}, dict.fromkeys(ids, reason)
        except (tweepy.TweepyException, requests.RequestException) as exc:
            raise self._translated(exc, action, "user") from exc
        readings = {
            str(tweet["id"]): _engagement(tweet)
            for tweet in _tweets(answer)
            if str(tweet["id"]) in ids
        }
        refused = field_refusals(answer, "non_public_metrics", ids, self._secrets)
        if refused and not readings:
            # Not one of the account's own recent tweets: the app has no access.
            reason = self._refuse_private_metrics(next(iter(refused.values())))
            return readings, dict.fromkeys(refused, reason)
        if refused:
            log.info(
                "X refused the private figures of %d tweet(s) (%s); reading their public "
                "figures instead",
                len(refused),
                ", ".join(refused),
                extra={"channel": self.channel},
            )
            with self._lock:
                if len(self._refused) + len(refused) > REFUSED_IDS_KEPT:
                    self._refused.clear()
                self._refused.update(refused)
        return readings, refused

    def _refuse_private_metrics(self, said: str) -> str:
        """Read public metrics only from now on, as X gives this app no private ones."""
        reason = f"X gives this app no non_public_metrics ({said})"
        with self._lock:
            first = self._no_private_metrics is None
            if first:
                self._no_private_metrics = reason
        if first:
            log.info(
                "%s; reading public figures only: no clicks, and impressions from "
                "public_metrics. The app's plan in the X developer portal decides this",
                reason,
                extra={"channel": self.channel},
            )
        return self._no_private_metrics or reason

    def _read_public(self, ids: list[str], why: Mapping[str, str]) -> dict[str, Engagement]:
        auth: Auth = "app" if self._bearer else "user"
        answer = self._call(
            "reading engagement",
            auth,
            self.client.get_tweets,
            ids,
            tweet_fields=list(PUBLIC_FIELDS),
            user_auth=auth == "user",
        )
        readings: dict[str, Engagement] = {}
        for tweet in _tweets(answer):
            tweet_id = str(tweet["id"])
            if tweet_id in why:
                readings[tweet_id] = _engagement(
                    tweet, unavailable={"non_public_metrics": why[tweet_id]}
                )
        return readings

    def close(self) -> None:
        if self._owns_session:
            self.session.close()


def tweet_created(tweet_id: str) -> datetime:
    """When a tweet was created, from the timestamp in its snowflake id."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWEPOCH_MS) / 1000, UTC)


def _tweets(answer: Any) -> list[Mapping[str, Any]]:
    data = answer.get("data") if isinstance(answer, Mapping) else None
    if not isinstance(data, list):
        return []
    return [t for t in data if isinstance(t, Mapping) and "id" in t]


def _count(metrics: Any, name: str) -> int | None:
    value = metrics.get(name) if isinstance(metrics, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _engagement(
    tweet: Mapping[str, Any], *, unavailable: Mapping[str, str] | None = None
) -> Engagement:
    public = tweet.get("public_metrics")
    private = tweet.get("non_public_metrics")
    retweets, quotes = _count(public, "retweet_count"), _count(public, "quote_count")
    shares = None if retweets is None and quotes is None else (retweets or 0) + (quotes or 0)
    impressions = _count(private, "impression_count")
    if impressions is None:
        impressions = _count(public, "impression_count")
    raw = dict(tweet)
    if unavailable:
        raw["unavailable"] = dict(unavailable)
    return Engagement(
        external_id=str(tweet["id"]),
        impressions=impressions,
        reactions=_count(public, "like_count"),
        comments=_count(public, "reply_count"),
        shares=shares,
        clicks=_count(private, "url_link_clicks"),
        raw=raw,
    )

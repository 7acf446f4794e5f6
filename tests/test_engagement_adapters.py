"""Engagement readings of the X and Facebook adapters, against their emulators.

X: the account's own tweets under 30 days old are read with their private
figures (``non_public_metrics``, user context), the rest with public ones, in
one call per group; an app whose plan lacks the private figures falls back to
public ones for good. Facebook: the counters and the post insights that are
still given, in one batched call; a metric Graph refuses is found, dropped and
never asked again; without permission for insights the counters still come.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import tweepy
from sqlalchemy import update

from emulators.graph import DEPRECATED_POST_METRICS, INVALID_METRIC_MESSAGE, GraphEmulator
from emulators.x import XAccount, XEmulator, grown_private_metrics
from visibility.adapters.facebook import REASK_REFUSED_AFTER, FacebookAdapter
from visibility.adapters.twitter import TwitterAdapter, tweet_created
from visibility.config.channels import parse_channels
from visibility.errors import CredentialsError, RetryableChannelError
from visibility.queue.models import ChannelNote
from visibility.queue.ops import StoredMemory
from visibility.queue.store import Store

DAY = 86400.0
X_ENV = {
    "api_key": "XE_API_KEY",
    "api_secret": "XE_API_SECRET",
    "access_token": "XE_ACCESS_TOKEN",
    "access_token_secret": "XE_ACCESS_TOKEN_SECRET",
    "bearer_token": "XE_BEARER_TOKEN",
}
PAGE_ID = "104857600123456"
TOKEN = "EAAGengagementToken5c1e9a7b3d"
COUNTERS = "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
ALL_INSIGHTS = "insights.metric(post_media_view,post_total_media_view_unique,post_clicks)"

# -- X ------------------------------------------------------------------------------------------

OTHER = XAccount(
    user_id="1580000000000000002",
    username="NjeTjeterLlogari",
    name="Një tjetër llogari",
    access_token="1580000000000000002-othertokenvalue0123456789",
    access_token_secret="othersecretvalue0123456789abcdefghijklmnopq",
)


@pytest.fixture(scope="module")
def running_x() -> Iterator[XEmulator]:
    emulator = XEmulator()
    emulator.accounts[OTHER.access_token] = OTHER
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def x(running_x: XEmulator) -> XEmulator:
    running_x.reset()
    return running_x


MakeX = Callable[..., TwitterAdapter]


@pytest.fixture
def make_x(x: XEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeX]:
    made: list[TwitterAdapter] = []

    def make(*, bearer: bool = True) -> TwitterAdapter:
        account = x.account
        values = {
            "api_key": x.consumer_key,
            "api_secret": x.consumer_secret,
            "access_token": account.access_token,
            "access_token_secret": account.access_token_secret,
            "bearer_token": x.bearer_token,
        }
        roles = {role: name for role, name in X_ENV.items() if bearer or role != "bearer_token"}
        for role, name in roles.items():
            monkeypatch.setenv(name, values[role])
        data = {
            "channels": [
                {
                    "name": "x-main",
                    "kind": "twitter",
                    "secrets": roles,
                    "options": {"base_url": x.base_url, "timeout": 5},
                }
            ]
        }
        adapter = TwitterAdapter(parse_channels(data, source="<test>").channels[0])
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


def lookups(x: XEmulator) -> list[Any]:
    return x.calls(r"^/2/tweets$", "GET")


def test_the_creation_time_comes_from_the_snowflake_id(x: XEmulator) -> None:
    tweet = x.post("Sa vjeç?", age_seconds=3 * DAY)
    created = tweet_created(tweet.id)
    assert abs(created.timestamp() - tweet.created_at) < 0.002
    assert tweet_created("1580000000000000123") < datetime(2023, 1, 1, tzinfo=UTC)


def test_x_reads_100_recent_own_tweets_with_private_figures_in_one_call(
    x: XEmulator, make_x: MakeX
) -> None:
    adapter = make_x()
    tweets = [x.post(f"Njoftimi {n}.", age_seconds=3600 + n) for n in range(100)]
    x.set_metrics(tweets[5].id, impression_count=900, url_link_clicks=41, like_count=12)

    figures = adapter.engagement([t.id for t in tweets])

    [call] = lookups(x)
    assert call.arg("tweet.fields") == "public_metrics,non_public_metrics,created_at"
    assert call.headers["authorization"].startswith("OAuth ")
    assert len((call.arg("ids") or "").split(",")) == 100
    assert [f.external_id for f in figures] == [t.id for t in tweets]
    assert (figures[5].impressions, figures[5].clicks, figures[5].reactions) == (900, 41, 12)
    assert figures[0].clicks == grown_private_metrics(3600)["url_link_clicks"]
    assert "created_at" in figures[0].raw and "unavailable" not in figures[0].raw
    json.dumps([dict(f.raw) for f in figures])  # stored as JSON


def test_x_splits_recent_and_older_tweets_into_exactly_two_calls(
    x: XEmulator, make_x: MakeX
) -> None:
    adapter = make_x()
    recent = [x.post(f"I ri {n}.", age_seconds=DAY + n) for n in range(60)]
    older = [x.post(f"I vjetër {n}.", age_seconds=45 * DAY + n) for n in range(40)]
    x.set_metrics(older[0].id, impression_count=5000, retweet_count=3, quote_count=4)
    ids = [t.id for pair in zip(older, recent, strict=False) for t in pair]
    ids += [t.id for t in recent[40:]]

    figures = adapter.engagement(ids)

    private, public = lookups(x)
    assert set((private.arg("ids") or "").split(",")) == {t.id for t in recent}
    assert private.headers["authorization"].startswith("OAuth ")
    assert set((public.arg("ids") or "").split(",")) == {t.id for t in older}
    assert public.arg("tweet.fields") == "public_metrics"
    assert public.headers["authorization"] == f"Bearer {x.bearer_token}"
    assert [f.external_id for f in figures] == ids  # in the order asked
    by_id = {f.external_id: f for f in figures}
    old = by_id[older[0].id]
    assert (old.impressions, old.shares, old.clicks) == (5000, 7, None)
    assert "30 days" in old.raw["unavailable"]["non_public_metrics"]
    assert all(by_id[t.id].clicks is not None for t in recent)


def test_x_reads_older_tweets_alone_in_one_public_call(x: XEmulator, make_x: MakeX) -> None:
    adapter = make_x(bearer=False)
    older = [x.post(f"Arkiv {n}.", age_seconds=31 * DAY + n) for n in range(3)]

    figures = adapter.engagement([t.id for t in older])

    [call] = lookups(x)
    assert call.arg("tweet.fields") == "public_metrics"
    assert call.headers["authorization"].startswith("OAuth ")  # no Bearer token configured
    assert [f.clicks for f in figures] == [None, None, None]
    assert all(f.impressions is not None for f in figures)


@pytest.mark.parametrize("style", ["client-forbidden", "field-errors"])
def test_x_without_private_access_falls_back_to_public_figures_for_good(
    x: XEmulator, make_x: MakeX, caplog: pytest.LogCaptureFixture, style: Any
) -> None:
    caplog.set_level(logging.INFO, logger="visibility.adapters.twitter")
    adapter = make_x()
    x.deny_private_metrics(style)
    tweets = [x.post(f"Plani {n}.", age_seconds=600 + n) for n in range(3)]
    ids = [t.id for t in tweets]

    first = adapter.engagement(ids)

    refused, public = lookups(x)
    assert "non_public_metrics" in (refused.arg("tweet.fields") or "")
    assert public.arg("tweet.fields") == "public_metrics"
    assert [f.external_id for f in first] == ids
    assert [f.clicks for f in first] == [None] * 3
    assert all(f.impressions is not None and f.reactions is not None for f in first)
    note = first[0].raw["unavailable"]["non_public_metrics"]
    assert note.startswith("X gives this app no non_public_metrics")

    second = adapter.engagement(ids)

    assert len(lookups(x)) == 3  # one call more, without asking for private figures
    assert lookups(x)[-1].arg("tweet.fields") == "public_metrics"
    assert second[0].raw["unavailable"] == first[0].raw["unavailable"]
    logged = [r for r in caplog.records if "no non_public_metrics" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.INFO


def test_x_refusing_some_tweets_reads_those_publicly_and_remembers_them(
    x: XEmulator, make_x: MakeX
) -> None:
    adapter = make_x()
    mine = x.post("Imi.", age_seconds=600)
    theirs = x.post("I tjetrit.", username=OTHER.username, age_seconds=600)

    first = adapter.engagement([mine.id, theirs.id])

    assert len(lookups(x)) == 2
    by_id = {f.external_id: f for f in first}
    assert by_id[mine.id].clicks is not None
    assert by_id[theirs.id].clicks is None
    assert "not authorized" in by_id[theirs.id].raw["unavailable"]["non_public_metrics"]

    again = adapter.engagement([mine.id, theirs.id])

    assert len(lookups(x)) == 4  # still one call per group: no fallback for good
    private, public = lookups(x)[2:]
    assert private.arg("ids") == mine.id and public.arg("ids") == theirs.id
    assert {f.external_id: f.clicks is not None for f in again} == {mine.id: True, theirs.id: False}


def test_x_figures_grow_between_readings(x: XEmulator, make_x: MakeX) -> None:
    adapter = make_x()
    tweet = x.post("Rritet.", age_seconds=120)
    [before] = adapter.engagement([tweet.id])
    x.advance(6 * 3600)
    [after] = adapter.engagement([tweet.id])
    assert before.impressions is not None and after.impressions is not None
    assert before.clicks is not None and after.clicks is not None
    assert after.impressions > before.impressions
    assert after.clicks > before.clicks
    assert (after.reactions or 0) > (before.reactions or 0)


def test_the_x_emulator_gives_private_figures_as_x_does(x: XEmulator, make_x: MakeX) -> None:
    adapter = make_x()
    recent = x.post("I ri.", age_seconds=DAY)
    old = x.post("I vjetër.", age_seconds=31 * DAY)
    theirs = x.post("I tjetrit.", username=OTHER.username)
    fields = ["public_metrics", "non_public_metrics"]

    as_user = adapter.client.get_tweets(
        [recent.id, old.id, theirs.id], tweet_fields=fields, user_auth=True
    )
    as_app = adapter.client.get_tweets([recent.id], tweet_fields=fields, user_auth=False)

    assert [t["id"] for t in as_user["data"]] == [recent.id]
    assert set(as_user["data"][0]["non_public_metrics"]) == {
        "impression_count",
        "url_link_clicks",
        "user_profile_clicks",
    }
    refused = {e["resource_id"]: e for e in as_user["errors"]}
    assert set(refused) == {old.id, theirs.id}
    assert refused[old.id] == {
        "value": old.id,
        "detail": f"Sorry, you are not authorized to access 'non_public_metrics' on the Tweet "
        f"with ids: {old.id}.",
        "title": "Authorization Error",
        "resource_type": "tweet",
        "parameter": "tweet.fields",
        "resource_id": old.id,
        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
        "field": "non_public_metrics",
        "section": "data",
    }
    assert "data" not in as_app  # app-only context never sees private figures
    assert as_app["errors"][0]["field"] == "non_public_metrics"


def test_the_x_emulator_refuses_private_figures_to_a_plan_without_them(
    x: XEmulator, make_x: MakeX
) -> None:
    adapter = make_x()
    tweet = x.post("Plani.")
    x.deny_private_metrics()
    with pytest.raises(tweepy.Forbidden) as caught:
        adapter.client.get_tweets([tweet.id], tweet_fields=["non_public_metrics"], user_auth=True)
    body = caught.value.response.json()
    assert (body["title"], body["reason"], body["type"]) == (
        "Client Forbidden",
        "client-not-enrolled",
        "https://api.twitter.com/2/problems/client-forbidden",
    )
    # Public figures are still given.
    answer = adapter.client.get_tweets([tweet.id], tweet_fields=["public_metrics"], user_auth=True)
    assert answer["data"][0]["id"] == tweet.id


# -- Facebook -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphEmulator]:
    emulator = GraphEmulator(page_id=PAGE_ID, page_name="Qendra Burimore", token=TOKEN)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def graph(graph_server: GraphEmulator) -> GraphEmulator:
    graph_server.reset()
    return graph_server


@pytest.fixture
def fb(graph: GraphEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FacebookAdapter]:
    monkeypatch.setenv("FB_ENGAGEMENT_TOKEN", TOKEN)
    config = parse_channels(
        {
            "channels": [
                {
                    "name": "fb-national",
                    "kind": "facebook",
                    "secrets": {"page_access_token": "FB_ENGAGEMENT_TOKEN"},
                    "options": {"page_id": PAGE_ID, "base_url": graph.base_url},
                }
            ]
        },
        source="<test>",
    )
    adapter = FacebookAdapter(config.channels[0])
    yield adapter
    adapter.close()


def fields_asked(graph: GraphEmulator) -> list[str]:
    return [r.arg("fields") or "" for r in graph.requests]


def test_fb_reads_50_posts_with_insights_in_one_call(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    posts = [graph.seed_post(f"Lajmi nr. {n}", age_seconds=3600 + n) for n in range(50)]
    graph.set_engagement(posts[3].id, views=1234, reach=800, clicks=56, shares=2)

    figures = fb.engagement([p.id for p in posts])

    assert len(graph.requests) == 1
    assert graph.requests[0].arg("ids") == ",".join(p.id for p in posts)
    assert fields_asked(graph) == [f"{COUNTERS},{ALL_INSIGHTS}"]
    assert [f.external_id for f in figures] == [p.id for p in posts]
    fourth = figures[3]
    assert (fourth.impressions, fourth.clicks, fourth.shares) == (1234, 56, 2)
    [reach] = [
        m for m in fourth.raw["insights"]["data"] if m["name"] == "post_total_media_view_unique"
    ]
    assert reach["values"] == [{"value": 800}]
    assert "unavailable" not in fourth.raw
    # Graph's paging links carry the access token: they stay out of what is stored.
    stored = json.dumps([dict(f.raw) for f in figures])
    assert TOKEN not in stored and "paging" not in stored


def test_fb_absent_shares_read_as_zero(fb: FacebookAdapter, graph: GraphEmulator) -> None:
    post = graph.seed_post("Pa shpërndarje", age_seconds=30)
    [figure] = fb.engagement([post.id])
    assert "shares" not in figure.raw and figure.shares == 0


def test_fb_figures_grow_between_readings(fb: FacebookAdapter, graph: GraphEmulator) -> None:
    post = graph.seed_post("Rritet", age_seconds=60)
    [before] = fb.engagement([post.id])
    graph.advance(6 * 3600)
    [after] = fb.engagement([post.id])
    for name in ("impressions", "clicks", "reactions", "comments", "shares"):
        early, late = getattr(before, name), getattr(after, name)
        assert early is not None and late is not None and late > early, name


def test_fb_a_retired_metric_is_found_dropped_and_not_asked_again(
    fb: FacebookAdapter, graph: GraphEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visibility.adapters.facebook")
    graph.retire_metric("post_clicks")
    posts = [graph.seed_post(f"Lajmi nr. {n}", age_seconds=600) for n in range(5)]
    graph.set_engagement(posts[0].id, views=420)
    ids = [p.id for p in posts]

    first = fb.engagement(ids)

    # The full call fails; views alone, then views and reach, answer: so it is clicks.
    assert fields_asked(graph) == [
        f"{COUNTERS},{ALL_INSIGHTS}",
        f"{COUNTERS},insights.metric(post_media_view)",
        f"{COUNTERS},insights.metric(post_media_view,post_total_media_view_unique)",
    ]
    assert graph.errors[0]["message"] == INVALID_METRIC_MESSAGE
    assert [f.external_id for f in first] == ids
    assert (first[0].impressions, first[0].clicks) == (420, None)
    assert first[0].reactions is not None
    assert list(first[0].raw["unavailable"]) == ["post_clicks"]
    assert "valid insights metric" in first[0].raw["unavailable"]["post_clicks"]

    second = fb.engagement(ids)

    assert len(graph.requests) == 4  # one call, without post_clicks
    assert fields_asked(graph)[-1] == (
        f"{COUNTERS},insights.metric(post_media_view,post_total_media_view_unique)"
    )
    assert second[0].raw["unavailable"] == first[0].raw["unavailable"]
    logged = [r for r in caplog.records if "post_clicks" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.INFO


def test_fb_a_retired_first_metric_is_found_too(fb: FacebookAdapter, graph: GraphEmulator) -> None:
    graph.retire_metric("post_media_view")
    post = graph.seed_post("Pamjet", age_seconds=900)

    [figure] = fb.engagement([post.id])

    assert len(graph.requests) == 4
    assert figure.impressions is None and figure.clicks == 900 // 45
    assert list(figure.raw["unavailable"]) == ["post_media_view"]
    fb.engagement([post.id])
    assert fields_asked(graph)[-1] == (
        f"{COUNTERS},insights.metric(post_total_media_view_unique,post_clicks)"
    )


def test_fb_with_every_metric_retired_reads_the_counters(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    for metric in ("post_media_view", "post_total_media_view_unique", "post_clicks"):
        graph.retire_metric(metric)
    post = graph.seed_post("Asnjë", age_seconds=900)

    [figure] = fb.engagement([post.id])

    assert len(graph.requests) == 5 and fields_asked(graph)[-1] == COUNTERS
    assert figure.reactions == 90 and figure.impressions is None
    assert len(figure.raw["unavailable"]) == 3
    fb.engagement([post.id])
    assert len(graph.requests) == 6 and fields_asked(graph)[-1] == COUNTERS


def test_fb_a_metric_graph_names_is_dropped_at_once(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    post = graph.seed_post("Emërtuar", age_seconds=900)
    graph.fail_next(
        status=400,
        body={
            "error": {
                "message": "(#100) The value must be a valid insights metric: post_clicks",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": "AbCdEf123",
            }
        },
    )

    [figure] = fb.engagement([post.id])

    assert len(graph.requests) == 2
    assert figure.impressions == 900 // 2 and figure.clicks is None
    assert list(figure.raw["unavailable"]) == ["post_clicks"]


def test_fb_a_deleted_post_while_looking_for_the_metric(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.retire_metric("post_clicks")
    kept = graph.seed_post("Mbetet", age_seconds=900)
    gone = graph.seed_post("Fshihet", age_seconds=900)
    gone.deleted = True

    figures = fb.engagement([kept.id, gone.id])

    assert [f.external_id for f in figures] == [kept.id]
    assert figures[0].impressions == 450 and figures[0].clicks is None


def test_fb_a_failure_while_looking_for_the_metric_retires_nothing(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.retire_metric("post_clicks")
    post = graph.seed_post("Gabim", age_seconds=900)
    graph.fail_next(1, status=400, body={"error": {"message": INVALID_METRIC_MESSAGE, "code": 100}})
    graph.fail_next(1, status=503)

    with pytest.raises(RetryableChannelError):
        fb.engagement([post.id])

    [figure] = fb.engagement([post.id])  # finds it now, as the first time
    assert fields_asked(graph)[2] == f"{COUNTERS},{ALL_INSIGHTS}"
    assert figure.clicks is None and list(figure.raw["unavailable"]) == ["post_clicks"]


def test_fb_without_insights_permission_keeps_the_counters(
    fb: FacebookAdapter, graph: GraphEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="visibility.adapters.facebook")
    graph.revoke_permission("read_insights")
    posts = [graph.seed_post(f"Leje {n}", age_seconds=1200) for n in range(3)]

    first = fb.engagement([p.id for p in posts])

    assert fields_asked(graph) == [f"{COUNTERS},{ALL_INSIGHTS}", COUNTERS]
    assert graph.errors[0]["code"] == 10
    assert [f.external_id for f in first] == [p.id for p in posts]
    assert (first[0].reactions, first[0].comments, first[0].shares) == (120, 20, 10)
    assert first[0].impressions is None and first[0].clicks is None
    notes = first[0].raw["unavailable"]
    assert set(notes) == {"post_media_view", "post_total_media_view_unique", "post_clicks"}
    assert "may not read insights" in notes["post_clicks"]

    fb.engagement([p.id for p in posts])

    assert fields_asked(graph)[2:] == [COUNTERS]
    assert sum("may not read insights" in r.getMessage() for r in caplog.records) == 1


def test_fb_without_read_permission_is_still_a_credentials_error_in_one_call(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    post = graph.seed_post("Pa leje", age_seconds=60)
    graph.revoke_permission("pages_read_engagement")
    with pytest.raises(CredentialsError, match="pages_read_engagement"):
        fb.engagement([post.id])
    assert len(graph.requests) == 1


@pytest.mark.parametrize("metric", sorted(DEPRECATED_POST_METRICS))
def test_the_graph_emulator_refuses_retired_metrics(graph: GraphEmulator, metric: str) -> None:
    post = graph.seed_post("I vjetër")
    with requests.Session() as session:
        answer = session.get(
            f"{graph.base_url}/v24.0/",
            params={"ids": post.id, "fields": f"{COUNTERS},insights.metric({metric})"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["message"], error["code"], error["type"]) == (
        INVALID_METRIC_MESSAGE,
        100,
        "OAuthException",
    )


def test_the_graph_emulator_gives_insights_by_field_expansion(graph: GraphEmulator) -> None:
    post = graph.seed_post("Me shifra", age_seconds=600)
    with requests.Session() as session:
        answer = session.get(
            f"{graph.base_url}/v24.0/{post.id}",
            params={"fields": "insights.metric(post_media_view).period(lifetime)"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        no_metric = session.get(
            f"{graph.base_url}/v24.0/{post.id}",
            params={"fields": "insights"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
    body = answer.json()
    [views] = body["insights"]["data"]
    assert views["name"] == "post_media_view" and views["period"] == "lifetime"
    assert views["values"] == [{"value": 300}]
    assert views["id"] == f"{post.id}/insights/post_media_view/lifetime"
    assert TOKEN in body["insights"]["paging"]["next"]  # as Graph writes its links
    assert no_metric.json()["error"]["code"] == 3001


def test_fb_readings_keep_their_time_order_with_the_clock(
    fb: FacebookAdapter, graph: GraphEmulator
) -> None:
    # Seeded a day ago and read twice an hour apart: every figure is monotone.
    post = graph.seed_post("Dita", age_seconds=DAY)
    readings = []
    for _ in range(3):
        [figure] = fb.engagement([post.id])
        readings.append(figure)
        graph.advance(timedelta(hours=1).total_seconds())
    views = [r.impressions or 0 for r in readings]
    assert views == sorted(views) and views[0] < views[-1]


def test_fb_a_retired_metric_is_remembered_by_every_worker_and_asked_again_later(
    graph: GraphEmulator, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FB_ENGAGEMENT_TOKEN", TOKEN)
    config = parse_channels(
        {
            "channels": [
                {
                    "name": "fb-national",
                    "kind": "facebook",
                    "secrets": {"page_access_token": "FB_ENGAGEMENT_TOKEN"},
                    "options": {"page_id": PAGE_ID, "base_url": graph.base_url},
                }
            ]
        },
        source="<test>",
    )
    graph.retire_metric("post_clicks")
    ids = [graph.seed_post(f"Lajmi nr. {n}", age_seconds=600).id for n in range(3)]

    first = FacebookAdapter(config.channels[0], memory=StoredMemory(store, "fb-national"))
    first.engagement(ids)
    first.close()
    assert len(graph.requests) == 3  # the refused call, then the search for the culprit

    # Another worker, or the same one after a restart: no refused call, no search.
    second = FacebookAdapter(config.channels[0], memory=StoredMemory(store, "fb-national"))
    [reading, *_] = second.engagement(ids)
    assert len(graph.requests) == 4
    assert fields_asked(graph)[-1] == (
        f"{COUNTERS},insights.metric(post_media_view,post_total_media_view_unique)"
    )
    assert "valid insights metric" in reading.raw["unavailable"]["post_clicks"]

    # Learnt over a month ago: Graph may know the metric again, so it is asked once more.
    learnt = datetime.now(UTC) - REASK_REFUSED_AFTER - timedelta(days=1)
    with store.engine.begin() as conn:
        conn.execute(update(ChannelNote).values(learnt_at=learnt))
    second.engagement(ids)
    second.close()
    assert fields_asked(graph)[4] == f"{COUNTERS},{ALL_INSIGHTS}"

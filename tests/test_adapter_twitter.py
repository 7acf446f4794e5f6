"""The X adapter against the X API v2 emulator (a real HTTP server on loopback)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth1

from emulators.x import XAccount, XEmulator, grown_metrics
from visibility.adapters.base import Publication
from visibility.adapters.twitter import TwitterAdapter, split_thread
from visibility.config.channels import Channel, parse_channels
from visibility.errors import (
    ChannelError,
    CredentialsError,
    DuplicateContentError,
    PermanentChannelError,
    RetryableChannelError,
)
from visibility.text.tweet import weighted_length

ENV = {
    "api_key": "X_TEST_API_KEY",
    "api_secret": "X_TEST_API_SECRET",
    "access_token": "X_TEST_ACCESS_TOKEN",
    "access_token_secret": "X_TEST_ACCESS_TOKEN_SECRET",
    "bearer_token": "X_TEST_BEARER_TOKEN",
}

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}

SENTENCES = [
    "Qendra Burimore opens its call for small grants to local civil-society groups today.",
    "Groups working on transparency, environment and youth participation can apply.",
    "The fund covers up to twelve months of work and grants of up to 8000 euro each.",
    "Applications are accepted in Albanian, Serbian and English until the end of June.",
    "Two information sessions will be held online, and recordings will be published.",
    "Questions can be sent by e-mail; answers are collected on the call's web page.",
    "Decisions are expected in September, after an independent evaluation committee.",
    "Previous rounds supported forty-two organisations in eleven municipalities.",
]


@pytest.fixture(scope="module")
def running_x() -> Iterator[XEmulator]:
    # One server for the module (stopping one takes half a second), reset per test.
    emulator = XEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def x(running_x: XEmulator) -> XEmulator:
    running_x.reset()
    return running_x


MakeAdapter = Callable[..., TwitterAdapter]


@pytest.fixture
def make_adapter(x: XEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeAdapter]:
    adapters: list[TwitterAdapter] = []

    def make(
        *, bearer: bool = True, emulator: XEmulator | None = None, **overrides: Any
    ) -> TwitterAdapter:
        em = emulator or x
        account = em.account
        values = {
            "api_key": em.consumer_key,
            "api_secret": em.consumer_secret,
            "access_token": account.access_token,
            "access_token_secret": account.access_token_secret,
            "bearer_token": em.bearer_token,
        }
        options: dict[str, Any] = {"base_url": em.base_url, "timeout": 5}
        for key, value in overrides.items():
            if key in values:
                values[key] = value
            else:
                options[key] = value
        roles = dict(ENV)
        if not bearer:
            del roles["bearer_token"]
        for role, name in roles.items():
            monkeypatch.setenv(name, values[role])
        data = {
            "channels": [
                {"name": "x-main", "kind": "twitter", "secrets": roles, "options": options}
            ]
        }
        channel: Channel = parse_channels(data, source="<test>").channels[0]
        adapter = TwitterAdapter(channel)
        adapters.append(adapter)
        return adapter

    yield make
    for adapter in adapters:
        adapter.close()


def publication(body: str, link: str | None = None) -> Publication:
    return Publication(
        post_id=7, news_item_id=3, channel="x-main", kind="twitter", body=body, link=link
    )


def secret_values(x: XEmulator) -> list[str]:
    account = x.account
    return [
        x.consumer_key,
        x.consumer_secret,
        account.access_token,
        account.access_token_secret,
        x.bearer_token,
    ]


def assert_no_secret(text: str, x: XEmulator) -> None:
    for value in secret_values(x):
        assert value not in text


# -- publishing ----------------------------------------------------------------


def test_publish_returns_the_id_and_x_url_signed_over_the_real_url(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    published = adapter.publish(
        publication("Call for grants: https://qb.example.org/a", "https://qb.example.org/a")
    )

    assert re.fullmatch(r"\d{19}", published.external_id)
    assert published.url == f"https://x.com/QendraBurimore/status/{published.external_id}"
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.id == published.external_id
    assert tweet.text == "Call for grants: https://qb.example.org/a"

    [post] = x.calls("/2/tweets", "POST")
    assert post.headers["authorization"].startswith("OAuth ")
    assert post.json() == {"text": "Call for grants: https://qb.example.org/a"}
    signed = [s for s in x.signed if s.method == "POST"]
    assert [s.url for s in signed] == ["https://api.twitter.com/2/tweets"]
    assert signed[0].token == x.account.access_token
    assert signed[0].params["oauth_signature_method"] == "HMAC-SHA1"


def test_the_username_is_read_once_per_adapter(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    adapter.publish(publication("First news of the day."))
    adapter.publish(publication("Second news of the day."))
    assert len(x.calls("/2/users/me")) == 1


def test_without_the_username_the_url_still_works(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    x.fail_next(1, status=503, path="^/2/users/me$")
    published = adapter.publish(publication("A tweet whose author lookup fails."))
    assert published.url == f"https://x.com/i/web/status/{published.external_id}"


def test_long_text_becomes_a_thread_of_replies(x: XEmulator, make_adapter: MakeAdapter) -> None:
    text = " ".join(SENTENCES)
    assert 560 < weighted_length(text) <= 3 * 280
    adapter = make_adapter(thread=True)

    published = adapter.publish(publication(text))

    tweets = x.tweets["QendraBurimore"]
    assert len(tweets) == 3
    assert published.external_id == tweets[0].id
    assert tweets[0].in_reply_to_tweet_id is None
    assert tweets[1].in_reply_to_tweet_id == tweets[0].id
    assert tweets[2].in_reply_to_tweet_id == tweets[1].id
    assert all(weighted_length(t.text) <= 280 for t in tweets)
    assert " ".join(t.text for t in tweets) == text
    assert all(t.text.endswith(".") for t in tweets)  # cut after sentences


def test_a_thread_cut_short_is_permanent_and_names_what_went_out(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    x.post_limit = 1  # the second part meets a 429, which alone would be retryable
    adapter = make_adapter(thread=True)
    with pytest.raises(PermanentChannelError) as caught:
        adapter.publish(publication(" ".join(SENTENCES)))
    [first] = x.tweets["QendraBurimore"]
    message = str(caught.value)
    assert not isinstance(caught.value, RetryableChannelError)
    assert "part 2 of 3" in message
    assert first.id in message
    assert "rate limit" in message
    assert "will try again" not in message


def test_long_text_without_thread_is_refused_with_xs_message(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    with pytest.raises(PermanentChannelError) as caught:
        adapter.publish(publication(" ".join(SENTENCES)))
    assert type(caught.value) is PermanentChannelError
    assert "Your Tweet text is too long" in str(caught.value)
    assert "options.thread" in str(caught.value)
    assert x.tweets["QendraBurimore"] == []


def test_other_400_is_permanent_with_xs_message(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    body = {
        "errors": [{"parameters": {}, "message": "Invalid reply_settings value"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    x.fail_next(1, status=400, body=body, path="^/2/tweets$")
    with pytest.raises(PermanentChannelError) as caught:
        adapter.publish(publication("Anything at all."))
    assert type(caught.value) is PermanentChannelError
    assert "Invalid reply_settings value" in str(caught.value)


def test_duplicate_is_refused_as_duplicate(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    adapter.publish(publication("The same words twice."))
    with pytest.raises(DuplicateContentError) as caught:
        adapter.publish(publication("The same words twice."))
    assert not caught.value.retryable
    assert "duplicate" in str(caught.value)
    assert len(x.tweets["QendraBurimore"]) == 1


# -- credentials -----------------------------------------------------------------


def test_check_names_the_account(x: XEmulator, make_adapter: MakeAdapter) -> None:
    account = make_adapter().check()
    assert account.name == "@QendraBurimore"
    assert account.external_id == x.account.user_id
    [lookup] = x.calls(r"/2/users/\d+")
    assert lookup.headers["authorization"] == f"Bearer {x.bearer_token}"


def test_check_without_bearer_uses_only_user_context(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    account = make_adapter(bearer=False).check()
    assert account.name == "@QendraBurimore"
    assert x.calls(r"/2/users/\d+") == []


@pytest.mark.parametrize("role", ["api_secret", "access_token_secret", "api_key", "access_token"])
def test_wrong_credentials_say_how_to_fix_without_secrets(
    x: XEmulator, make_adapter: MakeAdapter, role: str
) -> None:
    adapter = make_adapter(**{role: "wrong-" + role + "-value-0123456789"})
    for call in (adapter.check, lambda: adapter.publish(publication("Hello."))):
        with pytest.raises(CredentialsError) as caught:
            call()
        message = str(caught.value)
        assert "X rejected the account's credentials" in message
        assert "re-create the access token and secret" in message
        assert "`visibility channels check`" in message
        assert_no_secret(message, x)
        assert "wrong-" not in message
        assert_no_secret(repr(adapter), x)
    assert x.tweets["QendraBurimore"] == []


def test_a_wrong_bearer_token_says_to_regenerate_it(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(bearer_token="AAAA-wrong-bearer-token-value")
    with pytest.raises(CredentialsError) as caught:
        adapter.engagement(["1580000000000000123"])
    assert "Bearer token" in str(caught.value)
    assert "wrong-bearer" not in str(caught.value)


def test_missing_write_permission_names_the_fix(make_adapter: MakeAdapter) -> None:
    reader = XAccount(
        user_id="1580000000000000009",
        username="ReadOnlyApp",
        name="Read only",
        access_token="1580000000000000009-readonlytokenvalue",
        access_token_secret="read-only-token-secret-value",
        can_write=False,
    )
    with XEmulator(accounts=[reader]) as emulator:
        adapter = make_adapter(emulator=emulator)
        with pytest.raises(CredentialsError) as caught:
            adapter.publish(publication("Can this app write?"))
        message = str(caught.value)
        assert "oauth1 app permissions" in message
        assert '"Read and write"' in message
        assert "regenerate the access token" in message
        assert_no_secret(message, emulator)


def test_the_emulator_refuses_bearer_on_posting(x: XEmulator) -> None:
    with requests.Session() as session:
        answer = session.post(
            f"{x.base_url}/2/tweets",
            json={"text": "app-only"},
            headers={"Authorization": f"Bearer {x.bearer_token}"},
            timeout=5,
        )
    assert answer.status_code == 403
    assert answer.json() == {
        "title": "Unsupported Authentication",
        "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
        "endpoint.  Supported authentication types are [OAuth 1.0a User Context, "
        "OAuth 2.0 User Context].",
        "type": "https://api.twitter.com/2/problems/unsupported-authentication",
        "status": 403,
    }
    for name in ("x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"):
        assert name in answer.headers
    assert x.tweets["QendraBurimore"] == []


def test_the_emulator_refuses_a_signature_over_its_own_url(x: XEmulator) -> None:
    # A client that signed for the address it sends to, not for api.twitter.com.
    auth = OAuth1(
        x.consumer_key,
        client_secret=x.consumer_secret,
        resource_owner_key=x.account.access_token,
        resource_owner_secret=x.account.access_token_secret,
    )
    with requests.Session() as session:
        answer = session.post(
            f"{x.base_url}/2/tweets",
            json={"text": "Signed for the wrong URL."},
            auth=auth,
            timeout=5,
        )
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED
    assert x.signed == []
    assert x.tweets["QendraBurimore"] == []


def test_the_emulator_refuses_a_replayed_nonce(x: XEmulator, make_adapter: MakeAdapter) -> None:
    make_adapter().publish(publication("Signed once."))
    [post] = x.calls("/2/tweets", "POST")
    with requests.Session() as session:
        answer = session.post(
            f"{x.base_url}/2/tweets",
            data=post.body,
            headers={
                "Authorization": post.headers["authorization"],
                "Content-Type": "application/json",
            },
            timeout=5,
        )
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


# -- rate limits and outages --------------------------------------------------------


def test_429_from_the_post_limit_carries_the_reset_time(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    x.post_limit = 1
    adapter = make_adapter()
    adapter.publish(publication("The only tweet this window."))
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("One tweet too many."))
    expected = datetime.fromtimestamp(int(x.now() + x.window_seconds), UTC)
    assert caught.value.retry_after is not None
    assert abs((caught.value.retry_after - expected).total_seconds()) <= 2


def test_429_retry_after_is_the_reset_header(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    body = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    headers = {
        "x-rate-limit-limit": "100",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": "1900000000",
    }
    x.fail_next(1, status=429, body=body, headers=headers, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Rate limited."))
    assert caught.value.retry_after == datetime.fromtimestamp(1900000000, UTC)
    assert "2030-03-17 17:46 UTC" in str(caught.value)


def test_429_from_the_daily_cap_waits_for_the_daily_reset(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    headers = {
        "x-rate-limit-reset": "1900000000",
        "x-user-limit-24hour-limit": "17",
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": "1900050000",
    }
    x.fail_next(1, status=429, body={"title": "Too Many Requests"}, headers=headers)
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Daily cap."))
    assert caught.value.retry_after == datetime.fromtimestamp(1900050000, UTC)
    assert "24-hour" in str(caught.value)


def test_429_without_reset_is_retryable_without_a_time(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    x.fail_next(1, status=429, body={"title": "Too Many Requests"}, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Rate limited, no reset."))
    assert caught.value.retry_after is None


def test_wait_on_rate_limit_stays_off(make_adapter: MakeAdapter) -> None:
    assert make_adapter().client.wait_on_rate_limit is False


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(x: XEmulator, make_adapter: MakeAdapter, status: int) -> None:
    adapter = make_adapter()
    body = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank"}
    x.fail_next(1, status=status, body=body, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Server trouble."))
    assert str(status) in str(caught.value)


def test_a_dropped_connection_is_retryable_and_names_the_host(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    x.fail_next(1, drop=True, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Connection drops."))
    host = x.base_url.removeprefix("http://")
    assert host in str(caught.value)
    assert "/2/tweets" not in str(caught.value)


def test_a_slow_answer_times_out_as_retryable(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(timeout=0.5)
    # Answers nothing for 2 s, then hangs up (an answer would hit a closed socket).
    x.fail_next(1, delay=2, drop=True, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Too slow."))
    message = str(caught.value)
    assert x.base_url.removeprefix("http://") in message
    assert "0.5 s" in message


def test_the_default_address_is_not_rewritten_but_still_has_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ENV.values():
        monkeypatch.setenv(name, "value-of-" + name.lower())
    data = {
        "channels": [
            {"name": "x-real", "kind": "twitter", "secrets": ENV, "options": {"timeout": 12}}
        ]
    }
    adapter = TwitterAdapter(parse_channels(data, source="<test>").channels[0])
    try:
        transport = adapter.session.get_adapter("https://api.twitter.com/2/tweets")
        assert getattr(transport, "target", "unset") is None
        assert getattr(transport, "timeout", None) == 12
    finally:
        adapter.close()


# -- engagement and deleting ---------------------------------------------------------


def test_engagement_of_100_tweets_in_one_call(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    tweets = [x.post(f"News item number {i}.", age_seconds=600 + i) for i in range(100)]
    x.set_metrics(
        tweets[0].id,
        impression_count=1200,
        like_count=30,
        reply_count=4,
        retweet_count=6,
        quote_count=2,
        bookmark_count=9,
        url_link_clicks=17,
    )

    figures = adapter.engagement([t.id for t in tweets])

    [lookup] = x.calls("/2/tweets", "GET")
    # The account's own tweets of the last 30 days: private figures, in user context.
    assert lookup.arg("tweet.fields") == "public_metrics,non_public_metrics,created_at"
    assert lookup.headers["authorization"].startswith("OAuth ")
    assert [f.external_id for f in figures] == [t.id for t in tweets]
    first = figures[0]
    assert (first.impressions, first.reactions, first.comments, first.shares, first.clicks) == (
        1200,
        30,
        4,
        8,
        17,
    )
    assert first.raw["public_metrics"]["bookmark_count"] == 9
    assert first.raw["non_public_metrics"]["url_link_clicks"] == 17
    assert "unavailable" not in first.raw
    grown = grown_metrics(601)
    assert figures[1].reactions == grown["like_count"]


def test_engagement_grows_over_time(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    tweet = x.post("Growing.", age_seconds=60)
    [before] = adapter.engagement([tweet.id])
    x.advance(3600)
    [after] = adapter.engagement([tweet.id])
    assert before.impressions is not None and after.impressions is not None
    assert after.impressions > before.impressions
    assert (after.reactions or 0) > (before.reactions or 0)


def test_engagement_leaves_out_deleted_tweets(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    kept = adapter.publish(publication("This one stays."))
    gone = adapter.publish(publication("This one goes."))
    adapter.delete(gone.external_id)
    adapter.delete(gone.external_id)  # already gone: nothing to do

    figures = adapter.engagement([kept.external_id, gone.external_id, "1580000000000000999"])

    assert [f.external_id for f in figures] == [kept.external_id]
    assert [t.text for t in x.tweets["QendraBurimore"]] == ["This one stays."]


def test_more_than_100_ids_is_refused_before_any_call(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    with pytest.raises(ValueError, match="at most 100"):
        adapter.engagement([str(1580000000000000000 + i) for i in range(101)])
    assert x.calls("/2/tweets", "GET") == []
    assert adapter.engagement([]) == []
    assert x.requests == []


@pytest.mark.parametrize("bearer", [True, False])
def test_engagement_reads_with_bearer_when_configured(
    x: XEmulator, make_adapter: MakeAdapter, bearer: bool
) -> None:
    adapter = make_adapter(bearer=bearer)
    tweet = x.post("Who reads this?", age_seconds=40 * 86400)  # too old for private figures
    [figure] = adapter.engagement([tweet.id])
    assert figure.external_id == tweet.id
    assert figure.clicks is None
    [lookup] = x.calls("/2/tweets", "GET")
    assert lookup.arg("tweet.fields") == "public_metrics"
    authorization = lookup.headers["authorization"]
    if bearer:
        assert authorization == f"Bearer {x.bearer_token}"
    else:
        assert authorization.startswith("OAuth ")
        assert [s.url for s in x.signed] == ["https://api.twitter.com/2/tweets"]


def test_the_emulator_refuses_more_than_100_ids(x: XEmulator) -> None:
    ids = ",".join(str(1580000000000000000 + i) for i in range(101))
    with requests.Session() as session:
        answer = session.get(
            f"{x.base_url}/2/tweets",
            params={"ids": ids, "tweet.fields": "public_metrics"},
            headers={"Authorization": f"Bearer {x.bearer_token}"},
            timeout=5,
        )
    assert answer.status_code == 400
    [error] = answer.json()["errors"]
    assert "[101] is not between 1 and 100" in error["message"]


def test_unknown_ids_come_back_as_errors(x: XEmulator) -> None:
    with requests.Session() as session:
        answer = session.get(
            f"{x.base_url}/2/tweets",
            params={"ids": "1580000000000000777"},
            headers={"Authorization": f"Bearer {x.bearer_token}"},
            timeout=5,
        )
    assert answer.status_code == 200
    assert answer.json() == {
        "errors": [
            {
                "value": "1580000000000000777",
                "detail": "Could not find tweet with ids: [1580000000000000777].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "1580000000000000777",
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
        ]
    }


# -- secrets in logs and messages -------------------------------------------------------


def test_no_credential_reaches_the_logs(
    x: XEmulator, make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = make_adapter()
    published = adapter.publish(publication("Logged at DEBUG."))
    adapter.engagement([published.external_id])
    adapter.check()
    assert "Making API request" in caplog.text  # tweepy's DEBUG lines are kept
    assert_no_secret(caplog.text, x)
    for request in x.requests:
        header = request.headers["authorization"]
        signature = re.search(r'oauth_signature="([^"]+)"', header)
        if signature:
            assert signature.group(1) not in caplog.text


def test_every_error_message_is_free_of_secrets(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    echo = f"token {x.bearer_token} and {x.account.access_token} were used"
    x.fail_next(1, status=400, body={"errors": [{"message": echo}]}, path="^/2/tweets$")
    x.fail_next(1, status=403, body={"detail": echo}, path="^/2/tweets$")
    x.fail_next(1, status=503, body={"detail": echo}, path="^/2/tweets$")
    errors: list[ChannelError] = []
    for _ in range(3):
        with pytest.raises(ChannelError) as caught:
            adapter.publish(publication("Echoes."))
        errors.append(caught.value)
    assert [type(e) for e in errors] == [
        PermanentChannelError,
        CredentialsError,
        RetryableChannelError,
    ]
    for error in errors:
        assert "***" in str(error)
        assert_no_secret(str(error), x)


# -- splitting -------------------------------------------------------------------------------


def test_split_thread_prefers_sentence_ends_and_keeps_every_word() -> None:
    text = " ".join(SENTENCES * 2)
    parts = split_thread(text)
    assert all(weighted_length(p) <= 280 for p in parts)
    assert " ".join(parts) == text
    assert all(p.endswith(".") for p in parts)


def test_split_thread_cuts_between_words_without_sentence_ends() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    parts = split_thread(text, limit=100)
    assert all(weighted_length(p) <= 100 for p in parts)
    assert " ".join(parts) == text


def test_split_thread_cuts_a_word_longer_than_a_tweet() -> None:
    parts = split_thread("x" * 300)
    assert [len(p) for p in parts] == [280, 20]


def test_short_text_is_one_part() -> None:
    assert split_thread("  Short.  ") == ["Short."]


# -- finding a post that may have gone out ---------------------------------------------------

LONG_URL = "https://qb.example.org/lajme/2024/06/thirrje-per-grante-te-vogla-per-organizatat-lokale"


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def test_find_published_finds_the_tweet_it_published(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    post = publication(f"Call for small grants: {LONG_URL}", LONG_URL)
    published = adapter.publish(post)

    found = adapter.find_published(post, minutes_ago(1))

    assert found == published
    [timeline] = x.calls(r"/2/users/\d+/tweets")
    assert timeline.path == f"/2/users/{x.account.user_id}/tweets"
    assert timeline.arg("max_results") == "100"
    assert timeline.arg("exclude") == "retweets,replies"
    assert timeline.headers["authorization"] == f"Bearer {x.bearer_token}"
    start = datetime.fromisoformat(str(timeline.arg("start_time")).replace("Z", "+00:00"))
    assert minutes_ago(3.1) < start < minutes_ago(2.9)  # since, less the clock-skew margin


def test_find_published_sees_through_xs_t_co_links(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    post = publication(f"Apply by 30 June at {LONG_URL} or qb.example.org/apply", LONG_URL)
    published = adapter.publish(post)

    [tweet] = x.tweets["QendraBurimore"]
    assert LONG_URL not in tweet.stored_text
    assert re.fullmatch(
        r"Apply by 30 June at https://t\.co/\w{10} or https://t\.co/\w{10}", tweet.stored_text
    )
    assert adapter.find_published(post, minutes_ago(1)) == published


def test_find_published_evens_out_escaping_whitespace_and_unicode_forms(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    tweet = x.post("Grants & training <for> youth groups in Prishtinë.", age_seconds=30)
    decomposed = "Grants  &  training <for> youth groups\nin Prishtine\u0308.".replace("  ", " ", 1)
    found = adapter.find_published(publication(decomposed), minutes_ago(5))
    assert found is not None and found.external_id == tweet.id
    [timeline] = x.calls(r"/2/users/\d+/tweets")
    assert timeline.arg("start_time")
    with requests.Session() as session:
        answer = session.get(
            f"{x.base_url}/2/users/{x.account.user_id}/tweets",
            headers={"Authorization": f"Bearer {x.bearer_token}"},
            timeout=5,
        )
    assert answer.json()["data"][0]["text"] == (
        "Grants &amp; training &lt;for&gt; youth groups in Prishtinë."
    )


def test_find_published_is_none_for_another_text(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    adapter.publish(publication(f"Call for small grants: {LONG_URL}"))
    other = publication(f"Call for large grants: {LONG_URL}")
    assert adapter.find_published(other, minutes_ago(1)) is None


def test_find_published_ignores_tweets_from_before_since(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    x.post("Our weekly bulletin is out.", age_seconds=3600)
    post = publication("Our weekly bulletin is out.")
    assert adapter.find_published(post, minutes_ago(10)) is None
    assert adapter.find_published(post, minutes_ago(90)) is not None


def test_find_published_pages_through_the_timeline(x: XEmulator, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    wanted = x.post(f"The tweet we look for: {LONG_URL}", age_seconds=900)
    for i in range(150):
        x.post(f"Later news number {i}.", age_seconds=800 - i)

    found = adapter.find_published(
        publication(f"The tweet we look for: {LONG_URL}"), minutes_ago(20)
    )

    assert found is not None and found.external_id == wanted.id
    timeline = x.calls(r"/2/users/\d+/tweets")
    assert len(timeline) == 2
    assert timeline[0].arg("pagination_token") is None
    assert timeline[1].arg("pagination_token")
    assert len(x.calls("/2/users/me")) == 1  # the account id is read once


def test_find_published_cannot_tell_past_its_page_limit(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    for i in range(501):
        x.post(f"Busy day, tweet {i}.", age_seconds=600 - i)
    with pytest.raises(PermanentChannelError, match="more than 500 tweets"):
        adapter.find_published(publication("Not among them."), minutes_ago(15))
    assert len(x.calls(r"/2/users/\d+/tweets")) == 5


def test_find_published_finds_a_whole_thread_by_its_first_part(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(thread=True)
    post = publication(" ".join(SENTENCES))
    published = adapter.publish(post)

    assert adapter.find_published(post, minutes_ago(1)) == published
    [timeline] = x.calls(r"/2/users/\d+/tweets")
    assert timeline.arg("exclude") == "retweets"  # replies hold the later parts


def test_find_published_of_a_thread_cut_short_holds_it_for_a_person(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(thread=True)
    text = " ".join(SENTENCES)
    first = x.post(split_thread(text)[0], age_seconds=20)
    with pytest.raises(PermanentChannelError) as caught:
        adapter.find_published(publication(text), minutes_ago(1))
    message = str(caught.value)
    assert f"https://x.com/QendraBurimore/status/{first.id}" in message
    assert "part(s) 2, 3 of 3 are not" in message


def test_find_published_reads_with_the_account_without_a_bearer_token(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(bearer=False)
    tweet = x.post("Read with the account's own tokens.", age_seconds=10)
    found = adapter.find_published(
        publication("Read with the account's own tokens."), minutes_ago(1)
    )
    assert found is not None and found.external_id == tweet.id
    [timeline] = x.calls(r"/2/users/\d+/tweets")
    assert timeline.headers["authorization"].startswith("OAuth ")


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_while_looking_is_retryable(
    x: XEmulator, make_adapter: MakeAdapter, status: int
) -> None:
    adapter = make_adapter()
    adapter.check()  # the account id is known: the fault meets the timeline
    body = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank"}
    x.fail_next(1, status=status, body=body, path=r"^/2/users/\d+/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.find_published(publication("Anything."), minutes_ago(1))
    assert "looking for the post on X" in str(caught.value)
    assert caught.value.reached is True


def test_a_rate_limit_while_looking_is_retryable_and_not_reached(
    x: XEmulator, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter()
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1900000000"}
    x.fail_next(1, status=429, body={"title": "Too Many Requests"}, headers=headers)
    with pytest.raises(RetryableChannelError) as caught:
        adapter.find_published(publication("Anything."), minutes_ago(1))
    assert caught.value.reached is False
    assert caught.value.retry_after == datetime.fromtimestamp(1900000000, UTC)


def test_the_emulator_timeline_behaves_like_x(x: XEmulator) -> None:
    me = x.account.user_id
    old = x.post("Old.", age_seconds=7200)
    parent = x.post("Parent.", age_seconds=60)
    reply = x.post("Reply.", age_seconds=30, in_reply_to=parent.id)
    bearer = {"Authorization": f"Bearer {x.bearer_token}"}
    url = f"{x.base_url}/2/users/{me}/tweets"
    start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with requests.Session() as session:
        recent = session.get(url, params={"start_time": start}, headers=bearer, timeout=5).json()
        no_replies = session.get(
            url,
            params={"exclude": "replies", "tweet.fields": "created_at"},
            headers=bearer,
            timeout=5,
        ).json()
        too_many = session.get(url, params={"max_results": "101"}, headers=bearer, timeout=5)
        bad_time = session.get(url, params={"start_time": "yesterday"}, headers=bearer, timeout=5)
        future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        too_late = session.get(url, params={"start_time": future}, headers=bearer, timeout=5)
        nobody = session.get(
            f"{x.base_url}/2/users/1580000000000000999/tweets", headers=bearer, timeout=5
        ).json()
        anonymous = session.get(url, timeout=5)
    assert [t["id"] for t in recent["data"]] == [reply.id, parent.id]
    assert recent["meta"] == {"newest_id": reply.id, "oldest_id": parent.id, "result_count": 2}
    assert [t["id"] for t in no_replies["data"]] == [parent.id, old.id]
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", no_replies["data"][0]["created_at"]
    )
    assert too_many.status_code == 400
    assert "[101] is not between 5 and 100" in too_many.json()["errors"][0]["message"]
    assert bad_time.status_code == 400
    assert too_late.status_code == 400
    assert "10 seconds prior" in too_late.json()["errors"][0]["message"]
    assert nobody["errors"][0]["title"] == "Not Found Error"
    assert anonymous.status_code == 401
    assert "x-rate-limit-remaining" in anonymous.headers


# -- whether a failed request may have reached X ------------------------------------------------


def test_a_429_on_posting_did_not_reach_x(x: XEmulator, make_adapter: MakeAdapter) -> None:
    x.post_limit = 0
    with pytest.raises(RetryableChannelError) as caught:
        make_adapter().publish(publication("Refused before X acted."))
    assert caught.value.reached is False


@pytest.mark.parametrize(
    "fault",
    [{"status": 503, "body": {"title": "Service Unavailable"}}, {"drop": True}],
    ids=["5xx", "dropped"],
)
def test_a_5xx_or_a_broken_connection_may_have_reached_x(
    x: XEmulator, make_adapter: MakeAdapter, fault: dict[str, Any]
) -> None:
    x.fail_next(1, path="^/2/tweets$", **fault)
    with pytest.raises(RetryableChannelError) as caught:
        make_adapter().publish(publication("Maybe posted."))
    assert caught.value.reached is True


def test_a_read_timeout_may_have_reached_x(x: XEmulator, make_adapter: MakeAdapter) -> None:
    x.fail_next(1, delay=1, drop=True, path="^/2/tweets$")
    with pytest.raises(RetryableChannelError) as caught:
        make_adapter(timeout=0.3).publish(publication("Slow."))
    assert caught.value.reached is True


def test_a_refused_connection_did_not_reach_x(make_adapter: MakeAdapter) -> None:
    with XEmulator() as gone:
        adapter = make_adapter(emulator=gone)
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(publication("Nobody listens."))
    assert caught.value.reached is False

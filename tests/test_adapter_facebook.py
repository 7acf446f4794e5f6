from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from test_adapter_facebook_photos import picture

from emulators.graph import GraphEmulator
from visibility.adapters.base import Publication
from visibility.adapters.facebook import FacebookAdapter
from visibility.adapters.graph_usage import UsageGauge, read_usage
from visibility.config.channels import Channel, parse_channels
from visibility.errors import (
    ChannelError,
    ConfigError,
    CredentialsError,
    DuplicateContentError,
    PermanentChannelError,
    RetryableChannelError,
)

PAGE_ID = "104857600123456"
TOKEN = "EAAGpageToken7f3a9c2e5b1d4f6a8c0e"


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
def make_adapter(
    graph: GraphEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., FacebookAdapter]]:
    made: list[FacebookAdapter] = []

    def make(token: str = TOKEN, **options: Any) -> FacebookAdapter:
        monkeypatch.setenv("FB_NATIONAL_TOKEN", token)
        config = parse_channels(
            {
                "channels": [
                    {
                        "name": "fb-national",
                        "kind": "facebook",
                        "secrets": {"page_access_token": "FB_NATIONAL_TOKEN"},
                        "options": {"page_id": PAGE_ID, "base_url": graph.base_url} | options,
                    }
                ]
            },
            source="<test>",
        )
        adapter = FacebookAdapter(config.channels[0])
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture
def adapter(make_adapter: Callable[..., FacebookAdapter]) -> FacebookAdapter:
    return make_adapter()


def publication(body: str = "Thirrje për projekte: afati 30 qershor", **kw: Any) -> Publication:
    return Publication(
        post_id=kw.pop("post_id", 7),
        news_item_id=3,
        channel="fb-national",
        kind="facebook",
        body=body,
        link=kw.pop("link", "https://qbsc.example.org/thirrje"),
        **kw,
    )


def raised(call: Callable[[], object], kind: type[ChannelError], *, token: str = TOKEN) -> str:
    """The message of the error ``call`` raises; it must be ``kind`` and hold no token."""
    with pytest.raises(kind) as info:
        call()
    message = str(info.value)
    assert token not in message
    assert token not in repr(info.value)
    assert info.value.channel == "fb-national"
    return message


# -- success paths ------------------------------------------------------------------------


def test_publish_text_post(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    published = adapter.publish(publication())

    [post] = graph.posts_on(PAGE_ID)
    assert published.external_id == post.id
    assert post.id.startswith(f"{PAGE_ID}_")
    assert published.url == f"https://www.facebook.com/{post.id}"
    assert post.message == "Thirrje për projekte: afati 30 qershor"
    assert post.link == "https://qbsc.example.org/thirrje"
    [request] = graph.requests
    assert request.method == "POST"
    assert request.path == f"/v24.0/{PAGE_ID}/feed"


def test_publish_without_link_sends_no_link_field(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    adapter.publish(publication(link=None))

    assert graph.posts_on()[0].link is None
    assert b"link=" not in graph.requests[0].body


def test_check_names_the_page(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    account = adapter.check()

    assert account.name == "Qendra Burimore"
    assert account.external_id == PAGE_ID
    assert account.detail is not None and "v24.0" in account.detail
    assert graph.requests[0].query["fields"] == ["name,id"]


def test_delete(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    external_id = adapter.publish(publication()).external_id

    adapter.delete(external_id)

    assert graph.posts_on() == []
    assert graph.requests[-1].method == "DELETE"
    assert graph.requests[-1].path == f"/v24.0/{external_id}"


def test_delete_of_unknown_post_is_permanent(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    with pytest.raises(PermanentChannelError) as info:
        adapter.delete(f"{PAGE_ID}_999")

    assert not isinstance(info.value, CredentialsError)
    message = str(info.value)
    assert message.startswith(f"Facebook does not have post {PAGE_ID}_999 (any more)")
    assert "deleted on Facebook already" in message
    assert "Unsupported delete request. Object with ID" in message
    assert graph.errors[-1]["fbtrace_id"] in message


def test_usage_api_version_and_base_url_options(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    adapter = make_adapter(api_version="v21.0")
    adapter.check()
    assert graph.requests[0].path == f"/v21.0/{PAGE_ID}"


# -- engagement -------------------------------------------------------------------------------


def test_engagement_reads_summaries_and_absent_shares_as_zero(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    first = adapter.publish(publication("Lajmi i parë")).external_id
    second = adapter.publish(publication("Lajmi i dytë")).external_id
    graph.set_engagement(first, reactions=12, comments=3, shares=0, views=0, clicks=0)
    graph.set_engagement(second, reactions=40, comments=9, shares=5, views=310, clicks=7)
    before = len(graph.requests)

    figures = adapter.engagement([first, second])

    assert len(graph.requests) == before + 1
    request = graph.requests[-1]
    assert request.path == "/v24.0/"
    assert request.query["ids"] == [f"{first},{second}"]
    assert request.query["fields"] == [
        "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),"
        "insights.metric(post_media_view,post_total_media_view_unique,post_clicks)"
    ]
    one, two = figures
    assert "shares" not in one.raw  # Graph leaves it out while there are none
    assert (one.external_id, one.reactions, one.comments, one.shares) == (first, 12, 3, 0)
    assert (two.external_id, two.reactions, two.comments, two.shares) == (second, 40, 9, 5)
    assert (one.impressions, one.clicks) == (0, 0)
    assert (two.impressions, two.clicks) == (310, 7)
    assert two.raw["reactions"]["summary"]["total_count"] == 40
    assert "unavailable" not in two.raw


def test_engagement_grows_with_time(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    external_id = adapter.publish(publication()).external_id
    [early] = adapter.engagement([external_id])

    graph.advance(3600)
    [later] = adapter.engagement([external_id])

    assert early.reactions is not None and later.reactions is not None
    assert later.reactions > early.reactions
    assert later.comments is not None and later.comments > 0
    assert later.shares is not None and later.shares > 0


def test_engagement_of_fifty_posts_in_one_call(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    ids = [graph.seed_post(f"Lajmi nr. {n}").id for n in range(50)]

    figures = adapter.engagement(ids)

    assert len(graph.requests) == 1
    assert graph.requests[0].query["ids"] == [",".join(ids)]
    assert [f.external_id for f in figures] == ids
    assert adapter.engagement_batch == 50


def test_engagement_of_more_than_fifty_is_refused_without_a_call(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    with pytest.raises(ValueError, match="at most 50"):
        adapter.engagement([f"{PAGE_ID}_{n}" for n in range(51)])
    assert graph.requests == []


def test_engagement_of_nothing_makes_no_call(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    assert adapter.engagement([]) == []
    assert graph.requests == []


@pytest.mark.parametrize("style", ["object", "aliases"])
def test_engagement_leaves_out_posts_facebook_no_longer_knows(
    adapter: FacebookAdapter, graph: GraphEmulator, style: str
) -> None:
    graph.missing_ids_style = style
    ids = [adapter.publish(publication(f"Lajmi nr. {n}")).external_id for n in range(4)]
    adapter.delete(ids[1])
    adapter.delete(ids[3])
    before = len(graph.requests)

    figures = adapter.engagement(ids)

    assert [f.external_id for f in figures] == [ids[0], ids[2]]
    # Graph fails the whole call on an unknown id; it names one ("object") or all of them.
    assert len(graph.requests) - before == (3 if style == "object" else 2)


def test_engagement_gives_up_when_too_many_posts_are_gone(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    posts = [graph.seed_post(f"Lajmi nr. {n}") for n in range(8)]
    for post in posts[:7]:
        post.deleted = True

    message = raised(lambda: adapter.engagement([p.id for p in posts]), PermanentChannelError)

    assert len(graph.requests) == 6  # the first call and five more, no further
    assert message.startswith("Facebook does not know 6 of these posts any more")
    assert posts[0].id in message and "visibility channels check" in message


def test_engagement_error_naming_an_id_we_did_not_ask_for_is_permanent(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.fail_next(
        status=400,
        body={
            "error": {
                "message": "(#803) Some of the aliases you requested do not exist: somebody",
                "type": "OAuthException",
                "code": 803,
                "fbtrace_id": "AxYz123",
            }
        },
    )
    external_id = f"{PAGE_ID}_1"

    message = raised(lambda: adapter.engagement([external_id]), PermanentChannelError)

    assert "somebody" in message and "AxYz123" in message


def test_engagement_without_read_permission_names_it(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    external_id = adapter.publish(publication()).external_id
    graph.revoke_permission("pages_read_engagement")

    message = raised(lambda: adapter.engagement([external_id]), CredentialsError)

    assert message.startswith("the Page access token lacks the permission pages_read_engagement")
    assert "page_access_token secret of channel 'fb-national'" in message


# -- token and permission errors ----------------------------------------------------------------

TOKEN_CASES = [
    (458, "the app was removed from the Facebook account that created it"),
    (459, "is checkpointed"),
    (460, "was invalidated because the password of the Facebook account that created it changed"),
    (463, "the Page access token has expired"),
    (464, "is not confirmed"),
    (467, "the Page access token is invalid"),
]


@pytest.mark.parametrize(("subcode", "words"), TOKEN_CASES)
def test_broken_token_is_a_credentials_error_in_words(
    adapter: FacebookAdapter, graph: GraphEmulator, subcode: int, words: str
) -> None:
    graph.invalidate_token(subcode=subcode)

    message = raised(lambda: adapter.publish(publication()), CredentialsError)

    assert words in message
    assert "Error validating access token" in message  # what Facebook said
    assert graph.errors[-1]["fbtrace_id"] in message
    assert message.endswith(
        "Generate a new Page access token, set it as the page_access_token secret of channel "
        "'fb-national', then run `visibility channels check`."
    )
    assert graph.posts_on() == []


def test_expired_token_message_for_check(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    graph.expire_token()

    message = raised(adapter.check, CredentialsError)

    assert message.startswith('the Page access token has expired: Facebook said "Error validating')
    assert "Session has expired on" in message


def test_unknown_token(make_adapter: Callable[..., FacebookAdapter]) -> None:
    other = "EAAGsomeOtherToken0000111122223333"
    adapter = make_adapter(token=other)

    message = raised(adapter.check, CredentialsError, token=other)

    assert message.startswith("the Page access token is not valid")
    assert "Invalid OAuth access token - Cannot parse access token" in message


def test_token_graph_echoes_back_is_redacted(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    malformed = "EAAG-malformed/token+98765"
    adapter = make_adapter(token=malformed)

    message = raised(lambda: adapter.publish(publication()), CredentialsError, token=malformed)

    assert malformed in str(graph.errors[-1]["message"])  # Graph did echo it
    assert "Malformed access token ***" in message


def test_wrong_page_id_is_a_credentials_error(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    graph.add_page("999888777666", "Another Page", "EAAGanotherPagesToken1234")
    adapter = make_adapter(token="EAAGanotherPagesToken1234")

    message = raised(adapter.check, CredentialsError, token="EAAGanotherPagesToken1234")

    assert message.startswith(f"Facebook cannot find Page {PAGE_ID} with this token")
    assert "page_id option of channel 'fb-national' is wrong" in message
    assert "not for that Page or lacks access to it" in message
    assert graph.errors[-1]["code"] == 100 and graph.errors[-1]["error_subcode"] == 33
    assert "visibility channels check" in message

    # Publishing to it says the same, and posts nothing.
    raised(
        lambda: adapter.publish(publication()), CredentialsError, token="EAAGanotherPagesToken1234"
    )
    assert graph.posts_on(PAGE_ID) == []


def test_missing_posting_permission_names_it(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.revoke_permission("pages_manage_posts")

    message = raised(lambda: adapter.publish(publication()), CredentialsError)

    assert message.startswith(
        "the Page access token lacks the permissions pages_read_engagement and pages_manage_posts"
    )
    assert "(#200) If posting to a page" in message
    assert "Grant pages_read_engagement and pages_manage_posts to the app" in message
    assert graph.errors[-1]["fbtrace_id"] in message


# -- refused posts ------------------------------------------------------------------------------


def test_duplicate_post(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    adapter.publish(publication())

    message = raised(lambda: adapter.publish(publication(post_id=8)), DuplicateContentError)

    assert message.startswith("Facebook refused the post as a duplicate")
    assert "(#506) Duplicate status message" in message
    assert graph.errors[-1]["fbtrace_id"] in message
    assert len(graph.posts_on()) == 1


def test_blocked_post_is_permanent_and_not_retried(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.block_word("fitoni")

    with pytest.raises(PermanentChannelError) as info:
        adapter.publish(publication("Fitoni një iPhone falas"))

    assert not info.value.retryable
    assert not isinstance(info.value, CredentialsError | DuplicateContentError)
    message = str(info.value)
    assert message.startswith("Facebook blocked the post as abusive or against its policies")
    assert "(#368)" in message and graph.errors[-1]["fbtrace_id"] in message


def test_invalid_parameter_is_permanent_with_graphs_message(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    message = raised(lambda: adapter.publish(publication("", link=None)), PermanentChannelError)

    assert message == (
        'Facebook refused the post: Facebook said "(#100) Missing message or attachment" '
        f"(fbtrace_id {graph.errors[-1]['fbtrace_id']})."
    )


# -- temporary trouble ---------------------------------------------------------------------------


def test_graph_transient_500_is_retryable(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    graph.fail_next(status=500)

    message = raised(lambda: adapter.publish(publication()), RetryableChannelError)

    assert "temporary problem" in message and "An unexpected error has occurred" in message


@pytest.mark.parametrize("status", [502, 503])
def test_5xx_without_graph_body_is_retryable(
    adapter: FacebookAdapter, graph: GraphEmulator, status: int
) -> None:
    graph.fail_next(status=status, body=b"<html>Bad gateway</html>")

    message = raised(adapter.check, RetryableChannelError)

    assert f"HTTP {status}" in message


def test_timeout_is_retryable(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    adapter = make_adapter(timeout=0.2)
    graph.fail_next(delay=0.6)

    message = raised(lambda: adapter.publish(publication()), RetryableChannelError)

    assert message == "127.0.0.1:{} did not answer within 0.2 s; will try again".format(
        graph.base_url.rsplit(":", 1)[1]
    )
    # Graph may still carry out a call it answered too late: the post goes out,
    # and the retry will meet "(#506) Duplicate status message".
    deadline = time.monotonic() + 3
    while not graph.posts_on() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(graph.posts_on()) == 1
    message = raised(lambda: adapter.publish(publication()), DuplicateContentError)


def test_dropped_connection_is_retryable(adapter: FacebookAdapter, graph: GraphEmulator) -> None:
    graph.fail_next(drop=True)

    raised(lambda: adapter.engagement([f"{PAGE_ID}_1"]), RetryableChannelError)


def test_unreachable_graph_is_retryable(make_adapter: Callable[..., FacebookAdapter]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = make_adapter(base_url=f"http://127.0.0.1:{port}")

    message = raised(adapter.check, RetryableChannelError)

    assert "could not connect to 127.0.0.1" in message


# -- rate limits and usage ----------------------------------------------------------------------


def test_page_rate_limit_uses_graphs_estimate_and_holds_off(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.rate_limit(32, minutes=17)

    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())

    assert "(#32) Page request limit reached" in str(info.value)
    assert info.value.retry_after is not None
    wait = info.value.retry_after - datetime.now(UTC)
    assert timedelta(minutes=16) < wait <= timedelta(minutes=17)
    assert adapter.usage_percent == 100

    # The next call waits for that too, without asking Graph.
    before = len(graph.requests)
    with pytest.raises(RetryableChannelError) as again:
        adapter.publish(publication())
    assert len(graph.requests) == before
    assert again.value.retry_after == info.value.retry_after


@pytest.mark.parametrize(("code", "minutes"), [(4, 60), (17, 60), (32, 15), (80001, 15)])
def test_rate_limit_defaults_when_graph_gives_no_estimate(
    adapter: FacebookAdapter, graph: GraphEmulator, code: int, minutes: int
) -> None:
    graph.set_usage(business=None)
    graph.rate_limit(code, count=1)

    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())

    assert info.value.retry_after is not None
    wait = info.value.retry_after - datetime.now(UTC)
    assert timedelta(minutes=minutes - 1) < wait <= timedelta(minutes=minutes)
    assert "will try again after" in str(info.value)
    whose = {4: "the Facebook app", 17: "the Facebook account"}.get(code, "this Page")
    assert str(info.value).startswith(f"Facebook is rate limiting {whose}")


def test_high_usage_slows_down_before_the_limit(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.set_usage(page=85)
    adapter.publish(publication())  # Graph answers, and says 85%
    assert adapter.usage_percent == 85
    before = len(graph.requests)

    message = raised(lambda: adapter.publish(publication("Një tjetër")), RetryableChannelError)
    with pytest.raises(RetryableChannelError) as info:
        adapter.engagement([f"{PAGE_ID}_1"])

    assert len(graph.requests) == before  # neither call reached Graph
    assert message.startswith("Facebook usage for this Page is at 85% of its limit; slowing down")
    assert info.value.retry_after is not None
    assert info.value.retry_after > datetime.now(UTC) + timedelta(minutes=4)

    # check still asks Graph, and a fresh low figure lifts the hold.
    graph.set_usage(page=20)
    adapter.check()
    assert adapter.usage_percent == 20
    adapter.publish(publication("Një tjetër"))


def test_slow_down_lasts_as_long_as_graph_estimates(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.set_usage(business=95, regain_minutes=25)
    adapter.check()

    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())

    assert "at 95% of its limit" in str(info.value)
    assert info.value.retry_after is not None
    wait = info.value.retry_after - datetime.now(UTC)
    assert timedelta(minutes=24) < wait <= timedelta(minutes=25)


def test_slow_down_threshold_is_an_option(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    adapter = make_adapter(slow_down_at_percent=90)
    graph.set_usage(app=85, page=70, business=60)

    adapter.publish(publication())
    adapter.publish(publication("Një tjetër"))

    assert adapter.usage_percent == 85
    assert len(graph.posts_on()) == 2


def test_a_hold_ends_so_one_call_can_refresh_the_figure() -> None:
    gauge = UsageGauge(slow_down_at=80, channel="fb-national")
    now = datetime(2025, 6, 10, 9, 30, tzinfo=UTC)
    gauge.record(
        {"X-App-Usage": '{"call_count": 88, "total_time": 10, "total_cputime": 5}'}, now=now
    )

    assert gauge.refuse(now=now + timedelta(minutes=1)) is not None
    assert gauge.refuse(now=now + timedelta(minutes=6)) is None


def test_usage_headers_are_read_whatever_their_shape() -> None:
    usage = read_usage(
        {
            "x-app-usage": '{"call_count": 12, "total_time": 30, "total_cputime": 4}',
            "X-Page-Usage": "not json",
            "X-Business-Use-Case-Usage": (
                '{"1122": [{"type": "pages", "call_count": 41, "total_cputime": 7, '
                '"total_time": 3, "estimated_time_to_regain_access": 0}]}'
            ),
        }
    )
    assert usage is not None
    assert (usage.percent, usage.header, usage.regain_minutes) == (
        41,
        "X-Business-Use-Case-Usage",
        0,
    )
    assert read_usage({"Content-Type": "application/json"}) is None


# -- the token stays out of URLs, messages and reprs ---------------------------------------------


def test_token_travels_in_the_authorization_header_only(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    external_id = adapter.publish(publication()).external_id
    adapter.publish(publication("Me foto", media=(picture(tmp_path, "takimi"),)))
    adapter.publish(
        publication("Me dy foto", media=(picture(tmp_path, "a"), picture(tmp_path, "b")))
    )
    adapter.check()
    adapter.engagement([external_id])
    adapter.delete(external_id)

    assert len(graph.requests) == 8  # a text post, a photo post, 2 uploads + a post, 3 more
    for request in graph.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in request.url
        assert TOKEN.encode() not in request.body
        assert "access_token" not in request.query
    assert TOKEN not in repr(adapter)


def test_emulator_accepts_the_token_as_graph_does(graph: GraphEmulator) -> None:
    with requests.Session() as session:
        by_query = session.get(
            f"{graph.base_url}/v24.0/{PAGE_ID}", params={"access_token": TOKEN}, timeout=5
        )
        by_header = session.get(
            f"{graph.base_url}/v24.0/{PAGE_ID}",
            headers={"Authorization": f"OAuth {TOKEN}"},
            timeout=5,
        )
        expired = session.get(f"{graph.base_url}/v24.0/{PAGE_ID}", timeout=5)
    assert by_query.json() == {"name": "Qendra Burimore", "id": PAGE_ID}
    assert by_header.json() == {"name": "Qendra Burimore", "id": PAGE_ID}
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == 2500
    assert "X-Business-Use-Case-Usage" in by_query.headers


def test_missing_secret_is_a_config_error() -> None:
    channel = Channel(
        name="fb-national",
        kind="facebook",
        post_kind="facebook",
        enabled=True,
        language=None,
        tz=parse_channels({}, source="<defaults>").channels[0].tz,
        slots=(),
        hashtags=(),
        template=None,
        secrets={},
        options={"page_id": PAGE_ID},
    )
    with pytest.raises(ConfigError, match="page_access_token secret is not set"):
        FacebookAdapter(channel)


# -- finding a post that may have gone out ------------------------------------------------------


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def feed_calls(graph: GraphEmulator) -> list[Any]:
    return [r for r in graph.requests if r.method == "GET" and r.path.endswith("/feed")]


def test_find_published_finds_the_post_it_published(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    post = publication("Thirrje për projekte: https://qbsc.example.org/thirrje")
    published = adapter.publish(post)

    assert adapter.find_published(post, minutes_ago(1)) == published

    [call] = feed_calls(graph)
    assert call.path == f"/v24.0/{PAGE_ID}/feed"
    assert call.arg("fields") == "id,message,created_time,permalink_url"
    assert call.arg("limit") == "100"
    since = int(str(call.arg("since")))
    assert abs(since - (time.time() - 180)) < 5  # since, less the clock-skew margin
    assert call.arg("access_token") is None
    assert call.headers["authorization"] == f"Bearer {TOKEN}"


def test_find_published_finds_a_photo_post(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    post = publication("Posteri i thirrjes", media=(picture(tmp_path, "poster"),))
    published = adapter.publish(post)
    assert adapter.find_published(post, minutes_ago(1)) == published


def test_find_published_evens_out_whitespace_and_unicode_forms(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    seeded = graph.seed_post("Thirrje  për projekte:\nafati 30 qershor ", age_seconds=30)
    found = adapter.find_published(
        publication("Thirrje pe\u0308r projekte: afati 30 qershor"), minutes_ago(5)
    )
    assert found is not None and found.external_id == seeded.id


def test_find_published_takes_a_message_without_the_link(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    link = "https://qbsc.example.org/thirrje"
    seeded = graph.seed_post("Thirrje për projekte", link=link, age_seconds=30)
    found = adapter.find_published(
        publication(f"Thirrje për projekte {link}", link=link), minutes_ago(5)
    )
    assert found is not None and found.external_id == seeded.id


def test_find_published_is_none_for_another_text(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    adapter.publish(publication("Thirrje për projekte: afati 30 qershor"))
    assert (
        adapter.find_published(publication("Thirrje për projekte: afati 31 korrik"), minutes_ago(1))
        is None
    )


def test_find_published_ignores_posts_from_before_since(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.seed_post("Buletini javor", age_seconds=3600)
    assert adapter.find_published(publication("Buletini javor"), minutes_ago(10)) is None
    assert adapter.find_published(publication("Buletini javor"), minutes_ago(90)) is not None


def test_find_published_pages_through_the_feed_without_the_token_in_urls(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    wanted = graph.seed_post("Postimi që kërkojmë", age_seconds=900)
    for i in range(150):
        graph.seed_post(f"Lajm i mëvonshëm {i}", age_seconds=800 - i)

    found = adapter.find_published(publication("Postimi që kërkojmë"), minutes_ago(20))

    assert found is not None and found.external_id == wanted.id
    first, second = feed_calls(graph)
    assert first.arg("after") is None and second.arg("after")
    assert second.arg("since") == first.arg("since")
    assert second.arg("fields") == "id,message,created_time,permalink_url"
    assert second.arg("access_token") is None  # Graph's "next" link held it; it was dropped
    assert TOKEN not in second.url
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


def test_find_published_cannot_tell_past_its_page_limit(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    for i in range(501):
        graph.seed_post(f"Ditë e ngarkuar {i}", age_seconds=600 - i)
    message = raised(
        lambda: adapter.find_published(publication("Nuk është këtu"), minutes_ago(15)),
        PermanentChannelError,
    )
    assert "more than 500 posts" in message
    assert len(feed_calls(graph)) == 5


def test_find_published_without_text_cannot_tell(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    message = raised(
        lambda: adapter.find_published(publication("  "), minutes_ago(1)), PermanentChannelError
    )
    assert "no text" in message
    assert graph.requests == []


def test_a_graph_failure_while_looking_is_retryable(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.fail_next(status=500)
    with pytest.raises(RetryableChannelError) as info:
        adapter.find_published(publication(), minutes_ago(1))
    assert "temporary problem with the search for the post" in str(info.value)
    assert info.value.reached is True


def test_a_rate_limit_while_looking_is_retryable_and_not_reached(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.rate_limit(32, minutes=17, count=1)
    with pytest.raises(RetryableChannelError) as info:
        adapter.find_published(publication(), minutes_ago(1))
    assert info.value.reached is False
    assert info.value.retry_after is not None


def test_the_emulator_feed_behaves_like_graph(graph: GraphEmulator) -> None:
    old = graph.seed_post("E vjetër", age_seconds=7200)
    posts = [graph.seed_post(f"E re {i}", age_seconds=60 - i) for i in range(3)]
    url = f"{graph.base_url}/v24.0/{PAGE_ID}/feed"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with requests.Session() as session:
        since = str(int(time.time()) - 3600)
        page = session.get(url, params={"since": since, "limit": "2"}, headers=auth, timeout=5)
        following = session.get(page.json()["paging"]["next"], timeout=5).json()
        everything = session.get(url, headers=auth, timeout=5).json()
        too_many = session.get(url, params={"limit": "101"}, headers=auth, timeout=5)
        wrong_page = session.get(f"{graph.base_url}/v24.0/999999999/feed", headers=auth, timeout=5)
    body = page.json()
    assert [p["id"] for p in body["data"]] == [posts[2].id, posts[1].id]
    assert set(body["data"][0]) == {"id", "message", "created_time"}
    assert set(body["paging"]["cursors"]) == {"before", "after"}
    assert f"access_token={TOKEN}" in body["paging"]["next"]
    assert [p["id"] for p in following["data"]] == [posts[0].id]
    assert "next" not in following["paging"]
    assert [p["id"] for p in everything["data"]] == [p.id for p in reversed(posts)] + [old.id]
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == 100
    assert wrong_page.json()["error"]["error_subcode"] == 33


# -- whether a failed request may have reached Facebook -----------------------------------------


def test_a_rate_limit_answer_did_not_reach_the_page(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.rate_limit(4, count=1)
    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())
    assert info.value.reached is False


def test_a_429_without_a_graph_body_did_not_reach_the_page(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.fail_next(status=429, body=b"Too Many Requests")
    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())
    assert info.value.reached is False


def test_a_hold_for_high_usage_did_not_reach_graph(
    adapter: FacebookAdapter, graph: GraphEmulator
) -> None:
    graph.set_usage(page=90)
    adapter.check()
    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())
    assert info.value.reached is False


@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 502, "body": b"<html>Bad gateway</html>"}, {"drop": True}],
    ids=["graph-500", "proxy-502", "dropped"],
)
def test_a_5xx_or_a_broken_connection_may_have_reached_the_page(
    adapter: FacebookAdapter, graph: GraphEmulator, fault: dict[str, Any]
) -> None:
    graph.fail_next(**fault)
    with pytest.raises(RetryableChannelError) as info:
        adapter.publish(publication())
    assert info.value.reached is True


def test_a_read_timeout_may_have_reached_the_page(
    make_adapter: Callable[..., FacebookAdapter], graph: GraphEmulator
) -> None:
    graph.fail_next(delay=0.5, drop=True)
    with pytest.raises(RetryableChannelError) as info:
        make_adapter(timeout=0.2).publish(publication())
    assert info.value.reached is True


def test_a_refused_connection_did_not_reach_the_page(
    make_adapter: Callable[..., FacebookAdapter],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableChannelError) as info:
        make_adapter(base_url=f"http://127.0.0.1:{port}").publish(publication())
    assert info.value.reached is False

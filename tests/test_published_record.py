"""What a published post's record says: the exact text, link and parts that went
out, which article a social post links to, times that cannot be in the past,
and messages that do not contradict themselves (issue 12, items 7, 10, 11, 14)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulators.x import XEmulator
from visibility.adapters.dry_run import outbox_path
from visibility.adapters.twitter import TwitterAdapter
from visibility.config.channels import parse_channels
from visibility.config.settings import load_settings
from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import ConfigError, RetryableChannelError, UserError
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.workflow import Visibility

NEWS = (
    "Qendra nis trajnime për organizatat\n\n"
    "Prishtinë, 3 dhjetor 2026 – Qendra Burimore fton organizatat e shoqërisë civile "
    "në trajnime falas për shkrimin e projekteve, në Prishtinë dhe Prizren.\n"
)


def _open(tmp_path: Path, channels: str) -> Visibility:
    path = tmp_path / "channels.toml"
    path.write_text(channels, encoding="utf-8")
    return Visibility.open(load_settings(channels_file=path))


TWO_SITES = """
[[channels]]
name = "site-main"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "site-network"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "fb"
kind = "dry-run"
imitates = "facebook"
{fb_extra}

[[channels]]
name = "x"
kind = "dry-run"
imitates = "twitter"
"""


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[Visibility]:
    app = _open(tmp_path, TWO_SITES.format(fb_extra='link_from = "site-network"'))
    yield app
    app.close()


def _by_channel(app: Visibility, news_id: int) -> dict[str, int]:
    return {p.channel: p.id for p in app.store.list_posts(news_item_id=news_id)}


def _publish_all(app: Visibility, ids: list[int]) -> None:
    for post_id in ids:
        app.approve(post_id, by="Ardita")
        app.schedule(post_id, mode="now")
    publisher = Publisher(app.store, build_adapters(app), worker="w", platform_cap=None)
    try:
        while publisher.run_due().published:
            pass
    finally:
        publisher.close()


# -- 10. which article a social post links to ---------------------------------


def test_a_social_post_links_to_the_website_its_channel_names(two_sites: Visibility) -> None:
    added = two_sites.add_news_text(NEWS)
    posts = _by_channel(two_sites, added.news.id)
    fb, x = (two_sites.store.get_post(posts[n]) for n in ("fb", "x"))
    assert fb.link_post_id == posts["site-network"]
    # Unset: the first website channel in the file's order.
    assert x.link_post_id == posts["site-main"]


def test_a_social_post_goes_out_once_its_own_article_is_published(
    two_sites: Visibility,
) -> None:
    added = two_sites.add_news_text(NEWS)
    posts = _by_channel(two_sites, added.news.id)
    # Only the network site's article is published; the main site's stays a draft.
    _publish_all(two_sites, [posts["site-network"], posts["fb"]])
    fb = two_sites.store.get_post(posts["fb"])
    article = two_sites.store.get_post(posts["site-network"])
    assert fb.status is PostStatus.PUBLISHED
    assert fb.sent is not None and article.external_url is not None
    assert article.external_url in fb.sent.body


def test_link_from_must_name_a_website_channel() -> None:
    channels = {
        "channels": [
            {"name": "site", "kind": "dry-run", "imitates": "website"},
            {"name": "fb", "kind": "dry-run", "imitates": "facebook", "link_from": "x"},
            {"name": "x", "kind": "dry-run", "imitates": "twitter"},
        ]
    }
    with pytest.raises(ConfigError, match=r"channels\[1\]\.link_from: 'x' is not a website"):
        parse_channels(channels, source="<test>")


def test_posts_show_names_the_article_a_post_links_to(
    two_sites: Visibility, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from visibility.cli.app import main

    added = two_sites.add_news_text(NEWS)
    posts = _by_channel(two_sites, added.news.id)
    monkeypatch.setenv("VISIBILITY_CHANNELS_FILE", str(two_sites.config.source))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr("sys.argv", ["visibility", "posts", "show", str(posts["fb"])])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert f"the article on site-network (post {posts['site-network']}, draft)" in shown


# -- 11. the record of what went out --------------------------------------------


def test_the_record_keeps_the_text_sent_and_the_template_apart(two_sites: Visibility) -> None:
    added = two_sites.add_news_text(NEWS)
    posts = _by_channel(two_sites, added.news.id)
    _publish_all(two_sites, [posts["site-main"], posts["x"]])
    article = two_sites.store.get_post(posts["site-main"])
    tweet = two_sites.store.get_post(posts["x"])
    assert tweet.status is PostStatus.PUBLISHED and tweet.sent is not None
    assert LINK_PLACEHOLDER in tweet.body  # the template stays as written
    assert LINK_PLACEHOLDER not in tweet.sent.body
    assert tweet.sent.link == article.external_url
    assert tweet.sent.body == tweet.body.replace(LINK_PLACEHOLDER, article.external_url or "")
    # The dry-run outbox holds what the adapter was given: the same text.
    outbox = outbox_path(two_sites.settings.data_dir, "x").read_text(encoding="utf-8")
    bodies = [json.loads(line).get("body") for line in outbox.splitlines()]
    assert bodies == [tweet.sent.body]
    # The API's and --json's record carry it too.
    record = tweet.to_dict()
    assert record["sent"]["body"] == tweet.sent.body
    assert record["body"] == tweet.body
    assert article.sent is not None and article.sent.title == article.title


def test_a_post_not_published_has_no_sent_record(two_sites: Visibility) -> None:
    added = two_sites.add_news_text(NEWS)
    post = two_sites.store.get_post(_by_channel(two_sites, added.news.id)["fb"])
    assert post.sent is None and post.to_dict()["sent"] is None


@pytest.fixture
def x() -> Iterator[XEmulator]:
    with XEmulator() as emulator:
        yield emulator


def test_an_x_thread_is_recorded_tweet_by_tweet(
    x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = x.account
    for name, value in {
        "X_KEY": x.consumer_key,
        "X_SECRET": x.consumer_secret,
        "X_TOKEN": account.access_token,
        "X_TOKEN_SECRET": account.access_token_secret,
    }.items():
        monkeypatch.setenv(name, value)
    app = _open(
        tmp_path,
        f"""
[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "X_KEY"
secrets.api_secret = "X_SECRET"
secrets.access_token = "X_TOKEN"
secrets.access_token_secret = "X_TOKEN_SECRET"
options = {{ base_url = "{x.base_url}", thread = true }}
""",
    )
    try:
        added = app.add_news_text(NEWS)
        (post,) = added.posts
        long_text = " ".join(f"Fjalia numër {n} e njoftimit për trajnimet." for n in range(12))
        app.edit(post.id, body=long_text)
        app.approve(post.id, by="Ardita")
        app.schedule(post.id, mode="now")
        adapter = TwitterAdapter(app.config.channel("x"))
        publisher = Publisher(app.store, {"x": adapter}, worker="w", platform_cap=None)
        try:
            while publisher.run_due().published:
                pass
        finally:
            publisher.close()
        done = app.store.get_post(post.id)
        assert done.status is PostStatus.PUBLISHED and done.sent is not None
        posted = [t.text for t in x.tweets[account.username]]
        assert len(posted) > 1
        assert list(done.sent.parts) == posted
        assert done.sent.body == long_text
    finally:
        app.close()


# -- 7. no schedule in the past ---------------------------------------------------


def test_a_time_long_past_is_refused_and_a_moment_ago_is_not(two_sites: Visibility) -> None:
    added = two_sites.add_news_text(NEWS)
    post_id = _by_channel(two_sites, added.news.id)["site-main"]
    two_sites.approve(post_id, by="Ardita")
    with pytest.raises(UserError, match=r"1970-01-01 01:00 \(Europe/Belgrade\) has passed.*--now"):
        two_sites.schedule(post_id, at="1970-01-01 01:00")
    assert two_sites.store.get_post(post_id).status is PostStatus.APPROVED
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    done = two_sites.schedule(post_id, at=a_minute_ago)
    assert done.status is PostStatus.SCHEDULED


# -- 14. a post in doubt does not promise a retry ------------------------------------


def test_an_in_doubt_reason_says_no_more_tries(two_sites: Visibility) -> None:
    added = two_sites.add_news_text(NEWS)
    post_id = _by_channel(two_sites, added.news.id)["site-main"]
    two_sites.approve(post_id, by="Ardita")
    two_sites.schedule(post_id, mode="now")

    class Unreachable:
        channel = "site-main"
        engagement_batch = 1

        def publish(self, publication: object) -> object:
            raise RetryableChannelError("the site answered HTTP 503; will try again")

        def find_published(self, publication: object, since: datetime) -> object:
            raise RetryableChannelError("the site answered HTTP 503; will try again")

        def close(self) -> None:
            pass

    clock = [datetime.now(UTC)]
    publisher = Publisher(
        two_sites.store,
        {"site-main": Unreachable()},  # type: ignore[dict-item]
        worker="w",
        platform_cap=None,
        clock=lambda: clock[0],
    )
    try:
        for _ in range(20):
            publisher.run_due()
            post = two_sites.store.get_post(post_id)
            if post.status is PostStatus.IN_DOUBT:
                break
            clock[0] += timedelta(hours=2)
        assert post.status is PostStatus.IN_DOUBT
        assert post.last_error is not None
        assert "will try again" not in post.last_error
        assert "posts confirm" in post.last_error and "HTTP 503" in post.last_error
    finally:
        publisher.close()

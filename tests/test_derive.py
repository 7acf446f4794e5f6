"""Derivation of drafts per channel from templates, and the channel limits on approval."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from visibility.config.channels import AppConfig, OrganisationConfig, load_channels, parse_channels
from visibility.derive import LINK_PLACEHOLDER
from visibility.derive.limits import check_post, measure_tweet
from visibility.derive.render import derive_posts
from visibility.errors import ConfigError, ValidationError
from visibility.news.model import ParsedNews
from visibility.news.parse import read_news_file
from visibility.text.tweet import weighted_length

SAMPLES = Path(__file__).resolve().parents[1] / "visibility" / "samples"


@pytest.fixture(scope="module")
def sample() -> ParsedNews:
    return read_news_file(SAMPLES / "lajm-qendra-burimore-sq.txt", max_bytes=1_000_000)


def config(**org: object) -> AppConfig:
    return parse_channels({"organisation": org} if org else {}, source="<test>", secret_dirs=())


def test_one_draft_per_channel_with_the_article_link_placeholder(sample: ParsedNews) -> None:
    cfg = config()
    website, facebook, twitter = derive_posts(sample, cfg.channels, cfg.organisation)
    assert (website.kind, facebook.kind, twitter.kind) == ("website", "facebook", "twitter")
    # Sentence case on the website too: staff keep the capitals with one edit.
    assert sample.title.isupper() and website.title == sample.social_title
    assert website.body.startswith(sample.body_html[:40])
    assert website.excerpt and len(website.excerpt) <= 300
    assert not website.links_to_article
    for social in (facebook, twitter):
        assert social.links_to_article
        assert LINK_PLACEHOLDER in social.body
        assert social.body.startswith(sample.social_title)  # sentence case on social
    assert sample.lead[:60] in facebook.body


def test_the_tweet_is_shortened_at_a_word_boundary_to_fit(sample: ParsedNews) -> None:
    cfg = config()
    tweet = derive_posts(sample, cfg.channels, cfg.organisation)[2].body
    assert measure_tweet(tweet) <= 280
    assert measure_tweet(tweet) >= 250  # it used the room it had
    text = tweet.split("\n\n" + LINK_PLACEHOLDER)[0]
    last_word = text.rstrip("…").split()[-1]
    assert last_word in sample.lead.split() or last_word + "," in sample.lead.split()
    # With a real URL in place of the placeholder it still fits.
    assert (
        weighted_length(tweet.replace(LINK_PLACEHOLDER, "https://qbsc.example.org/" + "a" * 80))
        <= 280
    )


def test_hashtags_and_funding_disclaimer(sample: ParsedNews) -> None:
    cfg = config(
        hashtags=["#ShoqëriaCivile", "#BE"],
        funding_disclaimer="Ky publikim u realizua me mbështetjen e Bashkimit Evropian.",
    )
    website, facebook, twitter = derive_posts(sample, cfg.channels, cfg.organisation)
    assert "<em>Ky publikim u realizua me mbështetjen e Bashkimit Evropian.</em>" in website.body
    assert facebook.body.endswith("#ShoqëriaCivile #BE")
    assert twitter.body.endswith(f"{LINK_PLACEHOLDER} #ShoqëriaCivile #BE")
    assert measure_tweet(twitter.body) <= 280


def test_a_known_canonical_url_is_used_directly(sample: ParsedNews) -> None:
    cfg = config()
    url = "https://qbsc.example.org/lajme/trajnime-falas"
    drafts = derive_posts(replace(sample, canonical_url=url), cfg.channels, cfg.organisation)
    for social in drafts[1:]:
        assert url in social.body and LINK_PLACEHOLDER not in social.body
        assert not social.links_to_article and social.link_url == url


def test_without_a_website_channel_or_url_posts_carry_no_link(sample: ParsedNews) -> None:
    cfg = config()
    social_only = [c for c in cfg.channels if c.post_kind != "website"]
    drafts = derive_posts(sample, social_only, cfg.organisation)
    assert [d.kind for d in drafts] == ["facebook", "twitter"]
    assert all(LINK_PLACEHOLDER not in d.body and not d.links_to_article for d in drafts)


def test_channels_take_only_their_language(sample: ParsedNews) -> None:
    cfg = parse_channels(
        {
            "channels": [
                {"name": "x-sq", "kind": "dry-run", "imitates": "twitter", "language": "sq"},
                {"name": "x-sr", "kind": "dry-run", "imitates": "twitter", "language": "sr"},
                {"name": "x-any", "kind": "dry-run", "imitates": "twitter"},
                {"name": "off", "kind": "dry-run", "imitates": "twitter", "enabled": False},
            ]
        },
        source="<test>",
    )
    drafts = derive_posts(sample, cfg.channels, cfg.organisation)
    assert [d.channel for d in drafts] == ["x-sq", "x-any"]


def test_a_channel_template_overrides_the_built_in_one(sample: ParsedNews, tmp_path: Path) -> None:
    (tmp_path / "tweet.j2").write_text(
        "{{ fit(lead) }} {{ link }} #{{ dateline_place }}", encoding="utf-8"
    )
    (tmp_path / "channels.toml").write_text(
        '[[channels]]\nname = "website"\nkind = "dry-run"\nimitates = "website"\n'
        '[[channels]]\nname = "x"\nkind = "dry-run"\nimitates = "twitter"\n'
        'template = "tweet.j2"\n',
        encoding="utf-8",
    )
    cfg = load_channels(tmp_path / "channels.toml")
    tweet = derive_posts(sample, cfg.channels, cfg.organisation)[1].body
    assert tweet.endswith(f"{LINK_PLACEHOLDER} #Prishtinë")
    assert tweet.startswith(sample.lead[:30])
    assert measure_tweet(tweet) <= 280


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ fit(lead) }} {% if %}", "has an error on line 1"),
        ("{{ no_such_field }}", "cannot be rendered"),
        ("{{ fit(lead) }} {{ fit(title) }}", "calls fit() more than once"),
        ("{{ lead.__class__.__mro__ }}", "cannot be rendered"),
    ],
)
def test_broken_templates_are_reported_with_the_channel(
    sample: ParsedNews, tmp_path: Path, template: str, message: str
) -> None:
    (tmp_path / "t.j2").write_text(template, encoding="utf-8")
    (tmp_path / "channels.toml").write_text(
        '[[channels]]\nname = "x"\nkind = "dry-run"\nimitates = "twitter"\ntemplate = "t.j2"\n',
        encoding="utf-8",
    )
    cfg = load_channels(tmp_path / "channels.toml")
    with pytest.raises(ConfigError, match="channel 'x'") as info:
        derive_posts(sample, cfg.channels, OrganisationConfig())
    assert message in str(info.value)


def test_check_post_measures_tweets_with_links_as_23() -> None:
    body = "x" * 256 + " " + LINK_PLACEHOLDER
    check_post(post_id=1, kind="twitter", body=body, title=None, required_link=LINK_PLACEHOLDER)
    with pytest.raises(ValidationError) as info:
        check_post(
            post_id=1, kind="twitter", body="x" + body, title=None, required_link=LINK_PLACEHOLDER
        )
    assert "281 weighted characters; X allows 280" in str(info.value)
    assert "shorten it by 1" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "body", "title", "link", "message"),
    [
        ("twitter", "  ", None, None, "the text is empty"),
        ("website", "<p>x</p>", "", None, "the article has no title"),
        ("website", "<p>x</p>", "T" * 301, None, "keep it to 300"),
        ("facebook", "y" * 63_207, None, None, "Facebook allows 63206"),
        ("facebook", "no link here", None, LINK_PLACEHOLDER, "lost the {link} placeholder"),
        ("twitter", "no link", None, "https://a.example.org/x", "lost its link https://a."),
    ],
)
def test_check_post_refusals(
    kind: str, body: str, title: str | None, link: str | None, message: str
) -> None:
    with pytest.raises(ValidationError, match="post 7 cannot be approved") as info:
        check_post(post_id=7, kind=kind, body=body, title=title, required_link=link)
    assert message in str(info.value)


def test_a_thread_channel_takes_long_tweets() -> None:
    body = "fjalë " * 80 + LINK_PLACEHOLDER
    with pytest.raises(ValidationError, match="X allows 280"):
        check_post(post_id=1, kind="twitter", body=body, title=None, required_link=None)
    check_post(post_id=1, kind="twitter", body=body, title=None, required_link=None, thread=True)


def test_hashtags_and_name_per_language_and_script(sample: ParsedNews) -> None:
    cfg = config(
        name="Qendra Burimore",
        hashtags=["#ShoqëriaCivile"],
        hashtags_by_language={"sr": ["#CivilnoDruštvo"], "sr-Cyrl": ["#ЦивилноДруштво"]},
        name_by_language={"sr": "Resursni centar"},
    )
    latin = replace(sample, language="sr", title="Poziv", social_title="Poziv", lead="Vest.")
    cyrillic = replace(sample, language="sr", title="Позив", social_title="Позив", lead="Вест.")
    for news, tag in (
        (sample, "#ShoqëriaCivile"),
        (latin, "#CivilnoDruštvo"),
        (cyrillic, "#ЦивилноДруштво"),
    ):
        facebook = derive_posts(news, cfg.channels, cfg.organisation)[1]
        assert facebook.body.endswith(tag), (news.language, facebook.body[-40:])
    assert cfg.organisation.name_in("sr-Cyrl") == "Resursni centar"
    assert cfg.organisation.name_in("sq") == "Qendra Burimore"


def test_a_language_key_that_is_not_a_language_is_refused() -> None:
    with pytest.raises(ConfigError, match="'serbian' is not a language"):
        config(hashtags_by_language={"serbian": ["#x"]})

"""Grants: declared in the channels file, suggested from a press release's funding
paragraph, added by derivation, checked on every post, and overridden only with
a reason. Over SQLite and PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

import visibility
from visibility.config.channels import load_channels
from visibility.config.settings import load_settings
from visibility.errors import ConfigError, UserError, ValidationError
from visibility.grants.compliance import fold
from visibility.grants.model import Grant
from visibility.queue.states import PostStatus
from visibility.queue.views import PostView
from visibility.text.tweet import weighted_length
from visibility.workflow import Visibility

SAMPLES = Path(visibility.__file__).parent / "samples"
SAMPLE_SQ = SAMPLES / "lajm-qendra-burimore-sq.txt"
SAMPLE_SR = SAMPLES / "vest-sr-latn.md"

CHANNELS = """
[[channels]]
name = "website"
kind = "dry-run"
imitates = "website"

[[channels]]
name = "facebook"
kind = "dry-run"
imitates = "facebook"

[[channels]]
name = "twitter"
kind = "dry-run"
imitates = "twitter"
"""

EU_GRANT = """
[[grants]]
name = "eu-2025"
donor = "eu"
title = "Civil society for good governance"
contract = "2025/451-778"
starts_on = 2025-01-01
ends_on = 2037-12-31
mentions = { twitter = ["@EUinKosovo"], facebook = ["@EUinKosovo"] }
hashtags = { twitter = ["#EU4Kosovo"] }
"""

SWISS_GRANT = """
[[grants]]
name = "ch-youth"
donor = "custom"
donor_name = "Swiss Agency for Development and Cooperation"
title = "Youth participation"
starts_on = 2025-06-01
ends_on = 2037-05-31
hashtags = { twitter = ["#SwissSupport"], facebook = ["#SwissSupport"] }
require = { twitter = [["hashtag"]], facebook = [["hashtag"]] }
recognise = ["swiss agency for development"]
"""

# A Serbian Cyrillic press release in the form users have: dateline, lead,
# body, the funding paragraph last.
CYRILLIC = """Позив организацијама цивилног друштва за обуку о заговарању

4. децембар 2037, Митровица – Ресурсни центар за цивилно друштво позива \
организације цивилног друштва из северних општина да се пријаве за тродневну \
обуку о заговарању и праћењу локалних политика, која почиње у јануару.

Обука је бесплатна и намењена је малим организацијама које раде са младима, \
женама и особама са инвалидитетом. Пријаве се примају до краја децембра.

Ову активност финансира Европска унија кроз програм подршке цивилном друштву.
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return path


def open_app(engine: Engine, tmp_path: Path, toml: str) -> Visibility:
    settings = load_settings(data_dir=tmp_path / "data", channels_file=write(tmp_path, toml))
    config = load_channels(settings.resolved_channels_file)
    app = Visibility(settings, config, engine)
    app.store.sync_channels(config.channels)
    app.sync_grants()
    return app


@pytest.fixture
def app(engine: Engine, tmp_path: Path) -> Iterator[Visibility]:
    yield open_app(engine, tmp_path, CHANNELS + EU_GRANT + SWISS_GRANT)


def by_kind(posts: list[PostView]) -> dict[str, PostView]:
    return {p.kind: p for p in posts}


# -- the bar: a press release naming the EU -------------------------------


def test_press_release_naming_the_eu_is_suggested_the_grant(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ)
    assert [s.grant for s in added.suggested] == ["eu-2025"]
    assert "bashkimi evropian" in added.suggested[0].phrase
    # Only suggested: nothing was added to the posts.
    posts = by_kind(added.posts)
    assert "Financuar nga Bashkimi Evropian" not in posts["website"].body
    assert "@EUinKosovo" not in posts["twitter"].body
    assert app.store.news_grant_names([added.news.id]) == {}


def test_with_the_grant_every_post_carries_what_the_eu_requires(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025"])
    assert added.suggested == ()
    posts = by_kind(added.posts)
    article = posts["website"].body
    # The statement and the disclaimer end the article, in Albanian.
    assert article.index("Financuar nga Bashkimi Evropian") > article.index("</p>")
    assert article.rstrip().endswith("mbahen përgjegjës për to.</em></p>")
    # The emblem is the article's picture, described in Albanian; no social post takes it.
    pictures = app.store.post_images([p.id for p in added.posts])
    emblem = app.store.grant("eu-2025").emblem_sha256
    assert [(i.sha256, i.role) for i in pictures[posts["website"].id]] == [(emblem, "emblem")]
    assert pictures[posts["website"].id][0].alt.startswith("Flamuri i Bashkimit Evropian")
    assert not pictures.get(posts["twitter"].id)
    tweet = posts["twitter"].body
    assert "@EUinKosovo" in tweet
    assert weighted_length(tweet.replace("{link}", "https://example.org/a")) <= 280
    assert "Financuar nga Bashkimi Evropian" in posts["facebook"].body
    for post in added.posts:
        assert app.compliance(post).status == "compliant", post.kind
    # Approval goes through for all of them.
    for post in added.posts:
        app.approve(post.id, by="approver")


@pytest.mark.parametrize(
    ("text", "statement", "disclaimer_start"),
    [
        (CYRILLIC, "Финансира Европска унија", "Изнети ставови"),
        (SAMPLE_SR.read_text(encoding="utf-8"), "Finansira Evropska unija", "Izneti stavovi"),
    ],
    ids=["sr-Cyrl", "sr-Latn"],
)
def test_serbian_items_get_the_texts_in_their_script(
    app: Visibility, text: str, statement: str, disclaimer_start: str
) -> None:
    added = app.add_news_text(text, language="sr", grants=["eu-2025"], fmt=None)
    posts = by_kind(added.posts)
    assert statement in posts["website"].body
    assert disclaimer_start in posts["website"].body
    assert statement in posts["facebook"].body
    assert all(app.compliance(p).status == "compliant" for p in added.posts)


def test_cyrillic_funding_paragraph_suggests_the_grant(app: Visibility) -> None:
    added = app.add_news_text(CYRILLIC, language="sr", fmt=None)
    assert [s.grant for s in added.suggested] == ["eu-2025"]


def test_a_long_tweet_is_shortened_never_the_mention(app: Visibility) -> None:
    long_lead = " ".join(["Organizatat e shoqërisë civile mësojnë për raportimin financiar."] * 12)
    text = f"Trajnime për OShC-të\n\n{long_lead}\n\nKy aktivitet financohet nga Bashkimi Evropian."
    added = app.add_news_text(text, language="sq", grants=["eu-2025"])
    tweet = by_kind(added.posts)["twitter"].body
    assert tweet.rstrip().endswith("@EUinKosovo")
    assert long_lead not in tweet  # the lead was shortened to make room
    assert weighted_length(tweet.replace("{link}", "https://example.org/a")) <= 280


def test_an_item_under_two_grants_carries_both(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025", "ch-youth"])
    tweet = by_kind(added.posts)["twitter"].body
    assert "@EUinKosovo" in tweet and "#SwissSupport" in tweet
    compliance = app.compliance(by_kind(added.posts)["twitter"])
    assert [c.grant for c in compliance.checks] == ["eu-2025", "ch-youth"]
    assert compliance.status == "compliant"


# -- compliance on edit and approval --------------------------------------


def test_a_post_edited_to_drop_the_mention_needs_an_override(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025"])
    tweet = by_kind(added.posts)["twitter"]
    edited = app.edit(tweet.id, body="Trajnime falas për OShC-të {link}", by="editor")
    compliance = app.compliance(edited)
    assert compliance.status == "missing"
    assert compliance.missing[0].needed == "the mention @EUinKosovo or the hashtag #EU4Kosovo"
    with pytest.raises(ValidationError) as refused:
        app.approve(tweet.id, by="approver")
    assert "@EUinKosovo" in str(refused.value) and "--override" in str(refused.value)
    assert app.store.get_post(tweet.id).status is PostStatus.DRAFT
    with pytest.raises(UserError, match="empty"):
        app.approve(tweet.id, by="approver", override="   ")
    approved = app.approve(tweet.id, by="approver", override="Agreed with the EU Office by mail")
    assert approved.status is PostStatus.APPROVED
    assert approved.override_reason == "Agreed with the EU Office by mail"
    assert approved.override_by == "approver"
    assert app.compliance(approved).status == "overridden"
    audit = [e for e in app.accounts.audit_log() if e.action == "post.override"]
    assert len(audit) == 1
    assert "Agreed with the EU Office by mail" in (audit[0].detail or "")
    assert "@EUinKosovo" in (audit[0].detail or "")
    # A new edit clears the exception: it was given for the text that stood.
    again = app.edit(tweet.id, body="Trajnime falas {link}", by="editor")
    assert again.override_reason is None
    assert app.compliance(again).status == "missing"


def test_an_override_is_refused_when_nothing_is_missing(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025"])
    with pytest.raises(UserError, match="without an override"):
        app.approve(by_kind(added.posts)["twitter"].id, by="approver", override="just because")


def test_a_hashtag_meets_the_x_rule_and_a_longer_handle_does_not(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025"])
    tweet = by_kind(added.posts)["twitter"]
    with_tag = app.edit(tweet.id, body="Trajnime {link} #eu4kosovo", by="e")
    assert app.compliance(with_tag).status == "compliant"
    other = app.edit(tweet.id, body="Trajnime {link} @EUinKosovoNews", by="e")
    assert app.compliance(other).status == "missing"


def test_items_without_grants_have_no_rules(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ)
    assert {app.compliance(p).status for p in added.posts} == {"no_rules"}


# -- putting an item under a grant later ----------------------------------


def test_adding_the_grant_later_completes_the_drafts(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ)
    posts = by_kind(added.posts)
    app.edit(posts["facebook"].id, body="Trajnime falas, shihni {link}", by="editor")
    app.approve(posts["website"].id, by="approver")
    assert app.add_grants(added.news.id, ["eu-2025"], by="editor") == ["eu-2025"]
    now = by_kind(app.store.list_posts(news_item_id=added.news.id))
    # The untouched tweet is derived again: shortened anew, mention kept.
    assert "@EUinKosovo" in now["twitter"].body
    assert weighted_length(now["twitter"].body.replace("{link}", "https://e.org/")) <= 280
    # The edited post keeps its words and gains the statement at its end.
    assert now["facebook"].body.startswith("Trajnime falas, shihni {link}")
    assert now["facebook"].body.endswith("Financuar nga Bashkimi Evropian")
    # The approved article keeps what was approved; its compliance says what it lacks.
    assert now["website"].status is PostStatus.APPROVED
    assert now["website"].body == posts["website"].body
    assert app.compliance(now["website"]).status == "missing"
    # Adding it again changes nothing.
    assert app.add_grants(added.news.id, ["eu-2025"], by="editor") == []


def test_unknown_grant_is_refused_and_nothing_is_added(app: Visibility) -> None:
    with pytest.raises(UserError, match=r"no grant named 'eu-2024'.*eu-2025"):
        app.add_news_file(SAMPLE_SQ, grants=["eu-2024"])
    assert app.store.list_news() == []


def test_removing_a_grant(app: Visibility) -> None:
    added = app.add_news_file(SAMPLE_SQ, grants=["eu-2025"])
    app.remove_grant(added.news.id, "eu-2025")
    assert app.store.news_grant_names([added.news.id]) == {}
    with pytest.raises(UserError, match="not under grant"):
        app.remove_grant(added.news.id, "eu-2025")


# -- the file and the web -------------------------------------------------


def test_the_file_applies_again_only_when_its_entry_changes(engine: Engine, tmp_path: Path) -> None:
    app = open_app(engine, tmp_path, CHANNELS + EU_GRANT)
    grant = app.store.grant("eu-2025")
    edited = Grant(**{**vars(grant), "title": "Edited on the web"})
    app.store.save_grant(edited, by="admin")
    # Restart with the same file: the admin's edit stays.
    again = open_app(engine, tmp_path, CHANNELS + EU_GRANT)
    assert again.store.grant("eu-2025").title == "Edited on the web"
    # The file's entry changes: the file wins.
    changed = open_app(engine, tmp_path, CHANNELS + EU_GRANT.replace("2025/451-778", "2025/999"))
    assert changed.store.grant("eu-2025").contract == "2025/999"
    assert changed.store.grant("eu-2025").title == "Civil society for good governance"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ('donor = "usaid"', "unknown donor 'usaid'"),
        ("ends_on = 2024-01-01", "ends_on is before starts_on"),
        ('require = { twitter = [["logo"]] }', "unknown element 'logo'"),
        ('mentions = { twitter = ["EU in Kosovo"] }', "must be one word"),
        ('mentions = { tiktok = ["@eu"] }', "unknown kind of post 'tiktok'"),
        ('emblem = "missing.png"', "no such file"),
        ('texts = { de = { statement = "x" } }', "texts for 'de'"),
    ],
)
def test_bad_grant_entries_are_refused_with_the_fix(tmp_path: Path, entry: str, words: str) -> None:
    key = entry.split(" = ")[0]
    lines = [ln for ln in EU_GRANT.strip().splitlines() if not ln.startswith(f"{key} =")]
    toml = CHANNELS + "\n".join([*lines, entry]) + "\n"
    with pytest.raises(ConfigError) as refused:
        load_channels(write(tmp_path, toml))
    assert "grants[0]" in str(refused.value) and "(grant 'eu-2025')" in str(refused.value)
    assert words in str(refused.value)


def test_the_eu_rules_have_every_text_in_four_languages(app: Visibility) -> None:
    grant = app.store.grant("eu-2025")
    assert set(grant.texts) == {"en", "sq", "sr-Latn", "sr-Cyrl"}
    for tag, texts in grant.texts.items():
        assert texts.statement and texts.disclaimer and texts.emblem_alt, tag
    assert grant.texts["en"].statement == "Funded by the European Union"
    # The Cyrillic and Latin Serbian texts say the same, letter for letter.
    assert fold(grant.texts["sr-Cyrl"].statement or "") == fold(
        grant.texts["sr-Latn"].statement or ""
    )
    assert fold(grant.texts["sr-Cyrl"].disclaimer or "") == fold(
        grant.texts["sr-Latn"].disclaimer or ""
    )

"""The whole path with real adapters: the sample item imported, approved and published
by the service to a real WordPress, the Graph emulator and the X emulator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from real_wordpress import RealWordPress

from emulators.graph import GraphEmulator
from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator
from emulators.x import XEmulator
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.service.runner import Service
from visibility.text.tweet import weighted_length
from visibility.workflow import DEMO_SAMPLE, Visibility

PAGE_ID = "104857600123456"


@pytest.fixture
def x() -> Iterator[XEmulator]:
    with XEmulator() as emulator:
        yield emulator


@pytest.fixture
def graph() -> Iterator[GraphEmulator]:
    with GraphEmulator(page_id=PAGE_ID) as emulator:
        yield emulator


def channels_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    wordpress: tuple[str, str, str],
    graph: GraphEmulator,
    x: XEmulator,
) -> Path:
    base_url, user, password = wordpress
    account = x.account
    secrets = {
        "WP_USER": user,
        "WP_APP_PASSWORD": password,
        "FB_TOKEN": graph.token,
        "X_KEY": x.consumer_key,
        "X_SECRET": x.consumer_secret,
        "X_TOKEN": account.access_token,
        "X_TOKEN_SECRET": account.access_token_secret,
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    # X counts a link as 23 only when twitter-text recognises it, and a URL on
    # 127.0.0.1 has no domain it knows: it counts in full. Tweets here carry
    # the title and the link, which fits whatever the test server's URL is.
    (tmp_path / "tweet.j2").write_text("{{ social_title }}\n\n{{ link }}", encoding="utf-8")
    path = tmp_path / "channels.toml"
    path.write_text(
        f"""
[organisation]
hashtags = ["#ShoqëriaCivile"]

[[channels]]
name = "website"
kind = "website"
secrets = {{ username = "WP_USER", application_password = "WP_APP_PASSWORD" }}
options = {{ base_url = "{base_url}", tags = ["trajnime", "OShC"] }}

[[channels]]
name = "fb-national"
kind = "facebook"
secrets = {{ page_access_token = "FB_TOKEN" }}
options = {{ page_id = "{PAGE_ID}", base_url = "{graph.base_url}" }}

[[channels]]
name = "x"
kind = "twitter"
secrets.api_key = "X_KEY"
secrets.api_secret = "X_SECRET"
secrets.access_token = "X_TOKEN"
secrets.access_token_secret = "X_TOKEN_SECRET"
template = "tweet.j2"
options = {{ base_url = "{x.base_url}" }}
""",
        encoding="utf-8",
    )
    return path


def publish_sample(app: Visibility) -> dict[str, int]:
    added = app.add_news_file(DEMO_SAMPLE)
    ids = {p.channel: p.id for p in added.posts}
    for post_id in ids.values():
        app.approve(post_id, by="Ardita")
        app.schedule(post_id, mode="now")
    deadline = time.monotonic() + 60

    def done() -> bool:
        final = {PostStatus.PUBLISHED, PostStatus.FAILED}
        return all(app.store.get_post(i).status in final for i in ids.values())

    Service(app).run_forever(until=lambda: done() or time.monotonic() > deadline, poll=0.05)
    return ids


def assert_published_everywhere(
    app: Visibility, ids: dict[str, int], graph: GraphEmulator, x: XEmulator
) -> str:
    posts = {name: app.store.get_post(i) for name, i in ids.items()}
    assert {n: (p.status, p.last_error) for n, p in posts.items()} == {
        n: (PostStatus.PUBLISHED, None) for n in posts
    }
    article_url = posts["website"].external_url
    assert article_url
    (fb_post,) = graph.posts_on(PAGE_ID)
    assert article_url in fb_post.message
    (tweet,) = x.tweets[x.account.username]
    assert article_url in tweet.text
    assert weighted_length(tweet.text) <= 280
    assert posts["x"].external_url == f"https://x.com/{x.account.username}/status/{tweet.id}"
    return article_url


@pytest.mark.slow
def test_the_sample_goes_out_to_a_real_wordpress_facebook_and_x(
    real_wordpress: RealWordPress,
    graph: GraphEmulator,
    x: XEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wordpress = (
        real_wordpress.base_url,
        real_wordpress.admin_user,
        real_wordpress.admin_app_password,
    )
    path = channels_file(tmp_path, monkeypatch, wordpress=wordpress, graph=graph, x=x)
    app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
    checks = app.check_channels()
    assert [(c.channel, c.ok) for c in checks] == [
        ("website", True),
        ("fb-national", True),
        ("x", True),
    ], [c.message for c in checks]

    ids = publish_sample(app)
    article_url = assert_published_everywhere(app, ids, graph, x)

    # Read the article back from WordPress itself.
    website = app.store.get_post(ids["website"])
    answer = requests.get(
        real_wordpress.rest_url(f"/wp/v2/posts/{website.external_id}"),
        params={"context": "edit"},
        auth=real_wordpress.admin_auth,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    article = answer.json()
    assert article["link"] == article_url
    assert article["status"] == "publish"
    assert article["title"]["raw"] == app.store.get_news(1).social_title
    assert "Qendra Burimore për Shoqërinë Civile" in article["content"]["raw"]
    tags = requests.get(
        real_wordpress.rest_url("/wp/v2/tags"),
        params={"include": ",".join(map(str, article["tags"]))},
        timeout=10,
    ).json()
    assert sorted(t["name"] for t in tags) == ["OShC", "trajnime"]
    page = requests.get(article_url, timeout=10)
    assert page.status_code == 200
    app.close()


def test_the_sample_goes_out_through_all_three_emulators(
    graph: GraphEmulator, x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with WordPressEmulator() as wp:
        wordpress = (wp.base_url, "editor", DEFAULT_APP_PASSWORD)
        path = channels_file(tmp_path, monkeypatch, wordpress=wordpress, graph=graph, x=x)
        app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
        ids = publish_sample(app)
        article_url = assert_published_everywhere(app, ids, graph, x)
        assert article_url.startswith(wp.base_url)
        app.close()


def test_expired_credentials_hold_the_channel_until_checked(
    graph: GraphEmulator, x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with WordPressEmulator() as wp:
        wordpress = (wp.base_url, "editor", DEFAULT_APP_PASSWORD)
        path = channels_file(tmp_path, monkeypatch, wordpress=wordpress, graph=graph, x=x)
        monkeypatch.setenv("FB_TOKEN", "EAAG-a-token-that-was-revoked-0000")
        app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
        added = app.add_news_file(DEMO_SAMPLE)
        fb = next(p for p in added.posts if p.channel == "fb-national")
        website = next(p for p in added.posts if p.channel == "website")
        for post in (website, fb):
            app.approve(post.id, by="Ardita")
            app.schedule(post.id, mode="now")
        # The service publishes the article, then the Facebook post fails on auth.
        deadline = time.monotonic() + 30
        Service(app).run_forever(
            until=lambda: bool(app.store.attention()) or time.monotonic() > deadline, poll=0.05
        )
        held = app.store.get_post(fb.id)
        assert held.status is PostStatus.SCHEDULED  # kept, not failed
        assert "fb-national" in app.store.attention()
        assert "Generate a new Page access token" in (held.last_error or "")
        assert "EAAG-a-token-that-was-revoked" not in (held.last_error or "")
        assert "needs attention" in (app.waiting_reason(held) or "")
        assert held.scheduled_at is not None
        assert app.store.count_due(held.scheduled_at) == 0  # held: not claimable
        app.close()

        # The token is renewed; `channels check` releases the channel and the post goes out.
        monkeypatch.setenv("FB_TOKEN", graph.token)
        app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
        (check,) = app.check_channels(["fb-national"])
        assert check.ok, check.message
        assert app.store.attention() == {}
        deadline = time.monotonic() + 30
        Service(app).run_forever(
            until=lambda: (
                app.store.get_post(fb.id).status is PostStatus.PUBLISHED
                or time.monotonic() > deadline
            ),
            poll=0.05,
        )
        assert app.store.get_post(fb.id).status is PostStatus.PUBLISHED
        assert json.dumps([a.to_dict() for a in app.store.attempts(fb.id)]).count("EAAG-a") == 0
        app.close()


def _noise_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG that compresses badly: 4000×3000 gives about 12 MB."""
    import io
    import os

    from PIL import Image

    picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def _logo_png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (600, 400), (0, 51, 153, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


PRESS_RELEASE = """<!doctype html><html lang="sq"><head><meta charset="utf-8">
<title>Trajnime për organizatat</title></head><body><article>
<h1>Qendra Burimore nis trajnime për organizatat e shoqërisë civile</h1>
<p>Prishtinë, 3 dhjetor 2026 – Qendra Burimore fton organizatat në trajnime falas
për shkrimin e projekteve.</p>
<figure><img src="salla.jpg" alt="Pjesëmarrësit e trajnimit në sallën e Qendrës">
<figcaption>Trajnimi i parë në Prishtinë</figcaption></figure>
<p>Trajnimet mbahen në Prishtinë dhe Prizren gjatë dhjetorit.</p>
<img src="logo.png" alt="Logoja e Qendrës Burimore">
</article></body></html>"""


@pytest.mark.slow
def test_a_press_release_with_two_pictures_goes_out_with_them_everywhere(
    graph: GraphEmulator, x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "release"
    folder.mkdir()
    big = _noise_jpeg(4000, 3000)
    assert len(big) > 12_000_000
    (folder / "salla.jpg").write_bytes(big)
    (folder / "logo.png").write_bytes(_logo_png())
    (folder / "lajmi.html").write_text(PRESS_RELEASE, encoding="utf-8")
    alts = ["Pjesëmarrësit e trajnimit në sallën e Qendrës", "Logoja e Qendrës Burimore"]
    with WordPressEmulator() as wp:
        wordpress = (wp.base_url, "editor", DEFAULT_APP_PASSWORD)
        path = channels_file(tmp_path, monkeypatch, wordpress=wordpress, graph=graph, x=x)
        app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
        added = app.add_news_file(folder / "lajmi.html")
        assert [p.alt for p in app.store.news_images(added.news.id)] == alts
        ids = {p.channel: p.id for p in added.posts}
        for post_id in ids.values():
            app.approve(post_id, by="Ardita")
            app.schedule(post_id, mode="now")
        deadline = time.monotonic() + 90
        final = {PostStatus.PUBLISHED, PostStatus.FAILED}
        Service(app).run_forever(
            until=lambda: (
                all(app.store.get_post(i).status in final for i in ids.values())
                or time.monotonic() > deadline
            ),
            poll=0.05,
        )
        article_url = assert_published_everywhere(app, ids, graph, x)

        # The article: both pictures in the library with their alt text, the first
        # featured, the second inline.
        article = wp.posts[int(app.store.get_post(ids["website"]).external_id or 0)]
        featured = wp.media[article["featured_media"]]
        assert featured["alt_text"] == alts[0]
        inline = [m for m in wp.media.values() if m["alt_text"] == alts[1]]
        assert len(inline) == 1 and len(wp.media) == 2
        assert f'alt="{alts[1]}"' in str(article["content"])

        # Facebook: one post showing both photos, each with its alt text.
        (fb_post,) = graph.posts_on(PAGE_ID)
        assert [p.alt_text for p in fb_post.photos] == alts
        assert article_url in (fb_post.message or "")

        # X: the tweet carries both, the 12 MB photo fitted under X's 5 MB.
        (tweet,) = x.tweets[x.account.username]
        uploads = {u.id: u for u in x.uploads}
        sent = [uploads[i] for i in tweet.media_ids]
        assert [u.alt for u in sent] == alts
        assert all(u.total_bytes <= 5 * 1024 * 1024 for u in sent)
        assert sent[0].width <= 4000

        record = app.store.get_post(ids["x"]).sent
        assert record is not None and [m.split(" ", 1)[1] for m in record.media] == alts
        app.close()


GRANT = """
[[grants]]
name = "eu-2025"
donor = "eu"
title = "Civil society for good governance"
contract = "2025/451-778"
starts_on = 2025-01-01
ends_on = 2037-12-31
mentions = { twitter = ["@EUinKosovo"], facebook = ["@EUinKosovo"] }
"""


@pytest.mark.slow
def test_an_item_under_the_eu_grant_goes_out_compliant_to_a_real_wordpress(
    real_wordpress: RealWordPress,
    graph: GraphEmulator,
    x: XEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from visibility.grants.dossier import build_dossier

    wordpress = (
        real_wordpress.base_url,
        real_wordpress.admin_user,
        real_wordpress.admin_app_password,
    )
    path = channels_file(tmp_path, monkeypatch, wordpress=wordpress, graph=graph, x=x)
    path.write_text(path.read_text(encoding="utf-8") + GRANT, encoding="utf-8")
    app = Visibility.open(load_settings(channels_file=path, scan_interval=60))
    suggested = app.add_news_file(DEMO_SAMPLE).suggested
    assert [s.grant for s in suggested] == ["eu-2025"]
    app.add_grants(1, ["eu-2025"], by="Ardita")
    ids = publish_sample(app)
    assert_published_everywhere(app, ids, graph, x)
    website = app.store.get_post(ids["website"])
    article = requests.get(
        real_wordpress.rest_url(f"/wp/v2/posts/{website.external_id}"),
        params={"context": "edit"},
        auth=real_wordpress.admin_auth,
        timeout=10,
    ).json()
    content = article["content"]["raw"]
    # The emblem, then the statement and the disclaimer, end the article.
    emblem_at = content.index('alt="Flamuri i Bashkimit Evropian')
    assert emblem_at < content.index("Financuar nga Bashkimi Evropian")
    assert content.rstrip().endswith("mbahen përgjegjës për to.</em></p>")
    assert article["featured_media"] == 0  # the emblem is not the article's picture
    (media_id,) = re.findall(r"wp-image-(\d+)", content)
    media = requests.get(
        real_wordpress.rest_url(f"/wp/v2/media/{media_id}"),
        auth=real_wordpress.admin_auth,
        timeout=10,
    ).json()
    assert media["alt_text"].startswith("Flamuri i Bashkimit Evropian")
    assert media["mime_type"] == "image/png"
    (fb_post,) = graph.posts_on(PAGE_ID)
    assert "Financuar nga Bashkimi Evropian" in fb_post.message
    (tweet,) = x.tweets[x.account.username]
    assert "@EUinKosovo" in tweet.text
    dossier = build_dossier(app, "eu-2025")
    assert len(dossier.posts) == 3
    assert dossier.compliance_rate == 1.0
    app.close()

"""Pictures on the pages and in the API (issue 13): upload, alt text, each post's choice and
order, removal, thumbnails and files, previews, engagement and the HTML report."""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.reports.figures import build_report, parse_period
from visibility.reports.render_html import render_html
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.web.app import create_app
from visibility.web.i18n import translate
from visibility.workflow import DEMO_SAMPLE, Visibility

PASSWORD = "correct horse battery"
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


def png(width: int = 800, height: int = 600, colour: tuple[int, ...] = (255, 204, 0, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(width: int = 1200, height: int = 800, colour: tuple[int, ...] = (20, 90, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Visibility]:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    visibility = Visibility.open(load_settings(channels_file=channels))
    for name, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER), ("ad", Role.ADMIN)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found[1]


def sign_in(web: TestClient, user: str) -> str:
    """Sign in through the form; the session's CSRF token."""
    form = web.get("/sign-in")
    answer = web.post(
        "/sign-in",
        data={"username": user, "password": PASSWORD, "csrf_token": token_in(form.text)},
    )
    assert answer.status_code == 200, answer.text
    return token_in(answer.text)


def flashes(page: str) -> list[str]:
    return [
        html.unescape(f) for f in re.findall(r'<p class="flash flash-\w+"[^>]*>([^<]*)</p>', page)
    ]


def add_item(app: Visibility) -> tuple[int, dict[str, int]]:
    added = app.add_news_text(DEMO_SAMPLE.read_text(encoding="utf-8"), author="ed")
    return added.news.id, {p.channel: p.id for p in added.posts}


def upload(web: TestClient, token: str, news_id: int, data: bytes, name: str, alt: str = "") -> Any:
    return web.post(
        f"/news/{news_id}/pictures",
        data={"csrf_token": token, "alt": alt, "back": f"/news/{news_id}#pictures"},
        files={"file": (name, data, "image/jpeg")},
    )


def api_upload(
    web: TestClient, headers: dict[str, str], news_id: int, data: bytes, name: str, alt: str = ""
) -> Any:
    return web.post(
        f"/api/v1/news/{news_id}/pictures",
        data={"alt": alt} if alt else {},
        files={"file": (name, data, "application/octet-stream")},
        headers=headers,
    )


def bearer(app: Visibility, user: str, role: Role) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {app.accounts.create_token(user, name=f'{user}-t', role=role)}"
    }


def stored_files(app: Visibility) -> list[Path]:
    root = app.settings.images_path
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def publish(app: Visibility, post_ids: list[int]) -> None:
    for post_id in post_ids:
        app.approve(post_id, by="ap")
        app.schedule(post_id, mode="now")
    publisher = Publisher(
        app.store, build_adapters(app), worker="w", platform_cap=None, images=app.image_files
    )
    try:
        while publisher.run_due().published:
            pass
    finally:
        publisher.close()


# -- uploading ----------------------------------------------------------------------


def test_a_picture_uploaded_on_the_page_is_shown_with_its_thumbnail(
    web: TestClient, app: Visibility
) -> None:
    news_id, _ = add_item(app)
    token = sign_in(web, "ed")
    page = web.get(f"/news/{news_id}").text
    assert 'id="pictures"' in page and "No pictures yet." in page
    assert 'enctype="multipart/form-data"' in page

    original = png(800, 600)
    answer = upload(web, token, news_id, original, "IMG_2041.png", alt="Logoja e Qendrës")
    assert answer.status_code == 200
    assert str(answer.url).endswith(f"/news/{news_id}#pictures")
    assert flashes(answer.text) == [
        "Picture added. Tick it under “Pictures in this post” in each post that should carry it."
    ]
    (picture,) = app.store.news_images(news_id)
    assert (picture.mime_type, picture.width, picture.height) == ("image/png", 800, 600)
    assert picture.alt == "Logoja e Qendrës" and picture.source == "IMG_2041.png"
    assert f'src="/api/v1/pictures/{picture.id}/thumbnail"' in answer.text
    assert 'alt="Logoja e Qendrës"' in answer.text

    thumb = web.get(f"/api/v1/pictures/{picture.id}/thumbnail")
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(thumb.content)) as small:
        assert small.format == "JPEG" and max(small.size) == 320
    large = web.get(f"/api/v1/pictures/{picture.id}/thumbnail?size=large")
    with Image.open(io.BytesIO(large.content)) as bigger:
        assert max(bigger.size) == 640
    assert web.get(f"/api/v1/pictures/{picture.id}/thumbnail?size=huge").status_code == 422

    file = web.get(f"/api/v1/pictures/{picture.id}/file")
    assert file.status_code == 200 and file.content == original
    assert file.headers["content-type"] == "image/png"
    assert file.headers["x-content-type-options"] == "nosniff"
    # Served under a name of our own, never the uploader's.
    assert file.headers["content-disposition"] == f'inline; filename="picture-{picture.id}.png"'


def test_the_content_decides_the_type_not_the_name(web: TestClient, app: Visibility) -> None:
    news_id, _ = add_item(app)
    editor = bearer(app, "ed", Role.EDITOR)
    answer = api_upload(web, editor, news_id, jpeg(), "looks-like.png", alt="Pamje nga salla")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["mime_type"], body["width"], body["height"]) == ("image/jpeg", 1200, 800)
    assert web.get(f"/api/v1/pictures/{body['id']}/file", headers=editor).headers[
        "content-type"
    ] == ("image/jpeg")
    listed = web.get(f"/api/v1/news/{news_id}/pictures", headers=editor).json()
    assert [p["id"] for p in listed] == [body["id"]]
    again = api_upload(web, editor, news_id, jpeg(), "copy.jpg")
    assert again.status_code == 409
    assert again.json()["detail"] == "This news item has this picture already."


def test_a_text_file_named_jpg_is_refused_and_nothing_is_stored(
    web: TestClient, app: Visibility
) -> None:
    news_id, _ = add_item(app)
    text = b"<script>alert(1)</script> this is not a picture at all\n" * 20
    name = "holiday<b>.jpg"
    editor = bearer(app, "ed", Role.EDITOR)
    answer = api_upload(web, editor, news_id, text, name, alt="Nuk është fotografi")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail == (
        "The file is not a picture visibility can use: choose a JPEG, PNG, GIF or WebP file."
    )
    assert "holiday" not in answer.text and "script" not in answer.text

    token = sign_in(web, "ed")
    page = upload(web, token, news_id, text, name, alt="Nuk është fotografi")
    assert page.status_code == 200 and str(page.url).endswith(f"/news/{news_id}#pictures")
    assert flashes(page.text) == [detail]
    assert "holiday" not in page.text
    assert app.store.news_images(news_id) == []
    assert stored_files(app) == []

    empty = upload(web, token, news_id, b"", "")
    assert "Choose a picture file first." in flashes(empty.text)
    assert stored_files(app) == []


def test_a_picture_over_the_limit_is_refused_with_413(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    channels = tmp_path / "channels.toml"
    channels.write_text(CHANNELS, encoding="utf-8")
    # Pictures may be larger than news items: the picture limit, not the news one, applies.
    monkeypatch.setenv("VISIBILITY_MAX_IMAGE_BYTES", "300000")
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "20000")
    app = Visibility.open(load_settings(channels_file=channels))
    app.accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR)
    try:
        with TestClient(create_app(app)) as web:
            news_id, _ = add_item(app)
            editor = bearer(app, "ed", Role.EDITOR)
            larger_than_a_news_item = jpeg(900, 700) + b"\0" * 130_000
            assert len(larger_than_a_news_item) > 3 * 20_000 + 64 * 1024
            added = api_upload(web, editor, news_id, larger_than_a_news_item, "a.jpg")
            assert added.status_code == 201, added.text

            over = png(64, 64) + b"\0" * 300_001
            answer = api_upload(web, editor, news_id, over, "huge.png", alt="Shumë e madhe")
            assert answer.status_code == 413
            assert answer.json()["detail"].startswith(
                "The picture is too large: files up to 300 kB are taken."
            )
            # Announced too large: refused before the body is read.
            announced = web.post(
                f"/api/v1/news/{news_id}/pictures",
                content=b"x" * 10,
                headers={
                    **editor,
                    "Content-Type": "multipart/form-data; boundary=b",
                    "Content-Length": "99999999",
                },
            )
            assert announced.status_code == 413
            token = sign_in(web, "ed")
            on_the_page = png(300, 200) + b"\0" * 130_000
            added_there = upload(web, token, news_id, on_the_page, "b.png", alt="Nga faqja")
            assert added_there.status_code == 200
            assert len(app.store.news_images(news_id)) == 2
            page = upload(web, token, news_id, over, "huge.png", alt="Shumë e madhe")
            assert page.status_code == 413 and "files up to 300 kB are taken" in page.text
            assert len(app.store.news_images(news_id)) == 2
            assert len(stored_files(app)) == 2
    finally:
        app.close()


# -- describing -------------------------------------------------------------------------


def test_alt_text_and_caption_are_edited_on_the_page_and_in_the_api(
    web: TestClient, app: Visibility
) -> None:
    news_id, _ = add_item(app)
    picture = app.add_image(news_id, png(), name="p.png")
    token = sign_in(web, "ed")
    page = web.get(f"/news/{news_id}").text
    assert "No alt text:" in page and "Pictures without it: 1." in page
    assert f'id="picture-{picture.id}"' in page

    back = f"/news/{news_id}#picture-{picture.id}"
    saved = web.post(
        f"/pictures/{picture.id}/describe",
        data={
            "csrf_token": token,
            "alt": "  Pjesëmarrësit   e trajnimit ",
            "caption": "Prishtinë",
            "back": back,
        },
    )
    assert "Picture described." in flashes(saved.text)
    described = app.store.get_image(picture.id)
    assert (described.alt, described.caption) == ("Pjesëmarrësit e trajnimit", "Prishtinë")
    assert "No alt text:" not in saved.text

    refused = web.post(
        f"/pictures/{picture.id}/describe",
        data={"csrf_token": token, "alt": "   ", "caption": "", "back": back},
    )
    assert flashes(refused.text) == [
        "Write the alt text: what the picture shows, for people who cannot see it "
        "(for example: “Participants of the training in Prishtina”)."
    ]
    assert app.store.get_image(picture.id).alt == "Pjesëmarrësit e trajnimit"

    editor = bearer(app, "ed", Role.EDITOR)
    patched = web.patch(
        f"/api/v1/pictures/{picture.id}",
        json={"alt": "Logoja", "caption": ""},
        headers=editor,
    )
    assert patched.status_code == 200
    assert (patched.json()["alt"], patched.json()["caption"]) == ("Logoja", None)
    too_long = web.patch(f"/api/v1/pictures/{picture.id}", json={"alt": "a" * 1001}, headers=editor)
    assert too_long.status_code == 422 and "at most 1000 characters" in too_long.text
    assert web.patch("/api/v1/pictures/999", json={"alt": "x"}, headers=editor).status_code == 404


# -- each post's choice -------------------------------------------------------------------


def test_choosing_and_ordering_a_posts_pictures_makes_an_approved_post_a_draft(
    web: TestClient, app: Visibility
) -> None:
    news_id, posts = add_item(app)
    first = app.add_image(news_id, png(), name="a.png", alt="E para")
    second = app.add_image(news_id, jpeg(), name="b.jpg", alt="E dyta")
    tweet = posts["twitter"]
    app.approve(tweet, by="ap")
    token = sign_in(web, "ed")
    page = web.get(f"/news/{news_id}").text
    form = re.search(rf'<form[^>]+action="/posts/{tweet}/pictures".*?</form>', page, re.S)
    assert form and "Changing them makes the post a draft again." in form[0]
    assert "This platform shows at most 4." in form[0]

    chosen = web.post(
        f"/posts/{tweet}/pictures",
        data={
            "csrf_token": token,
            "order": [first.id, second.id],
            "chosen": [first.id, second.id],
            "back": f"/news/{news_id}",
        },
    )
    assert flashes(chosen.text) == [
        f"Pictures of post {tweet} saved. It is a draft again until approved."
    ]
    after = app.store.get_post(tweet)
    assert after.status is PostStatus.DRAFT and after.approved_by is None
    assert [i.id for i in app.store.post_images([tweet])[tweet]] == [first.id, second.id]
    # The preview crops two pictures side by side, as X shows them.
    assert re.search(r'class="media media-x media-n2" data-pictures="2"', chosen.text)

    moved = web.post(
        f"/posts/{tweet}/pictures",
        data={
            "csrf_token": token,
            "order": [first.id, second.id],
            "chosen": [first.id, second.id],
            "move": f"down:{first.id}",
        },
    )
    assert flashes(moved.text) == [f"Pictures of post {tweet} saved."]
    assert [i.id for i in app.store.post_images([tweet])[tweet]] == [second.id, first.id]

    unchanged = web.post(
        f"/posts/{tweet}/pictures",
        data={"csrf_token": token, "order": [second.id, first.id], "chosen": [second.id, first.id]},
    )
    assert flashes(unchanged.text) == [f"Nothing changed in post {tweet}."]

    none = web.post(f"/posts/{tweet}/pictures", data={"csrf_token": token, "order": [first.id]})
    assert flashes(none.text) == [f"Pictures of post {tweet} saved."]
    assert tweet not in app.store.post_images([tweet])

    # The API: the same choice, in order; another item's picture is refused.
    app.approve(tweet, by="ap")
    editor = bearer(app, "ed", Role.EDITOR)
    put = web.put(f"/api/v1/posts/{tweet}/pictures", json={"pictures": [second.id]}, headers=editor)
    assert put.status_code == 200
    assert put.json()["post"]["status"] == "draft"
    assert [p["id"] for p in put.json()["pictures"]] == [second.id]
    listed = web.get(f"/api/v1/posts/{tweet}/pictures", headers=editor).json()
    assert [p["id"] for p in listed] == [second.id]
    other_news, _ = add_item_elsewhere(app)
    stranger = app.add_image(other_news, png(64, 64), name="x.png", alt="x")
    refused = web.put(
        f"/api/v1/posts/{tweet}/pictures", json={"pictures": [stranger.id]}, headers=editor
    )
    assert refused.status_code == 422 and "not one of this news item's pictures" in refused.text
    actions = [e.action for e in app.accounts.audit_log(limit=50)]
    assert actions.count("post.pictures") == 4


def add_item_elsewhere(app: Visibility) -> tuple[int, dict[str, int]]:
    added = app.add_news_text(
        "Një lajm tjetër\n\nPrishtinë, 4 dhjetor 2026 – Një tjetër ngjarje për organizatat.",
        author="ed",
    )
    return added.news.id, {p.channel: p.id for p in added.posts}


def test_previews_crop_pictures_as_each_platform_does(web: TestClient, app: Visibility) -> None:
    news_id, posts = add_item(app)
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30), (30, 200, 200)]
    ids = [
        app.add_image(news_id, jpeg(640, 480, c), name=f"{n}.jpg", alt=f"Pamja {n}").id
        for n, c in enumerate(colours, 1)
    ]
    app.store.choose_images(posts["twitter"], ids[:3], by="ed")
    app.store.choose_images(posts["facebook"], ids, by="ed")
    app.store.choose_images(posts["website"], ids[:2], by="ed")
    sign_in(web, "ed")
    page = web.get(f"/news/{news_id}").text
    tweet = section(page, posts["twitter"])
    assert 'class="media media-x media-n3" data-pictures="3"' in tweet
    facebook = section(page, posts["facebook"])
    assert 'class="media media-fb media-n5" data-pictures="5"' in facebook
    website = section(page, posts["website"])
    featured = re.search(r'<figure class="web-featured"[^>]*>.*?</figure>', website, re.S)
    assert featured and f"/api/v1/pictures/{ids[0]}/thumbnail?size=large" in featured[0]
    assert website.index("web-featured") < website.index("web-title")
    # Six on Facebook: five shown, the last with the count of the rest.
    sixth = app.add_image(news_id, png(64, 64), name="6.png", alt="Pamja 6")
    app.store.choose_images(posts["facebook"], [*ids, sixth.id], by="ed")
    facebook = section(web.get(f"/news/{news_id}").text, posts["facebook"])
    assert '<span class="more" aria-label="More pictures: 1">+1</span>' in facebook
    # One picture: X crops it to 16:9 (the CSS); Facebook keeps its shape within 4:5..1.91:1.
    tall = app.add_image(news_id, jpeg(400, 1000), name="tall.jpg", alt="E gjatë")
    app.store.choose_images(posts["facebook"], [tall.id], by="ed")
    app.store.choose_images(posts["twitter"], [tall.id], by="ed")
    page = web.get(f"/news/{news_id}").text
    assert 'class="media media-x media-n1" data-pictures="1">' in section(page, posts["twitter"])
    assert 'data-pictures="1" style="aspect-ratio: 0.800"' in section(page, posts["facebook"])


def section(page: str, post_id: int) -> str:
    found = re.search(rf'<section class="post" id="post-{post_id}".*?</section>', page, re.S)
    assert found, post_id
    return found[0]


# -- removing -----------------------------------------------------------------------------


def test_removing_a_picture_takes_it_off_posts_but_not_off_the_record(
    web: TestClient, app: Visibility
) -> None:
    news_id, posts = add_item(app)
    kept = app.add_image(news_id, png(), name="a.png", alt="E para")
    loose = app.add_image(news_id, jpeg(), name="b.jpg", alt="E dyta")
    app.store.choose_images(posts["facebook"], [kept.id, loose.id], by="ed")
    app.store.choose_images(posts["twitter"], [kept.id], by="ed")
    publish(app, [posts["website"], posts["twitter"]])  # the tweet links to the article
    assert app.store.get_post(posts["twitter"]).status is PostStatus.PUBLISHED
    app.approve(posts["facebook"], by="ap")
    files_before = stored_files(app)

    token = sign_in(web, "ed")
    page = web.get(f"/news/{news_id}").text
    assert f'action="/pictures/{kept.id}/remove"' not in page
    assert "A published post carried this picture" in page
    assert f'action="/pictures/{loose.id}/remove"' in page
    assert 'data-confirm="Remove this picture from the news item' in page

    refused = web.post(f"/pictures/{kept.id}/remove", data={"csrf_token": token})
    assert flashes(refused.text) == [
        f"picture {kept.id} went out with post {posts['twitter']}, which is published: it is "
        "part of that post's record and cannot be removed"
    ]
    assert app.store.get_image(kept.id).id == kept.id
    assert app.store.get_post(posts["facebook"]).status is PostStatus.APPROVED

    removed = web.post(
        f"/pictures/{loose.id}/remove",
        data={"csrf_token": token, "back": f"/news/{news_id}#pictures"},
    )
    assert flashes(removed.text) == [
        f"Picture removed, also from posts {posts['facebook']}; they are drafts again until "
        "approved."
    ]
    assert [i.id for i in app.store.news_images(news_id)] == [kept.id]
    assert [i.id for i in app.store.post_images([posts["facebook"]])[posts["facebook"]]] == [
        kept.id
    ]
    assert app.store.get_post(posts["facebook"]).status is PostStatus.DRAFT
    assert stored_files(app) == files_before  # other items may share the file

    editor = bearer(app, "ed", Role.EDITOR)
    api_refused = web.delete(f"/api/v1/pictures/{kept.id}", headers=editor)
    assert api_refused.status_code == 409
    other = app.add_image(news_id, png(100, 100), name="c.png", alt="E treta")
    gone = web.delete(f"/api/v1/pictures/{other.id}", headers=editor)
    assert gone.status_code == 200 and gone.json() == {"picture": other.id, "posts": []}
    assert web.delete(f"/api/v1/pictures/{other.id}", headers=editor).status_code == 404
    assert web.get(f"/api/v1/pictures/{other.id}/thumbnail", headers=editor).status_code == 404
    actions = [(e.action, e.target) for e in app.accounts.audit_log(limit=50)]
    assert ("picture.remove", f"picture {loose.id}") in actions
    assert ("picture.remove", f"picture {other.id}") in actions


# -- roles and CSRF ----------------------------------------------------------------------


def test_pictures_need_a_sign_in_a_role_and_the_csrf_token(
    web: TestClient, app: Visibility
) -> None:
    news_id, posts = add_item(app)
    picture = app.add_image(news_id, png(), name="a.png", alt="E para")
    for method, path in [
        ("GET", f"/api/v1/news/{news_id}/pictures"),
        ("POST", f"/api/v1/news/{news_id}/pictures"),
        ("GET", f"/api/v1/pictures/{picture.id}"),
        ("PATCH", f"/api/v1/pictures/{picture.id}"),
        ("DELETE", f"/api/v1/pictures/{picture.id}"),
        ("GET", f"/api/v1/pictures/{picture.id}/file"),
        ("GET", f"/api/v1/pictures/{picture.id}/thumbnail"),
        ("GET", f"/api/v1/posts/{posts['twitter']}/pictures"),
        ("PUT", f"/api/v1/posts/{posts['twitter']}/pictures"),
    ]:
        answer = web.request(method, path)
        assert answer.status_code == 401, (method, path)
    # A token with a role below editor's does not exist: an editor's token reads and writes.
    # Editor is the least role: editors and every role above may manage pictures.
    for user, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER), ("ad", Role.ADMIN)):
        headers = bearer(app, user, role)
        assert web.get(f"/api/v1/pictures/{picture.id}", headers=headers).status_code == 200
    signed_out = web.post(
        f"/pictures/{picture.id}/describe",
        data={"csrf_token": "x", "alt": "Tjetër"},
        follow_redirects=False,
    )
    assert signed_out.status_code == 303 and "/sign-in" in signed_out.headers["location"]

    # Signed in, but the session's token is missing or wrong: nothing changes.
    token = sign_in(web, "ed")
    api_login = web.post("/api/v1/login", json={"username": "ed", "password": PASSWORD})
    csrf = {"X-CSRF-Token": api_login.json()["csrf_token"]}
    for path, data in [
        (f"/pictures/{picture.id}/describe", {"alt": "Tjetër"}),
        (f"/pictures/{picture.id}/remove", {}),
        (f"/posts/{posts['twitter']}/pictures", {"chosen": str(picture.id)}),
    ]:
        forged = web.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 403, path
        assert "This form has expired or did not come from this site." in forged.text
    forged_upload = web.post(
        f"/news/{news_id}/pictures",
        data={"csrf_token": "forged", "alt": "x"},
        files={"file": ("a.png", png(64, 64), "image/png")},
    )
    assert forged_upload.status_code == 403
    no_header = web.patch(f"/api/v1/pictures/{picture.id}", json={"alt": "Tjetër"})
    assert no_header.status_code == 403 and "CSRF" in no_header.json()["detail"]
    with_header = web.patch(f"/api/v1/pictures/{picture.id}", json={"alt": "Tjetër"}, headers=csrf)
    assert with_header.status_code == 200
    assert [i.id for i in app.store.news_images(news_id)] == [picture.id]
    assert posts["twitter"] not in app.store.post_images([posts["twitter"]])
    assert token


def test_every_picture_route_is_documented_with_the_error_answers(web: TestClient) -> None:
    schema = web.get("/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    ours = {p: item for p, item in schema["paths"].items() if "pictures" in p}
    assert set(ours) == {
        "/api/v1/news/{news_id}/pictures",
        "/api/v1/pictures/{picture_id}",
        "/api/v1/pictures/{picture_id}/file",
        "/api/v1/pictures/{picture_id}/thumbnail",
        "/api/v1/posts/{post_id}/pictures",
    }
    for path, item in ours.items():
        for method, operation in item.items():
            codes = {c for c in operation["responses"] if c.startswith("4")}
            assert {"401", "403", "404", "422"} <= codes, (method, path)
            for code in codes:
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == problem, (method, path, code)
            if operation.get("requestBody"):
                assert {"400", "413"} <= codes, (method, path)
    upload_413 = ours["/api/v1/news/{news_id}/pictures"]["post"]["responses"]["413"]
    assert "VISIBILITY_MAX_IMAGE_BYTES" in upload_413["description"]
    file_types = ours["/api/v1/pictures/{picture_id}/file"]["get"]["responses"]["200"]["content"]
    assert set(file_types) == {"image/gif", "image/jpeg", "image/png", "image/webp"}


def test_the_pictures_section_speaks_albanian(web: TestClient, app: Visibility) -> None:
    news_id, _ = add_item(app)
    app.add_image(news_id, png(), name="a.png")
    token = sign_in(web, "ed")
    web.post("/language", data={"csrf_token": token, "lang": "sq", "back": f"/news/{news_id}"})
    page = web.get(f"/news/{news_id}").text
    assert translate("sq", "Pictures") in page and "Fotografitë" in page
    assert "Pa tekst alternativ:" in page
    assert translate("sq", "Add picture") in page


# -- engagement and the report ------------------------------------------------------------


def test_engagement_and_the_report_show_each_posts_pictures(
    web: TestClient, app: Visibility
) -> None:
    news_id, posts = add_item(app)
    picture = app.add_image(news_id, jpeg(1600, 900), name="a.jpg", alt="Pjesëmarrësit")
    app.store.choose_images(posts["facebook"], [picture.id], by="ed")
    publish(app, [posts["website"], posts["facebook"]])
    sign_in(web, "ed")
    page = web.get("/engagement").text
    row = re.search(rf'<li data-post="{posts["facebook"]}">.*?</li>', page, re.S)
    assert row, page[:2000]
    assert f'<img src="/api/v1/pictures/{picture.id}/thumbnail" alt="Pjesëmarrësit"' in row[0]

    today = app.store.get_post(posts["facebook"]).published_at
    assert today is not None
    day = today.astimezone(ZoneInfo(app.config.organisation.timezone)).date().isoformat()
    report = build_report(app, parse_period(day, day, app.config.organisation.timezone))
    html = render_html(report, images=app.image_files)
    thumbs = re.findall(r'<img src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"', html)
    assert thumbs and {alt for _, alt in thumbs} == {"Pjesëmarrësit"}
    with Image.open(io.BytesIO(base64.b64decode(thumbs[0][0]))) as small:
        assert max(small.size) == 120
    assert "/api/v1/" not in html  # self-contained: nothing fetched from the site
    assert "data:image" not in render_html(report)  # no store given: no pictures

"""The real-WordPress harness, and what a real WordPress answers (for the emulator).

Plain ``requests`` against Debian's WordPress (6.1.x) run by
scripts/wordpress-test-server. The asserted status codes and error bodies are
the real ones: the WordPress emulator should give the same (for the Media
Library, tests/test_wordpress_media_protocol.py asks both). Last, articles
with two pictures go to the real WordPress: from the adapter, and from a press
release through the publisher.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from real_wordpress import (
    RealWordPress,
    start_wordpress,
    stop_wordpress,
)
from test_adapter_wordpress import article, channel
from test_adapter_wordpress_media import picture
from test_wordpress_media_protocol import noise_png

from visibility.adapters.base import LocalMemory, Media
from visibility.adapters.wordpress import WordPressAdapter
from visibility.adapters.wordpress_media import upload_name
from visibility.config.settings import load_settings
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.workflow import Visibility

pytestmark = pytest.mark.slow

WRONG_PASSWORD = "abcd abcd abcd abcd abcd abcd"  # the shape of an application password


def tiny_png() -> bytes:
    """A valid 1x1 red PNG, made with zlib and struct only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte + one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def admin(http: requests.Session, real_wordpress: RealWordPress) -> requests.Session:
    http.auth = real_wordpress.admin_auth
    return http


def publish(admin: requests.Session, wp: RealWordPress, **fields: object) -> dict[str, object]:
    body = {"title": f"Test {uuid.uuid4().hex[:8]}", "content": "<p>Body</p>", "status": "publish"}
    body.update(fields)
    resp = admin.post(wp.rest_url("/wp/v2/posts"), json=body, timeout=30)
    assert resp.status_code == 201, resp.text
    data: dict[str, object] = resp.json()
    return data


def test_users_me_with_application_password(
    admin: requests.Session, real_wordpress: RealWordPress
) -> None:
    resp = admin.get(real_wordpress.rest_url("/wp/v2/users/me"), params={"context": "edit"})
    assert resp.status_code == 200, resp.text
    me = resp.json()
    assert me["username"] == real_wordpress.admin_user
    assert me["roles"] == ["administrator"]
    assert me["capabilities"]["publish_posts"] is True
    assert me["capabilities"]["upload_files"] is True


def test_application_password_with_spaces_is_accepted(
    http: requests.Session, real_wordpress: RealWordPress
) -> None:
    # WordPress shows the password in groups of four; it strips the spaces.
    raw = real_wordpress.admin_app_password
    spaced = " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    resp = http.get(
        real_wordpress.rest_url("/wp/v2/users/me"), auth=(real_wordpress.admin_user, spaced)
    )
    assert resp.status_code == 200, resp.text


def test_publish_post_and_read_the_article_back(
    admin: requests.Session, real_wordpress: RealWordPress
) -> None:
    title = f"Rally for clean water {uuid.uuid4().hex[:6]}"
    resp = admin.post(
        real_wordpress.rest_url("/wp/v2/posts"),
        json={"title": title, "content": "<p>Join us on Saturday.</p>", "status": "publish"},
    )
    assert resp.status_code == 201, resp.text
    post = resp.json()
    assert resp.headers["Location"] == real_wordpress.rest_url(f"/wp/v2/posts/{post['id']}")
    assert post["status"] == "publish"
    assert post["title"]["raw"] == title
    assert post["link"] == f"{real_wordpress.base_url}/{post['slug']}/"

    page = admin.get(post["link"])
    assert page.status_code == 200
    assert title in page.text
    assert "Join us on Saturday." in page.text

    again = admin.get(real_wordpress.rest_url(f"/wp/v2/posts/{post['id']}"))
    assert again.status_code == 200
    assert again.json()["link"] == post["link"]


def test_upload_png_and_use_it_as_featured_image(
    admin: requests.Session, real_wordpress: RealWordPress
) -> None:
    png = tiny_png()
    resp = admin.post(
        real_wordpress.rest_url("/wp/v2/media"),
        data=png,
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="pixel.png"',
        },
    )
    assert resp.status_code == 201, resp.text
    media = resp.json()
    assert resp.headers["Location"] == real_wordpress.rest_url(f"/wp/v2/media/{media['id']}")
    assert media["mime_type"] == "image/png"
    assert media["media_type"] == "image"
    file = admin.get(media["source_url"])
    assert file.status_code == 200
    assert file.content == png

    post = publish(admin, real_wordpress, featured_media=media["id"])
    assert post["featured_media"] == media["id"]


def test_media_upload_errors(admin: requests.Session, real_wordpress: RealWordPress) -> None:
    url = real_wordpress.rest_url("/wp/v2/media")
    png_disposition = {"Content-Disposition": 'attachment; filename="x.png"'}

    no_disposition = admin.post(url, data=tiny_png(), headers={"Content-Type": "image/png"})
    assert no_disposition.status_code == 400
    assert no_disposition.json() == {
        "code": "rest_upload_no_content_disposition",
        "message": "No Content-Disposition supplied.",
        "data": {"status": 400},
    }

    not_an_image = admin.post(
        url, data=b"hello", headers={"Content-Type": "image/png", **png_disposition}
    )
    assert not_an_image.status_code == 500
    assert not_an_image.json() == {
        "code": "rest_upload_sideload_error",
        "message": "Sorry, you are not allowed to upload this file type.",
        "data": {"status": 500},
    }


def test_create_tag_and_duplicate(admin: requests.Session, real_wordpress: RealWordPress) -> None:
    url = real_wordpress.rest_url("/wp/v2/tags")
    name = f"Climate Justice {uuid.uuid4().hex[:6]}"
    resp = admin.post(url, json={"name": name})
    assert resp.status_code == 201, resp.text
    tag = resp.json()
    assert tag["name"] == name
    assert tag["taxonomy"] == "post_tag"

    dup = admin.post(url, json={"name": name})
    assert dup.status_code == 400
    assert dup.json() == {
        "code": "term_exists",
        "message": "A term with the name provided already exists in this taxonomy.",
        "data": {"status": 400, "term_id": tag["id"]},
        "additional_data": [tag["id"], tag["id"]],
    }

    found = admin.get(url, params={"search": name})
    assert [t["id"] for t in found.json()] == [tag["id"]]
    assert found.headers["X-WP-Total"] == "1"

    post = publish(admin, real_wordpress, tags=[tag["id"]])
    assert post["tags"] == [tag["id"]]


def test_contributor_cannot_publish_or_upload(
    http: requests.Session, real_wordpress: RealWordPress
) -> None:
    http.auth = real_wordpress.contributor_auth
    posts = real_wordpress.rest_url("/wp/v2/posts")

    resp = http.post(posts, json={"title": "t", "content": "c", "status": "publish"})
    assert resp.status_code == 403
    assert resp.json() == {
        "code": "rest_cannot_publish",
        "message": "Sorry, you are not allowed to publish posts in this post type.",
        "data": {"status": 403},
    }

    # A draft (or pending) post is allowed: only publishing is refused.
    draft = http.post(posts, json={"title": "t", "content": "c", "status": "draft"})
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"

    upload = http.post(
        real_wordpress.rest_url("/wp/v2/media"),
        data=tiny_png(),
        headers={
            "Content-Type": "image/png",
            "Content-Disposition": 'attachment; filename="c.png"',
        },
    )
    assert upload.status_code == 403
    assert upload.json() == {
        "code": "rest_cannot_create",
        "message": "Sorry, you are not allowed to create posts as this user.",
        "data": {"status": 403},
    }


def test_wrong_application_password(http: requests.Session, real_wordpress: RealWordPress) -> None:
    # WordPress >= 6.3.2 (and this Debian 6.1.9, which carries that change) checks the
    # password only after the REST auth-error filter ran, so a wrong password is not
    # reported as "incorrect_password" (what 5.6-6.3.1 answered): the request simply
    # runs as a visitor. A wrong user name, or the login password, answers the same.
    http.auth = (real_wordpress.admin_user, WRONG_PASSWORD)
    me = http.get(real_wordpress.rest_url("/wp/v2/users/me"))
    assert me.status_code == 401
    assert me.json() == {
        "code": "rest_not_logged_in",
        "message": "You are not currently logged in.",
        "data": {"status": 401},
    }

    post = http.post(real_wordpress.rest_url("/wp/v2/posts"), json={"title": "t"})
    assert post.status_code == 401
    assert post.json() == {
        "code": "rest_cannot_create",
        "message": "Sorry, you are not allowed to create posts as this user.",
        "data": {"status": 401},
    }

    http.auth = ("nobody", WRONG_PASSWORD)
    assert http.get(real_wordpress.rest_url("/wp/v2/users/me")).json()["code"] == (
        "rest_not_logged_in"
    )


def test_rest_route_query_form_works_too(
    admin: requests.Session, real_wordpress: RealWordPress
) -> None:
    created = admin.post(
        f"{real_wordpress.base_url}/",
        params={"rest_route": "/wp/v2/posts"},
        json={"title": "Via rest_route", "content": "c", "status": "publish"},
    )
    assert created.status_code == 201, created.text
    post_id = created.json()["id"]

    listed = admin.get(f"{real_wordpress.base_url}/", params={"rest_route": "/wp/v2/posts"})
    assert listed.status_code == 200
    assert post_id in [p["id"] for p in listed.json()]
    assert int(listed.headers["X-WP-Total"]) >= 1


def test_comments_have_total_header(admin: requests.Session, real_wordpress: RealWordPress) -> None:
    post = publish(admin, real_wordpress)
    url = real_wordpress.rest_url("/wp/v2/comments")

    empty = admin.get(url, params={"post": post["id"]})
    assert empty.status_code == 200
    assert empty.json() == []
    assert empty.headers["X-WP-Total"] == "0"
    assert empty.headers["X-WP-TotalPages"] == "0"

    comment = admin.post(url, json={"post": post["id"], "content": "Count me in!"})
    assert comment.status_code == 201, comment.text

    # Anonymous, as a reader (or an engagement check without credentials) would ask.
    one = requests.get(url, params={"post": post["id"]}, timeout=30)
    assert one.headers["X-WP-Total"] == "1"
    assert [c["post"] for c in one.json()] == [post["id"]]


def test_delete_trash_then_force(admin: requests.Session, real_wordpress: RealWordPress) -> None:
    post = publish(admin, real_wordpress)
    url = real_wordpress.rest_url(f"/wp/v2/posts/{post['id']}")

    trashed = admin.delete(url)
    assert trashed.status_code == 200
    assert trashed.json()["status"] == "trash"

    again = admin.delete(url)
    assert again.status_code == 410
    assert again.json() == {
        "code": "rest_already_trashed",
        "message": "The post has already been deleted.",
        "data": {"status": 410},
    }

    forced = admin.delete(url, params={"force": "true"})
    assert forced.status_code == 200
    assert forced.json()["deleted"] is True

    gone = admin.get(url)
    assert gone.status_code == 404
    assert gone.json() == {
        "code": "rest_post_invalid_id",
        "message": "Invalid post ID.",
        "data": {"status": 404},
    }


def test_invalid_status_is_rejected(admin: requests.Session, real_wordpress: RealWordPress) -> None:
    resp = admin.post(real_wordpress.rest_url("/wp/v2/posts"), json={"title": "t", "status": "x"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): status"
    assert body["data"]["params"] == {
        "status": "status is not one of publish, future, draft, pending, and private."
    }


def test_plain_permalinks_mode_and_teardown(real_wordpress: RealWordPress) -> None:
    # A second, short-lived run: only ?rest_route= works without pretty permalinks.
    name = f"{real_wordpress.name}-plain"
    wp = start_wordpress(name, plain_permalinks=True)
    try:
        assert wp.database != real_wordpress.database
        with requests.Session() as http:
            http.auth = wp.admin_auth
            assert http.get(f"{wp.base_url}/wp-json/wp/v2/posts").status_code == 404
            created = http.post(
                wp.rest_url("/wp/v2/posts"),
                json={"title": "Plain", "content": "c", "status": "publish"},
            )
            assert created.status_code == 201, created.text
            post = created.json()
            assert created.headers["Location"] == (
                f"{wp.base_url}/index.php?rest_route=/wp/v2/posts/{post['id']}"
            )
            assert post["link"] == f"{wp.base_url}/?p={post['id']}"
            assert "Plain" in http.get(post["link"]).text
    finally:
        stop_wordpress(name)
    assert not Path(wp.state_dir).exists()
    with pytest.raises(requests.ConnectionError):
        requests.get(wp.base_url, timeout=5)


# -- the adapter: an article with its pictures ------------------------------------------


def test_an_article_with_two_pictures_on_the_real_wordpress(
    real_wordpress: RealWordPress, tmp_path: Path
) -> None:
    stamp = uuid.uuid4().hex[:8]
    lead = f"<p>Trajnimi {stamp} filloi sot.</p>"
    first = picture(tmp_path, tuple(uuid.uuid4().bytes[:3]), alt="Pjesëmarrësit në sallë")
    second = picture(
        tmp_path,
        tuple(uuid.uuid4().bytes[3:6]),
        alt='Trajnerja & "grupi"',
        caption="Foto: Qendra <2025>",
        kind="PNG",
    )
    memory = LocalMemory()
    wordpress = channel(
        real_wordpress.base_url,
        username=real_wordpress.admin_user,
        password=real_wordpress.admin_app_password,
    )
    auth = real_wordpress.admin_auth

    def publish(post_id: int, media: tuple[Media, ...]) -> dict[str, Any]:
        adapter = WordPressAdapter(wordpress, memory=memory)
        try:
            done = adapter.publish(
                article(post_id, title=f"Trajnim {stamp} {post_id}", body=lead, media=media)
            )
        finally:
            adapter.close()
        post: dict[str, Any] = requests.get(
            real_wordpress.rest_url(f"/wp/v2/posts/{done.external_id}"),
            params={"context": "edit"},
            auth=auth,
            timeout=30,
        ).json()
        return post

    def attachment(media_id: int) -> dict[str, Any]:
        found: dict[str, Any] = requests.get(
            real_wordpress.rest_url(f"/wp/v2/media/{media_id}"),
            params={"context": "edit"},
            auth=auth,
            timeout=30,
        ).json()
        return found

    def library(media: Media) -> list[int]:
        listed = requests.get(
            real_wordpress.rest_url("/wp/v2/media"),
            params={"search": media.sha256[:16], "_fields": "id"},
            auth=auth,
            timeout=30,
        ).json()
        return [item["id"] for item in listed]

    post = publish(1, (first, second))

    featured = attachment(post["featured_media"])
    assert featured["alt_text"] == "Pjesëmarrësit në sallë"
    assert requests.get(featured["source_url"], timeout=30).content == Path(first.path).read_bytes()
    (inline_id,) = library(second)
    inline = attachment(inline_id)
    assert inline["alt_text"] == 'Trajnerja & "grupi"'
    assert inline["caption"]["raw"] == "Foto: Qendra &lt;2025&gt;"
    assert post["content"]["raw"] == (
        f"{lead}\n"
        f'<figure class="wp-block-image"><img src="{inline["source_url"]}" '
        f'alt="Trajnerja &amp; &quot;grupi&quot;" class="wp-image-{inline_id}"/>'
        "<figcaption>Foto: Qendra &lt;2025&gt;</figcaption></figure>"
    )
    page = requests.get(post["link"], timeout=30).text
    assert 'alt="Trajnerja &amp; &quot;grupi&quot;"' in page

    # Another article with the same pictures (or a retry) uploads nothing again...
    again = publish(2, (first, second))
    assert again["featured_media"] == featured["id"]
    assert library(first) == [featured["id"]] and library(second) == [inline_id]

    # ... unless a picture was deleted from the library since.
    deleted = requests.delete(
        real_wordpress.rest_url(f"/wp/v2/media/{featured['id']}"),
        params={"force": "true"},
        auth=auth,
        timeout=30,
    )
    assert deleted.status_code == 200, deleted.text
    third = publish(3, (first,))
    assert third["featured_media"] not in (0, featured["id"])
    assert attachment(third["featured_media"])["alt_text"] == "Pjesëmarrësit në sallë"

    # An upload whose answer was lost is found in the library, not uploaded twice.
    lost = picture(tmp_path, tuple(uuid.uuid4().bytes[6:9]), alt="Sheshi para bashkisë")
    stored = requests.post(
        real_wordpress.rest_url("/wp/v2/media"),
        params={"alt_text": lost.alt},
        data=Path(lost.path).read_bytes(),
        headers={
            "Content-Type": lost.mime_type,
            "Content-Disposition": f'attachment; filename="{upload_name(lost)}"',
        },
        auth=auth,
        timeout=30,
    )
    assert stored.status_code == 201, stored.text
    memory.remember(f"media:{lost.sha256}", json.dumps({"sent": True}))
    fourth = publish(4, (lost,))
    assert fourth["featured_media"] == stored.json()["id"]
    assert library(lost) == [stored.json()["id"]]


def test_a_press_release_with_two_pictures_reaches_the_real_wordpress(
    real_wordpress: RealWordPress, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stamp = uuid.uuid4().hex[:8]
    folder = tmp_path / "release"
    folder.mkdir()
    photo, logo = noise_png(400), noise_png(200)
    (folder / "trajnimi.png").write_bytes(photo)
    (folder / "logo.png").write_bytes(logo)
    release = folder / "lajmi.html"
    release.write_text(
        f"""<html><head><meta charset="utf-8"></head><body><article>
<h1>Qendra nis trajnime {stamp}</h1>
<p>Prishtinë – Qendra Burimore fton organizatat në trajnime falas.</p>
<figure><img src="trajnimi.png" alt="Pjesëmarrësit e trajnimit"><figcaption>Trajnimi i parë
</figcaption></figure>
<p>Trajnimet mbahen në Prishtinë dhe Prizren.</p>
<img src="logo.png" alt="Logoja e Qendrës">
</article></body></html>""",
        encoding="utf-8",
    )
    monkeypatch.setenv("WP_USER", real_wordpress.admin_user)
    monkeypatch.setenv("WP_APP_PASSWORD", real_wordpress.admin_app_password)
    channels = tmp_path / "channels.toml"
    channels.write_text(
        f"""
[[channels]]
name = "website"
kind = "website"
secrets = {{ username = "WP_USER", application_password = "WP_APP_PASSWORD" }}
options = {{ base_url = "{real_wordpress.base_url}" }}
""",
        encoding="utf-8",
    )
    app = Visibility.open(load_settings(channels_file=channels))
    try:
        (post,) = app.add_news_file(release).posts
        app.approve(post.id, by="Ardita")
        app.schedule(post.id, mode="now")
        publisher = Publisher(
            app.store, build_adapters(app), worker="w", platform_cap=None, images=app.image_files
        )
        try:
            publisher.run_due()
        finally:
            publisher.close()
        done = app.store.get_post(post.id)
    finally:
        app.close()
    assert done.status is PostStatus.PUBLISHED, done.last_error

    auth = real_wordpress.admin_auth
    wp_post = requests.get(
        real_wordpress.rest_url(f"/wp/v2/posts/{done.external_id}"),
        params={"context": "edit"},
        auth=auth,
        timeout=30,
    ).json()
    featured = requests.get(
        real_wordpress.rest_url(f"/wp/v2/media/{wp_post['featured_media']}"),
        params={"context": "edit"},
        auth=auth,
        timeout=30,
    ).json()
    assert featured["alt_text"] == "Pjesëmarrësit e trajnimit"
    assert featured["caption"]["raw"] == "Trajnimi i parë"
    assert requests.get(featured["source_url"], timeout=30).content == photo
    (inline,) = re.findall(
        r'<img src="([^"]+)" alt="Logoja e Qendrës" class="wp-image-(\d+)"/>',
        wp_post["content"]["raw"],
    )
    assert requests.get(inline[0], timeout=30).content == logo
    logo_media = requests.get(
        real_wordpress.rest_url(f"/wp/v2/media/{inline[1]}"), auth=auth, timeout=30
    ).json()
    assert logo_media["alt_text"] == "Logoja e Qendrës"
    page = requests.get(wp_post["link"], timeout=30).text
    assert 'alt="Logoja e Qendrës"' in page and "Trajnimet mbahen" in page

"""Pictures: found in press releases, checked by content, stored once, fitted to each
platform, required to have alt text, and carried to the adapters (issue 13)."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from emulators.server import Emulator, Request, Response, route
from visibility.adapters.dry_run import outbox_path
from visibility.config.settings import load_settings
from visibility.errors import InputError, UserError, ValidationError
from visibility.media.files import ImageFiles
from visibility.media.fit import fit
from visibility.media.intake import RemotePolicy, parse_image_option, take_refs
from visibility.media.limits import FACEBOOK_LIMITS, X_LIMITS
from visibility.news.model import ImageRef
from visibility.news.parse import parse_news
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.service.runner import build_adapters
from visibility.workflow import Visibility

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


def jpeg(width: int, height: int, *, noise: bool = False, quality: int = 90) -> bytes:
    if noise:
        picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        picture = Image.new("RGB", (width, height), (20, 90, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (255, 204, 0, 128)).save(buffer, format="PNG")
    return buffer.getvalue()


PRESS_RELEASE = """<html><head><meta charset="utf-8">
<meta property="og:image" content="ndarja.jpg"></head><body><article>
<h1>Qendra nis trajnime për organizatat</h1>
<p>Prishtinë, 3 dhjetor 2026 – Qendra Burimore fton organizatat në trajnime falas.</p>
<figure><img src="trajnimi.jpg" alt="Pjesëmarrësit e trajnimit"><figcaption>Trajnimi i parë
</figcaption></figure>
<p>Trajnimet mbahen në Prishtinë dhe Prizren.</p>
<img src="logo.png">
<img src="pixel.gif" width="1" height="1">
</article></body></html>"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Visibility]:
    path = tmp_path / "channels.toml"
    path.write_text(CHANNELS, encoding="utf-8")
    visibility = Visibility.open(load_settings(channels_file=path))
    yield visibility
    visibility.close()


@pytest.fixture
def release(tmp_path: Path) -> Path:
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "trajnimi.jpg").write_bytes(jpeg(1200, 800))
    (folder / "logo.png").write_bytes(png(300, 200))
    (folder / "ndarja.jpg").write_bytes(jpeg(1200, 630))
    path = folder / "lajmi.html"
    path.write_text(PRESS_RELEASE, encoding="utf-8")
    return path


def publish_all(app: Visibility, ids: list[int]) -> None:
    for post_id in ids:
        app.approve(post_id, by="Ardita")
        app.schedule(post_id, mode="now")
    publisher = Publisher(
        app.store, build_adapters(app), worker="w", platform_cap=None, images=app.image_files
    )
    try:
        while publisher.run_due().published:
            pass
    finally:
        publisher.close()


# -- finding pictures in what staff have --------------------------------------------


def test_html_pictures_come_out_of_the_body_with_alt_and_caption() -> None:
    news = parse_news(PRESS_RELEASE, source="lajmi.html", language="sq")
    assert news.images == (
        ImageRef("trajnimi.jpg", "Pjesëmarrësit e trajnimit", "Trajnimi i parë"),
        ImageRef("logo.png", None, None),
        ImageRef("ndarja.jpg", None, None),
    )
    assert "<img" not in news.body_html and "<figure" not in news.body_html
    assert "Trajnimet mbahen" in news.body_html


def test_markdown_pictures_come_out_of_the_body() -> None:
    news = parse_news(
        "# Titulli\n\nTeksti i parë.\n\n![Logoja e BE](emblem.png)\n\nTjetër paragraf.\n",
        source="lajmi.md",
        language="sq",
    )
    assert news.images == (ImageRef("emblem.png", "Logoja e BE", None),)
    assert "<img" not in news.body_html and "<p></p>" not in news.body_html
    assert news.paragraphs == ("Teksti i parë.", "Tjetër paragraf.")


def test_a_press_release_brings_its_pictures(app: Visibility, release: Path) -> None:
    added = app.add_news_file(release)
    pictures = app.store.news_images(added.news.id)
    assert [(p.source, p.alt, p.width) for p in pictures] == [
        ("trajnimi.jpg", "Pjesëmarrësit e trajnimit", 1200),
        ("logo.png", None, 300),
        ("ndarja.jpg", None, 1200),
    ]
    assert pictures[0].caption == "Trajnimi i parë"
    chosen = app.store.post_images([p.id for p in added.posts])
    by_kind = {p.kind: len(chosen.get(p.id, [])) for p in added.posts}
    assert by_kind == {"website": 3, "facebook": 3, "twitter": 3}
    # Stored by content hash, under the data folder.
    stored = app.image_files.get(pictures[0].sha256, pictures[0].mime_type)
    assert stored.path.is_relative_to(app.settings.data_dir / "images")
    assert stored.path.name == f"{pictures[0].sha256}.jpg"


def test_pictures_that_cannot_be_had_are_skipped_with_why(app: Visibility, release: Path) -> None:
    release.write_text(
        PRESS_RELEASE.replace('src="logo.png"', 'src="../../secret.png"').replace(
            'src="trajnimi.jpg"', 'src="https://example.org/foto.jpg"'
        ),
        encoding="utf-8",
    )
    (release.parent.parent / "secret.png").write_bytes(png(100, 100))
    added = app.add_news_file(release)
    assert [p.source for p in app.store.news_images(added.news.id)] == ["ndarja.jpg"]
    reasons = " | ".join(added.skipped_images)
    assert "https://example.org/foto.jpg: pictures on the web are not fetched" in reasons
    assert "../../secret.png: only pictures in the news item's folder" in reasons


def test_a_file_that_is_no_picture_is_refused_and_nothing_is_stored(
    app: Visibility, release: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "photo.jpg"
    fake.write_text("this is not a picture", encoding="utf-8")
    with pytest.raises(InputError, match=r"photo\.jpg is not a picture visibility can use"):
        app.add_news_file(release, images=[(fake, "a photo")])
    assert app.store.list_news() == []


def test_content_decides_the_type_not_the_name(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path, max_bytes=10_000_000)
    stored = files.add(png(64, 64), name="really-a-png.jpg")
    assert stored.mime_type == "image/png" and stored.path.suffix == ".png"
    assert files.add(png(64, 64), name="again.png") == stored  # kept once


@pytest.mark.parametrize(
    ("value", "path", "alt"),
    [
        ("foto.jpg", "foto.jpg", None),
        ("foto.jpg:Pjesëmarrësit: në sallë", "foto.jpg", "Pjesëmarrësit: në sallë"),
        ("C:\\foto.jpg:Alt", "C:\\foto.jpg", "Alt"),
    ],
)
def test_the_image_option(value: str, path: str, alt: str | None) -> None:
    assert parse_image_option(value) == (Path(path), alt)


def test_embedded_and_remote_pictures(tmp_path: Path) -> None:
    data = png(50, 40)

    class Pictures(Emulator):
        @route("GET", r"^/foto\.png$")
        def foto(self, request: Request) -> Response:
            return Response(200, data, headers={"Content-Type": "image/png"})

    files = ImageFiles(tmp_path / "images", max_bytes=1_000_000)
    embedded = "data:image/png;base64," + base64.b64encode(data).decode()
    with Pictures() as server:
        url = f"{server.base_url}/foto.png"
        refs = [ImageRef(embedded, "embedded"), ImageRef(url, "remote")]
        allowed = take_refs(
            files, refs, beside=None, remote=RemotePolicy(allowed=True, private_addresses=True)
        )
        assert [i.alt for i in allowed.images] == ["embedded", "remote"]
        assert allowed.skipped == ()
        # The same picture both ways: one file (the store keeps one row per item, too).
        assert allowed.images[0].sha256 == allowed.images[1].sha256
        private = take_refs(files, refs[1:], beside=None, remote=RemotePolicy(allowed=True))
        assert "not fetched from this machine's or private addresses" in private.skipped[0]


# -- alt text and approval -----------------------------------------------------------


def test_a_picture_without_alt_text_cannot_be_approved(app: Visibility, release: Path) -> None:
    added = app.add_news_file(release)
    tweet = next(p for p in added.posts if p.kind == "twitter")
    with pytest.raises(ValidationError, match=r"picture 2 of post \d+ \(logo\.png\) has no alt"):
        app.approve(tweet.id, by="Ardita")
    assert app.store.get_post(tweet.id).status is PostStatus.DRAFT
    for picture in app.store.news_images(added.news.id):
        if not picture.alt:
            app.store.describe_image(picture.id, alt="Logoja e Qendrës")
    assert app.approve(tweet.id, by="Ardita").status is PostStatus.APPROVED
    with pytest.raises(InputError, match="write what the picture shows"):
        app.store.describe_image(1, alt="   ")


def test_choosing_pictures_is_an_edit(app: Visibility, release: Path) -> None:
    added = app.add_news_file(release)
    for picture in app.store.news_images(added.news.id):
        app.store.describe_image(picture.id, alt=f"Pamja {picture.id}")
    post = next(p for p in added.posts if p.kind == "facebook")
    app.approve(post.id, by="Ardita")
    pictures = app.store.news_images(added.news.id)
    chosen = app.store.choose_images(post.id, [pictures[2].id, pictures[0].id], by="Besa")
    assert chosen.status is PostStatus.DRAFT and chosen.approved_by is None
    assert [i.id for i in app.store.post_images([post.id])[post.id]] == [
        pictures[2].id,
        pictures[0].id,
    ]
    with pytest.raises(UserError, match="chosen twice"):
        app.store.choose_images(post.id, [pictures[0].id, pictures[0].id], by="Besa")


# -- fitting each platform -----------------------------------------------------------


def test_a_12_mb_jpeg_is_fitted_under_x_limit_and_the_original_kept(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path, max_bytes=50_000_000)
    original = files.add(jpeg(4000, 3000, noise=True, quality=95), name="big.jpg")
    assert original.size > 12_000_000
    fitted = fit(original, X_LIMITS, files)
    assert fitted.size <= X_LIMITS.max_bytes and fitted.mime_type == "image/jpeg"
    assert fitted.width <= 4000 and fitted.width / fitted.height == pytest.approx(4 / 3, 0.01)
    assert original.path.is_file() and fitted.path != original.path
    assert fit(original, X_LIMITS, files) == fitted  # the same copy again


def test_a_copy_is_made_once_and_found_again(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path, max_bytes=50_000_000)
    data = jpeg(3000, 2000, noise=True, quality=90)
    original = files.add(data, name="big.jpg")
    copy = fit(original, FACEBOOK_LIMITS, files)
    # Publishing finds the copy approval made: the original is not decoded again.
    original.path.unlink()
    assert fit(original, FACEBOOK_LIMITS, files) == copy
    # A copy that has gone is made again.
    copy.path.unlink()
    original.path.write_bytes(data)
    again = fit(original, FACEBOOK_LIMITS, files)
    assert again == copy and again.path.is_file()


def test_small_pictures_are_never_scaled_up(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path, max_bytes=10_000_000)
    small = files.add(jpeg(200, 100), name="small.jpg")
    assert fit(small, FACEBOOK_LIMITS, files) == small
    webp = Image.new("RGB", (300, 200), (1, 2, 3))
    buffer = io.BytesIO()
    webp.save(buffer, format="WEBP")
    stored = files.add(buffer.getvalue(), name="p.webp")
    converted = fit(stored, FACEBOOK_LIMITS, files)  # Facebook takes no WebP
    assert converted.mime_type == "image/jpeg" and (converted.width, converted.height) == (300, 200)


# -- to the platforms ----------------------------------------------------------------


def test_pictures_reach_the_adapters_with_their_alt_text(app: Visibility, release: Path) -> None:
    big = release.parent / "trajnimi.jpg"
    big.write_bytes(jpeg(2400, 1800, noise=True, quality=90))  # over the website's 1 MB
    added = app.add_news_file(release)
    for picture in app.store.news_images(added.news.id):
        if not picture.alt:
            app.store.describe_image(picture.id, alt="Logoja")
    publish_all(app, [p.id for p in added.posts])
    for post in added.posts:
        done = app.store.get_post(post.id)
        assert done.status is PostStatus.PUBLISHED, done.last_error
        [record] = [
            json.loads(line)
            for line in outbox_path(app.settings.data_dir, post.channel).read_text().splitlines()
        ]
        alts = [m["alt"] for m in record["media"]]
        assert alts == ["Pjesëmarrësit e trajnimit", "Logoja", "Logoja"]
        sizes = [Path(m["file"]).stat().st_size for m in record["media"]]
        limit = {"website": 1_000_000, "facebook": 4_000_000, "twitter": 5_000_000}[post.kind]
        assert max(sizes) <= limit
        assert done.sent is not None and len(done.sent.media) == 3
        assert done.sent.media[0].endswith(" Pjesëmarrësit e trajnimit")


def test_a_picture_gone_from_the_store_fails_the_post_not_the_worker(
    app: Visibility, release: Path
) -> None:
    added = app.add_news_file(release)
    for picture in app.store.news_images(added.news.id):
        app.store.describe_image(picture.id, alt="Pamja")
    article = next(p for p in added.posts if p.kind == "website")
    app.approve(article.id, by="Ardita")
    app.schedule(article.id, mode="now")
    for path in (app.settings.data_dir / "images").rglob("*.*"):
        path.unlink()
    publisher = Publisher(
        app.store, build_adapters(app), worker="w", platform_cap=None, images=app.image_files
    )
    try:
        publisher.run_due()
    finally:
        publisher.close()
    post = app.store.get_post(article.id)
    assert post.status is PostStatus.FAILED
    assert post.last_error is not None and "missing from the image store" in post.last_error

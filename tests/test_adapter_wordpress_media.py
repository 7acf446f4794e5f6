"""An article's pictures on WordPress: each uploaded once to the Media Library with its
alt text, the first featured, the others in the article, reused on every retry."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from test_adapter_wordpress import api_requests, article, channel

from emulators.server import Request
from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator
from visibility.adapters.base import LocalMemory, Media, Memory
from visibility.adapters.wordpress import WordPressAdapter
from visibility.adapters.wordpress_media import upload_name, with_pictures
from visibility.errors import (
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)
from visibility.queue.ops import StoredMemory
from visibility.queue.store import Store

LEAD = "<p>Qendra hap thirrjen për grante.</p>"
BODY = f"{LEAD}\n<p>Afati është 30 qershor.</p>\n<p><em>Financuar nga BE.</em></p>"


def picture(
    folder: Path,
    colour: tuple[int, int, int],
    *,
    alt: str = "Pjesëmarrësit e trajnimit në Tiranë",
    caption: str | None = None,
    kind: str = "JPEG",
) -> Media:
    """A picture as the publisher hands it over: a real image, named by its hash."""
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), colour).save(buffer, format=kind)
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    mime_type = f"image/{kind.lower()}"
    path = folder / f"{digest}.{kind.lower()}"
    path.write_bytes(data)
    return Media(str(path), mime_type, digest, alt, 320, 200, len(data), caption)


def two(folder: Path) -> tuple[Media, Media]:
    return (
        picture(folder, (200, 30, 30)),
        picture(
            folder,
            (30, 30, 200),
            alt='Logoja e "Qendrës" <BE>',
            caption="Foto: A & B <studio>",
            kind="PNG",
        ),
    )


@pytest.fixture
def wp() -> Iterator[WordPressEmulator]:
    with WordPressEmulator() as emulator:
        assert isinstance(emulator, WordPressEmulator)
        yield emulator


@pytest.fixture
def memory() -> LocalMemory:
    return LocalMemory()


@pytest.fixture
def make(wp: WordPressEmulator, memory: LocalMemory) -> Iterator[Any]:
    made: list[WordPressAdapter] = []

    def build(*, memory_: Memory | None = None, **options: Any) -> WordPressAdapter:
        adapter = WordPressAdapter(
            channel(wp.base_url, **options), memory=memory_ if memory_ is not None else memory
        )
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def uploads(wp: WordPressEmulator) -> list[Request]:
    return api_requests(wp, "POST", "/wp/v2/media")


# -- the article ------------------------------------------------------------------------


def test_an_article_with_two_pictures_has_both_in_the_library_first_featured_second_inline(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    first, second = two(tmp_path)

    published = make().publish(article(body=BODY, media=(first, second)))

    post = wp.posts[int(published.external_id)]
    one, other = sorted(wp.media.values(), key=lambda m: m["id"])
    assert (one["data"], other["data"]) == (
        Path(first.path).read_bytes(),
        Path(second.path).read_bytes(),
    )
    assert one["alt_text"] == "Pjesëmarrësit e trajnimit në Tiranë"
    # WordPress strips tags from alt text (sanitize_text_field); the article keeps them.
    assert other["alt_text"] == 'Logoja e "Qendrës"'
    assert other["caption"] == "Foto: A &amp; B &lt;studio&gt;"
    assert post["featured_media"] == one["id"]
    inline = (
        f'<figure class="wp-block-image"><img src="{other["source_url"]}" '
        'alt="Logoja e &quot;Qendrës&quot; &lt;BE&gt;" '
        f'class="wp-image-{other["id"]}"/>'
        "<figcaption>Foto: A &amp; B &lt;studio&gt;</figcaption></figure>"
    )
    assert post["content"] == f"{LEAD}\n{inline}\n<p>Afati është 30 qershor.</p>\n" + (
        "<p><em>Financuar nga BE.</em></p>"
    )
    assert one["source_url"] not in post["content"]  # the theme shows the featured one


def test_a_grants_emblem_goes_with_the_funding_statement_never_featured(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    photo = picture(tmp_path, (200, 30, 30))
    emblem = dataclasses.replace(
        picture(tmp_path, (0, 51, 153), alt="Flamuri i Bashkimit Evropian", kind="PNG"),
        role="emblem",
    )
    funding = (
        '<p class="funding-statement"><strong>Financuar nga Bashkimi Evropian</strong></p>\n'
        '<p class="funding-disclaimer"><em>Pikëpamjet ...</em></p>'
    )
    # The emblem first in the list: its role, not its place, decides.
    published = make().publish(article(body=f"{LEAD}\n{funding}", media=(emblem, photo)))
    post = wp.posts[int(published.external_id)]
    by_alt = {m["alt_text"]: m for m in wp.media.values()}
    assert post["featured_media"] == by_alt["Pjesëmarrësit e trajnimit në Tiranë"]["id"]
    flag = by_alt["Flamuri i Bashkimit Evropian"]
    shown = (
        f'<figure class="wp-block-image"><img src="{flag["source_url"]}" '
        f'alt="Flamuri i Bashkimit Evropian" class="wp-image-{flag["id"]}"/></figure>'
    )
    assert post["content"] == f"{LEAD}\n{shown}\n{funding}"
    # Alone, the emblem is still not the featured image.
    alone = make().publish(article(body=LEAD, media=(emblem,), title="Tjetër"))
    assert not wp.posts[int(alone.external_id)].get("featured_media")
    assert wp.posts[int(alone.external_id)]["content"].endswith("</figure>")


def test_each_upload_is_the_file_with_its_type_name_hash_and_alt_text(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    first, second = two(tmp_path)

    make().publish(article(media=(first, second)))

    sent = uploads(wp)
    assert len(sent) == 2
    for request, media in zip(sent, (first, second), strict=True):
        content = Path(media.path).read_bytes()
        assert request.body == content
        assert request.headers["content-type"] == media.mime_type
        assert request.headers["content-md5"] == hashlib.md5(content).hexdigest()
        assert request.headers["content-disposition"] == (
            f'attachment; filename="{upload_name(media)}"'
        )
        credentials = base64.b64encode(f"editor:{DEFAULT_APP_PASSWORD}".encode()).decode()
        assert request.headers["authorization"] == f"Basic {credentials}"
        assert request.arg("alt_text") == media.alt
    assert upload_name(first) == f"pjesemarresit-e-trajnimit-ne-tirane-{first.sha256[:16]}.jpg"
    assert sent[0].arg("caption") is None
    assert sent[1].arg("caption") == "Foto: A &amp; B &lt;studio&gt;"
    assert [m["title"] for m in wp.media.values()] == [
        upload_name(first).removesuffix(".jpg"),
        upload_name(second).removesuffix(".png"),
    ]


def test_pictures_follow_the_first_top_level_paragraph_or_end_the_body() -> None:
    figures = ["<figure>1</figure>", "<figure>2</figure>"]
    nested = "<blockquote><p>Citim</p></blockquote>\n<p>Hyrja\ne gjatë</p><p>Tjetër</p>"
    assert with_pictures(nested, figures) == (
        "<blockquote><p>Citim</p></blockquote>\n<p>Hyrja\ne gjatë</p>\n"
        "<figure>1</figure>\n<figure>2</figure><p>Tjetër</p>"
    )
    assert with_pictures("<h2>Titull</h2><ul><li>a</li></ul>", figures[:1]) == (
        "<h2>Titull</h2><ul><li>a</li></ul>\n<figure>1</figure>"
    )
    assert with_pictures("<p>Pa fund<p>Tjetër", figures[:1]) == (
        "<p>Pa fund<p>Tjetër\n<figure>1</figure>"
    )
    assert with_pictures("", figures[:1]) == "<figure>1</figure>"
    assert with_pictures(LEAD, []) == LEAD


def test_an_article_without_pictures_uploads_nothing(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    published = make().publish(article(body=BODY))
    assert uploads(wp) == []
    assert wp.posts[int(published.external_id)]["featured_media"] == 0
    assert wp.posts[int(published.external_id)]["content"] == BODY


# -- exactly once -----------------------------------------------------------------------


def test_a_retry_after_the_article_was_lost_does_not_upload_again(
    wp: WordPressEmulator, make: Any, memory: LocalMemory, tmp_path: Path
) -> None:
    media = two(tmp_path)
    wp.fail_next(1, drop=True, path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError):
        make().publish(article(media=media))

    # Another worker, or the same one restarted: it shares the memory, not the adapter.
    published = make().publish(article(media=media))

    assert len(uploads(wp)) == 2 and len(wp.media) == 2
    assert len(wp.posts) == 1
    first_id = min(wp.media)
    assert wp.posts[int(published.external_id)]["featured_media"] == first_id


def test_a_retry_after_a_lost_upload_answer_finds_the_picture_instead_of_uploading(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    first, second = two(tmp_path)
    # WordPress stores the first picture, and a proxy gives up waiting for it.
    wp.fail_next(1, status=504, body=b"<html>504 Gateway Time-out</html>", path=r"/media$")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article(media=(first, second)))
    assert caught.value.reached is False  # no article yet
    assert len(wp.media) == 1

    published = make().publish(article(media=(first, second)))

    assert len(uploads(wp)) == 2  # the lost one, then the second picture only
    assert len(wp.media) == 2
    found = api_requests(wp, "GET", "/wp/v2/media")
    assert [r.arg("search") for r in found] == [first.sha256[:16]]
    featured = wp.posts[int(published.external_id)]["featured_media"]
    assert wp.media[featured]["data"] == Path(first.path).read_bytes()


def test_uploads_are_remembered_in_the_database_across_restarts(
    wp: WordPressEmulator, make: Any, store: Store, tmp_path: Path
) -> None:
    media = two(tmp_path)
    wp.fail_next(1, drop=True, path=r"/wp/v2/posts$")
    with pytest.raises(RetryableChannelError):
        make(memory_=StoredMemory(store, "website")).publish(article(media=media))

    make(memory_=StoredMemory(store, "website")).publish(article(media=media))

    assert len(uploads(wp)) == 2
    assert len(wp.posts) == 1


def test_the_same_picture_in_a_later_article_is_reused_with_that_articles_alt_text(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    emblem = picture(tmp_path, (0, 51, 153), alt="Flamuri i BE-së")
    adapter = make()
    adapter.publish(article(1, media=(emblem,)))
    described = picture(tmp_path, (0, 51, 153), alt="Flamuri  i Bashkimit Evropian", caption="BE")

    published = adapter.publish(article(2, title="Tjetër", media=(described,)))

    (stored,) = wp.media.values()
    assert len(uploads(wp)) == 1
    assert wp.posts[int(published.external_id)]["featured_media"] == stored["id"]
    assert stored["alt_text"] == "Flamuri i Bashkimit Evropian"
    assert stored["caption"] == "BE"
    (change,) = api_requests(wp, "POST", f"/wp/v2/media/{stored['id']}")
    assert change.json() == {"alt_text": "Flamuri  i Bashkimit Evropian", "caption": "BE"}
    adapter.publish(article(3, title="E treta", media=(described,)))
    assert len(api_requests(wp, "POST", f"/wp/v2/media/{stored['id']}")) == 1  # nothing new


def test_a_remembered_picture_deleted_from_the_library_is_uploaded_again(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    emblem = picture(tmp_path, (0, 51, 153))
    adapter = make()
    adapter.publish(article(1, media=(emblem,)))
    (gone,) = wp.media
    del wp.media[gone]  # an editor emptied the Media Library

    published = adapter.publish(article(2, title="Tjetër", media=(emblem,)))

    (again,) = wp.media
    assert again != gone and len(uploads(wp)) == 2
    assert wp.posts[int(published.external_id)]["featured_media"] == again


def test_a_remembered_id_that_is_now_another_file_is_not_used(
    wp: WordPressEmulator, make: Any, memory: LocalMemory, tmp_path: Path
) -> None:
    emblem = picture(tmp_path, (0, 51, 153))
    # The channel pointed at another site before: id 1 there is the emblem, here not.
    with WordPressEmulator() as other:
        assert isinstance(other, WordPressEmulator)
        adapter = WordPressAdapter(channel(other.base_url), memory=memory)
        adapter.publish(article(1, media=(emblem,)))
        adapter.close()
    make().publish(article(2, media=(picture(tmp_path, (1, 1, 1)),)))
    assert 1 in wp.media

    published = make().publish(article(3, title="Tjetër", media=(emblem,)))

    featured = wp.posts[int(published.external_id)]["featured_media"]
    assert featured != 1
    assert wp.media[featured]["data"] == Path(emblem.path).read_bytes()
    assert len(uploads(wp)) == 2


# -- refusals ---------------------------------------------------------------------------


def test_a_picture_that_cannot_be_read_is_a_permanent_error(make: Any, tmp_path: Path) -> None:
    gone = picture(tmp_path, (9, 9, 9))
    Path(gone.path).unlink()
    with pytest.raises(PermanentChannelError, match=r"picture 1 .* cannot be read") as caught:
        make().publish(article(media=(gone,)))
    assert not isinstance(caught.value, RetryableChannelError)


def test_a_picture_whose_file_changed_is_not_uploaded(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    changed = picture(tmp_path, (9, 9, 9))
    Path(changed.path).write_bytes(Path(picture(tmp_path, (8, 8, 8)).path).read_bytes())
    with pytest.raises(PermanentChannelError, match="not the picture that was approved"):
        make().publish(article(media=(changed,)))
    assert uploads(wp) == []


def test_a_file_wordpress_refuses_is_permanent_with_its_words(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    data = b"<html>not a picture</html>"
    fake = tmp_path / "fake.png"
    fake.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    media = Media(str(fake), "image/png", digest, "Diçka", 10, 10, len(data))
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article(media=(media,)))
    assert not isinstance(caught.value, RetryableChannelError)
    assert str(caught.value) == (
        f"WordPress at {wp.base_url.removeprefix('http://')} could not store the image while "
        'uploading picture 1 ("Diçka"): Sorry, you are not allowed to upload this file type. '
        "Use a JPEG, PNG, GIF or WebP image, or ask the site administrator to check the "
        "uploads folder"
    )


def test_php_upload_limits_do_not_stop_a_picture_sent_as_the_body(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    # PHP applies upload_max_filesize and post_max_size to forms, not to a raw body.
    wp.library.upload_max_filesize = wp.library.post_max_size = 100
    published = make().publish(article(media=(picture(tmp_path, (1, 2, 3)),)))
    (stored,) = wp.media.values()
    assert len(stored["data"]) > 100
    assert wp.posts[int(published.external_id)]["featured_media"] == stored["id"]


def test_a_picture_that_arrives_without_its_content_is_permanent(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    no_data = {"code": "rest_upload_no_data", "message": "No data supplied.", "data": {}}
    wp.fail_next(1, status=400, body=no_data, path=r"/media$")  # a proxy dropped the body
    with pytest.raises(PermanentChannelError, match="without its content") as caught:
        make().publish(article(media=(picture(tmp_path, (1, 2, 3), alt="Sheshi"),)))
    assert not isinstance(caught.value, RetryableChannelError)
    assert str(caught.value).startswith(
        f'WordPress at {wp.base_url.removeprefix("http://")} received picture 1 ("Sheshi")'
    )


@pytest.mark.parametrize(
    ("multisite_kb", "fault"),
    [(0, None), (None, b"<html><h1>413 Request Entity Too Large</h1></html>")],
    ids=["multisite-limit", "web-server-limit"],
)
def test_a_picture_too_large_for_the_site_is_permanent(
    wp: WordPressEmulator,
    make: Any,
    tmp_path: Path,
    multisite_kb: int | None,
    fault: bytes | None,
) -> None:
    wp.library.multisite_max_kb = multisite_kb
    if fault is not None:
        wp.fail_next(1, status=413, body=fault, path=r"/media$")
    with pytest.raises(PermanentChannelError, match="as too large") as caught:
        make().publish(article(media=(picture(tmp_path, (1, 2, 3)),)))
    assert not isinstance(caught.value, RetryableChannelError)
    assert "HTTP 413" in str(caught.value) or "Files must be less than 0 KB" in str(caught.value)
    assert wp.posts == {}


def test_a_picture_damaged_on_the_way_is_tried_again(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    mismatch = {
        "code": "rest_upload_hash_mismatch",
        "message": "Content hash did not match expected.",
        "data": {"status": 412},
    }
    wp.fail_next(1, status=412, body=mismatch, path=r"/media$")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article(media=(picture(tmp_path, (1, 2, 3), alt="Sheshi"),)))
    assert caught.value.reached is False
    assert str(caught.value).startswith('picture 1 ("Sheshi") reached WordPress at ')
    assert "damaged" in str(caught.value)


def test_a_contributor_may_not_upload_pictures(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    wp.add_user("contrib", application_password="zzzz zzzz zzzz zzzz zzzz zzzz", role="contributor")
    adapter = make(username="contrib", password="zzzz zzzz zzzz zzzz zzzz zzzz", status="pending")
    with pytest.raises(CredentialsError, match=r"^WordPress user 'contrib' may not upload images"):
        adapter.publish(article(media=(picture(tmp_path, (1, 2, 3)),)))


def test_trouble_with_a_picture_did_not_reach_wordpress(
    wp: WordPressEmulator, make: Any, tmp_path: Path
) -> None:
    wp.fail_next(1, status=503, body=b"busy", path=r"/wp/v2/media$")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article(media=two(tmp_path)))
    assert caught.value.reached is False
    assert api_requests(wp, "POST", "/wp/v2/posts") == []

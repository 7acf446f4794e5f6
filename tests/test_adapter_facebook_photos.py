"""Facebook posts with pictures: a photo post, a multi-photo post of unpublished photos,
each photo with its alt text, uploads reused after a crash (issue 13)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from emulators.graph import GraphEmulator
from emulators.graph_media import multipart_parts
from emulators.server import Request, Response
from visibility.adapters.base import LocalMemory, Media, Memory, Publication
from visibility.adapters.facebook import FacebookAdapter
from visibility.config.channels import parse_channels
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)
from visibility.queue.ops import StoredMemory
from visibility.queue.store import Store

PAGE_ID = "104857600123456"
OTHER_PAGE = "104857600999999"
TOKEN = "EAAGpageToken7f3a9c2e5b1d4f6a8c0e"
OTHER_TOKEN = "EAAGotherPageToken11223344556677"
LINK = "https://qbsc.example.org/thirrje"
COLOURS = {"a": (200, 30, 30), "b": (30, 200, 30), "c": (30, 30, 200)}


def picture(
    folder: Path,
    name: str,
    *,
    alt: str | None = None,
    caption: str | None = None,
    data: bytes | None = None,
    mime_type: str = "image/jpeg",
) -> Media:
    """A picture file as the publisher hands it over (its sha256 names its content)."""
    if data is None:
        buffer = io.BytesIO()
        colour = COLOURS.get(name, (sum(map(ord, name)) % 256, 120, 60))
        Image.new("RGB", (320, 200), colour).save(buffer, format="JPEG")
        data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}.jpg"
    path.write_bytes(data)
    return Media(
        path=str(path),
        mime_type=mime_type,
        sha256=digest,
        alt=alt or f"Fotografia {name}",
        width=320,
        height=200,
        size=len(data),
        caption=caption,
    )


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
    graph_server.hooks.clear()
    return graph_server


MakeAdapter = Callable[..., FacebookAdapter]


@pytest.fixture
def make_adapter(graph: GraphEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeAdapter]:
    made: list[FacebookAdapter] = []

    def make(memory: Memory | None = None) -> FacebookAdapter:
        monkeypatch.setenv("FB_NATIONAL_TOKEN", TOKEN)
        config = parse_channels(
            {
                "channels": [
                    {
                        "name": "fb-national",
                        "kind": "facebook",
                        "secrets": {"page_access_token": "FB_NATIONAL_TOKEN"},
                        "options": {"page_id": PAGE_ID, "base_url": graph.base_url},
                    }
                ]
            },
            source="<test>",
        )
        adapter = FacebookAdapter(config.channels[0], memory=memory)
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


@pytest.fixture
def memory() -> LocalMemory:
    return LocalMemory()


@pytest.fixture
def adapter(make_adapter: MakeAdapter, memory: LocalMemory) -> FacebookAdapter:
    return make_adapter(memory)


def publication(
    media: tuple[Media, ...], body: str = "Trajnime për organizatat", **kw: Any
) -> Publication:
    return Publication(
        post_id=kw.pop("post_id", 7),
        news_item_id=3,
        channel="fb-national",
        kind="facebook",
        body=body,
        link=kw.pop("link", LINK),
        media=media,
    )


def calls(graph: GraphEmulator, edge: str) -> list[Request]:
    return [r for r in graph.requests if r.method == "POST" and r.path.endswith(f"/{edge}")]


def raised(call: Callable[[], object], kind: type[ChannelError]) -> ChannelError:
    with pytest.raises(kind) as info:
        call()
    assert TOKEN not in str(info.value)
    assert info.value.channel == "fb-national"
    return info.value


def three(folder: Path) -> tuple[Media, ...]:
    return (
        picture(folder, "a", alt="Pjesëmarrësit e trajnimit", caption="Trajnimi i parë"),
        picture(folder, "b", alt="Trajnerja para tablës"),
        picture(folder, "c", alt="Logoja e Qendrës"),
    )


# -- one picture: a photo post ---------------------------------------------------------------


def test_one_picture_is_a_photo_post_with_its_alt_text(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    photo = picture(tmp_path, "a", alt="Pjesëmarrësit e trajnimit në Prishtinë")

    published = adapter.publish(publication((photo,)))

    [request] = graph.requests
    assert request.path == f"/v24.0/{PAGE_ID}/photos"
    assert request.headers["content-type"].startswith("multipart/form-data")
    parts = multipart_parts(request)
    source = parts["source"]
    assert source.data == Path(photo.path).read_bytes()
    assert (source.filename, source.content_type) == (Path(photo.path).name, "image/jpeg")
    text = f"Trajnime për organizatat\n\n{LINK}"  # Graph takes no link field with a photo
    assert parts["caption"].text == text
    assert parts["alt_text_custom"].text == "Pjesëmarrësit e trajnimit në Prishtinë"
    assert "published" not in parts and "link" not in parts
    [post] = graph.posts_on()
    assert (post.message, post.link) == (text, None)
    [shown] = post.photos
    assert (shown.alt_text, shown.published, shown.post_id) == (photo.alt, True, post.id)
    assert published.external_id == post.id  # the post, not the photo
    assert published.url == f"https://www.facebook.com/{post.id}"
    assert published.parts == (text,)


def test_a_body_that_holds_its_link_goes_out_as_it_is(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    post = publication((picture(tmp_path, "a"),), body=f"Lexoni më shumë: {LINK}")

    published = adapter.publish(post)

    assert graph.posts_on()[0].message == f"Lexoni më shumë: {LINK}"
    assert published.parts == ()


def test_graph_reads_the_alt_text_back_on_the_photo(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    adapter.publish(publication((picture(tmp_path, "a", alt="Një sallë plot"),)))
    [photo] = graph.posts_on()[0].photos

    answer = requests.get(
        f"{graph.base_url}/v24.0/{photo.id}",
        params={"fields": "alt_text_custom,page_story_id"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )

    assert answer.json() == {
        "alt_text_custom": "Një sallë plot",
        "page_story_id": graph.posts_on()[0].id,
        "id": photo.id,
    }


# -- several pictures: unpublished photos, then one post ---------------------------------------


def test_three_pictures_make_one_multi_photo_post(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    media = three(tmp_path)

    published = adapter.publish(publication(media))

    uploads = calls(graph, "photos")
    assert len(uploads) == 3
    photo_ids = []
    for upload, sent in zip(uploads, media, strict=True):
        parts = multipart_parts(upload)
        assert parts["published"].text == "false"
        assert parts["alt_text_custom"].text == sent.alt
        assert parts["source"].data == Path(sent.path).read_bytes()
        assert parts["source"].content_type == "image/jpeg"
        assert "message" not in parts and "link" not in parts
        photo_ids.append(upload_answer_id(graph, upload))
    assert multipart_parts(uploads[0])["caption"].text == "Trajnimi i parë"
    [feed] = calls(graph, "feed")
    assert feed.headers["content-type"] == "application/x-www-form-urlencoded"
    form = feed.form()
    assert form == {
        "message": f"Trajnime për organizatat\n\n{LINK}",
        "attached_media[0]": json.dumps({"media_fbid": photo_ids[0]}),
        "attached_media[1]": json.dumps({"media_fbid": photo_ids[1]}),
        "attached_media[2]": json.dumps({"media_fbid": photo_ids[2]}),
    }
    [post] = graph.posts_on()  # the uploads alone showed nothing on the Page
    assert published.external_id == post.id
    assert [p.id for p in post.photos] == photo_ids
    assert [p.alt_text for p in post.photos] == [m.alt for m in media]
    assert all(p.published and p.post_id == post.id for p in post.photos)


def upload_answer_id(graph: GraphEmulator, upload: Request) -> str:
    """The id Graph gave the photo ``upload`` sent (found by its bytes)."""
    data = multipart_parts(upload)["source"].data
    [photo] = [p for p in graph.photos.values() if p.data == data]
    return photo.id


def test_an_unpublished_upload_shows_nothing_and_answers_only_its_id(
    graph: GraphEmulator, tmp_path: Path
) -> None:
    photo = picture(tmp_path, "a")
    with Path(photo.path).open("rb") as handle:
        answer = requests.post(
            f"{graph.base_url}/v24.0/{PAGE_ID}/photos",
            data={"published": "false", "alt_text_custom": "Salla"},
            files={"source": ("a.jpg", handle, "image/jpeg")},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )

    body = answer.json()
    assert list(body) == ["id"]
    assert graph.posts_on() == []
    assert graph.photos[body["id"]].published is False
    assert graph.photos[body["id"]].alt_text == "Salla"


def test_find_published_finds_a_multi_photo_post_by_its_message(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    post = publication(three(tmp_path))
    published = adapter.publish(post)

    found = adapter.find_published(post, datetime.now(UTC) - timedelta(minutes=1))

    assert found == published
    other = publication(three(tmp_path), body="Një tjetër lajm")
    assert adapter.find_published(other, datetime.now(UTC) - timedelta(minutes=1)) is None


def test_engagement_reads_a_multi_photo_post(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    post_id = adapter.publish(publication(three(tmp_path))).external_id
    graph.set_engagement(post_id, reactions=31, comments=4, shares=2, views=900, clicks=17)

    [figures] = adapter.engagement([post_id])

    assert (figures.external_id, figures.reactions, figures.comments) == (post_id, 31, 4)
    assert (figures.shares, figures.impressions, figures.clicks) == (2, 900, 17)


# -- exactly once: what an earlier try uploaded is attached, not uploaded again ---------------


def drop_upload_after(graph: GraphEmulator, uploads: int) -> None:
    """Lose the connection on the upload after the first ``uploads`` (a worker killed)."""
    seen: list[Request] = []

    def hook(request: Request, response: Response | None) -> None:
        if response is not None and request.path.endswith("/photos"):
            seen.append(request)
            if len(seen) == uploads:
                graph.fail_next(drop=True, path=r"/photos$")

    graph.hooks.append(hook)


def test_a_retry_after_a_crash_reuses_the_photos_uploaded_before_it(
    make_adapter: MakeAdapter, graph: GraphEmulator, memory: LocalMemory, tmp_path: Path
) -> None:
    media = three(tmp_path)
    post = publication(media)
    drop_upload_after(graph, 2)

    error = raised(lambda: make_adapter(memory).publish(post), RetryableChannelError)
    assert isinstance(error, RetryableChannelError)
    assert error.reached is False  # unpublished uploads put nothing on the Page
    assert graph.posts_on() == [] and len(graph.photos) == 2
    graph.hooks.clear()

    # Another worker (or the restarted one) shares the memory, not the adapter.
    published = make_adapter(memory).publish(post)

    assert len(graph.photos) == 3  # the first two were not uploaded again
    [shown] = graph.posts_on()
    assert published.external_id == shown.id
    assert [p.data for p in shown.photos] == [Path(m.path).read_bytes() for m in media]
    assert [p.alt_text for p in shown.photos] == [m.alt for m in media]


def test_uploads_are_remembered_in_the_database_across_restarts(
    make_adapter: MakeAdapter, graph: GraphEmulator, store: Store, tmp_path: Path
) -> None:
    post = publication(three(tmp_path))
    drop_upload_after(graph, 1)
    with pytest.raises(RetryableChannelError):
        make_adapter(StoredMemory(store, "fb-national")).publish(post)
    graph.hooks.clear()

    make_adapter(StoredMemory(store, "fb-national")).publish(post)

    assert len(graph.photos) == 3
    assert len(calls(graph, "photos")) == 4  # one upload, the lost one, then two more
    [shown] = graph.posts_on()
    assert len(shown.photos) == 3


def test_a_lost_answer_to_the_post_is_found_not_posted_again(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    post = publication(three(tmp_path))
    graph.fail_next(status=500, path=r"/feed$")  # Graph posted, then its answer failed

    error = raised(lambda: adapter.publish(post), RetryableChannelError)

    assert isinstance(error, RetryableChannelError) and error.reached is True
    [shown] = graph.posts_on()
    found = adapter.find_published(post, datetime.now(UTC) - timedelta(minutes=1))
    assert found is not None and found.external_id == shown.id


def test_an_upload_another_post_made_is_not_attached(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    logo = picture(tmp_path, "logo", alt="Logoja e Qendrës")
    graph.fail_next(drop=True, path=r"/feed$")
    with pytest.raises(RetryableChannelError):
        adapter.publish(publication((logo, picture(tmp_path, "a")), post_id=7))
    earlier = {p.id for p in graph.photos.values()}

    adapter.publish(publication((logo, picture(tmp_path, "b")), body="Lajm tjetër", post_id=8))

    [shown] = graph.posts_on()
    assert not {p.id for p in shown.photos} & earlier


def test_a_photo_graph_no_longer_attaches_is_uploaded_again(
    adapter: FacebookAdapter, graph: GraphEmulator, memory: LocalMemory, tmp_path: Path
) -> None:
    media = three(tmp_path)
    published = adapter.publish(publication(media, post_id=7))
    used = [p.id for p in graph.posts_on()[0].photos]
    adapter.delete(published.external_id)
    # An earlier try's note that outlived its post (the photo is published now).
    memory.remember(f"photo:{media[0].sha256}", f"{used[0]} 9")

    error = raised(lambda: adapter.publish(publication(media, post_id=9)), RetryableChannelError)

    assert isinstance(error, RetryableChannelError) and error.reached is False
    assert "uploaded again on the next try" in str(error)
    assert "published already" in str(error)
    assert graph.posts_on() == []
    published = adapter.publish(publication(media, post_id=9))
    [shown] = graph.posts_on()
    assert shown.id == published.external_id
    assert not {p.id for p in shown.photos} & set(used)


def test_uploads_are_spent_once_the_post_is_out(
    adapter: FacebookAdapter, memory: LocalMemory, tmp_path: Path
) -> None:
    media = three(tmp_path)
    adapter.publish(publication(media))

    notes = memory.recall("photo:", since=datetime.now(UTC) - timedelta(minutes=1))

    assert notes == {f"photo:{m.sha256}": "" for m in media}


# -- errors, in staff's words -------------------------------------------------------------------


def test_a_file_that_is_no_picture_is_refused_for_good(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    notes = picture(tmp_path, "notes", data=b"not a picture at all")

    error = raised(lambda: adapter.publish(publication((notes,))), PermanentChannelError)

    assert "(#324) Missing or invalid image file" in str(error)
    assert "Replace the picture" in str(error)
    assert graph.errors[-1]["fbtrace_id"] in str(error)


def test_a_picture_over_four_megabytes_is_refused_with_graph_words(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    big = picture(tmp_path, "big", data=b"\xff\xd8\xff\xe0" + b"\x00" * 4_000_000)

    error = raised(lambda: adapter.publish(publication((big,))), PermanentChannelError)

    assert "Photos should be less than 4 MB" in str(error)
    assert graph.errors[-1]["error_subcode"] == 1366046
    assert graph.posts_on() == []


def test_an_unreadable_picture_fails_before_any_call(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    media = three(tmp_path)
    Path(media[2].path).unlink()

    error = raised(lambda: adapter.publish(publication(media)), PermanentChannelError)

    assert "picture 3 of post 7" in str(error) and "cannot be read" in str(error)
    assert graph.requests == []


def test_more_pictures_than_a_post_takes_are_refused_before_any_call(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    media = tuple(picture(tmp_path, f"p{n}") for n in range(11))

    error = raised(lambda: adapter.publish(publication(media)), PermanentChannelError)

    assert "11 pictures" in str(error) and "10 at most" in str(error)
    assert graph.requests == []


def test_a_rate_limit_on_an_upload_waits_and_nothing_was_posted(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    graph.rate_limit(32, minutes=12, count=1)

    error = raised(lambda: adapter.publish(publication(three(tmp_path))), RetryableChannelError)

    assert isinstance(error, RetryableChannelError)
    assert error.reached is False and error.retry_after is not None
    assert "rate limiting this Page" in str(error)


def test_a_server_error_on_an_upload_is_retried_without_looking_for_the_post(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    graph.fail_next(status=500, path=r"/photos$")

    error = raised(lambda: adapter.publish(publication(three(tmp_path))), RetryableChannelError)

    assert isinstance(error, RetryableChannelError) and error.reached is False
    assert "the upload of picture 1 of 3" in str(error)


def test_a_server_error_on_a_photo_post_may_have_posted_it(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    graph.fail_next(status=500, path=r"/photos$")

    error = raised(
        lambda: adapter.publish(publication((picture(tmp_path, "a"),))), RetryableChannelError
    )

    assert isinstance(error, RetryableChannelError) and error.reached is True
    assert len(graph.posts_on()) == 1  # Graph had posted it: the scheduler looks first


def test_an_expired_token_on_an_upload_asks_for_a_new_one(
    adapter: FacebookAdapter, graph: GraphEmulator, tmp_path: Path
) -> None:
    graph.expire_token(TOKEN)

    error = raised(lambda: adapter.publish(publication(three(tmp_path))), CredentialsError)

    assert "the Page access token has expired" in str(error)


# -- the emulator refuses what Graph refuses ------------------------------------------------------


def graph_post(graph: GraphEmulator, edge: str, token: str = TOKEN, **kw: Any) -> Any:
    page = kw.pop("page", PAGE_ID)
    answer = requests.post(
        f"{graph.base_url}/v24.0/{page}/{edge}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
        **kw,
    )
    return answer.json()


def unpublished(graph: GraphEmulator, media: Media, **kw: Any) -> str:
    with Path(media.path).open("rb") as handle:
        body = graph_post(
            graph,
            "photos",
            data={"published": "false"},
            files={"source": ("p.jpg", handle, "image/jpeg")},
            **kw,
        )
    return str(body["id"])


def attach(graph: GraphEmulator, *photo_ids: str, **extra: str) -> Any:
    data = {f"attached_media[{i}]": json.dumps({"media_fbid": p}) for i, p in enumerate(photo_ids)}
    return graph_post(graph, "feed", data={"message": "Foto", **data, **extra})


def test_the_emulator_refuses_a_file_that_is_not_sent_as_a_picture(
    graph: GraphEmulator, tmp_path: Path
) -> None:
    photo = picture(tmp_path, "a")
    with Path(photo.path).open("rb") as handle:
        typed = graph_post(
            graph, "photos", files={"source": ("a.jpg", handle, "application/octet-stream")}
        )
    missing = graph_post(graph, "photos", data={"caption": "Pa skedar"})

    assert typed["error"]["code"] == 324
    assert missing["error"]["message"] == "(#324) Requires upload file"
    assert graph.photos == {} and graph.posts_on() == []


def test_the_emulator_attaches_only_unpublished_photos_of_the_page(
    graph: GraphEmulator, tmp_path: Path
) -> None:
    graph.add_page(OTHER_PAGE, "Tjetër", OTHER_TOKEN)
    mine = unpublished(graph, picture(tmp_path, "a"))
    theirs = unpublished(graph, picture(tmp_path, "b"), token=OTHER_TOKEN, page=OTHER_PAGE)

    unknown = attach(graph, "123456789")
    foreign = attach(graph, mine, theirs)
    with_link = attach(graph, mine, link=LINK)
    posted = attach(graph, mine)
    again = attach(graph, mine)

    for refused in (unknown, foreign, with_link, again):
        assert refused["error"]["code"] == 100, refused
    assert "attached_media[1]" in foreign["error"]["message"]
    assert "link" in with_link["error"]["message"]
    assert "published already" in again["error"]["message"]
    [post] = graph.posts_on()
    assert post.id == posted["id"] and [p.id for p in post.photos] == [mine]

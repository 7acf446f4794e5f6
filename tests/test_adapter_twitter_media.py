"""Pictures on X: the adapter's uploads against the X emulator's v2 media endpoints."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from requests_oauthlib import OAuth1

from emulators.x import XAccount, XEmulator
from emulators.x_media import IMAGE_MAX_BYTES, parse_multipart
from visibility.adapters.base import LocalMemory, Media, Memory, Publication
from visibility.adapters.registry import build_adapter
from visibility.adapters.twitter import TwitterAdapter, split_thread
from visibility.adapters.twitter_media import ONE_SHOT_MAX, SEGMENT_BYTES
from visibility.config.channels import Channel, parse_channels
from visibility.config.settings import load_settings
from visibility.errors import CredentialsError, PermanentChannelError, RetryableChannelError

ENV = {
    "api_key": "X_MEDIA_API_KEY",
    "api_secret": "X_MEDIA_API_SECRET",
    "access_token": "X_MEDIA_ACCESS_TOKEN",
    "access_token_secret": "X_MEDIA_ACCESS_TOKEN_SECRET",
}
REAL = "https://api.twitter.com"
SENTENCES = [
    "Qendra Burimore opens its call for small grants to local civil-society groups today.",
    "Groups working on transparency, environment and youth participation can apply.",
    "The fund covers up to twelve months of work and grants of up to 8000 euro each.",
    "Applications are accepted in Albanian, Serbian and English until the end of June.",
]


@pytest.fixture(scope="module")
def running_x() -> Iterator[XEmulator]:
    emulator = XEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def x(running_x: XEmulator) -> XEmulator:
    running_x.reset()
    return running_x


def channel_for(em: XEmulator, monkeypatch: pytest.MonkeyPatch, **overrides: Any) -> Channel:
    values = {
        "api_key": em.consumer_key,
        "api_secret": em.consumer_secret,
        "access_token": em.account.access_token,
        "access_token_secret": em.account.access_token_secret,
    }
    options: dict[str, Any] = {"base_url": em.base_url, "timeout": 5}
    for key, value in overrides.items():
        (values if key in values else options)[key] = value
    for role, name in ENV.items():
        monkeypatch.setenv(name, values[role])
    data = {"channels": [{"name": "x-main", "kind": "twitter", "secrets": ENV, "options": options}]}
    return parse_channels(data, source="<test>").channels[0]


MakeAdapter = Callable[..., TwitterAdapter]


@pytest.fixture
def make_adapter(x: XEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakeAdapter]:
    made: list[TwitterAdapter] = []

    def make(
        *, memory: Memory | None = None, emulator: XEmulator | None = None, **overrides: Any
    ) -> TwitterAdapter:
        adapter = TwitterAdapter(
            channel_for(emulator or x, monkeypatch, **overrides), memory=memory
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()


def image_bytes(fmt: str, width: int = 320, height: int = 200, *, noise: bool = False) -> bytes:
    if noise:
        picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        picture = Image.new("RGB", (width, height), (20, 90, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buffer.getvalue()


MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def media_file(
    folder: Path, name: str, data: bytes, alt: str, mime: str = "image/jpeg", width: int = 320
) -> Media:
    path = folder / name
    path.write_bytes(data)
    return Media(
        path=str(path),
        mime_type=mime,
        sha256=hashlib.sha256(data).hexdigest(),
        alt=alt,
        width=width,
        height=200,
        size=len(data),
    )


def picture(folder: Path, name: str, alt: str, fmt: str = "JPEG", **kw: Any) -> Media:
    data = image_bytes(fmt, **kw)
    return media_file(folder, name, data, alt, MIME[fmt])


def post_with(body: str, *media: Media) -> Publication:
    return Publication(
        post_id=7, news_item_id=3, channel="x-main", kind="twitter", body=body, media=media
    )


def tweet_bodies(x: XEmulator) -> list[Any]:
    return [r.json() for r in x.calls("/2/tweets", "POST")]


def fields(request: Any) -> dict[str, Any]:
    parts = parse_multipart(request.body, request.headers["content-type"])
    assert isinstance(parts, dict), parts
    return {p.name: p for p in parts.values()}


def signed_urls(x: XEmulator) -> list[str]:
    return [s.url for s in x.signed]


# -- one picture, four pictures, a thread ---------------------------------------------------


def test_one_picture_goes_up_in_one_signed_request_with_its_alt_text(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    photo = picture(tmp_path, "trajnimi.jpg", "Pjesëmarrësit e trajnimit në Prishtinë")
    published = make_adapter().publish(post_with("Trajnimet fillojnë sot.", photo))

    [upload] = x.uploads
    assert upload.data == Path(photo.path).read_bytes()
    assert (upload.media_type, upload.category, upload.chunked) == (
        "image/jpeg",
        "tweet_image",
        False,
    )
    assert upload.alt == "Pjesëmarrësit e trajnimit në Prishtinë"
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.id == published.external_id
    assert tweet.media_ids == (upload.id,)
    assert tweet_bodies(x) == [
        {"text": "Trajnimet fillojnë sot.", "media": {"media_ids": [upload.id]}}
    ]
    # The wire: a multipart one-shot upload, then the alt text, then the tweet.
    [sent] = x.calls("/2/media/upload", "POST")
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    form = fields(sent)
    assert form["media_category"].data == b"tweet_image"
    assert form["media_type"].data == b"image/jpeg"
    assert form["media"].content_type == "image/jpeg"
    [metadata] = x.calls("/2/media/metadata", "POST")
    assert metadata.headers["content-type"] == "application/json"
    assert metadata.json() == {
        "id": upload.id,
        "metadata": {"alt_text": {"text": "Pjesëmarrësit e trajnimit në Prishtinë"}},
    }
    # Every request signed with OAuth 1.0a over X's own address.
    assert signed_urls(x)[:3] == [
        f"{REAL}/2/media/upload",
        f"{REAL}/2/media/metadata",
        f"{REAL}/2/tweets",
    ]
    assert all(s.token == x.account.access_token for s in x.signed)
    assert "not supported" not in caplog.text


def test_four_pictures_go_out_in_order_each_with_its_alt_text(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    pictures = [
        picture(tmp_path, "a.jpg", "Sala e trajnimit", "JPEG"),
        picture(tmp_path, "b.png", "Logoja e Qendrës", "PNG"),
        picture(tmp_path, "c.webp", "Harta e komunave", "WEBP"),
        picture(tmp_path, "d.gif", "Grafiku i granteve", "GIF"),
    ]
    make_adapter().publish(post_with("Katër pamje nga java.", *pictures))

    uploads = x.uploads
    assert [u.media_type for u in uploads] == ["image/jpeg", "image/png", "image/webp", "image/gif"]
    assert [u.alt for u in uploads] == [p.alt for p in pictures]
    assert [u.data for u in uploads] == [Path(p.path).read_bytes() for p in pictures]
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.media_ids == tuple(u.id for u in uploads)
    # The one-shot form takes no GIF: that one went through the chunked flow.
    assert [u.chunked for u in uploads] == [False, False, False, True]
    assert len(x.calls("/2/media/upload", "POST")) == 3


def test_more_than_four_pictures_are_refused_before_any_call(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    pictures = [picture(tmp_path, f"{i}.jpg", f"Pamja {i}", width=100 + i) for i in range(5)]
    with pytest.raises(PermanentChannelError, match="at most 4 pictures"):
        make_adapter().publish(post_with("Pesë pamje.", *pictures))
    assert x.requests == []


def test_a_thread_carries_the_pictures_on_its_first_tweet(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    photos = [
        picture(tmp_path, "a.jpg", "Sala e trajnimit"),
        picture(tmp_path, "b.png", "Logoja", "PNG"),
    ]
    text = " ".join(SENTENCES * 2)
    published = make_adapter(thread=True).publish(post_with(text, *photos))

    tweets = x.tweets["QendraBurimore"]
    assert len(tweets) == len(split_thread(text)) > 1
    assert tweets[0].id == published.external_id
    assert tweets[0].media_ids == tuple(u.id for u in x.uploads)
    assert all(t.media_ids == () for t in tweets[1:])
    bodies = tweet_bodies(x)
    assert "media" in bodies[0]
    assert all("media" not in b for b in bodies[1:])


def test_the_same_picture_twice_goes_up_once(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    photo = picture(tmp_path, "a.jpg", "Sala e trajnimit")
    make_adapter().publish(post_with("Një pamje, dy herë.", photo, photo))
    [upload] = x.uploads
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.media_ids == (upload.id,)


# -- alt text ---------------------------------------------------------------------------------


def test_alt_text_over_1000_characters_is_refused_before_any_upload(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    photo = picture(tmp_path, "a.jpg", "Pamje e gjatë " * 80)
    with pytest.raises(PermanentChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", photo))
    assert "1,000" in str(caught.value)
    assert "picture 1" in str(caught.value)
    assert x.requests == []


def test_the_emulator_refuses_alt_text_over_1000_characters(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    make_adapter().publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    [upload] = x.uploads
    with real_session(x) as session:
        answer = session.post(
            f"{REAL}/2/media/metadata",
            json={"id": upload.id, "metadata": {"alt_text": {"text": "a" * 1001}}},
            auth=user_auth(x),
            timeout=5,
        )
    assert answer.status_code == 400
    assert "1000 characters" in answer.json()["errors"][0]["message"]
    assert upload.alt == "Sala"


# -- the chunked flow -------------------------------------------------------------------------


def test_a_big_picture_goes_up_in_segments(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    data = image_bytes("JPEG", 1920, 1200, noise=True)
    assert 2 * SEGMENT_BYTES < len(data) <= IMAGE_MAX_BYTES and len(data) > ONE_SHOT_MAX
    photo = media_file(tmp_path, "big.jpg", data, "Turma në shesh")
    make_adapter().publish(post_with("Pamje e madhe.", photo))

    [upload] = x.uploads
    assert upload.chunked and upload.data == data and upload.alt == "Turma në shesh"
    assert x.calls("/2/media/upload", "POST") == []
    [init] = x.calls("/2/media/upload/initialize", "POST")
    assert init.headers["content-type"] == "application/json"
    assert init.json() == {
        "media_type": "image/jpeg",
        "total_bytes": len(data),
        "media_category": "tweet_image",
    }
    appends = x.calls(rf"/2/media/upload/{upload.id}/append", "POST")
    segments = [fields(a) for a in appends]
    assert [s["segment_index"].data for s in segments] == [
        str(i).encode() for i in range(len(appends))
    ]
    assert len(appends) == -(-len(data) // SEGMENT_BYTES)
    assert b"".join(s["media"].data for s in segments) == data
    assert len(x.calls(rf"/2/media/upload/{upload.id}/finalize", "POST")) == 1
    assert [u for u in signed_urls(x) if "/media/" in u] == [
        f"{REAL}/2/media/upload/initialize",
        *[f"{REAL}/2/media/upload/{upload.id}/append"] * len(appends),
        f"{REAL}/2/media/upload/{upload.id}/finalize",
        f"{REAL}/2/media/metadata",
    ]
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.media_ids == (upload.id,)


def test_processing_is_asked_after_on_the_next_try_not_uploaded_again(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    x.process_next(polls=1)
    adapter = make_adapter()
    photo = picture(tmp_path, "a.jpg", "Sala e trajnimit")
    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(post_with("Pamja po përpunohet.", photo))
    assert caught.value.reached is False
    assert "still processing picture 1" in str(caught.value)
    assert x.tweets["QendraBurimore"] == []

    adapter.publish(post_with("Pamja po përpunohet.", photo))
    [upload] = x.uploads
    [status] = x.calls("/2/media/upload", "GET")
    assert status.arg("command") == "STATUS" and status.arg("media_id") == upload.id
    assert len(x.calls("/2/media/upload", "POST")) == 1
    assert upload.alt == "Sala e trajnimit"
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.media_ids == (upload.id,)


def test_failed_processing_is_permanent_in_staff_words(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    x.process_next(polls=1, failure="Unsupported image format")
    adapter = make_adapter()
    photo = picture(tmp_path, "a.jpg", "Sala e trajnimit")
    with pytest.raises(RetryableChannelError):
        adapter.publish(post_with("Tekst.", photo))
    with pytest.raises(PermanentChannelError) as caught:
        adapter.publish(post_with("Tekst.", photo))
    message = str(caught.value)
    assert not isinstance(caught.value, RetryableChannelError)
    assert "X could not process picture 1 (“Sala e trajnimit”)" in message
    assert "Unsupported image format" in message
    assert "replace it" in message
    assert x.tweets["QendraBurimore"] == []


# -- errors -------------------------------------------------------------------------------------


def test_a_picture_over_5_mb_is_refused_as_too_large(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    photo = media_file(tmp_path, "huge.jpg", os.urandom(IMAGE_MAX_BYTES + 1), "Plakati")
    with pytest.raises(PermanentChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", photo))
    message = str(caught.value)
    assert "X refused picture 1 (“Plakati”) as too large" in message
    assert "File size exceeds 5242880 bytes." in message
    assert x.calls(r"/2/media/upload/\d+/append") == []
    assert x.tweets["QendraBurimore"] == []


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"%PDF-1.4 not a picture at all" * 10, "image/png"),
        (image_bytes("PNG"), "image/jpeg"),
    ],
    ids=["not-a-picture", "declared-wrongly"],
)
def test_a_file_x_does_not_take_is_refused_as_such(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path, data: bytes, mime: str
) -> None:
    photo = media_file(tmp_path, "file.bin", data, "Dokumenti", mime)
    with pytest.raises(PermanentChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", photo))
    message = str(caught.value)
    assert "does not take this kind of file (media type unrecognized.)" in message
    assert "JPEG or PNG" in message
    assert x.uploads == []
    assert x.tweets["QendraBurimore"] == []


def test_a_rate_limited_upload_did_not_reach_x_and_says_when(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "1900000000"}
    body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"}
    x.fail_next(1, status=429, body=body, headers=headers, path="^/2/media/upload$")
    with pytest.raises(RetryableChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    assert caught.value.reached is False
    assert caught.value.retry_after == datetime.fromtimestamp(1900000000, UTC)
    assert x.tweets["QendraBurimore"] == []


@pytest.mark.parametrize(
    ("path", "fault"),
    [
        ("^/2/media/upload$", {"status": 503, "body": {"title": "Service Unavailable"}}),
        ("^/2/media/upload$", {"drop": True}),
        ("^/2/media/metadata$", {"status": 500, "body": {"title": "Internal Error"}}),
    ],
    ids=["upload-503", "upload-dropped", "metadata-500"],
)
def test_server_trouble_while_uploading_is_retryable_and_no_tweet_was_made(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path, path: str, fault: dict[str, Any]
) -> None:
    x.fail_next(1, path=path, **fault)
    with pytest.raises(RetryableChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    assert caught.value.reached is False
    assert "picture 1 (“Sala”)" in str(caught.value)
    assert x.tweets["QendraBurimore"] == []


def test_metadata_failure_then_retry_reuses_the_upload_and_sets_the_alt_text(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    x.fail_next(1, path="^/2/media/metadata$", drop=True)
    adapter = make_adapter()
    photo = picture(tmp_path, "a.jpg", "Sala")
    with pytest.raises(RetryableChannelError):
        adapter.publish(post_with("Tekst.", photo))
    adapter.publish(post_with("Tekst.", photo))
    [upload] = x.uploads
    assert upload.alt == "Sala"
    assert len(x.calls("/2/media/metadata", "POST")) == 2
    assert x.tweets["QendraBurimore"][0].media_ids == (upload.id,)


# -- a retry reuses what went up; an expired upload goes up again ---------------------------


def test_a_retry_after_a_lost_answer_reuses_the_upload(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    memory = LocalMemory()  # the database in production, shared by workers and restarts
    photo = picture(tmp_path, "a.jpg", "Sala e trajnimit")
    x.fail_next(1, path="^/2/tweets$", drop=True)
    with pytest.raises(RetryableChannelError):
        make_adapter(memory=memory).publish(post_with("Tekst.", photo))
    assert x.tweets["QendraBurimore"] == []

    # Another worker (or the same after a restart) tries again.
    published = make_adapter(memory=memory).publish(post_with("Tekst.", photo))

    [upload] = x.uploads
    assert len(x.calls("/2/media/upload", "POST")) == 1  # no second upload
    assert upload.alt_calls == 1  # the alt text was already set
    [tweet] = x.tweets["QendraBurimore"]
    assert tweet.id == published.external_id and tweet.media_ids == (upload.id,)


def test_an_upload_about_to_expire_is_uploaded_again(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    x.media.lifetime = 600  # X's answer says the id lives ten more minutes only
    adapter = make_adapter()
    photo = picture(tmp_path, "a.jpg", "Sala")
    x.fail_next(1, path="^/2/tweets$", drop=True)
    with pytest.raises(RetryableChannelError):
        adapter.publish(post_with("Tekst.", photo))
    adapter.publish(post_with("Tekst.", photo))
    first, second = x.uploads
    assert first.data == second.data
    assert x.tweets["QendraBurimore"][0].media_ids == (second.id,)


def test_an_upload_x_let_expire_is_refused_then_uploaded_again(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    x.media.lifetime = 3600
    adapter = make_adapter()
    photo = picture(tmp_path, "a.jpg", "Sala")
    x.fail_next(1, path="^/2/tweets$", drop=True)
    with pytest.raises(RetryableChannelError):
        adapter.publish(post_with("Tekst.", photo))
    x.advance(3700)  # X forgets the upload sooner than the adapter expects

    with pytest.raises(RetryableChannelError) as caught:
        adapter.publish(post_with("Tekst.", photo))
    assert caught.value.reached is False
    assert "Your media IDs are invalid." in str(caught.value)
    assert x.tweets["QendraBurimore"] == []

    adapter.publish(post_with("Tekst.", photo))
    first, second = x.uploads
    assert x.tweets["QendraBurimore"][0].media_ids == (second.id,)
    assert first.id != second.id


def test_fresh_uploads_x_refuses_in_the_tweet_are_permanent(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    body = {
        "errors": [
            {"parameters": {"media.media_ids": ["1"]}, "message": "Your media IDs are invalid."}
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    x.fail_next(1, path="^/2/tweets$", status=400, body=body)
    with pytest.raises(PermanentChannelError) as caught:
        make_adapter().publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    assert not isinstance(caught.value, RetryableChannelError)
    assert "X refused the pictures it had just taken" in str(caught.value)


def test_the_registry_gives_the_adapter_its_memory(
    x: XEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = LocalMemory()
    adapter = build_adapter(
        channel_for(x, monkeypatch), load_settings(data_dir=tmp_path), memory=memory
    )
    try:
        photo = picture(tmp_path, "a.jpg", "Sala")
        adapter.publish(post_with("Tekst.", photo))
    finally:
        adapter.close()
    [upload] = x.uploads
    notes = memory.recall("media:", since=datetime.now(UTC) - timedelta(minutes=1))
    note = json.loads(notes["media:" + photo.sha256])
    assert note["id"] == upload.id
    assert note["expires_at"] > (datetime.now(UTC) + timedelta(hours=23)).timestamp()


# -- signatures and permissions ----------------------------------------------------------------


def user_auth(x: XEmulator, account: XAccount | None = None, **kw: Any) -> OAuth1:
    account = account or x.account
    return OAuth1(
        x.consumer_key,
        client_secret=x.consumer_secret,
        resource_owner_key=account.access_token,
        resource_owner_secret=account.access_token_secret,
        **kw,
    )


class _ToEmulator(requests.adapters.HTTPAdapter):
    """Sends what was signed for api.twitter.com to the emulator, as the adapter does."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None
        request.url = request.url.replace(REAL, self.base_url)
        return super().send(request, **kw)


def real_session(x: XEmulator) -> requests.Session:
    session = requests.Session()
    session.mount(f"{REAL}/", _ToEmulator(x.base_url))
    return session


def test_a_bad_signature_on_the_upload_is_a_credentials_error(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter(api_secret="wrong-api-secret-0123456789")
    with pytest.raises(CredentialsError) as caught:
        adapter.publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    message = str(caught.value)
    assert "X rejected the account's credentials while uploading picture 1" in message
    assert "wrong-api-secret" not in message and x.consumer_secret not in message
    [refused] = x.requests
    assert refused.path == "/2/media/upload"
    assert x.uploads == [] and x.signed == []


def test_the_emulator_checks_the_signature_of_a_multipart_upload(x: XEmulator) -> None:
    photo = image_bytes("JPEG")
    files = {"media": ("a.jpg", photo, "image/jpeg")}
    data = {"media_category": "tweet_image"}
    with real_session(x) as session:
        # Multipart bodies are left out of the signature base string (RFC 5849 3.4.1.3).
        good = session.post(
            f"{REAL}/2/media/upload", data=data, files=files, auth=user_auth(x), timeout=5
        )
        # A client that counted the form fields in, as for a form-encoded body.
        as_form = session.prepare_request(
            requests.Request("POST", f"{REAL}/2/media/upload", data=data, auth=user_auth(x))
        )
        fields_signed = session.post(
            f"{REAL}/2/media/upload",
            data=data,
            files=files,
            headers={"Authorization": as_form.headers["Authorization"]},
            timeout=5,
        )
        # Signed for the emulator's address instead of X's.
        elsewhere = requests.post(
            f"{x.base_url}/2/media/upload", data=data, files=files, auth=user_auth(x), timeout=5
        )
    assert good.status_code == 200, good.text
    assert good.json()["data"]["expires_after_secs"] == 86400
    assert good.json()["data"]["image"] == {"image_type": "image/jpeg", "w": 320, "h": 200}
    assert fields_signed.status_code == 401 and elsewhere.status_code == 401
    assert [u.data for u in x.uploads] == [photo]


def test_the_emulator_signs_form_encoded_bodies_in_and_refuses_them_on_upload(
    x: XEmulator,
) -> None:
    body = {"media_category": "tweet_image", "media": base64.b64encode(image_bytes("PNG")).decode()}
    with real_session(x) as session:
        signed = requests.Request("POST", f"{REAL}/2/media/upload", data=body, auth=user_auth(x))
        prepared = session.prepare_request(signed)
        tampered = prepared.copy()
        tampered.body = str(prepared.body).replace("tweet_image", "dm_image")
        tampered.headers["Content-Length"] = str(len(tampered.body))
        refused = session.send(tampered, timeout=5)
        answered = session.send(prepared, timeout=5)
    # The body's parameters are in the signature: changing one breaks it.
    assert refused.status_code == 401
    # Signed right, but the upload takes multipart or JSON only.
    assert answered.status_code == 400
    assert "multipart/form-data or application/json" in answered.json()["errors"][0]["message"]
    assert x.uploads == []


def test_the_emulator_refuses_the_app_only_token_on_media(x: XEmulator) -> None:
    answer = requests.post(
        f"{x.base_url}/2/media/upload/initialize",
        json={"media_type": "image/jpeg", "total_bytes": 10, "media_category": "tweet_image"},
        headers={"Authorization": f"Bearer {x.bearer_token}"},
        timeout=5,
    )
    assert answer.status_code == 403
    assert answer.json()["type"].endswith("/unsupported-authentication")


def test_a_read_only_token_cannot_upload(make_adapter: MakeAdapter, tmp_path: Path) -> None:
    reader = XAccount(
        user_id="1580000000000000009",
        username="ReadOnlyApp",
        name="Read only",
        access_token="1580000000000000009-readonlytokenvalue",
        access_token_secret="read-only-token-secret-value",
        can_write=False,
    )
    with XEmulator(accounts=[reader]) as emulator:
        adapter = make_adapter(emulator=emulator)
        with pytest.raises(CredentialsError) as caught:
            adapter.publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
        assert '"Read and write"' in str(caught.value)
        assert emulator.uploads == []


# -- the emulator refuses what X refuses ------------------------------------------------------


def test_the_emulator_refuses_media_ids_it_does_not_know_or_another_account_made() -> None:
    accounts = [
        XAccount("1580000000000000001", "Qendra", "Qendra", "1580000000000000001-aaaa", "sa"),
        XAccount("1580000000000000002", "Tjetri", "Tjetri", "1580000000000000002-bbbb", "sb"),
    ]
    with XEmulator(accounts=accounts) as x, real_session(x) as session:
        uploaded = session.post(
            f"{REAL}/2/media/upload",
            data={"media_category": "tweet_image"},
            files={"media": ("a.jpg", image_bytes("JPEG"), "image/jpeg")},
            auth=user_auth(x, accounts[0]),
            timeout=5,
        ).json()["data"]["id"]

        def tweet(media_ids: list[str], account: XAccount) -> requests.Response:
            return session.post(
                f"{REAL}/2/tweets",
                json={"text": "Me pamje.", "media": {"media_ids": media_ids}},
                auth=user_auth(x, account),
                timeout=5,
            )

        unknown = tweet(["1580000000000000777"], accounts[0])
        theirs = tweet([uploaded], accounts[1])
        five = tweet([uploaded] * 5, accounts[0])
        mine = tweet([uploaded], accounts[0])
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == [
        {
            "parameters": {"media.media_ids": ["1580000000000000777"]},
            "message": "Your media IDs are invalid.",
        }
    ]
    assert theirs.status_code == 400 and five.status_code == 400
    assert mine.status_code == 201
    assert x.tweets["Qendra"][0].media_ids == (uploaded,)
    assert x.tweets["Tjetri"] == []


def test_the_emulator_parses_multipart_strictly() -> None:
    boundary = "b0undary"
    good = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="media_category"\r\n\r\n'
        b"tweet_image\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="media"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
        b"\xff\xd8\xff\r\n\r\nbinary\r\n"
        b"--b0undary--\r\n"
    )
    parts = parse_multipart(good, f"multipart/form-data; boundary={boundary}")
    assert isinstance(parts, dict)
    assert parts["media"].data == b"\xff\xd8\xff\r\n\r\nbinary"
    assert parts["media"].filename == "a.jpg"
    assert parts["media_category"].text() == "tweet_image"
    bare_newlines = good.replace(b"\r\n", b"\n")
    assert isinstance(
        parse_multipart(bare_newlines, f"multipart/form-data; boundary={boundary}"), str
    )
    unnamed = good.replace(b'; name="media_category"', b"")
    assert isinstance(parse_multipart(unnamed, f"multipart/form-data; boundary={boundary}"), str)
    assert isinstance(parse_multipart(good, "multipart/form-data"), str)
    assert isinstance(parse_multipart(good[:-4], f"multipart/form-data; boundary={boundary}"), str)


def test_the_emulator_keeps_the_documented_upload_forms(x: XEmulator) -> None:
    gif = image_bytes("GIF")
    with real_session(x) as session:
        old_form = session.post(
            f"{REAL}/2/media/upload",
            params={"command": "INIT"},
            data={"media_category": "tweet_image"},
            files={"media": ("a.jpg", image_bytes("JPEG"), "image/jpeg")},
            auth=user_auth(x),
            timeout=5,
        )
        gif_one_shot = session.post(
            f"{REAL}/2/media/upload",
            data={"media_category": "tweet_image", "media_type": "image/gif"},
            files={"media": ("a.gif", gif, "image/gif")},
            auth=user_auth(x),
            timeout=5,
        )
        started = session.post(
            f"{REAL}/2/media/upload/initialize",
            json={"media_type": "image/gif", "total_bytes": len(gif) + 5},
            auth=user_auth(x),
            timeout=5,
        ).json()["data"]["id"]
        session.post(
            f"{REAL}/2/media/upload/{started}/append",
            data={"segment_index": "0"},
            files={"media": ("blob", gif, "application/octet-stream")},
            auth=user_auth(x),
            timeout=5,
        )
        short = session.post(
            f"{REAL}/2/media/upload/{started}/finalize", auth=user_auth(x), timeout=5
        )
    assert old_form.status_code == 400
    assert gif_one_shot.status_code == 400
    assert short.status_code == 400
    assert short.json()["errors"][0]["message"] == (
        "Segments do not add up to provided total file size."
    )


# -- finding and reading posts with pictures ----------------------------------------------------


def test_find_published_sees_past_the_pictures_link(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter()
    post = post_with(
        "Thirrje për grante: qb.example.org/grante", picture(tmp_path, "a.jpg", "Sala")
    )
    published = adapter.publish(post)
    [tweet] = x.tweets["QendraBurimore"]
    # X shows the pictures as one more t.co link at the end.
    assert tweet.stored_text.count("https://t.co/") == 2
    assert adapter.find_published(post, datetime.now(UTC) - timedelta(minutes=1)) == published
    bare = post_with("Thirrje për grante: qb.example.org/grante")
    x.reset()
    x.post("Thirrje për grante: qb.example.org/grante https://qb.example.org/x", age_seconds=20)
    assert adapter.find_published(bare, datetime.now(UTC) - timedelta(minutes=1)) is None


def test_find_published_finds_a_thread_with_pictures(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter(thread=True)
    post = post_with(" ".join(SENTENCES * 2), picture(tmp_path, "a.jpg", "Sala"))
    published = adapter.publish(post)
    assert adapter.find_published(post, datetime.now(UTC) - timedelta(minutes=1)) == published


def test_engagement_of_a_tweet_with_pictures(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter()
    published = adapter.publish(post_with("Tekst.", picture(tmp_path, "a.jpg", "Sala")))
    x.set_metrics(published.external_id, like_count=12, impression_count=340)
    [figures] = adapter.engagement([published.external_id])
    assert (figures.reactions, figures.impressions) == (12, 340)


def test_a_picture_with_other_alt_text_is_not_reused(
    x: XEmulator, make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    adapter = make_adapter()
    data = image_bytes("JPEG")
    adapter.publish(post_with("E para.", media_file(tmp_path, "a.jpg", data, "Sala")))
    adapter.publish(post_with("E dyta.", media_file(tmp_path, "b.jpg", data, "Sala")))
    adapter.publish(post_with("E treta.", media_file(tmp_path, "c.jpg", data, "Salla e madhe")))

    first, second = x.uploads
    # The same words: the upload is reused. Other words: a new upload, so the
    # earlier posts keep theirs.
    assert (first.alt, second.alt) == ("Sala", "Salla e madhe")
    assert first.alt_calls == 1
    assert [t.media_ids for t in x.tweets["QendraBurimore"]] == [
        (first.id,),
        (first.id,),
        (second.id,),
    ]

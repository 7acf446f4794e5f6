from __future__ import annotations

import hashlib
import hmac
import io
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from PIL import Image
from pydantic import SecretStr

from emulators.webhook import WEBHOOK_PATH, WebhookReceiver
from visibility.adapters.base import Account, Media, Publication, Published
from visibility.adapters.webhook import TIMESTAMP_HEADER, WebhookAdapter, sign
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

KEY = "k3y-for-the-site-0123456789abcdef"
WRONG_KEY = "not-the-key-the-site-uses-987654"


def channel(url: str, *, key: str | None = KEY, **options: Any) -> Channel:
    return Channel(
        name="partner-site",
        kind="website",
        post_kind="website",
        enabled=True,
        language=None,
        tz=ZoneInfo("Europe/Belgrade"),
        slots=(),
        hashtags=(),
        template=None,
        secrets={"hmac_secret": SecretStr(key)} if key is not None else {},
        options={"api": "webhook", "url": url, **options},
    )


def article(**fields: Any) -> Publication:
    values: dict[str, Any] = {
        "post_id": 12,
        "news_item_id": 7,
        "channel": "partner-site",
        "kind": "website",
        "title": "Thirrje për projekte",
        "body": "<p>Afati: 30 qershor.</p>",
        "excerpt": "Afati është 30 qershor",
        "link": "https://qbsc.example.org/lajme/thirrje",
        **fields,
    }
    return Publication(**values)


def no_secret(error: ChannelError) -> str:
    text = str(error)
    assert KEY not in text and WRONG_KEY not in text
    return text


@pytest.fixture
def site() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret=KEY) as receiver:
        assert isinstance(receiver, WebhookReceiver)
        yield receiver


Make = Callable[..., WebhookAdapter]


@pytest.fixture
def make(site: WebhookReceiver) -> Iterator[Make]:
    made: list[WebhookAdapter] = []

    def build(url: str | None = None, **kwargs: Any) -> WebhookAdapter:
        adapter = WebhookAdapter(channel(url or site.url, **kwargs))
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        adapter.close()


def test_publish_posts_the_article_signed_and_returns_the_page(
    site: WebhookReceiver, make: Make
) -> None:
    published = make().publish(article())

    (page_id,) = site.pages
    assert published == Published(
        external_id=page_id, url=f"{site.base_url}/news/{page_id}-thirrje-p-r-projekte"
    )
    (sent,) = site.requests
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(sent.body) == {
        "post_id": 12,
        "news_item_id": 7,
        "title": "Thirrje për projekte",
        "content_html": "<p>Afati: 30 qershor.</p>",
        "excerpt": "Afati është 30 qershor",
        "link": "https://qbsc.example.org/lajme/thirrje",
        "images": [],
    }
    assert site.accepted == [sent.body]


def picture(folder: Path, colour: tuple[int, int, int], alt: str, **fields: Any) -> Media:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}.jpg"
    path.write_bytes(data)
    return Media(str(path), "image/jpeg", digest, alt, 64, 48, len(data), **fields)


def test_the_pictures_travel_inside_the_signed_article(
    site: WebhookReceiver, make: Make, tmp_path: Path
) -> None:
    first = picture(tmp_path, (200, 0, 0), "Pjesëmarrësit në trajnim")
    second = picture(tmp_path, (0, 0, 200), "Logoja", caption="Foto: Qendra", role="emblem")

    make().publish(article(media=(first, second)))

    (page,) = site.pages.values()  # the receiver checked signature, base64, hashes, sizes
    assert page["files"] == [Path(first.path).read_bytes(), Path(second.path).read_bytes()]
    (sent,) = site.requests
    images = json.loads(sent.body)["images"]
    assert [{k: v for k, v in i.items() if k != "content_base64"} for i in images] == [
        {
            "sha256": first.sha256,
            "mime_type": "image/jpeg",
            "width": 64,
            "height": 48,
            "size": first.size,
            "alt": "Pjesëmarrësit në trajnim",
            "caption": None,
            "role": None,
        },
        {
            "sha256": second.sha256,
            "mime_type": "image/jpeg",
            "width": 64,
            "height": 48,
            "size": second.size,
            "alt": "Logoja",
            "caption": "Foto: Qendra",
            "role": "emblem",  # a grant's emblem: the receiver places it with the statement
        },
    ]


def test_a_picture_that_cannot_be_read_sends_nothing(
    site: WebhookReceiver, make: Make, tmp_path: Path
) -> None:
    gone = picture(tmp_path, (1, 2, 3), "Sheshi")
    Path(gone.path).unlink()
    with pytest.raises(PermanentChannelError, match="picture 1 of the article cannot be read"):
        make().publish(article(media=(gone,)))
    assert site.requests == []


def test_an_article_too_large_for_the_site_says_how_large(
    site: WebhookReceiver, make: Make, tmp_path: Path
) -> None:
    site.max_body = 1000
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article(media=(picture(tmp_path, (1, 2, 3), "Sheshi"),)))
    assert not isinstance(caught.value, RetryableChannelError)
    assert "refused the article as too large (HTTP 413" in str(caught.value)
    assert "with its pictures it was 2 KB" in str(caught.value)
    assert site.pages == {}


def test_the_signature_follows_the_documented_scheme(site: WebhookReceiver, make: Make) -> None:
    make().publish(article())
    (sent,) = site.requests
    timestamp = sent.headers["x-visibility-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    digest = hmac.new(KEY.encode(), f"{timestamp}.".encode() + sent.body, hashlib.sha256)
    assert sent.headers["x-visibility-signature"] == f"sha256={digest.hexdigest()}"
    assert sign(KEY, timestamp, sent.body) == sent.headers["x-visibility-signature"]


def test_a_custom_signature_header_and_url_field(make: Make) -> None:
    with WebhookReceiver(
        secret=KEY, signature_header="X-Hub-Signature-256", url_field="permalink"
    ) as other:
        assert isinstance(other, WebhookReceiver)
        published = make(
            other.url, signature_header="X-Hub-Signature-256", url_field="permalink"
        ).publish(article())
        assert published.url is not None and published.url.startswith(f"{other.base_url}/news/")
        assert "x-hub-signature-256" in other.requests[0].headers


def test_a_relative_address_is_read_against_the_webhook(site: WebhookReceiver, make: Make) -> None:
    site.answer = "relative_url"
    published = make().publish(article())
    assert published.url is not None and published.url.startswith(f"{site.base_url}/news/")


def test_sending_the_same_post_again_gets_the_same_page(site: WebhookReceiver, make: Make) -> None:
    adapter = make()
    assert adapter.publish(article()) == adapter.publish(article())
    assert len(site.pages) == 1


def test_without_a_secret_requests_are_not_signed(make: Make) -> None:
    with WebhookReceiver() as open_site:
        assert isinstance(open_site, WebhookReceiver)
        make(open_site.url, key=None).publish(article())
        (sent,) = open_site.requests
    assert "x-visibility-signature" not in sent.headers
    assert TIMESTAMP_HEADER.lower() not in sent.headers


def test_a_wrong_key_is_refused_as_credentials(site: WebhookReceiver, make: Make) -> None:
    with pytest.raises(CredentialsError) as caught:
        make(key=WRONG_KEY).publish(article())
    host = site.base_url.removeprefix("http://")
    assert no_secret(caught.value) == (
        f"the website at {host} refused the request (HTTP 401: invalid signature) while sending "
        "the article: check that this channel's hmac_secret is the key the website verifies "
        "with, and that this server's clock is right (the signature includes the time)"
    )
    assert not site.pages


def test_a_site_that_wants_signatures_when_none_is_configured(
    site: WebhookReceiver, make: Make
) -> None:
    with pytest.raises(CredentialsError, match=r"set this channel's hmac_secret"):
        make(key=None).publish(article())


def test_the_receiver_refuses_a_replayed_request(site: WebhookReceiver) -> None:
    body = b'{"post_id": 1}'
    old = str(int(time.time()) - 3600)
    answer = requests.post(
        site.url,
        data=body,
        headers={"X-Visibility-Timestamp": old, "X-Visibility-Signature": sign(KEY, old, body)},
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.json() == {"error": "timestamp too old or in the future"}


def test_an_answer_without_the_url_is_permanent_and_explains(
    site: WebhookReceiver, make: Make
) -> None:
    site.answer = "missing_url"
    with pytest.raises(PermanentChannelError) as caught:
        make().publish(article())
    assert not isinstance(caught.value, CredentialsError)
    host = site.base_url.removeprefix("http://")
    assert str(caught.value) == (
        f"the website at {host} accepted the article (HTTP 201) but its JSON has no 'url' field: "
        'the answer must be a JSON object with the page\'s address, such as {"id": "123", '
        '"url": "https://example.org/news/123"}. The page may have been created: check the '
        "website before publishing again"
    )


@pytest.mark.parametrize("answer", ["html", "empty"])
def test_an_answer_that_is_not_json_is_permanent(
    site: WebhookReceiver, make: Make, answer: Any
) -> None:
    site.answer = answer
    with pytest.raises(PermanentChannelError, match=r"but it is not a JSON object"):
        make().publish(article())


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentChannelError),
        (404, PermanentChannelError),
        (403, CredentialsError),
        (500, RetryableChannelError),
        (503, RetryableChannelError),
    ],
)
def test_status_classes(
    site: WebhookReceiver, make: Make, status: int, kind: type[ChannelError]
) -> None:
    site.fail_next(1, status=status, body={"message": f"said with {status}"})
    with pytest.raises(kind) as caught:
        make().publish(article())
    assert f"HTTP {status}: said with {status}" in no_secret(caught.value)
    if kind is PermanentChannelError:
        assert type(caught.value) is PermanentChannelError


def test_rate_limiting_honours_retry_after(site: WebhookReceiver, make: Make) -> None:
    site.fail_next(1, status=429, body=b"slow down", headers={"Retry-After": "30"})
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.retry_after is not None
    expected = datetime.now(UTC) + timedelta(seconds=30)
    assert abs((caught.value.retry_after - expected).total_seconds()) < 5


def test_a_redirect_is_permanent_and_not_followed(site: WebhookReceiver, make: Make) -> None:
    site.fail_next(1, status=308, body=b"", headers={"Location": "https://new.example.org/hook"})
    with pytest.raises(
        PermanentChannelError, match=r"redirected the webhook to https://new\.example\.org"
    ):
        make().publish(article())
    assert len(site.requests) == 1


def test_a_token_in_the_webhook_address_stays_out_of_messages(make: Make) -> None:
    with WebhookReceiver() as open_site:
        assert isinstance(open_site, WebhookReceiver)
        token = "s3cr3t-t0ken-in-the-query-string"
        open_site.fail_next(1, status=400, body={"error": f"unknown token {token}"})
        with pytest.raises(PermanentChannelError) as caught:
            make(f"{open_site.url}?token={token}", key=None).publish(article())
    assert token not in str(caught.value)


def test_a_timeout_is_retryable(site: WebhookReceiver, make: Make) -> None:
    site.fail_next(1, delay=1.0)
    with pytest.raises(RetryableChannelError, match=r"did not answer within 0\.2 s"):
        make(timeout=0.2).publish(article())


def test_a_dropped_connection_is_retryable(site: WebhookReceiver, make: Make) -> None:
    site.fail_next(1, drop=True)
    with pytest.raises(RetryableChannelError, match=r"broke before it answered") as caught:
        make().publish(article())
    assert caught.value.reached is True


def test_check_accepts_a_post_only_endpoint(site: WebhookReceiver, make: Make) -> None:
    account = make().check()
    host = site.base_url.removeprefix("http://")
    assert account == Account(
        name=host, detail="reachable (HTTP 405 to GET: takes POST only, as expected)"
    )
    (probe,) = site.requests
    assert probe.method == "GET" and probe.path == WEBHOOK_PATH
    assert not site.pages


def test_check_takes_2xx_and_says_when_requests_are_unsigned(make: Make) -> None:
    with WebhookReceiver(get_status=200) as open_site:
        assert isinstance(open_site, WebhookReceiver)
        account = make(open_site.url, key=None).check()
    assert account.detail == "reachable (HTTP 200 to GET); requests are not signed (no hmac_secret)"


def test_check_with_a_wrong_key_is_a_credentials_error(make: Make) -> None:
    with pytest.raises(CredentialsError) as caught:
        make(key=WRONG_KEY).check()
    no_secret(caught.value)


def test_check_of_a_missing_webhook_is_permanent(site: WebhookReceiver, make: Make) -> None:
    with pytest.raises(PermanentChannelError, match=r"has no webhook at the configured address"):
        make(f"{site.base_url}/nothing-here").check()


# -- finding an article that may have gone out ------------------------------------------------


def test_find_published_cannot_ask_a_webhook(site: WebhookReceiver, make: Make) -> None:
    adapter = make()
    adapter.publish(article())
    before = len(site.requests)
    with pytest.raises(PermanentChannelError) as caught:
        adapter.find_published(article(), datetime.now(UTC) - timedelta(minutes=1))
    assert not caught.value.retryable
    assert type(caught.value) is PermanentChannelError
    message = no_secret(caught.value)
    host = site.base_url.removeprefix("http://")
    assert message == (
        f"the website's webhook at {host} cannot say whether the article "
        "'Thirrje për projekte' was created (look for it on the website)"
    )
    assert len(site.requests) == before  # nothing was asked


# -- whether a failed request may have reached the website ------------------------------------


@pytest.mark.parametrize("status", [408, 429])
def test_a_408_or_429_did_not_reach_the_website(
    site: WebhookReceiver, make: Make, status: int
) -> None:
    site.fail_next(1, status=status, body=b"slow down")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.reached is False


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_may_have_reached_the_website(site: WebhookReceiver, make: Make, status: int) -> None:
    site.fail_next(1, status=status, body=b"oops")
    with pytest.raises(RetryableChannelError) as caught:
        make().publish(article())
    assert caught.value.reached is True


def test_a_read_timeout_may_have_reached_the_website(site: WebhookReceiver, make: Make) -> None:
    site.fail_next(1, delay=0.6, drop=True)
    with pytest.raises(RetryableChannelError) as caught:
        make(timeout=0.2).publish(article())
    assert caught.value.reached is True


def test_a_refused_connection_did_not_reach_the_website(make: Make) -> None:
    with WebhookReceiver() as gone:
        url = gone.url
    with pytest.raises(RetryableChannelError, match="could not connect") as caught:
        make(url).publish(article())
    assert caught.value.reached is False

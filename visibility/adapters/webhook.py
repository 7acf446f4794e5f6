"""The webhook adapter: hands articles to a website that is not WordPress.

Each article is POSTed as JSON to the channel's ``url``::

    {"post_id": 12, "news_item_id": 7, "title": "...", "content_html": "<p>...</p>",
     "excerpt": "..." or null, "link": "..." or null, "images": [...]}

``post_id`` stays the same when visibility tries a post again (after a
timeout, say), so a site can use it to avoid creating the same page twice.

``images`` are the article's pictures, in order (the first is meant as the
page's main picture; ``content_html`` holds none), each file inside the
article, so a site needs nothing else to show them::

    {"sha256": "9f2c…", "mime_type": "image/jpeg", "width": 1200, "height": 800,
     "size": 183422, "alt": "...", "caption": "..." or null, "content_base64": "..."}

``content_base64`` is the file (standard base64, padded); ``sha256`` is the
hex SHA-256 of the decoded file and ``size`` its length, for the site to check
it, and to keep a picture used by several articles once. ``alt`` is never
empty; ``caption`` is plain text. Pictures are fitted to the website limits
(JPEG, PNG, GIF or WebP, at most 1 MB and 2560 pixels a side, up to 20), so an
article with many can be a body of tens of MB: the site must accept bodies
that large (PHP's ``post_max_size``, nginx's ``client_max_body_size``). No
pictures: ``"images": []``.

The site answers with a 2xx status and a JSON object holding the new page's
address in the field named by ``url_field`` (default ``url``) and, if it has
one, its own ``id``: ``{"id": "123", "url": "https://example.org/news/123"}``.
A relative address is read against ``url``. 401/403 mean the site refused
the credentials; 413 that the article (with its pictures) was too large for
it; other 4xx that it refused the article; 429, 5xx and network trouble are
tried again later (``Retry-After`` is honoured).

Signature (when the channel has an ``hmac_secret``). Every request carries

* ``X-Visibility-Timestamp``: the Unix time in seconds when it was sent;
* the ``signature_header`` (default ``X-Visibility-Signature``):
  ``sha256=`` followed by the lower-case hex HMAC-SHA256, keyed with the
  secret (its UTF-8 bytes), of the timestamp, a full stop, and the request
  body exactly as received: ``HMAC(key, "{timestamp}.{body}")``.

To verify, a site computes the same HMAC over the raw body bytes (before any
JSON parsing), compares it with the header in constant time, and rejects
timestamps more than a few minutes from its own clock, so a captured request
cannot be replayed later. In Python::

    signed = timestamp.encode() + b"." + raw_body
    expected = "sha256=" + hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, header) and abs(time.time() - int(timestamp)) < 300

In PHP: ``hash_equals('sha256=' . hash_hmac('sha256', $ts . '.' . $raw, $key), $sig)``.

``visibility channels check`` sends a GET (body empty, signed the same way)
and takes any 2xx, or 405 from an endpoint that only accepts POST, as
reachable.

A webhook cannot be asked whether an article arrived: when a send's outcome
is unknown, ``find_published`` says so, and a person looks at the site.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from visibility.adapters.base import Account, Adapter, Media, Publication, Published
from visibility.adapters.http import (
    excerpt,
    host_of,
    loads_json,
    make_session,
    network_error,
    redact,
    retry_after,
)
from visibility.adapters.specs import WebhookOptions
from visibility.config.channels import Channel
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

__all__ = ["TIMESTAMP_HEADER", "WebhookAdapter", "sign"]

TIMESTAMP_HEADER: Final = "X-Visibility-Timestamp"


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{-(-size // 1000)} KB"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    signed = timestamp.encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


class WebhookAdapter(Adapter):
    """Publishes articles to a website through its own JSON webhook."""

    def __init__(self, channel: Channel, *, session: requests.Session | None = None) -> None:
        self.channel = channel.name
        self.options = WebhookOptions.model_validate(dict(channel.options))
        secret = channel.secrets.get("hmac_secret")
        self._key = secret.get_secret_value() if secret is not None else None
        self._owns_session = session is None
        self.session = session if session is not None else make_session()
        self._host = host_of(self.options.url)

    def __repr__(self) -> str:
        return f"WebhookAdapter(channel={self.channel!r}, host={self._host!r})"

    def publish(self, publication: Publication) -> Published:
        payload = {
            "post_id": publication.post_id,
            "news_item_id": publication.news_item_id,
            "title": publication.title,
            "content_html": publication.body,
            "excerpt": publication.excerpt,
            "link": publication.link,
            "images": [self._image(n, m) for n, m in enumerate(publication.media, 1)],
        }
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        response = self._send("POST", body, {"Content-Type": "application/json; charset=utf-8"})
        if not 200 <= response.status_code < 300:
            raise self._error(response, "sending the article", size=len(body))
        answer = loads_json(response.text)
        field = self.options.url_field
        url = answer.get(field) if isinstance(answer, dict) else None
        if not isinstance(url, str) or not url.strip():
            got = (
                f"its JSON has no {field!r} field"
                if isinstance(answer, dict)
                else f"it is not a JSON object ({self._redact(excerpt(response.text))})"
            )
            raise PermanentChannelError(
                f"the website at {self._host} accepted the article (HTTP "
                f"{response.status_code}) but {got}: the answer must be a JSON object with "
                f'the page\'s address, such as {{"id": "123", "{field}": '
                '"https://example.org/news/123"}. The page may have been created: check the '
                "website before publishing again",
                channel=self.channel,
            )
        url = urljoin(self.options.url, url.strip())
        page_id = answer.get("id") if isinstance(answer, dict) else None
        external_id = str(page_id) if page_id not in (None, "") else url
        return Published(external_id=external_id, url=url)

    def _image(self, number: int, picture: Media) -> dict[str, Any]:
        try:
            content = Path(picture.path).read_bytes()
        except OSError as exc:
            raise PermanentChannelError(
                f"picture {number} of the article cannot be read ({exc.strerror}: "
                f"{Path(picture.path).name}): add the picture to the news item again",
                channel=self.channel,
            ) from exc
        if hashlib.sha256(content).hexdigest() != picture.sha256:
            raise PermanentChannelError(
                f"the file of picture {number} of the article is not the picture that was "
                "approved (its content changed): add the picture again",
                channel=self.channel,
            )
        return {
            "sha256": picture.sha256,
            "mime_type": picture.mime_type,
            "width": picture.width,
            "height": picture.height,
            "size": len(content),
            "alt": picture.alt,
            "caption": picture.caption,
            "role": picture.role,
            "content_base64": base64.b64encode(content).decode("ascii"),
        }

    def find_published(self, publication: Publication, since: datetime) -> Published | None:
        # Not retryable: asking again would not tell either.
        raise PermanentChannelError(
            f"the website's webhook at {self._host} cannot say whether the article "
            f"'{publication.title or publication.post_id}' was created (look for it on the "
            "website)",
            channel=self.channel,
        )

    def check(self) -> Account:
        response = self._send("GET", b"", {})
        status = response.status_code
        if 200 <= status < 300 or status == 405:
            detail = (
                f"reachable (HTTP {status} to GET: takes POST only, as expected)"
                if status == 405
                else f"reachable (HTTP {status} to GET)"
            )
            if self._key is None:
                detail += "; requests are not signed (no hmac_secret)"
            return Account(name=self._host, detail=detail)
        raise self._error(response, "checking the webhook")

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- requests and errors -------------------------------------------------------

    def _send(self, method: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        if self._key is not None:
            timestamp = str(int(time.time()))
            headers = {
                **headers,
                TIMESTAMP_HEADER: timestamp,
                self.options.signature_header: sign(self._key, timestamp, body),
            }
        url = self.options.url
        try:
            return self.session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                timeout=self.options.timeout,
                # A redirected POST arrives as a GET, without its body.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(
                exc, channel=self.channel, url=url, timeout=self.options.timeout
            ) from exc

    def _redact(self, text: str) -> str:
        # The URL's path or query may be a token of its own (…/hooks/<token>).
        parts = urlsplit(self.options.url)
        tokens = [segment for segment in parts.path.split("/") if len(segment) >= 16]
        values = [value for _, value in parse_qsl(parts.query)]
        return redact(text, [self._key or "", parts.query, *values, *tokens])

    def _said(self, response: requests.Response) -> str:
        answer = loads_json(response.text)
        if isinstance(answer, dict):
            for key in ("message", "error", "detail", "title"):
                value = answer.get(key)
                if isinstance(value, str) and value.strip():
                    return self._redact(excerpt(value))
        return self._redact(excerpt(response.text))

    def _error(self, response: requests.Response, action: str, *, size: int = 0) -> ChannelError:
        status, host = response.status_code, self._host
        said = self._said(response)
        if status in (408, 429):
            return RetryableChannelError(
                f"the website at {host} asked to slow down (HTTP {status}) while {action}; "
                "will try again",
                channel=self.channel,
                retry_after=retry_after(response.headers),
                reached=False,  # refused before the site acted on it
            )
        if status >= 500:
            return RetryableChannelError(
                f"the website at {host} failed while {action} (HTTP {status}: {said}); "
                "will try again",
                channel=self.channel,
            )
        if 300 <= status < 400:
            target = urlsplit(urljoin(self.options.url, response.headers.get("Location", "")))
            return PermanentChannelError(
                f"the website at {host} redirected the webhook to {target.scheme}://"
                f"{target.netloc} (HTTP {status}) while {action}: set url in this channel's "
                "options to the final address",
                channel=self.channel,
            )
        if status in (401, 403):
            if self._key is not None:
                advice = (
                    "check that this channel's hmac_secret is the key the website verifies "
                    "with, and that this server's clock is right (the signature includes the "
                    "time)"
                )
            else:
                advice = (
                    "the website may require signed requests: set this channel's hmac_secret "
                    "to the key it expects"
                )
            return CredentialsError(
                f"the website at {host} refused the request (HTTP {status}: {said}) while "
                f"{action}: {advice}",
                channel=self.channel,
            )
        if status == 413:
            return PermanentChannelError(
                f"the website at {host} refused the article as too large (HTTP 413: {said}); "
                f"with its pictures it was {_size(size)}: ask the website's "
                "developer to accept larger requests, or give the article fewer pictures",
                channel=self.channel,
            )
        if status == 404:
            return PermanentChannelError(
                f"the website at {host} has no webhook at the configured address (HTTP 404: "
                f"{said}): check url in this channel's options",
                channel=self.channel,
            )
        return PermanentChannelError(
            f"the website at {host} refused the request (HTTP {status}: {said}) while "
            f"{action}; ask the website's developer what it expects",
            channel=self.channel,
        )

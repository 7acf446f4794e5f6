"""An article's pictures: uploaded once to the site's Media Library, then shown in it.

Upload (``POST /wp/v2/media``, "Create a Media Item" in the REST API
reference): the request body is the file itself, with ``Content-Type`` its
MIME type and ``Content-Disposition: attachment; filename="..."``. WordPress
reads the attachment's other fields from the query string when the body is
the file, so ``alt_text`` and ``caption`` travel with the upload: a picture
is never in the library without its alt text. ``Content-MD5`` (hex, as
WordPress compares it) makes WordPress refuse a body damaged on the way
(412 ``rest_upload_hash_mismatch``) instead of storing it.

The file is named after its alt text (ASCII, as a slug) and the start of its
SHA-256: WordPress titles the attachment after the name, so staff see in the
Media Library what a picture shows, and a later try can find it by the hash.

Once only. Each uploaded picture's id and address are kept in the adapter's
``Memory`` under ``media:<sha256>`` (for every worker, and after a restart)
and reused by later tries and later articles: WordPress media do not expire.
A remembered picture is looked up first (``GET /wp/v2/media/<id>``): when it
is gone (404) or is no longer that file, it is uploaded again; when its alt
text or caption differ from the post's, they are corrected
(``POST /wp/v2/media/<id>``). Before each upload the note says "sent": if
the worker dies or the answer is lost, the next try searches the library for
the hash in the file name (``GET /wp/v2/media?search=``) before uploading.

In the article, the first picture is the featured image (the theme shows it
above the article). The others follow the first paragraph, each as a
``<figure class="wp-block-image">`` with its alt text and caption: the lead
says what happened and the pictures show it while a reader is still there,
and they stay above what the website template adds at the end (the funding
disclaimer). Without a first paragraph they go at the end. A grant's emblem
is not a featured image: it goes with the funding statement at the end. ``wp-image-<id>``
on each ``<img>`` lets WordPress add its sizes (``srcset``) and dimensions.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from visibility.adapters.base import Media, Memory
from visibility.adapters.wordpress_site import WordPressSite, salvage_json
from visibility.errors import ChannelError, PermanentChannelError, RetryableChannelError

__all__ = ["MediaLibrary", "Uploaded", "figure", "upload_name", "with_emblems", "with_pictures"]

_EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
}
_NOTE: Final = "media:"
_EVER: Final = datetime(2000, 1, 1, tzinfo=UTC)  # media do not expire: every note counts
_HASH_IN_NAME: Final = 16
_SLUG_LENGTH: Final = 48
_FIELDS: Final = "id,source_url,alt_text,caption,status"
# Elements without an end tag: they do not open a level of the body.
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass(frozen=True)
class Uploaded:
    """A picture in the site's Media Library."""

    id: int
    url: str  # source_url: the file as WordPress serves it


def upload_name(picture: Media) -> str:
    """The file name the picture is uploaded as: its alt text as a slug, and its hash."""
    text = unicodedata.normalize("NFKD", picture.alt)
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(slug) > _SLUG_LENGTH:
        slug = slug[:_SLUG_LENGTH].rsplit("-", 1)[0]
    extension = _EXTENSIONS.get(picture.mime_type, "bin")
    return f"{slug or 'picture'}-{picture.sha256[:_HASH_IN_NAME]}.{extension}"


def _alt_as_stored(alt: str) -> str:
    # sanitize_text_field() drops tags and collapses white space: compare what it keeps.
    return " ".join(re.sub(r"<[a-zA-Z/!?][^>]*>", "", alt).split())


def _caption_as_sent(caption: str) -> str:
    # A WordPress caption is HTML; the post's caption is text.
    return html.escape(caption, quote=False)


def _label(number: int, picture: Media) -> str:
    alt = _alt_as_stored(picture.alt)
    return f'picture {number} ("{alt if len(alt) <= 40 else alt[:39] + "…"}")'


def _size(picture: Media) -> str:
    size = picture.size
    return f"{size / 1_000_000:.1f} MB" if size >= 1_000_000 else f"{-(-size // 1000)} KB"


class MediaLibrary:
    """Puts pictures in one site's Media Library, each once."""

    def __init__(self, site: WordPressSite, memory: Memory) -> None:
        self.site = site
        self.memory = memory

    def put(self, pictures: Sequence[Media]) -> list[Uploaded]:
        """Each picture in the library with the post's alt text and caption, in order."""
        return [self._put(number, picture) for number, picture in enumerate(pictures, 1)]

    def _put(self, number: int, picture: Media) -> Uploaded:
        note = self._recall(picture)
        found: Mapping[str, Any] | None = None
        if isinstance(note.get("id"), int):
            found = self._remembered(number, picture, note)
        elif note.get("sent"):
            found = self._lost(number, picture)
        if found is None:
            return self._upload(number, picture)
        uploaded = Uploaded(int(found["id"]), str(found["source_url"]))
        self._correct(number, picture, found)
        if note.get("id") != uploaded.id or note.get("url") != uploaded.url:
            self._remember(picture, {"id": uploaded.id, "url": uploaded.url})
        return uploaded

    # -- memory ---------------------------------------------------------------------

    def _recall(self, picture: Media) -> Mapping[str, Any]:
        key = _NOTE + picture.sha256
        value = self.memory.recall(key, since=_EVER).get(key)
        try:
            note = json.loads(value) if value else {}
        except ValueError:
            note = {}
        return note if isinstance(note, dict) else {}

    def _remember(self, picture: Media, note: Mapping[str, Any]) -> None:
        self.memory.remember(_NOTE + picture.sha256, json.dumps(note))

    # -- finding a picture uploaded before --------------------------------------------

    def _remembered(
        self, number: int, picture: Media, note: Mapping[str, Any]
    ) -> Mapping[str, Any] | None:
        """The remembered attachment, when it is still there and still that file."""
        response = self.site.request(
            "GET", f"/wp/v2/media/{note['id']}", params={"context": "edit", "_fields": _FIELDS}
        )
        if self.site.answer(response).code in ("rest_post_invalid_id", "rest_forbidden_context"):
            return None  # deleted, or another user's now: upload our own
        if response.status_code != 200:
            raise self.site.error(
                response,
                what="media",
                action=f"looking up {_label(number, picture)} in the Media Library",
            )
        found = salvage_json(response.text)
        remembered = urlsplit(str(note.get("url", ""))).path
        # The same id on another site, or a file replaced, is not this picture.
        if not self._usable(found) or urlsplit(str(found["source_url"])).path != remembered:
            return None
        return dict(found)

    def _lost(self, number: int, picture: Media) -> Mapping[str, Any] | None:
        """The picture, when an upload whose answer never came stored it after all."""
        token = picture.sha256[:_HASH_IN_NAME]
        response = self.site.request(
            "GET",
            "/wp/v2/media",
            params={
                "search": token,
                "media_type": "image",
                "context": "edit",
                "_fields": _FIELDS,
                "orderby": "id",
                "order": "asc",
            },
        )
        if response.status_code != 200:
            raise self.site.error(
                response,
                what="media",
                action=f"looking for {_label(number, picture)} in the Media Library",
            )
        listed = salvage_json(response.text)
        for item in listed if isinstance(listed, list) else []:
            if self._usable(item):
                name = PurePosixPath(urlsplit(str(item["source_url"])).path).name
                if f"-{token}" in name:
                    return dict(item)
        return None

    @staticmethod
    def _usable(found: Any) -> bool:
        return (
            isinstance(found, dict)
            and isinstance(found.get("id"), int)
            and isinstance(found.get("source_url"), str)
            and found.get("status", "inherit") == "inherit"
        )

    def _correct(self, number: int, picture: Media, found: Mapping[str, Any]) -> None:
        """Give a reused picture the post's alt text and caption, when they differ."""
        change: dict[str, str] = {}
        if _alt_as_stored(str(found.get("alt_text") or "")) != _alt_as_stored(picture.alt):
            change["alt_text"] = picture.alt
        caption = found.get("caption")
        raw = caption.get("raw") if isinstance(caption, dict) else caption
        if picture.caption is not None and raw != _caption_as_sent(picture.caption):
            change["caption"] = _caption_as_sent(picture.caption)
        if change:
            self.site.json(
                "POST",
                f"/wp/v2/media/{found['id']}",
                json_body=change,
                what="media",
                action=f"setting the alt text of {_label(number, picture)}",
            )

    # -- uploading --------------------------------------------------------------------

    def _upload(self, number: int, picture: Media) -> Uploaded:
        content = self._read(number, picture)
        params = {"alt_text": picture.alt}
        if picture.caption is not None:
            params["caption"] = _caption_as_sent(picture.caption)
        # Written before the upload: if its answer never comes, the next try looks first.
        self._remember(picture, {"sent": True})
        response = self.site.request(
            "POST",
            "/wp/v2/media",
            params=params,
            data=content,
            headers={
                "Content-Type": picture.mime_type,
                "Content-Disposition": f'attachment; filename="{upload_name(picture)}"',
                "Content-MD5": hashlib.md5(content, usedforsecurity=False).hexdigest(),
            },
        )
        if response.status_code not in (200, 201):
            raise self._refused(response, number, picture)
        media = salvage_json(response.text)
        if not self._usable(media):
            raise PermanentChannelError(
                f"WordPress at {self.site.host} accepted {_label(number, picture)} without "
                "saying where it is; check the Media Library, then publish again",
                channel=self.site.channel,
            )
        uploaded = Uploaded(int(media["id"]), str(media["source_url"]))
        self._remember(picture, {"id": uploaded.id, "url": uploaded.url})
        return uploaded

    def _read(self, number: int, picture: Media) -> bytes:
        path = Path(picture.path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise PermanentChannelError(
                f"the article's {_label(number, picture)} cannot be read ({exc.strerror}: "
                f"{path.name}): add the picture to the news item again",
                channel=self.site.channel,
            ) from exc
        if hashlib.sha256(content).hexdigest() != picture.sha256:
            raise PermanentChannelError(
                f"the file of the article's {_label(number, picture)} ({path.name}) is not the "
                "picture that was approved (its content changed): add the picture again",
                channel=self.site.channel,
            )
        return content

    def _refused(self, response: requests.Response, number: int, picture: Media) -> ChannelError:
        """What a refused upload means, for the refusals that are about the file."""
        answer = self.site.answer(response)
        host, channel, label = self.site.host, self.site.channel, _label(number, picture)
        if answer.code == "rest_upload_hash_mismatch":
            return RetryableChannelError(
                f"{label} reached WordPress at {host} damaged (its content did not match the "
                "hash sent with it), so WordPress did not keep it; will try again",
                channel=channel,
                reached=False,
            )
        if answer.code == "rest_upload_no_data":
            return PermanentChannelError(
                f"WordPress at {host} received {label} without its content, although it was "
                "sent: something between visibility and WordPress (a proxy, a firewall or a "
                "security plugin) removes uploaded files; ask the site administrator to let "
                "uploads to the REST API (/wp/v2/media) through",
                channel=channel,
            )
        if response.status_code == 413 or answer.code == "rest_upload_file_too_big":
            said = f" ({answer.message})" if answer.code else ""
            return PermanentChannelError(
                f"{host} refused {label} ({_size(picture)}) as too large{said} [HTTP "
                f"{answer.status}]: ask the site administrator to raise the upload limit "
                "(Network Admin → Settings → Max upload file size on a multisite; "
                "client_max_body_size in nginx), or use smaller pictures",
                channel=channel,
            )
        if answer.code in ("rest_upload_limited_space", "rest_upload_user_quota_exceeded"):
            return PermanentChannelError(
                f"WordPress at {host} has no room for {label}: {answer.message} Free space in "
                "the Media Library or ask the network administrator for a larger quota",
                channel=channel,
            )
        return self.site.error(response, what="media", action=f"uploading {label}")


# -- in the article ----------------------------------------------------------------------


def figure(picture: Media, uploaded: Uploaded) -> str:
    """One picture as the block editor writes an image: figure, img, figcaption."""
    caption = f"<figcaption>{html.escape(picture.caption)}</figcaption>" if picture.caption else ""
    return (
        f'<figure class="wp-block-image"><img src="{html.escape(uploaded.url)}" '
        f'alt="{html.escape(picture.alt)}" class="wp-image-{uploaded.id}"/>{caption}</figure>'
    )


class _FirstParagraph(HTMLParser):
    """Finds where the body's first top-level paragraph ends."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.end: tuple[int, int] | None = None  # (line, column) of its "</p"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.end is None and tag not in _VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.end is not None or tag not in self.open:
            return
        while self.open.pop() != tag:
            pass
        if tag == "p" and not self.open:
            self.end = self.getpos()


def with_pictures(body: str, figures: Sequence[str]) -> str:
    """``body`` with ``figures`` after its first top-level paragraph (else at the end)."""
    if not figures:
        return body
    block = "\n".join(figures)
    finder = _FirstParagraph()
    finder.feed(body)
    finder.close()
    if finder.end is None:
        return f"{body}\n{block}" if body else block
    line, column = finder.end
    # HTMLParser counts lines by "\n" only.
    start = sum(len(text) + 1 for text in body.split("\n")[: line - 1]) + column
    after = body.index(">", start) + 1
    return f"{body[:after]}\n{block}{body[after:]}"


def with_emblems(body: str, figures: Sequence[str]) -> str:
    """``body`` with a grant's emblems where its funding statement starts (derivation
    writes ``<p class="funding-statement">``), else at the end: the donor's rules
    want the emblem with the statement."""
    if not figures:
        return body
    block = "\n".join(figures)
    at = body.find('<p class="funding-statement"')
    if at < 0:
        return f"{body}\n{block}"
    return f"{body[:at]}{block}\n{body[at:]}"

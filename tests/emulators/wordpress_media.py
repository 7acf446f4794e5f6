"""The WordPress emulator's Media Library: ``/wp/v2/media`` as WordPress core serves it.

Checked against ``WP_REST_Attachments_Controller`` (WordPress 6.1), with the
same codes, words and statuses:

* Upload, ``POST /wp/v2/media``: either the raw file as the body, with
  ``Content-Type`` (``rest_upload_no_content_type``) and ``Content-Disposition:
  attachment; filename="..."`` (``rest_upload_no_content_disposition``,
  ``rest_upload_invalid_disposition``), or a ``multipart/form-data`` form
  whose ``file`` field is the file. An empty body is ``rest_upload_no_data``.
  PHP's limits apply to forms only (as a real WordPress on PHP 8.2 shows): a
  form's file over ``upload_max_filesize`` is ``rest_upload_unknown_error``
  (500); a form over ``post_max_size`` is not parsed, so WordPress takes it
  for a raw upload without ``Content-Disposition``. A raw body over either
  limit is stored (PHP only logs a warning). ``Content-MD5`` (hex) must match the
  body (412 ``rest_upload_hash_mismatch``). On a multisite, a file over
  "Max upload file size" is ``rest_upload_file_too_big``. The file's type is
  ``wp_check_filetype_and_ext``'s: an image with another image type's
  extension is renamed to its real one, anything else that is not an image
  is ``rest_upload_sideload_error`` (500, "Sorry, you are not allowed to
  upload this file type."). The attachment's other fields (``alt_text``
  through ``sanitize_text_field``, ``caption``, ``title``) come from the query
  string, or from the form. The answer is 201, ``Location`` and
  ``X-WP-Upload-Attachment-ID``, and the attachment in the ``edit`` context.
* ``GET /wp/v2/media/<id>``: anyone may read an attachment; ``context=edit``
  needs the right to edit it (``rest_forbidden_context``). An unknown id is
  404 ``rest_post_invalid_id``.
* ``POST /wp/v2/media/<id>``: alt text, caption and title, for a user who may
  edit the attachment (their own, or anyone's with ``edit_others_posts``).
* ``GET /wp/v2/media``: the library, newest first (or ``orderby``/``order``),
  ``search`` matching the title, caption, description or file name.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any, Final

from emulators.server import Request, Response

if TYPE_CHECKING:
    from emulators.wordpress import WordPressEmulator, WPUser

_NOT_LOGGED_IN: Final = "Sorry, you are not allowed to create posts as this user."
_NOT_EDITABLE: Final = "Sorry, you are not allowed to edit this post."
_FILE_TYPE: Final = "Sorry, you are not allowed to upload this file type."
#: What wp_get_image_mime() finds in an image's first bytes.
_IMAGE_TYPES: Final[Mapping[str, Callable[[bytes], bool]]] = {
    "image/jpeg": lambda b: b.startswith(b"\xff\xd8\xff"),
    "image/png": lambda b: b.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/gif": lambda b: b.startswith((b"GIF87a", b"GIF89a")),
    "image/webp": lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP",
}
#: get_allowed_mime_types() for images, and getimagesize_mimes_to_exts.
_EXTENSION_TYPES: Final = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
}
_TYPE_EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
}
MB: Final = 1024 * 1024


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"code": code, "message": message, "data": {"status": status}})


def filename_from_disposition(value: str) -> str | None:
    """WordPress's ``get_filename_from_disposition``: ``filename`` only, quotes dropped."""
    filename = None
    if ";" not in value:
        return None
    _type, attributes = value.split(";", 1)
    for part in attributes.split(";"):
        if "=" not in part:
            continue
        key, raw = part.split("=", 1)
        if key.strip() == "filename" and raw.strip():
            filename = raw.strip()
            if len(filename) >= 2 and filename.startswith('"') and filename.endswith('"'):
                filename = filename[1:-1]
    return filename


def sanitize_text_field(text: str) -> str:
    """WordPress's ``sanitize_text_field``: no tags, one line, no %-encoded octets."""
    if "<" in text:
        text = re.sub(r"<[^>]*>", "", re.sub(r"<(?=[^a-zA-Z/!?]|$)", "&lt;", text))
    text = re.sub(r"[\r\n\t ]+", " ", text).strip()
    stripped = re.sub(r"%[a-f0-9]{2}", "", text, flags=re.I)
    return re.sub(" +", " ", stripped).strip() if stripped != text else text


def _sanitize_file_name(name: str) -> str:
    """``sanitize_file_name``, for the names uploads have: no specials, dashes for spaces."""
    name = re.sub(r"[?\[\]/\\=<>:;,'\"&$#*()|~`!{}%+\x00-\x1f]", "", name)
    return re.sub(r"[\s-]+", "-", name).strip(".-_") or "unnamed-file"


def _image_type(data: bytes) -> str | None:
    return next((mime for mime, looks in _IMAGE_TYPES.items() if looks(data)), None)


def _dimensions(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


class MediaLibrary:
    """Attachments of one emulated site, kept in ``site.media`` by id."""

    def __init__(self, site: WordPressEmulator) -> None:
        self.site = site
        #: PHP's limits (its defaults), for multipart forms only.
        self.post_max_size = 8 * MB
        self.upload_max_filesize = 2 * MB
        #: A multisite's "Max upload file size" (fileupload_maxk), in KB; None: one site.
        self.multisite_max_kb: int | None = None

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", r"/wp/v2/media", self.list_items),
            ("POST", r"/wp/v2/media", self.upload),
            ("GET", r"/wp/v2/media/(\d+)", self.get),
            ("POST", r"/wp/v2/media/(\d+)", self.update),
        ]

    # -- reading ----------------------------------------------------------------------

    def may_edit(self, user: WPUser | None, item: Mapping[str, Any]) -> bool:
        if user is None:
            return False
        if item["author"] == user.id:
            return user.can("edit_posts")
        return user.can("edit_others_posts")

    def as_json(self, item: Mapping[str, Any], *, edit: bool) -> dict[str, Any]:
        caption = item["caption"]
        body: dict[str, Any] = {
            "id": item["id"],
            "date": item["date"],
            "date_gmt": item["date"],
            "slug": item["slug"],
            "status": "inherit",
            "type": "attachment",
            "link": f"{self.site.base_url}/?attachment_id={item['id']}",
            "title": {"rendered": html.escape(item["title"], quote=False)},
            "author": item["author"],
            "alt_text": item["alt_text"],
            "caption": {"rendered": f"<p>{caption}</p>\n" if caption else ""},
            "description": {"rendered": ""},
            "media_type": "image",
            "mime_type": item["mime_type"],
            "source_url": item["source_url"],
            "media_details": {
                "filesize": len(item["data"]),
                "file": item["file"],
                "sizes": {},
                **({"width": item["size"][0], "height": item["size"][1]} if item["size"] else {}),
            },
            "post": None,
        }
        if edit:
            body["title"]["raw"] = item["title"]
            body["caption"]["raw"] = caption
            body["description"]["raw"] = ""
        return body

    def get(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, media_id: str
    ) -> Response:
        item = self.site.media.get(int(media_id))
        if item is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        edit = params.get("context") == "edit"
        if edit and not self.may_edit(user, item):
            return _error(401 if user is None else 403, "rest_forbidden_context", _NOT_EDITABLE)
        return Response(200, self.as_json(item, edit=edit))

    def list_items(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None
    ) -> Response:
        edit = params.get("context") == "edit"
        if edit and (user is None or not user.can("edit_posts")):
            return _error(
                401 if user is None else 403,
                "rest_forbidden_context",
                "Sorry, you are not allowed to edit posts in this post type.",
            )
        wanted = str(params.get("media_type", ""))
        terms = str(params.get("search", "")).lower().split()
        found = []
        for item in self.site.media.values():
            if wanted and not item["mime_type"].startswith(f"{wanted}/"):
                continue
            columns = (item["title"], item["caption"], item["file"])
            if all(any(t in c.lower() for c in columns) for t in terms):
                found.append(item)
        key = "id" if params.get("orderby") == "id" else "date"
        found.sort(key=lambda i: (i[key], i["id"]), reverse=params.get("order", "desc") == "desc")
        return self.site._collection([self.as_json(i, edit=edit) for i in found], params)

    # -- changing -----------------------------------------------------------------------

    def update(
        self, request: Request, params: Mapping[str, Any], user: WPUser | None, media_id: str
    ) -> Response:
        item = self.site.media.get(int(media_id))
        if item is None:
            return _error(404, "rest_post_invalid_id", "Invalid post ID.")
        if not self.may_edit(user, item):
            return _error(401 if user is None else 403, "rest_cannot_edit", _NOT_EDITABLE)
        self._apply(item, params)
        return Response(200, self.as_json(item, edit=True))

    @staticmethod
    def _apply(item: dict[str, Any], params: Mapping[str, Any]) -> None:
        if isinstance(params.get("alt_text"), str):
            item["alt_text"] = sanitize_text_field(params["alt_text"])
        for key in ("caption", "title"):
            value = params.get(key)
            value = value.get("raw") if isinstance(value, dict) else value
            if isinstance(value, str):
                item[key] = value

    def upload(self, request: Request, params: Mapping[str, Any], user: WPUser | None) -> Response:
        # The attachment type's create_posts capability is upload_files.
        if user is None:
            return _error(401, "rest_cannot_create", _NOT_LOGGED_IN)
        if not user.can("upload_files"):
            return _error(403, "rest_cannot_create", _NOT_LOGGED_IN)
        body = request.body
        content_type = request.headers.get("content-type", "")
        fields = dict(params)
        is_form = content_type.startswith("multipart/form-data")
        if is_form and body and len(body) <= self.post_max_size:
            form = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            parts = [p for p in form.iter_parts() if isinstance(p, EmailMessage)]
            named = {str(p.get_param("name", header="content-disposition")): p for p in parts}
            file = named.pop("file", None)
            fields |= {name: p.get_content() for name, p in named.items() if not p.get_filename()}
            if file is None:
                return _error(400, "rest_upload_no_data", "No data supplied.")
            data = file.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            if len(data) > self.upload_max_filesize:
                return _error(
                    500,
                    "rest_upload_unknown_error",
                    "The uploaded file exceeds the upload_max_filesize directive in php.ini.",
                )
            filename: str | None = file.get_filename() or ""
            kind = file.get_content_type()
        else:
            refused = self._check_raw(request, body)
            if refused is not None:
                return refused
            data, kind = body, content_type
            # PHP sees the header's bytes; http.server decoded them as Latin-1.
            disposition = request.headers["content-disposition"].encode("latin-1")
            filename = filename_from_disposition(disposition.decode("utf-8", "replace"))
        if self.multisite_max_kb is not None and len(data) > self.multisite_max_kb * 1024:
            return _error(
                400,
                "rest_upload_file_too_big",
                "This file is too big. Files must be less than "
                f"{self.multisite_max_kb} KB in size.",
            )
        return self._store(data, filename or "", kind, user, fields)

    def _check_raw(self, request: Request, body: bytes) -> Response | None:
        """``upload_from_data``'s checks of a raw upload, in its order."""
        if not body:
            return _error(400, "rest_upload_no_data", "No data supplied.")
        if not request.headers.get("content-type"):
            return _error(400, "rest_upload_no_content_type", "No Content-Type supplied.")
        disposition = request.headers.get("content-disposition", "")
        if not disposition:
            return _error(
                400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
            )
        if not filename_from_disposition(disposition):
            return _error(
                400,
                "rest_upload_invalid_disposition",
                "Invalid Content-Disposition supplied. Content-Disposition needs to be "
                'formatted as `attachment; filename="image.png"` or similar.',
            )
        md5 = request.headers.get("content-md5")
        if md5 and md5.strip() != hashlib.md5(body).hexdigest():
            return _error(412, "rest_upload_hash_mismatch", "Content hash did not match expected.")
        return None

    def _store(
        self, data: bytes, filename: str, kind: str, user: WPUser, fields: Mapping[str, Any]
    ) -> Response:
        stem, _, extension = filename.rpartition(".")
        claimed = _EXTENSION_TYPES.get(extension.lower()) if stem else None
        real = _image_type(data)
        if claimed is None or real is None:
            return _error(500, "rest_upload_sideload_error", _FILE_TYPE)
        extension = extension.lower() if real == claimed else _TYPE_EXTENSIONS[real]
        site = self.site
        now = datetime.now(UTC)
        name = f"{_sanitize_file_name(stem)}.{extension}"
        taken = {i["file"] for i in site.media.values()}
        base, n = name, 1
        while f"{now:%Y/%m}/{name}" in taken:  # wp_unique_filename()
            name, n = f"{base.rsplit('.', 1)[0]}-{n}.{extension}", n + 1
        media_id = site._next("post")  # attachments are posts: one sequence of ids
        item: dict[str, Any] = {
            "id": media_id,
            "filename": filename,
            "content_type": kind,
            "data": data,
            "author": user.id,
            "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "file": f"{now:%Y/%m}/{name}",
            "slug": name.rsplit(".", 1)[0].lower(),
            "mime_type": real,
            "size": _dimensions(data),
            "source_url": f"{site.base_url}/wp-content/uploads/{now:%Y/%m}/{name}",
            "title": name.rsplit(".", 1)[0],
            "caption": "",
            "alt_text": "",
        }
        self._apply(item, fields)
        site.media[media_id] = item
        location = site._rest_url(f"/wp/v2/media/{media_id}")
        return Response(
            201,
            self.as_json(item, edit=True),
            {"Location": location, "X-WP-Upload-Attachment-ID": str(media_id)},
        )

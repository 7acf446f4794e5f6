"""The Media Library's wire protocol: the same requests to the real WordPress (Debian's
6.1, run by scripts/wordpress-test-server) and to the emulator, the same answers expected.

What WordPress answers here was read from ``WP_REST_Attachments_Controller`` and
``wp_check_filetype_and_ext`` and checked on the real one; the emulator passes
only if it answers alike.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import requests
from PIL import Image
from real_wordpress import RealWordPress, start_wordpress, stop_wordpress

from emulators.wordpress import DEFAULT_APP_PASSWORD, WordPressEmulator

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Site:
    """A WordPress to ask: the real one, or the emulator that must answer as it does."""

    rest_url: Callable[[str], str]
    uploader: tuple[str, str]
    contributor: tuple[str, str]


def emulated(emulator: WordPressEmulator) -> Site:
    emulator.add_user("contributor", application_password="cccc cccc cccc cccc", role="contributor")
    return Site(
        rest_url=lambda route: f"{emulator.base_url}/wp-json{route}",
        uploader=("editor", DEFAULT_APP_PASSWORD),
        contributor=("contributor", "cccc cccc cccc cccc"),
    )


def real(wp: RealWordPress) -> Site:
    return Site(wp.rest_url, wp.admin_auth, wp.contributor_auth)


@pytest.fixture(params=["emulator", "real"])
def site(request: pytest.FixtureRequest) -> Iterator[Site]:
    if request.param == "real":
        yield real(request.getfixturevalue("real_wordpress"))
        return
    with WordPressEmulator() as emulator:
        assert isinstance(emulator, WordPressEmulator)
        yield emulated(emulator)


def noise_png(side: int = 24) -> bytes:
    """A PNG no other test uploads: its hash is new, and it does not compress."""
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 64).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def upload(
    http: requests.Session,
    site: Site,
    data: bytes,
    name: str,
    *,
    params: dict[str, str] | None = None,
    **headers: str,
) -> requests.Response:
    sent = {"Content-Type": "image/png", "Content-Disposition": f'attachment; filename="{name}"'}
    sent.update({k.replace("_", "-"): v for k, v in headers.items()})
    return http.post(site.rest_url("/wp/v2/media"), params=params, data=data, headers=sent)


def wp_error(status: int, code: str, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "data": {"status": status}}


def test_an_upload_with_alt_text_and_caption_then_read_back(site: Site) -> None:
    http = requests.Session()
    http.auth = site.uploader
    png = noise_png()
    token = uuid.uuid4().hex[:16]
    created = upload(
        http,
        site,
        png,
        f"protesta-{token}.png",
        params={"alt_text": "Dy  gra\nnë <b>protestë</b> & 50%ab", "caption": "Foto: A &amp; B"},
        Content_MD5=hashlib.md5(png).hexdigest(),
    )
    assert created.status_code == 201, created.text
    media = created.json()
    assert created.headers["Location"] == site.rest_url(f"/wp/v2/media/{media['id']}")
    assert created.headers["X-WP-Upload-Attachment-ID"] == str(media["id"])
    # sanitize_text_field(): one line, no tags, no %-octets.
    assert media["alt_text"] == "Dy gra në protestë & 50"
    assert media["caption"]["raw"] == "Foto: A &amp; B"
    assert media["title"]["raw"] == f"protesta-{token}"
    assert (media["mime_type"], media["media_type"], media["status"]) == (
        "image/png",
        "image",
        "inherit",
    )
    assert media["post"] is None
    assert (media["media_details"]["width"], media["media_details"]["height"]) == (24, 24)
    assert media["source_url"].endswith(f"/protesta-{token}.png")
    url = site.rest_url(f"/wp/v2/media/{media['id']}")

    anonymous = requests.get(url, params={"_fields": "id,alt_text,source_url"}, timeout=30)
    assert anonymous.json() == {
        "id": media["id"],
        "alt_text": "Dy gra në protestë & 50",
        "source_url": media["source_url"],
    }
    not_editor = wp_error(
        401, "rest_forbidden_context", "Sorry, you are not allowed to edit this post."
    )
    assert requests.get(url, params={"context": "edit"}, timeout=30).json() == not_editor
    other = requests.get(url, params={"context": "edit"}, auth=site.contributor, timeout=30)
    assert (other.status_code, other.json()["code"]) == (403, "rest_forbidden_context")
    gone = http.get(site.rest_url("/wp/v2/media/987654"))
    assert (gone.status_code, gone.json()) == (
        404,
        wp_error(404, "rest_post_invalid_id", "Invalid post ID."),
    )

    found = http.get(
        site.rest_url("/wp/v2/media"), params={"search": token, "context": "edit", "_fields": "id"}
    )
    assert found.json() == [{"id": media["id"]}]

    changed = http.post(url, json={"alt_text": "Tjetër  <i>alt</i>", "caption": "Re"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["alt_text"], changed.json()["caption"]["raw"]) == ("Tjetër alt", "Re")
    refused = requests.post(url, json={"alt_text": "x"}, auth=site.contributor, timeout=30)
    assert (refused.status_code, refused.json()) == (
        403,
        wp_error(403, "rest_cannot_edit", "Sorry, you are not allowed to edit this post."),
    )


def test_what_an_upload_is_refused_for(site: Site) -> None:
    http = requests.Session()
    http.auth = site.uploader
    png = noise_png()
    answers = {
        "hash": upload(http, site, png, "h.png", Content_MD5="0" * 32),
        "empty": upload(http, site, b"", "e.png"),
        "no type": http.post(
            site.rest_url("/wp/v2/media"),
            data=png,
            headers={"Content-Disposition": 'attachment; filename="t.png"'},
        ),
        "no name": upload(http, site, png, "x.png", Content_Disposition="attachment"),
        "not an image": upload(http, site, b"<html>hello</html>", "n.png"),
    }
    assert {what: (r.status_code, r.json()) for what, r in answers.items()} == {
        "hash": (
            412,
            wp_error(412, "rest_upload_hash_mismatch", "Content hash did not match expected."),
        ),
        "empty": (400, wp_error(400, "rest_upload_no_data", "No data supplied.")),
        "no type": (400, wp_error(400, "rest_upload_no_content_type", "No Content-Type supplied.")),
        "no name": (
            400,
            wp_error(
                400,
                "rest_upload_invalid_disposition",
                "Invalid Content-Disposition supplied. Content-Disposition needs to be formatted "
                'as `attachment; filename="image.png"` or similar.',
            ),
        ),
        "not an image": (
            500,
            wp_error(
                500,
                "rest_upload_sideload_error",
                "Sorry, you are not allowed to upload this file type.",
            ),
        ),
    }
    # An image under another image type's extension is renamed, not refused.
    token = uuid.uuid4().hex[:12]
    renamed = upload(http, site, png, f"really-{token}.jpg", Content_Type="image/jpeg")
    assert renamed.status_code == 201, renamed.text
    assert renamed.json()["source_url"].endswith(f"/really-{token}.png")
    assert renamed.json()["mime_type"] == "image/png"
    # A form works too, its fields are the attachment's.
    form = http.post(
        site.rest_url("/wp/v2/media"),
        files={"file": (f"form-{token}.png", png, "image/png")},
        data={"alt_text": "Nga formulari"},
    )
    assert form.status_code == 201, form.text
    assert form.json()["alt_text"] == "Nga formulari"


@pytest.fixture(params=["emulator", "real"])
def small_limits(request: pytest.FixtureRequest) -> Iterator[Site]:
    """A site whose PHP takes files up to 4 KB and requests up to 16 KB."""
    if request.param == "emulator":
        with WordPressEmulator() as emulator:
            assert isinstance(emulator, WordPressEmulator)
            emulator.library.upload_max_filesize = 4 * 1024
            emulator.library.post_max_size = 16 * 1024
            yield emulated(emulator)
        return
    name = f"{request.getfixturevalue('real_wordpress').name}-limits"
    wp = start_wordpress(name, php_limits={"upload_max_filesize": "4K", "post_max_size": "16K"})
    try:
        yield real(wp)
    finally:
        stop_wordpress(name)


def test_php_upload_limits_stop_forms_but_not_a_raw_body(small_limits: Site) -> None:
    http = requests.Session()
    http.auth = small_limits.uploader
    medium, large = noise_png(40), noise_png(90)
    assert 4 * 1024 < len(medium) < 16 * 1024 < len(large)

    def form(data: bytes) -> requests.Response:
        return http.post(
            small_limits.rest_url("/wp/v2/media"), files={"file": ("f.png", data, "image/png")}
        )

    assert (form(medium).status_code, form(medium).json()) == (
        500,
        wp_error(
            500,
            "rest_upload_unknown_error",
            "The uploaded file exceeds the upload_max_filesize directive in php.ini.",
        ),
    )
    # Over post_max_size PHP does not read the form: WordPress sees a raw body.
    assert form(large).json() == wp_error(
        400, "rest_upload_no_content_disposition", "No Content-Disposition supplied."
    )
    for data in (medium, large):
        raw = upload(http, small_limits, data, "raw.png")
        assert raw.status_code == 201, raw.text

"""Pictures into the store: files staff give, and the pictures a news item refers to.

A press release's pictures are found beside its file (``<img src="foto.jpg">``
next to ``lajmi.html``), inside it (``data:`` URIs), or on the web. Web
addresses are fetched only when the operator allows it
(``VISIBILITY_FETCH_REMOTE_IMAGES``), with a size cap and a timeout, and
never from this machine's own or private addresses. A picture that cannot
be had is skipped with the reason, never a reason to refuse the news item.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from visibility.errors import InputError
from visibility.media.files import ImageFiles, StoredImage
from visibility.news.model import ImageRef
from visibility.queue.views import NewImage


@dataclass(frozen=True)
class Intake:
    """What came of a news item's pictures."""

    images: tuple[NewImage, ...]
    skipped: tuple[str, ...]  # one line per picture left out, saying why


@dataclass(frozen=True)
class RemotePolicy:
    allowed: bool = False
    timeout: float = 10.0
    # Only for tests against a server on loopback: in production a news item
    # must not make visibility read from its own network.
    private_addresses: bool = False


def new_image(
    stored: StoredImage, *, alt: str | None, caption: str | None, source: str | None
) -> NewImage:
    return NewImage(
        sha256=stored.sha256,
        mime_type=stored.mime_type,
        width=stored.width,
        height=stored.height,
        size=stored.size,
        alt=alt,
        caption=caption,
        source=source,
    )


def parse_image_option(value: str) -> tuple[Path, str | None]:
    """``FILE[:ALT]`` as given to ``news add --image``; a colon in a Windows drive
    letter (``C:\\...``) is part of the file name."""
    head, sep, alt = value.partition(":")
    if sep and len(head) == 1 and head.isalpha():  # C:\photo.jpg[:alt]
        rest, sep2, alt = alt.partition(":")
        head, sep = f"{head}:{rest}", sep2
    return Path(head), (alt.strip() or None) if sep else None


def take_files(files: ImageFiles, chosen: Sequence[tuple[Path, str | None]]) -> list[NewImage]:
    """Pictures staff named (``news add --image``): each must be there and be a picture."""
    out = []
    for path, alt in chosen:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"--image {path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"--image {path}: is a folder; name a picture file") from None
        except OSError as exc:
            raise InputError(f"--image {path}: cannot be read ({exc.strerror})") from None
        stored = files.add(data, name=path.name)
        out.append(new_image(stored, alt=alt, caption=None, source=path.name))
    return out


def take_refs(
    files: ImageFiles,
    refs: Sequence[ImageRef],
    *,
    beside: Path | None,
    remote: RemotePolicy,
) -> Intake:
    """The pictures a news item refers to, found and stored; the others skipped, with why."""
    images: list[NewImage] = []
    skipped: list[str] = []
    for ref in refs:
        label = _label(ref.src)
        try:
            data = _fetch(ref.src, beside=beside, remote=remote, max_bytes=files.max_bytes)
            stored = files.add(data, name=label)
        except InputError as exc:
            skipped.append(f"{label}: {exc}")
            continue
        images.append(new_image(stored, alt=ref.alt, caption=ref.caption, source=label))
    return Intake(tuple(images), tuple(skipped))


def _label(src: str) -> str:
    if src.startswith("data:"):
        return "an embedded picture"
    return src if len(src) <= 120 else src[:117] + "..."


def _fetch(src: str, *, beside: Path | None, remote: RemotePolicy, max_bytes: int) -> bytes:
    scheme = urlsplit(src).scheme.lower()
    if scheme == "data":
        return _data_uri(src)
    if scheme in ("http", "https"):
        if not remote.allowed:
            # The operator allows it with VISIBILITY_FETCH_REMOTE_IMAGES.
            raise InputError(
                "pictures on the web are not fetched on this installation: save it and add "
                "it to the news item"
            )
        host = urlsplit(src).hostname or ""
        if not remote.private_addresses and _private(host):
            raise InputError("pictures are not fetched from this machine's or private addresses")
        return _download(src, timeout=remote.timeout, max_bytes=max_bytes)
    if scheme and len(scheme) > 1:
        raise InputError(f"a {scheme}: address is not a picture visibility can fetch")
    if beside is None:
        raise InputError("no folder to look for it in: add the picture itself")
    name = unquote(urlsplit(src).path)
    path = (beside / name).resolve()
    # Only files in the news item's folder (or below): a news file cannot make
    # visibility read /etc/passwd.
    if beside.resolve() not in path.parents:
        raise InputError("only pictures in the news item's folder are taken")
    try:
        return path.read_bytes()
    except OSError:
        raise InputError("no such file beside the news item") from None


def _data_uri(src: str) -> bytes:
    header, _, payload = src.partition(",")
    if ";base64" not in header.lower():
        raise InputError("an embedded picture that is not base64 is not taken")
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise InputError("the embedded picture is damaged") from None


def _download(url: str, *, timeout: float, max_bytes: int) -> bytes:
    import requests

    try:
        with requests.get(url, timeout=timeout, stream=True, allow_redirects=False) as answer:
            if answer.status_code != 200:
                raise InputError(f"the web server answered HTTP {answer.status_code}")
            data = bytearray()
            for chunk in answer.iter_content(64 * 1024):
                data += chunk
                if len(data) > max_bytes:
                    raise InputError(f"larger than {max_bytes // 1_000_000} MB")
            return bytes(data)
    except requests.RequestException as exc:
        raise InputError(f"could not be fetched ({exc.__class__.__name__})") from exc


def _private(host: str) -> bool:
    """Whether ``host`` resolves to a loopback, private, link-local or reserved address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # requests will say it cannot connect
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if (
            address.is_private
            or address.is_loopback
            or address.is_link_local
            or address.is_reserved
            or address.is_multicast
        ):
            return True
    return False

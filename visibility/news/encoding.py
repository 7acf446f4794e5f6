"""Bytes to text: UTF-8/UTF-16 by BOM, legacy Balkan code pages by detection.

News items arrive as files saved by many different editors. Most are UTF-8;
older Windows installations in Kosovo and Serbia still save Windows-1250
(Albanian and Serbian Latin), Windows-1252 (Albanian) or Windows-1251 (Serbian
Cyrillic). Strict UTF-8 wins whenever it decodes; otherwise
``charset_normalizer`` picks the code page, trying those common ones first.
Binaries (PDF, Word, images, ...) are refused with a message saying what to
do instead.
"""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

from visibility.errors import InputError

# Tried first: the code pages in everyday use in Kosovo and Serbia. Only when
# none of them fits is every encoding charset_normalizer knows considered.
PREFERRED_CODE_PAGES = ("cp1250", "cp1252", "cp1251", "iso8859_2")

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

_MAGIC_NUMBERS = (
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive, e.g. .docx or .odt"),
    (b"PK\x05\x06", "ZIP archive, e.g. .docx or .odt"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Word .doc or Excel .xls"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\x1f\x8b", "gzip archive"),
    (b"Rar!\x1a\x07", "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),
)

# Non-ASCII characters expected in Albanian, Serbian (both scripts) and
# English news; used to choose between equally plausible code pages.
_EXPECTED = frozenset(
    "ëËçÇčČćĆšŠžŽđĐ"
    "АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШабвгдђежзијклљмнњопрстћуфхцчџш"
    "–—„“”‘’‚…«»€•°§©®™·×\u00a0"
)

# Share of control characters (other than tab and line breaks) above which
# decoded "text" is really a binary payload; a few stray ones are dropped.
_MAX_CONTROL_SHARE = 0.01
_MIN_BINARY_CONTROLS = 4
_ALLOWED_CONTROLS = frozenset("\t\n\r\f")
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u00ad"))


def _binary_error(source: str, kind: str | None) -> InputError:
    what = f"a binary file ({kind})" if kind else "a binary file"
    return InputError(
        f"{source} looks like {what}, not text: save it as .txt, .md or .html and add that"
    )


def _magic_kind(data: bytes) -> str | None:
    for magic, kind in _MAGIC_NUMBERS:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP image"
    return None


def _decode_by_bom(data: bytes, source: str) -> str | None:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{source} starts with a {codec.upper()} byte-order mark but is not valid "
                    f"{codec.upper()} ({exc.reason} at byte {exc.start}): "
                    "save it again as UTF-8 text and add that"
                ) from exc
    return None


def _unexpected(text: str) -> int:
    """How many non-ASCII characters of ``text`` are unusual in sq, sr or en news."""
    return sum(1 for ch in text if ch > "\x7f" and ch not in _EXPECTED)


def _decode_legacy(data: bytes, source: str) -> str:
    # charset_normalizer ranks Windows-1252 and Windows-1250 readings of Serbian
    # Latin about equally (đ/ð, č/è and ć/æ share byte values); among its
    # plausible readings, the one with the fewest letters foreign to Albanian,
    # Serbian and English wins, ties going to charset_normalizer's order.
    readings = [str(match) for match in from_bytes(data, cp_isolation=list(PREFERRED_CODE_PAGES))]
    if readings:
        return min(readings, key=_unexpected)
    best = from_bytes(data).best()
    if best is None:
        raise InputError(
            f"{source} is not in a text encoding visibility recognises: "
            "save it as UTF-8 text (.txt, .md or .html) and add that"
        )
    return str(best)


def normalize_text(text: str, *, source: str) -> str:
    """NFC, ``\\n`` line endings, no BOM or invisible characters.

    Raises InputError when the text is full of control characters (a binary
    file read as text); a few stray ones are dropped.
    """
    if "\x00" in text:
        raise _binary_error(source, None)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = text.translate(_INVISIBLE)
    controls = [
        ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS
    ]
    if controls:
        if len(controls) >= _MIN_BINARY_CONTROLS and len(controls) > _MAX_CONTROL_SHARE * len(text):
            raise _binary_error(source, None)
        stray = set(controls)
        text = "".join(ch for ch in text if ch not in stray)
    text = text.replace("\f", "\n")
    return unicodedata.normalize("NFC", text)


def decode_bytes(data: bytes, *, source: str) -> str:
    """Decode a news item file's bytes to normalised text.

    ``source`` names the file in error messages. UTF-8 (with or without BOM)
    and UTF-16/UTF-32 with BOM are read directly; other text is decoded with
    the code page ``charset_normalizer`` detects (Windows-1250, -1252 and
    -1251 first). Raises InputError for binaries and undecodable bytes.
    """
    kind = _magic_kind(data)
    if kind is not None:
        raise _binary_error(source, kind)
    text = _decode_by_bom(data, source)
    if text is None:
        if b"\x00" in data:
            raise _binary_error(source, None)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_legacy(data, source)
    return normalize_text(text, source=source)

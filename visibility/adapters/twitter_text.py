"""Tweet texts for the X adapter: a long text cut into a thread, and texts compared
the way X keeps them.

X replaces every URL by a ``https://t.co/...`` link and HTML-escapes ``&<>``
in what it returns, so URLs on both sides become one mark, and whitespace and
Unicode normalisation are evened out, before comparing.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from typing import Final

from visibility.text.tweet import MAX_TWEET_LENGTH, extract_urls, weighted_length

__all__ = ["URL_MARK", "comparable_text", "split_thread", "stored_forms"]

#: What every URL becomes in a comparable text.
URL_MARK: Final = "\ufffc"

_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*$")


def _largest(n: int, fits: Callable[[int], bool]) -> int:
    """The largest index below ``n`` for which ``fits`` holds (``-1`` if none); monotone."""
    lo, hi = -1, n - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cut(text: str, limit: int) -> int:
    """Where the first tweet of ``text`` (longer than ``limit``) ends."""
    words = list(re.finditer(r"\S+", text))
    ends = [m.end() for m in words]
    best = _largest(len(ends), lambda i: weighted_length(text[: ends[i]]) <= limit)
    if best < 0:  # a single word longer than a tweet
        return max(1, _largest(len(text) + 1, lambda i: weighted_length(text[:i]) <= limit))
    for j in range(best, -1, -1):
        follows = words[j + 1].group()[0] if j + 1 < len(words) else ""
        if _SENTENCE_END.search(words[j].group()) and not follows.islower():
            # The last sentence end that fits; earlier ones are shorter still.
            if 2 * weighted_length(text[: ends[j]]) >= limit:
                return ends[j]
            break
    return ends[best]


def comparable_text(text: str) -> str:
    """``text`` reduced to what survives X's storage: NFC, each URL one mark, single spaces."""
    text = unicodedata.normalize("NFC", text)
    pieces: list[str] = []
    position = 0
    for url in extract_urls(text):
        start = text.find(url, position)
        if start < 0:
            continue
        pieces += [text[position:start], URL_MARK]
        position = start + len(url)
    pieces.append(text[position:])
    return " ".join("".join(pieces).split())


def stored_forms(text: str) -> set[str]:
    # API v2 sends "&amp;", "&lt;", "&gt;"; a text that holds "&amp;" itself
    # would be wrongly unescaped, so both readings count.
    return {comparable_text(text), comparable_text(html.unescape(text))}


def split_thread(text: str, limit: int = MAX_TWEET_LENGTH) -> list[str]:
    """Cut ``text`` into tweets of at most ``limit`` weighted characters.

    Cuts fall between words, after a sentence when that keeps at least half
    of a tweet, else after the last word that fits; only a single word longer
    than a tweet is cut inside. Whitespace at a cut is dropped.
    """
    parts: list[str] = []
    rest = text.strip()
    while rest and weighted_length(rest) > limit:
        cut = _cut(rest, limit)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts

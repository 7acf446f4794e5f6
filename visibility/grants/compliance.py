"""Whether a post carries what its news item's grants require.

Checked when a post is derived, edited and approved, and on the text that
went out for the dossier. Texts are compared folded (case, accents,
whitespace and Serbian script do not matter), so "Финансира Европска унија"
meets the Serbian statement in either script. A rule whose alternatives the
grant defines nothing for (no account to mention on X) cannot be met and is
``not_applicable``: the grant's page says so, rather than every post failing.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence

from visibility.grants.model import (
    Compliance,
    Element,
    Grant,
    Override,
    RuleCheck,
    Status,
    Texts,
)

# Serbian Cyrillic in Gaj's Latin alphabet, letter by letter.
_CYRILLIC = dict(
    zip(
        "абвгдђежзијклљмнњопрстћуфхцчџш",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "đ",
            "e",
            "ž",
            "z",
            "i",
            "j",
            "k",
            "l",
            "lj",
            "m",
            "n",
            "nj",
            "o",
            "p",
            "r",
            "s",
            "t",
            "ć",
            "u",
            "f",
            "h",
            "c",
            "č",
            "dž",
            "š",
        ],
        strict=True,
    )
)
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Text as compared: lower case, Latin script, no accents, single spaces."""
    text = text.casefold()
    text = "".join(_CYRILLIC.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "dj").replace("ł", "l")
    return _SPACE.sub(" ", text).strip()


def plain(body: str, kind: str) -> str:
    """A post's words: an article's HTML without its tags."""
    if kind != "website":
        return body
    return html.unescape(_TAGS.sub(" ", body))


def text_language(language: str, text: str) -> str:
    """The tag of ``TEXT_LANGUAGES`` for an item: Serbian by its script."""
    if language == "sr":
        cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
        latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
        return "sr-Cyrl" if cyrillic > latin else "sr-Latn"
    return language


def texts_for(grant: Grant, tag: str) -> Texts | None:
    """The grant's words in the item's language, else English, else any."""
    for candidate in (tag, "sr-Latn" if tag == "sr-Cyrl" else None, "en"):
        if candidate and candidate in grant.texts:
            return grant.texts[candidate]
    return next(iter(grant.texts.values()), None)


def _has_handle(words: str, handle: str) -> bool:
    # A whole handle: "@EUinKosovo" is not met by "@EUinKosovoNews".
    pattern = rf"(?<![\w@#]){re.escape(handle.casefold())}(?![\w])"
    return re.search(pattern, words.casefold()) is not None


def _met(
    element: Element,
    grant: Grant,
    kind: str,
    words: str,
    folded: str,
    images: Collection[str],
) -> bool | None:
    """Whether the post carries ``element``; None when the grant defines none."""
    if element in ("statement", "disclaimer"):
        variants = [getattr(t, element) for t in grant.texts.values() if getattr(t, element)]
        if not variants:
            return None
        return any(fold(v) in folded for v in variants)
    if element == "emblem":
        return None if grant.emblem_sha256 is None else grant.emblem_sha256 in images
    handles = (grant.mentions if element == "mention" else grant.hashtags).get(kind, ())
    if not handles:
        return None
    return any(_has_handle(words, h) for h in handles)


def describe(element: Element, grant: Grant, kind: str, tag: str) -> str:
    """What carrying ``element`` means, in words staff can act on."""
    texts = texts_for(grant, tag)
    if element == "statement":
        return f"the funding statement “{texts.statement if texts else ''}”"
    if element == "disclaimer":
        return "the disclaimer" + (
            f" “{texts.disclaimer[:60]}…”" if texts and texts.disclaimer else ""
        )
    if element == "emblem":
        return f"the {grant.donor_name} emblem as a picture"
    handles = (grant.mentions if element == "mention" else grant.hashtags).get(kind, ())
    noun = "mention" if element == "mention" else "hashtag"
    return f"the {noun} {' or '.join(handles)}" if handles else f"a {noun}"


def check(
    grants: Iterable[Grant],
    *,
    kind: str,
    body: str,
    images: Collection[str] = (),
    language: str = "en",
    override: Override | None = None,
) -> Compliance:
    """Every rule of ``grants`` for a post of ``kind``; ``images``: its pictures' sha256.

    ``language`` is the item's language tag (``text_language``): it chooses
    the words in which a missing element is named.
    """
    words = plain(body, kind)
    folded = fold(words)
    checks: list[RuleCheck] = []
    for grant in grants:
        for alternatives in grant.require.get(kind, ()):
            results = {a: _met(a, grant, kind, words, folded, images) for a in alternatives}
            usable = [a for a in alternatives if results[a] is not None]
            needed = " or ".join(describe(a, grant, kind, language) for a in usable)
            found = next((a for a in alternatives if results[a]), None)
            status: Status
            if not usable:
                status = "not_applicable"
                needed = (
                    f"nothing: grant {grant.name} defines no "
                    + " or ".join(alternatives)
                    + f" for {kind} posts"
                )
            else:
                status = "met" if found else "missing"
            checks.append(RuleCheck(grant.name, tuple(alternatives), status, needed, found))
    return Compliance(tuple(checks), override)


def missing_words(compliance: Compliance, post_id: int) -> str:
    """Why approval is refused, naming each missing element and the way out."""
    parts = [f"{c.needed} (grant {c.grant})" for c in compliance.missing]
    return (
        f"post {post_id} lacks what its grants require: "
        + "; ".join(parts)
        + ". Add it, or approve with a reason for the exception (--override REASON)"
    )


def first_usable(
    grant: Grant, kind: str, alternatives: Sequence[Element], tag: str
) -> Element | None:
    """The alternative derivation adds: the first the grant defines words or a file for."""
    texts = texts_for(grant, tag)
    for element in alternatives:
        if element in ("statement", "disclaimer") and texts and getattr(texts, element):
            return element
        if element == "emblem" and grant.emblem_sha256:
            return element
        if element in ("mention", "hashtag"):
            handles = (grant.mentions if element == "mention" else grant.hashtags).get(kind)
            if handles:
                return element
    return None

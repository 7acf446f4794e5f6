"""Shorten text to a weighted-length budget, and compose tweets from parts.

Cuts happen only between words: preferably right after a sentence (which then
stands on its own, without an ellipsis), otherwise after the last whole word
that fits together with the ellipsis. Candidate cut points are searched with
a galloping + binary search, so a few-KB text costs a handful of measurements
of prefixes not much longer than the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from visibility.text.tweet import MAX_TWEET_LENGTH, weighted_length

__all__ = ["compose_tweet", "shorten_to_fit"]

Measure = Callable[[str], int]

# Stripped from the end of a word-boundary cut before the ellipsis is added.
# Dashes, list punctuation, dots and unambiguous openers; never quotes, which may
# close the previous word.
_STRIP_BEFORE_ELLIPSIS = ",;:–—-‐‒―.…·/([{„"

_WORD = re.compile(r"\S+")
# A sentence end: terminator(s), optional closing quotes/brackets, then whitespace
# and the first character of what follows (captured to reject lowercase starts).
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)\]]*(?=\s+(\S))")
_OPENERS = "\"'“‘„«([{"

# Abbreviations (lowercase, without the final dot) after which a "." rarely ends a
# sentence: English, Albanian (z. = zoti, znj. = zonja, p.sh. = për shembull,
# nr./sh./shek. ...) and Serbian in Latin and Cyrillic script.
_ABBREVIATIONS = frozenset(
    {
        # English
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "no", "nos", "inc", "ltd",
        "co", "corp", "gen", "gov", "sen", "rep", "approx", "e.g", "i.e", "cf", "fig", "vol",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        # Albanian
        "z", "znj", "zj", "p.sh", "sh", "nr", "shek", "prof.dr", "mr.sc", "rr", "fq", "kap",
        "p.e.s", "dt",
        # Serbian / Croatian / Bosnian, Latin script
        "g", "gđa", "gđica", "gosp", "tzv", "npr", "br", "ul", "str", "tj", "dipl",
        "ing", "bb",
        # Serbian / Macedonian, Cyrillic script
        "г", "гђа", "гђица", "госп", "тзв", "нпр", "бр", "ул", "стр", "тј", "др",
        "проф", "мр", "дипл", "инж", "в", "т.е", "т.ј",
    }
)  # fmt: skip


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    following = match.group(1)
    if following.islower():
        return False  # "… 15. maja …", "… u Srbiji i sl. pregovorima …"
    if match.group(0)[0] != ".":
        return True  # "!" and "?" always end a sentence here
    head = text[max(0, match.start() - 32) : match.start()]
    word = "" if not head or head[-1].isspace() else head.split()[-1]
    word = word.lstrip(_OPENERS).lower()
    if len(word) == 1 and word.isalpha():
        return False  # an initial: "J. Smith", "A. Hoxha"
    return word not in _ABBREVIATIONS


def _largest_fitting(n: int, candidate: Callable[[int], str], budget: int, measure: Measure) -> int:
    """Index of the last of ``n`` candidates measuring ≤ budget (``-1`` if none does).

    Assumes the measure grows with the index (longer prefixes of one text).
    Gallops from the start so only prefixes close to the answer get measured.
    """
    if n == 0 or measure(candidate(0)) > budget:
        return -1
    good, step = 0, 1
    while True:
        probe = min(good + step, n - 1)
        if probe == good:
            return good
        if measure(candidate(probe)) > budget:
            bad = probe
            break
        good, step = probe, step * 2
    while bad - good > 1:
        mid = (good + bad) // 2
        if measure(candidate(mid)) <= budget:
            good = mid
        else:
            bad = mid
    return good


def shorten_to_fit(
    text: str,
    budget: int,
    *,
    measure: Measure = weighted_length,
    ellipsis: str = "…",
) -> str:
    """Return ``text`` if it measures ≤ ``budget``, otherwise a shortened prefix that does.

    The cut is made at the end of a sentence (no ellipsis) when that keeps at
    least half the budget, else after the last whole word that fits with
    ``ellipsis`` appended (trailing ``,;:–-`` etc. removed first). Words are
    never split; if not even the first word fits, ``""`` is returned.
    """
    if measure(text) <= budget:
        return text

    # Sentence ends: each candidate is the text up to and including the terminator.
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if _is_sentence_end(text, m)]
    best = _largest_fitting(len(ends), lambda i: text[: ends[i]], budget, measure)
    if best >= 0 and 2 * measure(text[: ends[best]]) >= budget:
        return text[: ends[best]]

    # Word boundaries: the text up to the end of each word with trailing
    # punctuation stripped (so "word," becomes "word…"), plus the ellipsis.
    # A word that is all punctuation ("–") adds no new cut point.
    cores: list[int] = []
    for m in _WORD.finditer(text):
        kept = m.group().rstrip(_STRIP_BEFORE_ELLIPSIS)
        if kept:
            cores.append(m.start() + len(kept))
    best = _largest_fitting(len(cores), lambda i: text[: cores[i]] + ellipsis, budget, measure)
    return text[: cores[best]] + ellipsis if best >= 0 else ""


def compose_tweet(
    parts: Sequence[str],
    *,
    shrinkable: int,
    budget: int = MAX_TWEET_LENGTH,
    separator: str = "\n\n",
) -> str:
    """Join ``parts`` with ``separator`` so the tweet measures ≤ ``budget``.

    Only ``parts[shrinkable]`` (e.g. the lead) may be shortened, with
    :func:`shorten_to_fit`; the others (link, hashtags, ...) are kept whole.
    Parts are stripped of surrounding whitespace and empty ones dropped — the
    shrinkable part too, if nothing of it fits. Raises ``ValueError`` if the
    fixed parts alone measure more than ``budget``.
    """
    if not -len(parts) <= shrinkable < len(parts):
        raise IndexError(f"shrinkable={shrinkable} is out of range for {len(parts)} parts")
    index = shrinkable % len(parts)
    before = [p.strip() for p in parts[:index] if p.strip()]
    after = [p.strip() for p in parts[index + 1 :] if p.strip()]
    body = parts[index].strip()

    def join(middle: str) -> str:
        return separator.join([*before, *([middle] if middle else []), *after])

    full = join(body)
    full_length = weighted_length(full)
    if full_length <= budget:
        return full

    fixed = join("")
    fixed_length = weighted_length(fixed)
    if fixed_length > budget:
        raise ValueError(
            f"the fixed parts of the tweet measure {fixed_length} (weighted), more than the "
            f"budget of {budget}, before any of the shrinkable part is added: {fixed!r}"
        )

    # Room left for the body: budget minus the fixed parts and the extra separator.
    # Weighted lengths add up across whitespace separators, so this is normally
    # exact; the loop only guards against a measure that is not additive.
    overhead = weighted_length(join("x")) - weighted_length("x") if before or after else 0
    room = budget - overhead
    while room > 0:
        piece = shorten_to_fit(body, room)
        if not piece:
            break
        tweet = join(piece)
        excess = weighted_length(tweet) - budget
        if excess <= 0:
            return tweet
        room -= excess
    return fixed

"""Which language a news item is written in: Albanian, Serbian or English.

Google's CLD3 (the ``cld3-py`` wheels, imported as ``gcld3``) does the work:
its model is compiled into a 1.4 MB extension. It replaced py3langid, whose
numpy was 70 MB of the container image for this one call. On whole news items
(a title and a paragraph or more) the two agree; on a bare headline CLD3 is
less sure, and staff can still set the language by hand.

CLD3 names one language for the whole text and cannot be told which ones to
choose from, so its answer counts when it is a candidate; otherwise runs of
two and three words vote, each with CLD3's answer for it and its certainty;
failing that, the first candidate wins. Serbian in Latin script is often
taken for Croatian or Bosnian, so those count as Serbian; text mostly in
Cyrillic is Serbian without asking the model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

# Serbian Latin is often identified as one of these; they count as Serbian.
_SERBIAN_ALIASES = frozenset({"hr", "bs"})
# Enough text to decide; the classifier's cost grows with the length.
_MAX_CHARS = 5000
_MAX_BYTES = 4 * _MAX_CHARS  # UTF-8: the model reads bytes
# The codes CLD3 answers with (its README's table): any other candidate is a typo.
# fmt: off
CLD3_LANGUAGES = frozenset((
    "af", "am", "ar", "bg", "bg-Latn", "bn", "bs", "ca", "ceb", "co", "cs", "cy", "da",
    "de", "el", "el-Latn", "en", "eo", "es", "et", "eu", "fa", "fi", "fil", "fr", "fy",
    "ga", "gd", "gl", "gu", "ha", "haw", "hi", "hi-Latn", "hmn", "hr", "ht", "hu", "hy",
    "id", "ig", "is", "it", "iw", "ja", "ja-Latn", "jv", "ka", "kk", "km", "kn", "ko", "ku",
    "ky", "la", "lb", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn", "mr", "ms", "mt",
    "my", "ne", "nl", "no", "ny", "pa", "pl", "ps", "pt", "ro", "ru", "ru-Latn", "sd", "si",
    "sk", "sl", "sm", "sn", "so", "sq", "sr", "st", "su", "sv", "sw", "ta", "te", "tg",
    "th", "tr", "uk", "ur", "uz", "vi", "xh", "yi", "yo", "zh", "zh-Latn", "zu",
))
# fmt: on
_WORD = re.compile(r"[^\W\d_]+")
_RUNS = (2, 3)


class _Result(Protocol):
    language: str
    probability: float


class _Identifier(Protocol):
    """The part of ``gcld3.NNetLanguageIdentifier`` used here."""

    def FindLanguage(self, text: str) -> _Result: ...


def _identifier() -> _Identifier:
    """A new identifier for each call.

    Making one costs microseconds (the model is static data in the
    extension), and the binding releases the GIL while it classifies, so a
    shared one would be used by several threads at once.
    """
    import gcld3

    identifier: _Identifier = gcld3.NNetLanguageIdentifier(
        min_num_bytes=0, max_num_bytes=_MAX_BYTES
    )
    return identifier


def _mostly_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u052f")
    return bool(letters) and cyrillic * 2 > len(letters)


def _vote(identifier: _Identifier, text: str, answers: dict[str, str]) -> str | None:
    """The candidate that short runs of words are most often, and most surely, written in."""
    words = _WORD.findall(text)
    scores: dict[str, float] = defaultdict(float)
    for size in _RUNS:
        for start in range(max(1, len(words) - size + 1)):
            run = " ".join(words[start : start + size])
            result = identifier.FindLanguage(text=run)
            code = answers.get(result.language)
            if code is not None:
                scores[code] += result.probability * len(run)
    return max(scores, key=scores.__getitem__) if scores else None


def detect_language(text: str, *, candidates: Sequence[str] = ("sq", "sr", "en")) -> str:
    """The ISO 639-1 code of ``text``'s language, one of ``candidates``.

    Text without letters gets the first candidate.
    """
    if not candidates:
        raise ValueError("detect_language needs at least one candidate language")
    if len(candidates) == 1:
        return candidates[0]
    text = text[:_MAX_CHARS]
    if not any(ch.isalpha() for ch in text):
        return candidates[0]
    wanted = frozenset(candidates)
    unknown = wanted - CLD3_LANGUAGES
    if unknown:
        raise ValueError(
            f"unknown language code(s) {', '.join(sorted(unknown))}: "
            "use ISO 639-1 codes such as sq, sr, en"
        )
    if "sr" in wanted and _mostly_cyrillic(text):
        return "sr"
    # What each answer of the model counts as: a candidate, or Serbian for its aliases.
    answers = {code: code for code in wanted}
    if "sr" in wanted:
        answers.update((alias, "sr") for alias in _SERBIAN_ALIASES - wanted)
    if text.isupper():
        text = text.lower()
    identifier = _identifier()
    code = answers.get(identifier.FindLanguage(text=text).language)
    if code is None:
        code = _vote(identifier, text, answers)
    return candidates[0] if code is None else code

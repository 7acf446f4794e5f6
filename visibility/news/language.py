"""Which language a news item is written in: Albanian, Serbian or English.

``py3langid`` restricted to the candidate languages does the work. Serbian in
Latin script is often taken for Croatian or Bosnian, so those two are added to
the candidates and reported as Serbian; text mostly in Cyrillic is Serbian
without asking the model. The model takes a good half second to load, so it
is loaded once, on first use, and shared.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Protocol

# Serbian Latin is often identified as one of these; they count as Serbian.
_SERBIAN_ALIASES = frozenset({"hr", "bs"})
# Enough text to decide; the classifier's cost grows with the length.
_MAX_CHARS = 5000


class _Identifier(Protocol):
    """The part of ``py3langid.langid.LanguageIdentifier`` used here."""

    @property
    def labels(self) -> list[str]: ...

    def set_languages(self, langs: list[str] | None = None) -> None: ...

    def classify(self, text: str) -> tuple[str, float]: ...


_lock = threading.Lock()
_base_identifier: _Identifier | None = None
_identifiers: dict[frozenset[str], _Identifier] = {}


def _load_base() -> _Identifier:
    global _base_identifier
    if _base_identifier is None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier: _Identifier = LanguageIdentifier.from_model_file(MODEL_FILE)
        _base_identifier = identifier
    return _base_identifier


def _identifier(languages: frozenset[str]) -> _Identifier:
    """An identifier restricted to ``languages``, built once per set and cached.

    Restricted copies share the loaded model's arrays; ``set_languages`` only
    rebinds attributes of the copy, so the shared model is never modified.
    """
    with _lock:
        identifier = _identifiers.get(languages)
        if identifier is None:
            base = _load_base()
            unknown = languages - set(base.labels)
            if unknown:
                raise ValueError(
                    f"unknown language code(s) {', '.join(sorted(unknown))}: "
                    "use ISO 639-1 codes such as sq, sr, en"
                )
            identifier = copy.copy(base)
            identifier.set_languages(sorted(languages))
            _identifiers[languages] = identifier
        return identifier


def _mostly_cyrillic(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    cyrillic = sum(1 for ch in letters if "\u0400" <= ch <= "\u052f")
    return bool(letters) and cyrillic * 2 > len(letters)


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
    aliases = _SERBIAN_ALIASES - wanted if "sr" in wanted else frozenset()
    if "sr" in wanted and _mostly_cyrillic(text):
        return "sr"
    if text.isupper():
        text = text.lower()
    code, _score = _identifier(wanted | aliases).classify(text)
    return "sr" if code in aliases else code

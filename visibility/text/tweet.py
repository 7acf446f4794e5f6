"""X's weighted tweet length, as computed by twitter-text.

A thin typed layer over the ``twitter-text-parser`` package (import name
``twitter_text``), which ports twitter-text's ``parseTweet``. X counts the
NFC-normalised text; with the v3 configuration (what X uses today) URLs count
:data:`URL_LENGTH`, every emoji sequence counts 2, code points in the
"light" ranges (Latin, Greek, Cyrillic, ... up to U+10FF and some general
punctuation) count 1 and everything else (CJK, most symbols such as ``…``) 2.
"""

from __future__ import annotations

import copy
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

with warnings.catch_warnings():
    # twitter-text-parser imports pkg_resources, which setuptools marks deprecated.
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", DeprecationWarning)
    import twitter_text
    from twitter_text.config import config as _LIBRARY_CONFIG

__all__ = [
    "MAX_TWEET_LENGTH",
    "URL_LENGTH",
    "ConfigVersion",
    "ParsedTweet",
    "TweetCheck",
    "check_tweet",
    "extract_urls",
    "parse",
    "parser_options",
    "weighted_length",
]

MAX_TWEET_LENGTH: Final = 280
URL_LENGTH: Final = 23

ConfigVersion = Literal["v2", "v3"]
"""``"v3"`` is X's current counting; ``"v2"`` is the same without the emoji discount."""


def _build_options() -> dict[str, dict[str, Any]]:
    # The packaged "version2" entry has no ``emoji_parsing_enabled`` key, and
    # ``parse_tweet`` reads it unconditionally (KeyError), so fill it in.
    v2 = copy.deepcopy(_LIBRARY_CONFIG["version2"])
    v2["emoji_parsing_enabled"] = False
    v3 = copy.deepcopy(_LIBRARY_CONFIG["version3"])
    v3.setdefault("emoji_parsing_enabled", True)
    return {"v2": v2, "v3": v3}


_OPTIONS: Final = _build_options()


def parser_options(config: ConfigVersion = "v3") -> dict[str, Any]:
    """A copy of the options handed to ``twitter_text.parse_tweet`` for ``config``."""
    return copy.deepcopy(_options(config))


def _options(config: ConfigVersion) -> dict[str, Any]:
    try:
        return _OPTIONS[config]
    except KeyError:
        raise ValueError(
            f"unknown twitter-text configuration {config!r}; use 'v2' or 'v3'"
        ) from None


@dataclass(frozen=True)
class ParsedTweet:
    """twitter-text's ``parseTweet`` result; ranges are UTF-16 code unit offsets into the text."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_range_start: int
    valid_range_end: int
    display_range_start: int
    display_range_end: int


@dataclass(frozen=True)
class TweetCheck:
    """Whether a text can be posted as one tweet, and by how much it is too long."""

    weighted_length: int
    valid: bool
    over_by: int


def parse(text: str, config: ConfigVersion = "v3") -> ParsedTweet:
    """Run twitter-text's ``parseTweet`` on ``text``.

    The library NFC-normalises internally and reports ranges relative to
    ``text`` as given, exactly like the reference implementation.
    """
    result = twitter_text.parse_tweet(text, _options(config))
    return ParsedTweet(
        weighted_length=int(result.weightedLength),
        valid=bool(result.valid),
        permillage=int(result.permillage),
        valid_range_start=int(result.validRangeStart),
        valid_range_end=int(result.validRangeEnd),
        display_range_start=int(result.displayRangeStart),
        display_range_end=int(result.displayRangeEnd),
    )


def weighted_length(text: str, config: ConfigVersion = "v3") -> int:
    """X's weighted length of ``text`` (NFC-normalised first, as X counts it)."""
    return parse(unicodedata.normalize("NFC", text), config).weighted_length


def check_tweet(text: str, config: ConfigVersion = "v3") -> TweetCheck:
    """Measure ``text``; it is valid when non-empty, free of invalid characters and ≤ 280."""
    result = parse(unicodedata.normalize("NFC", text), config)
    limit = int(_options(config)["max_weighted_tweet_length"])
    return TweetCheck(
        weighted_length=result.weighted_length,
        valid=result.valid,
        over_by=max(0, result.weighted_length - limit),
    )


def extract_urls(text: str) -> list[str]:
    """The URLs twitter-text finds in ``text`` (with or without protocol), in order.

    These are the spans X replaces by a t.co link and counts as :data:`URL_LENGTH`.
    """
    normalized = unicodedata.normalize("NFC", text)
    return [normalized[start:end] for start, end in url_spans(normalized)]


def url_spans(text: str) -> list[tuple[int, int]]:
    """Where twitter-text finds URLs in ``text`` (already NFC): (start, end) offsets."""
    return [
        (int(entity["indices"][0]), int(entity["indices"][1]))
        for entity in twitter_text.extract_urls_with_indices(text)
    ]

"""X's weighted tweet length: twitter-text's official conformance cases plus our own."""

from __future__ import annotations

import functools
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from visibility.text.tweet import (
    MAX_TWEET_LENGTH,
    URL_LENGTH,
    ConfigVersion,
    TweetCheck,
    check_tweet,
    extract_urls,
    parse,
    parser_options,
    weighted_length,
)

DATA_ENV = "VISIBILITY_TWITTER_TEXT_DATA"


def _data_dir() -> Path:
    override = os.environ.get(DATA_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "twitter-text"


def _missing_reason(name: str) -> str:
    return (
        f"twitter-text conformance data {name!r} not found in {_data_dir()} "
        f"(set {DATA_ENV} to the folder holding validate.yml and config-v3.json)"
    )


@functools.cache
def _validate_tests() -> dict[str, list[dict[str, Any]]] | None:
    path = _data_dir() / "validate.yml"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    tests: dict[str, list[dict[str, Any]]] = data["tests"]
    return tests


def _cases(group: str) -> list[Any]:
    tests = _validate_tests()
    if tests is None:
        return [pytest.param({}, marks=pytest.mark.skip(reason=_missing_reason("validate.yml")))]
    return [pytest.param(case, id=case["description"]) for case in tests[group]]


# validate.yml's camelCase keys → our ParsedTweet fields.
_FIELDS = {
    "weightedLength": "weighted_length",
    "valid": "valid",
    "permillage": "permillage",
    "validRangeStart": "valid_range_start",
    "validRangeEnd": "valid_range_end",
    "displayRangeStart": "display_range_start",
    "displayRangeEnd": "display_range_end",
}


def _check_weighted_case(case: dict[str, Any], config: ConfigVersion) -> None:
    text: str = case["text"]
    expected: dict[str, Any] = case["expected"]
    assert set(expected) <= set(_FIELDS), f"unknown expectation keys {set(expected) - set(_FIELDS)}"
    parsed = parse(text, config)
    got = {key: getattr(parsed, field) for key, field in _FIELDS.items() if key in expected}
    assert got == expected
    # The convenience functions agree with the full parse.
    assert weighted_length(text, config) == expected["weightedLength"]
    check = check_tweet(text, config)
    assert check.weighted_length == expected["weightedLength"]
    assert check.valid == expected["valid"]
    assert check.over_by == max(0, expected["weightedLength"] - MAX_TWEET_LENGTH)


@pytest.mark.parametrize("case", _cases("WeightedTweetsWithDiscountedEmojiCounterTest"))
def test_conformance_v3_discounted_emoji(case: dict[str, Any]) -> None:
    _check_weighted_case(case, "v3")


@pytest.mark.parametrize("case", _cases("UnicodeDirectionalMarkerCounterTest"))
def test_conformance_v3_directional_markers(case: dict[str, Any]) -> None:
    _check_weighted_case(case, "v3")


@pytest.mark.parametrize("case", _cases("WeightedTweetsCounterTest"))
def test_conformance_v2_weighted(case: dict[str, Any]) -> None:
    _check_weighted_case(case, "v2")


LEGACY_LIMIT = 140


@pytest.mark.parametrize("case", _cases("tweets"))
def test_conformance_tweet_validity(case: dict[str, Any]) -> None:
    """``tests.tweets`` predates the 280 limit: its "141 characters" cases are invalid only at 140.

    Every tweet valid there is valid for X today; the empty tweet stays invalid; the ones
    rejected for length are over 140 but within 280.
    """
    text: str = case["text"]
    result = check_tweet(text)
    if case["expected"]:
        assert result.valid
        assert result.over_by == 0
    elif not text:
        assert result == TweetCheck(weighted_length=0, valid=False, over_by=0)
    else:
        assert LEGACY_LIMIT < result.weighted_length <= MAX_TWEET_LENGTH
        assert result.valid


def test_library_v3_config_matches_reference() -> None:
    """The packaged v3 weights equal twitter-text's config/v3.json (catches library drift)."""
    path = _data_dir() / "config-v3.json"
    if not path.is_file():
        pytest.skip(_missing_reason("config-v3.json"))
    reference = json.loads(path.read_text(encoding="utf-8"))
    options = parser_options("v3")
    assert options["version"] == reference["version"] == 3
    assert options["max_weighted_tweet_length"] == reference["maxWeightedTweetLength"]
    assert options["scale"] == reference["scale"]
    assert options["default_weight"] == reference["defaultWeight"]
    assert options["transformed_url_length"] == reference["transformedURLLength"]
    assert options["emoji_parsing_enabled"] == reference["emojiParsingEnabled"]
    assert options["ranges"] == reference["ranges"]
    assert reference["maxWeightedTweetLength"] == MAX_TWEET_LENGTH
    assert reference["transformedURLLength"] == URL_LENGTH


def test_v2_options_are_v3_without_emoji_discount() -> None:
    v2, v3 = parser_options("v2"), parser_options("v3")
    assert v2["emoji_parsing_enabled"] is False
    assert v3["emoji_parsing_enabled"] is True
    for key in ("max_weighted_tweet_length", "scale", "default_weight", "transformed_url_length"):
        assert v2[key] == v3[key]
    assert v2["ranges"] == v3["ranges"]


def test_parser_options_is_a_copy() -> None:
    parser_options("v3")["ranges"].clear()
    assert parser_options("v3")["ranges"]
    assert weighted_length("Ђ") == 1


def test_unknown_config_is_rejected() -> None:
    config: Any = "v4"
    with pytest.raises(ValueError, match="v4"):
        weighted_length("abc", config)


# --- our own cases -------------------------------------------------------------------------

ONE_PER_CHARACTER = [
    pytest.param(
        "Çështja e së ardhmes: ëndrrat çojnë përpara", id="albanian-e-diaeresis-c-cedilla"
    ),
    pytest.param("ËËË çççç ëëë", id="albanian-capitals"),
    pytest.param("Đorđe Đoković čita šest žutih ćirilica", id="serbian-latin"),
    pytest.param("Ђорђе чита шест жутих ћирилица, љубав и њега", id="serbian-cyrillic"),
    pytest.param("Ѓорѓи ќе оди во Ѕвезда, џеб", id="macedonian-cyrillic"),
    pytest.param("Съешь же ещё этих мягких французских булок", id="russian-cyrillic"),
    pytest.param("Ελληνικά γράμματα", id="greek"),
    pytest.param("line one\nline two\ttabbed", id="ascii-with-newline-and-tab"),
]


@pytest.mark.parametrize("text", ONE_PER_CHARACTER)
def test_scripts_weighing_one_per_character(text: str) -> None:
    assert weighted_length(text) == len(unicodedata.normalize("NFC", text))


CYRILLIC = "АБВГҐДЂЕЁЄЖЗЅИІЇЙЈКЛЉМНЊОПРСТЋУЎФХЦЧЏШЩЪЫЬЭЮЯабвгдђежзијклљмнњопрстћуфхцчџшщ"


def test_cyrillic_is_in_the_light_range() -> None:
    """Cyrillic (U+0400–U+04FF) lies in the 0–4351 range of weight 100 = one unit."""
    options = parser_options("v3")
    light = [r for r in options["ranges"] if r["start"] == 0]
    assert light == [{"start": 0, "end": 4351, "weight": 100}]
    assert options["scale"] == 100
    assert all(0x0400 <= ord(char) <= 0x04FF for char in CYRILLIC)
    assert weighted_length(CYRILLIC) == len(CYRILLIC)
    assert all(weighted_length(char) == 1 for char in CYRILLIC)


@pytest.mark.parametrize(
    ("decomposed", "expected"),
    [
        pytest.param("e\u0308", 1, id="e-combining-diaeresis"),
        pytest.param("c\u0327", 1, id="c-combining-cedilla"),
        pytest.param("Shqipe\u0308ri", 8, id="word-with-decomposed-e"),
        pytest.param("C\u0327e\u0308shtje", 7, id="word-with-two-decomposed"),
    ],
)
def test_decomposed_characters_count_after_nfc(decomposed: str, expected: int) -> None:
    assert len(decomposed) > expected  # more code points than NFC characters
    assert weighted_length(decomposed) == expected
    assert weighted_length(decomposed) == weighted_length(unicodedata.normalize("NFC", decomposed))


def _url_of_length(length: int) -> str:
    stem = "https://example.org/lajme/"
    return stem + "a" * (length - len(stem))


def test_long_url_counts_as_url_length() -> None:
    url = _url_of_length(100)
    assert len(url) == 100
    assert weighted_length(url) == URL_LENGTH == 23
    assert weighted_length(f"Lexo më shumë: {url}") == len("Lexo më shumë: ") + 23
    assert extract_urls(f"Lexo më shumë: {url}") == [url]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("https://t.co", 23, id="short-url-also-23"),
        pytest.param("example.com", 23, id="url-without-protocol"),
        pytest.param("日本語", 6, id="cjk-two-each"),
        pytest.param("😷", 2, id="single-emoji"),
        pytest.param("👩\u200d👩\u200d👧", 2, id="zwj-family-sequence"),
        pytest.param("🇦🇱", 2, id="flag-sequence"),
        pytest.param("👍🏽", 2, id="skin-tone-sequence"),
        pytest.param("…", 2, id="horizontal-ellipsis-outside-light-ranges"),
        pytest.param("–—", 2, id="dashes-in-light-ranges"),
        pytest.param("a\r\nb", 3, id="crlf-counts-as-one-newline"),
        pytest.param("", 0, id="empty"),
    ],
)
def test_weighted_length_table(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_emoji_discount_is_v3_only() -> None:
    family = "👩\u200d👩\u200d👧"  # 3 emoji at 2 each, 2 ZWJ (U+200D, light range) at 1 each
    assert weighted_length(family, "v3") == 2
    assert weighted_length(family, "v2") == 8


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", TweetCheck(0, False, 0), id="empty"),
        pytest.param("a" * 280, TweetCheck(280, True, 0), id="exactly-280"),
        pytest.param("a" * 281, TweetCheck(281, False, 1), id="281"),
        pytest.param("ë" * 300, TweetCheck(300, False, 20), id="albanian-300"),
        pytest.param("の" * 140, TweetCheck(280, True, 0), id="cjk-140"),
        pytest.param("の" * 141, TweetCheck(282, False, 2), id="cjk-141"),
        pytest.param("ok\uffff", TweetCheck(4, False, 0), id="invalid-character"),
        pytest.param("x" * 257 + " " + _url_of_length(200), TweetCheck(281, False, 1), id="url"),
    ],
)
def test_check_tweet(text: str, expected: TweetCheck) -> None:
    assert check_tweet(text) == expected


def test_extract_urls() -> None:
    text = "Raporti: https://example.al/raport?id=7. Më shumë në www.shembull.org/x dhe t.co."
    # A bare domain ("t.co") is a URL too, and counts 23.
    assert extract_urls(text) == ["https://example.al/raport?id=7", "www.shembull.org/x", "t.co"]
    assert extract_urls("pa lidhje këtu") == []

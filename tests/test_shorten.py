"""Shortening text to X's weighted-length budget, and composing tweets from parts."""

from __future__ import annotations

import re

import pytest

from visibility.text.shorten import compose_tweet, shorten_to_fit
from visibility.text.tweet import MAX_TWEET_LENGTH, URL_LENGTH, weighted_length

ELLIPSIS = "…"
STRIPPED = ",;:–—-‐‒―.…·/([{„"

ALBANIAN = (
    "Qeveria e Shqipërisë miratoi sot një ligj të ri për mbrojtjen e mjedisit. "
    "Ligji, i cili u diskutua gjatë në Kuvend, parashikon gjoba të rënda për ndotësit – "
    "përfshirë kompanitë e mëdha; organizatat e shoqërisë civile e mirëpritën vendimin. "
    "Z. Hoxha, drejtor i qendrës, tha se „kjo është vetëm fillimi“! A do të zbatohet ligji? "
    "Kjo mbetet për t'u parë, sidomos në qarqet veriore: Shkodër, Kukës dhe Lezhë."
)
SERBIAN_CYRILLIC = (
    "Влада Србије усвојила је данас нови закон о заштити животне средине. "
    "Закон, о коме се дуго расправљало, предвиђа високе казне за загађиваче — "
    "укључујући и велика предузећа. Др. Петровић је рекао да је ово тек почетак! "
    "Организације цивилног друштва поздравиле су одлуку 15. маја 2024. године."
)
MESSY_WHITESPACE = (
    "Njoftim   për   shtyp:\n\nTakimi   i   radhës   do   të   mbahet   në   Tiranë,\n"
    "ndërsa   punëtoria   e   dytë   në   Prishtinë.\t\tRegjistrimi   është   i   hapur   "
    "deri   më   30   qershor.\n\n\nPër   më   shumë:   https://example.org/njoftime/2024/"
    "takimi-i-radhes-ne-tirane-dhe-prishtine   #shoqëriacivile"
)
SERBIAN_LATIN = (
    "Organizacije civilnog društva iz Beograda, Novog Sada i Niša okupile su se "
    "u subotu kako bi razgovarale o slobodi medija, tj. o pritiscima na novinare, "
    "npr. u lokalnim sredinama; g. Jovanović je naglasio važnost solidarnosti... "
    "Sledeći sastanak je zakazan za 3. jul u Kragujevcu."
)
TEXTS = [ALBANIAN, SERBIAN_CYRILLIC, MESSY_WHITESPACE, SERBIAN_LATIN]
TEXT_IDS = ["albanian", "serbian-cyrillic", "messy-whitespace", "serbian-latin"]

_SENTENCE_END = re.compile(r"[.!?]+[\"'”’»)\]]*$")


def _word_cut_points(text: str) -> list[int]:
    """Where a word-boundary cut may end: after each word, trailing punctuation stripped."""
    points = []
    for match in re.finditer(r"\S+", text):
        kept = match.group().rstrip(STRIPPED)
        if kept:
            points.append(match.start() + len(kept))
    return points


def _assert_good_cut(text: str, budget: int, result: str) -> None:
    assert weighted_length(result) <= budget
    if result == text or result == "":
        return
    if result.endswith(ELLIPSIS):
        core = result[: -len(ELLIPSIS)]
        assert text.startswith(core)
        # Never mid-word: what follows the cut is only stripped punctuation, then a space.
        assert re.match(rf"[{re.escape(STRIPPED)}]*\s", text[len(core) :]), (core, text)
        source_words = set(text.split())
        *whole, last = core.split()
        assert all(word in source_words for word in whole)
        assert any(word.rstrip(STRIPPED) == last for word in source_words)
        # Longest such prefix: the next word-boundary cut would not fit.
        later = [p for p in _word_cut_points(text) if p > len(core)]
        if later:
            assert weighted_length(text[: later[0]] + ELLIPSIS) > budget
    else:
        # A sentence cut: a prefix ending a sentence, keeping at least half the budget.
        assert text.startswith(result)
        assert _SENTENCE_END.search(result), result
        assert text[len(result)].isspace()
        assert 2 * weighted_length(result) >= budget


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        pytest.param("Lajm i shkurtër.", 280, id="short"),
        pytest.param("ë" * 280, 280, id="exactly-the-budget"),
        pytest.param("の" * 140, 280, id="cjk-exactly"),
        pytest.param("", 0, id="empty"),
        pytest.param(ALBANIAN, weighted_length(ALBANIAN), id="albanian-exact"),
        pytest.param("a  b\n\nc   ", 20, id="whitespace-kept-as-is"),
    ],
)
def test_fitting_text_is_unchanged(text: str, budget: int) -> None:
    assert shorten_to_fit(text, budget) is text


def test_cuts_at_sentence_end_without_ellipsis() -> None:
    first_two = ALBANIAN[: ALBANIAN.index("Z. Hoxha") - 1]
    assert first_two.endswith("vendimin.")
    budget = weighted_length(first_two) + 10
    assert shorten_to_fit(ALBANIAN, budget) == first_two


def test_sentence_ending_in_exclamation_and_closing_quote() -> None:
    expected = ALBANIAN[: ALBANIAN.index("A do të") - 1]
    assert expected.endswith("fillimi“!")
    assert shorten_to_fit(ALBANIAN, weighted_length(expected) + 5) == expected


def test_short_sentence_is_not_used_when_it_keeps_under_half() -> None:
    text = "Po. " + "Kjo fjali është shumë e gjatë dhe vazhdon pa u ndalur " * 5
    result = shorten_to_fit(text, 100)
    assert result.endswith(ELLIPSIS)
    assert 90 <= weighted_length(result) <= 100


@pytest.mark.parametrize(
    ("text", "not_after"),
    [
        pytest.param(
            "Takimi me Z. Hoxha dhe Znj. Berisha u mbajt në Tiranë dhe zgjati shumë orë. "
            "Pas tij pasoi një konferencë për shtyp me gazetarët vendorë dhe të huaj.",
            ["Z.", "Znj."],
            id="albanian-titles",
        ),
        pytest.param(
            "Sastanak je održan 15. maja u Beogradu uz prisustvo mnogih aktivista i novinara. "
            "Dr. Petrović je govorio o slobodi medija i o pritiscima na lokalne novinare.",
            ["15.", "Dr."],
            id="serbian-date-and-title",
        ),
        pytest.param(
            "Report by J. Smith and Mr. Brown about the civic forum held last week in Tirana. "
            "It covers freedom of assembly, media pluralism and the new transparency law.",
            ["J.", "Mr."],
            id="english-initial-and-title",
        ),
    ],
)
def test_abbreviations_are_not_sentence_ends(text: str, not_after: list[str]) -> None:
    for budget in range(10, weighted_length(text)):
        result = shorten_to_fit(text, budget)
        _assert_good_cut(text, budget, result)
        for abbreviation in not_after:
            assert not result.endswith(abbreviation), (budget, result)


@pytest.mark.parametrize("text", TEXTS, ids=TEXT_IDS)
def test_every_budget_gives_whole_words_within_budget(text: str) -> None:
    total = weighted_length(text)
    # Every third budget (the library's emoji scan makes each measurement ~1 ms),
    # and every budget around the tweet limit.
    budgets = sorted({*range(0, total + 2, 3), *range(265, 296), total - 1, total})
    for budget in budgets:
        result = shorten_to_fit(text, budget)
        _assert_good_cut(text, budget, result)
        if budget >= total:
            assert result == text


@pytest.mark.parametrize("text", TEXTS, ids=TEXT_IDS)
def test_result_only_grows_with_the_budget_among_word_cuts(text: str) -> None:
    previous = ""
    for budget in range(0, weighted_length(text), 7):
        result = shorten_to_fit(text, budget)
        if result.endswith(ELLIPSIS) and previous.endswith(ELLIPSIS):
            assert len(result) >= len(previous)
        previous = result


def test_trailing_punctuation_is_stripped_before_ellipsis() -> None:
    text = "Fjala e parë, e dyta; e treta: e katërta – e pesta dhe kështu me radhë pa fund"
    assert shorten_to_fit(text, 6) == ""  # "Fjala…" weighs 7
    for budget in range(7, weighted_length(text)):
        result = shorten_to_fit(text, budget)
        assert result.endswith(ELLIPSIS)
        assert result[-2] not in ",;:–- ", result


def test_first_word_too_long_gives_empty() -> None:
    assert shorten_to_fit("Jashtëzakonisht gjatë", 10) == ""
    assert shorten_to_fit("Jashtëzakonisht gjatë", 0) == ""
    # "Jashtëzakonisht" is 15, "…" weighs 2.
    assert shorten_to_fit("Jashtëzakonisht gjatë", 16) == ""
    assert shorten_to_fit("Jashtëzakonisht gjatë", 17) == "Jashtëzakonisht…"


def test_ellipsis_weighs_two_but_three_dots_three() -> None:
    text = "një dy tre katër pesë gjashtë shtatë"
    assert shorten_to_fit(text, 12) == "një dy tre…"
    assert shorten_to_fit(text, 12, ellipsis="...") == "një dy..."
    assert shorten_to_fit(text, 13, ellipsis="...") == "një dy tre..."


def test_custom_measure() -> None:
    text = "alpha beta gamma delta"
    assert shorten_to_fit(text, 12, measure=len, ellipsis="...") == "alpha..."
    assert shorten_to_fit(text, 13, measure=len, ellipsis="...") == "alpha beta..."


def test_url_is_never_split_and_counts_23() -> None:
    url = "https://example.org/lajme/2024/05/" + "a" * 80
    text = f"Lexoni raportin e plotë {url} dhe ndani me të tjerët sot"
    for budget in range(0, weighted_length(text) + 1):
        result = shorten_to_fit(text, budget)
        _assert_good_cut(text, budget, result)
        assert url[:40] not in result or url in result
    prefix = f"Lexoni raportin e plotë {url}"
    assert shorten_to_fit(text, weighted_length(prefix) + 2) == prefix + ELLIPSIS
    assert weighted_length(prefix) == len("Lexoni raportin e plotë ") + URL_LENGTH


def test_few_measurements_on_a_long_text() -> None:
    text = (ALBANIAN + " ") * 12  # ~4.5 KB
    calls: list[int] = []

    def counting(candidate: str) -> int:
        calls.append(len(candidate))
        return weighted_length(candidate)

    result = shorten_to_fit(text, MAX_TWEET_LENGTH, measure=counting)
    _assert_good_cut(text, MAX_TWEET_LENGTH, result)
    assert len(calls) <= 40
    # Apart from the initial full measurement, only prefixes of modest size are measured.
    assert sorted(calls)[-2] < 4 * len(result)


# --- compose_tweet ------------------------------------------------------------------------

LINK = "https://example.org/lajme/2024/05/qeveria-miraton-ligjin-e-ri-per-mbrojtjen-e-mjedisit"
HASHTAGS = "#mjedisi #Shqipëria #shoqëriacivile"


def test_compose_keeps_link_and_hashtags_whole() -> None:
    lead = ALBANIAN * 2
    tweet = compose_tweet([lead, LINK, HASHTAGS], shrinkable=0)
    assert weighted_length(tweet) <= MAX_TWEET_LENGTH
    body, link, hashtags = tweet.split("\n\n")
    assert link == LINK
    assert hashtags == HASHTAGS
    assert lead.startswith(body.removesuffix(ELLIPSIS))
    # The link counts 23, so the body gets everything else.
    room = MAX_TWEET_LENGTH - URL_LENGTH - weighted_length(HASHTAGS) - 4
    assert weighted_length(body) <= room
    _assert_good_cut(lead, room, body)


def test_compose_long_url_lets_more_text_in() -> None:
    long_link = "https://example.org/" + "x" * 180
    tweet = compose_tweet([ALBANIAN, long_link], shrinkable=0)
    body = tweet.split("\n\n")[0]
    assert tweet.endswith("\n\n" + long_link)
    assert weighted_length(tweet) <= MAX_TWEET_LENGTH
    assert len(tweet) > MAX_TWEET_LENGTH  # more characters than the limit, thanks to t.co
    # Had the URL counted its 200 characters, at most 78 would remain for the text.
    assert weighted_length(body) > 200


def test_compose_fitting_parts_are_joined_and_empty_dropped() -> None:
    tweet = compose_tweet(["  Lajm i shkurtër.  ", "", LINK, "   ", HASHTAGS], shrinkable=0)
    assert tweet == f"Lajm i shkurtër.\n\n{LINK}\n\n{HASHTAGS}"


def test_compose_shrinkable_in_the_middle_and_negative_index() -> None:
    parts = ["NJOFTIM:", ALBANIAN * 2, LINK]
    middle = compose_tweet(parts, shrinkable=1, separator=" ")
    assert compose_tweet(parts, shrinkable=-2, separator=" ") == middle
    assert middle.startswith("NJOFTIM: Qeveria")
    assert middle.endswith(" " + LINK)
    assert weighted_length(middle) <= MAX_TWEET_LENGTH


def test_compose_custom_budget_and_sentence_cut() -> None:
    tweet = compose_tweet([ALBANIAN, LINK], shrinkable=0, budget=120)
    first = ALBANIAN[: ALBANIAN.index("Ligji,") - 1]
    # 120 - 23 (link) - 2 (separator) leaves 95; the first sentence (73) keeps over half.
    assert tweet == f"{first}\n\n{LINK}"


def test_compose_drops_the_body_when_nothing_fits() -> None:
    fixed = f"{LINK}\n\n{HASHTAGS}"
    budget = weighted_length(fixed) + 3
    parts = ["Jashtëzakonisht gjatë", LINK, HASHTAGS]
    assert compose_tweet(parts, shrinkable=0, budget=budget) == fixed


def test_compose_fixed_parts_too_long() -> None:
    hashtags = " ".join(f"#etiketa{i}" for i in range(40))
    with pytest.raises(ValueError, match=r"fixed parts .* more than the budget of 280"):
        compose_tweet([ALBANIAN, LINK, hashtags], shrinkable=0)


def test_compose_bad_index() -> None:
    with pytest.raises(IndexError):
        compose_tweet([ALBANIAN, LINK], shrinkable=2)

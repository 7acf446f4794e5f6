"""All-capitals press-release titles to sentence case for social media.

``TRAJNIME PËR OSHC-TË NË KOSOVË`` becomes ``Trajnime për OShC-të në Kosovë``:
the first word capitalised, acronyms in their usual spelling (with any
hyphenated case ending in lower case), proper names capitalised, every other
word in lower case. Proper names are given as stems so the inflected forms of
Albanian and Serbian match: the stem ``Kosov`` covers Kosovë, Kosova, Kosovës,
Kosovo, Kosova, Kosovu. Latin and Cyrillic follow the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_ACRONYMS: tuple[str, ...] = (
    # Albanian
    "OShC",  # organizatat e shoqërisë civile
    "OJQ",  # organizatë joqeveritare
    "KE",  # Komisioni Evropian
    "OSBE",
    "OKB",
    "BE",
    # Serbian (Latin and Cyrillic)
    "OCD",  # organizacije civilnog društva
    "NVO",  # nevladina organizacija
    "OEBS",
    "ОЦД",
    "НВО",
    "ОЕБС",
    "ЕУ",
    "УН",
    # English and programme names
    "TACSO",
    "KCSF",
    "EU",
    "EC",
    "OSCE",
    "UN",
    "USAID",
    "UNDP",
    "NGO",
    "CSO",
    "CSF",
    "IPA",
    "ToT",
)

DEFAULT_PROPER_NAMES: tuple[str, ...] = (
    # Kosovo and its towns
    "Kosov",  # Kosovë, Kosova, Kosovës, Kosovo, Kosovu
    "Prishtin",  # Prishtinë, Prishtina, Prishtinës
    "Prištin",  # Priština, Prištini
    "Pristina",  # not "Pristin": that would catch "pristine"
    "Mitrovic",  # Mitrovicë, Mitrovica, Mitrovici
    "Prizren",
    "Pejë",  # Pejë, Pejës, Pejën
    "Peja",
    "Peć",  # shorter than four letters: whole words only ("Peći" would catch "pećina")
    "Gjakov",  # Gjakovë, Gjakova
    "Đakovic",
    "Ferizaj",
    "Uroševac",
    "Gjilan",
    "Gnjilan",
    # Region and countries
    "Ballkan",
    "Balkan",
    "Evrop",  # Evropë, Evropa, Evropian, Evropska
    "Europ",  # Europe, European
    "Serbi",  # Serbi, Serbia, Serbisë, Serbian
    "Srbij",  # Srbija, Srbije, Srbiji
    "Shqipëri",  # Shqipëri, Shqipëria, Shqipërisë
    "Albani",  # Albania, Albanian
    "Turqi",  # Turqi, Turqia, Turqisë
    "Turkey",
    "Tursk",  # Turska, Turske
    "Bruksel",  # Bruksel, Brukselit
    "Brussels",
    "Brisel",
    "Beograd",
    "Belgrad",
    "Tiranë",
    "Tirana",
    # Cyrillic
    "Косов",
    "Приштин",
    "Митровиц",
    "Призрен",
    "Пећ",
    "Гњилан",
    "Србиј",
    "Европ",
    "Балкан",
    "Брисел",
    "Београд",
)

# Stems shorter than this match whole words only, so "Peć" does not turn
# every word starting with "peć" into a name.
MIN_STEM_LETTERS = 4

_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[^\W\d_][.!?]\s+$")


def is_all_caps(title: str) -> bool:
    """True when every cased letter of ``title`` is a capital (and there are two or more)."""
    cased = [ch for ch in title if ch.isalpha() and ch.lower() != ch.upper()]
    return len(cased) >= 2 and all(ch.isupper() for ch in cased)


def _capitalize(word: str) -> str:
    lower = word.lower()
    return lower[:1].upper() + lower[1:]


class _Names:
    def __init__(self, proper_names: Iterable[str]) -> None:
        self.stems: list[str] = []
        self.words: set[str] = set()
        for name in proper_names:
            folded = name.casefold()
            if len(folded) >= MIN_STEM_LETTERS:
                self.stems.append(folded)
            elif folded:
                self.words.add(folded)

    def match(self, word: str) -> bool:
        folded = word.casefold()
        return folded in self.words or folded.startswith(tuple(self.stems))


def sentence_case(title: str, *, acronyms: Iterable[str], proper_names: Iterable[str]) -> str:
    """``title`` in sentence case, keeping acronyms and proper names.

    Acronyms match whole words case-insensitively and take their listed
    spelling; a hyphenated ending after one is lower case (``BE-JA`` ->
    ``BE-ja``). Proper names match a word that starts with the listed stem
    (whole words for names under four letters) and are capitalised. The
    first word, and the first word after a sentence-ending ``.``, ``!`` or
    ``?``, is capitalised; everything else is lower case.
    """
    spellings = {acronym.casefold(): acronym for acronym in acronyms}
    names = _Names(proper_names)
    pieces: list[str] = []
    position = 0
    first_word = True
    after_acronym = False
    for match in _WORD.finditer(title):
        gap = title[position : match.start()]
        word = match[0]
        pieces.append(gap)
        suffix = after_acronym and gap == "-"
        starts_sentence = first_word or bool(_SENTENCE_END.search(title[: match.start()]))
        after_acronym = False
        acronym = None if suffix else spellings.get(word.casefold())
        if acronym is not None:
            pieces.append(acronym)
            after_acronym = True
        elif not suffix and (starts_sentence or names.match(word)):
            pieces.append(_capitalize(word))
        else:
            pieces.append(word.lower())
        first_word = False
        position = match.end()
    pieces.append(title[position:])
    return "".join(pieces)

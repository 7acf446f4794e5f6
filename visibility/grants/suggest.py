"""Which grants a news item seems to be published under, from its own words.

A press release's funding paragraph names its donor ("Ky aktivitet financohet
nga Bashkimi Evropian", "finansira Evropska unija", "funded by the European
Union"); each grant's rule set lists such phrases (``recognise``). A grant is
suggested, never applied: which grant pays for an activity is staff's call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from visibility.grants.compliance import fold
from visibility.grants.model import Grant


@dataclass(frozen=True)
class Suggestion:
    grant: str
    phrase: str  # the words that named the donor, as the rule set writes them

    def to_dict(self) -> dict[str, str]:
        return {"grant": self.grant, "phrase": self.phrase}


def suggest(grants: Iterable[Grant], texts: Sequence[str], *, on: date) -> list[Suggestion]:
    """Grants whose donor the texts name, those running ``on`` the day first.

    A grant that has ended or not begun is suggested only when no running
    grant of a donor the text names is: an item about an old project may
    still belong to it.
    """
    folded = fold(" ".join(texts))
    found: list[tuple[bool, Grant, str]] = []
    for grant in grants:
        phrase = next((p for p in grant.recognise if fold(p) and fold(p) in folded), None)
        if phrase is not None:
            found.append((grant.active_on(on), grant, phrase))
    running = [(g, p) for active, g, p in found if active]
    chosen = running or [(g, p) for _, g, p in found]
    return [Suggestion(g.name, p) for g, p in chosen]

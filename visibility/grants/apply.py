"""What derivation adds to a post so it meets its grants' rules.

Only what the template did not already write: for each rule a post misses,
the first alternative the grant has words or a file for, in the item's
language. An article gets the statement and the disclaimer at its end and
the emblem as a picture; a social post gets a last line with the statement,
mention or hashtag. A tweet is shortened to make room, never this line.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from visibility.grants.compliance import check, first_usable, texts_for
from visibility.grants.model import Element, Grant


@dataclass(frozen=True)
class Additions:
    """What to add: an article's closing HTML, or a social post's last line, and
    the emblems (sha256) the post must carry."""

    html: str = ""
    line: str = ""
    emblems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.html or self.line or self.emblems)


def additions(grants: Sequence[Grant], *, kind: str, body: str, language: str) -> Additions:
    """What ``body`` (as the template wrote it) lacks for ``grants``' rules of ``kind``."""
    compliance = check(grants, kind=kind, body=body, language=language)
    wanted: list[tuple[Grant, Element]] = []
    by_name = {g.name: g for g in grants}
    for rule in compliance.missing:
        grant = by_name[rule.grant]
        element = first_usable(grant, kind, rule.alternatives, language)
        if element is not None and (grant, element) not in wanted:
            wanted.append((grant, element))
    statements: list[str] = []
    disclaimers: list[str] = []
    tokens: list[str] = []
    emblems: list[str] = []
    for grant, element in wanted:
        texts = texts_for(grant, language)
        if element == "statement" and texts and texts.statement:
            statements.append(texts.statement)
        elif element == "disclaimer" and texts and texts.disclaimer:
            disclaimers.append(texts.disclaimer)
        elif element == "emblem" and grant.emblem_sha256:
            emblems.append(grant.emblem_sha256)
        elif element in ("mention", "hashtag"):
            handles = (grant.mentions if element == "mention" else grant.hashtags)[kind]
            tokens.append(handles[0])
    statements = list(dict.fromkeys(statements))
    disclaimers = list(dict.fromkeys(disclaimers))
    tokens = list(dict.fromkeys(tokens))
    if kind == "website":
        parts = [
            f'<p class="funding-statement"><strong>{html.escape(s)}</strong></p>'
            for s in statements
        ]
        parts += [
            f'<p class="funding-disclaimer"><em>{html.escape(d)}</em></p>' for d in disclaimers
        ]
        return Additions(html="\n".join(parts), emblems=tuple(dict.fromkeys(emblems)))
    line = " ".join([*statements, *disclaimers, *tokens])
    return Additions(line=line, emblems=tuple(dict.fromkeys(emblems)))

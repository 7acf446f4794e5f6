"""A grant as the application uses it, and what checking a post against it found.

``Grant`` is built from the channels file (``[[grants]]``, on top of a donor's
ready-made rule set) or edited by an admin on the web; the database holds the
current one. Everything here is frozen and free of I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, cast

#: What a rule can ask a post to carry.
Element = Literal["statement", "disclaimer", "emblem", "mention", "hashtag"]
ELEMENTS: tuple[Element, ...] = ("statement", "disclaimer", "emblem", "mention", "hashtag")

#: Languages a grant's texts are written in; Serbian in both scripts.
TEXT_LANGUAGES = ("sq", "sr-Latn", "sr-Cyrl", "en")


@dataclass(frozen=True)
class Texts:
    """The donor's words in one language."""

    statement: str | None = None  # "Funded by the European Union"
    disclaimer: str | None = None  # "Views and opinions expressed are ..."
    emblem_alt: str | None = None  # the emblem's text alternative


@dataclass(frozen=True)
class Grant:
    """A grant and its donor's visibility rules.

    ``require`` maps a post kind (website, facebook, twitter, ...) to its
    rules; a rule is a tuple of alternatives, any one of which meets it
    (``("mention", "hashtag")``: a mention or a hashtag). A kind missing from
    ``require`` has nothing to carry. ``mentions`` and ``hashtags`` are per
    post kind; ``texts`` per language tag of ``TEXT_LANGUAGES``.
    """

    name: str
    donor: str  # the rule set's key: "eu", or "custom"
    donor_name: str  # "European Union"
    title: str  # the action's title, as in the contract
    contract: str | None
    starts_on: date
    ends_on: date
    texts: Mapping[str, Texts] = field(default_factory=dict)
    emblem_sha256: str | None = None  # in the image store
    mentions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    hashtags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    require: Mapping[str, tuple[tuple[Element, ...], ...]] = field(default_factory=dict)
    recognise: tuple[str, ...] = ()  # phrases that name the donor in a funding paragraph
    source: Literal["file", "web"] = "file"

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


# -- what a check found -----------------------------------------------------

Status = Literal["met", "missing", "not_applicable"]


@dataclass(frozen=True)
class RuleCheck:
    """One rule of one grant, checked on one post.

    ``needed`` says in words what would meet the rule ("the mention
    @EUinKosovo or the hashtag #EU4Kosovo"); ``found`` which alternative
    met it.
    """

    grant: str
    alternatives: tuple[Element, ...]
    status: Status
    needed: str
    found: Element | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "grant": self.grant,
            "rule": " or ".join(self.alternatives),
            "status": self.status,
            "needed": self.needed,
            "found": self.found,
        }


@dataclass(frozen=True)
class Override:
    """An approver let a post go out without a required element, and said why."""

    reason: str
    by: str
    at: str  # ISO time, UTC

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "by": self.by, "at": self.at}


@dataclass(frozen=True)
class Compliance:
    """Every rule of every grant of the post's news item, checked on the post."""

    checks: tuple[RuleCheck, ...] = ()
    override: Override | None = None

    @property
    def missing(self) -> tuple[RuleCheck, ...]:
        return tuple(c for c in self.checks if c.status == "missing")

    @property
    def status(self) -> Literal["compliant", "missing", "overridden", "no_rules"]:
        if not any(c.status != "not_applicable" for c in self.checks):
            return "no_rules"
        if not self.missing:
            return "compliant"
        return "overridden" if self.override is not None else "missing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": [c.to_dict() for c in self.checks],
            "missing": [c.needed for c in self.missing],
            "override": None if self.override is None else self.override.to_dict(),
        }


# -- stored form ------------------------------------------------------------


def rules_to_json(grant: Grant) -> str:
    """The grant's rules as the database keeps them (the columns hold the rest)."""
    return json.dumps(
        {
            "texts": {
                tag: {k: v for k, v in vars(t).items() if v} for tag, t in grant.texts.items()
            },
            "mentions": {k: list(v) for k, v in grant.mentions.items()},
            "hashtags": {k: list(v) for k, v in grant.hashtags.items()},
            "require": {k: [list(r) for r in v] for k, v in grant.require.items()},
            "recognise": list(grant.recognise),
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def rules_from_json(text: str) -> dict[str, Any]:
    """Keyword arguments of ``Grant`` from ``rules_to_json``'s output."""
    data = json.loads(text)
    require: dict[str, tuple[tuple[Element, ...], ...]] = {
        kind: tuple(tuple(cast(list[Element], rule)) for rule in rules)
        for kind, rules in data.get("require", {}).items()
    }
    return {
        "texts": {tag: Texts(**t) for tag, t in data.get("texts", {}).items()},
        "mentions": {k: tuple(v) for k, v in data.get("mentions", {}).items()},
        "hashtags": {k: tuple(v) for k, v in data.get("hashtags", {}).items()},
        "require": require,
        "recognise": tuple(data.get("recognise", ())),
    }

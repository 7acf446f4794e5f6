"""A grant as an admin writes it on the web or through the API, checked by the same rules
as the channels file's ``[[grants]]`` entries (``GrantConfig``).

``GrantEdit`` changes what it names and keeps the rest; ``GrantNew`` starts a
grant from a donor's ready-made rule set. What breaks a rule comes back as a
``GrantInputError``: each field with what to do, in the reader's language.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal, cast

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from visibility.errors import InputError
from visibility.grants.config import GrantConfig, build_grant
from visibility.grants.model import TEXT_LANGUAGES, Element, Grant, Texts
from visibility.web.errors import FieldProblem, field_problems, summary
from visibility.web.i18n import Translate

FIRST_YEAR, LAST_YEAR = 2000, 2200
ElementName = Literal["statement", "disclaimer", "emblem", "mention", "hashtag"]
Handle = Field(min_length=1, max_length=100)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TextsIn(_Body):
    """The donor's words in one language; an empty text removes it."""

    statement: str | None = Field(default=None, max_length=1000)
    disclaimer: str | None = Field(default=None, max_length=3000)
    emblem_alt: str | None = Field(default=None, max_length=1000)


class TextsByLanguage(_Body):
    sq: TextsIn | None = None
    sr_latn: TextsIn | None = Field(default=None, alias="sr-Latn")
    sr_cyrl: TextsIn | None = Field(default=None, alias="sr-Cyrl")
    en: TextsIn | None = None


class HandlesPerKind(_Body):
    """Accounts to mention, or hashtags, per kind of post; a list replaces the old one."""

    website: list[str] | None = Field(default=None, max_length=20)
    facebook: list[str] | None = Field(default=None, max_length=20)
    twitter: list[str] | None = Field(default=None, max_length=20)


Rule = list[ElementName]
Rules = list[Rule]


class RulesPerKind(_Body):
    """Per kind of post, the rules: each a list of alternatives, any one of which meets it."""

    website: Rules | None = Field(default=None, max_length=20)
    facebook: Rules | None = Field(default=None, max_length=20)
    twitter: Rules | None = Field(default=None, max_length=20)


class GrantEdit(_Body):
    """What to change in a grant; a field left out keeps its value."""

    title: str | None = Field(default=None, min_length=1, max_length=300)
    contract: str | None = Field(default=None, max_length=100, description="Empty: none.")
    donor_name: str | None = Field(default=None, min_length=1, max_length=200)
    starts_on: date | None = None
    ends_on: date | None = None
    texts: TextsByLanguage | None = None
    mentions: HandlesPerKind | None = None
    hashtags: HandlesPerKind | None = None
    require: RulesPerKind | None = None
    recognise: list[str] | None = Field(
        default=None,
        max_length=50,
        description="Phrases that name the donor in a funding paragraph (for suggestions).",
    )


class GrantNew(GrantEdit):
    """A new grant, on its donor's ready-made rules (``eu``) or none (``custom``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", examples=["eu-2026"])
    donor: Literal["eu", "custom"] = "custom"
    title: str = Field(min_length=1, max_length=300)
    starts_on: date
    ends_on: date


class GrantInputError(InputError):
    """A grant's fields that break a rule, each with what to do."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(summary(problems))
        self.problems = problems


def _problem(field: str, rule: str, message: str) -> FieldProblem:
    return FieldProblem(field=field, rule=rule, message=message)


def grant_fields(grant: Grant) -> dict[str, Any]:
    """A grant as a ``[[grants]]`` entry (without its emblem file)."""
    return {
        "name": grant.name,
        "donor": grant.donor,
        "donor_name": grant.donor_name,
        "title": grant.title,
        "contract": grant.contract,
        "starts_on": grant.starts_on,
        "ends_on": grant.ends_on,
        "texts": {tag: {k: v for k, v in vars(t).items() if v} for tag, t in grant.texts.items()},
        "mentions": {k: list(v) for k, v in grant.mentions.items()},
        "hashtags": {k: list(v) for k, v in grant.hashtags.items()},
        "require": {k: [list(r) for r in v] for k, v in grant.require.items()},
        "recognise": list(grant.recognise),
    }


def _period(data: dict[str, Any], _: Translate) -> list[FieldProblem]:
    found = []
    for key in ("starts_on", "ends_on"):
        day: date = data[key]
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            found.append(
                _problem(
                    key,
                    "date_range",
                    _(
                        "Choose a date between {first} and {last}.",
                        first=f"{FIRST_YEAR}-01-01",
                        last=f"{LAST_YEAR}-12-31",
                    ),
                )
            )
    if not found and data["ends_on"] < data["starts_on"]:
        found.append(
            _problem(
                "ends_on",
                "grant_period",
                _(
                    "The grant ends before it starts: the end date must be on or after the "
                    "start date ({day}).",
                    day=data["starts_on"].isoformat(),
                ),
            )
        )
    return found


def _handles(data: dict[str, Any], key: str, sign: str, _: Translate) -> list[FieldProblem]:
    found = []
    for kind, values in data[key].items():
        clean = []
        for n, value in enumerate(values):
            text = value.strip()
            if text and not text.startswith(sign):
                text = sign + text
            if len(text) < 2 or any(ch.isspace() for ch in text):
                message = (
                    _("A mention is one word, such as @EUinKosovo: remove the spaces.")
                    if sign == "@"
                    else _("A hashtag is one word, such as #EU4Kosovo: remove the spaces.")
                )
                found.append(_problem(f"{key}.{kind}.{n}", "one_word", message))
            clean.append(text)
        data[key][kind] = list(dict.fromkeys(clean))
    return found


def _apply(data: dict[str, Any], change: GrantEdit) -> None:
    sent = change.model_dump(exclude_unset=True, by_alias=True)
    for key in ("title", "donor_name", "starts_on", "ends_on"):
        if sent.get(key) is not None:
            data[key] = " ".join(sent[key].split()) if isinstance(sent[key], str) else sent[key]
    if "contract" in sent:
        data["contract"] = (sent["contract"] or "").strip() or None
    for tag, texts in (sent.get("texts") or {}).items():
        if texts is None:
            continue
        merged = dict(data["texts"].get(tag, {}))
        for field, value in texts.items():
            merged[field] = (value or "").strip()
        data["texts"][tag] = {k: v for k, v in merged.items() if v}
    for key in ("mentions", "hashtags", "require"):
        for kind, values in (sent.get(key) or {}).items():
            if values is not None:
                data[key][kind] = values
    if sent.get("recognise") is not None:
        data["recognise"] = [p.strip() for p in sent["recognise"] if p.strip()]


def _config(data: dict[str, Any], _: Translate) -> GrantConfig:
    try:
        return GrantConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        raise GrantInputError(field_problems(exc.errors(), _)) from None


def _grant(config: GrantConfig, base: Grant) -> Grant:
    texts = {
        tag: Texts(**{k: v for k, v in t.model_dump().items() if v})
        for tag, t in config.texts.items()
        if tag in TEXT_LANGUAGES and any(t.model_dump().values())
    }
    return Grant(
        name=config.name,
        donor=config.donor,
        donor_name=config.donor_name or base.donor_name,
        title=config.title,
        contract=config.contract,
        starts_on=config.starts_on,
        ends_on=config.ends_on,
        texts=texts,
        emblem_sha256=base.emblem_sha256,
        mentions={k: tuple(v) for k, v in config.mentions.items() if v},
        hashtags={k: tuple(v) for k, v in config.hashtags.items() if v},
        require={
            k: tuple(tuple(cast(list[Element], r)) for r in rules)
            for k, rules in (config.require or {}).items()
            if rules
        },
        recognise=tuple(config.recognise or ()),
        source="web",
    )


def edited(grant: Grant, change: GrantEdit, _: Translate) -> Grant:
    """``grant`` with ``change`` made, or a ``GrantInputError`` naming each bad field."""
    data = grant_fields(grant)
    _apply(data, change)
    problems = [
        *_period(data, _),
        *_handles(data, "mentions", "@", _),
        *_handles(data, "hashtags", "#", _),
    ]
    if problems:
        raise GrantInputError(problems)
    return _grant(_config(data, _), grant)


def created(new: GrantNew, _: Translate, *, emblem_sha256: str | None) -> Grant:
    """A new grant on its donor's rules, with ``new``'s own values on top."""
    problems = _period({"starts_on": new.starts_on, "ends_on": new.ends_on}, _)
    if problems:
        raise GrantInputError(problems)
    entry = _config(
        {
            "name": new.name,
            "donor": new.donor,
            "title": new.title,
            "starts_on": new.starts_on,
            "ends_on": new.ends_on,
        },
        _,
    )
    base = build_grant(entry, emblem_sha256=emblem_sha256)
    return edited(base, new, _)


# -- the page's form ------------------------------------------------------------------------

_OR = re.compile(r"\s*(?:\||/|,|\bor\b|\bose\b|\bili\b)\s*", re.IGNORECASE)


def rules_text(rules: tuple[tuple[str, ...], ...]) -> str:
    """A kind's rules as the form shows them: ``statement; mention or hashtag``."""
    return "; ".join(" or ".join(r) for r in rules)


def parse_rules(text: str) -> list[list[str]]:
    """The form's rules: ``;`` between rules, ``or`` (``|``, ``/``) between alternatives."""
    rules = []
    for part in text.split(";"):
        words = [w.strip().lower() for w in _OR.split(part.strip()) if w.strip()]
        if words:
            rules.append(words)
    return rules


def parse_handles(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]

"""Grants as declared in the channels file: ``[[grants]]`` entries on top of a
donor's ready-made rule set (``presets/<donor>.toml``).

An entry names its donor's rules and adds what is its own: contract, period,
the accounts to mention and hashtags per kind of post. Any key of the rule
set (texts, require, recognise, emblem) may be overridden in the entry.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from visibility.grants.model import ELEMENTS, TEXT_LANGUAGES, Element, Grant, Texts

PRESETS = Path(__file__).parent / "presets"
#: Donors with a ready-made rule set; "custom" starts from a blank one.
DONORS = ("eu", "custom")
POST_KINDS = ("website", "facebook", "twitter")
Rules = dict[str, list[list[str]]]


class TextsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statement: str | None = None
    disclaimer: str | None = None
    emblem_alt: str | None = None


def _handle(value: str, sign: str, what: str) -> str:
    value = value.strip()
    if not value.startswith(sign):
        value = sign + value
    if len(value) < 2 or any(ch.isspace() for ch in value):
        raise ValueError(f"{what} {value!r} must be one word, e.g. '{sign}EUinKosovo'")
    return value


class GrantConfig(BaseModel):
    """One ``[[grants]]`` entry of the channels file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    donor: str = "custom"
    title: str = Field(min_length=1, max_length=300)
    contract: str | None = Field(default=None, max_length=100)
    starts_on: date
    ends_on: date
    donor_name: str | None = None
    emblem: Path | None = None
    texts: dict[str, TextsConfig] = Field(default_factory=dict)
    mentions: dict[str, list[str]] = Field(default_factory=dict)
    hashtags: dict[str, list[str]] = Field(default_factory=dict)
    require: dict[str, list[list[str]]] | None = None
    recognise: list[str] | None = None

    @field_validator("donor")
    @classmethod
    def _donor(cls, value: str) -> str:
        if value not in DONORS:
            raise ValueError(f"unknown donor {value!r}: use one of {', '.join(DONORS)}")
        return value

    @field_validator("texts")
    @classmethod
    def _languages(cls, value: dict[str, TextsConfig]) -> dict[str, TextsConfig]:
        for tag in value:
            if tag not in TEXT_LANGUAGES:
                raise ValueError(f"texts for {tag!r}: use one of {', '.join(TEXT_LANGUAGES)}")
        return value

    @field_validator("mentions")
    @classmethod
    def _mentions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {_kind(k): [_handle(v, "@", "mention") for v in vs] for k, vs in value.items()}

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {_kind(k): [_handle(v, "#", "hashtag") for v in vs] for k, vs in value.items()}

    @field_validator("require")
    @classmethod
    def _require(
        cls, value: dict[str, list[list[str]]] | None
    ) -> dict[str, list[list[str]]] | None:
        if value is None:
            return None
        for kind, rules in value.items():
            _kind(kind)
            for rule in rules:
                if not rule:
                    raise ValueError(f"require.{kind}: a rule lists at least one element")
                for element in rule:
                    if element not in ELEMENTS:
                        raise ValueError(
                            f"require.{kind}: unknown element {element!r}; use "
                            f"{', '.join(ELEMENTS)}"
                        )
        return value

    @model_validator(mode="after")
    def _period(self) -> GrantConfig:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on: check the grant's period")
        return self


def _kind(kind: str) -> str:
    if kind not in POST_KINDS:
        raise ValueError(f"unknown kind of post {kind!r}: use one of {', '.join(POST_KINDS)}")
    return kind


@cache
def preset(donor: str) -> Mapping[str, Any]:
    """A donor's ready-made rule set, as written in ``presets/<donor>.toml``."""
    return tomllib.loads((PRESETS / f"{donor}.toml").read_text(encoding="utf-8"))


def preset_text(donor: str) -> str:
    """The rule set's file, for people to read or copy (``visibility grants template``)."""
    if donor not in DONORS:
        raise ValueError(f"unknown donor {donor!r}: use one of {', '.join(DONORS)}")
    return (PRESETS / f"{donor}.toml").read_text(encoding="utf-8")


def _texts(rules: Mapping[str, Any], entry: GrantConfig) -> dict[str, Texts]:
    texts: dict[str, Texts] = {}
    for tag in TEXT_LANGUAGES:
        base = dict(rules.get("texts", {}).get(tag, {}))
        if tag in entry.texts:
            base.update(entry.texts[tag].model_dump(exclude_none=True))
        clean = {k: (v.strip() or None) for k, v in base.items() if isinstance(v, str)}
        if any(clean.values()):
            texts[tag] = Texts(**clean)
    return texts


def emblem_path(entry: GrantConfig, *, beside: Path | None) -> Path | None:
    """The emblem file: the entry's (relative to the channels file), else the donor's."""
    if entry.emblem is not None:
        if entry.emblem.is_absolute() or beside is None:
            return entry.emblem
        return beside / entry.emblem
    name = preset(entry.donor).get("emblem")
    return PRESETS / name if name else None


def build_grant(entry: GrantConfig, *, emblem_sha256: str | None) -> Grant:
    """The grant an entry declares, with its donor's rules filled in."""
    rules = preset(entry.donor)
    require_source = entry.require if entry.require is not None else rules.get("require", {})
    require: dict[str, tuple[tuple[Element, ...], ...]] = {
        kind: tuple(tuple(cast(list[Element], rule)) for rule in kind_rules)
        for kind, kind_rules in require_source.items()
    }
    recognise = entry.recognise
    if recognise is None:
        recognise = list(rules.get("recognise", {}).get("phrases", []))
    return Grant(
        name=entry.name,
        donor=entry.donor,
        donor_name=entry.donor_name or str(rules.get("donor_name") or "") or entry.name,
        title=entry.title,
        contract=entry.contract,
        starts_on=entry.starts_on,
        ends_on=entry.ends_on,
        texts=_texts(rules, entry),
        emblem_sha256=emblem_sha256,
        mentions={k: tuple(v) for k, v in entry.mentions.items()},
        hashtags={k: tuple(v) for k, v in entry.hashtags.items()},
        require=require,
        recognise=tuple(recognise),
        source="file",
    )


def entry_hash(entry: GrantConfig, emblem_sha256: str | None) -> str:
    """Names the entry as written: the file re-applies a grant only when this changes,
    so an admin's edit on the web lasts until someone edits the file's entry."""
    data = entry.model_dump(mode="json")
    data["emblem"] = emblem_sha256
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

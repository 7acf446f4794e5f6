"""Channel accounts and organisation defaults, declared in a TOML file.

Secrets are never written in the TOML file: a channel names the secrets it
needs (``secrets = { page_access_token = "FB_NATIONAL_TOKEN" }``) and their
values come from the environment or from files in the secrets folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from visibility.adapters.specs import spec_for
from visibility.config.slots import Slot, parse_slot
from visibility.errors import ConfigError
from visibility.grants.config import GrantConfig, emblem_path

ChannelKind = Literal["website", "facebook", "twitter", "dry-run"]
PostKind = Literal["website", "facebook", "twitter"]
POST_KINDS: tuple[PostKind, ...] = ("website", "facebook", "twitter")


DEFAULT_TIMEZONE = "Europe/Belgrade"
DEFAULT_SLOTS = ("mon-fri 09:30", "mon-fri 14:00")

_EXAMPLE_NAME = "lowercase letters, digits, '-' or '_', e.g. 'fb-national'"


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {value!r}: use an IANA name such as 'Europe/Belgrade'"
        ) from None
    return value


def _clean_hashtags(value: list[str]) -> list[str]:
    tags = []
    for tag in value:
        tag = tag.strip()
        if not tag.startswith("#"):
            tag = "#" + tag
        if len(tag) < 2 or any(ch.isspace() for ch in tag):
            raise ValueError(f"hashtag {tag!r} must be one word, e.g. '#CivilSociety'")
        tags.append(tag)
    return tags


def _language_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        if not _LANGUAGE_KEY.fullmatch(key):
            raise ValueError(
                f"{key!r} is not a language: use a two-letter code (sq, sr, en) or sr-Latn, sr-Cyrl"
            )
    return value


_LANGUAGE_KEY = re.compile(r"[a-z]{2}(-(Latn|Cyrl))?")


class OrganisationConfig(BaseModel):
    """Defaults for every channel, and words that titles must keep as written."""

    model_config = ConfigDict(extra="forbid")

    name: str = "Qendra Burimore"
    language: str = Field(default="sq", pattern=r"^[a-z]{2}$")
    timezone: str = DEFAULT_TIMEZONE
    acronyms: list[str] = Field(
        default_factory=list, description="Added to the built-in acronyms (OShC, TACSO, ...)."
    )
    proper_names: list[str] = Field(
        default_factory=list,
        description="Word stems kept capitalised in sentence case, e.g. 'Mitrovic'.",
    )
    funding_disclaimer: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    hashtags_by_language: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Hashtags for items in one language (sq, sr, en; sr-Latn or sr-Cyrl "
        "for one script), instead of `hashtags`.",
    )
    name_by_language: dict[str, str] = Field(
        default_factory=dict, description="The organisation's name in each language."
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: list[str]) -> list[str]:
        return _clean_hashtags(value)

    @field_validator("hashtags_by_language")
    @classmethod
    def _hashtags_by_language(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: _clean_hashtags(v) for k, v in _language_keys(value).items()}

    @field_validator("name_by_language")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        return _language_keys(value)

    def name_in(self, tag: str) -> str:
        """The organisation's name for an item in ``tag`` (``sr-Cyrl``, then ``sr``)."""
        return pick_for_language(self.name_by_language, tag) or self.name


def pick_for_language(values: Mapping[str, Any], tag: str) -> Any:
    """The value for a language tag: ``sr-Cyrl`` first, then ``sr``; None when neither."""
    if tag in values:
        return values[tag]
    return values.get(tag.split("-")[0])


class PacingConfig(BaseModel):
    """How fast one account may post, shared by every worker through the database."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_gap_seconds: int = Field(default=0, ge=0, le=86_400)
    max_posts: int | None = Field(
        default=None, ge=1, description="At most this many posts per window (a plan's limit)."
    )
    window_hours: float = Field(default=24, gt=0, le=24 * 31)

    @property
    def window_seconds(self) -> int:
        return round(self.window_hours * 3600)


class ChannelConfig(BaseModel):
    """One channel account as written in the TOML file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    kind: ChannelKind
    imitates: PostKind | None = Field(
        default=None, description="For kind 'dry-run': which real kind it derives posts as."
    )
    enabled: bool = True
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}$",
        description="Only news items in this language get posts here; unset takes all.",
    )
    timezone: str | None = None
    slots: list[str] = Field(default_factory=lambda: list(DEFAULT_SLOTS))
    hashtags: list[str] | None = None
    hashtags_by_language: dict[str, list[str]] | None = None
    template: Path | None = None
    secrets: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    pacing: PacingConfig = Field(default_factory=PacingConfig)
    link_from: str | None = Field(
        default=None,
        description="The website channel whose article this channel's posts link to. "
        "Unset: the first website channel in this file that gets a post for the news item.",
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)

    @field_validator("slots")
    @classmethod
    def _slots(cls, value: list[str]) -> list[str]:
        for slot in value:
            parse_slot(slot)
        return value

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_hashtags(value)

    @field_validator("hashtags_by_language")
    @classmethod
    def _hashtags_by_language(
        cls, value: dict[str, list[str]] | None
    ) -> dict[str, list[str]] | None:
        if value is None:
            return None
        return {k: _clean_hashtags(v) for k, v in _language_keys(value).items()}


class FeedConfig(BaseModel):
    """A website feed read periodically by the service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(pattern=r"^(https?://|/|file://)", description="RSS or Atom feed address.")
    from_channel: str | None = Field(
        default=None,
        description="The website channel the feed belongs to: its items are not published "
        "back to it. Unset: website channels whose base_url is the feed's host.",
    )
    interval_minutes: int = Field(default=30, ge=1, le=1440)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")


class ChannelsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: OrganisationConfig = Field(default_factory=OrganisationConfig)
    channels: list[ChannelConfig] = Field(default_factory=list)
    feeds: list[FeedConfig] = Field(default_factory=list)
    grants: list[GrantConfig] = Field(default_factory=list)


@dataclass(frozen=True)
class Channel:
    """A channel account ready to use: defaults applied, timezone and slots parsed."""

    name: str
    kind: ChannelKind
    post_kind: PostKind
    enabled: bool
    language: str | None  # None: takes news items in any language
    tz: ZoneInfo
    slots: tuple[Slot, ...]
    hashtags: tuple[str, ...]
    template: Path | None
    secrets: Mapping[str, SecretStr] = field(repr=False)
    options: Mapping[str, Any]
    pacing: PacingConfig = field(default_factory=PacingConfig)
    link_from: str | None = None  # the website channel whose article posts here link to
    # Hashtags for items in one language (tag: sq, sr, sr-Cyrl, ...), instead of ``hashtags``.
    hashtags_by_language: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def timezone(self) -> str:
        return self.tz.key

    def hashtags_for(self, tag: str) -> tuple[str, ...]:
        """The hashtags for an item in ``tag``: its script's, its language's, else all's."""
        found = pick_for_language(self.hashtags_by_language, tag)
        return self.hashtags if found is None else tuple(found)


@dataclass(frozen=True)
class AppConfig:
    organisation: OrganisationConfig
    channels: tuple[Channel, ...]
    source: Path | None
    feeds: tuple[FeedConfig, ...] = ()
    grants: tuple[GrantConfig, ...] = ()

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels)
        raise ConfigError(f"no channel named {name!r}; configured channels: {known}")

    @property
    def enabled_channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in self.channels if c.enabled)


def default_channels() -> list[ChannelConfig]:
    """Three dry-run accounts, so every command works with no configuration."""
    return [
        ChannelConfig(name=kind, kind="dry-run", imitates=kind)
        for kind in ("website", "facebook", "twitter")
    ]


def _where(loc: Sequence[int | str], data: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(item)
    text = ".".join(parts)
    if len(loc) >= 2 and loc[0] in ("channels", "grants") and isinstance(loc[1], int):
        entries = data.get(str(loc[0]))
        if isinstance(entries, list) and loc[1] < len(entries):
            name = entries[loc[1]].get("name") if isinstance(entries[loc[1]], dict) else None
            if name:
                text += f" ({str(loc[0])[:-1]} {name!r})"
    return text


def _explain(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "literal_error" and err["loc"][-1] == "kind":
        return f"unknown kind {err.get('input')!r}: use one of website, facebook, twitter, dry-run"
    if err["type"] == "extra_forbidden":
        return "unknown key: remove it or check its spelling"
    if err["type"] == "string_pattern_mismatch" and err["loc"][-1] == "page_id":
        return (
            f"must be the Page's numeric id (Page settings, About, Page ID), "
            f"not {err.get('input')!r}"
        )
    if err["type"] == "missing":
        return "missing: this kind of channel needs it"
    if err["type"] == "string_pattern_mismatch" and err["loc"][-1] == "name":
        return f"invalid name {err.get('input')!r}: use {_EXAMPLE_NAME}"
    return msg


def _lookup_secret(name: str, secret_dirs: Sequence[Path]) -> SecretStr | None:
    value = os.environ.get(name)
    if value:
        return SecretStr(value)
    for folder in secret_dirs:
        path = folder / name
        if path.is_file():
            text = path.read_text(encoding="utf-8").strip()
            if text:
                return SecretStr(text)
    return None


def parse_channels(
    data: Mapping[str, Any], *, source: str, secret_dirs: Sequence[Path] = ()
) -> AppConfig:
    """Validate the TOML document and resolve defaults and secrets."""
    try:
        parsed = ChannelsFile.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'], data)}: {_explain(e)}" for e in exc.errors()]
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None

    org = parsed.organisation
    configs = parsed.channels or default_channels()
    problems = []
    seen: set[str] = set()
    channels = []
    for index, cfg in enumerate(configs):
        where = f"channels[{index}] (channel {cfg.name!r})"
        if cfg.name in seen:
            problems.append(f"{where}.name: duplicate channel name; give each account its own")
        seen.add(cfg.name)
        if cfg.kind == "dry-run":
            if cfg.imitates is None:
                problems.append(
                    f"{where}.imitates: a dry-run channel must say which kind it imitates "
                    "(website, facebook or twitter)"
                )
                continue
            post_kind: PostKind = cfg.imitates
        else:
            if cfg.imitates is not None and cfg.imitates != cfg.kind:
                problems.append(f"{where}.imitates: only dry-run channels imitate another kind")
            post_kind = cfg.kind
        try:
            spec = spec_for(cfg.kind, cfg.options)
        except ValueError as exc:
            problems.append(f"{where}.options.api: {exc}")
            continue
        try:
            options = spec.options.model_validate(cfg.options).model_dump()
        except ValidationError as exc:
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                problems.append(f"{where}.options.{key}: {_explain(err)}")
            continue
        secrets: dict[str, SecretStr] = {}
        for role in spec.secret_roles:
            secret_name = cfg.secrets.get(role)
            if secret_name is None:
                if cfg.enabled and role in spec.required_secrets:
                    suggestion = f"{cfg.name}_{role}".upper().replace("-", "_")
                    problems.append(
                        f"{where}.secrets.{role}: missing; name the environment variable "
                        f'or secret file that holds it, e.g. {role} = "{suggestion}"'
                    )
                continue
            value = _lookup_secret(secret_name, secret_dirs)
            if value is None:
                if cfg.enabled:
                    places = " or ".join(str(d / secret_name) for d in secret_dirs) or (
                        "a file in VISIBILITY_SECRETS_DIR"
                    )
                    problems.append(
                        f"{where}.secrets.{role}: secret {secret_name} is not set; "
                        f"export {secret_name}=... or put it in {places}"
                    )
                continue
            secrets[role] = value
        for role in sorted(set(cfg.secrets) - set(spec.secret_roles)):
            problems.append(
                f"{where}.secrets.{role}: a {cfg.kind} channel has no secret called {role!r}; "
                f"it takes {', '.join(spec.secret_roles) or 'none'}"
            )
        template = cfg.template
        if template is not None and not template.is_absolute() and source != "<defaults>":
            template = Path(source).parent / template
        if template is not None and not template.is_file():
            problems.append(f"{where}.template: no such file {template}")
        channels.append(
            Channel(
                name=cfg.name,
                kind=cfg.kind,
                post_kind=post_kind,
                enabled=cfg.enabled,
                language=cfg.language,
                tz=ZoneInfo(cfg.timezone or org.timezone),
                slots=tuple(parse_slot(s) for s in cfg.slots),
                hashtags=tuple(cfg.hashtags if cfg.hashtags is not None else org.hashtags),
                template=template,
                secrets=secrets,
                options=options,
                pacing=cfg.pacing,
                link_from=cfg.link_from,
                hashtags_by_language={
                    k: tuple(v)
                    for k, v in (
                        cfg.hashtags_by_language
                        if cfg.hashtags_by_language is not None
                        else org.hashtags_by_language
                    ).items()
                },
            )
        )
    websites = {c.name for c in channels if c.post_kind == "website"}
    for index, cfg in enumerate(parsed.channels):
        if cfg.link_from is not None and cfg.link_from not in websites:
            problems.append(
                f"channels[{index}].link_from: {cfg.link_from!r} is not a website channel; "
                f"use one of {', '.join(sorted(websites)) or 'none (add a website channel)'}"
            )
    for index, feed in enumerate(parsed.feeds):
        if feed.from_channel is not None and feed.from_channel not in seen:
            problems.append(
                f"feeds[{index}].from_channel: no channel named {feed.from_channel!r}; "
                f"use one of {', '.join(sorted(seen))}"
            )
    problems.extend(_grant_problems(parsed.grants, source))
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
    return AppConfig(
        organisation=org,
        channels=tuple(channels),
        source=None,
        feeds=tuple(parsed.feeds),
        grants=tuple(parsed.grants),
    )


def _grant_problems(grants: Sequence[GrantConfig], source: str) -> list[str]:
    problems = []
    beside = None if source == "<defaults>" else Path(source).parent
    seen: set[str] = set()
    for index, grant in enumerate(grants):
        where = f"grants[{index}] (grant {grant.name!r})"
        if grant.name in seen:
            problems.append(f"{where}.name: duplicate grant name; give each grant its own")
        seen.add(grant.name)
        emblem = emblem_path(grant, beside=beside)
        if emblem is not None and not emblem.is_file():
            problems.append(f"{where}.emblem: no such file {emblem}")
    return problems


def load_channels(path: Path | None, *, secret_dirs: Sequence[Path] = ()) -> AppConfig:
    """Read the channels TOML file, or use the built-in dry-run defaults when ``path`` is None."""
    if path is None:
        return parse_channels({}, source="<defaults>", secret_dirs=secret_dirs)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"channels file {path} does not exist: create it or unset VISIBILITY_CHANNELS_FILE"
        ) from None
    except OSError as exc:
        raise ConfigError(f"channels file {path} cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    config = parse_channels(data, source=str(path), secret_dirs=secret_dirs)
    return AppConfig(
        organisation=config.organisation,
        channels=config.channels,
        source=path,
        feeds=config.feeds,
        grants=config.grants,
    )

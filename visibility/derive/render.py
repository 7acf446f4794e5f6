"""Derive one draft post per channel account from a news item, through Jinja2 templates.

Templates see the news item's fields (``title``, ``social_title``, ``lead``,
``paragraphs``, ``body_html``, ``dateline_date``, ``dateline_place``,
``contact_email``), ``link`` (the article's URL, or the ``{link}``
placeholder while the article is still waiting to be published),
``hashtags`` and ``organisation`` (both in the item's language and script
when the file gives them per language) and ``funding_disclaimer``. Tweet templates
also get ``fit(text)``: the one part of the tweet that may be shortened, at a
sentence or word boundary, so the whole tweet fits X's weighted limit.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from visibility.config.channels import Channel, OrganisationConfig
from visibility.derive import LINK_PLACEHOLDER
from visibility.derive.limits import measure_tweet
from visibility.errors import ConfigError
from visibility.grants.apply import additions
from visibility.grants.compliance import text_language
from visibility.grants.model import Grant
from visibility.media.limits import LIMITS
from visibility.news.model import NewsContent
from visibility.queue.views import Draft, NewImage
from visibility.text.shorten import shorten_to_fit
from visibility.text.tweet import MAX_TWEET_LENGTH

TEMPLATES = Path(__file__).parent / "templates"
EXCERPT_CHARS = 300
_FIT = "\x00fit\x00"


@cache
def _environment(html: bool) -> SandboxedEnvironment:
    # Sandboxed: templates are user-editable files, and a template must not
    # reach into Python objects.
    return SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=html,
        keep_trailing_newline=False,
        trim_blocks=False,
        undefined=jinja2.StrictUndefined,
    )


def _template(channel: Channel) -> jinja2.Template:
    html = channel.post_kind == "website"
    env = _environment(html)
    try:
        if channel.template is not None:
            return env.from_string(channel.template.read_text(encoding="utf-8"))
        suffix = "html" if html else "txt"
        return env.get_template(f"{channel.post_kind}.{suffix}.j2")
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(
            f"template for channel {channel.name!r} ({channel.template}) has an error "
            f"on line {exc.lineno}: {exc.message}"
        ) from None


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _render(channel: Channel, context: dict[str, Any]) -> str:
    try:
        return _template(channel).render(context)
    except jinja2.TemplateError as exc:
        raise ConfigError(
            f"template for channel {channel.name!r} cannot be rendered: {exc}"
        ) from None


def _render_tweet(
    channel: Channel, context: dict[str, Any], grants: Sequence[Grant], language: str
) -> str:
    fitted: list[str] = []

    def fit(text: str) -> str:
        fitted.append(str(text))
        return _FIT

    text = _tidy(_render(channel, {**context, "fit": fit}))
    # The grants' mention or hashtag goes in before shortening: the fitted
    # part makes room for it, so the required element is never what is cut.
    extra = additions(grants, kind="twitter", body=text.replace(_FIT, ""), language=language)
    if extra.line:
        text = f"{text}\n{extra.line}"
    if len(fitted) > 1:
        raise ConfigError(f"template for channel {channel.name!r} calls fit() more than once")
    if not fitted:
        return text

    def measure(candidate: str) -> int:
        return measure_tweet(_tidy(text.replace(_FIT, candidate)))

    short = shorten_to_fit(fitted[0].strip(), MAX_TWEET_LENGTH, measure=measure)
    return _tidy(text.replace(_FIT, short))


def excerpt(lead: str) -> str:
    return shorten_to_fit(lead, EXCERPT_CHARS, measure=len)


def derive_posts(
    news: NewsContent,
    channels: Sequence[Channel],
    organisation: OrganisationConfig,
    *,
    author: str | None = None,
    grants: Sequence[Grant] = (),
    emblems: Mapping[str, NewImage] | None = None,
) -> list[Draft]:
    """One draft per enabled channel that takes the item's language.

    Each draft also carries what ``grants`` require of its kind of post
    (``visibility.grants.apply``); ``emblems`` are the grants' emblem files
    by sha256, attached to the posts whose rules ask for the emblem.
    """
    tag = text_language(news.language, f"{news.title} {news.lead}")
    targets = [
        c for c in channels if c.enabled and (c.language is None or c.language == news.language)
    ]
    has_article = any(c.post_kind == "website" for c in targets)
    link = news.canonical_url or (LINK_PLACEHOLDER if has_article else None)
    drafts = []
    for channel in targets:
        context: dict[str, Any] = {
            "title": news.title,
            "social_title": news.social_title,
            "lead": news.lead,
            "paragraphs": list(news.paragraphs),
            "body_html": news.body_html,
            "dateline_date": news.dateline_date,
            "dateline_place": news.dateline_place,
            "contact_email": news.contact_email,
            "language": news.language,
            "link": link,
            "hashtags": list(channel.hashtags_for(tag)),
            "organisation": organisation.name_in(tag),
            "funding_disclaimer": organisation.funding_disclaimer,
            "channel": channel.name,
        }
        if channel.post_kind == "website":
            body = _render(channel, context).strip()
            # The funding block ends the article even when the press release
            # names the donor in its text: only what the template itself
            # writes around the item's body counts as already there.
            frame = _render(channel, {**context, "body_html": ""}) if grants else ""
            extra = additions(grants, kind="website", body=frame, language=tag)
            if extra.html:
                body = f"{body}\n{extra.html}"
            drafts.append(
                Draft(
                    channel=channel.name,
                    kind="website",
                    # Sentence case like the social posts: a press release's
                    # title in capitals reads as shouting on a website.
                    title=news.social_title,
                    body=body,
                    excerpt=excerpt(news.lead),
                    link_url=news.canonical_url,
                    author=author,
                    max_images=LIMITS["website"].max_images,
                    extra_images=tuple(
                        emblems[sha] for sha in extra.emblems if emblems and sha in emblems
                    ),
                )
            )
            continue
        if channel.post_kind == "twitter":
            body = _render_tweet(channel, context, grants, tag)
        else:
            body = _tidy(_render(channel, context))
            extra = additions(grants, kind=channel.post_kind, body=body, language=tag)
            if extra.line:
                body = f"{body}\n\n{extra.line}"
        drafts.append(
            Draft(
                channel=channel.name,
                kind=channel.post_kind,
                body=body,
                link_url=news.canonical_url,
                links_to_article=link == LINK_PLACEHOLDER,
                link_from=channel.link_from,
                author=author,
                max_images=LIMITS[channel.post_kind].max_images,
                extra_images=_emblems(grants, channel.post_kind, body, tag, emblems),
            )
        )
    return _resolve_link_from(drafts)


def _emblems(
    grants: Sequence[Grant],
    kind: str,
    body: str,
    tag: str,
    emblems: Mapping[str, NewImage] | None,
) -> tuple[NewImage, ...]:
    """The emblems a social post's rules ask for (an article's are added with its HTML)."""
    if not emblems:
        return ()
    wanted = additions(grants, kind=kind, body=body, language=tag).emblems
    return tuple(emblems[sha] for sha in wanted if sha in emblems)


def _resolve_link_from(drafts: list[Draft]) -> list[Draft]:
    """Name the article each social draft links to, so the choice is explicit.

    The channel's ``link_from`` when that website gets this item; otherwise the
    first website channel, in the file's order, that does.
    """
    websites = [d.channel for d in drafts if d.kind == "website"]
    if not websites:
        return drafts
    return [
        d
        if not d.links_to_article or d.link_from in websites
        else dataclasses.replace(d, link_from=websites[0])
        for d in drafts
    ]

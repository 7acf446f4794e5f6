"""Grants and compliance in the reader's language, for the pages and the API.

``visibility.grants.compliance`` names what a rule needs in English (for the
CLI and the logs); here the same is said from the catalogues: the grant's
own words (its statement, its handles) stay as the grant writes them, the
sentence around them is translated. ``ComplianceOut`` is what the API
answers for a post; ``Badge`` what a post card shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from visibility.grants.compliance import texts_for
from visibility.grants.model import Compliance, Element, Grant, RuleCheck
from visibility.web.i18n import Translate

if TYPE_CHECKING:
    from visibility.queue.views import PostView
    from visibility.workflow import Visibility

KINDS = ("website", "facebook", "twitter")


def element_names(_: Translate) -> dict[str, str]:
    """Each element a rule can ask for, as a word."""
    return {
        "statement": _("funding statement"),
        "disclaimer": _("disclaimer"),
        "emblem": _("emblem"),
        "mention": _("mention"),
        "hashtag": _("hashtag"),
    }


def kind_names(_: Translate) -> dict[str, str]:
    """Each kind of post, in the plural, as a heading."""
    return {
        "website": _("Website articles"),
        "facebook": _("Facebook posts"),
        "twitter": _("Tweets (X)"),
    }


def status_names(_: Translate) -> dict[str, str]:
    """A post's compliance, as its badge says it."""
    return {
        "compliant": _("Compliant"),
        "missing": _("Missing"),
        "overridden": _("Approved as exception"),
        "no_rules": _("Nothing required"),
    }


def either(words: Sequence[str], _: Translate) -> str:
    """``a``, ``a or b``, ``a or b or c``."""
    either = _("or")
    return f" {either} ".join(words)


def _handles(grant: Grant, element: Element, kind: str) -> tuple[str, ...]:
    return (grant.mentions if element == "mention" else grant.hashtags).get(kind, ())


def usable(element: Element, grant: Grant, kind: str) -> bool:
    """Whether the grant defines what carrying ``element`` means on ``kind`` posts."""
    if element in ("statement", "disclaimer"):
        return any(getattr(t, element) for t in grant.texts.values())
    if element == "emblem":
        return grant.emblem_sha256 is not None
    return bool(_handles(grant, element, kind))


def element_words(element: Element, grant: Grant, kind: str, tag: str, _: Translate) -> str:
    """What carrying ``element`` means, in words staff can act on."""
    texts = texts_for(grant, tag)
    if element == "statement":
        return _("the funding statement “{text}”", text=texts.statement if texts else "")
    if element == "disclaimer":
        if texts and texts.disclaimer:
            short = texts.disclaimer if len(texts.disclaimer) <= 60 else texts.disclaimer[:60] + "…"
            return _("the disclaimer “{text}”", text=short)
        return _("the disclaimer")
    if element == "emblem":
        return _("the {donor} emblem as a picture", donor=grant.donor_name)
    handles = " / ".join(_handles(grant, element, kind))
    if element == "mention":
        return _("the mention {handles}", handles=handles) if handles else _("a mention")
    return _("the hashtag {handles}", handles=handles) if handles else _("a hashtag")


def rule_words(
    alternatives: Sequence[Element], grant: Grant, kind: str, tag: str, _: Translate
) -> str:
    """What meets one rule: its alternatives the grant defines, or why none can."""
    can = [a for a in alternatives if usable(a, grant, kind)]
    if not can:
        names = element_names(_)
        return _(
            "nothing: the grant defines no {elements} for these posts",
            elements=either([names[a] for a in alternatives], _),
        )
    return either([element_words(a, grant, kind, tag, _) for a in can], _)


@dataclass(frozen=True)
class KindRules:
    kind: str
    heading: str
    rules: tuple[str, ...]  # each in words; every rule must be met


def rules_in_words(grant: Grant, tag: str, _: Translate) -> list[KindRules]:
    """The grant's rules per kind of post, as its page lists them."""
    headings = kind_names(_)
    found = []
    for kind in KINDS:
        rules = grant.require.get(kind, ())
        found.append(
            KindRules(
                kind,
                headings[kind],
                tuple(rule_words(r, grant, kind, tag, _) for r in rules),
            )
        )
    return found


# -- a post's compliance ---------------------------------------------------------------


@dataclass(frozen=True)
class CheckOut:
    grant: str
    rule: str  # the alternatives, "mention or hashtag"
    status: Literal["met", "missing", "not_applicable"]
    needed: str  # in words, in the request's language
    found: Element | None


@dataclass(frozen=True)
class OverrideOut:
    reason: str
    by: str
    at: str


@dataclass(frozen=True)
class ComplianceOut:
    """Whether a post carries what its news item's grants require."""

    status: Literal["compliant", "missing", "overridden", "no_rules"]
    checks: list[CheckOut]
    missing: list[str]  # what it lacks, in words
    override: OverrideOut | None


@dataclass(frozen=True)
class Badge:
    """A post's compliance as a card shows it."""

    status: str
    label: str
    missing: tuple[str, ...]
    met: tuple[str, ...]
    override: OverrideOut | None

    @property
    def blocks_approval(self) -> bool:
        return self.status == "missing"


class Checker:
    """Compliance of many posts at once, in words: grants and news items read once."""

    def __init__(self, app: Visibility, _: Translate) -> None:
        self.app = app
        self._ = _
        self._grants: dict[str, Grant] = {}
        self._tags: dict[int, str] = {}

    def grant(self, name: str) -> Grant:
        if name not in self._grants:
            self._grants[name] = self.app.store.grant(name)
        return self._grants[name]

    def tag(self, news_id: int) -> str:
        if news_id not in self._tags:
            self._tags[news_id] = self.app.language_tag(self.app.store.get_news(news_id))
        return self._tags[news_id]

    def needed(self, check: RuleCheck, post: PostView) -> str:
        grant = self.grant(check.grant)
        return rule_words(check.alternatives, grant, post.kind, self.tag(post.news_item_id), self._)

    def out(self, post: PostView, compliance: Compliance) -> ComplianceOut:
        checks = [
            CheckOut(c.grant, " or ".join(c.alternatives), c.status, self.needed(c, post), c.found)
            for c in compliance.checks
        ]
        o = compliance.override
        return ComplianceOut(
            status=compliance.status,
            checks=checks,
            missing=[c.needed for c in checks if c.status == "missing"],
            override=None if o is None else OverrideOut(o.reason, o.by, o.at),
        )

    def outs(self, posts: Sequence[PostView]) -> dict[int, ComplianceOut]:
        found = self.app.compliance_of(posts)
        return {p.id: self.out(p, found[p.id]) for p in posts}

    def badge(self, post: PostView, compliance: Compliance) -> Badge:
        out = self.out(post, compliance)
        return Badge(
            status=out.status,
            label=status_names(self._)[out.status],
            missing=tuple(out.missing),
            met=tuple(c.needed for c in out.checks if c.status == "met"),
            override=out.override,
        )

    def badges(self, posts: Sequence[PostView]) -> dict[int, Badge]:
        found = self.app.compliance_of(posts)
        return {p.id: self.badge(p, found[p.id]) for p in posts}

    def refusal(self, post: PostView, compliance: Compliance, how: str) -> str:
        """Why approval is refused: each missing element, and ``how`` to approve anyway."""
        _ = self._
        missing = "; ".join(f"{self.needed(c, post)} ({c.grant})" for c in compliance.missing)
        text = _("Post {id} lacks what its grants require: {missing}.", id=post.id, missing=missing)
        return f"{text} {how}" if how else text


def compliance_rate(app: Visibility, grant: Grant) -> tuple[int, int]:
    """Published posts of the grant's news items: (compliant, posts some rule applies to)."""
    from visibility.queue.states import PostStatus

    posts = [
        post
        for news_id in app.store.grant_news_ids(grant.name)
        for post in app.store.list_posts(news_item_id=news_id, status=[PostStatus.PUBLISHED])
    ]
    found = app.compliance_of(posts)
    checked = [c for c in found.values() if c.status != "no_rules"]
    return sum(1 for c in checked if c.status == "compliant"), len(checked)


def percent_text(counts: tuple[int, int], _: Translate) -> str:
    compliant, checked = counts
    if not checked:
        return _("no published post yet")
    from visibility.grants.dossier_html import percent  # as the dossier rounds it

    return _(
        "{percent}% ({compliant} of {checked})",
        percent=percent(compliant / checked),
        compliant=compliant,
        checked=checked,
    )


def languages_named(_: Translate) -> Mapping[str, str]:
    """The languages a grant's texts are written in."""
    return {
        "sq": _("Albanian"),
        "sr-Latn": _("Serbian (Latin)"),
        "sr-Cyrl": _("Serbian (Cyrillic)"),
        "en": _("English"),
    }

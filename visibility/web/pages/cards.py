"""A post as the pages show it: its count against the channel's limit, why it waits,
what may be done with it now, and when it could go out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from visibility.accounts.roles import Role
from visibility.accounts.store import Actor
from visibility.derive.limits import Measure, measure
from visibility.errors import UserError
from visibility.queue import states
from visibility.queue.review import RETURNED
from visibility.queue.states import Move
from visibility.queue.types import utcnow
from visibility.queue.views import CommentView, PostView
from visibility.web.grant_words import Badge, Checker
from visibility.web.i18n import Translate
from visibility.workflow import Visibility

# Each action a page offers: the move it makes, and the role the API asks for it.
ACTIONS: tuple[tuple[str, Move, Role], ...] = (
    ("edit", states.EDIT, Role.EDITOR),
    ("approve", states.APPROVE, Role.APPROVER),
    ("return", states.RETURN, Role.APPROVER),
    ("schedule", states.SCHEDULE, Role.APPROVER),
    ("cancel", states.CANCEL, Role.APPROVER),
    ("retry", states.RETRY, Role.APPROVER),
    ("confirm", states.CONFIRM, Role.APPROVER),
    ("resend", states.RESEND, Role.APPROVER),
)


@dataclass(frozen=True)
class PostCard:
    post: PostView
    size: Measure
    fits: bool
    waiting: str | None  # why a scheduled post is not going out yet
    problem: str | None  # why a draft cannot be approved as it is
    timezone: str  # the channel's: schedule times are read in it
    slots: tuple[datetime, ...]  # the channel's next free slots for this post
    actions: frozenset[str]
    links_to: str | None = None  # the website channel whose article this post carries
    badge: Badge | None = None  # what its grants require, for a post under a grant
    trail: tuple[CommentView, ...] = ()  # its review comments, oldest first

    def may(self, action: str) -> bool:
        return action in self.actions

    @property
    def last_return(self) -> CommentView | None:
        """The comment it was sent back with, while it waits for its author."""
        if self.post.returned_at is None:
            return None
        returns = [c for c in self.trail if c.kind == RETURNED]
        return returns[-1] if returns else None

    @property
    def input_value(self) -> str:
        """The schedule form's time: its own or the first free slot, in the channel's zone."""
        instant = self.post.scheduled_at or (self.slots[0] if self.slots else None)
        if instant is None:
            return ""
        return instant.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%dT%H:%M")

    @property
    def count_text(self) -> str:
        if not self.size.limit:
            return str(self.size.length)
        return f"{self.size.length} / {self.size.limit}"


def allowed_actions(post: PostView, actor: Actor) -> frozenset[str]:
    names = {
        name
        for name, move, role in ACTIONS
        if move.allowed_from(post.status) and actor.role.allows(role)
    }
    # Not a move: a draft sent back goes back to the approvers (visibility.queue.review).
    if post.status is states.PostStatus.DRAFT and post.returned_at is not None:
        names.add("resubmit")
    return frozenset(names)


def free_slots(app: Visibility, post: PostView, count: int) -> tuple[datetime, ...]:
    """The channel's next ``count`` free slots for ``post``, by the workflow's own rule."""
    found: list[datetime] = []
    after = utcnow()
    for _ in range(count):
        try:
            slot = app.next_free_slot(post, now=after)
        except UserError:
            break  # no slots on this channel, or none free
        found.append(slot)
        after = slot
    return tuple(found)


def badges(app: Visibility, posts: Sequence[PostView], _: Translate) -> dict[int, Badge]:
    """Compliance badges of the posts whose news items are under a grant."""
    under = app.store.news_grant_names(sorted({p.news_item_id for p in posts}))
    shown = [p for p in posts if under.get(p.news_item_id)]
    return Checker(app, _).badges(shown) if shown else {}


def card(
    app: Visibility,
    post: PostView,
    actor: Actor,
    *,
    slots: int = 0,
    badge: Badge | None = None,
) -> PostCard:
    size = measure(post.kind, post.body)
    actions = allowed_actions(post, actor)
    problem = None
    if post.status is states.PostStatus.DRAFT:
        try:
            app.check(post)
        except UserError as exc:
            problem = str(exc)
    try:
        timezone = app.channel_of(post).timezone
    except UserError:  # the channel was removed from the configuration
        timezone = app.config.organisation.timezone
        actions = actions & {"cancel"}
    wants_slots = slots and ("schedule" in actions)
    return PostCard(
        post=post,
        size=size,
        fits=not size.limit or size.length <= size.limit,
        waiting=app.waiting_reason(post),
        problem=problem,
        timezone=timezone,
        slots=free_slots(app, post, slots) if wants_slots else (),
        actions=actions,
        links_to=(
            None if post.link_post_id is None else app.store.get_post(post.link_post_id).channel
        ),
        badge=badge,
        trail=tuple(app.store.comments(post.id)),
    )

"""A post's states and the only moves allowed between them.

Every status change in the store goes through ``Move``: the SQL ``UPDATE``
carries ``WHERE status IN (move.sources)``, so two actors racing for the same
post cannot both win, and a move from a state not listed here is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PostStatus(StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    IN_DOUBT = "in_doubt"  # may be on the channel; a person decides
    FAILED = "failed"
    CANCELLED = "cancelled"


S = PostStatus


@dataclass(frozen=True)
class Move:
    """A named transition: from any of ``sources`` to ``target``."""

    name: str
    sources: frozenset[PostStatus]
    target: PostStatus
    verb: str  # for messages: "only draft posts can be {verb}"

    def allowed_from(self, status: PostStatus) -> bool:
        return status in self.sources

    def refusal(self, post_id: int, current: PostStatus) -> str:
        allowed = ", ".join(sorted(s.value for s in self.sources))
        return f"post {post_id} is {current.value}; only {allowed} posts can be {self.verb}"


EDIT = Move("edit", frozenset({S.DRAFT, S.APPROVED, S.SCHEDULED}), S.DRAFT, "edited")
# An approver sends a post back to its author with a comment (visibility.queue.review).
RETURN = Move(
    "return", frozenset({S.DRAFT, S.APPROVED, S.SCHEDULED}), S.DRAFT, "sent back to the author"
)
APPROVE = Move("approve", frozenset({S.DRAFT}), S.APPROVED, "approved")
SCHEDULE = Move("schedule", frozenset({S.APPROVED, S.SCHEDULED}), S.SCHEDULED, "scheduled")
CANCEL = Move(
    "cancel",
    frozenset({S.DRAFT, S.APPROVED, S.SCHEDULED, S.FAILED, S.IN_DOUBT}),
    S.CANCELLED,
    "cancelled",
)
RETRY = Move("retry", frozenset({S.FAILED}), S.APPROVED, "retried")
HOLD = Move("hold", frozenset({S.SCHEDULED}), S.APPROVED, "held for confirmation")
# The scheduler's moves; each also checks the worker's lease in SQL.
CLAIM = Move("claim", frozenset({S.SCHEDULED}), S.PUBLISHING, "claimed for publishing")
SUCCEED = Move("succeed", frozenset({S.PUBLISHING}), S.PUBLISHED, "marked published")
FAIL = Move("fail", frozenset({S.PUBLISHING}), S.FAILED, "marked failed")
REQUEUE = Move("requeue", frozenset({S.PUBLISHING}), S.SCHEDULED, "put back in the queue")
DOUBT = Move("doubt", frozenset({S.PUBLISHING}), S.IN_DOUBT, "marked in doubt")
# A worker died holding the post: back to the queue, to be verified first.
RECOVER = Move("recover", frozenset({S.PUBLISHING}), S.SCHEDULED, "recovered")
# A person's decisions on a post in doubt.
CONFIRM = Move("confirm", frozenset({S.IN_DOUBT}), S.PUBLISHED, "confirmed as published")
RESEND = Move("resend", frozenset({S.IN_DOUBT}), S.SCHEDULED, "sent again")

MOVES: tuple[Move, ...] = (
    EDIT,
    RETURN,
    APPROVE,
    SCHEDULE,
    CANCEL,
    RETRY,
    HOLD,
    CLAIM,
    SUCCEED,
    FAIL,
    REQUEUE,
    DOUBT,
    RECOVER,
    CONFIRM,
    RESEND,
)

#: States a person may still change; the rest belong to the scheduler or are final.
EDITABLE = EDIT.sources
FINAL = frozenset({S.PUBLISHED, S.CANCELLED})

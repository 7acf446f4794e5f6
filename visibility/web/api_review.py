"""The REST API for review with comments: an approver sends a post back to its author with
a comment, the author resubmits it, and anyone signed in reads a post's review trail
and their own "returned to me" list (``visibility.queue.review`` defines it).

The workflow writes the audit log (``post.return``, ``post.resubmit``) and sends the
e-mail notices (``visibility.review``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from visibility.queue.views import CommentView
from visibility.review import MAX_COMMENT, clean_comment
from visibility.web.api import MOVE_WITH_BODY, READ_ONE, READ_QUERY, App, Approver, Editor, PostId
from visibility.web.api import post_out as one_post_out
from visibility.web.api import posts_out as many_posts_out
from visibility.web.api_models import PostOut
from visibility.web.i18n import request_language, translator
from visibility.web.limits import BoundedRoute

router = APIRouter(prefix="/api/v1", tags=["review"], route_class=BoundedRoute)

# Longer than a comment may be, so that a too-long one is told its length in words.
_RAW = MAX_COMMENT * 4


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReturnIn(_Body):
    comment: str = Field(
        max_length=_RAW,
        description=f"What the author should change: 1 to {MAX_COMMENT} characters once "
        "trimmed; kept in the post's review trail and the audit log.",
        examples=["The dateline is missing the place: add “Prishtinë”."],
    )


class ResubmitIn(_Body):
    comment: str | None = Field(
        default=None,
        max_length=_RAW,
        description=f"A reply to the approver (optional, up to {MAX_COMMENT} characters).",
    )


@dataclass(frozen=True)
class ReturnedOut:
    """A post sent back to the signed-in person, with the comment it was sent back with."""

    post: PostOut
    returned: CommentView | None


@router.post("/posts/{post_id}/return", response_model=PostOut, responses=MOVE_WITH_BODY)
def return_post(
    request: Request, app: App, actor: Approver, post_id: PostId, body: ReturnIn
) -> Any:
    """Send a post (draft, approved or scheduled) back to draft for its author, with a
    comment; its approval and schedule are cleared as an edit clears them."""
    _ = translator(request_language(request))
    comment = clean_comment(body.comment, _)
    assert comment is not None
    post = app.return_post(post_id, by=actor.username, comment=comment, audit_as=actor.label)
    return one_post_out(request, app, post)


@router.post("/posts/{post_id}/resubmit", response_model=PostOut, responses=MOVE_WITH_BODY)
def resubmit_post(
    request: Request, app: App, actor: Editor, post_id: PostId, body: ResubmitIn | None = None
) -> Any:
    """A draft sent back is ready for approval again: it leaves its author's list."""
    _ = translator(request_language(request))
    reply = clean_comment(None if body is None else body.comment, _, required=False)
    post = app.resubmit(post_id, by=actor.username, comment=reply, audit_as=actor.label)
    return one_post_out(request, app, post)


@router.get("/posts/{post_id}/comments", response_model=list[CommentView], responses=READ_ONE)
def post_comments(app: App, _: Editor, post_id: PostId) -> Any:
    """The post's review trail, oldest first."""
    app.store.get_post(post_id)  # 404 for a post that does not exist
    return app.store.comments(post_id)


@router.get("/me/returned", response_model=list[ReturnedOut], responses=READ_QUERY)
def my_returned(
    request: Request, app: App, actor: Editor, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> Any:
    """Drafts sent back to the signed-in person and not yet resubmitted or approved."""
    posts = app.store.returned_to(actor.username, limit=limit)
    last = app.store.last_returns([p.id for p in posts])
    outs = many_posts_out(request, app, posts)
    return [ReturnedOut(out, last.get(out.id)) for out in outs]


__all__ = ["router"]

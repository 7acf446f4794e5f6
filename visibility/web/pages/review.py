"""Review with comments on the pages: an approver sends a post back with a comment, its
author finds it under "Returned to me" (counted in the navigation) and sends it for
approval again.

The workflow writes the audit log and the e-mail notices (``visibility.review``); what
"returned to me" holds is defined in ``visibility.queue.review``.
"""

from __future__ import annotations

from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Form, Request, Response

from visibility.review import MAX_COMMENT, clean_comment
from visibility.web.deps import app_of
from visibility.web.pages.cards import badges, card
from visibility.web.pages.common import (
    ENV,
    App,
    Approver,
    Editor,
    Id,
    PageRoute,
    flash,
    render,
    safe_back,
    see_other,
    translate_for,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Back = Annotated[str, Form(max_length=2000)]
# Longer than a comment may be, so that a too-long one is told its length in words.
Comment = Annotated[str, Form(max_length=MAX_COMMENT * 4)]


@router.post("/posts/{post_id}/return")
def send_back(
    request: Request,
    app: App,
    actor: Approver,
    post_id: Id,
    comment: Comment = "",
    back: Back = "/",
) -> Response:
    _ = translate_for(request)
    text = clean_comment(comment, _)
    assert text is not None
    post = app.return_post(post_id, by=actor.username, comment=text, audit_as=actor.label)
    if post.returned_to:
        message = _("Post {id} was sent back to {name}.", id=post_id, name=post.returned_to)
    else:
        message = _("Post {id} was sent back; it has no author to tell.", id=post_id)
    flash(request, "ok", message)
    return see_other(safe_back(back))


@router.post("/posts/{post_id}/resubmit")
def resubmit(
    request: Request,
    app: App,
    actor: Editor,
    post_id: Id,
    comment: Comment = "",
    back: Back = "/",
) -> Response:
    _ = translate_for(request)
    reply = clean_comment(comment, _, required=False)
    app.resubmit(post_id, by=actor.username, comment=reply, audit_as=actor.label)
    flash(request, "ok", _("Post {id} waits for approval again.", id=post_id))
    return see_other(safe_back(back))


@router.get("/returned")
def returned(request: Request, app: App, actor: Editor) -> Response:
    posts = app.store.returned_to(actor.username)
    found = badges(app, posts, translate_for(request))
    cards = [card(app, p, actor, badge=found.get(p.id)) for p in posts]
    news = {i: app.store.get_news(i) for i in sorted({p.news_item_id for p in posts})}
    return render(request, "returned.html", actor=actor, nav="returned", cards=cards, news=news)


@jinja2.pass_context
def returned_count(context: Any) -> int:
    """How many posts wait for the signed-in person's changes (the navigation's badge)."""
    actor = context.get("actor")
    if actor is None:
        return 0
    return app_of(context["request"]).store.count_returned_to(actor.username)


ENV.globals.update(returned_count=returned_count)

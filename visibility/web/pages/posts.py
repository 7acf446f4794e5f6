"""What a form can do to a post: the workflow's own functions, each written to the audit log.

Every action answers with a redirect to the page the form was on (its
``back`` field), with a message saying what happened; a refusal from the
workflow comes back the same way, through ``PageRoute``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response

from visibility.errors import UserError
from visibility.queue.states import APPROVE
from visibility.web.grant_words import Checker
from visibility.web.pages.common import (
    App,
    Approver,
    Clock,
    Editor,
    Id,
    PageRoute,
    audit,
    flash,
    language_of,
    safe_back,
    see_other,
    translate_for,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Back = Annotated[str, Form(max_length=2000)]


def _done(request: Request, back: str, message: str) -> Response:
    flash(request, "ok", message)
    return see_other(safe_back(back))


def _lines(text: str) -> str:
    """Browsers send a textarea's line breaks as CRLF; posts keep plain newlines."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@router.post("/posts/{post_id}/edit")
def edit(
    request: Request,
    app: App,
    actor: Editor,
    post_id: Id,
    body: Annotated[str, Form(max_length=100_000)],
    title: Annotated[str | None, Form(max_length=1000)] = None,
    back: Back = "/",
) -> Response:
    _ = translate_for(request)
    post = app.store.get_post(post_id)
    new_body = _lines(body)
    new_title = None if title is None else " ".join(title.split())
    changed_body = new_body if new_body != post.body else None
    changed_title = new_title if new_title is not None and new_title != (post.title or "") else None
    if changed_body is None and changed_title is None:
        # Saving unchanged text must not send an approved post back to draft.
        flash(request, "info", _("Nothing changed in post {id}.", id=post_id))
        return see_other(safe_back(back))
    if changed_title is not None and not changed_title:
        raise UserError(_("The title cannot be empty."))
    app.edit(post_id, body=changed_body, title=changed_title, by=actor.username)
    audit(app, actor, "post.edit", f"post {post_id}")
    return _done(
        request, back, _("Post {id} saved. It is a draft again until approved.", id=post_id)
    )


@router.post("/posts/{post_id}/approve")
def approve(
    request: Request,
    app: App,
    actor: Approver,
    post_id: Id,
    back: Back = "/",
    override_reason: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    _ = translate_for(request)
    reason = None if override_reason is None else " ".join(override_reason.split())
    post = app.store.get_post(post_id)
    if override_reason is not None and not reason:
        raise UserError(_("Say why the post may go without what is missing."))
    if APPROVE.allowed_from(post.status):
        compliance = app.compliance(post)
        if compliance.missing and not reason:
            how = _("Give a reason for the exception to approve it anyway.")
            raise UserError(Checker(app, _).refusal(post, compliance, how))
        if reason and not compliance.missing:
            reason = None  # fixed meanwhile: an ordinary approval
    app.approve(post_id, by=actor.username, override=reason)
    audit(app, actor, "post.approve", f"post {post_id}", reason and f"exception: {reason}")
    if reason:
        return _done(request, back, _("Post {id} approved as an exception.", id=post_id))
    return _done(request, back, _("Post {id} approved.", id=post_id))


@router.post("/posts/{post_id}/schedule")
def schedule(
    request: Request,
    app: App,
    actor: Approver,
    post_id: Id,
    mode: Annotated[Literal["at", "slot", "next-slot", "now"], Form()] = "at",
    at: Annotated[str, Form(max_length=64)] = "",
    slot: Annotated[str, Form(max_length=64)] = "",
    back: Back = "/",
) -> Response:
    _ = translate_for(request)
    if mode == "slot":
        if not slot:
            raise UserError(_("Choose one of the free slots."))
        post = app.schedule(post_id, at=slot, mode="at")
    elif mode == "at":
        if not at.strip():
            raise UserError(_("Enter the date and time to publish at."))
        post = app.schedule(post_id, at=at, mode="at")
    else:
        post = app.schedule(post_id, mode=mode)
    audit(app, actor, "post.schedule", f"post {post_id}", str(post.scheduled_at))
    clock = Clock(app.config.organisation.timezone, language_of(request))
    return _done(
        request,
        back,
        _(
            "Post {id} is scheduled for {time} ({timezone}).",
            id=post_id,
            time=clock(post.scheduled_at),
            timezone=app.config.organisation.timezone,
        ),
    )


@router.post("/posts/{post_id}/cancel")
def cancel(request: Request, app: App, actor: Approver, post_id: Id, back: Back = "/") -> Response:
    app.cancel(post_id)
    audit(app, actor, "post.cancel", f"post {post_id}")
    _ = translate_for(request)
    return _done(request, back, _("Post {id} cancelled.", id=post_id))


@router.post("/posts/{post_id}/retry")
def retry(request: Request, app: App, actor: Approver, post_id: Id, back: Back = "/") -> Response:
    app.retry(post_id)
    audit(app, actor, "post.retry", f"post {post_id}")
    _ = translate_for(request)
    return _done(request, back, _("Post {id} is approved again: schedule it.", id=post_id))


@router.post("/posts/{post_id}/confirm")
def confirm(
    request: Request,
    app: App,
    actor: Approver,
    post_id: Id,
    url: Annotated[str, Form(max_length=2000)] = "",
    external_id: Annotated[str, Form(max_length=200)] = "",
    back: Back = "/",
) -> Response:
    _ = translate_for(request)
    address = url.strip()
    if not address.startswith(("http://", "https://")) or any(c.isspace() for c in address):
        raise UserError(_("Paste the post's address on the channel, starting with https://."))
    app.confirm(post_id, url=address, by=actor.username, external_id=external_id.strip() or None)
    audit(app, actor, "post.confirm", f"post {post_id}", address)
    return _done(request, back, _("Post {id} is recorded as published.", id=post_id))


@router.post("/posts/{post_id}/resend")
def resend(request: Request, app: App, actor: Approver, post_id: Id, back: Back = "/") -> Response:
    app.resend(post_id, by=actor.username)
    audit(app, actor, "post.resend", f"post {post_id}")
    _ = translate_for(request)
    return _done(request, back, _("Post {id} will be sent again now.", id=post_id))

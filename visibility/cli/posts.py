"""`visibility posts`: review, edit, approve, schedule and settle posts."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from visibility.cli import render
from visibility.cli.common import JsonOpt, each, open_visibility, out, post_dict, print_json
from visibility.cli.editor import edit_text
from visibility.errors import UserError
from visibility.queue.states import PostStatus
from visibility.queue.types import utcnow
from visibility.queue.views import PostView

posts_app = typer.Typer(
    help="Visibility posts: review, edit, approve, schedule.", no_args_is_help=True
)


def _status(values: list[str] | None) -> list[PostStatus]:
    result = []
    for value in values or []:
        try:
            result.append(PostStatus(value))
        except ValueError:
            known = ", ".join(s.value for s in PostStatus)
            raise UserError(f"unknown status {value!r}; use one of {known}") from None
    return result


@posts_app.command("list")
def posts_list(
    status: Annotated[
        list[str] | None, typer.Option(help="Only posts in this status (repeatable).")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel account.")] = None,
    news: Annotated[int | None, typer.Option(help="Only posts of this news item.")] = None,
    returned_to: Annotated[
        str | None,
        typer.Option(
            "--returned-to",
            help="Only drafts sent back to this person and not yet resubmitted or approved "
            "(newest first).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List posts with their status and schedule."""
    with open_visibility() as v:
        if channel is not None:
            v.config.channel(channel)
        if returned_to is not None:
            if status or channel is not None or news is not None:
                raise UserError("--returned-to lists on its own: leave out the other filters")
            posts = v.store.returned_to(returned_to.strip())
        else:
            posts = v.store.list_posts(status=_status(status), channel=channel, news_item_id=news)
        if as_json:
            checked = v.compliance_of(posts)
            print_json([post_dict(v, p.id, checked) for p in posts])
            return
        out.print(
            render.posts_table(
                posts,
                waiting={p.id: v.waiting_reason(p) for p in posts},
                channels={c.name: c for c in v.config.channels},
            )
        )


@posts_app.command("show")
def posts_show(post_id: int, as_json: JsonOpt = False) -> None:
    """Show a post in full, with its review trail and every publish attempt."""
    with open_visibility() as v:
        post = v.store.get_post(post_id)
        attempts = v.store.attempts(post_id)
        comments = v.store.comments(post_id)
        if as_json:
            print_json(
                {
                    **post_dict(v, post_id),
                    "comments": [c.to_dict() for c in comments],
                    "attempt_log": [a.to_dict() for a in attempts],
                }
            )
            return
        article = None if post.link_post_id is None else v.store.get_post(post.link_post_id)
        out.print(render.post_detail(post, v.channel_of(post), v.waiting_reason(post), article))
        compliance = v.compliance(post)
        if compliance.status != "no_rules":
            out.print(render.compliance_lines(compliance))
        if comments:
            out.print(render.comments_table(comments))
        if attempts:
            out.print(render.attempts_table(attempts))


@posts_app.command("edit")
def posts_edit(
    post_id: int,
    text: Annotated[str | None, typer.Option(help="The new text (else $EDITOR opens).")] = None,
    title: Annotated[str | None, typer.Option(help="A new title (website posts).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a post's text; an approved or scheduled post goes back to draft."""
    with open_visibility() as v:
        post = v.store.get_post(post_id)
        if text is None and title is None:
            edited = edit_text(post.body, suffix=".html" if post.kind == "website" else ".txt")
            if edited.strip() == post.body.strip():
                out.print(f"post {post_id} unchanged")
                return
            text = edited.strip()
        updated = v.edit(post_id, body=text, title=title)
        if as_json:
            print_json(post_dict(v, post_id))
            return
        out.print(f"post {post_id} edited, now {updated.status.value} ({render.measured(updated)})")
        compliance = v.compliance(updated)
        if compliance.missing:
            out.print(render.compliance_lines(compliance))


@posts_app.command("approve")
def posts_approve(
    post_ids: Annotated[list[int], typer.Argument(help="One or more post ids.")],
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    override: Annotated[
        str | None,
        typer.Option(
            help="Approve a post that lacks what its grants require, saying why "
            "(kept with the post, in the audit log and in the grant's dossier)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve posts for publishing (they must fit their channel's limits and carry
    what their grants require)."""
    with open_visibility() as v:
        each(
            v,
            post_ids,
            lambda pid: v.approve(pid, by=by, override=override),
            as_json,
            lambda p: (
                f"post {p.id} approved by {p.approved_by}"
                + (f" (exception: {p.override_reason})" if p.override_reason else "")
            ),
        )


@posts_app.command("schedule")
def posts_schedule(
    post_ids: Annotated[list[int], typer.Argument(help="One or more post ids.")],
    at: Annotated[
        str | None,
        typer.Option(help="Wall time in the channel's timezone, e.g. '2026-12-01 09:30'."),
    ] = None,
    next_slot: Annotated[
        bool, typer.Option("--next-slot", help="The channel's next free posting slot.")
    ] = False,
    now: Annotated[bool, typer.Option("--now", help="As soon as possible.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Schedule approved posts."""
    if sum((at is not None, next_slot, now)) != 1:
        raise UserError("say when, with exactly one of --at TIME, --next-slot or --now")
    mode: Literal["at", "next-slot", "now"] = (
        "at" if at is not None else "next-slot" if next_slot else "now"
    )
    with open_visibility() as v:

        def say(post: PostView) -> str:
            text = f"post {post.id} scheduled for {render.when(post, v.channel_of(post))}"
            if mode == "at" and post.scheduled_at and post.scheduled_at < utcnow():
                text += " (that time has passed: it goes out at once)"
            return text

        each(v, post_ids, lambda pid: v.schedule(pid, at=at, mode=mode), as_json, say)


@posts_app.command("cancel")
def posts_cancel(post_ids: list[int], as_json: JsonOpt = False) -> None:
    """Cancel posts that have not been published."""
    with open_visibility() as v:

        def say(post: PostView) -> str:
            text = f"post {post.id} cancelled"
            waiting = v.store.dependents(post.id)
            if waiting:
                ids = " ".join(str(p.id) for p in waiting)
                text += (
                    f"; posts {ids} link to this article and will not go out without it: "
                    f"cancel them too (visibility posts cancel {ids}) or edit them"
                )
            return text

        each(v, post_ids, v.cancel, as_json, say)


@posts_app.command("retry")
def posts_retry(post_ids: list[int], as_json: JsonOpt = False) -> None:
    """Send failed posts back to approved, to be scheduled again."""
    with open_visibility() as v:
        each(
            v,
            post_ids,
            v.retry,
            as_json,
            lambda p: f"post {p.id} is approved again; schedule it to publish",
        )


@posts_app.command("confirm")
def posts_confirm(
    post_id: int,
    url: Annotated[str, typer.Option(help="The post's address on the channel.")],
    by: Annotated[str, typer.Option("--by", help="Who checked the channel.")],
    external_id: Annotated[
        str | None, typer.Option(help="The channel's id for the post, when known.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A post in doubt is on the channel after all: record it as published."""
    with open_visibility() as v:
        post = v.confirm(post_id, url=url, by=by, external_id=external_id)
        if as_json:
            print_json(post_dict(v, post.id))
            return
        out.print(f"post {post.id} recorded as published: {post.external_url}")


@posts_app.command("resend")
def posts_resend(
    post_id: int,
    by: Annotated[str, typer.Option("--by", help="Who checked the channel.")],
    as_json: JsonOpt = False,
) -> None:
    """A post in doubt is not on the channel: send it again now."""
    with open_visibility() as v:
        post = v.resend(post_id, by=by)
        if as_json:
            print_json(post_dict(v, post.id))
            return
        out.print(f"post {post.id} will be sent again now")


@posts_app.command("return")
def posts_return(
    post_id: int,
    by: Annotated[str, typer.Option("--by", help="Who sends it back (an approver).")],
    comment: Annotated[
        str, typer.Option(help="What the author should change (required, up to 1000 characters).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Send a post back to draft for its author, with a comment (kept in its review trail)."""
    with open_visibility() as v:
        post = v.return_post(post_id, by=by, comment=comment)
        if as_json:
            print_json(post_dict(v, post.id))
            return
        to = f" to {post.returned_to}" if post.returned_to else " (it has no author to tell)"
        out.print(f"post {post.id} sent back{to}; it is a draft again")


@posts_app.command("resubmit")
def posts_resubmit(
    post_id: int,
    by: Annotated[str, typer.Option("--by", help="Who resubmits it.")],
    comment: Annotated[
        str | None, typer.Option(help="A reply to the approver's comment (optional).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A post sent back is ready for approval again (after editing it)."""
    with open_visibility() as v:
        post = v.resubmit(post_id, by=by, comment=comment)
        if as_json:
            print_json(post_dict(v, post.id))
            return
        out.print(f"post {post.id} waits for approval again")


@posts_app.command("comments")
def posts_comments(post_id: int, as_json: JsonOpt = False) -> None:
    """A post's review trail: sent back with comments, resubmitted, oldest first."""
    with open_visibility() as v:
        comments = v.store.comments(post_id)
        if as_json:
            print_json([c.to_dict() for c in comments])
            return
        if not comments:
            v.store.get_post(post_id)  # no such post: say so, not "no comments"
            out.print(f"post {post_id} has no comments")
            return
        out.print(render.comments_table(comments))

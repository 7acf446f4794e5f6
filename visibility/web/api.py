"""The REST API: the same workflow and store functions as the CLI, behind roles.

Every error answer is a ``Problem`` (visibility.web.errors), documented per operation with
the codes it can return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile, status

from visibility.accounts.roles import Role, parse_role
from visibility.accounts.store import Actor, AuditView, UserView
from visibility.derive.limits import measure
from visibility.errors import InputError, NotFoundError, UserError, ValidationError
from visibility.queue.states import APPROVE, PostStatus
from visibility.queue.views import NewsView, PostView
from visibility.web.api_models import (
    AddedOut,
    ApproveIn,
    ConfirmIn,
    LoginIn,
    Measured,
    MeasureIn,
    NewsIn,
    PostDetail,
    PostEdit,
    PostOut,
    ScheduleIn,
    SessionOut,
    SuggestionOut,
    TokenIn,
    TokenOut,
    UserIn,
)
from visibility.web.deps import ADMIN, APPROVER, EDITOR, app_of
from visibility.web.errors import problems
from visibility.web.grant_words import Checker
from visibility.web.i18n import request_language, translator
from visibility.web.limits import BoundedRoute, over_limit, too_large
from visibility.web.sessions import csrf_token, sign_in, sign_out
from visibility.workflow import Added, Visibility

router = APIRouter(prefix="/api/v1", tags=["api"], route_class=BoundedRoute)

App = Annotated[Visibility, Depends(app_of)]
Editor = Annotated[Actor, Depends(EDITOR)]
Approver = Annotated[Actor, Depends(APPROVER)]
Admin = Annotated[Actor, Depends(ADMIN)]
# Ids the database can hold: a larger number is a 422, not an overflow deep inside.
_MAX_ID = 2_147_483_647
PostId = Annotated[int, Path(ge=1, le=_MAX_ID)]
NewsId = Annotated[int, Path(ge=1, le=_MAX_ID)]

# The error answers each kind of operation can give, for the OpenAPI schema.
_SIGNED_IN = (401, 403)
_BODY = (400, 413, 422)
READ = problems(*_SIGNED_IN)
READ_QUERY = problems(*_SIGNED_IN, 422)
READ_ONE = problems(*_SIGNED_IN, 404, 422)
WRITE = problems(*_SIGNED_IN, *_BODY)
WRITE_NEWS = problems(*_SIGNED_IN, *_BODY)
MOVE = problems(*_SIGNED_IN, 400, 404, 409, 422)
MOVE_WITH_BODY = problems(*_SIGNED_IN, *_BODY, 404, 409)


def posts_out(request: Request, app: Visibility, posts: Sequence[PostView]) -> list[PostOut]:
    """Posts with their compliance, said in the request's language."""
    found = Checker(app, translator(request_language(request))).outs(posts)
    return [PostOut.of(p, found[p.id]) for p in posts]


def post_out(request: Request, app: Visibility, post: PostView) -> PostOut:
    return posts_out(request, app, [post])[0]


def _added(request: Request, app: Visibility, result: Added) -> AddedOut:
    return AddedOut(
        news_item=result.news,
        created=result.created,
        posts=posts_out(request, app, result.posts),
        suggested=[SuggestionOut(s.grant, s.phrase) for s in result.suggested],
    )


def known_grants(request: Request, app: Visibility, names: Sequence[str]) -> list[str]:
    """The names, each a grant's, or an ``InputError`` naming the first that is not."""
    known = {g.name for g in app.store.grants()}
    for name in names:
        if name.strip() not in known:
            _ = translator(request_language(request))
            raise InputError(
                _(
                    "There is no grant with this name: choose one of {names}.",
                    names=", ".join(sorted(known)) or "-",
                )
            )
    return [n.strip() for n in names]


def _audit(
    app: Visibility, actor: Actor, action: str, target: str | None, detail: str | None = None
) -> None:
    app.accounts.audit(actor.label, action, target, detail)


# -- session -----------------------------------------------------------------


@router.post("/login", response_model=SessionOut, responses=problems(401, *_BODY, 429))
def login(request: Request, credentials: LoginIn) -> Any:
    """Sign in; the session cookie is set, and unsafe requests then need the CSRF token."""
    actor = sign_in(request, credentials.username, credentials.password)
    return SessionOut(actor.username, actor.display_name, actor.role.value, csrf_token(request))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request) -> None:
    sign_out(request)


@router.get("/me", response_model=SessionOut, responses=READ)
def me(request: Request, actor: Editor) -> Any:
    return SessionOut(actor.username, actor.display_name, actor.role.value, csrf_token(request))


# -- news ------------------------------------------------------------------


@router.get("/news", response_model=list[NewsView], responses=READ_QUERY)
def list_news(app: App, _: Editor, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Any:
    return app.store.list_news(limit=limit)


@router.post(
    "/news", response_model=AddedOut, status_code=status.HTTP_201_CREATED, responses=WRITE_NEWS
)
def add_news(request: Request, app: App, actor: Editor, item: NewsIn) -> Any:
    if over_limit(request, item.text):
        raise too_large(request)
    result = app.add_news_text(
        item.text,
        source=f"api:{actor.username}",
        fmt=item.format,
        language=item.language,
        canonical_url=item.canonical_url,
        author=actor.username,
        grants=known_grants(request, app, item.grants),
    )
    _audit(app, actor, "news.add", f"news {result.news.id}", result.news.title)
    return _added(request, app, result)


@router.post(
    "/news/upload",
    response_model=AddedOut,
    status_code=status.HTTP_201_CREATED,
    responses=WRITE_NEWS,
)
async def upload_news(
    request: Request,
    app: App,
    actor: Editor,
    file: Annotated[UploadFile, File(description="A .txt, .md or .html file.")],
    language: Annotated[str | None, Form(pattern=r"^[a-zA-Z]{2}$")] = None,
) -> Any:
    data = await file.read(app.settings.max_news_bytes + 1)
    if over_limit(request, data):
        raise too_large(request)
    result = app.add_news_bytes(
        data, source=file.filename or "upload", language=language, author=actor.username
    )
    _audit(app, actor, "news.upload", f"news {result.news.id}", result.news.title)
    return _added(request, app, result)


@router.get("/news/{news_id}", response_model=NewsView, responses=READ_ONE)
def show_news(app: App, _: Editor, news_id: NewsId) -> Any:
    return app.store.get_news(news_id)


# -- posts -----------------------------------------------------------------


@router.get("/posts", response_model=list[PostOut], responses=READ_ONE)
def list_posts(
    request: Request,
    app: App,
    reader: Editor,
    status_: Annotated[list[PostStatus] | None, Query(alias="status")] = None,
    channel: Annotated[str | None, Query(max_length=100)] = None,
    news_item_id: Annotated[int | None, Query(ge=1, le=_MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Any:
    if channel is not None and channel not in {c.name for c in app.config.channels}:
        _ = translator(request_language(request))
        raise NotFoundError(_("No such channel: GET /api/v1/channels lists them."))
    posts = app.store.list_posts(
        status=status_ or (), channel=channel, news_item_id=news_item_id, limit=limit
    )
    return posts_out(request, app, posts)


@router.get("/posts/{post_id}", response_model=PostDetail, responses=READ_ONE)
def show_post(request: Request, app: App, _: Editor, post_id: PostId) -> Any:
    post = app.store.get_post(post_id)
    return PostDetail(
        post=post_out(request, app, post),
        waiting=app.waiting_reason(post),
        attempts=app.store.attempts(post_id),
        engagement=app.store.snapshots([post_id])[post_id],
    )


@router.patch("/posts/{post_id}", response_model=PostOut, responses=MOVE_WITH_BODY)
def edit_post(request: Request, app: App, actor: Editor, post_id: PostId, change: PostEdit) -> Any:
    if change.body is None and change.title is None and change.excerpt is None:
        _ = translator(request_language(request))
        raise UserError(_("Nothing to change: send body, title or excerpt."))
    post = app.edit(
        post_id, body=change.body, title=change.title, excerpt=change.excerpt, by=actor.username
    )
    _audit(app, actor, "post.edit", f"post {post_id}")
    return post_out(request, app, post)


@router.post("/posts/{post_id}/approve", response_model=PostOut, responses=MOVE_WITH_BODY)
def approve_post(
    request: Request, app: App, actor: Approver, post_id: PostId, body: ApproveIn | None = None
) -> Any:
    """Approve; with ``override_reason`` although an element its grants require is missing."""
    reason = None if body is None else body.override_reason
    _ = translator(request_language(request))
    post = app.store.get_post(post_id)
    if reason is not None and not reason.strip():
        raise InputError(_("Say why the post may go without what is missing."))
    if APPROVE.allowed_from(post.status):
        compliance = app.compliance(post)
        if compliance.missing and reason is None:
            how = _("Add it, or approve with a reason for the exception (override_reason).")
            raise ValidationError(Checker(app, _).refusal(post, compliance, how))
        if reason is not None and not compliance.missing:
            raise UserError(
                _("This post carries everything its grants require: approve it without a reason.")
            )
    post = app.approve(post_id, by=actor.username, override=reason)
    _audit(app, actor, "post.approve", f"post {post_id}", reason and f"exception: {reason}")
    return post_out(request, app, post)


@router.post("/posts/{post_id}/schedule", response_model=PostOut, responses=MOVE_WITH_BODY)
def schedule_post(
    request: Request, app: App, actor: Approver, post_id: PostId, when: ScheduleIn
) -> Any:
    post = app.schedule(post_id, at=when.at, mode=when.mode)
    _audit(app, actor, "post.schedule", f"post {post_id}", str(post.scheduled_at))
    return post_out(request, app, post)


@router.post("/posts/{post_id}/cancel", response_model=PostOut, responses=MOVE)
def cancel_post(request: Request, app: App, actor: Approver, post_id: PostId) -> Any:
    post = app.cancel(post_id)
    _audit(app, actor, "post.cancel", f"post {post_id}")
    return post_out(request, app, post)


@router.post("/posts/{post_id}/retry", response_model=PostOut, responses=MOVE)
def retry_post(request: Request, app: App, actor: Approver, post_id: PostId) -> Any:
    post = app.retry(post_id)
    _audit(app, actor, "post.retry", f"post {post_id}")
    return post_out(request, app, post)


@router.post("/posts/{post_id}/confirm", response_model=PostOut, responses=MOVE_WITH_BODY)
def confirm_post(
    request: Request, app: App, actor: Approver, post_id: PostId, found: ConfirmIn
) -> Any:
    post = app.confirm(post_id, url=found.url, by=actor.username, external_id=found.external_id)
    _audit(app, actor, "post.confirm", f"post {post_id}", found.url)
    return post_out(request, app, post)


@router.post("/posts/{post_id}/resend", response_model=PostOut, responses=MOVE)
def resend_post(request: Request, app: App, actor: Approver, post_id: PostId) -> Any:
    post = app.resend(post_id, by=actor.username)
    _audit(app, actor, "post.resend", f"post {post_id}")
    return post_out(request, app, post)


@router.post("/measure", response_model=Measured, responses=WRITE)
def measure_text(_: Editor, text: MeasureIn) -> Any:
    """Weighted length as the channel counts it (X: URLs 23, emoji 2), for live counters."""
    m = measure(text.kind, text.body)
    return Measured(m.length, m.limit or None, m.unit, not m.limit or m.length <= m.limit)


# -- channels, status, audit -----------------------------------------------


@router.get("/channels", responses=READ)
def list_channels(app: App, _: Editor) -> list[dict[str, Any]]:
    from visibility.cli.render import channel_dict

    accounts = {a.name: a for a in app.store.channel_accounts()}
    return [channel_dict(c, accounts.get(c.name)) for c in app.config.channels]


@router.post("/channels/check", responses=problems(*_SIGNED_IN, 400))
def check_channels(app: App, actor: Admin) -> list[dict[str, object]]:
    results = app.check_channels()
    _audit(app, actor, "channels.check", None, ", ".join(f"{r.channel}={r.ok}" for r in results))
    return [r.to_dict() for r in results]


@router.get("/status", responses=READ)
def service_status(app: App, _: Editor) -> dict[str, object]:
    return app.status()


@router.get("/audit", response_model=list[AuditView], responses=READ_QUERY)
def audit_log(app: App, _: Admin, limit: Annotated[int, Query(ge=1, le=5000)] = 200) -> Any:
    return app.accounts.audit_log(limit=limit)


# -- users and tokens ------------------------------------------------------


@router.get("/users", response_model=list[UserView], responses=READ)
def list_users(app: App, _: Admin) -> Any:
    return app.accounts.users()


@router.post(
    "/users", response_model=UserView, status_code=status.HTTP_201_CREATED, responses=WRITE
)
def add_user(app: App, actor: Admin, user: UserIn) -> Any:
    created = app.accounts.add_user(
        user.username,
        password=user.password,
        role=parse_role(user.role),
        display_name=user.display_name,
    )
    _audit(app, actor, "user.add", f"user {created.username}", created.role.value)
    return created


@router.post(
    "/tokens",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    responses=problems(*_SIGNED_IN, *_BODY, 409),
)
def create_token(request: Request, app: App, actor: Editor, token: TokenIn) -> Any:
    """A token for the signed-in user, with a role no higher than theirs (shown once)."""
    role = Role(token.role)
    if not actor.role.allows(role):
        _ = translator(request_language(request))
        raise UserError(
            _("A token cannot have more rights than you: you are {role}.", role=_(actor.role.value))
        )
    value = app.accounts.create_token(actor.username, name=token.name, role=role)
    _audit(app, actor, "token.create", f"token {token.name}", role.value)
    return TokenOut(name=token.name, role=role.value, token=value)


@router.delete("/tokens/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=READ_ONE)
def revoke_token(
    app: App, actor: Editor, name: Annotated[str, Path(min_length=1, max_length=100)]
) -> None:
    app.accounts.revoke_token(actor.username, name)
    _audit(app, actor, "token.revoke", f"token {name}")


__all__ = ["router"]

"""News items: the list, adding one (pasted or uploaded), and one item with its posts."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile

from visibility.errors import NotFoundError, UserError
from visibility.i18n import Translate, language_name
from visibility.news.model import SourceFormat
from visibility.queue.views import PostView
from visibility.web.limits import limit_message, over_limit, too_large
from visibility.web.pages.cards import badges, card
from visibility.web.pages.common import (
    App,
    Editor,
    Id,
    PageRoute,
    audit,
    flash,
    language_of,
    render,
    see_other,
    translate_for,
)
from visibility.workflow import Added, Visibility

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FORMATS: dict[str, SourceFormat | None] = {
    "text": "text",
    "markdown": "markdown",
    "html": "html",
    "auto": None,
}
_URL = re.compile(r"^https?://\S+$")


@router.get("/")
def home(_: Editor) -> Response:
    return see_other("/news")


@router.get("/news")
def news_list(request: Request, app: App, actor: Editor) -> Response:
    items = app.store.list_news(limit=200)
    by_item: dict[int, list[PostView]] = defaultdict(list)
    if items:
        for post in app.store.list_posts(limit=5000):
            by_item[post.news_item_id].append(post)
    return render(request, "news_list.html", actor=actor, nav="news", items=items, posts=by_item)


def _running(app: Visibility) -> list[str]:
    """Grants running today: the ones an item is likely to be under."""
    from visibility.web.api_grants import today

    day = today(app)
    return [g.name for g in app.store.grants() if g.active_on(day)]


def _grant_names(request: Request, app: Visibility, names: list[str] | None) -> list[str]:
    from visibility.web.api import known_grants

    return known_grants(request, app, [n for n in names or [] if n.strip()])


@router.get("/news/new")
def news_new(request: Request, app: App, actor: Editor) -> Response:
    return render(
        request,
        "news_new.html",
        actor=actor,
        nav="add",
        formats=list(FORMATS),
        error=None,
        text="",
        chosen_format="text",
        language="",
        canonical_url="",
        grants=_running(app),
        chosen_grants=[],
    )


def _added(request: Request, result: Added) -> Response:
    _ = translate_for(request)
    if result.created:
        flash(
            request,
            "ok",
            _("News item added: {count} posts were derived.", count=len(result.posts)),
        )
    else:
        flash(request, "info", _("This news item was here already; it is shown below."))
    return see_other(f"/news/{result.news.id}")


@router.post("/news")
def news_add(
    request: Request,
    app: App,
    actor: Editor,
    # No max_length: the limit is VISIBILITY_MAX_NEWS_BYTES, measured below as the API does.
    text: Annotated[str, Form()] = "",
    format: Annotated[str, Form(max_length=20)] = "text",
    language: Annotated[str, Form(max_length=10)] = "",
    canonical_url: Annotated[str, Form(max_length=2000)] = "",
    grants: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    _ = translate_for(request)
    url = canonical_url.strip() or None
    text = text.replace("\r\n", "\n")  # browsers send CRLF; the limit is on what is kept

    def form_again(status_code: int, error: str) -> Response:
        # Shown with the form as it was sent: a long paste is not lost.
        return render(
            request,
            "news_new.html",
            actor=actor,
            nav="add",
            formats=list(FORMATS),
            status_code=status_code,
            error=error,
            text=text,
            chosen_format=format,
            language=language,
            canonical_url=canonical_url,
            grants=_running(app),
            chosen_grants=grants or [],
        )

    if over_limit(request, text):
        return form_again(413, limit_message(request))
    try:
        if not text.strip():
            raise UserError(_("Paste the news item's text first."))
        if format not in FORMATS:
            raise UserError(_("Choose the format: text, markdown, html or automatic."))
        if url is not None and not _URL.match(url):
            raise UserError(_("The original address must start with http:// or https://."))
        result = app.add_news_text(
            text,
            source=f"web:{actor.username}",
            fmt=FORMATS[format],
            language=language.strip() or None,
            canonical_url=url,
            author=actor.username,
            grants=_grant_names(request, app, grants),
        )
    except UserError as exc:
        return form_again(422, str(exc))
    audit(app, actor, "news.add", f"news {result.news.id}", result.news.title)
    return _added(request, result)


@router.post("/news/upload")
async def news_upload(
    request: Request,
    app: App,
    actor: Editor,
    file: Annotated[UploadFile, File()],
    language: Annotated[str, Form(max_length=10)] = "",
    grants: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    _ = translate_for(request)
    data = await file.read(app.settings.max_news_bytes + 1)
    if over_limit(request, data):
        raise too_large(request)
    if not data:
        raise UserError(_("The file is empty: choose another one."))
    result = app.add_news_bytes(
        data,
        source=file.filename or "upload",
        language=language.strip() or None,
        author=actor.username,
        grants=_grant_names(request, app, grants),
    )
    audit(app, actor, "news.upload", f"news {result.news.id}", result.news.title)
    return _added(request, result)


@router.get("/news/{news_id}")
def news_item(request: Request, app: App, actor: Editor, news_id: Id) -> Response:
    news = app.store.get_news(news_id)
    posts = app.store.list_posts(news_item_id=news_id)
    found = badges(app, posts, translate_for(request))
    cards = [card(app, p, actor, slots=4, badge=found.get(p.id)) for p in posts]
    under = app.grants_of(news_id)
    running = set(_running(app))
    every = app.store.grants()
    others = [g for g in every if g.name not in {u.name for u in under}]
    others.sort(key=lambda g: g.name not in running)  # running ones first
    return render(
        request,
        "news_item.html",
        actor=actor,
        nav="news",
        news=news,
        cards=cards,
        under=under,
        other_grants=others,
        running=running,
        suggestions=app.suggest_grants(news),
        donors={g.name: g.donor_name for g in every},
        source=source_words(app, news.source, translate_for(request)),
        language_name=language_name(news.language, language_of(request)),
    )


def source_words(app: Visibility, source: str, _: Translate) -> str:
    """Where a news item came from, as staff say it (not ``web:drita``)."""
    kind, _sep, who = source.partition(":")
    if kind in ("web", "api") and who and "/" not in who:
        try:
            name = app.accounts.get_user(who).display_name
        except NotFoundError:
            name = who
        if kind == "web":
            return _("Added by {name} on the web", name=name)
        return _("Added by {name} through the API", name=name)
    if source in ("<stdin>", "<text>"):
        return _("Added on the command line")
    if source.startswith(("http://", "https://")):
        return _("From {address}", address=source)
    return _("From the file {name}", name=source.replace("\\", "/").rsplit("/", 1)[-1])

"""The queue of posts with their reasons, and the approval inbox."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request, Response

from visibility.errors import UserError
from visibility.queue.states import PostStatus
from visibility.queue.views import NewsView, PostView
from visibility.web.pages.cards import PostCard, badges, card
from visibility.web.pages.common import App, Editor, PageRoute, render, translate_for
from visibility.workflow import Visibility

router = APIRouter(route_class=PageRoute, include_in_schema=False)

#: A filter of its own: everything a person has to look at.
ATTENTION = "attention"
_ATTENTION_STATUSES = (PostStatus.FAILED, PostStatus.IN_DOUBT)


def _titles(app: Visibility, posts: list[PostView]) -> dict[int, NewsView]:
    return {i: app.store.get_news(i) for i in sorted({p.news_item_id for p in posts})}


@router.get("/queue")
def queue(
    request: Request, app: App, actor: Editor, status: str = "", channel: str = ""
) -> Response:
    _ = translate_for(request)
    if status == ATTENTION:
        wanted: tuple[PostStatus, ...] = _ATTENTION_STATUSES
    elif status:
        try:
            wanted = (PostStatus(status),)
        except ValueError:
            raise UserError(
                _("Unknown status {status}: choose one from the list.", status=status)
            ) from None
    else:
        wanted = ()
    if channel:
        app.config.channel(channel)  # an unknown name is explained, not ignored
    posts = app.store.list_posts(status=wanted, channel=channel or None, limit=500)
    posts.sort(key=lambda p: (p.status not in _ATTENTION_STATUSES, -p.id))
    found = badges(app, posts, _)
    cards: list[PostCard] = [card(app, p, actor, badge=found.get(p.id)) for p in posts]
    counts = app.store.count_by_status()
    return render(
        request,
        "queue.html",
        actor=actor,
        nav="queue",
        cards=cards,
        news=_titles(app, posts),
        statuses=[s.value for s in PostStatus],
        counts={s.value: counts.get(s, 0) for s in PostStatus},
        attention_count=sum(counts.get(s, 0) for s in _ATTENTION_STATUSES),
        status=status,
        channel=channel,
        channels=[c.name for c in app.config.channels],
        held=app.store.attention(),
    )


@router.get("/inbox")
def inbox(request: Request, app: App, actor: Editor) -> Response:
    drafts = app.store.list_posts(status=[PostStatus.DRAFT], limit=1000)
    found = badges(app, drafts, translate_for(request))
    grouped: dict[int, list[PostCard]] = defaultdict(list)
    for post in drafts:
        grouped[post.news_item_id].append(card(app, post, actor, badge=found.get(post.id)))
    return render(
        request,
        "inbox.html",
        actor=actor,
        nav="inbox",
        groups=sorted(grouped.items(), reverse=True),
        news=_titles(app, drafts),
    )

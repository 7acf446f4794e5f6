"""The REST API for grants (issue 14): the grants and their donors' visibility rules, which
news items are under which grant (with suggestions from the item's own words), and a
grant's visibility dossier as JSON, HTML or PDF.

Anyone signed in reads; editors put items under grants; admins edit and add grants,
checked by the same rules as the channels file's ``[[grants]]`` entries and written to
the audit log. Posts carry their compliance in the posts' own answers (``web.api``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from visibility.accounts.store import Actor
from visibility.errors import InputError, NotFoundError
from visibility.grants.model import Grant
from visibility.queue.types import utcnow
from visibility.web.api import Admin, App, Editor, NewsId, known_grants
from visibility.web.api_models import GrantName, SuggestionOut
from visibility.web.errors import problems
from visibility.web.grant_input import FIRST_YEAR, LAST_YEAR, GrantEdit, GrantNew, created, edited
from visibility.web.i18n import Translate, request_language, translator
from visibility.web.limits import BoundedRoute
from visibility.workflow import Visibility

router = APIRouter(prefix="/api/v1", tags=["grants"], route_class=BoundedRoute)

Name = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", max_length=63)]

_SIGNED_IN = (401, 403)
READ = problems(*_SIGNED_IN)
READ_ONE = problems(*_SIGNED_IN, 404, 422)
CHANGE = problems(*_SIGNED_IN, 400, 404, 413, 422)
ADD = problems(*_SIGNED_IN, 400, 409, 413, 422)
_BINARY = {"schema": {"type": "string", "format": "binary"}}
DOSSIER: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": _BINARY,
        },
        "description": "The dossier, as asked for; HTML to read in the browser, PDF to download.",
    },
    **READ_ONE,
}
EMBLEM: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {m: _BINARY for m in ("image/png", "image/jpeg", "image/gif", "image/webp")},
        "description": "The donor's emblem, as the grant's posts carry it.",
    },
    **READ_ONE,
}


@dataclass(frozen=True)
class TextsOut:
    statement: str | None
    disclaimer: str | None
    emblem_alt: str | None


@dataclass(frozen=True)
class GrantOut:
    name: str
    donor: str
    donor_name: str
    title: str
    contract: str | None
    starts_on: date
    ends_on: date
    running: bool  # today, in the organisation's timezone
    source: Literal["file", "web"]
    has_emblem: bool
    texts: dict[str, TextsOut]
    mentions: dict[str, list[str]]
    hashtags: dict[str, list[str]]
    require: dict[str, list[list[str]]]
    recognise: list[str]
    news_items: int


@dataclass(frozen=True)
class NewsGrantsOut:
    news_item_id: int
    grants: list[GrantOut]
    suggested: list[SuggestionOut]


class NewsGrantsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    names: list[GrantName] = Field(min_length=1, max_length=20, examples=[["eu-2025"]])


def today(app: Visibility) -> date:
    from zoneinfo import ZoneInfo

    return utcnow().astimezone(ZoneInfo(app.config.organisation.timezone)).date()


def grant_out(app: Visibility, grant: Grant) -> GrantOut:
    return GrantOut(
        name=grant.name,
        donor=grant.donor,
        donor_name=grant.donor_name,
        title=grant.title,
        contract=grant.contract,
        starts_on=grant.starts_on,
        ends_on=grant.ends_on,
        running=grant.active_on(today(app)),
        source=grant.source,
        has_emblem=grant.emblem_sha256 is not None,
        texts={
            tag: TextsOut(t.statement, t.disclaimer, t.emblem_alt) for tag, t in grant.texts.items()
        },
        mentions={k: list(v) for k, v in grant.mentions.items()},
        hashtags={k: list(v) for k, v in grant.hashtags.items()},
        require={k: [list(r) for r in v] for k, v in grant.require.items()},
        recognise=list(grant.recognise),
        news_items=len(app.store.grant_news_ids(grant.name)),
    )


def find_grant(app: Visibility, name: str, _: Translate) -> Grant:
    """The grant, or a ``NotFoundError`` in the reader's language."""
    try:
        return app.store.grant(name)
    except NotFoundError:
        raise NotFoundError(_("There is no such grant: GET /api/v1/grants lists them.")) from None


def news_grants(app: Visibility, news_id: int) -> NewsGrantsOut:
    news = app.store.get_news(news_id)
    return NewsGrantsOut(
        news_item_id=news_id,
        grants=[grant_out(app, g) for g in app.grants_of(news_id)],
        suggested=[SuggestionOut(s.grant, s.phrase) for s in app.suggest_grants(news)],
    )


def _audit(app: Visibility, actor: Actor, action: str, target: str, detail: str | None) -> None:
    app.accounts.audit(actor.label, action, target, detail)


# -- grants ----------------------------------------------------------------------------


@router.get("/grants", response_model=list[GrantOut], responses=READ)
def list_grants(app: App, _: Editor) -> Any:
    """Every grant, the earliest first."""
    return [grant_out(app, g) for g in app.store.grants()]


@router.post("/grants", response_model=GrantOut, status_code=status.HTTP_201_CREATED, responses=ADD)
def add_grant(request: Request, app: App, actor: Admin, new: GrantNew) -> Any:
    """A new grant on its donor's ready-made rules (``eu``), or none (``custom``)."""
    from visibility.errors import ConflictError
    from visibility.grants.config import PRESETS, preset

    _ = translator(request_language(request))
    if new.name in {g.name for g in app.store.grants()}:
        raise ConflictError(_("A grant with this name exists already: choose another name."))
    emblem = None
    emblem_file = preset(new.donor).get("emblem")
    path = PRESETS / str(emblem_file) if emblem_file else None
    if path is not None and path.is_file():
        emblem = app.image_files.add(path.read_bytes(), name=path.name).sha256
    grant = created(new, _, emblem_sha256=emblem)
    saved = app.store.save_grant(grant, by=actor.username, create=True)
    _audit(app, actor, "grant.add", f"grant {saved.name}", saved.title)
    return grant_out(app, saved)


@router.get("/grants/{name}", response_model=GrantOut, responses=READ_ONE)
def show_grant(request: Request, app: App, _: Editor, name: Name) -> Any:
    return grant_out(app, find_grant(app, name, translator(request_language(request))))


def save_edit(
    app: Visibility, actor: Actor, grant: Grant, change: GrantEdit, _: Translate
) -> Grant:
    """An admin's change to a grant, checked, saved and audited (the API and the page)."""
    new = edited(grant, change, _)
    saved = app.store.save_grant(new, by=actor.username)
    fields = sorted(change.model_dump(exclude_unset=True))
    _audit(app, actor, "grant.edit", f"grant {grant.name}", ", ".join(fields) or None)
    return saved


@router.put("/grants/{name}", response_model=GrantOut, responses=CHANGE)
def edit_grant(request: Request, app: App, actor: Admin, name: Name, change: GrantEdit) -> Any:
    """Change a grant; fields left out keep their values. The edit lasts until the
    channels file's entry for the grant changes."""
    _ = translator(request_language(request))
    return grant_out(app, save_edit(app, actor, find_grant(app, name, _), change, _))


@router.get("/grants/{name}/emblem", response_class=Response, responses=EMBLEM)
def grant_emblem(request: Request, app: App, reader: Editor, name: Name) -> Response:
    _ = translator(request_language(request))
    grant = find_grant(app, name, _)
    stored = None if grant.emblem_sha256 is None else app.image_files.find(grant.emblem_sha256)
    if stored is None:
        raise NotFoundError(_("This grant has no emblem file."))
    return Response(
        stored.path.read_bytes(),
        media_type=stored.mime_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )


DossierFormat = Literal["json", "html", "pdf"]


def dossier_response(
    app: Visibility,
    name: str,
    fmt: DossierFormat,
    first: date | None,
    last: date | None,
    _: Translate,
) -> Response:
    """A grant's dossier (its period, or ``first``..``last``), ready to send."""
    from visibility.grants.dossier import build_dossier

    grant = find_grant(app, name, _)
    for day in (first, last):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InputError(
                _(
                    "Choose a date between {first} and {last}.",
                    first=f"{FIRST_YEAR}-01-01",
                    last=f"{LAST_YEAR}-12-31",
                )
            )
    start = first or grant.starts_on
    end = last or max(min(grant.ends_on, today(app)), start)
    if end < start:
        raise InputError(_("The period ends before it starts: swap the two dates."))
    dossier = build_dossier(app, name, first=start.isoformat(), last=end.isoformat())
    filename = f"dossier-{name}-{start.isoformat()}-{end.isoformat()}.{fmt}"
    if fmt == "json":
        body: str | bytes = json.dumps(dossier.to_dict(), ensure_ascii=False, default=str)
        media, disposition = "application/json", "inline"
    elif fmt == "html":
        from visibility.grants.dossier_html import render_dossier_html

        body = render_dossier_html(dossier, pictures=app.image_files)
        media, disposition = "text/html; charset=utf-8", "inline"
    else:
        from visibility.grants.dossier_pdf import render_dossier_pdf

        body = render_dossier_pdf(dossier, pictures=app.image_files)
        media, disposition = "application/pdf", "attachment"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get("/grants/{name}/dossier", response_class=Response, responses=DOSSIER)
def grant_dossier(
    request: Request,
    app: App,
    _: Editor,
    name: Name,
    format: Annotated[DossierFormat, Query()] = "html",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    """The grant's visibility dossier: its period up to today, or ``from``..``to``."""
    return dossier_response(app, name, format, first, last, translator(request_language(request)))


# -- news items under grants -------------------------------------------------------------


@router.get("/news/{news_id}/grants", response_model=NewsGrantsOut, responses=READ_ONE)
def list_news_grants(app: App, _: Editor, news_id: NewsId) -> Any:
    """The item's grants, and grants its words name the donor of (suggestions)."""
    return news_grants(app, news_id)


@router.post(
    "/news/{news_id}/grants",
    response_model=NewsGrantsOut,
    responses=problems(*_SIGNED_IN, 400, 404, 413, 422),
)
def add_news_grants(
    request: Request, app: App, actor: Editor, news_id: NewsId, add: NewsGrantsIn
) -> Any:
    """Put the item under grants: its drafts get what the grants' rules require."""
    app.store.get_news(news_id)
    names = known_grants(request, app, add.names)
    added = app.add_grants(news_id, names, by=actor.username)
    if added:
        _audit(app, actor, "news.grant.add", f"news {news_id}", ", ".join(added))
    return news_grants(app, news_id)


@router.delete("/news/{news_id}/grants/{name}", response_model=NewsGrantsOut, responses=READ_ONE)
def remove_news_grant(
    request: Request, app: App, actor: Editor, news_id: NewsId, name: Name
) -> Any:
    """Take the item out of a grant; its posts keep their text."""
    _ = translator(request_language(request))
    if name not in app.store.news_grant_names([news_id]).get(news_id, []):
        app.store.get_news(news_id)
        raise NotFoundError(_("This news item is not under this grant."))
    app.remove_grant(news_id, name)
    _audit(app, actor, "news.grant.remove", f"news {news_id}", name)
    return news_grants(app, news_id)


__all__ = ["router"]

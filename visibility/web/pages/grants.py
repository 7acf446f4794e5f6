"""Grants on the pages: the list, one grant's rules in words with its texts, emblem and
dossier, the admin's edit form, and putting a news item under a grant (or taking it out).

The edit form is checked by the same rules as the API (``web.grant_input``); a refused
edit comes back with the form as it was sent and each field's problem beside it.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as InPath

from visibility.errors import UserError
from visibility.grants.model import TEXT_LANGUAGES, Grant
from visibility.web.api_grants import DossierFormat, dossier_response, find_grant, save_edit, today
from visibility.web.errors import FieldProblem, field_problems
from visibility.web.grant_input import (
    GrantEdit,
    GrantInputError,
    grant_fields,
    parse_handles,
    parse_rules,
    rules_text,
)
from visibility.web.grant_words import (
    KINDS,
    compliance_rate,
    element_names,
    kind_names,
    languages_named,
    percent_text,
    rules_in_words,
)
from visibility.web.pages.common import (
    Admin,
    App,
    Editor,
    Id,
    PageRoute,
    audit,
    flash,
    render,
    safe_back,
    see_other,
    translate_for,
)
from visibility.workflow import Visibility

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Name = Annotated[str, InPath(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", max_length=63)]
Back = Annotated[str, Form(max_length=2000)]
TEXT_FIELDS = ("statement", "disclaimer", "emblem_alt")


@router.get("/grants")
def grants_list(request: Request, app: App, actor: Editor) -> Response:
    _ = translate_for(request)
    day = today(app)
    rows = [
        {
            "grant": g,
            "running": g.active_on(day),
            "items": len(app.store.grant_news_ids(g.name)),
            "rate": percent_text(compliance_rate(app, g), _),
        }
        for g in app.store.grants()
    ]
    return render(request, "grants.html", actor=actor, nav="grants", rows=rows)


def form_values(grant: Grant) -> dict[str, str]:
    """The edit form's fields, filled from the grant."""
    data = grant_fields(grant)
    values = {
        "title": grant.title,
        "contract": grant.contract or "",
        "donor_name": grant.donor_name,
        "starts_on": grant.starts_on.isoformat(),
        "ends_on": grant.ends_on.isoformat(),
        "recognise": "\n".join(grant.recognise),
    }
    for tag in TEXT_LANGUAGES:
        for field in TEXT_FIELDS:
            values[f"{field}-{tag}"] = data["texts"].get(tag, {}).get(field, "")
    for kind in KINDS:
        values[f"mentions-{kind}"] = " ".join(grant.mentions.get(kind, ()))
        values[f"hashtags-{kind}"] = " ".join(grant.hashtags.get(kind, ()))
        values[f"require-{kind}"] = rules_text(grant.require.get(kind, ()))
    return values


def _change(values: dict[str, str]) -> dict[str, Any]:
    """The form's fields as a ``GrantEdit``'s; a field the form did not send is kept."""
    change: dict[str, Any] = {
        k: values[k] for k in ("title", "contract", "donor_name") if k in values
    }
    for key in ("starts_on", "ends_on"):
        if values.get(key, "").strip():
            change[key] = values[key].strip()
    change["texts"] = {
        tag: {f: values[f"{f}-{tag}"] for f in TEXT_FIELDS if f"{f}-{tag}" in values}
        for tag in TEXT_LANGUAGES
    }
    for key, parse in (("mentions", parse_handles), ("hashtags", parse_handles)):
        change[key] = {k: parse(values[f"{key}-{k}"]) for k in KINDS if f"{key}-{k}" in values}
    change["require"] = {
        k: parse_rules(values[f"require-{k}"]) for k in KINDS if f"require-{k}" in values
    }
    if "recognise" in values:
        change["recognise"] = [p for p in values["recognise"].splitlines() if p.strip()]
    return change


def _page(
    request: Request,
    app: Visibility,
    actor: Any,
    grant: Grant,
    *,
    values: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    status_code: int = 200,
) -> Response:
    _ = translate_for(request)
    tag = "sq" if "sq" in grant.texts else next(iter(grant.texts), "en")
    return render(
        request,
        "grant.html",
        actor=actor,
        nav="grants",
        status_code=status_code,
        grant=grant,
        running=grant.active_on(today(app)),
        rules=rules_in_words(grant, tag, _),
        text_languages=languages_named(_),
        kinds=kind_names(_),
        elements=element_names(_),
        text_fields=TEXT_FIELDS,
        items=app.store.grant_news_ids(grant.name),
        news={n.id: n for n in app.store.list_news(limit=1000)},
        rate=percent_text(compliance_rate(app, grant), _),
        values={**form_values(grant), **(values or {})},
        problems={p.field: p.message for p in problems or []},
        dossier_to=max(min(grant.ends_on, today(app)), grant.starts_on).isoformat(),
    )


@router.get("/grants/{name}")
def grant_page(request: Request, app: App, actor: Editor, name: Name) -> Response:
    return _page(request, app, actor, find_grant(app, name, translate_for(request)))


@router.post("/grants/{name}")
async def grant_edit(request: Request, app: App, actor: Admin, name: Name) -> Response:
    _ = translate_for(request)
    grant = find_grant(app, name, _)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        try:
            change = GrantEdit.model_validate(_change(values))
        except pydantic.ValidationError as exc:
            raise GrantInputError(field_problems(exc.errors(), _)) from None
        save_edit(app, actor, grant, change, _)
    except GrantInputError as exc:
        flash(request, "error", _("The grant was not saved: check the fields marked below."))
        return _page(
            request, app, actor, grant, values=values, problems=exc.problems, status_code=422
        )
    flash(request, "ok", _("Grant {name} saved.", name=name))
    return see_other(f"/grants/{name}")


@router.get("/grants/{name}/dossier")
def grant_dossier(
    request: Request,
    app: App,
    _: Editor,
    name: Name,
    format: Annotated[DossierFormat, Query()] = "html",
    first: Annotated[date | None, Query(alias="from")] = None,
    last: Annotated[date | None, Query(alias="to")] = None,
) -> Response:
    return dossier_response(app, name, format, first, last, translate_for(request))


# -- a news item's grants ----------------------------------------------------------------


@router.post("/news/{news_id}/grants")
def news_grant_add(
    request: Request,
    app: App,
    actor: Editor,
    news_id: Id,
    grant: Annotated[str, Form(max_length=63)] = "",
    back: Back = "",
) -> Response:
    _ = translate_for(request)
    if not grant.strip():
        raise UserError(_("Choose a grant first."))
    find_grant(app, grant.strip(), _)
    app.store.get_news(news_id)
    added = app.add_grants(news_id, [grant.strip()], by=actor.username)
    if added:
        audit(app, actor, "news.grant.add", f"news {news_id}", ", ".join(added))
        flash(
            request,
            "ok",
            _(
                "The news item is under grant {name}: its drafts now carry what it requires.",
                name=grant,
            ),
        )
    else:
        flash(request, "info", _("The news item is under grant {name} already.", name=grant))
    return see_other(safe_back(back, f"/news/{news_id}") + "#grants")


@router.post("/news/{news_id}/grants/{name}/remove")
def news_grant_remove(
    request: Request, app: App, actor: Editor, news_id: Id, name: Name, back: Back = ""
) -> Response:
    _ = translate_for(request)
    if name not in app.store.news_grant_names([news_id]).get(news_id, []):
        app.store.get_news(news_id)
        raise UserError(_("This news item is not under this grant."))
    app.remove_grant(news_id, name)
    audit(app, actor, "news.grant.remove", f"news {news_id}", name)
    flash(request, "ok", _("The news item is no longer under grant {name}.", name=name))
    return see_other(safe_back(back, f"/news/{news_id}") + "#grants")

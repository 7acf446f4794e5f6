"""Signing in and out, and choosing the pages' language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response

from visibility.web.deps import SESSION_USER, actor_of, app_of
from visibility.web.i18n import LANGUAGES
from visibility.web.pages.common import (
    PageRoute,
    flash,
    render,
    safe_back,
    see_other,
    translate_for,
)
from visibility.web.security import csrf_matches
from visibility.web.sessions import sign_in, sign_out

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _csrf_ok(request: Request, given: str) -> bool:
    expected = request.session.get("csrf")
    return csrf_matches(expected if isinstance(expected, str) else None, given)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    actor = actor_of(request)
    if actor is not None:
        return see_other(safe_back(next))
    return render(request, "sign_in.html", actor=None, next=safe_back(next), username="")


@router.post("/sign-in")
def sign_in_form(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    _ = translate_for(request)
    target = safe_back(next)

    def again(message: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        return render(
            request,
            "sign_in.html",
            actor=None,
            status_code=status_code,
            headers=headers,
            next=target,
            username=username,
            error=message,
        )

    if not _csrf_ok(request, csrf_token):
        return again(_("The sign-in form had expired; please try again."), 403)
    if not username.strip() or not password:
        return again(_("Enter your user name and password."), 422)
    language = request.session.get("lang")
    try:
        actor = sign_in(request, username, password)
    except HTTPException as exc:
        if exc.status_code == 429:
            seconds = (exc.headers or {}).get("Retry-After", "60")
            return again(
                _("Too many failed sign-ins. Try again in {seconds} seconds.", seconds=seconds),
                429,
                {"Retry-After": seconds},
            )
        return again(_("Wrong user name or password."), exc.status_code)
    # Signing in starts a fresh session: the language the person chose before
    # (remembered with them), else the one chosen on the sign-in page.
    if actor.language in LANGUAGES:
        request.session["lang"] = actor.language
    elif language in LANGUAGES:
        request.session["lang"] = language
        app_of(request).accounts.set_language(actor.username, str(language))
    _ = translate_for(request)
    flash(request, "ok", _("Signed in as {name}.", name=actor.display_name))
    return see_other(target)


@router.post("/sign-out")
def sign_out_form(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    _ = translate_for(request)
    if not _csrf_ok(request, csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")
    language = request.session.get("lang")
    sign_out(request)
    if language in LANGUAGES:
        request.session["lang"] = language
    flash(request, "ok", _("You are signed out."))
    return see_other("/sign-in")


@router.post("/language")
def choose_language(
    request: Request,
    lang: Annotated[str, Form(max_length=10)] = "en",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    # Changing the language is harmless, but still only from our own pages.
    if _csrf_ok(request, csrf_token) and lang in LANGUAGES:
        request.session["lang"] = lang
        user = request.session.get(SESSION_USER)
        if isinstance(user, str):
            app_of(request).accounts.set_language(user, lang)  # remembered for next time
    return see_other(safe_back(back))

"""What every page shares: templates, the person signed in, messages, and errors shown as pages.

Pages use the same dependencies as the REST API (``deps.require``: session,
role and CSRF token), so a rule is checked in one place. ``PageRoute`` turns
what the API answers as JSON into what a browser needs: a sign-in redirect for
401, an error page for 403/404, and for a refused action (a ``UserError``
such as "the tweet is 312 weighted characters") a message on the page the
form came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
import nh3
from fastapi import Depends, HTTPException, Request, Response
from fastapi import Path as InPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from visibility.accounts.roles import Role
from visibility.accounts.store import Actor
from visibility.derive import LINK_PLACEHOLDER
from visibility.errors import UserError
from visibility.i18n import DEFAULT_LANGUAGE, format_number, format_time
from visibility.web.deps import ADMIN, APPROVER, EDITOR, actor_of, app_of
from visibility.web.errors import field_problems, status_of, summary
from visibility.web.i18n import LANGUAGES, Translate, pick_language, translator
from visibility.web.limits import BoundedRoute
from visibility.web.sessions import csrf_token
from visibility.workflow import Visibility

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SIGN_IN = "/sign-in"

App = Annotated[Visibility, Depends(app_of)]
#: A record id in a URL, bounded like the API's: no database is asked about a number it cannot hold.
Id = Annotated[int, InPath(ge=1, le=2_147_483_647)]
Editor = Annotated[Actor, Depends(EDITOR)]
Approver = Annotated[Actor, Depends(APPROVER)]
Admin = Annotated[Actor, Depends(ADMIN)]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name ends with
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


ENV = _environment()


# -- turning post text into safe HTML -------------------------------------------

_SOCIAL_TOKENS = re.compile(
    r"(?P<link>" + re.escape(LINK_PLACEHOLDER) + r")"
    r"|(?P<url>https?://[^\s<>\"']+)"
    r"|(?P<tag>(?<![\w&#])#\w+)"
)


def social_html(text: str, link_label: str) -> Markup:
    """A social post as it will read: text kept as text, ``{link}`` a chip, tags and URLs marked."""
    parts: list[Markup] = []
    last = 0
    for match in _SOCIAL_TOKENS.finditer(text):
        parts.append(escape(text[last : match.start()]))
        if match["link"]:
            parts.append(
                Markup('<span class="chip" title="{}">{}</span>').format(
                    LINK_PLACEHOLDER, link_label
                )
            )
        elif match["url"]:
            parts.append(Markup('<span class="url">{}</span>').format(match["url"]))
        else:
            parts.append(Markup('<span class="tag">{}</span>').format(match["tag"]))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


def website_html(body: str) -> Markup:
    """An article body: sanitised when parsed, cleaned again here since staff may have edited it."""
    return Markup(nh3.clean(body))  # noqa: S704 - nh3 has just removed anything unsafe


# -- requests -------------------------------------------------------------------


def language_of(request: Request) -> str:
    return pick_language(request.session.get("lang"), request.headers.get("accept-language"))


def translate_for(request: Request) -> Translate:
    return translator(language_of(request))


def flash(request: Request, kind: str, text: str) -> None:
    """A message for the next page this session sees (after a redirect)."""
    # The session lives in a cookie, which browsers drop past 4 KB: keep messages short.
    waiting = list(request.session.get("flash") or [])
    waiting.append([kind, text if len(text) <= 600 else text[:599] + "…"])
    request.session["flash"] = waiting[-3:]


def _take_flashes(request: Request) -> list[tuple[str, str]]:
    waiting = request.session.pop("flash", None) or []
    return [(str(k), str(t)) for k, t in waiting if isinstance(k, str)]


def safe_back(value: object, default: str = "/") -> str:
    """A path on this site to return to; anything else (another host, ``//x``) is refused."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 32 for ch in value):
        return default
    split = urlsplit(value)
    if split.scheme or split.netloc:
        return default
    return value


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def audit(
    app: Visibility, actor: Actor, action: str, target: str | None, detail: str | None = None
) -> None:
    app.accounts.audit(actor.label, action, target, detail)


class Clock:
    """Instants shown as wall time in the organisation's timezone, written the way the
    reader's language writes dates (``3 dhj 2026, 15:05``); ``fmt`` for the forms'
    machine formats."""

    def __init__(self, timezone: str, language: str = DEFAULT_LANGUAGE) -> None:
        self.tz = ZoneInfo(timezone)
        self.language = language

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)

    def __call__(self, instant: datetime | None, fmt: str | None = None) -> str:
        if instant is None:
            return ""
        if fmt is None:
            return format_time(instant, self.language, self.tz)
        return self.local(instant).strftime(fmt)


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    app = app_of(request)
    language = language_of(request)
    _ = translator(language)
    page = ENV.get_template(template).render(
        request=request,
        actor=actor,
        _=_,
        lang=language,
        languages=LANGUAGES,
        csrf=csrf_token(request),
        flashes=_take_flashes(request),
        here=here(request),
        organisation=app.config.organisation.name,
        org_timezone=app.config.organisation.timezone,
        when=Clock(app.config.organisation.timezone, language),
        number=lambda value: "" if value is None else format_number(value, language),
        can=(lambda role: actor is not None and actor.role.allows(role)),
        Role=Role,
        social_html=social_html,
        website_html=website_html,
        **context,
    )
    # The security headers (CSP and the rest) come from security.SecurityHeadersMiddleware.
    return HTMLResponse(page, status_code=status_code, headers=headers)


# -- errors as pages --------------------------------------------------------------


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    _ = translate_for(request)
    titles = {
        400: _("That did not work"),
        403: _("Not allowed"),
        404: _("Not found"),
        409: _("That did not work"),
        413: _("That is too large"),
        422: _("Please check what you entered"),
    }
    try:
        actor = actor_of(request)
    except HTTPException:
        actor = None
    return render(
        request,
        "error.html",
        actor=actor,
        status_code=status_code,
        title=titles.get(status_code, _("Something went wrong")),
        message=message,
    )


def _explain_http(request: Request, exc: StarletteHTTPException) -> str:
    _ = translate_for(request)
    detail = str(exc.detail)
    if "CSRF" in detail:
        return _(
            "This form has expired or did not come from this site. Go back, reload the page "
            "and try again."
        )
    if exc.status_code == 403 and "needs the" in detail:
        return _("Your role does not allow this.") + " " + detail
    return detail


def _form_problems(request: Request, exc: RequestValidationError) -> str:
    """Field and what to do, as the API says it: never the value that was sent."""
    return summary(field_problems(exc.errors(), translate_for(request)))


async def _back_of(request: Request) -> str:
    try:
        form = await request.form()
    except Exception:  # not a form: nothing to go back to
        return "/"
    referer = request.headers.get("referer")
    default = urlsplit(referer).path if referer else "/"
    return safe_back(form.get("back"), safe_back(default))


def _sign_in_redirect(target: str) -> RedirectResponse:
    return see_other(f"{SIGN_IN}?next={quote(target, safe='/?=&')}")


class PageRoute(BoundedRoute):
    """A route whose errors come back as pages, not JSON; bodies bounded as the API's."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            # Starlette's own (a form it cannot parse), not only FastAPI's.
            except StarletteHTTPException as exc:
                if exc.status_code == 401:
                    target = here(request) if request.method == "GET" else await _back_of(request)
                    return _sign_in_redirect(target)
                return error_page(request, exc.status_code, _explain_http(request, exc))
            except RequestValidationError as exc:
                return error_page(request, 422, _form_problems(request, exc))
            except UserError as exc:
                if request.method == "POST":
                    # The message goes back to the page the form was on.
                    flash(request, "error", str(exc))
                    return see_other(await _back_of(request))
                return error_page(request, status_of(exc), str(exc))

        return page_handler


#: Dates the pages accept: far enough either way for any real schedule or report, and
#: far from the ends of the calendar, where date arithmetic overflows.
FIRST_YEAR, LAST_YEAR = 2000, 2200


def read_day(text: str, _: Translate) -> date:
    """A ``YYYY-MM-DD`` date from a form or URL, or a ``UserError`` saying how to write it."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(_("Cannot read the date: use YYYY-MM-DD.")) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UserError(
            _(
                "Choose a date between {first} and {last}.",
                first=f"{FIRST_YEAR}-01-01",
                last=f"{LAST_YEAR}-12-31",
            )
        )
    return day

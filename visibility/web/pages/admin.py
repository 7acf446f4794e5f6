"""Administration: users and their roles, channels and their state, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from visibility.accounts.roles import Role, parse_role
from visibility.accounts.store import Actor
from visibility.errors import UserError
from visibility.web.pages.common import (
    Admin,
    App,
    PageRoute,
    audit,
    flash,
    render,
    see_other,
    translate_for,
)
from visibility.workflow import ChannelCheck, Visibility

router = APIRouter(route_class=PageRoute, include_in_schema=False)

ROLES = [r.value for r in Role]


def _role(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _page(
    request: Request, app: Visibility, actor: Actor, checks: list[ChannelCheck] | None = None
) -> Response:
    accounts = {a.name: a for a in app.store.channel_accounts()}
    return render(
        request,
        "admin.html",
        actor=actor,
        nav="admin",
        users=app.accounts.users(),
        roles=ROLES,
        channels=app.config.channels,
        accounts=accounts,
        checks=checks or [],
    )


@router.get("/admin")
def admin(request: Request, app: App, actor: Admin) -> Response:
    return _page(request, app, actor)


@router.post("/admin/users")
def add_user(
    request: Request,
    app: App,
    actor: Admin,
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "editor",
) -> Response:
    _ = translate_for(request)
    if len(password) < 10:
        raise UserError(_("The password needs at least 10 characters."))
    created = app.accounts.add_user(
        username, password=password, role=_role(role), display_name=display_name.strip() or None
    )
    audit(app, actor, "user.add", f"user {created.username}", created.role.value)
    flash(request, "ok", _("User {name} added as {role}.", name=created.username, role=_(role)))
    return see_other("/admin")


@router.post("/admin/users/{username}/role")
def change_role(
    request: Request,
    app: App,
    actor: Admin,
    username: str,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    _ = translate_for(request)
    new = _role(role)
    user = app.accounts.get_user(username)
    if user.username == actor.username and new is not Role.ADMIN:
        # Otherwise the last admin could lock everyone out of this page.
        raise UserError(_("You cannot lower your own role: ask another admin."))
    app.accounts.set_role(user.username, new)
    audit(app, actor, "user.role", f"user {user.username}", f"{user.role.value} -> {new.value}")
    flash(request, "ok", _("{name} is now {role}.", name=user.username, role=_(new.value)))
    return see_other("/admin")


@router.post("/admin/users/{username}/active")
def set_active(
    request: Request,
    app: App,
    actor: Admin,
    username: str,
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    _ = translate_for(request)
    user = app.accounts.get_user(username)
    on = active == "yes"
    if user.username == actor.username and not on:
        raise UserError(_("You cannot deactivate yourself: ask another admin."))
    app.accounts.set_active(user.username, on)
    audit(app, actor, "user.activate" if on else "user.deactivate", f"user {user.username}")
    if on:
        flash(request, "ok", _("{name} can sign in again.", name=user.username))
    else:
        flash(request, "ok", _("{name} is deactivated and signed out.", name=user.username))
    return see_other("/admin")


@router.post("/admin/users/{username}/sign-out")
def sign_out_everywhere(request: Request, app: App, actor: Admin, username: str) -> Response:
    """End every session of a user at once (a lost phone, a shared computer)."""
    _ = translate_for(request)
    user = app.accounts.get_user(username)
    app.accounts.end_sessions(user.username)
    audit(app, actor, "user.sign_out_everywhere", f"user {user.username}")
    if user.username == actor.username:
        # This session has ended too: say so on the sign-in page.
        language = request.session.get("lang")
        request.session.clear()
        if isinstance(language, str):
            request.session["lang"] = language
        flash(request, "ok", _("You are signed out everywhere."))
        return see_other("/sign-in")
    flash(request, "ok", _("{name} is signed out everywhere.", name=user.username))
    return see_other("/admin")


@router.post("/admin/channels/check")
def check_channels(request: Request, app: App, actor: Admin) -> Response:
    results = app.check_channels()
    audit(app, actor, "channels.check", None, ", ".join(f"{r.channel}={r.ok}" for r in results))
    # Shown at once rather than after a redirect: the messages can be long.
    return _page(request, app, actor, results)


@router.get("/admin/audit")
def audit_log(request: Request, app: App, actor: Admin, limit: int = 200) -> Response:
    limit = max(1, min(limit, 5000))
    return render(
        request,
        "audit.html",
        actor=actor,
        nav="admin",
        entries=app.accounts.audit_log(limit=limit),
        limit=limit,
    )

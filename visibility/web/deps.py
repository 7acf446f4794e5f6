"""Who is asking, and may they: sessions, API tokens, roles and CSRF, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, status

from visibility.accounts.roles import Role
from visibility.accounts.store import Actor
from visibility.web.security import csrf_matches
from visibility.workflow import Visibility

CSRF_HEADER = "X-CSRF-Token"
#: What a session holds: the user's name and their session version at sign-in.
SESSION_USER = "user"
SESSION_VERSION = "sv"
CSRF_FIELD = "csrf_token"
_SAFE = {"GET", "HEAD", "OPTIONS"}


def app_of(request: Request) -> Visibility:
    visibility: Visibility = request.app.state.visibility
    return visibility


def actor_of(request: Request) -> Actor | None:
    """The actor behind a request: an API token (Bearer) or the signed session cookie.

    A session counts only while its user's session version is the one it was
    made with: signing out, a new password, a new role or deactivation raise
    the version and so end every session of that user, copies included.
    """
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    visibility = app_of(request)
    header = request.headers.get("authorization", "")
    actor: Actor | None = None
    if header.lower().startswith("bearer "):
        actor = visibility.accounts.token_actor(header[7:].strip())
        if actor is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "the API token is not valid (revoked, or its user deactivated)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.via_token = True
    else:
        username = request.session.get(SESSION_USER)
        version = request.session.get(SESSION_VERSION)
        if isinstance(username, str):
            if isinstance(version, int) and not isinstance(version, bool):
                actor = visibility.accounts.actor(username, version)
            if actor is None:
                request.session.clear()  # ended since, or made before versions existed
    request.state.actor = actor
    return actor


async def _csrf_ok(request: Request) -> bool:
    if request.method in _SAFE or getattr(request.state, "via_token", False):
        return True  # tokens are not sent by browsers on their own
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return csrf_matches(expected if isinstance(expected, str) else None, given)


def require(role: Role) -> Callable[[Request], Coroutine[Any, Any, Actor]]:
    """A dependency: the request's actor, who must have at least ``role``."""

    async def dependency(request: Request) -> Actor:
        actor = actor_of(request)
        if actor is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "sign in, or send an API token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not await _csrf_ok(request):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"missing or wrong CSRF token: send the page's token in the {CSRF_HEADER} "
                "header or the csrf_token form field",
            )
        if not actor.role.allows(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs the {role.value} role; {actor.username} is {actor.role.value}",
            )
        return actor

    return dependency


EDITOR = require(Role.EDITOR)
APPROVER = require(Role.APPROVER)
ADMIN = require(Role.ADMIN)

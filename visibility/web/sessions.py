"""Signing in and out: one place for the rate limit, the audit entry and the session."""

from __future__ import annotations

from fastapi import HTTPException, Request, status

from visibility.accounts.store import Actor
from visibility.web.deps import app_of
from visibility.web.security import LoginLimiter, new_csrf_token


def sign_in(request: Request, username: str, password: str) -> Actor:
    """Check the password, with at most 5 failures per 5 minutes per name and address."""
    app = app_of(request)
    limiter: LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client else "unknown"
    keys = (f"user:{username.strip().lower()}", f"addr:{address}")
    wait = limiter.retry_after(*keys)
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins; try again in {int(wait) + 1} seconds",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    actor = app.accounts.authenticate(username, password)
    if actor is None:
        limiter.failed(*keys)
        app.accounts.audit(username.strip().lower()[:100] or "?", "login.failed", None, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password")
    limiter.succeeded(*keys)
    request.session.clear()  # a fresh session: no fixation
    request.session["user"] = actor.username
    request.session["csrf"] = new_csrf_token()
    app.accounts.audit(actor.username, "login", None, address)
    return actor


def sign_out(request: Request) -> None:
    user = request.session.get("user")
    if isinstance(user, str):
        app_of(request).accounts.audit(user, "logout")
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = new_csrf_token()
    return token

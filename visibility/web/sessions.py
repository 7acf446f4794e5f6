"""Signing in and out: one place for the rate limit, the audit entry and the session.

A session names its user and the user's session version at sign-in
(``deps.actor_of`` checks both on every request). Signing out raises the
version, so every copy of every session of that user stops working at once,
not only the cookie in this browser.
"""

from __future__ import annotations

from fastapi import HTTPException, Request, status

from visibility.accounts.store import Actor
from visibility.web.deps import SESSION_USER, SESSION_VERSION, actor_of, app_of
from visibility.web.i18n import pick_language, translator
from visibility.web.security import LoginLimiter, new_csrf_token


def client_address(request: Request) -> str:
    """The client's address: the peer's, or a trusted proxy's report of it."""
    return request.client.host if request.client else "unknown"


def sign_in(request: Request, username: str, password: str) -> Actor:
    """Check the password, within the limiter's limits (see ``LoginLimiter``).

    Unknown names, deactivated users and wrong passwords get the same answer
    and cost the same Argon2 verification, so neither tells which names exist.
    """
    app = app_of(request)
    _ = translator(
        pick_language(request.session.get("lang"), request.headers.get("accept-language"))
    )
    limiter: LoginLimiter = request.app.state.login_limiter
    address = client_address(request)
    wait = limiter.retry_after(username, address)
    if wait > 0:
        seconds = str(int(wait) + 1)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            _("Too many failed sign-ins. Try again in {seconds} seconds.", seconds=seconds),
            headers={"Retry-After": seconds},
        )
    actor = app.accounts.authenticate(username, password)
    if actor is None:
        limiter.failed(username, address)
        app.accounts.audit(username.strip().lower()[:100] or "?", "login.failed", None, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, _("Wrong user name or password."))
    limiter.succeeded(username, address)
    request.session.clear()  # a fresh session: no fixation
    request.session[SESSION_USER] = actor.username
    request.session[SESSION_VERSION] = actor.session_version
    request.session["csrf"] = new_csrf_token()
    app.accounts.audit(actor.username, "login", None, address)
    return actor


def sign_out(request: Request) -> None:
    """End this user's sessions everywhere; a stale or forged-old cookie ends nothing."""
    try:
        actor = actor_of(request)
    except HTTPException:  # a bad API token: there is no session here to end
        actor = None
    if actor is not None and actor.token is None:
        accounts = app_of(request).accounts
        accounts.end_sessions(actor.username)
        accounts.audit(actor.username, "logout", None, client_address(request))
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = new_csrf_token()
    return token

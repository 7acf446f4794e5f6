"""The web application: REST API, pages, health and metrics, and optionally the scheduler.

``visibility serve`` runs this app with the scheduler in the same process (one
container, embedded defaults); in production the scheduler may run as
separate ``visibility run`` processes against PostgreSQL instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from visibility import __version__
from visibility.web import (
    api,
    api_grants,
    api_images,
    api_review,
    docs,
    errors,
    health,
    pages,
)
from visibility.web.security import HardenedFastAPI, LoginLimiter, session_key
from visibility.workflow import Visibility

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "visibility_session"


def create_app(visibility: Visibility, *, scheduler: bool = False) -> FastAPI:
    """The app for ``visibility``; with ``scheduler`` the publishing service runs inside it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = None
        if scheduler:
            from visibility.service.runner import Service

            service = Service(visibility)
            service.start()
            app.state.service = service
        try:
            yield
        finally:
            if service is not None:
                service.stop()

    # Hardened: the security headers go on every answer, 500s included.
    app = HardenedFastAPI(
        title="visibility",
        version=__version__,
        description="News items in; website articles, Facebook posts and tweets out, on "
        "schedule, after approval.",
        lifespan=lifespan,
        # /docs is served by visibility.web.docs from the package; ReDoc would
        # load its script and fonts from CDNs, so it is off.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.visibility = visibility
    app.state.service = None
    app.state.login_limiter = LoginLimiter()
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(visibility.settings),
        session_cookie=SESSION_COOKIE,
        max_age=12 * 3600,
        same_site="lax",
        https_only=visibility.settings.https_only,
    )
    # Outermost, so the limiter and audit log see the client's address: taken
    # from X-Forwarded-For only when the peer is a trusted proxy, and then the
    # rightmost untrusted entry (what our proxy saw), never the client's own.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=visibility.settings.trusted_proxy_list)

    errors.register(app)

    app.include_router(health.router)
    app.include_router(docs.router)
    app.include_router(api.router)
    app.include_router(api_images.router)
    app.include_router(api_grants.router)
    app.include_router(api_review.router)
    app.include_router(pages.router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app

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

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from visibility import __version__
from visibility.errors import UserError
from visibility.web import api, health, pages
from visibility.web.errors import status_of
from visibility.web.security import LoginLimiter, session_key
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

    app = FastAPI(
        title="visibility",
        version=__version__,
        description="News items in; website articles, Facebook posts and tweets out, on "
        "schedule, after approval.",
        lifespan=lifespan,
        docs_url="/docs",
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

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse(
            {
                "detail": "; ".join(problems) or "invalid request",
                # ctx may hold exception objects: make it JSON first.
                "errors": jsonable_encoder(exc.errors(), custom_encoder={Exception: str}),
            },
            status_code=422,
        )

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app

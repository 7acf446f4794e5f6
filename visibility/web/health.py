"""Liveness, readiness and Prometheus metrics, for containers and monitoring."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from visibility.metrics import registry_for
from visibility.queue.types import utcnow
from visibility.web.deps import app_of

router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    """The process is alive and answering."""
    return "ok\n"


@router.get("/readyz", responses={503: {"description": "Not ready: see problems."}})
def readyz(request: Request) -> JSONResponse:
    """The database answers and, when a scheduler runs here, its heartbeat is fresh."""
    app = app_of(request)
    problems = []
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        problems.append(f"database unreachable ({type(exc).__name__})")
    service = getattr(request.app.state, "service", None)
    if service is not None:
        beat = getattr(service, "last_heartbeat", None)
        limit = timedelta(seconds=max(30.0, app.settings.lease_seconds))
        if service.stopped.is_set():
            problems.append("the scheduler has stopped")
        elif beat is None or utcnow() - beat > limit:
            problems.append("the scheduler's heartbeat is stale")
    body = {"ready": not problems, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503)


@router.get("/metrics", response_class=PlainTextResponse)  # documented as text
def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = request.app.state.metrics_registry = registry_for(app_of(request).store)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

"""The same security headers on every answer, and /docs served without a CDN.

The browser test loads /docs in Debian's Chromium (skipped without it unless
VISIBILITY_REQUIRE_CHROMIUM=1) and checks that Swagger UI shows the
operations with nothing refused by the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from visibility.config.settings import load_settings
from visibility.web.app import STATIC, create_app
from visibility.workflow import Visibility

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_CHROMIUM = os.environ.get("VISIBILITY_REQUIRE_CHROMIUM") == "1"


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    application = create_app(app)

    @application.get("/test-only/boom")
    def boom() -> None:
        raise RuntimeError("an unexpected failure")

    with TestClient(application, raise_server_exceptions=False) as client:
        yield client


def directives(policy: str) -> dict[str, list[str]]:
    parts = (p.split() for p in policy.split(";") if p.strip())
    return {words[0]: words[1:] for words in parts}


def assert_secured(answer: object, what: str) -> dict[str, list[str]]:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("referrer-policy") == "same-origin", what
    policy = directives(headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("default-src") == ["'self'"], what
    assert policy.get("object-src") == ["'none'"] and policy.get("base-uri") == ["'none'"], what
    for name, sources in policy.items():
        # No other origin, no scheme-wide source; data: only for images.
        for source in sources:
            assert source.startswith("'") or (name == "img-src" and source == "data:"), (
                what,
                name,
                source,
            )
        assert "'unsafe-eval'" not in sources, what
    assert "'unsafe-inline'" not in policy["script-src"], what
    return policy


def test_every_kind_of_answer_carries_the_headers(web: TestClient) -> None:
    answers = {
        "page": web.get("/sign-in"),
        "JSON 401": web.get("/api/v1/news"),
        "JSON 422": web.post("/api/v1/login", json={}),
        "404": web.get("/no/such/page"),
        "405": web.delete("/healthz"),
        "500": web.get("/test-only/boom"),
        "static file": web.get("/static/app.css"),
        "missing static file": web.get("/static/nothing.css"),
        "openapi": web.get("/openapi.json"),
        "health": web.get("/healthz"),
        "docs": web.get("/docs"),
        "swagger script": web.get("/static/swagger-ui/swagger-ui-bundle.js"),
    }
    assert answers["500"].status_code == 500
    assert answers["404"].status_code == 404
    assert answers["static file"].status_code == 200
    for what, answer in answers.items():
        policy = assert_secured(answer, what)
        if what != "docs":
            assert policy["script-src"] == ["'self'"], what
    # Private answers are not cached; static files may be.
    assert answers["JSON 401"].headers["cache-control"] == "no-store"
    assert answers["page"].headers["cache-control"] == "no-store"
    assert "cache-control" not in answers["static file"].headers


def test_pages_keep_their_policy(web: TestClient) -> None:
    policy = directives(web.get("/sign-in").headers["content-security-policy"])
    assert policy == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }


def test_docs_load_nothing_from_another_site(web: TestClient) -> None:
    page = web.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assert 'src="/static/swagger-ui/swagger-ui-bundle.js"' in page.text
    assert 'href="/static/swagger-ui/swagger-ui.css"' in page.text
    # Its one inline script is allowed by its hash, and nothing else inline.
    (inline,) = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    policy = directives(page.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert "validatorUrl" in inline and "null" in inline
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = web.get(f"/static/swagger-ui/{name}")
        assert served.status_code == 200 and len(served.content) > 100_000
    assert web.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_the_vendored_swagger_ui_is_the_pinned_one() -> None:
    from visibility.web.docs import SWAGGER_UI_FILES, SWAGGER_UI_VERSION

    folder = STATIC / "swagger-ui"
    assert sorted(p.name for p in folder.iterdir()) == sorted(SWAGGER_UI_FILES)
    for name, digest in SWAGGER_UI_FILES.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (folder / "LICENSE").read_text(encoding="utf-8")
    assert SWAGGER_UI_VERSION == "5.35.0"


# -- in a real browser ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_docs_work_in_chromium(app: Visibility) -> None:
    if not CHROMIUM.exists():
        if REQUIRE_CHROMIUM:
            pytest.fail("VISIBILITY_REQUIRE_CHROMIUM=1 but /usr/bin/chromium is missing")
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    problems: list[str] = []
    requested: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless=new"]
            )
            page = browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"http://127.0.0.1:{port}/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert operations >= 10
    assert problems == []
    assert all(url.startswith(f"http://127.0.0.1:{port}/") for url in requested), requested

"""How refusals are answered: one documented shape, in the asker's language, never with their input,
and one size limit for news items, whether pasted in the form, posted as JSON or uploaded."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from visibility.accounts.roles import Role
from visibility.config.settings import load_settings
from visibility.web.app import create_app
from visibility.web.i18n import translate
from visibility.workflow import Visibility

PASSWORD = "correct horse battery"
MARK = "zqxmark"  # in every rejected value: the answer must not contain it


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in (("ed", Role.EDITOR), ("ad", Role.ADMIN)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role)
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def bearer(app: Visibility, user: str, role: Role) -> dict[str, str]:
    token = app.accounts.create_token(user, name=f"{user}-t", role=role)
    return {"Authorization": f"Bearer {token}"}


def sign_in(web: TestClient) -> str:
    """Sign the editor in through the form; returns the CSRF token of the session."""
    form = web.get("/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    signed = web.post(
        "/sign-in", data={"username": "ed", "password": PASSWORD, "csrf_token": token[1]}
    )
    found = re.search(r'name="csrf_token" value="([^"]+)"', signed.text)
    assert found
    return found[1]


def news_text(size: int, end: str = "FUND") -> str:
    """A news item of ``size`` bytes in UTF-8 (Albanian, so not all ASCII), ending with ``end``."""
    head = "LAJM PËR TRAJNIMET\n\n"
    para = "12 nëntor 2026, Prishtinë – Organizatat e shoqërisë civile mbajtën një takim.\n\n"
    room = size - len(head.encode()) - len(end.encode())
    body = para * (room // len(para.encode()))
    return head + body + "x" * (room - len(body.encode())) + end


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """The answer is a ``Problem``: ``detail``, and ``errors`` of field, rule and message only."""
    assert answer.status_code == status, answer.text
    problem: dict[str, Any] = answer.json()
    assert set(problem) <= {"detail", "errors"} and isinstance(problem["detail"], str)
    for error in problem.get("errors") or []:
        assert set(error) == {"field", "rule", "message"}, error
    assert MARK not in answer.text
    return problem


# -- 4: a lone surrogate --------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"text": "\\ud800"}', b'{"text": "ok \\udfff ok"}', b'{"text": "x", "\\ud800": 1}'],
)
def test_a_lone_surrogate_is_refused_not_a_crash(
    web: TestClient, app: Visibility, raw: bytes
) -> None:
    answer = web.post(
        "/api/v1/news",
        content=raw,
        headers={**bearer(app, "ed", Role.EDITOR), "Content-Type": "application/json"},
    )
    problem = assert_problem(answer, 422)
    assert problem["errors"][0]["field"] in ("text", "body")
    assert app.store.list_news() == []


# -- 5: never the input back, and words from the catalogue ----------------------

CASES: list[tuple[str, str, dict[str, Any] | bytes, str, str, str]] = [
    # method, path, body, field, rule, the English message
    (
        "POST",
        "/api/v1/users",
        {"username": "newbie", "password": f"{MARK}1", "role": "editor"},
        "password",
        "string_too_short",
        "Too short: use at least 10 characters.",
    ),
    (
        "POST",
        "/api/v1/measure",
        {"kind": f"my{MARK}", "body": "x"},
        "kind",
        "literal_error",
        "Choose one of: website, facebook, twitter.",
    ),
    (
        "POST",
        "/api/v1/news",
        {"text": "x", f"colour{MARK}": 1},
        "body",
        "extra_forbidden",
        "This field is not part of the request: remove it (see /docs).",
    ),
    (
        "POST",
        "/api/v1/news",
        {"text": "x", "language": f"{MARK}"},
        "language",
        "string_pattern_mismatch",
        "Not in the expected form (^[a-zA-Z]{2}$).",
    ),
    (
        "POST",
        "/api/v1/news",
        {"text": 4242424242},
        "text",
        "string_type",
        "Send text (a JSON string) here.",
    ),
    (
        "POST",
        "/api/v1/news",
        {},
        "text",
        "missing",
        "This is required: send a value.",
    ),
    (
        "POST",
        "/api/v1/news",
        f'{{"text": "{MARK}'.encode(),
        "body",
        "json_invalid",
        "The body is not valid JSON: check its quotes, commas and brackets.",
    ),
    (
        "POST",
        "/api/v1/posts/1/schedule",
        {"mode": f"soon{MARK}"},
        "mode",
        "literal_error",
        "Choose one of: at, next-slot, now.",
    ),
    (
        "GET",
        f"/api/v1/news?limit=9{MARK}",
        b"",
        "query.limit",
        "int_parsing",
        "Send a whole number.",
    ),
    (
        "GET",
        "/api/v1/news?limit=0",
        b"",
        "query.limit",
        "greater_than_equal",
        "Too small: the least allowed is 1.",
    ),
    (
        "GET",
        "/api/v1/news/98765432109876543210",
        b"",
        "path.news_id",
        "less_than_equal",
        "Too large: the most allowed is 2147483647.",
    ),
    (
        "GET",
        f"/api/v1/posts?status=gone{MARK}",
        b"",
        "query.status.0",
        "enum",
        "Choose one of: draft, approved, scheduled, publishing, published, in_doubt, failed, "
        "cancelled.",
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "field", "rule", "message"), CASES)
def test_validation_errors_name_field_and_rule_but_never_echo_the_input(
    web: TestClient,
    app: Visibility,
    method: str,
    path: str,
    body: dict[str, Any] | bytes,
    field: str,
    rule: str,
    message: str,
) -> None:
    headers = {**bearer(app, "ad", Role.ADMIN), "Content-Type": "application/json"}
    if isinstance(body, dict):
        answer = web.request(method, path, json=body, headers=headers)
    else:
        answer = web.request(method, path, content=body, headers=headers)
    problem = assert_problem(answer, 422)
    assert problem["errors"] == [{"field": field, "rule": rule, "message": message}]
    assert problem["detail"] == f"{field}: {message}"
    # pydantic's own words (some of which quote the input) are not used.
    assert "Input should" not in answer.text and "input" not in answer.text


def test_validation_errors_speak_the_language_asked_for(web: TestClient, app: Visibility) -> None:
    headers = {**bearer(app, "ad", Role.ADMIN), "Accept-Language": "sq-AL,sq;q=0.9"}
    answer = web.post(
        "/api/v1/users",
        json={"username": "newbie", "password": MARK, "role": "editor"},
        headers=headers,
    )
    problem = assert_problem(answer, 422)
    albanian = translate("sq", "Too short: use at least {count} characters.", count=10)
    assert albanian != "Too short: use at least 10 characters."  # really translated
    assert problem["errors"][0]["message"] == albanian
    assert problem["detail"] == f"password: {albanian}"
    broken = web.post(
        "/api/v1/news",
        content=b'{"text": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert assert_problem(broken, 422)["errors"][0]["message"] == translate(
        "sq", "The body is not valid JSON: check its quotes, commas and brackets."
    )


def test_a_body_that_cannot_be_read_as_a_form_gets_a_readable_400(
    web: TestClient, app: Visibility
) -> None:
    answer = web.post(
        "/api/v1/news/upload",
        content=f"--x\r\n{MARK}".encode(),
        headers={**bearer(app, "ed", Role.EDITOR), "Content-Type": "multipart/form-data"},
    )
    problem = assert_problem(answer, 400)
    assert problem["detail"] == translate(
        "en", "The request body could not be read as a form: send it as /docs describes."
    )


def test_a_json_body_that_is_not_utf8_gets_a_readable_400(web: TestClient, app: Visibility) -> None:
    answer = web.post(
        "/api/v1/news",
        content=b'{"text": "\xff\xfe' + MARK.encode() + b'"}',
        headers={**bearer(app, "ed", Role.EDITOR), "Content-Type": "application/json"},
    )
    problem = assert_problem(answer, 400)
    assert problem["detail"] == translate(
        "en", "The request body could not be read: send JSON in UTF-8, as /docs describes."
    )


def test_no_such_address_or_method_is_said_in_words(web: TestClient, app: Visibility) -> None:
    headers = {**bearer(app, "ed", Role.EDITOR), "Accept-Language": "sq"}
    missing = web.get(f"/api/v1/{MARK}", headers=headers)
    assert assert_problem(missing, 404)["detail"] == translate(
        "sq", "Nothing here: check the address; /docs lists the API."
    )
    wrong = web.put("/api/v1/news", headers=headers)
    assert assert_problem(wrong, 405)["detail"] == translate(
        "sq", "This address does not take this method; /docs lists the ones it does."
    )
    assert "GET" in wrong.headers["allow"]
    # Our own 404s keep their own words.
    post = web.get("/api/v1/posts/999", headers=headers)
    assert post.status_code == 404 and post.json()["detail"] != missing.json()["detail"]


def test_page_form_errors_do_not_echo_the_input_either(web: TestClient) -> None:
    token = sign_in(web)
    answer = web.post("/news", data={"csrf_token": token, "text": "x", "format": MARK * 5})
    assert answer.status_code == 422
    assert MARK not in answer.text
    assert "format: Too long: use at most 20 characters." in answer.text
    assert "String should" not in answer.text


# -- the documented error schema --------------------------------------------------


def test_every_api_error_is_documented_as_a_problem(web: TestClient) -> None:
    schema = web.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert set(components["Problem"]["required"]) == {"detail"}
    assert "HTTPValidationError" not in components  # FastAPI's default 422 shape, never sent
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    api = {path: item for path, item in schema["paths"].items() if path.startswith("/api/")}
    assert len(api) >= 20
    for path, item in api.items():
        for method, operation in item.items():
            responses = operation["responses"]
            codes = {code for code in responses if code.startswith(("4", "5"))}
            for code in codes:
                content = responses[code]["content"]["application/json"]["schema"]
                assert content == problem_ref, (method, path, code)
            if path not in ("/api/v1/login", "/api/v1/logout"):
                assert {"401", "403"} <= codes, (method, path)
            if operation.get("parameters") or operation.get("requestBody"):
                assert "422" in codes, (method, path)
            if operation.get("requestBody"):
                assert {"400", "413"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
    assert "429" in schema["paths"]["/api/v1/login"]["post"]["responses"]


# -- 6: one limit for news items -------------------------------------------------


def limit_message(limit: str, language: str = "en") -> str:
    return translate(
        language,
        "The news item is too long: at most {limit} of text is accepted. Shorten it or split "
        "it into two news items; an administrator can raise the limit "
        "(VISIBILITY_MAX_NEWS_BYTES).",
        limit=limit,
    )


def test_the_form_takes_what_the_api_takes_up_to_the_setting(
    web: TestClient, app: Visibility
) -> None:
    """1.5 MB is within the 2 MB default, for the form too (it stopped at 1 MB)."""
    text = news_text(1_500_000)
    token = sign_in(web)
    pasted = web.post("/news", data={"csrf_token": token, "text": text}, follow_redirects=False)
    assert pasted.status_code == 303, pasted.text[:300]
    answer = web.post(
        "/api/v1/news",
        json={"text": news_text(1_500_000, end="ANDERS")},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 201, answer.text[:300]
    assert len(app.store.list_news()) == 2


def test_over_the_setting_form_and_api_give_the_same_readable_413(
    web: TestClient, app: Visibility
) -> None:
    text = news_text(2_000_001, end=f"{MARK}-end")
    token = sign_in(web)
    pasted = web.post("/news", data={"csrf_token": token, "text": text})
    assert pasted.status_code == 413
    assert limit_message("2 MB") in pasted.text
    assert f"{MARK}-end</textarea>" in pasted.text  # the form kept what was pasted
    api = {"X-CSRF-Token": token}
    answer = web.post("/api/v1/news", json={"text": text}, headers=api)
    assert answer.status_code == 413 and MARK not in answer.text
    assert answer.json() == {"detail": limit_message("2 MB")}
    assert len(answer.content) < 1000
    upload = web.post(
        "/api/v1/news/upload", files={"file": ("big.txt", text.encode())}, headers=api
    )
    assert upload.status_code == 413 and upload.json() == {"detail": limit_message("2 MB")}
    page_upload = web.post(
        "/news/upload", data={"csrf_token": token}, files={"file": ("big.txt", text.encode())}
    )
    assert page_upload.status_code == 413 and limit_message("2 MB") in page_upload.text
    assert app.store.list_news() == []


def test_the_limit_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_MAX_NEWS_BYTES", "20000")
    visibility = Visibility.open(load_settings())
    visibility.accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR)
    try:
        with TestClient(create_app(visibility)) as web:
            token = sign_in(web)
            headers = {"X-CSRF-Token": token, "Accept-Language": "sq"}
            ok = web.post("/api/v1/news", json={"text": news_text(20_000)}, headers=headers)
            assert ok.status_code == 201, ok.text
            over = web.post("/api/v1/news", json={"text": news_text(20_001)}, headers=headers)
            assert over.status_code == 413
            assert over.json()["detail"] == limit_message("20 kB", "sq")
            page = web.post(
                "/news", data={"csrf_token": token, "text": news_text(20_001, end="TJETËR")}
            )
            assert page.status_code == 413 and limit_message("20 kB") in page.text
    finally:
        visibility.close()


def _raw_post(
    client: TestClient, path: str, headers: list[tuple[bytes, bytes]], chunks: int
) -> tuple[int, int]:
    """POST ``chunks`` MB straight into the ASGI app; returns the status and the MB it read."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * 1_000_000, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    return int(sent[0]["status"]), read


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(
    web: TestClient, app: Visibility
) -> None:
    token = app.accounts.create_token("ed", name="raw", role=Role.EDITOR)
    auth = (b"authorization", f"Bearer {token}".encode())
    json_type = (b"content-type", b"application/json")
    form_type = (b"content-type", b"application/x-www-form-urlencoded")
    # Announced: refused before the first byte is read.
    for path, kind in (("/api/v1/news", json_type), ("/news", form_type)):
        declared = [auth, kind, (b"content-length", b"1000000000")]
        assert _raw_post(web, path, declared, chunks=1000) == (413, 0)
    # Streamed (no length): refused once past the limit, not after all 1000 MB.
    for path, kind in (("/api/v1/news", json_type), ("/news", form_type)):
        status, read = _raw_post(web, path, [auth, kind], chunks=1000)
        assert status == 413 and read <= 10, (path, read)

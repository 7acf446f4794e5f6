"""Sessions that end, a sign-in limit that neither locks out an office nor can be spoofed,
forwarded addresses believed only from trusted proxies, and unique token names.

The security headers and the API reference page are in test_security_headers.py.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from visibility.accounts.roles import Role
from visibility.cli.app import main
from visibility.config.settings import load_settings
from visibility.errors import ConfigError
from visibility.web.app import SESSION_COOKIE, create_app
from visibility.web.security import LoginLimiter
from visibility.workflow import Visibility

PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long password"
OFFICE = ("192.0.2.10", 40000)  # one office NAT (TEST-NET-1)


@pytest.fixture
def app() -> Iterator[Visibility]:
    visibility = Visibility.open(load_settings())
    for name, role in (("ed", Role.EDITOR), ("ap", Role.APPROVER), ("ad", Role.ADMIN)):
        visibility.accounts.add_user(name, password=PASSWORD, role=role, display_name=name.upper())
    yield visibility
    visibility.close()


@pytest.fixture
def web(app: Visibility) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as client:
        yield client


def client_at(app: Visibility, address: str) -> TestClient:
    return TestClient(create_app(app), client=(address, 40000))


def login(web: TestClient, user: str, password: str = PASSWORD) -> dict[str, str]:
    answer = web.post("/api/v1/login", json={"username": user, "password": password})
    assert answer.status_code == 200, answer.text
    return {"X-CSRF-Token": answer.json()["csrf_token"]}


def cli(*args: str, stdin: str | None = None) -> int:
    """One ``visibility`` command in this process, against the same database."""
    argv, old_stdin = sys.argv, sys.stdin
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sys.argv = ["visibility", *args]
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv, sys.stdin = argv, old_stdin
        root.handlers[:] = handlers
        root.setLevel(level)


def still_signed_in(web: TestClient, cookie: str) -> bool:
    """Whether a copy of a session cookie still opens the queue page and the API."""
    web.cookies.clear()
    web.cookies.set(SESSION_COOKIE, cookie)
    page = web.get("/queue", follow_redirects=False)
    web.cookies.clear()
    web.cookies.set(SESSION_COOKIE, cookie)
    api = web.get("/api/v1/me")
    assert (page.status_code == 200) == (api.status_code == 200), (page, api)
    if page.status_code != 200:
        assert page.status_code == 303 and page.headers["location"].startswith("/sign-in")
        assert api.status_code == 401
    return page.status_code == 200


# -- 1. sessions end everywhere ------------------------------------------------------


def _sign_out(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    assert web.post("/api/v1/logout", headers=headers).status_code == 204


def _sign_out_by_form(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    answer = web.post("/sign-out", data={"csrf_token": headers["X-CSRF-Token"]})
    assert answer.status_code == 200 and "You are signed out." in answer.text


def _password_in_store(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    app.accounts.set_password("ap", NEW_PASSWORD)


def _password_by_cli(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    assert cli("users", "password", "ap", "--password-stdin", stdin=NEW_PASSWORD + "\n") == 0


def _role_by_admin_page(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    admin = client_at(app, "198.51.100.1")
    token = login(admin, "ad")["X-CSRF-Token"]
    changed = admin.post("/admin/users/ap/role", data={"role": "editor", "csrf_token": token})
    assert "ap is now editor." in changed.text


def _role_by_cli(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    assert cli("users", "set-role", "ap", "admin") == 0


def _deactivated(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    assert cli("users", "deactivate", "ap") == 0


def _everywhere_by_admin_page(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    admin = client_at(app, "198.51.100.1")
    token = login(admin, "ad")["X-CSRF-Token"]
    ended = admin.post("/admin/users/ap/sign-out", data={"csrf_token": token})
    assert ended.status_code == 200 and "ap is signed out everywhere." in ended.text
    entry = app.accounts.audit_log(limit=1)[0]
    assert (entry.actor, entry.action, entry.target) == (
        "ad",
        "user.sign_out_everywhere",
        "user ap",
    )


def _everywhere_by_cli(web: TestClient, app: Visibility, headers: dict[str, str]) -> None:
    assert cli("users", "sign-out", "ap") == 0
    entry = app.accounts.audit_log(limit=1)[0]
    assert (entry.actor, entry.action) == ("cli", "user.sign_out_everywhere")


ENDINGS: dict[str, Callable[[TestClient, Visibility, dict[str, str]], None]] = {
    "sign-out (API)": _sign_out,
    "sign-out (form)": _sign_out_by_form,
    "password change": _password_in_store,
    "visibility users password": _password_by_cli,
    "role change (admin page)": _role_by_admin_page,
    "visibility users set-role": _role_by_cli,
    "deactivation": _deactivated,
    "sign out everywhere (admin page)": _everywhere_by_admin_page,
    "visibility users sign-out": _everywhere_by_cli,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_copied_session_cookie_stops_working(
    web: TestClient, app: Visibility, ending: str
) -> None:
    headers = login(web, "ap")
    copied = web.cookies[SESSION_COOKIE]
    other_device = client_at(app, "203.0.113.9")
    login(other_device, "ap")
    bystander = client_at(app, "203.0.113.10")
    login(bystander, "ed")
    assert still_signed_in(web, copied)
    web.cookies.set(SESSION_COOKIE, copied)

    ENDINGS[ending](web, app, headers)

    assert not still_signed_in(web, copied)
    assert other_device.get("/api/v1/me").status_code == 401  # every session, not only this one
    assert bystander.get("/api/v1/me").status_code == 200  # other users keep theirs


def test_signing_in_again_after_signing_out_works(web: TestClient) -> None:
    headers = login(web, "ed")
    web.post("/api/v1/logout", headers=headers)
    login(web, "ed")
    assert web.get("/api/v1/me").json()["username"] == "ed"


def test_an_ended_session_cannot_end_the_new_one(web: TestClient, app: Visibility) -> None:
    """Replaying an old cookie's sign-out must not sign its owner out again (a nuisance attack)."""
    headers = login(web, "ed")
    old = web.cookies[SESSION_COOKIE]
    web.post("/api/v1/logout", headers=headers)
    fresh = client_at(app, "203.0.113.9")
    login(fresh, "ed")
    web.cookies.set(SESSION_COOKIE, old)
    web.post("/api/v1/logout", headers=headers)
    assert fresh.get("/api/v1/me").status_code == 200


def test_sign_out_everywhere_is_for_admins_with_the_form_token(
    web: TestClient, app: Visibility
) -> None:
    victim = client_at(app, "203.0.113.9")
    login(victim, "ap")
    token = login(web, "ed")["X-CSRF-Token"]
    refused = web.post("/admin/users/ap/sign-out", data={"csrf_token": token})
    assert refused.status_code == 403
    web.post("/api/v1/logout", headers={"X-CSRF-Token": token})
    token = login(web, "ad")["X-CSRF-Token"]
    forged = web.post("/admin/users/ap/sign-out", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert victim.get("/api/v1/me").status_code == 200
    page = web.get("/admin")
    assert 'action="/admin/users/ap/sign-out"' in page.text and "Sign out everywhere" in page.text
    missing = web.post("/admin/users/nobody/sign-out", data={"csrf_token": token})
    assert "There is no user with this name" in missing.text and "nobody" not in missing.text


def test_an_admin_signing_themselves_out_everywhere_lands_on_sign_in(web: TestClient) -> None:
    token = login(web, "ad")["X-CSRF-Token"]
    ended = web.post("/admin/users/ad/sign-out", data={"csrf_token": token})
    assert str(ended.url).endswith("/sign-in")
    assert "You are signed out everywhere." in ended.text
    assert web.get("/api/v1/me").status_code == 401


def test_the_cli_names_a_missing_user(capsys: pytest.CaptureFixture[str]) -> None:
    Visibility.open(load_settings()).close()
    assert cli("users", "sign-out", "nobody") == 1
    err = capsys.readouterr().err
    assert "error: There is no user with this name: check the spelling" in err
    assert "nobody" not in err  # the input is not repeated


def test_api_tokens_outlive_a_sign_out(web: TestClient, app: Visibility) -> None:
    bearer = {
        "Authorization": "Bearer " + app.accounts.create_token("ed", name="feed", role=Role.EDITOR)
    }
    app.accounts.end_sessions("ed")
    assert web.get("/api/v1/news", headers=bearer).status_code == 200


# -- 2. the sign-in limit -------------------------------------------------------------


def test_failures_under_other_names_do_not_lock_out_an_office(app: Visibility) -> None:
    office = TestClient(create_app(app), client=OFFICE)
    for name in ("alba", "besa", "dren", "ed", "ap"):
        bad = office.post("/api/v1/login", json={"username": name, "password": "wrong password"})
        assert bad.status_code == 401
    # Five failed names earlier locked every user at the address out; not any more.
    assert (
        office.post("/api/v1/login", json={"username": "ad", "password": PASSWORD}).status_code
        == 200
    )


def test_five_failures_lock_the_name_at_that_address_only(app: Visibility) -> None:
    office = TestClient(create_app(app), client=OFFICE)
    for _ in range(5):
        assert (
            office.post("/api/v1/login", json={"username": "ed", "password": "wrong"}).status_code
            == 401
        )
    locked = office.post("/api/v1/login", json={"username": "ED ", "password": PASSWORD})
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 300
    home = TestClient(office.app, client=("203.0.113.77", 5000))
    assert (
        home.post("/api/v1/login", json={"username": "ed", "password": PASSWORD}).status_code == 200
    )
    colleague = office.post("/api/v1/login", json={"username": "ap", "password": PASSWORD})
    assert colleague.status_code == 200


def test_a_name_guessed_from_many_addresses_is_locked_everywhere(app: Visibility) -> None:
    application = create_app(app)
    for host in range(5):
        bot = TestClient(application, client=(f"198.51.100.{host + 1}", 5000))
        for _ in range(4):  # under the pair limit at each address
            bot.post("/api/v1/login", json={"username": "ed", "password": "guess"})
    fresh = TestClient(application, client=("203.0.113.50", 5000))
    locked = fresh.post("/api/v1/login", json={"username": "ed", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 300
    assert (
        fresh.post("/api/v1/login", json={"username": "ap", "password": PASSWORD}).status_code
        == 200
    )


def test_unknown_names_are_answered_like_known_ones(
    app: Visibility, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visibility.accounts.passwords import verify_password

    verified: list[str] = []

    def counting_verify(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return verify_password(password_hash, password)

    # Counts the real Argon2 verifications; nothing is faked.
    monkeypatch.setattr("visibility.accounts.store.verify_password", counting_verify)
    app.accounts.add_user("gone", password=PASSWORD, role=Role.EDITOR)
    app.accounts.set_active("gone", False)
    web = TestClient(create_app(app), client=OFFICE)
    answers = {}
    for name in ("ed", "nobody", "gone"):
        answer = web.post("/api/v1/login", json={"username": name, "password": "wrong password"})
        answers[name] = (answer.status_code, answer.json(), answer.headers.get("www-authenticate"))
    assert answers["ed"] == answers["nobody"] == answers["gone"]
    assert answers["nobody"][1] == {"detail": "Wrong user name or password."}
    assert len(verified) == 3  # an Argon2 verification each, unknown name included
    for name in ("ed", "nobody"):
        for _ in range(4):
            web.post("/api/v1/login", json={"username": name, "password": "wrong password"})
    known = web.post("/api/v1/login", json={"username": "ed", "password": "x"})
    unknown = web.post("/api/v1/login", json={"username": "nobody", "password": "x"})
    assert known.status_code == unknown.status_code == 429
    # The same words; only the seconds left may differ by the time between the calls.
    assert re.sub(r"\d+", "N", known.json()["detail"]) == re.sub(
        r"\d+", "N", unknown.json()["detail"]
    )
    page = TestClient(web.app, client=OFFICE).get("/sign-in")
    assert page.status_code == 200


def test_the_limiter_counts_pairs_names_and_addresses_apart() -> None:
    from visibility.web.security import Limit

    now = [1000.0]
    limiter = LoginLimiter(
        pair=Limit(5, 300), name=Limit(20, 3600), address=Limit(100, 300), clock=lambda: now[0]
    )
    for _ in range(5):
        limiter.failed("ed", "a")
    assert limiter.retry_after("ed", "a") == 300
    assert limiter.retry_after("ed", "b") == 0 and limiter.retry_after("ap", "a") == 0
    now[0] += 301
    assert limiter.retry_after("ed", "a") == 0  # the window passed
    # Spraying: one failure for each of 100 names from one address.
    for n in range(100):
        limiter.failed(f"user{n}", "sprayer")
    assert limiter.retry_after("someone-else", "sprayer") > 0
    assert limiter.retry_after("someone-else", "office") == 0
    # Signing in clears the pair, never the count against the name.
    for n in range(15):
        limiter.failed("ed", f"bot{n}")
    limiter.succeeded("ed", "a")
    assert limiter.retry_after("ed", "c") > 0  # 5 + 15 failures for "ed" within the hour


def test_the_limiter_forgets_old_counters() -> None:
    """Counters for many names and addresses do not pile up in memory for ever."""
    now = [0.0]
    limiter = LoginLimiter(clock=lambda: now[0])
    limiter.MAX_KEYS = 30
    for n in range(200):
        now[0] += 60
        limiter.failed(f"name{n}", f"addr{n}")
        assert len(limiter._failures) <= 30 + 3
    assert limiter.retry_after("name199", "addr199") == 0  # one failure: no wait


# -- 3. forwarded addresses ------------------------------------------------------------

SPOOFED = "6.6.6.1, 10.9.9.9"


def failed_sign_in_address(web: TestClient, app: Visibility, forwarded: str | None) -> str | None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    web.post("/api/v1/login", json={"username": "ed", "password": "wrong"}, headers=headers)
    entry = app.accounts.audit_log(limit=1)[0]
    assert entry.action == "login.failed"
    return entry.detail


def test_forwarded_for_from_an_untrusted_peer_is_ignored(app: Visibility) -> None:
    stranger = client_at(app, "198.51.100.7")
    assert failed_sign_in_address(stranger, app, SPOOFED) == "198.51.100.7"


def test_forwarded_for_from_a_trusted_proxy_gives_the_address_the_proxy_saw(
    app: Visibility,
) -> None:
    proxy = client_at(app, "127.0.0.1")  # loopback is trusted by default
    # The client wrote 6.6.6.1; the proxy appended the address it saw.
    assert failed_sign_in_address(proxy, app, SPOOFED) == "10.9.9.9"
    assert failed_sign_in_address(proxy, app, "10.9.9.9") == "10.9.9.9"
    assert failed_sign_in_address(proxy, app, None) == "127.0.0.1"
    details = {e.detail for e in app.accounts.audit_log()}
    assert "6.6.6.1" not in str(details)


def test_a_spoofed_leftmost_address_does_not_escape_the_limit(app: Visibility) -> None:
    proxy = client_at(app, "127.0.0.1")
    for n in range(5):
        headers = {"X-Forwarded-For": f"6.6.6.{n}, 10.9.9.9"}
        proxy.post("/api/v1/login", json={"username": "ed", "password": "x"}, headers=headers)
    headers = {"X-Forwarded-For": "6.6.6.99, 10.9.9.9"}
    locked = proxy.post(
        "/api/v1/login", json={"username": "ed", "password": PASSWORD}, headers=headers
    )
    assert locked.status_code == 429
    other = {"X-Forwarded-For": "6.6.6.99, 10.9.9.10"}
    ok = proxy.post("/api/v1/login", json={"username": "ed", "password": PASSWORD}, headers=other)
    assert ok.status_code == 200


def test_trusted_proxies_come_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISIBILITY_TRUSTED_PROXIES", " 172.30.80.1 , 10.0.0.0/8,fd00::/8 ")
    assert load_settings().trusted_proxy_list == ["172.30.80.1", "10.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv("VISIBILITY_TRUSTED_PROXIES", "")
    visibility = Visibility.open(load_settings())
    try:
        loopback = client_at(visibility, "127.0.0.1")  # trusted by default, not now
        visibility.accounts.add_user("ed", password=PASSWORD, role=Role.EDITOR)
        assert failed_sign_in_address(loopback, visibility, SPOOFED) == "127.0.0.1"
    finally:
        visibility.close()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("*", "'*' would let any client choose"),
        ("10.0.0.1, proxy.internal", "entry 2 is not an IP address or network"),
        ("10.0.0.1/8", "host bits must be zero"),
    ],
)
def test_a_bad_trusted_proxies_setting_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str, words: str
) -> None:
    monkeypatch.setenv("VISIBILITY_TRUSTED_PROXIES", value)
    with pytest.raises(ConfigError, match="VISIBILITY_TRUSTED_PROXIES") as caught:
        load_settings()
    assert words in str(caught.value)
    assert "proxy.internal" not in str(caught.value)


def test_serve_gives_uvicorn_the_trusted_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    given: dict[str, object] = {}
    # uvicorn.run is where the process would start listening on the network.
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: given.update(kw))
    monkeypatch.setenv("VISIBILITY_TRUSTED_PROXIES", "172.30.80.1")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert cli("serve", "--no-scheduler") == 0
    assert given["forwarded_allow_ips"] == ["172.30.80.1"]


@pytest.mark.parametrize("compose", ["compose.yaml", "deploy/compose.sqlite.yaml"])
def test_the_compose_files_trust_only_their_proxy(compose: str) -> None:
    import yaml

    from visibility.config.settings import Settings

    data = yaml.safe_load((Path(__file__).parents[1] / compose).read_text(encoding="utf-8"))
    # The host's reverse proxy reaches the published port through the gateway.
    (network,) = data["networks"]["default"]["ipam"]["config"]
    for name, service in data["services"].items():
        environment = service.get("environment") or {}
        assert "FORWARDED_ALLOW_IPS" not in environment, name
        if "visibility" in str(service.get("image", "")):
            value = environment["VISIBILITY_TRUSTED_PROXIES"]
            default = value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value
            assert Settings(trusted_proxies=default).trusted_proxy_list == [network["gateway"]]

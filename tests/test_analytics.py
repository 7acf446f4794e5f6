"""Website reach: page views of published articles from Matomo and Plausible.

Each reader is run against its emulator, which checks the request as the real
API would (method, path, where the token goes, parameters, JSON schema) and
answers as it does, errors included. The collector stores the page views as
engagement snapshots of the website post, one batched call per round.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from emulators.matomo import BAD_TOKEN_MESSAGE, MatomoEmulator
from emulators.plausible import PlausibleEmulator
from emulators.webhook import WebhookReceiver
from visibility.adapters.registry import build_adapter
from visibility.adapters.specs import AnalyticsOptions
from visibility.analytics.base import Analytics, Page
from visibility.analytics.build import build_analytics
from visibility.analytics.matomo import MatomoAnalytics
from visibility.analytics.plausible import PlausibleAnalytics
from visibility.config.channels import Channel, parse_channels
from visibility.config.settings import load_settings
from visibility.engagement.ages import parse_ages
from visibility.engagement.collector import Collector
from visibility.errors import (
    ChannelError,
    ConfigError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)
from visibility.queue.states import PostStatus
from visibility.service.publisher import Publisher
from visibility.workflow import Visibility

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(days=3)  # when the articles went out
SITE = "https://qbsc.example.org"
DOMAIN = "qbsc.example.org"
AGES = parse_ages("1h,6h,24h,3d,7d,30d")


def pages(count: int, *, start: int = 0) -> list[Page]:
    return [
        Page(str(100 + n), f"{SITE}/lajme/{n}-thirrje-per-projekte/", T0)
        for n in range(start, start + count)
    ]


def no_token(error: ChannelError | str, token: str) -> str:
    text = str(error)
    assert token not in text
    return text


@pytest.fixture
def matomo() -> Iterator[MatomoEmulator]:
    with MatomoEmulator(today=NOW.date()) as emulator:
        assert isinstance(emulator, MatomoEmulator)
        yield emulator


@pytest.fixture
def plausible() -> Iterator[PlausibleEmulator]:
    with PlausibleEmulator(today=NOW.date()) as emulator:
        assert isinstance(emulator, PlausibleEmulator)
        yield emulator


def matomo_reader(emulator: MatomoEmulator, *, token: str | None = None) -> MatomoAnalytics:
    options = AnalyticsOptions(kind="matomo", url=emulator.base_url, site_id="3")
    return MatomoAnalytics("web", options, token or emulator.token)


def plausible_reader(
    emulator: PlausibleEmulator, *, key: str | None = None, site: str = DOMAIN
) -> PlausibleAnalytics:
    options = AnalyticsOptions(kind="plausible", url=emulator.base_url, site_id=site)
    return PlausibleAnalytics("web", options, key or emulator.key, clock=lambda: NOW)


# -- Matomo ------------------------------------------------------------------------------------


def test_matomo_reads_a_batch_in_one_bulk_request_with_the_token_in_the_body(
    matomo: MatomoEmulator,
) -> None:
    batch = pages(100)
    matomo.visit("3", batch[0].url, T0.date(), hits=40, visits=30)
    matomo.visit("3", batch[0].url, NOW.date(), hits=2, visits=2)
    matomo.visit("3", batch[1].url, T0.date() - timedelta(days=30), hits=999, visits=9)  # before
    reader = matomo_reader(matomo)
    assert reader.batch == 100
    readings = {r.external_id: r for r in reader.page_views(batch)}

    [request] = matomo.requests
    assert request.method == "POST" and request.path == "/index.php"
    assert "token_auth" not in request.query and matomo.token not in request.url
    body = dict(parse_qsl(request.body.decode()))
    assert body["token_auth"] == matomo.token
    assert (body["module"], body["method"], body["format"]) == ("API", "API.getBulkRequest", "json")
    subs = [dict(parse_qsl(body[f"urls[{n}]"])) for n in range(100)]
    assert "urls[100]" not in body
    since = (T0 - timedelta(days=1)).date().isoformat()
    assert subs[7] == {
        "method": "Actions.getPageUrl",
        "idSite": "3",
        "period": "range",
        "date": f"{since},today",
        "pageUrl": batch[7].url,
    }
    assert set(readings) == {p.external_id for p in batch}
    first = readings[batch[0].external_id]
    assert first.impressions == 42
    assert first.raw == {"visitors": None, "visits": 32}  # no unique visitors over a range
    assert (first.reactions, first.comments, first.shares, first.clicks) == (None,) * 4
    assert readings[batch[1].external_id].impressions == 0  # only visits before publication
    assert readings[batch[50].external_id].impressions == 0  # never visited: 0, not left out


@pytest.mark.parametrize("status", [401, 200])
def test_matomo_wrong_token_is_a_credentials_error_without_the_token(
    matomo: MatomoEmulator, status: int
) -> None:
    matomo.auth_status = status  # Matomo 4+ says 401; older ones 200
    wrong = "0123456789abcdef0123456789abcdef"
    reader = matomo_reader(matomo, token=wrong)
    for call in (reader.check, lambda: reader.page_views(pages(2))):
        with pytest.raises(CredentialsError) as caught:
            call()
        text = no_token(caught.value, wrong)
        assert BAD_TOKEN_MESSAGE in text and "view access to site 3" in text


def test_matomo_check_reads_the_site_and_names_a_wrong_site(matomo: MatomoEmulator) -> None:
    account = matomo_reader(matomo).check()
    assert (account.name, account.external_id) == ("Qendra Burimore", "3")
    assert SITE in (account.detail or "")
    [params] = matomo.calls("SitesManager.getSiteFromId")
    assert params["idSite"] == "3" and "token_auth" not in matomo.requests[0].query

    options = AnalyticsOptions(kind="matomo", url=matomo.base_url, site_id="9")
    other = MatomoAnalytics("web", options, matomo.token)
    with pytest.raises(CredentialsError, match=r"website id = 9.*check site_id"):
        other.check()
    with pytest.raises(CredentialsError, match="website id = 9"):
        other.page_views(pages(1))  # the error comes inside the bulk answer


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 503, "body": b"<h1>Service Unavailable</h1>"}, RetryableChannelError),
        (
            {"status": 500, "body": {"result": "error", "message": "Mysql gone"}},
            RetryableChannelError,
        ),
        ({"status": 200, "body": b"<html>Maintenance</html>"}, PermanentChannelError),
        ({"status": 301, "headers": {"Location": "https://other.example/"}}, PermanentChannelError),
        ({"drop": True}, RetryableChannelError),
    ],
)
def test_matomo_failures_are_classified(
    matomo: MatomoEmulator, fault: dict[str, Any], kind: type[ChannelError]
) -> None:
    matomo.fail_next(1, **fault)
    with pytest.raises(kind) as caught:
        matomo_reader(matomo).page_views(pages(3))
    assert type(caught.value) is kind
    assert caught.value.channel == "web"
    no_token(caught.value, matomo.token)


def test_matomo_rate_limit_says_when(matomo: MatomoEmulator) -> None:
    matomo.fail_next(1, status=429, body=b"", headers={"Retry-After": "120"})
    with pytest.raises(RetryableChannelError) as caught:
        matomo_reader(matomo).page_views(pages(1))
    assert caught.value.retry_after is not None and not caught.value.reached
    assert caught.value.retry_after > datetime.now(UTC) + timedelta(seconds=100)


def test_matomo_bulk_limit_below_the_batch_is_refused_plainly(matomo: MatomoEmulator) -> None:
    matomo.bulk_limit = 10
    with pytest.raises(PermanentChannelError, match="maximum number of URLs"):
        matomo_reader(matomo).page_views(pages(11))


# -- Plausible ---------------------------------------------------------------------------------


def test_plausible_reads_a_batch_in_one_query(plausible: PlausibleEmulator) -> None:
    batch = pages(100)
    paths = [f"/lajme/{n}-thirrje-per-projekte/" for n in range(100)]
    plausible.visit(DOMAIN, paths[0], T0.date(), pageviews=120, visitors=80)
    plausible.visit(DOMAIN, paths[3], NOW.date(), pageviews=5, visitors=4)
    plausible.visit(DOMAIN, "/other/", NOW.date(), pageviews=500, visitors=400)
    reader = plausible_reader(plausible)
    assert reader.batch == 100
    readings = {r.external_id: r for r in reader.page_views(batch)}

    [request] = plausible.requests
    assert (request.method, request.path, request.query) == ("POST", "/api/v2/query", {})
    assert request.headers["authorization"] == f"Bearer {plausible.key}"
    assert request.headers["content-type"] == "application/json"
    [query] = plausible.queries()
    assert query == {
        "site_id": DOMAIN,
        "metrics": ["pageviews", "visitors"],
        "date_range": [
            (T0 - timedelta(days=1)).date().isoformat(),
            (NOW + timedelta(days=1)).date().isoformat(),
        ],
        "dimensions": ["event:page"],
        "filters": [["is", "event:page", paths]],
    }
    assert readings[batch[0].external_id].impressions == 120
    assert readings[batch[0].external_id].raw == {"visitors": 80}
    assert readings[batch[3].external_id].impressions == 5
    assert readings[batch[9].external_id].impressions == 0  # no visits: 0, not left out
    assert readings[batch[9].external_id].raw == {"visitors": 0}
    assert len(readings) == 100


def test_plausible_finds_a_page_whatever_spelling_of_its_path(
    plausible: PlausibleEmulator,
) -> None:
    path = "/lajme/njoftim-për-oshc/"
    plausible.visit(DOMAIN, path, NOW.date(), pageviews=7, visitors=6)
    page = Page("7", SITE + quote(path), T0)  # the address as WordPress gives it
    [reading] = plausible_reader(plausible).page_views([page])
    assert reading.impressions == 7
    [query] = plausible.queries()
    assert query["filters"] == [["is", "event:page", [quote(path), path]]]


def test_plausible_check_is_a_tiny_query(plausible: PlausibleEmulator) -> None:
    plausible.visit(DOMAIN, "/", NOW.date(), pageviews=3, visitors=2)
    account = plausible_reader(plausible).check()
    assert account.name == DOMAIN and "2 visitors today" in (account.detail or "")
    assert plausible.queries() == [
        {"site_id": DOMAIN, "metrics": ["visitors"], "date_range": "day"}
    ]


@pytest.mark.parametrize(
    ("key", "site", "says"),
    [
        ("wrong-key-0123456789abcdef", DOMAIN, "Invalid API key or site ID"),
        (None, "someone-else.example", "Invalid API key or site ID"),
    ],
)
def test_plausible_wrong_key_or_site_is_a_credentials_error(
    plausible: PlausibleEmulator, key: str | None, site: str, says: str
) -> None:
    reader = plausible_reader(plausible, key=key, site=site)
    for call in (reader.check, lambda: reader.page_views(pages(2))):
        with pytest.raises(CredentialsError) as caught:
            call()
        text = no_token(caught.value, key or plausible.key)
        assert says in text and "API keys" in text and "site_id" in text


def test_plausible_plan_without_the_api(plausible: PlausibleEmulator) -> None:
    plausible.plan_has_api = False
    with pytest.raises(CredentialsError, match="plan has no Stats API"):
        plausible_reader(plausible).check()


def test_plausible_rate_limit_is_retryable_with_its_time(plausible: PlausibleEmulator) -> None:
    plausible.hourly_limit = 1
    reader = plausible_reader(plausible)
    reader.page_views(pages(1))
    with pytest.raises(RetryableChannelError) as caught:
        reader.page_views(pages(1))
    error = caught.value
    assert "limited to 1 requests per hour" in str(error) and not error.reached
    assert error.retry_after is not None
    assert error.retry_after > datetime.now(UTC) + timedelta(minutes=55)


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"status": 400, "body": {"error": "Invalid filter"}}, PermanentChannelError),
        ({"status": 502, "body": b"Bad gateway"}, RetryableChannelError),
        ({"status": 404, "body": b"Not found"}, PermanentChannelError),
        ({"status": 200, "body": b"<html>Plausible</html>"}, PermanentChannelError),
        ({"drop": True}, RetryableChannelError),
    ],
)
def test_plausible_failures_are_classified(
    plausible: PlausibleEmulator, fault: dict[str, Any], kind: type[ChannelError]
) -> None:
    plausible.fail_next(1, **fault)
    with pytest.raises(kind) as caught:
        plausible_reader(plausible).page_views(pages(2))
    assert type(caught.value) is kind
    no_token(caught.value, plausible.key)


def test_tokens_stay_out_of_the_logs(
    matomo: MatomoEmulator, plausible: PlausibleEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    matomo_reader(matomo).page_views(pages(3))
    plausible_reader(plausible).page_views(pages(3))
    with pytest.raises(CredentialsError):
        plausible_reader(plausible, key="bad-key-abcdef0123456789").check()
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage()
        assert matomo.token not in text and plausible.key not in text


# -- configuration -----------------------------------------------------------------------------


def website(analytics: dict[str, Any] | None, secrets: dict[str, str]) -> dict[str, Any]:
    options: dict[str, Any] = {"api": "webhook", "url": "https://hooks.example.org/articles"}
    if analytics is not None:
        options["analytics"] = analytics
    return {
        "channels": [{"name": "web", "kind": "website", "secrets": secrets, "options": options}]
    }


def test_analytics_needs_its_token_and_says_how_to_fix_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plausible = {"kind": "plausible", "site_id": DOMAIN}
    with pytest.raises(ConfigError, match=r"secrets\.analytics_token: missing.*WEB_ANALYTICS"):
        parse_channels(website(plausible, {}), source="channels.toml")
    monkeypatch.setenv("WEB_STATS", "k3y")
    config = parse_channels(
        website(plausible, {"analytics_token": "WEB_STATS"}), source="channels.toml"
    )
    [channel] = config.channels
    reader = build_analytics(channel)
    assert isinstance(reader, PlausibleAnalytics)
    assert reader.options.base_url == "https://plausible.io"
    # Without analytics the token may be named, and nothing is built.
    config = parse_channels(website(None, {"analytics_token": "WEB_STATS"}), source="x")
    assert build_analytics(config.channels[0]) is None


@pytest.mark.parametrize(
    ("analytics", "says"),
    [
        ({"kind": "ga4", "site_id": "1"}, "unknown analytics kind 'ga4': use 'matomo' or"),
        ({"kind": "matomo", "site_id": "3"}, "needs url: the address of the Matomo"),
        ({"kind": "matomo", "url": SITE, "site_id": "main"}, "Websites, Manage"),
        ({"kind": "plausible", "site_id": SITE}, "without https://"),
        ({"kind": "plausible"}, r"analytics\.site_id: missing"),
        ({"kind": "plausible", "site_id": DOMAIN, "token": "x"}, r"analytics\.token: unknown"),
    ],
)
def test_bad_analytics_options_name_the_fix(
    monkeypatch: pytest.MonkeyPatch, analytics: dict[str, Any], says: str
) -> None:
    monkeypatch.setenv("WEB_STATS", "k3y")
    with pytest.raises(ConfigError, match=says):
        parse_channels(website(analytics, {"analytics_token": "WEB_STATS"}), source="t")


def test_a_matomo_site_id_may_be_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_STATS", "k3y")
    analytics = {"kind": "matomo", "url": "https://stats.example.org/", "site_id": 3}
    [channel] = parse_channels(
        website(analytics, {"analytics_token": "WEB_STATS"}), source="t"
    ).channels
    reader = build_analytics(channel)
    assert isinstance(reader, MatomoAnalytics)
    assert (reader.options.site_id, reader.options.base_url) == ("3", "https://stats.example.org")


def test_build_refuses_analytics_without_a_token() -> None:
    channel = Channel(
        name="web",
        kind="website",
        post_kind="website",
        enabled=False,
        language=None,
        tz=ZoneInfo("Europe/Belgrade"),
        slots=(),
        hashtags=(),
        template=None,
        secrets={"hmac_secret": SecretStr("x" * 16)},
        options={"analytics": {"kind": "plausible", "site_id": DOMAIN}},
    )
    with pytest.raises(ConfigError, match=r"secrets\.analytics_token"):
        build_analytics(channel)


# -- the collector -----------------------------------------------------------------------------


@pytest.fixture
def site() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        assert isinstance(receiver, WebhookReceiver)
        yield receiver


def open_app(tmp_path: Path, site: WebhookReceiver, analytics: str) -> Visibility:
    path = tmp_path / "channels.toml"
    path.write_text(
        f"""
[[channels]]
name = "web"
kind = "website"
secrets = {{ analytics_token = "WEB_ANALYTICS_TOKEN" }}

[channels.options]
api = "webhook"
url = "{site.url}"

[channels.options.analytics]
{analytics}
""",
        encoding="utf-8",
    )
    return Visibility.open(load_settings(channels_file=path))


def publish(app: Visibility, count: int) -> list[int]:
    ids = []
    for n in range(count):
        added = app.add_news_text(f"Lajmi numër {n}\n\nNjoftim i shkurtër numër {n} për OShC-të.\n")
        (post,) = added.posts
        app.approve(post.id, by="Ardita")
        app.store.schedule(post.id, at=T0)
        ids.append(post.id)
    adapter = build_adapter(app.config.channel("web"), app.settings)
    publisher = Publisher(
        app.store, {"web": adapter}, worker="w", threads=2, platform_cap=None, clock=lambda: T0
    )
    while publisher.run_due().published:
        pass
    publisher.stopping.set()
    assert {app.store.get_post(i).status for i in ids} == {PostStatus.PUBLISHED}
    return ids


def collect(app: Visibility, reader: Analytics, when: datetime) -> tuple[Collector, Any]:
    adapter = build_adapter(app.config.channel("web"), app.settings)
    collector = Collector(
        app.store, {"web": adapter}, ages=AGES, clock=lambda: when, analytics={"web": reader}
    )
    return collector, collector.run_once()


def test_the_collector_stores_plausible_page_views_as_snapshots(
    tmp_path: Path,
    site: WebhookReceiver,
    plausible: PlausibleEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_ANALYTICS_TOKEN", plausible.key)
    app = open_app(
        tmp_path, site, f'kind = "plausible"\nurl = "{plausible.base_url}"\nsite_id = "{DOMAIN}"'
    )
    try:
        ids = publish(app, 3)
        urls = [app.store.get_post(i).external_url or "" for i in ids]
        plausible.visit(
            DOMAIN, urls[0].removeprefix(site.base_url), T0.date(), pageviews=9, visitors=7
        )
        plausible.visit(
            DOMAIN, urls[1].removeprefix(site.base_url), NOW.date(), pageviews=4, visitors=4
        )
        reader = build_analytics(app.config.channel("web"))
        assert isinstance(reader, PlausibleAnalytics)
        _, result = collect(app, reader, T0 + timedelta(hours=1))

        assert sorted(result.read) == ids and result.gone == [] and result.calls == 1
        assert len(plausible.queries()) == 1
        snapshots = app.store.snapshots(ids)
        figures = [(s[0].impressions, s[0].raw, s[0].reactions) for s in map(snapshots.get, ids)]
        assert figures == [
            (9, {"visitors": 7}, None),
            (4, {"visitors": 4}, None),
            (0, {"visitors": 0}, None),  # nobody read it yet: 0, and it is read again later
        ]
        post = app.store.get_post(ids[2])
        assert post.next_snapshot_at == T0 + timedelta(hours=6)
        assert post.engagement_note is None
    finally:
        app.close()


def test_the_collector_reads_matomo_and_retries_a_failed_read(
    tmp_path: Path,
    site: WebhookReceiver,
    matomo: MatomoEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_ANALYTICS_TOKEN", matomo.token)
    app = open_app(tmp_path, site, f'kind = "matomo"\nurl = "{matomo.base_url}"\nsite_id = "3"')
    try:
        ids = publish(app, 2)
        url = app.store.get_post(ids[0]).external_url or ""
        matomo.visit("3", url, T0.date(), hits=15, visits=11)
        reader = build_analytics(app.config.channel("web"))
        assert reader is not None
        when = T0 + timedelta(hours=1)
        matomo.fail_next(1, status=503, body=b"busy")
        _, failed = collect(app, reader, when)
        assert sorted(failed.failed) == ids and failed.read == []
        post = app.store.get_post(ids[0])
        assert post.snapshot_failures == 1 and post.next_snapshot_at == when + timedelta(minutes=5)

        _, result = collect(app, reader, when + timedelta(minutes=5))
        assert sorted(result.read) == ids and result.calls == 1
        assert len(matomo.calls("API.getBulkRequest")) == 2
        snapshots = app.store.snapshots(ids)
        assert [snapshots[i][0].impressions for i in ids] == [15, 0]
        assert snapshots[ids[0]][0].raw == {"visitors": None, "visits": 11}
        assert app.store.get_post(ids[0]).snapshot_failures == 0
    finally:
        app.close()


def test_first_reading_day_is_a_day_before_publication_by_utc() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # 04:30 UTC next day
    from visibility.analytics.base import first_day

    assert first_day([Page("1", SITE, late), Page("2", SITE, late + timedelta(days=3))]) == date(
        2026, 12, 1
    )


def test_channels_check_reads_the_analytics_and_a_bad_token_never_holds_the_channel(
    tmp_path: Path,
    site: WebhookReceiver,
    matomo: MatomoEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_ANALYTICS_TOKEN", matomo.token)
    app = open_app(tmp_path, site, f'kind = "matomo"\nurl = "{matomo.base_url}"\nsite_id = "3"')
    checks = app.check_channels()
    assert [(c.channel, c.ok) for c in checks] == [("web", True), ("web", True)]
    assert checks[1].message.startswith("web analytics: ")
    app.close()
    monkeypatch.setenv("WEB_ANALYTICS_TOKEN", "0" * 32)
    app = open_app(tmp_path, site, f'kind = "matomo"\nurl = "{matomo.base_url}"\nsite_id = "3"')
    checks = app.check_channels()
    assert [(c.channel, c.ok) for c in checks] == [("web", True), ("web", False)]
    assert checks[1].message.startswith("web analytics: ")
    assert "0" * 32 not in checks[1].message
    # Page views are not publishing: the channel is not held for attention.
    assert app.store.attention() == {}
    app.close()

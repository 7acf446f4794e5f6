"""Settings and the channels file: defaults, secrets, and the messages bad values get."""

from __future__ import annotations

from pathlib import Path

import pytest

from visibility.config.channels import load_channels
from visibility.config.settings import load_settings
from visibility.errors import ConfigError

TWITTER = """
[organisation]
name = "Qendra"
timezone = "Europe/Belgrade"
hashtags = ["#ShoqëriaCivile"]

[[channels]]
name = "x-main"
kind = "twitter"
language = "sq"
slots = ["mon-fri 09:30"]
secrets.api_key = "X_KEY"
secrets.api_secret = "X_SECRET"
secrets.access_token = "X_TOKEN"
secrets.access_token_secret = "X_TOKEN_SECRET"

[[channels]]
name = "fb-national"
kind = "facebook"
timezone = "Europe/London"
hashtags = ["BE", "#TACSO"]
secrets = { page_access_token = "FB_TOKEN" }
options = { page_id = "1234567" }

[[channels]]
name = "fb-regional"
kind = "facebook"
enabled = false
secrets = { page_access_token = "FB_REGIONAL_TOKEN" }
options = { page_id = "98765" }
"""

SECRET_VALUES = {
    "X_KEY": "key-value-1",
    "X_SECRET": "secret-value-2",
    "X_TOKEN": "token-value-3",
    "X_TOKEN_SECRET": "token-secret-value-4",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "channels.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_configuration_means_three_dry_run_channels() -> None:
    config = load_channels(None)
    assert [(c.name, c.kind, c.post_kind) for c in config.channels] == [
        ("website", "dry-run", "website"),
        ("facebook", "dry-run", "facebook"),
        ("twitter", "dry-run", "twitter"),
    ]
    assert {c.timezone for c in config.channels} == {"Europe/Belgrade"}
    assert all(c.slots for c in config.channels)


def test_secrets_come_from_the_environment_and_secret_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "FB_TOKEN").write_text("fb-page-token-5\n", encoding="utf-8")
    config = load_channels(write(tmp_path, TWITTER), secret_dirs=[secrets])
    x, fb, regional = config.channels
    assert x.secrets["access_token"].get_secret_value() == "token-value-3"
    assert fb.secrets["page_access_token"].get_secret_value() == "fb-page-token-5"
    assert regional.secrets == {}  # disabled: its missing secret is no error
    assert fb.timezone == "Europe/London" and x.timezone == "Europe/Belgrade"
    assert fb.hashtags == ("#BE", "#TACSO") and x.hashtags == ("#ShoqëriaCivile",)
    assert fb.options["page_id"] == "1234567"
    assert fb.options["base_url"] == "https://graph.facebook.com"  # the default filled in
    shown = repr(config) + str(config)
    for value in [*SECRET_VALUES.values(), "fb-page-token-5"]:
        assert value not in shown


def test_a_missing_secret_names_the_key_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_channels(write(tmp_path, TWITTER), secret_dirs=[tmp_path])
    message = str(info.value)
    assert "channels[1] (channel 'fb-national').secrets.page_access_token" in message
    assert "secret FB_TOKEN is not set; export FB_TOKEN=..." in message
    assert "fb-regional" not in message


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[[channels]]\nname = "fb"\nkind = "facebok"\n',
            "channels[0].kind (channel 'fb'): unknown kind 'facebok': use one of website, "
            "facebook, twitter, dry-run",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "website"\n'
            'timezone = "Europe/Prishtina"\n',
            "channels[0].timezone (channel 'w'): unknown timezone 'Europe/Prishtina': use an "
            "IANA name such as 'Europe/Belgrade'",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "website"\n'
            'slots = ["mon-fri 9:70"]\n',
            "channels[0].slots (channel 'w'): malformed slot 'mon-fri 9:70': no such time",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\n',
            "channels[0] (channel 'w').imitates: a dry-run channel must say which kind",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "website"\ncolour = 1\n',
            "channels[0].colour (channel 'w'): unknown key",
        ),
        (
            '[[channels]]\nname = "Web Site"\nkind = "dry-run"\nimitates = "website"\n',
            "invalid name 'Web Site'",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "website"\n'
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "twitter"\n',
            "duplicate channel name",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "website"\nsecrets = { username = "U", '
            'application_password = "P", token = "T" }\noptions.base_url = "https://a.org"\n',
            "a website channel has no secret called 'token'",
        ),
        (
            '[[channels]]\nname = "fb"\nkind = "facebook"\nsecrets.page_access_token = "T"\n',
            "channels[0] (channel 'fb').options.page_id: missing",
        ),
        (
            '[[channels]]\nname = "fb"\nkind = "facebook"\nsecrets.page_access_token = "T"\n'
            'options.page_id = "my-page"\n',
            "options.page_id: must be the Page's numeric id",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "website"\noptions = { api = "joomla" }\n',
            "options.api: unknown website api 'joomla'",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "website"\nsecrets = { username = "U", '
            'application_password = "P" }\noptions.base_url = "qbsc.org"\n',
            "options.base_url: 'qbsc.org' is not an http(s) URL",
        ),
        (
            '[[channels]]\nname = "x"\nkind = "twitter"\noptions.colour = "blue"\n',
            "options.colour: unknown key",
        ),
        (
            '[[channels]]\nname = "w"\nkind = "dry-run"\nimitates = "twitter"\n'
            'template = "missing.j2"\n',
            "channels[0] (channel 'w').template: no such file",
        ),
        (
            '[organisation]\ntimezone = "Mars/Olympus"\n',
            "organisation.timezone: unknown timezone 'Mars/Olympus'",
        ),
        ("[[channels]\n", "not valid TOML"),
    ],
)
def test_bad_channel_files_are_refused_with_the_key_and_fix(
    tmp_path: Path, toml: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("U", "u")
    monkeypatch.setenv("P", "p")
    monkeypatch.setenv("T", "t")
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as info:
        load_channels(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_a_missing_channels_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist: create it or unset"):
        load_channels(tmp_path / "nope.toml")


def test_settings_defaults_put_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.data_dir == tmp_path / "data"
    assert settings.db_url == f"sqlite:///{tmp_path / 'data' / 'visibility.sqlite3'}"
    assert settings.resolved_channels_file is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "channels.toml").write_text("", encoding="utf-8")
    assert settings.resolved_channels_file == tmp_path / "data" / "channels.toml"


def test_settings_read_env_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("VISIBILITY_SCAN_INTERVAL=2.5\n", encoding="utf-8")
    monkeypatch.setenv("VISIBILITY_DATABASE_URL", "postgresql://app:pw@db:5432/visibility")
    settings = load_settings()
    assert settings.scan_interval == 2.5
    assert settings.db_url == "postgresql+psycopg://app:pw@db:5432/visibility"


def test_settings_secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "visibility_database_url").write_text(
        "postgresql+psycopg://app:s3cret@db/v", encoding="utf-8"
    )
    monkeypatch.setenv("VISIBILITY_SECRETS_DIR", str(secrets))
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://app:s3cret@db/v"
    assert settings.secret_dirs() == [secrets]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("VISIBILITY_DATABASE_URL", "mysql://u:hunter2@h/db", "VISIBILITY_DATABASE_URL: "),
        ("VISIBILITY_SCAN_INTERVAL", "-1", "VISIBILITY_SCAN_INTERVAL: Input should be greater"),
        ("VISIBILITY_LOG_LEVEL", "LOUD", "VISIBILITY_LOG_LEVEL: "),
        ("VISIBILITY_DRY_RUN_BASE_URL", "ftp://x", "must start with http"),
    ],
)
def test_bad_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match="invalid settings") as info:
        load_settings()
    assert expected in str(info.value)
    assert "hunter2" not in str(info.value)

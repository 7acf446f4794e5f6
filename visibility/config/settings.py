"""The one settings class: environment (``VISIBILITY_*``), ``.env`` and secret files."""

from __future__ import annotations

import ipaddress
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from visibility.errors import ConfigError

DEFAULT_SECRETS_DIR = Path("/run/secrets")


def _default_data_dir() -> Path:
    return platformdirs.user_data_path("visibility", appauthor=False)


class Settings(BaseSettings):
    """Process-wide settings. Channel accounts live in the channels TOML file."""

    model_config = SettingsConfigDict(
        env_prefix="VISIBILITY_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in the data directory.",
    )
    channels_file: Path | None = Field(
        default=None,
        description="TOML file of channel accounts; defaults to <data_dir>/channels.toml "
        "when it exists, else three dry-run channels.",
    )
    secrets_dir: Path = Field(
        default=DEFAULT_SECRETS_DIR,
        description="Folder of Docker-style secret files, one secret per file.",
    )
    max_news_bytes: int = Field(default=2_000_000, gt=0)
    image_dir: Path | None = Field(
        default=None, description="Where pictures are stored; default: images/ in the data folder."
    )
    max_image_bytes: int = Field(
        default=20_000_000, gt=0, le=200_000_000, description="Largest picture file taken."
    )
    fetch_remote_images: bool = Field(
        default=False,
        description="Fetch pictures an HTML news item names by web address (public hosts only).",
    )
    remote_image_timeout_seconds: float = Field(default=10, gt=0, le=120)
    scan_interval: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds between rescans of the database for edits by other processes.",
    )
    lease_seconds: int = Field(
        default=60,
        ge=2,
        description="How long a worker holds a post it is publishing; heartbeats extend it.",
    )
    publish_threads: int = Field(default=4, ge=1, le=64)
    max_attempts: int = Field(
        default=5, ge=1, le=50, description="Tries before a post with retryable errors fails."
    )
    retry_base_seconds: float = Field(
        default=30, gt=0, le=3600, description="First backoff; doubles per attempt, jittered."
    )
    retry_max_seconds: float = Field(default=3600, gt=0, le=86_400)
    platform_concurrency: int = Field(
        default=4, ge=1, le=100, description="Posts in flight at once per platform, all workers."
    )
    stale_after_minutes: int = Field(
        default=120,
        ge=1,
        description="After downtime, posts overdue by more than this are not sent at once.",
    )
    stale_policy: Literal["reslot", "hold"] = Field(
        default="reslot",
        description="reslot: move overdue posts to the channel's next free slots; "
        "hold: send them back to approved for a person to schedule again.",
    )
    engagement_ages: str = Field(
        default="1h,6h,24h,3d,7d,30d",
        description="Ages of a published post at which its engagement is read.",
    )
    engagement_interval_seconds: float = Field(
        default=60, gt=0, le=86_400, description="How often the service looks for readings due."
    )
    engagement_retry_seconds: float = Field(
        default=300,
        gt=0,
        le=86_400,
        description="Wait before a failed reading is tried again; doubles per failure, "
        "at most 6 hours.",
    )
    shutdown_grace_seconds: float = Field(default=30, ge=0, le=3600)
    allow_self_approval: bool = Field(
        default=False, description="Whether a person may approve a post they wrote."
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs session cookies; by default a random key kept in the data directory.",
    )
    https_only: bool = Field(
        default=False, description="Mark cookies Secure: set it when served over HTTPS."
    )
    # Loopback by default: the server listens on 127.0.0.1, so the only peer
    # there is a reverse proxy on the same machine; a remote client is never
    # loopback, so its X-Forwarded-For is ignored. "*" is refused: it lets any
    # client choose the address the audit log and sign-in limit see.
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated IP addresses or networks (CIDR) of the reverse proxies "
        "whose X-Forwarded-For and X-Forwarded-Proto are believed; empty trusts none.",
    )
    dry_run_base_url: str = "https://dry-run.example.org"
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: readable on a terminal, JSON lines otherwise."
    )
    log_stream: Literal["stderr", "stdout"] = "stderr"
    # Alerts to staff: by e-mail and/or a webhook, once per cause.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    alert_from: str | None = Field(default=None, description="Sender address of alert e-mails.")
    alert_to: str | None = Field(
        default=None, description="Comma-separated addresses that receive alerts."
    )
    alert_webhook_url: str | None = Field(
        default=None, description="Alerts are also POSTed here as JSON (chat, paging)."
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split(":", 1)[0].lower()
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// URL, "
                f"not one starting with {scheme!r}"
            )
        return value

    @field_validator("engagement_ages")
    @classmethod
    def _ages(cls, value: str) -> str:
        from visibility.engagement.ages import parse_ages

        parse_ages(value)
        return value

    @property
    def images_path(self) -> Path:
        return self.image_dir if self.image_dir is not None else self.data_dir / "images"

    @property
    def snapshot_ages(self) -> tuple[timedelta, ...]:
        from visibility.engagement.ages import parse_ages

        return parse_ages(self.engagement_ages)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        entries = [e.strip() for e in value.split(",") if e.strip()]
        for position, entry in enumerate(entries, start=1):
            if entry == "*":
                raise ValueError(
                    "'*' would let any client choose the address the audit log and the "
                    "sign-in limit see: list your reverse proxies' addresses or networks"
                )
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(
                    f"entry {position} is not an IP address or network such as 10.0.0.5, "
                    "172.18.0.0/16 or ::1 (a network's host bits must be zero)"
                ) from None
        return ",".join(entries)

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [e for e in self.trusted_proxies.split(",") if e]

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def alert_recipients(self) -> list[str]:
        return [a.strip() for a in (self.alert_to or "").split(",") if a.strip()]

    @field_validator("dry_run_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            if url.startswith(("postgresql://", "postgres://")):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.data_dir / 'visibility.sqlite3'}"

    @property
    def resolved_channels_file(self) -> Path | None:
        if self.channels_file is not None:
            return self.channels_file
        candidate = self.data_dir / "channels.toml"
        return candidate if candidate.is_file() else None

    def secret_dirs(self) -> list[Path]:
        return [self.secrets_dir] if self.secrets_dir.is_dir() else []


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one ConfigError naming the variable."""
    kwargs: dict[str, object] = dict(overrides)
    secrets_dir = os.environ.get("VISIBILITY_SECRETS_DIR", str(DEFAULT_SECRETS_DIR))
    if Path(secrets_dir).is_dir():
        # Only when present: pydantic-settings warns about a missing folder.
        kwargs.setdefault("_secrets_dir", secrets_dir)
    try:
        return Settings(**kwargs)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            problems.append(f"VISIBILITY_{field.upper()}: {err['msg']}")
        raise ConfigError("invalid settings: " + "; ".join(problems)) from None

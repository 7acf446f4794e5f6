"""What each kind of channel account needs: its secrets and its options.

The configuration loader validates a channel's ``options`` table and its
``secrets`` against these at start-up, so a typo in a page id or a missing
token stops visibility before anything is queued. The adapters read their
options through the same models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


def _base_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL, e.g. https://example.org")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_base_url)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(default=30.0, gt=0, le=300, description="Seconds per HTTP request.")


class DryRunOptions(_Options):
    pass


class TwitterOptions(_Options):
    base_url: HttpUrl = Field(
        default="https://api.twitter.com",
        description="Where X's API v2 is; an emulator or proxy in tests.",
    )
    thread: bool = Field(
        default=False, description="Split text over 280 into a thread instead of refusing it."
    )


class FacebookOptions(_Options):
    page_id: str = Field(pattern=r"^\d{5,20}$", description="The Page's numeric id.")
    api_version: str = Field(default="v24.0", pattern=r"^v\d{1,2}\.\d$")
    base_url: HttpUrl = "https://graph.facebook.com"
    slow_down_at_percent: int = Field(
        default=80,
        ge=1,
        le=100,
        description="Treat the Page as rate limited once Graph's usage headers reach this.",
    )


#: Where Plausible's Stats API is when the organisation uses plausible.io itself.
PLAUSIBLE_CLOUD = "https://plausible.io"

#: The secret role of the web analytics token (Matomo token_auth, Plausible API key).
ANALYTICS_TOKEN = "analytics_token"  # noqa: S105  (a role name, not a secret)


def _analytics_kind(value: str) -> str:
    # Checked here rather than as a Literal: the loader explains a bad "kind"
    # as a bad channel kind, which would send staff to the wrong line.
    if value not in ("matomo", "plausible"):
        raise ValueError(f"unknown analytics kind {value!r}: use 'matomo' or 'plausible'")
    return value


class AnalyticsOptions(BaseModel):
    """The web analytics a website channel reads its articles' page views from.

    ``site_id`` is Matomo's numeric ``idSite`` or the site's domain as it is
    named in Plausible; ``url`` is the Matomo installation's address (required)
    or a self-hosted Plausible's (default: plausible.io).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Annotated[str, AfterValidator(_analytics_kind)] = Field(
        description="Which analytics the website runs: 'matomo' or 'plausible'."
    )
    url: HttpUrl | None = Field(
        default=None,
        description="Matomo's address, e.g. https://stats.example.org; for Plausible, "
        "a self-hosted server's address (default https://plausible.io).",
    )
    site_id: str = Field(
        description="Matomo: the site's numeric id (idSite); Plausible: the site's domain."
    )
    timeout: float = Field(default=30.0, gt=0, le=300, description="Seconds per HTTP request.")

    @field_validator("site_id", mode="before")
    @classmethod
    def _site_id_number(cls, value: Any) -> Any:
        # site_id = 3 (a TOML number) means the same as site_id = "3".
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _per_kind(self) -> AnalyticsOptions:
        if self.kind == "matomo":
            if self.url is None:
                raise ValueError(
                    "a Matomo analytics needs url: the address of the Matomo installation, "
                    'e.g. url = "https://stats.example.org"'
                )
            if not re.fullmatch(r"\d{1,9}", self.site_id):
                raise ValueError(
                    f"site_id {self.site_id!r} is not a Matomo site id: use the number Matomo "
                    'shows under Administration, Websites, Manage (ID), e.g. site_id = "3"'
                )
        elif not re.fullmatch(r"[A-Za-z0-9.-]+(/[^\s]*)?", self.site_id) or "://" in self.site_id:
            raise ValueError(
                f"site_id {self.site_id!r} is not a Plausible site: use the site's domain as "
                'Plausible names it, without https://, e.g. site_id = "example.org"'
            )
        return self

    @property
    def base_url(self) -> str:
        return self.url or PLAUSIBLE_CLOUD


class _WebsiteOptions(_Options):
    analytics: AnalyticsOptions | None = Field(
        default=None,
        description="Read the articles' page views from the site's Matomo or Plausible.",
    )


class WordPressOptions(_WebsiteOptions):
    api: Literal["wordpress"] = "wordpress"
    base_url: HttpUrl = Field(description="The site's address, e.g. https://qbsc.example.org")
    status: Literal["publish", "draft", "pending", "private"] = "publish"
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class WebhookOptions(_WebsiteOptions):
    api: Literal["webhook"]
    url: HttpUrl = Field(description="Where the article is POSTed as JSON.")
    signature_header: str = "X-Visibility-Signature"
    url_field: str = Field(
        default="url", description="The field of the JSON answer that holds the page's URL."
    )


@dataclass(frozen=True)
class KindSpec:
    """The secrets (by role) and options one kind of account takes."""

    required_secrets: tuple[str, ...]
    optional_secrets: tuple[str, ...]
    options: type[_Options]

    @property
    def secret_roles(self) -> tuple[str, ...]:
        return self.required_secrets + self.optional_secrets


_SPECS: Mapping[str, KindSpec] = {
    "dry-run": KindSpec((), (), DryRunOptions),
    "twitter": KindSpec(
        ("api_key", "api_secret", "access_token", "access_token_secret"),
        ("bearer_token",),
        TwitterOptions,
    ),
    "facebook": KindSpec(("page_access_token",), (), FacebookOptions),
    "website:wordpress": KindSpec(
        ("username", "application_password"), (ANALYTICS_TOKEN,), WordPressOptions
    ),
    "website:webhook": KindSpec((), ("hmac_secret", ANALYTICS_TOKEN), WebhookOptions),
}


def spec_for(kind: str, options: Mapping[str, Any]) -> KindSpec:
    """The spec of a channel ``kind``; website accounts choose theirs with ``options.api``.

    A website channel with ``options.analytics`` also requires the analytics
    token; without it, naming one is allowed (kept for when analytics is set).
    """
    if kind == "website":
        api = options.get("api", "wordpress")
        spec = _SPECS.get(f"website:{api}")
        if spec is None:
            raise ValueError(f"unknown website api {api!r}: use 'wordpress' or 'webhook'")
        if options.get("analytics") is not None:
            return replace(
                spec,
                required_secrets=(*spec.required_secrets, ANALYTICS_TOKEN),
                optional_secrets=tuple(s for s in spec.optional_secrets if s != ANALYTICS_TOKEN),
            )
        return spec
    return _SPECS[kind]

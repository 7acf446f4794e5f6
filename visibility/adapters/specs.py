"""What each kind of channel account needs: its secrets and its options.

The configuration loader validates a channel's ``options`` table and its
``secrets`` against these at start-up, so a typo in a page id or a missing
token stops visibility before anything is queued. The adapters read their
options through the same models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


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


class WordPressOptions(_Options):
    api: Literal["wordpress"] = "wordpress"
    base_url: HttpUrl = Field(description="The site's address, e.g. https://qbsc.example.org")
    status: Literal["publish", "draft", "pending", "private"] = "publish"
    categories: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class WebhookOptions(_Options):
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
    "website:wordpress": KindSpec(("username", "application_password"), (), WordPressOptions),
    "website:webhook": KindSpec((), ("hmac_secret",), WebhookOptions),
}


def spec_for(kind: str, options: Mapping[str, Any]) -> KindSpec:
    """The spec of a channel ``kind``; website accounts choose theirs with ``options.api``."""
    if kind == "website":
        api = options.get("api", "wordpress")
        spec = _SPECS.get(f"website:{api}")
        if spec is None:
            raise ValueError(f"unknown website api {api!r}: use 'wordpress' or 'webhook'")
        return spec
    return _SPECS[kind]

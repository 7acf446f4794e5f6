"""The API's request bodies and answers, apart from the routes (``visibility.web.api``).

Answers are dataclasses and bodies pydantic models, as FastAPI documents them in the
OpenAPI schema; a post comes with its grants' ``compliance`` (``PostOut``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from visibility.queue.views import AttemptView, NewsView, PostView, SnapshotView
from visibility.web.grant_words import ComplianceOut


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


GrantName = Annotated[str, Field(min_length=1, max_length=63)]


class NewsIn(_Body):
    # No max_length: the limit is VISIBILITY_MAX_NEWS_BYTES in UTF-8, checked with a 413.
    text: str = Field(
        min_length=1,
        description="The news item: at most VISIBILITY_MAX_NEWS_BYTES (2 MB by default) in UTF-8.",
        examples=[
            "TRAJNIME PËR ORGANIZATAT\n\n12 nëntor 2026, Prishtinë – Organizatat e "
            "shoqërisë civile ftohen në trajnime.\n\nAfati i aplikimit është 1 dhjetor."
        ],
    )
    format: Literal["text", "markdown", "html"] | None = Field(
        default="text", description="None: guessed from the content."
    )
    language: str | None = Field(default=None, pattern=r"^[a-zA-Z]{2}$")
    canonical_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)
    grants: list[GrantName] = Field(
        default_factory=list,
        max_length=20,
        description="Grants the item is published under (GET /api/v1/grants lists them): "
        "its posts get what their rules require.",
    )


class PostEdit(_Body):
    body: str | None = Field(default=None, min_length=1, max_length=100_000)
    title: str | None = Field(default=None, min_length=1, max_length=1000)
    excerpt: str | None = Field(default=None, max_length=5000)


class ScheduleIn(_Body):
    mode: Literal["at", "next-slot", "now"] = "at"
    at: str | None = Field(
        default=None,
        max_length=64,
        description="Wall time in the channel's timezone ('2026-12-01 09:30') or ISO 8601 "
        "with an offset; with mode 'at'.",
    )


class ConfirmIn(_Body):
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    external_id: str | None = Field(default=None, max_length=200)


class MeasureIn(_Body):
    kind: Literal["website", "facebook", "twitter"]
    body: str = Field(max_length=100_000)


class UserIn(_Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=10, max_length=1000)
    role: Literal["editor", "approver", "admin"]
    display_name: str | None = Field(default=None, max_length=200)


class LoginIn(_Body):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


@dataclass(frozen=True)
class SessionOut:
    username: str
    display_name: str
    role: str
    csrf_token: str


class TokenIn(_Body):
    name: str = Field(min_length=1, max_length=100)
    role: Literal["editor", "approver", "admin"]


@dataclass(frozen=True)
class Measured:
    length: int
    limit: int | None
    unit: str
    fits: bool


@dataclass(frozen=True)
class PostOut(PostView):
    """A post, with whether it carries what its news item's grants require."""

    compliance: ComplianceOut | None = None

    @classmethod
    def of(cls, post: PostView, compliance: ComplianceOut) -> PostOut:
        values = {f.name: getattr(post, f.name) for f in dataclasses.fields(PostView)}
        return cls(**values, compliance=compliance)


@dataclass(frozen=True)
class SuggestionOut:
    """A grant the item's own words name the donor of: add it, or not."""

    grant: str
    phrase: str


@dataclass(frozen=True)
class AddedOut:
    news_item: NewsView
    created: bool
    posts: list[PostOut]
    suggested: list[SuggestionOut]


class ApproveIn(_Body):
    override_reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Approve although an element the grants require is missing: why.",
    )


@dataclass(frozen=True)
class PostDetail:
    post: PostOut
    waiting: str | None
    attempts: list[AttemptView]
    engagement: list[SnapshotView]


@dataclass(frozen=True)
class TokenOut:
    name: str
    role: str
    token: str

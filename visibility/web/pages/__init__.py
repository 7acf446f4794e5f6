"""Server-rendered pages for communications staff: Jinja2 templates, a little JavaScript.

The pages work without JavaScript; ``static/app.js`` adds the live character
count and small conveniences. Every form carries the session's CSRF token
and every action goes through the same workflow functions as the REST API.
"""

from __future__ import annotations

from fastapi import APIRouter

from visibility.web.pages import (
    admin,
    auth,
    calendar,
    engagement,
    grants,
    images,
    news,
    posts,
    queue,
    review,
)
from visibility.web.pages.common import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
for _module in (auth, news, images, posts, review, queue, calendar, engagement, grants, admin):
    router.include_router(_module.router)

__all__ = ["router"]

"""Page views from Plausible's Stats API v2.

Every call is one ``POST {url}/api/v2/query`` with the API key as
``Authorization: Bearer ...`` and a JSON query. ``page_views`` asks once for a
whole batch::

    {"site_id": "example.org", "metrics": ["pageviews", "visitors"],
     "date_range": ["2026-11-30", "2026-12-08"], "dimensions": ["event:page"],
     "filters": [["is", "event:page", ["/news/1", "/news/2"]]]}

and Plausible answers ``{"results": [{"dimensions": ["/news/1"], "metrics":
[120, 87]}, ...], "meta": {...}, "query": {...}}``, leaving out pages nobody
visited. ``event:page`` is the address's path, without host or query. The
range runs from the batch's earliest publication to tomorrow (UTC), so a site
whose timezone is ahead of UTC loses none of its today. ``check`` asks for
today's visitors.

Errors come as ``{"error": "..."}``: 401 for a wrong key or a site the key
cannot see, 402 when the plan has no Stats API, 400 for a query Plausible
refuses, 429 over the key's limit (600 requests an hour by default).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import unquote, urljoin, urlsplit

import requests

from visibility.adapters.base import Account, Engagement
from visibility.adapters.http import (
    excerpt,
    host_of,
    loads_json,
    make_session,
    network_error,
    redact,
    retry_after,
)
from visibility.adapters.specs import AnalyticsOptions
from visibility.analytics.base import Analytics, Page, first_day
from visibility.errors import (
    ChannelError,
    CredentialsError,
    PermanentChannelError,
    RetryableChannelError,
)

__all__ = ["PLAUSIBLE_BATCH", "PlausibleAnalytics", "page_path"]

#: Pages per query: one small JSON body, far below Plausible's 10,000 result rows.
PLAUSIBLE_BATCH: Final = 100

_METRICS: Final = ("pageviews", "visitors")


def page_path(url: str) -> str:
    """The path Plausible files a page's views under (``event:page``)."""
    return urlsplit(url).path or "/"


class PlausibleAnalytics(Analytics):
    """Reads page views from one Plausible site."""

    batch = PLAUSIBLE_BATCH

    def __init__(
        self,
        channel: str,
        options: AnalyticsOptions,
        token: str,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.channel = channel
        self.options = options
        self._token = token
        self._endpoint = f"{options.base_url}/api/v2/query"
        self._host = host_of(options.base_url)
        self._clock = clock
        self._owns_session = session is None
        self.session = session if session is not None else make_session()

    def __repr__(self) -> str:
        return f"PlausibleAnalytics(channel={self.channel!r}, host={self._host!r})"

    def page_views(self, pages: Sequence[Page]) -> list[Engagement]:
        if not pages:
            return []
        # A browser reports a non-ASCII path percent-encoded; ask for both
        # spellings so the page is found however the site's Plausible stored it.
        wanted: dict[str, list[Page]] = defaultdict(list)
        for page in pages:
            path = page_path(page.url)
            for spelling in dict.fromkeys((path, unquote(path))):
                wanted[spelling].append(page)
        until = (self._clock().astimezone(UTC) + timedelta(days=1)).date()
        query = {
            "site_id": self.options.site_id,
            "metrics": list(_METRICS),
            "date_range": [first_day(pages).isoformat(), until.isoformat()],
            "dimensions": ["event:page"],
            "filters": [["is", "event:page", list(wanted)]],
        }
        answer = self._query(query, "reading page views")
        totals: dict[str, list[int]] = {page.external_id: [0, 0] for page in pages}
        for row in self._rows(answer):
            dimensions, metrics = row.get("dimensions"), row.get("metrics")
            if not (isinstance(dimensions, list) and dimensions and isinstance(metrics, list)):
                continue
            figures = [m if isinstance(m, int) and not isinstance(m, bool) else 0 for m in metrics]
            figures += [0] * (len(_METRICS) - len(figures))
            for page in wanted.get(str(dimensions[0]), ()):
                total = totals[page.external_id]
                total[0] += figures[0]
                total[1] += figures[1]
        return [
            Engagement(
                external_id=page.external_id,
                impressions=totals[page.external_id][0],
                raw={"visitors": totals[page.external_id][1]},
            )
            for page in {page.external_id: page for page in pages}.values()
        ]

    def check(self) -> Account:
        answer = self._query(
            {"site_id": self.options.site_id, "metrics": ["visitors"], "date_range": "day"},
            "checking the site",
        )
        rows = self._rows(answer)
        metrics = rows[0].get("metrics") if rows else None
        today = metrics[0] if isinstance(metrics, list) and metrics else 0
        return Account(
            name=self.options.site_id,
            detail=f"Plausible at {self._host}: {today} visitors today; page views can be read",
        )

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- requests ----------------------------------------------------------------------

    def _query(self, query: dict[str, Any], action: str) -> Any:
        try:
            response = self.session.post(
                self._endpoint,
                json=query,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.options.timeout,
                # requests drops the Authorization header on a redirect to another
                # host; a redirect is a wrong url, said plainly below.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(
                exc, channel=self.channel, url=self._endpoint, timeout=self.options.timeout
            ) from exc
        answer = loads_json(response.text)
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        raise self._error(response, answer, action)

    def _rows(self, answer: Any) -> list[dict[str, Any]]:
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise PermanentChannelError(
                f"Plausible at {self._host} answered without results "
                f"({self._said(str(answer))}): check url in this channel's analytics options",
                channel=self.channel,
            )
        return [row for row in results if isinstance(row, dict)]

    # -- errors ------------------------------------------------------------------------

    def _said(self, text: str) -> str:
        return redact(excerpt(text), [self._token])

    def _error(self, response: requests.Response, answer: Any, action: str) -> ChannelError:
        status, where = response.status_code, f"Plausible at {self._host}"
        error = answer.get("error") if isinstance(answer, dict) else None
        said = self._said(str(error) if error else response.text)
        if status in (408, 429):
            return RetryableChannelError(
                f"{where} asked to slow down (HTTP {status}: {said}) while {action}; "
                "will try again",
                channel=self.channel,
                retry_after=retry_after(response.headers),
                reached=False,
            )
        if status >= 500:
            return RetryableChannelError(
                f"{where} failed while {action} (HTTP {status}: {said}); will try again",
                channel=self.channel,
                retry_after=retry_after(response.headers),
            )
        if status in (401, 403):
            return CredentialsError(
                f"{where} refused the API key for site {self.options.site_id!r} while {action} "
                f"({said}): create a Stats API key (Account settings, API keys) as a user "
                "who can see the site, and check that site_id in this channel's analytics "
                "options is the site's domain as Plausible names it",
                channel=self.channel,
            )
        if status == 402:
            return CredentialsError(
                f"{where} says the account's plan has no Stats API ({said}) while {action}: "
                "upgrade the plan, or remove analytics from this channel's options",
                channel=self.channel,
            )
        if 300 <= status < 400:
            target = urlsplit(urljoin(self._endpoint, response.headers.get("Location", "")))
            return PermanentChannelError(
                f"{where} redirected the API to {target.scheme}://{target.netloc} (HTTP "
                f"{status}) while {action}: set url in this channel's analytics options to "
                "the final address",
                channel=self.channel,
            )
        if status == 404:
            return PermanentChannelError(
                f"{where} has no Stats API v2 at /api/v2/query (HTTP 404) while {action}: check "
                "url in this channel's analytics options; a self-hosted Plausible must be "
                "version 2.1 or newer",
                channel=self.channel,
            )
        return PermanentChannelError(
            f"{where} refused the query (HTTP {status}: {said}) while {action}; check site_id "
            "in this channel's analytics options",
            channel=self.channel,
        )

"""Page views from Matomo's Reporting API.

Every call is one POST to ``{url}/index.php`` with ``module=API`` and the
``token_auth`` in the form body, never in the URL: a token in a query string
ends up in web server logs, and a token created as "only allow secure
requests" is refused there anyway.

``page_views`` sends one ``API.getBulkRequest`` holding an
``Actions.getPageUrl`` sub-request per page (``urls[0]=...``, ``urls[1]=...``)
for ``period=range&date=YYYY-MM-DD,today``; Matomo answers a JSON list with
each sub-request's rows in order (``nb_hits`` is the page views, ``nb_visits``
the visits; an address nobody visited has no row). ``check`` reads
``SitesManager.getSiteFromId``.

Matomo reports most errors as HTTP 200 with ``{"result": "error", "message":
...}``, and from version 4 an authentication failure as HTTP 401 with the same
body; both are read here. A batch stays well under PHP's ``max_input_vars``
(1000 by default), beyond which PHP drops form fields without a word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlencode, urljoin, urlsplit

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

__all__ = ["MATOMO_BATCH", "MatomoAnalytics"]

#: Pages per bulk request: ~100 form fields, far below PHP's max_input_vars.
MATOMO_BATCH: Final = 100

# What Matomo says when the token is wrong, expired, or may not see the site.
_ACCESS = re.compile(
    r"authenticate|token|access|permission|log ?in|not allowed|superuser", re.IGNORECASE
)
_SITE = re.compile(r"website id|idsite|unexpected website", re.IGNORECASE)


class MatomoAnalytics(Analytics):
    """Reads page views from one Matomo site."""

    batch = MATOMO_BATCH

    def __init__(
        self,
        channel: str,
        options: AnalyticsOptions,
        token: str,
        *,
        session: requests.Session | None = None,
    ) -> None:
        self.channel = channel
        self.options = options
        self._token = token
        self._endpoint = f"{options.base_url}/index.php"
        self._host = host_of(options.base_url)
        self._owns_session = session is None
        self.session = session if session is not None else make_session()

    def __repr__(self) -> str:
        return f"MatomoAnalytics(channel={self.channel!r}, host={self._host!r})"

    def page_views(self, pages: Sequence[Page]) -> list[Engagement]:
        if not pages:
            return []
        since = first_day(pages).isoformat()
        fields = [
            (f"urls[{number}]", self._sub_request(page, since)) for number, page in enumerate(pages)
        ]
        answer = self._call("API.getBulkRequest", fields, "reading page views")
        if not isinstance(answer, list) or len(answer) != len(pages):
            got = f"{len(answer)} answers" if isinstance(answer, list) else "no list"
            raise PermanentChannelError(
                f"Matomo at {self._host} answered the bulk request for {len(pages)} pages "
                f"with {got}: check that url in this channel's analytics options is the "
                "Matomo installation's address",
                channel=self.channel,
            )
        return [self._reading(page, rows) for page, rows in zip(pages, answer, strict=True)]

    def check(self) -> Account:
        answer = self._call(
            "SitesManager.getSiteFromId",
            [("idSite", self.options.site_id)],
            "checking the site",
        )
        if not isinstance(answer, dict) or "idsite" not in answer:
            raise CredentialsError(
                f"Matomo at {self._host} has no site {self.options.site_id} this token can "
                "see: check site_id in this channel's analytics options",
                channel=self.channel,
            )
        name = str(answer.get("name") or f"site {self.options.site_id}")
        return Account(
            name=name,
            external_id=str(answer["idsite"]),
            detail=f"Matomo at {self._host}, site {answer.get('main_url') or name}: "
            "page views can be read",
        )

    def close(self) -> None:
        if self._owns_session:
            self.session.close()

    # -- requests ----------------------------------------------------------------------

    def _sub_request(self, page: Page, since: str) -> str:
        return urlencode(
            {
                "method": "Actions.getPageUrl",
                "idSite": self.options.site_id,
                "period": "range",
                "date": f"{since},today",
                "pageUrl": page.url,
            }
        )

    def _reading(self, page: Page, rows: Any) -> Engagement:
        if isinstance(rows, dict) and rows.get("result") == "error":
            raise self._refusal(str(rows.get("message") or ""), f"reading {page.url}")
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise PermanentChannelError(
                f"Matomo at {self._host} answered about {page.url} with something that is "
                f"not a report ({self._said(str(rows))}); check the Matomo version",
                channel=self.channel,
            )
        views = sum(_count(row.get("nb_hits")) or 0 for row in rows)
        visits = sum(_count(row.get("nb_visits")) or 0 for row in rows)
        # Matomo counts unique visitors per page for single days only; over a
        # range it gives none unless configured to, so None is the honest figure.
        uniques = [_count(row.get("nb_uniq_visitors")) for row in rows]
        visitors = None if None in uniques else sum(u for u in uniques if u is not None)
        return Engagement(
            external_id=page.external_id,
            impressions=views,
            raw={"visitors": visitors, "visits": visits},
        )

    def _call(self, method: str, fields: list[tuple[str, str]], action: str) -> Any:
        body = [
            ("module", "API"),
            ("method", method),
            ("format", "json"),
            *fields,
            ("token_auth", self._token),
        ]
        try:
            response = self.session.post(
                self._endpoint,
                data=body,
                timeout=self.options.timeout,
                # A redirected POST arrives as a GET, without the token: say so instead.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise network_error(
                exc, channel=self.channel, url=self._endpoint, timeout=self.options.timeout
            ) from exc
        answer = loads_json(response.text)
        if response.status_code == 200 and answer is not None:
            if isinstance(answer, dict) and answer.get("result") == "error":
                raise self._refusal(str(answer.get("message") or ""), action)
            return answer
        raise self._http_error(response, answer, action)

    # -- errors ------------------------------------------------------------------------

    def _said(self, text: str) -> str:
        return redact(excerpt(text), [self._token])

    def _refusal(self, message: str, action: str, *, status: int = 200) -> ChannelError:
        said = self._said(message)
        where = f"Matomo at {self._host}"
        if _SITE.search(message) or _ACCESS.search(message) or status in (401, 403):
            return CredentialsError(
                f"{where} refused the token while {action} ({said}): create a token for a "
                "Matomo user with view access to site "
                f"{self.options.site_id} (Administration, Personal, Security, Auth tokens), "
                "and check site_id in this channel's analytics options",
                channel=self.channel,
            )
        return PermanentChannelError(
            f"{where} refused the request while {action} ({said}); check this channel's "
            "analytics options",
            channel=self.channel,
        )

    def _http_error(self, response: requests.Response, answer: Any, action: str) -> ChannelError:
        status, where = response.status_code, f"Matomo at {self._host}"
        message = answer.get("message") if isinstance(answer, dict) else None
        said = self._said(str(message) if message else response.text)
        if status in (408, 429):
            return RetryableChannelError(
                f"{where} asked to slow down (HTTP {status}) while {action}; will try again",
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
            return self._refusal(str(message or said), action, status=status)
        if 300 <= status < 400:
            target = urlsplit(urljoin(self._endpoint, response.headers.get("Location", "")))
            return PermanentChannelError(
                f"{where} redirected the API to {target.scheme}://{target.netloc} (HTTP "
                f"{status}) while {action}: set url in this channel's analytics options to "
                "the final address",
                channel=self.channel,
            )
        if status == 200:
            return PermanentChannelError(
                f"{where} answered with something that is not Matomo's JSON while {action} "
                f"({said}): check that url in this channel's analytics options is the Matomo "
                "installation's address",
                channel=self.channel,
            )
        return PermanentChannelError(
            f"{where} refused the request (HTTP {status}: {said}) while {action}; check url "
            "in this channel's analytics options",
            channel=self.channel,
        )


def _count(value: Any) -> int | None:
    """A Matomo figure: a number, or a number in a string (older versions)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None

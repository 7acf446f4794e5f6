"""Matomo's Reporting API, as far as page views go, built from its documentation.

One endpoint, ``/index.php``, takes GET or POST; its parameters are read from
the query string and the form body together, the way PHP's ``$_REQUEST``
does (only the first ``max_input_vars`` form fields, 1000 by default, as PHP
silently drops the rest). ``module=API`` and ``format=json`` are required.
A token created as "only allow secure requests" is refused in a query string,
which is how this emulator treats every token (``secure_only``).

Methods: ``SitesManager.getSiteFromId``, ``Actions.getPageUrl`` (for
``period=range&date=YYYY-MM-DD,today`` or a single day) and
``API.getBulkRequest`` (``urls[N]`` sub-requests, each a query string; the
outer request's parameters, token included, apply to each; ``bulk_limit``
caps their number as ``API_bulk_request_limit`` does).

Errors are ``{"result": "error", "message": ...}``: with HTTP 200 for most,
and with ``auth_status`` (401 since Matomo 4) when the token does not
authenticate or lacks view access. Inside a bulk answer, a failed sub-request
is such an object in its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from emulators.server import Emulator, Request, Response, route

BAD_TOKEN_MESSAGE: Final = (
    "Unable to authenticate with the provided token. It is either invalid or expired."
)


def no_view_access(site: str) -> str:
    return (
        f"You can't access this resource as it requires 'view' access for the website id = {site}."
    )


@dataclass
class Visits:
    """One day's figures of one page."""

    day: date
    hits: int
    visits: int


class MatomoEmulator(Emulator):
    """A Matomo with sites, a token per user, and page visits by day."""

    def __init__(
        self,
        *,
        token: str = "c0ffee5ecret7a1e0matomo0token42",
        sites: dict[str, str] | None = None,
        auth_status: int = 401,
        bulk_limit: int | None = None,
        max_input_vars: int = 1000,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        #: idSite → main URL; the token's user has view access to all of them.
        self.sites = sites if sites is not None else {"3": "https://qbsc.example.org"}
        self.auth_status = auth_status
        self.bulk_limit = bulk_limit
        self.max_input_vars = max_input_vars
        self.today = today or datetime.now(UTC).date()
        #: (idSite, path) → visits by day.
        self.pages: dict[tuple[str, str], list[Visits]] = {}

    def visit(self, site: str, url: str, day: date, *, hits: int, visits: int) -> None:
        """Record ``hits`` page views in ``visits`` visits of ``url`` on ``day``."""
        with self.lock:
            path = urlsplit(url).path or "/"
            self.pages.setdefault((site, path), []).append(Visits(day, hits, visits))

    def calls(self, method: str) -> list[dict[str, str]]:
        """The parameters of every request that called API ``method``."""
        with self.lock:
            requests = list(self.requests)
        found = []
        for request in requests:
            params = self._params(request)
            if params.get("method") == method:
                found.append(params)
        return found

    # -- the endpoint -------------------------------------------------------------------

    def _params(self, request: Request) -> dict[str, str]:
        params = {k: v[-1] for k, v in request.query.items()}
        if request.method == "POST":
            fields = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            params.update(dict(fields[: self.max_input_vars]))
        return params

    @route("GET,POST", "/index.php")
    def _api(self, request: Request) -> Response:
        params = self._params(request)
        if params.get("module") != "API":
            return Response(200, b"<html><body>Matomo login</body></html>", _HTML)
        if params.get("format", "xml").lower() != "json":
            return Response(200, b'<?xml version="1.0"?><result />', {"Content-Type": "text/xml"})
        if "token_auth" in request.query or params.get("token_auth") != self.token:
            # A secure-only token in a URL is refused like a wrong one.
            return Response(self.auth_status, _error(BAD_TOKEN_MESSAGE))
        method = params.get("method", "")
        if method == "API.getBulkRequest":
            return self._bulk(params)
        status, answer = self._call(method, params)
        return Response(status, answer)

    def _bulk(self, params: dict[str, str]) -> Response:
        numbered = sorted(
            (int(m.group(1)), v)
            for k, v in params.items()
            if (m := re.fullmatch(r"urls\[(\d+)\]", k))
        )
        if self.bulk_limit is not None and len(numbered) > self.bulk_limit:
            return Response(
                400, _error(f"The maximum number of URLs for a bulk request is {self.bulk_limit}.")
            )
        outer = {k: v for k, v in params.items() if not k.startswith("urls[")}
        results: list[Any] = []
        for _, query in numbered:
            sub = dict(parse_qsl(query, keep_blank_values=True))
            sub.setdefault("format", "json")
            merged = {**outer, **sub}
            if merged.get("method") == "API.getBulkRequest":
                continue
            _, answer = self._call(merged.get("method", ""), merged)
            results.append(answer)
        return Response(200, results)

    def _call(self, method: str, params: dict[str, str]) -> tuple[int, Any]:
        site = params.get("idSite", "")
        if method == "SitesManager.getSiteFromId":
            if site not in self.sites:
                return self.auth_status, _error(no_view_access(site))
            return 200, {
                "idsite": site,
                "name": "Qendra Burimore",
                "main_url": self.sites[site],
                "timezone": "Europe/Belgrade",
                "currency": "EUR",
            }
        if method == "Actions.getPageUrl":
            if site not in self.sites:
                return self.auth_status, _error(no_view_access(site))
            return self._page_url(site, params)
        return 200, _error(f"The method '{method}' does not exist or is not available.")

    def _page_url(self, site: str, params: dict[str, str]) -> tuple[int, Any]:
        page_url = params.get("pageUrl")
        if not page_url:
            return 200, _error("Please specify a value for 'pageUrl'.")
        days = self._days(params.get("period", ""), params.get("date", ""))
        if isinstance(days, str):
            return 200, _error(days)
        start, end = days
        path = urlsplit(page_url).path or "/"
        with self.lock:
            visits = [v for v in self.pages.get((site, path), []) if start <= v.day <= end]
        if not visits:
            return 200, []
        row = {
            "label": "/" + path.rstrip("/").rsplit("/", 1)[-1],
            "nb_visits": sum(v.visits for v in visits),
            "nb_hits": sum(v.hits for v in visits),
            "sum_time_spent": 42 * sum(v.hits for v in visits),
            "entry_nb_visits": sum(v.visits for v in visits),
            "exit_nb_visits": sum(v.visits for v in visits),
            "avg_time_on_page": 42,
            "bounce_rate": "0%",
            "exit_rate": "100%",
            "url": self.sites[site] + path,
        }
        # Unique visitors per page: single days only, as Matomo archives them.
        if start == end:
            row["nb_uniq_visitors"] = sum(v.visits for v in visits)
        else:
            row["sum_daily_nb_uniq_visitors"] = sum(v.visits for v in visits)
        return 200, [row]

    def _days(self, period: str, value: str) -> tuple[date, date] | str:
        def day(text: str) -> date:
            return self.today if text == "today" else date.fromisoformat(text)

        try:
            if period == "range":
                first, _, last = value.partition(",")
                start, end = day(first), day(last)
                if start > end:
                    return f"The date '{value}' is not a correct date range"
                return start, end
            if period == "day":
                return day(value), day(value)
        except ValueError:
            return f"The date '{value}' is not a correct date range"
        return f"The period '{period}' is not supported. Try any of the following instead: day, week, month, year, range"


_HTML: Final = {"Content-Type": "text/html; charset=utf-8"}


def _error(message: str) -> dict[str, str]:
    return {"result": "error", "message": message}

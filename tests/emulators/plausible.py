"""Plausible's Stats API v2 (``POST /api/v2/query``), built from its documentation.

The API key comes as ``Authorization: Bearer <key>`` and the query as a JSON
body (``Content-Type: application/json``). The query is checked as Plausible
checks it: ``site_id``, ``metrics`` and ``date_range`` required, no unknown
keys, known metrics and dimensions, filters as ``[operator, dimension,
[values]]``, a date range as a shortcut or two ISO dates in order. Answers are
``{"results": [{"metrics": [...], "dimensions": [...]}], "meta": {}, "query":
{...}}``; a page nobody visited has no row.

Errors are ``{"error": "..."}``: 400 for a query it refuses, 401 for a missing
or wrong key or a site the key cannot see, 402 when the plan has no Stats API
(``plan_has_api=False``), 429 with ``Retry-After`` beyond ``hourly_limit``
requests an hour (600 by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from emulators.server import Emulator, Request, Response, route

INVALID_KEY: Final = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access "
    "to the site you've requested."
)
MISSING_KEY: Final = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
_KEYS: Final = frozenset(
    {"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include"}
    | {"pagination"}
)
_METRICS: Final = frozenset(
    {"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"}
    | {"events", "percentage", "time_on_page", "scroll_depth"}
)
_DIMENSIONS: Final = frozenset(
    {"event:page", "event:hostname", "event:goal", "visit:source", "visit:country_name"}
    | {"visit:entry_page", "visit:exit_page", "time:day", "time:month"}
)
_OPERATORS: Final = frozenset({"is", "is_not", "contains", "contains_not", "matches"})
_SHORTCUTS: Final = frozenset({"day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year"})


@dataclass
class Views:
    day: date
    pageviews: int
    visitors: int


class PlausibleEmulator(Emulator):
    """One Plausible account: an API key, the sites it sees, page views by day."""

    def __init__(
        self,
        *,
        key: str = "pl4usible-stats-key-0123456789abcdefABCDEF",
        sites: tuple[str, ...] = ("qbsc.example.org",),
        hourly_limit: int = 600,
        plan_has_api: bool = True,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.key = key
        self.sites = sites
        self.hourly_limit = hourly_limit
        self.plan_has_api = plan_has_api
        self.today = today or datetime.now(UTC).date()
        #: (site, path) → views by day.
        self.pages: dict[tuple[str, str], list[Views]] = {}
        self._window: list[datetime] = []

    def visit(self, site: str, path: str, day: date, *, pageviews: int, visitors: int) -> None:
        with self.lock:
            self.pages.setdefault((site, path), []).append(Views(day, pageviews, visitors))

    def queries(self) -> list[dict[str, Any]]:
        """The JSON body of every query that reached the endpoint."""
        with self.lock:
            return [json.loads(r.body) for r in self.requests if r.path == "/api/v2/query"]

    @route("POST", "/api/v2/query")
    def _query(self, request: Request) -> Response:
        refused = self._refuse_key(request)
        if refused is not None:
            return refused
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Response(400, {"error": "#: Required property site_id was not present."})
        try:
            query = json.loads(request.body)
        except ValueError:
            return Response(400, {"error": "Invalid JSON body"})
        if not isinstance(query, dict):
            return Response(400, {"error": "#: Type mismatch. Expected Object but got Array."})
        problem = _invalid(query)
        if problem is not None:
            return Response(400, {"error": problem})
        if query["site_id"] not in self.sites:
            return Response(401, {"error": INVALID_KEY})
        if not self.plan_has_api:
            return Response(
                402,
                {"error": "The account that owns this API key does not have access to Stats API."},
            )
        return Response(200, self._answer(query))

    def _refuse_key(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return Response(401, {"error": MISSING_KEY})
        if header[7:].strip() != self.key:
            return Response(401, {"error": INVALID_KEY})
        now = datetime.now(UTC)
        with self.lock:
            self._window = [t for t in self._window if now - t < timedelta(hours=1)]
            if len(self._window) >= self.hourly_limit:
                wait = 3600 - int((now - self._window[0]).total_seconds())
                return Response(
                    429,
                    {
                        "error": f"Too many API requests. Your API key is limited to "
                        f"{self.hourly_limit} requests per hour. Please contact us to request "
                        "more capacity."
                    },
                    {"Retry-After": str(max(1, wait))},
                )
            self._window.append(now)
        return None

    def _answer(self, query: dict[str, Any]) -> dict[str, Any]:
        start, end = self._range(query["date_range"])
        dimensions: list[str] = query.get("dimensions", [])
        allowed: set[str] | None = None
        for operator, dimension, values in query.get("filters", []):
            if operator == "is" and dimension == "event:page":
                allowed = set(values) if allowed is None else allowed & set(values)
        totals: dict[str, list[int]] = {}
        with self.lock:
            for (site, path), views in self.pages.items():
                if site != query["site_id"] or (allowed is not None and path not in allowed):
                    continue
                for view in views:
                    if start <= view.day <= end:
                        total = totals.setdefault(path, [0, 0])
                        total[0] += view.pageviews
                        total[1] += view.visitors

        def metrics(pageviews: int, visitors: int) -> list[int]:
            values = {"pageviews": pageviews, "visitors": visitors, "visits": visitors}
            return [values.get(m, 0) for m in query["metrics"]]

        if dimensions == ["event:page"]:
            results = [
                {"metrics": metrics(*total), "dimensions": [path]}
                for path, total in sorted(totals.items(), key=lambda item: -item[1][1])
                if total[0] > 0
            ]
        else:
            pageviews = sum(t[0] for t in totals.values())
            visitors = sum(t[1] for t in totals.values())
            results = [{"metrics": metrics(pageviews, visitors), "dimensions": []}]
        return {"results": results, "meta": {}, "query": {**query, "site_id": query["site_id"]}}

    def _range(self, value: str | list[str]) -> tuple[date, date]:
        if value == "day":
            return self.today, self.today
        if value == "all":
            return date.min, self.today
        if isinstance(value, str):
            days = {"7d": 7, "28d": 28, "30d": 30, "91d": 91}.get(value, 365)
            return self.today - timedelta(days=days), self.today
        return date.fromisoformat(value[0]), date.fromisoformat(value[1])


def _invalid(query: dict[str, Any]) -> str | None:
    """What Plausible would say is wrong with ``query``, or None."""
    for key in ("site_id", "metrics", "date_range"):
        if key not in query:
            return f"#: Required property {key} was not present."
    unknown = set(query) - _KEYS
    if unknown:
        return "#: Schema does not allow additional properties."
    metrics = query["metrics"]
    if not isinstance(metrics, list) or not metrics:
        return "#/metrics: Expected a non-empty list of metrics."
    for metric in metrics:
        if metric not in _METRICS:
            return f"#/metrics/0: Invalid metric {json.dumps(metric)}"
    for dimension in query.get("dimensions", []):
        if dimension not in _DIMENSIONS:
            return f"#/dimensions/0: Invalid dimension {json.dumps(dimension)}"
    date_range = query["date_range"]
    if isinstance(date_range, str):
        if date_range not in _SHORTCUTS | {"all"}:
            return f"#/date_range: Invalid date_range {json.dumps(date_range)}"
    elif isinstance(date_range, list) and len(date_range) == 2:
        try:
            first, last = (date.fromisoformat(str(d)) for d in date_range)
        except ValueError:
            return f"Invalid date_range {json.dumps(date_range)}"
        if first > last:
            return f"Invalid date_range {json.dumps(date_range)}"
    else:
        return f"#/date_range: Invalid date_range {json.dumps(date_range)}"
    filters = query.get("filters", [])
    if not isinstance(filters, list):
        return "#/filters: Type mismatch. Expected Array but got Object."
    for number, item in enumerate(filters):
        if not (isinstance(item, list) and len(item) == 3):
            return f"#/filters/{number}: Invalid filter {json.dumps(item)}"
        operator, dimension, values = item
        if operator not in _OPERATORS or dimension not in _DIMENSIONS:
            return f"#/filters/{number}: Invalid filter {json.dumps(item)}"
        if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
            return f"#/filters/{number}: Invalid filter {json.dumps(item)}"
    return None

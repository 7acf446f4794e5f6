"""Reading a Facebook post's figures: the fields asked for and the answer's numbers.

The public counters (shares, reactions and comments totals) come with every
reading; the post insights Meta still gives come by field expansion
(``post_media_view`` for views, which replaced ``post_impressions`` in
November 2025; ``post_total_media_view_unique`` for reach; ``post_clicks``
while it lasts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from visibility.adapters.base import Engagement
from visibility.adapters.graph_client import GraphAnswer

ENGAGEMENT_FIELDS = (
    "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)
VIEWS = "post_media_view"  # lifetime views: what impressions became in November 2025
REACH = "post_total_media_view_unique"
CLICKS = "post_clicks"
#: The post insights read with the counters, in the order they are tried when
#: Graph refuses one without naming it (the likeliest to go last).
INSIGHT_METRICS = (VIEWS, REACH, CLICKS)


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _summary_total(obj: Mapping[str, Any], edge: str) -> int | None:
    node = obj.get(edge)
    if not isinstance(node, Mapping):
        return None
    summary = node.get("summary")
    if not isinstance(summary, Mapping):
        return None
    return _count(summary.get("total_count"))


def engagement_fields(metrics: Sequence[str]) -> str:
    """The ``fields`` of an engagement call: the counters, and ``metrics`` if any."""
    if not metrics:
        return ENGAGEMENT_FIELDS
    return f"{ENGAGEMENT_FIELDS},insights.metric({','.join(metrics)})"


class MetricSearch:
    """Finds which of several metrics Graph refuses, when it does not say which.

    Graph refused a call asking for all of ``candidates``. Each further call
    asks for the metrics found good so far and the next candidate: its answer
    settles that one. When all before the last were good, the last is the one
    refused, and is settled without a call.
    """

    def __init__(self, candidates: Sequence[str], said: str) -> None:
        self.candidates = list(candidates)
        self.said = said
        self.confirmed: list[str] = []
        self.rejected: list[str] = []
        self.answer: GraphAnswer | None = None  # the latest good answer: for ``confirmed``
        self._next = 0

    @property
    def asked(self) -> list[str]:
        return [*self.confirmed, self.candidates[self._next]]

    @property
    def done(self) -> bool:
        return self._next >= len(self.candidates)

    def record(self, answer: GraphAnswer | None) -> None:
        """The call for ``asked`` answered ``answer``, or None: refused the metric."""
        metric = self.candidates[self._next]
        self._next += 1
        if answer is None:
            self.rejected.append(metric)
        else:
            self.confirmed.append(metric)
            self.answer = answer
        if self._next == len(self.candidates) - 1 and not self.rejected:
            self.rejected.append(self.candidates[self._next])
            self._next += 1


def _insight_values(node: Any) -> dict[str, int]:
    """``{metric: lifetime value}`` from a post's ``insights`` edge, numbers only."""
    data = node.get("data") if isinstance(node, Mapping) else None
    values: dict[str, int] = {}
    for entry in data if isinstance(data, list) else []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        series = entry.get("values")
        last = series[-1] if isinstance(series, list) and series else None
        value = _count(last.get("value")) if isinstance(last, Mapping) else None
        name = entry["name"]
        if value is not None and (name not in values or entry.get("period") == "lifetime"):
            values[name] = value
    return values


def _without_paging(value: Any) -> Any:
    """``value`` without Graph's ``paging`` links: they carry the access token."""
    if isinstance(value, Mapping):
        return {k: _without_paging(v) for k, v in value.items() if k != "paging"}
    if isinstance(value, list):
        return [_without_paging(v) for v in value]
    return value


def reading(external_id: str, obj: Mapping[str, Any], unavailable: Mapping[str, str]) -> Engagement:
    shares_node = obj.get("shares")
    # Graph leaves "shares" out altogether while a post has none.
    shares = _count(shares_node.get("count")) if isinstance(shares_node, Mapping) else 0
    insights = _insight_values(obj.get("insights"))
    raw = _without_paging(obj)
    if unavailable:
        raw["unavailable"] = dict(unavailable)
    return Engagement(
        external_id=external_id,
        impressions=insights.get(VIEWS),
        reactions=_summary_total(obj, "reactions"),
        comments=_summary_total(obj, "comments"),
        shares=shares,
        clicks=insights.get(CLICKS),
        raw=raw,
    )

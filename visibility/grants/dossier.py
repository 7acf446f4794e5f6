"""A grant's visibility dossier: every visibility action under the grant in its
period, with what each post carried and what it reached.

``Dossier`` is what the HTML and PDF renderers read; ``build_dossier`` gathers
it from the store (the report of the grant's period, limited to its news
items, plus each post's compliance).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from visibility.grants.model import Compliance, Grant
from visibility.queue.types import utcnow
from visibility.reports.figures import PostReport, Report, Totals

if TYPE_CHECKING:
    from visibility.workflow import Visibility


@dataclass(frozen=True)
class DossierPost:
    """One published post: the report's record of it and its compliance."""

    report: PostReport
    compliance: Compliance

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "compliance": self.compliance.to_dict()}


@dataclass(frozen=True)
class MonthRow:
    """One channel's posts published in one local month, with their latest figures."""

    month: date  # the month's first day
    channel: str
    posts: int
    totals: Totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "month": self.month.strftime("%Y-%m"),
            "channel": self.channel,
            **self.totals.to_dict(),
        }


@dataclass(frozen=True)
class Dossier:
    grant: Grant
    report: Report  # the grant's period (to today at most), its news items only
    posts: tuple[DossierPost, ...]  # in the report's order
    by_month: tuple[MonthRow, ...]
    emblem_png: bytes | None = None  # the grant's emblem, for the cover

    @property
    def checked(self) -> tuple[DossierPost, ...]:
        """Posts some rule applies to."""
        return tuple(p for p in self.posts if p.compliance.status != "no_rules")

    @property
    def compliant(self) -> tuple[DossierPost, ...]:
        return tuple(p for p in self.posts if p.compliance.status == "compliant")

    @property
    def exceptions(self) -> tuple[DossierPost, ...]:
        """Posts that went out without a required element: overridden (with the
        approver's reason) or missing (published before the rule was checked)."""
        return tuple(p for p in self.posts if p.compliance.status in ("missing", "overridden"))

    @property
    def compliance_rate(self) -> float | None:
        """Compliant posts over posts some rule applies to; None when there are none."""
        checked = self.checked
        return len(self.compliant) / len(checked) if checked else None

    def to_dict(self) -> dict[str, Any]:
        g = self.grant
        return {
            "grant": {
                "name": g.name,
                "donor": g.donor,
                "donor_name": g.donor_name,
                "title": g.title,
                "contract": g.contract,
                "starts_on": g.starts_on.isoformat(),
                "ends_on": g.ends_on.isoformat(),
            },
            "period": self.report.period.to_dict(),
            "generated_at": self.report.generated_at.isoformat(),
            "compliance": {
                "rate": self.compliance_rate,
                "checked": len(self.checked),
                "compliant": len(self.compliant),
                "exceptions": [
                    {
                        "post_id": p.report.post.id,
                        "channel": p.report.post.channel,
                        "status": p.compliance.status,
                        "missing": [c.needed for c in p.compliance.missing],
                        "override": None
                        if p.compliance.override is None
                        else p.compliance.override.to_dict(),
                    }
                    for p in self.exceptions
                ],
            },
            "totals": self.report.totals.to_dict(),
            "channels": [c.to_dict() for c in self.report.channels],
            "by_month": [m.to_dict() for m in self.by_month],
            "posts": [p.to_dict() for p in self.posts],
        }


def _months(posts: Sequence[PostReport], report: Report) -> tuple[MonthRow, ...]:
    grouped: dict[tuple[date, str], list[PostReport]] = defaultdict(list)
    for post in posts:
        day = report.period.local_day(post.published_at)
        grouped[(day.replace(day=1), post.post.channel)].append(post)
    order = {c.name: n for n, c in enumerate(report.channels)}
    return tuple(
        MonthRow(month, channel, len(items), Totals.of(len(items), [p.latest for p in items]))
        for (month, channel), items in sorted(
            grouped.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 999), kv[0][1])
        )
    )


def build_dossier(
    app: Visibility,
    name: str,
    *,
    first: str | None = None,
    last: str | None = None,
    now: datetime | None = None,
) -> Dossier:
    """The dossier of grant ``name``: its period (or ``first``..``last`` within it,
    as YYYY-MM-DD), up to today."""
    from visibility.reports.figures import build_report, parse_period

    grant = app.store.grant(name)
    timezone = app.config.organisation.timezone
    now = now or utcnow()
    today = now.astimezone(ZoneInfo(timezone)).date()
    start = first or grant.starts_on.isoformat()
    end = last or min(grant.ends_on, max(today, grant.starts_on)).isoformat()
    period = parse_period(start, end, timezone)
    report = build_report(app, period, grant=name, now=now)
    views = [p.post for p in report.posts]
    compliance = app.compliance_of(views)
    posts = tuple(DossierPost(p, compliance[p.post.id]) for p in report.posts)
    emblem = None
    if grant.emblem_sha256 is not None:
        stored = app.image_files.find(grant.emblem_sha256)
        if stored is not None:
            emblem = stored.path.read_bytes()
    return Dossier(grant, report, posts, _months(report.posts, report), emblem)

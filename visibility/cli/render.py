"""How records look on a terminal (Rich tables); JSON output lives in the records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from visibility.config.channels import Channel

if TYPE_CHECKING:
    from visibility.derive.limits import Measure
    from visibility.grants.model import Compliance
from visibility.queue.models import ChannelAccount
from visibility.queue.views import AttemptView, CommentView, NewsView, PostView

_STATUS_STYLE = {
    "draft": "yellow",
    "approved": "cyan",
    "scheduled": "blue",
    "publishing": "magenta",
    "published": "green",
    "failed": "bold red",
    "cancelled": "dim",
}


def measured(post: PostView) -> Measure:
    # Imported here: the tweet counter is heavy, and `visibility run` never needs it.
    from visibility.derive.limits import measure

    return measure(post.kind, post.body)


def when(post: PostView, channel: Channel | None = None, *, short: bool = False) -> str:
    """The scheduled time in the channel's timezone (UTC when the channel is unknown)."""
    if post.scheduled_at is None:
        return "-"
    if channel is None:
        return post.scheduled_at.strftime("%Y-%m-%d %H:%M UTC")
    local = post.scheduled_at.astimezone(channel.tz)
    if short:
        return f"{local:%Y-%m-%d %H:%M %Z}"
    return f"{local:%Y-%m-%d %H:%M %Z} ({channel.timezone})"


def _status(post: PostView) -> Text:
    return Text(post.status.value, style=_STATUS_STYLE.get(post.status.value, ""))


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def posts_table(
    posts: Sequence[PostView],
    *,
    waiting: Mapping[int, str | None] | None = None,
    channels: Mapping[str, Channel] | None = None,
) -> Table:
    table = Table(title=None, show_lines=False)
    for column in ("id", "news", "channel", "status", "scheduled", "length", "text / note"):
        table.add_column(column, overflow="fold")
    for post in posts:
        note = post.last_error or (waiting or {}).get(post.id) or _one_line(post.title or post.body)
        m = measured(post)
        length = f"{m.length}/{m.limit}" if m.limit else str(m.length)
        table.add_row(
            str(post.id),
            str(post.news_item_id),
            post.channel,
            _status(post),
            when(post, (channels or {}).get(post.channel), short=True),
            length,
            note,
        )
    return table


def news_table(items: Sequence[NewsView]) -> Table:
    table = Table()
    for column in ("id", "language", "date", "title", "source"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.id),
            item.language,
            item.dateline_date.isoformat() if item.dateline_date else "-",
            _one_line(item.title, 70),
            item.source,
        )
    return table


def news_detail(news: NewsView) -> Panel:
    lines = [
        news.title,
        f"social title: {news.social_title}",
        f"language: {news.language}   format: {news.source_format}   source: {news.source}",
    ]
    if news.dateline_date or news.dateline_place:
        lines.append(f"dateline: {news.dateline_date or '?'}, {news.dateline_place or '?'}")
    if news.contact_email:
        lines.append(f"contact: {news.contact_email}")
    if news.canonical_url:
        lines.append(f"url: {news.canonical_url}")
    lines.append("")
    lines.append(news.lead)
    return Panel(Text("\n".join(lines)), title=f"news item {news.id}")


def post_detail(
    post: PostView, channel: Channel, waiting: str | None, article: PostView | None = None
) -> Panel:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("channel", f"{post.channel} ({channel.kind}, posts as {post.kind})")
    head.add_row("status", _status(post))
    head.add_row("news item", str(post.news_item_id))
    head.add_row("scheduled", when(post, channel))
    head.add_row("length", str(measured(post)))
    if post.approved_by:
        head.add_row("approved by", f"{post.approved_by} at {post.approved_at:%Y-%m-%d %H:%M} UTC")
    if post.returned_at is not None:
        to = f" to {post.returned_to}" if post.returned_to else ""
        head.add_row("sent back", f"{to.strip() or 'yes'} at {post.returned_at:%Y-%m-%d %H:%M} UTC")
    if waiting:
        head.add_row("waiting", waiting)
    if post.external_id:
        head.add_row("published", f"{post.external_id} {post.external_url or ''}")
    if article is not None:
        head.add_row(
            "links to",
            f"the article on {article.channel} (post {article.id}, {article.status.value})",
        )
    if post.engagement_note:
        head.add_row("engagement", post.engagement_note)
    if post.last_error:
        head.add_row("last error", Text(post.last_error, style="red"))
    parts: list[Any] = [head, Text("")]
    if post.sent is not None:
        # Published: show what went out, not the template it came from.
        parts.append(Text("as sent to the platform:", style="bold"))
        if post.sent.title:
            parts.append(Text(post.sent.title, style="bold"))
        for number, part in enumerate(post.sent.parts or (post.sent.body,), 1):
            if len(post.sent.parts) > 1:
                parts.append(Text(f"({number}/{len(post.sent.parts)})", style="dim"))
            parts.append(Text(part))
        if post.sent.link:
            parts.append(Text(f"link: {post.sent.link}"))
        for entry in post.sent.media:
            digest, _, alt = entry.partition(" ")
            parts.append(Text(f"picture: {alt} ({digest[:12]})"))
        return Panel(Group(*parts), title=f"post {post.id}")
    if post.title:
        parts.append(Text(post.title, style="bold"))
    parts.append(Text(post.body))
    return Panel(Group(*parts), title=f"post {post.id}")


def attempts_table(attempts: Sequence[AttemptView]) -> Table:
    table = Table(title="publish attempts")
    for column in ("#", "started (UTC)", "worker", "outcome", "external id / error"):
        table.add_column(column, overflow="fold")
    for number, attempt in enumerate(attempts, 1):
        table.add_row(
            str(number),
            f"{attempt.started_at:%Y-%m-%d %H:%M:%S}",
            attempt.worker,
            attempt.outcome or "in flight",
            attempt.error or attempt.external_id or "",
        )
    return table


_COMMENT_KIND = {"returned": "sent back", "resubmitted": "resubmitted", "note": "note"}


def comments_table(comments: Sequence[CommentView]) -> Table:
    """A post's review trail, oldest first."""
    table = Table(title="review")
    for column in ("when (UTC)", "who", "what", "comment"):
        table.add_column(column, overflow="fold")
    for comment in comments:
        table.add_row(
            f"{comment.at:%Y-%m-%d %H:%M}",
            comment.by,
            _COMMENT_KIND.get(comment.kind, comment.kind),
            comment.text,
        )
    return table


def channel_dict(channel: Channel, account: ChannelAccount | None) -> dict[str, Any]:
    return {
        "name": channel.name,
        "kind": channel.kind,
        "posts_as": channel.post_kind,
        "enabled": channel.enabled,
        "language": channel.language,
        "timezone": channel.timezone,
        "slots": [str(s) for s in channel.slots],
        "hashtags": list(channel.hashtags),
        "secrets": sorted(channel.secrets),  # names of roles only, never values
        "attention": account.attention if account else None,
    }


def channels_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table()
    for column in ("name", "kind", "posts as", "enabled", "language", "timezone", "slots", "note"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["kind"],
            row["posts_as"],
            "yes" if row["enabled"] else "no",
            row["language"] or "any",
            row["timezone"],
            ", ".join(row["slots"]) or "-",
            row["attention"] or "",
        )
    return table


def status(report: Mapping[str, Any]) -> Group:
    workers = Table(title="workers")
    for column in ("name", "state", "last heartbeat (UTC)", "started (UTC)"):
        workers.add_column(column)
    for worker in report["workers"]:
        style = {"alive": "green", "silent": "red"}.get(worker["state"], "dim")
        workers.add_row(
            worker["name"],
            Text(worker["state"], style=style),
            worker["heartbeat_at"][:19].replace("T", " "),
            worker["started_at"][:19].replace("T", " "),
        )
    posts = report["posts"]
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("due now", str(report["due_now"]))
    summary.add_row("in flight", str(report["in_flight"]))
    summary.add_row(
        "in doubt", Text(str(report["in_doubt"]), style="red" if report["in_doubt"] else "")
    )
    summary.add_row("failed in the last day", str(report["failed_last_day"]))
    summary.add_row("scheduled", str(posts.get("scheduled", 0)))
    summary.add_row("published", str(posts.get("published", 0)))
    for name, reason in report["held_channels"].items():
        summary.add_row(f"held: {name}", Text(reason, style="red"))
    nexts = Table(title="next due per channel")
    nexts.add_column("channel")
    nexts.add_column("due (UTC)")
    for name, when in sorted(report["next_due"].items()):
        nexts.add_row(name, when[:16].replace("T", " "))
    return Group(workers, summary, nexts)


_COMPLIANCE = {
    "compliant": ("carries what its grants require", "green"),
    "missing": ("LACKS what its grants require", "bold red"),
    "overridden": ("lacks what its grants require; approved as an exception", "yellow"),
}
_RULE = {"met": "✓", "missing": "✗", "not_applicable": "–"}


def compliance_lines(compliance: Compliance) -> Text:
    """A post's compliance: the verdict, then each rule with its mark."""
    verdict, style = _COMPLIANCE.get(compliance.status, ("no grant rules apply", ""))
    text = Text("grants: ", style="bold")
    text.append(verdict, style=style)
    for check in compliance.checks:
        found = f" (has the {check.found})" if check.found else ""
        text.append(f"\n  {_RULE[check.status]} {check.grant}: {check.needed}{found}")
    if compliance.override is not None:
        o = compliance.override
        text.append(f"\n  exception approved by {o.by}: {o.reason}")
    return text

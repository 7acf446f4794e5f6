"""The ``visibility`` command line for communications staff.

Every command prints one clear line and exits non-zero on a user mistake
(``UserError``); ``--json`` prints the records with all their fields for
scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.text import Text

from visibility import __version__
from visibility.cli import render
from visibility.cli.editor import edit_text
from visibility.errors import UserError, VisibilityError
from visibility.queue.states import PostStatus
from visibility.queue.store import PostView
from visibility.queue.types import utcnow
from visibility.workflow import Visibility

app = typer.Typer(
    help="Turn news items into website articles, Facebook posts and tweets, on schedule.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
news_app = typer.Typer(help="News items: add and look at them.", no_args_is_help=True)
posts_app = typer.Typer(
    help="Visibility posts: review, edit, approve, schedule.", no_args_is_help=True
)
channels_app = typer.Typer(help="Channel accounts.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(news_app, name="news")
app.add_typer(posts_app, name="posts")
app.add_typer(channels_app, name="channels")
app.add_typer(db_app, name="db")

# markup=False: titles and posts are user text; "[online]" must print as written.
out = Console(highlight=False, soft_wrap=True, markup=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON records for scripts.")]


@contextmanager
def _open() -> Iterator[Visibility]:
    visibility = Visibility.open()
    try:
        yield visibility
    finally:
        visibility.close()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _each(
    v: Visibility,
    post_ids: list[int],
    action: Callable[[int], PostView],
    as_json: bool,
    say: Callable[[PostView], str],
) -> None:
    """Apply ``action`` to every id; report each success and each refusal, exit 1 on any."""
    done: list[PostView] = []
    errors: list[str] = []
    for post_id in post_ids:
        try:
            done.append(action(post_id))
        except UserError as exc:
            errors.append(str(exc))
    if as_json:
        _print_json([_post_dict(v, p.id) for p in done])
    else:
        for post in done:
            out.print(say(post))
    if errors:
        raise UserError("; ".join(errors))


def _post_dict(v: Visibility, post_id: int) -> dict[str, Any]:
    post = v.store.get_post(post_id)
    data = post.to_dict()
    data["waiting"] = v.waiting_reason(post)
    m = render.measured(post)
    data["measured"] = {"length": m.length, "limit": m.limit or None, "unit": m.unit}
    return data


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"visibility {__version__}")
        raise typer.Exit()


# -- news ----------------------------------------------------------------


@news_app.command("add")
def news_add(
    path: Annotated[Path, typer.Argument(help="A .txt, .md or .html file; - reads stdin.")],
    language: Annotated[
        str | None, typer.Option(help="Language code (sq, sr, en); detected when omitted.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a news item and derive a draft post for every channel."""
    with _open() as v:
        if str(path) == "-":
            added = v.add_news_text(sys.stdin.read(), source="<stdin>", fmt=None, language=language)
        else:
            added = v.add_news_file(path, language=language)
        if as_json:
            _print_json(
                {
                    "news_item": added.news.to_dict(),
                    "created": added.created,
                    "posts": [_post_dict(v, p.id) for p in added.posts],
                }
            )
            return
        verb = "added" if added.created else "already known as"
        out.print(f"news item {added.news.id} {verb}: {added.news.title}")
        out.print(render.posts_table(added.posts, channels={c.name: c for c in v.config.channels}))


@news_app.command("import-feed")
def news_import_feed(
    location: Annotated[str, typer.Argument(help="The RSS or Atom feed's URL (or a file).")],
    from_channel: Annotated[
        str | None,
        typer.Option(
            help="The website channel the feed belongs to; its items are not published back to it."
        ),
    ] = None,
    language: Annotated[str | None, typer.Option(help="Language of the entries.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add every new entry of a website's feed as a news item, with its drafts."""
    from rich.progress import Progress

    with _open() as v, Progress(console=out, transient=True, disable=as_json) as bar:
        task = bar.add_task("reading entries", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = v.import_feed(
            location, from_channel=from_channel, language=language, progress=progress
        )
    if as_json:
        _print_json(result.to_dict())
        return
    out.print(
        f"{len(result.added)} new news items, {result.known} already known, "
        f"{len(result.skipped)} skipped"
    )
    for added in result.added:
        out.print(f"  news item {added.news.id}: {added.news.title} ({len(added.posts)} drafts)")
    for skipped in result.skipped:
        out.print(f"  skipped {skipped.guid}: {skipped.reason}")


@news_app.command("list")
def news_list(as_json: JsonOpt = False) -> None:
    """List news items, newest first."""
    with _open() as v:
        items = v.store.list_news()
        if as_json:
            _print_json([n.to_dict() for n in items])
            return
        out.print(render.news_table(items))


@news_app.command("show")
def news_show(news_id: int, as_json: JsonOpt = False) -> None:
    """Show a news item and its posts."""
    with _open() as v:
        news = v.store.get_news(news_id)
        posts = v.store.list_posts(news_item_id=news_id)
        if as_json:
            _print_json({**news.to_dict(), "posts": [_post_dict(v, p.id) for p in posts]})
            return
        out.print(render.news_detail(news))
        out.print(render.posts_table(posts, channels={c.name: c for c in v.config.channels}))


# -- posts ---------------------------------------------------------------


def _status(values: list[str] | None) -> list[PostStatus]:
    result = []
    for value in values or []:
        try:
            result.append(PostStatus(value))
        except ValueError:
            known = ", ".join(s.value for s in PostStatus)
            raise UserError(f"unknown status {value!r}; use one of {known}") from None
    return result


@posts_app.command("list")
def posts_list(
    status: Annotated[
        list[str] | None, typer.Option(help="Only posts in this status (repeatable).")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel account.")] = None,
    news: Annotated[int | None, typer.Option(help="Only posts of this news item.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List posts with their status and schedule."""
    with _open() as v:
        if channel is not None:
            v.config.channel(channel)
        posts = v.store.list_posts(status=_status(status), channel=channel, news_item_id=news)
        if as_json:
            _print_json([_post_dict(v, p.id) for p in posts])
            return
        out.print(
            render.posts_table(
                posts,
                waiting={p.id: v.waiting_reason(p) for p in posts},
                channels={c.name: c for c in v.config.channels},
            )
        )


@posts_app.command("show")
def posts_show(post_id: int, as_json: JsonOpt = False) -> None:
    """Show a post in full, with every publish attempt."""
    with _open() as v:
        post = v.store.get_post(post_id)
        attempts = v.store.attempts(post_id)
        if as_json:
            _print_json({**_post_dict(v, post_id), "attempt_log": [a.to_dict() for a in attempts]})
            return
        out.print(render.post_detail(post, v.channel_of(post), v.waiting_reason(post)))
        if attempts:
            out.print(render.attempts_table(attempts))


@posts_app.command("edit")
def posts_edit(
    post_id: int,
    text: Annotated[str | None, typer.Option(help="The new text (else $EDITOR opens).")] = None,
    title: Annotated[str | None, typer.Option(help="A new title (website posts).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a post's text; an approved or scheduled post goes back to draft."""
    with _open() as v:
        post = v.store.get_post(post_id)
        if text is None and title is None:
            edited = edit_text(post.body, suffix=".html" if post.kind == "website" else ".txt")
            if edited.strip() == post.body.strip():
                out.print(f"post {post_id} unchanged")
                return
            text = edited.strip()
        updated = v.edit(post_id, body=text, title=title)
        if as_json:
            _print_json(_post_dict(v, post_id))
            return
        out.print(f"post {post_id} edited, now {updated.status.value} ({render.measured(updated)})")


@posts_app.command("approve")
def posts_approve(
    post_ids: Annotated[list[int], typer.Argument(help="One or more post ids.")],
    by: Annotated[str, typer.Option("--by", help="Who approves.")],
    as_json: JsonOpt = False,
) -> None:
    """Approve posts for publishing (they must fit their channel's limits)."""
    with _open() as v:
        _each(
            v,
            post_ids,
            lambda pid: v.approve(pid, by=by),
            as_json,
            lambda p: f"post {p.id} approved by {p.approved_by}",
        )


@posts_app.command("schedule")
def posts_schedule(
    post_ids: Annotated[list[int], typer.Argument(help="One or more post ids.")],
    at: Annotated[
        str | None,
        typer.Option(help="Wall time in the channel's timezone, e.g. '2026-12-01 09:30'."),
    ] = None,
    next_slot: Annotated[
        bool, typer.Option("--next-slot", help="The channel's next free posting slot.")
    ] = False,
    now: Annotated[bool, typer.Option("--now", help="As soon as possible.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Schedule approved posts."""
    if sum((at is not None, next_slot, now)) != 1:
        raise UserError("say when, with exactly one of --at TIME, --next-slot or --now")
    mode: Literal["at", "next-slot", "now"] = (
        "at" if at is not None else "next-slot" if next_slot else "now"
    )
    with _open() as v:

        def say(post: PostView) -> str:
            text = f"post {post.id} scheduled for {render.when(post, v.channel_of(post))}"
            if mode == "at" and post.scheduled_at and post.scheduled_at < utcnow():
                text += " (that time has passed: it goes out at once)"
            return text

        _each(v, post_ids, lambda pid: v.schedule(pid, at=at, mode=mode), as_json, say)


@posts_app.command("cancel")
def posts_cancel(post_ids: list[int], as_json: JsonOpt = False) -> None:
    """Cancel posts that have not been published."""
    with _open() as v:

        def say(post: PostView) -> str:
            text = f"post {post.id} cancelled"
            waiting = v.store.dependents(post.id)
            if waiting:
                ids = " ".join(str(p.id) for p in waiting)
                text += (
                    f"; posts {ids} link to this article and will not go out without it: "
                    f"cancel them too (visibility posts cancel {ids}) or edit them"
                )
            return text

        _each(v, post_ids, v.cancel, as_json, say)


@posts_app.command("retry")
def posts_retry(post_ids: list[int], as_json: JsonOpt = False) -> None:
    """Send failed posts back to approved, to be scheduled again."""
    with _open() as v:
        _each(
            v,
            post_ids,
            v.retry,
            as_json,
            lambda p: f"post {p.id} is approved again; schedule it to publish",
        )


@posts_app.command("confirm")
def posts_confirm(
    post_id: int,
    url: Annotated[str, typer.Option(help="The post's address on the channel.")],
    by: Annotated[str, typer.Option("--by", help="Who checked the channel.")],
    external_id: Annotated[
        str | None, typer.Option(help="The channel's id for the post, when known.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A post in doubt is on the channel after all: record it as published."""
    with _open() as v:
        post = v.confirm(post_id, url=url, by=by, external_id=external_id)
        if as_json:
            _print_json(_post_dict(v, post.id))
            return
        out.print(f"post {post.id} recorded as published: {post.external_url}")


@posts_app.command("resend")
def posts_resend(
    post_id: int,
    by: Annotated[str, typer.Option("--by", help="Who checked the channel.")],
    as_json: JsonOpt = False,
) -> None:
    """A post in doubt is not on the channel: send it again now."""
    with _open() as v:
        post = v.resend(post_id, by=by)
        if as_json:
            _print_json(_post_dict(v, post.id))
            return
        out.print(f"post {post.id} will be sent again now")


# -- channels, db, run ---------------------------------------------------


@channels_app.command("list")
def channels_list(as_json: JsonOpt = False) -> None:
    """List channel accounts from the configuration."""
    with _open() as v:
        accounts = {a.name: a for a in v.store.channel_accounts()}
        rows = [render.channel_dict(c, accounts.get(c.name)) for c in v.config.channels]
        if as_json:
            _print_json(rows)
            return
        source = v.config.source or "built-in defaults (three dry-run channels)"
        out.print(f"channels from {source}")
        out.print(render.channels_table(rows))


@channels_app.command("check")
def channels_check(
    names: Annotated[
        list[str] | None, typer.Argument(help="Channel names; all enabled ones when omitted.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Verify each account's credentials with a harmless read call."""
    with _open() as v:
        results = v.check_channels(names)
        if as_json:
            _print_json([r.to_dict() for r in results])
        else:
            for result in results:
                mark = ("ok", "green") if result.ok else ("needs attention", "red")
                out.print(Text.assemble(f"{result.channel}: ", mark, f" {result.message}"))
        if not all(r.ok for r in results):
            raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the database tables."""
    with _open() as v:
        out.print(f"database is up to date: {v.engine.url.render_as_string(hide_password=True)}")


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Workers and their heartbeats; posts due, in flight, in doubt and failing."""
    with _open() as v:
        report = v.status()
        if as_json:
            _print_json(report)
            return
        out.print(render.status(report))


@app.command("run")
def run(
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Add the shipped sample news item, approve and publish its posts now, then exit.",
        ),
    ] = False,
    exit_when_idle: Annotated[
        bool, typer.Option("--exit-when-idle", help="Exit once nothing is due or publishing.")
    ] = False,
) -> None:
    """Run the scheduler service that publishes due posts (stop with Ctrl-C or SIGTERM)."""
    from visibility.service.demo import run_demo
    from visibility.service.runner import Service, idle

    with _open() as v:
        v.setup_logging()
        if demo:
            run_demo(v, out)
            return
        service = Service(v)
        service.run_forever(until=(lambda: idle(v)) if exit_when_idle else None)


# -- report --------------------------------------------------------------

_REPORT_FORMATS = ("table", "csv", "html", "json")


@app.command("report")
def report(
    first: Annotated[
        str | None,
        typer.Option("--from", help="First day, YYYY-MM-DD, in the organisation's timezone."),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD; the whole day is included.")
    ] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel account.")] = None,
    news_item: Annotated[
        str | None, typer.Option("--news-item", help="Only the posts of this news item (its id).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="table (default), csv, html or json.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option(help="Write the report to this file instead of the terminal.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the charts to this .svg or .png file.")
    ] = None,
) -> None:
    """What was published where in a period, and what it reached: reports for donors."""
    # Imported here: matplotlib is slow to load and only reports need it.
    from visibility.reports.charts import write_chart
    from visibility.reports.export import to_csv, to_json, to_table
    from visibility.reports.figures import build_report, parse_period
    from visibility.reports.render_html import render_html

    fmt = fmt.strip().lower()
    if fmt not in _REPORT_FORMATS:
        raise UserError(f"unknown format {fmt!r}: use one of {', '.join(_REPORT_FORMATS)}")
    if chart is not None and chart.suffix.lower() not in (".svg", ".png"):
        raise UserError(f"--chart {chart}: give a file name ending in .svg or .png")
    news_item_id: int | None = None
    if news_item is not None:
        try:
            news_item_id = int(news_item)
        except ValueError:
            raise UserError(
                f"--news-item {news_item!r}: give the news item's number, e.g. --news-item 12 "
                "(`visibility news list` shows them)"
            ) from None
    with _open() as v:
        period = parse_period(first, last, v.config.organisation.timezone)
        data = build_report(v, period, channel=channel, news_item_id=news_item_id)
    try:
        if chart is not None:
            write_chart(data, chart)
        if fmt == "table":
            if output is None:
                out.print(to_table(data))
            else:
                with output.open("w", encoding="utf-8") as fh:
                    Console(
                        file=fh, width=140, markup=False, highlight=False, color_system=None
                    ).print(to_table(data))
        else:
            text = {"csv": to_csv, "json": to_json, "html": render_html}[fmt](data)
            if output is None:
                sys.stdout.write(text)
            else:
                output.write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename}: {exc.strerror}") from None
    if output is not None:
        out.print(f"report written to {output} ({len(data.posts)} posts)")
    if chart is not None and (output is not None or fmt == "table"):
        out.print(f"charts written to {chart}")


def main() -> None:
    import visibility.cli.admin  # noqa: F401  (registers users, tokens, serve)

    try:
        app()
    except VisibilityError as exc:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        err.print("error:", style="bold red", end=" ")
        err.print(str(exc), markup=False)
        sys.exit(1)

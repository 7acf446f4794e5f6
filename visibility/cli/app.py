"""The ``visibility`` command line for communications staff.

Every command prints one clear line and exits non-zero on a user mistake
(``UserError``); ``--json`` prints the records with all their fields for
scripts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from visibility import __version__
from visibility.cli import admin, render
from visibility.cli.common import JsonOpt, open_visibility, out, print_json
from visibility.cli.grants import grants_app
from visibility.cli.news import news_app
from visibility.cli.posts import posts_app
from visibility.errors import UserError, VisibilityError

app = typer.Typer(
    help="Turn news items into website articles, Facebook posts and tweets, on schedule.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
channels_app = typer.Typer(help="Channel accounts.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
# Every command group is registered here and nowhere else.
app.add_typer(news_app, name="news")
app.add_typer(posts_app, name="posts")
app.add_typer(grants_app, name="grants")
app.add_typer(channels_app, name="channels")
app.add_typer(db_app, name="db")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.tokens_app, name="tokens")
app.command("serve")(admin.serve)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        out.print(f"visibility {__version__}")
        raise typer.Exit()


# -- channels, db, run ---------------------------------------------------


@channels_app.command("list")
def channels_list(as_json: JsonOpt = False) -> None:
    """List channel accounts from the configuration."""
    with open_visibility() as v:
        accounts = {a.name: a for a in v.store.channel_accounts()}
        rows = [render.channel_dict(c, accounts.get(c.name)) for c in v.config.channels]
        if as_json:
            print_json(rows)
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
    with open_visibility() as v:
        results = v.check_channels(names)
        if as_json:
            print_json([r.to_dict() for r in results])
        else:
            for result in results:
                mark = ("ok", "green") if result.ok else ("needs attention", "red")
                out.print(Text.assemble(f"{result.channel}: ", mark, f" {result.message}"))
        if not all(r.ok for r in results):
            raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or update the database tables."""
    with open_visibility() as v:
        out.print(f"database is up to date: {v.engine.url.render_as_string(hide_password=True)}")


@app.command("status")
def status(as_json: JsonOpt = False) -> None:
    """Workers and their heartbeats; posts due, in flight, in doubt and failing."""
    with open_visibility() as v:
        report = v.status()
        if as_json:
            print_json(report)
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

    with open_visibility() as v:
        v.setup_logging()
        if demo:
            run_demo(v, out)
            return
        service = Service(v)
        service.run_forever(until=(lambda: idle(v)) if exit_when_idle else None)


# -- report --------------------------------------------------------------

_REPORT_FORMATS = ("table", "csv", "html", "json", "pdf")


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
    grant: Annotated[
        str | None,
        typer.Option(
            help="The visibility dossier of this grant: its period (or --from/--to within "
            "it), its news items' posts, what each carried and reached (html, pdf, json)."
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="table (default), csv, html, json, or pdf (with --grant)."),
    ] = "table",
    output: Annotated[
        Path | None, typer.Option(help="Write the report to this file instead of the terminal.")
    ] = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the charts to this .svg or .png file.")
    ] = None,
) -> None:
    """What was published where in a period, and what it reached: reports for donors."""
    # Imported here: only reports need them (Pillow, for a PNG chart, loads slowly).
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
    if fmt == "pdf" and grant is None:
        raise UserError("--format pdf is the grant dossier: add --grant NAME")
    if fmt == "pdf" and output is None:
        raise UserError("--format pdf writes a file: add --output FILE.pdf")
    if grant is not None:
        if channel is not None or news_item_id is not None:
            raise UserError(
                "--grant covers all the grant's posts: leave out --channel and --news-item"
            )
        _dossier(grant, first, last, fmt, output)
        return
    with open_visibility() as v:
        period = parse_period(first, last, v.config.organisation.timezone)
        data = build_report(v, period, channel=channel, news_item_id=news_item_id)
        pictures = v.image_files  # the HTML report shows each post's pictures
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
            if fmt == "html":
                text = render_html(data, images=pictures)
            else:
                text = {"csv": to_csv, "json": to_json}[fmt](data)
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


def _dossier(
    grant: str, first: str | None, last: str | None, fmt: str, output: Path | None
) -> None:
    from visibility.grants.dossier import build_dossier
    from visibility.grants.dossier_html import percent
    from visibility.reports.export import to_csv, to_table

    with open_visibility() as v:
        dossier = build_dossier(v, grant, first=first, last=last)
        pictures = v.image_files
    data: str | bytes
    if fmt == "pdf":
        from visibility.grants.dossier_pdf import render_dossier_pdf

        data = render_dossier_pdf(dossier, pictures=pictures)
    elif fmt == "html":
        from visibility.grants.dossier_html import render_dossier_html

        data = render_dossier_html(dossier, pictures=pictures)
    elif fmt == "json":
        data = json.dumps(dossier.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        data = to_csv(dossier.report)
    else:
        rate = dossier.compliance_rate
        out.print(to_table(dossier.report))
        out.print(
            f"grant {grant}: {len(dossier.compliant)} of {len(dossier.checked)} posts carry what "
            "the donor requires" + ("" if rate is None else f" ({percent(rate)}%)")
        )
        for post in dossier.exceptions:
            reason = post.compliance.override.reason if post.compliance.override else "no reason"
            out.print(f"  exception: post {post.report.post.id} ({reason})")
        return
    try:
        if output is None:
            assert isinstance(data, str)
            sys.stdout.write(data)
        elif isinstance(data, bytes):
            output.write_bytes(data)
        else:
            output.write_text(data, encoding="utf-8", newline="")
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename}: {exc.strerror}") from None
    if output is not None:
        out.print(
            f"dossier of grant {grant} written to {output} ({len(dossier.posts)} posts, "
            + (
                "no post to check"
                if dossier.compliance_rate is None
                else f"{percent(dossier.compliance_rate)}% compliant"
            )
            + ")"
        )


def main() -> None:
    try:
        app()
    except VisibilityError as exc:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        err.print("error:", style="bold red", end=" ")
        err.print(str(exc), markup=False)
        sys.exit(1)

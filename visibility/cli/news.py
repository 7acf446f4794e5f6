"""`visibility news`: add news items, from files and feeds, and look at them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from visibility.cli import render
from visibility.cli.common import JsonOpt, open_visibility, out, post_dict, print_json
from visibility.errors import UserError

news_app = typer.Typer(help="News items: add and look at them.", no_args_is_help=True)


@news_app.command("add")
def news_add(
    path: Annotated[Path, typer.Argument(help="A .txt, .md or .html file; - reads stdin.")],
    language: Annotated[
        str | None, typer.Option(help="Language code (sq, sr, en); detected when omitted.")
    ] = None,
    image: Annotated[
        list[str] | None,
        typer.Option(
            help="A picture to add, FILE or FILE:ALT TEXT (repeatable); pictures the item "
            "names are taken from beside it."
        ),
    ] = None,
    grant: Annotated[
        list[str] | None,
        typer.Option(
            help="A grant the item is published under (repeatable): its posts carry what "
            "the grant's donor requires. `visibility grants list` shows them."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a news item and derive a draft post for every channel."""
    from visibility.media.intake import parse_image_option

    chosen = [parse_image_option(value) for value in image or []]
    with open_visibility() as v:
        if str(path) == "-":
            if chosen:
                raise UserError("--image needs the news item as a file, not standard input")
            added = v.add_news_text(
                sys.stdin.read(), source="<stdin>", fmt=None, language=language, grants=grant or ()
            )
        else:
            added = v.add_news_file(path, language=language, images=chosen, grants=grant or ())
        under = v.store.news_grant_names([added.news.id]).get(added.news.id, [])
        pictures = v.store.news_images(added.news.id)
        if as_json:
            print_json(
                {
                    "news_item": added.news.to_dict(),
                    "created": added.created,
                    "images": [i.to_dict() for i in pictures],
                    "skipped_images": list(added.skipped_images),
                    "grants": under,
                    "suggested_grants": [s.to_dict() for s in added.suggested],
                    "posts": [post_dict(v, p.id) for p in added.posts],
                }
            )
            return
        verb = "added" if added.created else "already known as"
        out.print(f"news item {added.news.id} {verb}: {added.news.title}")
        for picture in pictures:
            alt = picture.alt or "NO ALT TEXT: add it before approval (news describe-image)"
            out.print(f"  picture {picture.id}: {picture.source or picture.sha256[:12]} ({alt})")
        for skipped in added.skipped_images:
            out.print(f"  picture left out: {skipped}")
        if under:
            out.print(f"  under grants: {', '.join(under)}")
        for suggestion in added.suggested:
            out.print(
                f"  it reads as funded under grant {suggestion.grant} (“{suggestion.phrase}”): "
                f"`visibility news grants {added.news.id} --add {suggestion.grant}` puts it there"
            )
        out.print(render.posts_table(added.posts, channels={c.name: c for c in v.config.channels}))


@news_app.command("grants")
def news_grants(
    news_id: Annotated[int, typer.Argument(help="The news item's number.")],
    add: Annotated[
        list[str] | None, typer.Option(help="Put the item under this grant (repeatable).")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option(help="Take the item out of this grant (repeatable).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The grants a news item is under; --add and --remove change them (its drafts
    gain what an added grant requires)."""
    with open_visibility() as v:
        news = v.store.get_news(news_id)
        for name in remove or []:
            v.remove_grant(news_id, name)
        if add:
            v.add_grants(news_id, add, by=None)
        under = v.store.news_grant_names([news_id]).get(news_id, [])
        suggested = v.suggest_grants(news)
        if as_json:
            print_json(
                {
                    "news_item_id": news_id,
                    "grants": under,
                    "suggested_grants": [s.to_dict() for s in suggested],
                }
            )
            return
        out.print(f"news item {news_id} is under: {', '.join(under) or 'no grant'}")
        for suggestion in suggested:
            out.print(f"  suggested: {suggestion.grant} (“{suggestion.phrase}”)")


@news_app.command("describe-image")
def news_describe_image(
    image_id: Annotated[int, typer.Argument(help="The picture's number (news add shows it).")],
    alt: Annotated[str, typer.Option(help="What the picture shows, for people who cannot see it.")],
    caption: Annotated[str | None, typer.Option(help="A caption to show with it.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Give a picture its alt text (required before a post carrying it is approved)."""
    with open_visibility() as v:
        picture = v.store.describe_image(image_id, alt=alt, caption=caption)
        if as_json:
            print_json(picture.to_dict())
            return
        out.print(f"picture {picture.id} described: {picture.alt}")


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

    with open_visibility() as v, Progress(console=out, transient=True, disable=as_json) as bar:
        task = bar.add_task("reading entries", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = v.import_feed(
            location, from_channel=from_channel, language=language, progress=progress
        )
    if as_json:
        print_json(result.to_dict())
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
    with open_visibility() as v:
        items = v.store.list_news()
        if as_json:
            print_json([n.to_dict() for n in items])
            return
        out.print(render.news_table(items))


@news_app.command("show")
def news_show(news_id: int, as_json: JsonOpt = False) -> None:
    """Show a news item and its posts."""
    with open_visibility() as v:
        news = v.store.get_news(news_id)
        posts = v.store.list_posts(news_item_id=news_id)
        if as_json:
            print_json({**news.to_dict(), "posts": [post_dict(v, p.id) for p in posts]})
            return
        out.print(render.news_detail(news))
        out.print(render.posts_table(posts, channels={c.name: c for c in v.config.channels}))

"""``visibility run --demo``: the whole path on a fresh machine, in under a minute.

Adds the sample press release the project ships, approves its derived posts
as "demo", schedules them for now and runs the service until they are out,
then shows where the dry-run outbox is.
"""

from __future__ import annotations

from rich.console import Console

from visibility.adapters.dry_run import outbox_path
from visibility.cli import render
from visibility.errors import UserError
from visibility.queue.states import PostStatus
from visibility.service.runner import Service
from visibility.workflow import DEMO_SAMPLE, Visibility

_DONE = {PostStatus.PUBLISHED, PostStatus.FAILED, PostStatus.CANCELLED}


def run_demo(app: Visibility, out: Console) -> None:
    real = [c.name for c in app.config.enabled_channels if c.kind != "dry-run"]
    if real:
        raise UserError(
            "--demo publishes for real on channels that are not dry-run "
            f"({', '.join(real)}); run it without a channels file, or with dry-run channels only"
        )
    added = app.add_news_file(DEMO_SAMPLE)
    out.print(f"sample news item {added.news.id}: {added.news.title}")
    for post in added.posts:
        if post.status is PostStatus.DRAFT:
            app.approve(post.id, by="demo")
            post = app.store.get_post(post.id)
        if post.status is PostStatus.APPROVED:
            app.schedule(post.id, mode="now")
    ids = [p.id for p in added.posts]

    def finished() -> bool:
        return all(app.store.get_post(i).status in _DONE for i in ids)

    if not finished():
        Service(app).run_forever(until=finished)
    posts = [app.store.get_post(i) for i in ids]
    for post in posts:
        measured = render.measured(post)
        detail = post.external_url if post.status is PostStatus.PUBLISHED else post.last_error
        out.print(f"post {post.id} {post.channel:<9} {post.status.value:<9} {measured}  {detail}")
    folders = {outbox_path(app.settings.data_dir, p.channel).parent for p in posts}
    for folder in sorted(folders):
        out.print(f"outbox: {folder}")

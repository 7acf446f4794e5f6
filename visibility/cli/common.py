"""What every command shares: the console, the --json option and opening the workflow."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from visibility.cli import render
from visibility.errors import UserError

if TYPE_CHECKING:
    from visibility.grants.model import Compliance
    from visibility.queue.views import PostView
    from visibility.workflow import Visibility

# markup=False: titles and posts are user text; "[online]" must print as written.
out = Console(highlight=False, soft_wrap=True, markup=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON records for scripts.")]


@contextmanager
def open_visibility() -> Iterator[Visibility]:
    # Imported here: the workflow pulls in the database and HTTP libraries,
    # which --help and argument errors do not need.
    from visibility.workflow import Visibility

    visibility = Visibility.open()
    try:
        yield visibility
    finally:
        visibility.close()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def each(
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
        print_json([post_dict(v, p.id) for p in done])
    else:
        for post in done:
            out.print(say(post))
    if errors:
        raise UserError("; ".join(errors))


def post_dict(
    v: Visibility, post_id: int, compliance: Mapping[int, Compliance] | None = None
) -> dict[str, Any]:
    """A post's JSON record; ``compliance``: checked beforehand for a whole list."""
    post = v.store.get_post(post_id)
    data = post.to_dict()
    data["waiting"] = v.waiting_reason(post)
    m = render.measured(post)
    data["measured"] = {"length": m.length, "limit": m.limit or None, "unit": m.unit}
    checked = compliance.get(post_id) if compliance is not None else None
    data["compliance"] = (checked or v.compliance(post)).to_dict()
    return data

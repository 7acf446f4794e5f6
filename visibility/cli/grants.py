"""`visibility grants`: the grants in force and their donors' visibility rules."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from visibility.cli.common import JsonOpt, open_visibility, out, print_json
from visibility.errors import UserError

grants_app = typer.Typer(
    help="Grants and the visibility rules their donors set.", no_args_is_help=True
)


def grant_dict(grant: object) -> dict[str, object]:
    from visibility.grants.model import Grant, rules_to_json

    assert isinstance(grant, Grant)
    import json

    return {
        "name": grant.name,
        "donor": grant.donor,
        "donor_name": grant.donor_name,
        "title": grant.title,
        "contract": grant.contract,
        "starts_on": grant.starts_on.isoformat(),
        "ends_on": grant.ends_on.isoformat(),
        "source": grant.source,
        "emblem_sha256": grant.emblem_sha256,
        **json.loads(rules_to_json(grant)),
    }


@grants_app.command("list")
def grants_list(as_json: JsonOpt = False) -> None:
    """The grants, oldest first, with their periods."""
    with open_visibility() as v:
        grants = v.store.grants()
        if as_json:
            print_json([grant_dict(g) for g in grants])
            return
        if not grants:
            out.print(
                "no grants yet: declare them in the channels file ([[grants]]); "
                "`visibility grants template eu` shows the EU's rules"
            )
            return
        table = Table(show_lines=False)
        for column in ("name", "donor", "title", "contract", "period", "items"):
            table.add_column(column)
        for grant in grants:
            items = len(v.store.grant_news_ids(grant.name))
            table.add_row(
                grant.name,
                grant.donor_name,
                grant.title,
                grant.contract or "-",
                f"{grant.starts_on} – {grant.ends_on}",
                str(items),
            )
        out.print(table)


@grants_app.command("show")
def grants_show(name: str, as_json: JsonOpt = False) -> None:
    """A grant's rules: what each kind of post must carry, in which words."""
    with open_visibility() as v:
        grant = v.store.grant(name)
        if as_json:
            print_json(grant_dict(grant))
            return
        out.print(f"{grant.name}: {grant.title}")
        out.print(f"  donor {grant.donor_name}, contract {grant.contract or '-'}")
        out.print(f"  period {grant.starts_on} – {grant.ends_on}")
        for kind, rules in grant.require.items():
            wanted = "; ".join(" or ".join(rule) for rule in rules)
            out.print(f"  {kind} posts carry: {wanted}")
        for kind, handles in grant.mentions.items():
            out.print(f"  mention on {kind}: {' '.join(handles)}")
        for kind, tags in grant.hashtags.items():
            out.print(f"  hashtags on {kind}: {' '.join(tags)}")
        for tag, texts in grant.texts.items():
            out.print(f"  [{tag}] statement: {texts.statement or '-'}")
            out.print(f"  [{tag}] disclaimer: {texts.disclaimer or '-'}")


@grants_app.command("template")
def grants_template(
    donor: Annotated[str, typer.Argument(help="eu (the EU's rules) or custom (blank).")] = "eu",
) -> None:
    """Print a donor's ready-made rule set, to read or to copy into the channels file."""
    from visibility.grants.config import preset_text

    try:
        text = preset_text(donor.strip().lower())
    except ValueError as exc:
        raise UserError(str(exc)) from None
    out.print(text, end="")

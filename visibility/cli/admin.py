"""Commands for administrators: the web server, users and API tokens."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from visibility.accounts.roles import Role, parse_role
from visibility.accounts.store import clean_email
from visibility.cli.common import JsonOpt, open_visibility, out, print_json
from visibility.errors import UserError
from visibility.i18n import DEFAULT_LANGUAGE, translate

# Registered on the root command by visibility.cli.app, with `serve`.
users_app = typer.Typer(help="People who sign in to the web interface.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for automation.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise UserError("no terminal to ask for the password: pass it with --password-stdin")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UserError("the two passwords differ; nothing was changed")
    return first


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help="editor, approver or admin.")] = "editor",
    name: Annotated[str | None, typer.Option(help="The name shown in the interface.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    email: Annotated[
        str | None,
        typer.Option(help="Where review notices go (posts sent back, posts to approve)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a user (`visibility users add ardita --role admin` creates the first admin)."""
    parsed = parse_role_or_fail(role)
    clean_email(email)  # a typo is found before the password is asked for
    password = _read_password(password_stdin)
    with open_visibility() as v:
        user = v.accounts.add_user(
            username, password=password, role=parsed, display_name=name, email=email
        )
        v.accounts.audit("cli", "user.add", f"user {user.username}", user.role.value)
        if as_json:
            print_json({"username": user.username, "role": user.role.value})
            return
        out.print(f"user {user.username} added as {user.role.value}")


def parse_role_or_fail(value: str) -> Role:
    try:
        return parse_role(value)
    except ValueError as exc:
        raise UserError(str(exc)) from None


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """List users and their roles."""
    with open_visibility() as v:
        users = v.accounts.users()
        if as_json:
            print_json(
                [
                    {
                        "username": u.username,
                        "name": u.display_name,
                        "role": u.role.value,
                        "active": u.active,
                        "email": u.email,
                    }
                    for u in users
                ]
            )
            return
        for user in users:
            state = "" if user.active else " (deactivated)"
            email = f"  <{user.email}>" if user.email else ""
            out.print(f"{user.username}  {user.role.value}  {user.display_name}{email}{state}")


@users_app.command("set-email")
def users_set_email(
    username: str,
    email: Annotated[
        str | None, typer.Argument(help="The address; leave it out to remove the address.")
    ] = None,
) -> None:
    """Set where a user's review notices go (posts sent back to them, posts to approve)."""
    with open_visibility() as v:
        user = v.accounts.set_email(username, email)
        v.accounts.audit("cli", "user.email", f"user {user.username}", user.email)
        if user.email:
            out.print(f"review notices for {user.username} go to {user.email}")
        else:
            out.print(f"{user.username} gets no review notices by e-mail")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role."""
    parsed = parse_role_or_fail(role)
    with open_visibility() as v:
        user = v.accounts.set_role(username, parsed)
        v.accounts.audit("cli", "user.role", f"user {username}", parsed.value)
        out.print(f"user {user.username} is now {user.role.value}")


@users_app.command("deactivate")
def users_deactivate(username: str) -> None:
    """Stop a user from signing in (their sessions and tokens stop working at once)."""
    with open_visibility() as v:
        v.accounts.set_active(username, False)
        v.accounts.audit("cli", "user.deactivate", f"user {username}")
        out.print(f"user {username} deactivated")


@users_app.command("sign-out")
def users_sign_out(username: str) -> None:
    """End every session of a user at once (their API tokens keep working)."""
    with open_visibility() as v:
        user = v.accounts.get_user(username)
        v.accounts.end_sessions(user.username)
        v.accounts.audit("cli", "user.sign_out_everywhere", f"user {user.username}")
        out.print(
            translate(DEFAULT_LANGUAGE, "{name} is signed out everywhere.", name=user.username)
        )


@users_app.command("password")
def users_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a user's password (which signs them out everywhere)."""
    password = _read_password(password_stdin)
    with open_visibility() as v:
        v.accounts.set_password(username, password)
        v.accounts.audit("cli", "user.password", f"user {username}")
        out.print(f"password of {username} changed")


@tokens_app.command("create")
def tokens_create(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'website-feed'.")],
    role: Annotated[
        str, typer.Option(help="editor, approver or admin (not above the user's).")
    ] = "editor",
) -> None:
    """Create an API token for a user; it is printed once and stored only as a hash."""
    parsed = parse_role_or_fail(role)
    with open_visibility() as v:
        token = v.accounts.create_token(username, name=name, role=parsed)
        v.accounts.audit("cli", "token.create", f"token {name} of {username}", parsed.value)
        out.print(token)


@tokens_app.command("revoke")
def tokens_revoke(username: str, name: str) -> None:
    """Revoke a user's API token by name."""
    with open_visibility() as v:
        v.accounts.revoke_token(username, name)
        v.accounts.audit("cli", "token.revoke", f"token {name} of {username}")
        out.print(f"token {name} of {username} revoked")


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    scheduler: Annotated[
        bool,
        typer.Option(help="Run the publishing scheduler in this process too."),
    ] = True,
) -> None:
    """Run the web interface and API (and, by default, the scheduler) until stopped."""
    import uvicorn

    from visibility.web.app import create_app

    with open_visibility() as v:
        v.setup_logging()
        if not v.accounts.users():
            out.print(
                "no users yet: create the first admin with `visibility users add NAME --role admin`"
            )
        application = create_app(v, scheduler=scheduler)
        uvicorn.run(
            application,
            host=host or v.settings.http_host,
            port=port or v.settings.http_port,
            log_config=None,  # keep our logging set-up
            # The app applies the same list itself (create_app), so it holds
            # under any server; uvicorn's FORWARDED_ALLOW_IPS is not consulted.
            proxy_headers=True,
            forwarded_allow_ips=v.settings.trusted_proxy_list,
            timeout_graceful_shutdown=int(v.settings.shutdown_grace_seconds) or None,
        )

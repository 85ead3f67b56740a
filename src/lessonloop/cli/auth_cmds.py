"""`lessonloop user ...` and `lessonloop token ...`: accounts and API tokens.

The CLI works on the database file directly and is trusted: it sees and may change everything
(anyone who can open the database file is, in effect, an org admin). These commands are how the
first admin and the first API token come to be.
"""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.accounts.models import ApiToken
from lessonloop.accounts.schemas import IssueToken
from lessonloop.accounts.service import (
    account_of,
    create_account,
    create_user,
    issue_token,
    list_tokens,
    revoke_token,
    set_password,
    unlock,
)
from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.errors import Invalid, NotFound
from lessonloop.fields import parse_command
from lessonloop.people.models import Person
from lessonloop.people.service import get_person
from lessonloop.store.crud import get_or_404

user_app = typer.Typer(
    help="Accounts: who may sign in (web pages) and hold API tokens.", no_args_is_help=True
)
token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _read_password(from_stdin: bool) -> str:
    """The password from the first line of stdin (only the line break is removed: what was typed is
    what is hashed), or asked for twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise Invalid("expected the password on stdin", field="password")
        return line.removesuffix("\n").removesuffix("\r")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _find_person(session: Session, handle: str) -> Person | None:
    try:
        return get_person(session, handle, viewer=LOCAL)
    except NotFound:
        return None


@user_app.command("create")
@common.handle_errors
def user_create(
    handle: str = typer.Argument(..., help="The handle to sign in with (lower-case)."),
    name: str | None = typer.Option(None, "--name", help="Full name (required for a new person)."),
    email: str | None = typer.Option(None, "--email", help="E-mail address (also signs in)."),
    admin: bool = typer.Option(False, "--admin", help="Make them an org admin."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin (no prompt)."
    ),
) -> None:
    """Create a user: a person with a password. A person already in the directory gets an account."""
    with common.unit() as session:
        existing = _find_person(session, handle)
        if existing is None and not (name or "").strip():
            raise Invalid("is required for a new person", field="--name")
    password = _read_password(password_stdin)
    with common.unit() as session:
        existing = _find_person(session, handle)
        if existing is None:
            account = create_user(
                session,
                name=name or "",
                handle=handle.strip().lower(),
                email=email,
                password=password,
                admin=admin,
                viewer=LOCAL,
            )
        else:
            account = create_account(session, existing, password=password, admin=admin, viewer=LOCAL)
        person = account.person
        line = (
            f"created user {person.handle} (person id {person.id}{', org admin' if account.is_admin else ''})"
        )
    render.say(line)


@user_app.command("password")
@common.handle_errors
def user_password(
    handle: str = typer.Argument(..., help="Whose password to set."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read it from stdin (no prompt)."),
) -> None:
    """Set a user's password (an admin reset); their web sessions end, API tokens stay."""
    password = _read_password(password_stdin)
    with common.unit() as session:
        account = set_password(session, handle, password, viewer=LOCAL)
        line = f"password set for {account.person.handle}"
    render.say(line)


@user_app.command("unlock")
@common.handle_errors
def user_unlock(handle: str = typer.Argument(..., help="Whose account to unlock.")) -> None:
    """Lift the lock after too many failed sign-ins."""
    with common.unit() as session:
        account = unlock(session, handle, viewer=LOCAL)
        line = f"unlocked {account.person.handle}"
    render.say(line)


@token_app.command("create")
@common.handle_errors
def token_create(
    user: str = typer.Option(..., "--user", help="Whose token: handle, e-mail or id."),
    name: str = typer.Option("cli", "--name", help="What the token is for."),
) -> None:
    """Create an API token and print it (to stdout, alone): it is shown this once."""
    command = parse_command(IssueToken, {"name": name})
    with common.unit() as session:
        person = get_person(session, user, field="user", viewer=LOCAL)
        token, plaintext = issue_token(session, person, **command.model_dump())
        note = f"token {token.id} ({token.name}) for {person.handle}: keep it now, it is not shown again"
        if account_of(session, person) is None:
            note += f" ({person.handle} has no password: the token is their only way in)"
    common.err_console.print(note, highlight=False, soft_wrap=True)
    sys.stdout.write(plaintext + "\n")


def _token_row(token: ApiToken) -> dict[str, object]:
    return {
        "id": token.id,
        "user": token.person.handle,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


@token_app.command("list")
@common.handle_errors
def token_list(
    user: str | None = typer.Option(None, "--user", help="Only this person's tokens."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List API tokens (never the tokens themselves: their first characters)."""
    with common.unit() as session:
        if user:
            tokens = list_tokens(session, get_person(session, user, field="user", viewer=LOCAL))
        else:
            tokens = list(session.scalars(select(ApiToken).order_by(ApiToken.id)))
        rows = [_token_row(t) for t in tokens]
    if as_json:
        common.print_json(rows)
        return
    grid = render.table("id", "user", "name", "prefix", "created", "last used", "revoked")
    for r in rows:
        render.row(
            grid,
            r["id"],
            r["user"],
            r["name"],
            f"{r['prefix']}…",
            str(r["created_at"])[:16],
            str(r["last_used_at"] or "")[:16],
            str(r["revoked_at"] or "")[:16],
        )
    render.out(grid)
    render.hint(
        render.plural(len(rows), "token") if rows else "no tokens yet: lessonloop token create --user HANDLE"
    )


@token_app.command("revoke")
@common.handle_errors
def token_revoke(token_id: int = typer.Argument(..., help="The token's id (see token list).")) -> None:
    """Revoke an API token; requests with it are refused from now on. Twice is harmless."""
    with common.unit() as session:
        token = get_or_404(session, ApiToken, token_id)
        token = revoke_token(session, token.person_id, token.id)
        line = f"revoked token {token.id} ({token.name}) of {token.person.handle}"
    render.say(line)

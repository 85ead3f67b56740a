"""`lessonloop sso ...`: single sign-on's state, password sign-in on or off, unlinking.

Like every local command it acts on the database file as the trusted ``cli`` job, which makes
``lessonloop sso passwords on`` the escape hatch when nobody can sign in any more (the provider is
gone, the last admin's identity was deleted there).
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.errors import Invalid
from lessonloop.integrations.sso.config import SsoConfig, SsoMisconfigured, sso_config
from lessonloop.integrations.sso.models import SsoIdentity
from lessonloop.integrations.sso.policy import password_sign_in_allowed, set_password_sign_in
from lessonloop.integrations.sso.signin import unlink
from lessonloop.people.service import get_person

sso_app = typer.Typer(help="Single sign-on (OpenID Connect) and password sign-in.", no_args_is_help=True)
app.add_typer(sso_app, name="sso")


def _config() -> SsoConfig | None:
    try:
        return sso_config(common.settings())
    except SsoMisconfigured as exc:
        raise Invalid(f"single sign-on is misconfigured: {exc}", field="settings") from exc


@sso_app.command("status")
@common.handle_errors
def status() -> None:
    """Is single sign-on set up, are passwords accepted, how many people are linked."""
    config = _config()
    with common.unit() as session:
        passwords = password_sign_in_allowed(session, viewer=LOCAL)
        linked = session.scalar(select(func.count(SsoIdentity.id))) or 0
    if config is None:
        render.say("single sign-on: off (set LESSONLOOP_OIDC_ISSUER and LESSONLOOP_OIDC_CLIENT_ID)")
    else:
        jit = f"on ({config.jit_team or 'no team'}, {config.jit_role})" if config.jit else "off"
        render.say(f"single sign-on: on, {config.provider_name} ({config.issuer}), just-in-time people {jit}")
    render.say(f"password sign-in: {'on' if passwords else 'off'}")
    render.say(f"linked identities: {linked}")


@sso_app.command("passwords")
@common.handle_errors
def passwords(
    state: str = typer.Argument(..., help="on or off", metavar="on|off"),
) -> None:
    """Turn password sign-in on or off for the workspace (off needs single sign-on set up)."""
    if state not in {"on", "off"}:
        raise Invalid(f"say on or off, not {state!r}", field="state")
    with common.unit() as session:
        set_password_sign_in(session, state == "on", sso=_config(), viewer=LOCAL)
    render.say(f"password sign-in is {state}")


@sso_app.command("unlink")
@common.handle_errors
def unlink_person(
    handle: str = typer.Argument(..., help="Whose identity to forget."),
    issuer: str = typer.Option("", help="The provider (default: LESSONLOOP_OIDC_ISSUER)."),
) -> None:
    """Forget a person's link to their identity at the provider: their next sign-in maps by
    verified e-mail again."""
    config = _config()
    target = issuer.strip().rstrip("/") or (config.issuer if config else "")
    if not target:
        raise Invalid("name the provider with --issuer (single sign-on is not set up)", field="issuer")
    with common.unit() as session:
        person = get_person(session, handle, viewer=LOCAL)
        gone = unlink(session, person, issuer=target, viewer=LOCAL)
        who = person.handle
    render.say(f"{who}: {'unlinked' if gone else 'was not linked'} at {target}")

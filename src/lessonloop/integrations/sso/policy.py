"""The workspace's sign-in rule: may people sign in with a password?

Off means single sign-on only. Two guards keep a workspace from locking itself out: passwords
can be turned off only while single sign-on is set up, and an org admin who turns them off from
a page must have signed in with single sign-on at least once (so at least one admin can get
back in). The local CLI (``lessonloop sso passwords on``) is the escape hatch either way: whoever
holds the database can turn passwords back on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.scope import require_directory_admin
from lessonloop.errors import Conflict, PermissionDenied
from lessonloop.integrations.sso.config import SsoConfig
from lessonloop.integrations.sso.models import SignInSettings, SsoIdentity

PASSWORDS_OFF = (
    "password sign-in is turned off for this workspace: sign in with single sign-on "
    "(an admin can turn passwords back on with `lessonloop sso passwords on`)"
)


class PasswordSignInOff(PermissionDenied):
    """A password sign-in while the workspace accepts single sign-on only (403)."""

    def __init__(self) -> None:
        super().__init__(PASSWORDS_OFF, field="password")


def _row(session: Session) -> SignInSettings | None:
    return session.scalar(select(SignInSettings).order_by(SignInSettings.id).limit(1))


def password_sign_in_allowed(session: Session, *, viewer: Actor) -> bool:
    """True unless an admin turned passwords off (no row: the default, on)."""
    require_actor(viewer)
    row = _row(session)
    return row is None or bool(row.password_sign_in)


def require_password_sign_in(session: Session, *, viewer: Actor) -> None:
    """Raise :class:`PasswordSignInOff` when passwords are off (every password sign-in asks)."""
    if not password_sign_in_allowed(session, viewer=viewer):
        raise PasswordSignInOff


def set_password_sign_in(
    session: Session, allowed: bool, *, sso: SsoConfig | None, viewer: Actor
) -> SignInSettings:
    """Turn password sign-in on or off (org admins; the local CLI). See the module note for the
    guards against a lock-out."""
    require_directory_admin(viewer, "turn password sign-in on or off")
    if not allowed:
        if sso is None:
            raise Conflict(
                "single sign-on is not set up (LESSONLOOP_OIDC_ISSUER and LESSONLOOP_OIDC_CLIENT_ID): "
                "with passwords off nobody could sign in",
                field="password_sign_in",
            )
        if is_person(viewer):
            linked = session.scalar(
                select(SsoIdentity.id).where(
                    SsoIdentity.person_id == viewer.person_id, SsoIdentity.issuer == sso.issuer
                )
            )
            if linked is None:
                raise Conflict(
                    "sign in with single sign-on once yourself before turning passwords off, "
                    "so that an admin can still get in",
                    field="password_sign_in",
                )
    row = _row(session)
    if row is None:
        row = SignInSettings(password_sign_in=bool(allowed))
        session.add(row)
    else:
        row.password_sign_in = bool(allowed)
    session.flush()
    return row

"""``/api/v1/admin/sign-in``: how people sign in, and password sign-in on or off (org admins;
lessonloop.integrations.sso)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.access.scope import require_directory_admin
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import AppSettings, CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.integrations.sso.config import SsoMisconfigured, sso_config
from lessonloop.integrations.sso.policy import password_sign_in_allowed, set_password_sign_in
from lessonloop.settings import Settings

router = APIRouter(route_class=OneThreadRoute, tags=["sign-in"], responses=ERROR_RESPONSES)


class SignInSettingsOut(BaseModel):
    password_sign_in: bool = Field(description="False: people sign in with single sign-on only.")
    sso: bool = Field(description="Single sign-on is set up (LESSONLOOP_OIDC_ISSUER and _CLIENT_ID).")
    provider_name: str | None
    issuer: str | None


class SetSignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password_sign_in: bool = Field(
        description="false turns passwords off (refused unless single sign-on is set up and you "
        "have signed in with it once)."
    )


def _out(allowed: bool, settings: Settings) -> SignInSettingsOut:
    try:
        config = sso_config(settings)
    except SsoMisconfigured:
        config = None
    return SignInSettingsOut(
        password_sign_in=allowed,
        sso=config is not None,
        provider_name=config.provider_name if config else None,
        issuer=config.issuer if config else None,
    )


@router.get("/admin/sign-in")
def read_sign_in(session: DbSession, viewer: CurrentViewer, settings: AppSettings) -> SignInSettingsOut:
    """The workspace's sign-in settings (org admins)."""
    require_directory_admin(viewer, "read the sign-in settings")
    return _out(password_sign_in_allowed(session, viewer=viewer), settings)


@router.put("/admin/sign-in")
def change_sign_in(
    body: SetSignIn, session: DbSession, viewer: CurrentViewer, settings: AppSettings
) -> SignInSettingsOut:
    """Turn password sign-in on or off (org admins). Off is refused (409) without single sign-on
    or before you have signed in with it yourself: nobody is locked out."""
    try:
        config = sso_config(settings)
    except SsoMisconfigured:
        config = None
    row = set_password_sign_in(session, body.password_sign_in, sso=config, viewer=viewer)
    return _out(bool(row.password_sign_in), settings)

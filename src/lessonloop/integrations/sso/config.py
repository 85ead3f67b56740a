"""The single sign-on settings, checked: :func:`sso_config` is ``None`` when SSO is not set up."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lessonloop.people.models import Role
from lessonloop.settings import Settings

#: What lessonloop asks the provider for: the subject, the e-mail (and whether it is verified), a name.
SCOPE = "openid email profile"
#: Seconds for each call to the provider (discovery, token, JWKS): a provider that hangs is "down".
TIMEOUT = 10.0
CALLBACK_PATH = "/login/sso/callback"


class SsoMisconfigured(ValueError):
    """The ``LESSONLOOP_OIDC_*`` settings contradict each other or are malformed."""


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_base: str  # "" → the address the request came in on
    provider_name: str
    jit: bool
    jit_team: str
    jit_role: str

    def redirect_uri(self, request_base: str) -> str:
        """Where the provider sends the browser back (registered at the provider as is)."""
        return (self.redirect_base or request_base.rstrip("/")) + CALLBACK_PATH


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def sso_config(settings: Settings) -> SsoConfig | None:
    """The checked configuration, ``None`` when neither issuer nor client id is set, or
    :class:`SsoMisconfigured` naming the setting to fix."""
    if not settings.oidc_issuer and not settings.oidc_client_id:
        return None
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise SsoMisconfigured("set both LESSONLOOP_OIDC_ISSUER and LESSONLOOP_OIDC_CLIENT_ID (or neither)")
    if not _is_http_url(settings.oidc_issuer):
        raise SsoMisconfigured(f"LESSONLOOP_OIDC_ISSUER must be an http(s) URL, got {settings.oidc_issuer!r}")
    if settings.oidc_redirect_base and not _is_http_url(settings.oidc_redirect_base):
        raise SsoMisconfigured(
            f"LESSONLOOP_OIDC_REDIRECT_BASE must be an http(s) URL, got {settings.oidc_redirect_base!r}"
        )
    roles = [r.value for r in Role]
    if settings.oidc_jit_role not in roles:
        raise SsoMisconfigured(
            f"LESSONLOOP_OIDC_JIT_ROLE must be one of {', '.join(roles)}, got {settings.oidc_jit_role!r}"
        )
    if settings.oidc_jit_role != Role.member.value and not settings.oidc_jit_team:
        # A role is a role in a team; without one, "lead" would silently mean nothing.
        raise SsoMisconfigured("LESSONLOOP_OIDC_JIT_ROLE other than member needs LESSONLOOP_OIDC_JIT_TEAM")
    return SsoConfig(
        issuer=settings.oidc_issuer,
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret,
        redirect_base=settings.oidc_redirect_base,
        provider_name=settings.oidc_provider_name or urlsplit(settings.oidc_issuer).netloc,
        jit=settings.oidc_jit,
        jit_team=settings.oidc_jit_team,
        jit_role=settings.oidc_jit_role,
    )

"""The ``LESSONLOOP_OIDC_*`` settings: read from the environment, checked with a message that
names the setting to fix."""

from __future__ import annotations

import pytest

from lessonloop.integrations.sso.config import SsoMisconfigured, sso_config
from lessonloop.settings import get_settings

BASE = {"LESSONLOOP_OIDC_ISSUER": "https://id.example.com/", "LESSONLOOP_OIDC_CLIENT_ID": "lessonloop"}


def test_off_unless_set() -> None:
    assert sso_config(get_settings({})) is None


def test_read_from_the_environment() -> None:
    env = {
        **BASE,
        "LESSONLOOP_OIDC_CLIENT_SECRET": "s3cret",
        "LESSONLOOP_OIDC_REDIRECT_BASE": "https://lessonloop.example.com/",
        "LESSONLOOP_OIDC_PROVIDER_NAME": "Okta",
        "LESSONLOOP_OIDC_JIT": "yes",
        "LESSONLOOP_OIDC_JIT_TEAM": "Platform",
        "LESSONLOOP_OIDC_JIT_ROLE": "Lead",
    }
    config = sso_config(get_settings(env))
    assert config is not None
    assert (config.issuer, config.client_id, config.client_secret) == (
        "https://id.example.com",
        "lessonloop",
        "s3cret",
    )
    assert (config.provider_name, config.jit, config.jit_team, config.jit_role) == (
        "Okta",
        True,
        "Platform",
        "lead",
    )
    assert config.redirect_uri("http://10.0.0.5:8000/") == "https://lessonloop.example.com/login/sso/callback"


def test_defaults() -> None:
    config = sso_config(get_settings(BASE))
    assert config is not None
    assert (config.provider_name, config.jit, config.jit_role) == ("id.example.com", False, "member")
    assert config.redirect_uri("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/login/sso/callback"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"LESSONLOOP_OIDC_ISSUER": "https://id.example.com"}, "LESSONLOOP_OIDC_CLIENT_ID"),
        ({**BASE, "LESSONLOOP_OIDC_ISSUER": "id.example.com"}, "LESSONLOOP_OIDC_ISSUER"),
        ({**BASE, "LESSONLOOP_OIDC_REDIRECT_BASE": "lessonloop"}, "LESSONLOOP_OIDC_REDIRECT_BASE"),
        ({**BASE, "LESSONLOOP_OIDC_JIT_ROLE": "owner"}, "LESSONLOOP_OIDC_JIT_ROLE"),
        ({**BASE, "LESSONLOOP_OIDC_JIT_ROLE": "lead"}, "LESSONLOOP_OIDC_JIT_TEAM"),
    ],
)
def test_a_contradiction_names_the_setting(env: dict[str, str], names: str) -> None:
    with pytest.raises(SsoMisconfigured, match=names):
        sso_config(get_settings(env))

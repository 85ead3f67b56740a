"""The OpenID Connect protocol, through Authlib: nothing here is hand-rolled crypto.

* :func:`discover` reads ``{issuer}/.well-known/openid-configuration`` and checks it names the
  issuer it was asked about (a provider answering for another issuer is refused).
* :func:`authorization_request` builds the URL the browser is sent to: the authorization code
  flow with a fresh ``state``, ``nonce`` and PKCE verifier (S256), by Authlib's ``OAuth2Client``.
* :func:`finish` exchanges the code (with the verifier, the client authenticating with its
  secret) and :func:`verify_id_token` checks the ID token: its signature against the provider's
  JWKS (joserfc), then ``iss``, ``aud``, ``exp``, ``iat``, ``nonce`` and ``at_hash`` (Authlib's
  ``CodeIDToken``). The e-mail comes from the ID token, else from the UserInfo endpoint (same
  ``sub`` required).

Discovery and keys are read at each sign-in (two small GETs): a rotated key or a moved endpoint
needs no restart.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from authlib.integrations.base_client.errors import OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

# Authlib 1.9's httpx client prefers the "httpx2" fork and warns (on stderr, at import) when it
# falls back to httpx, which is what lessonloop ships and tests; the warning would precede every
# CLI command's output. Silence exactly that warning, only for this import.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

from lessonloop.integrations.sso.config import SCOPE, TIMEOUT, SsoConfig

#: Seconds of clock difference tolerated on ``exp`` and ``iat``.
LEEWAY = 60


class ProviderUnavailable(Exception):
    """The provider did not answer, or answered something that is not OpenID Connect."""


class SignInRejected(Exception):
    """The provider's answer does not prove who signed in (bad token, refused code, …)."""


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProviderUnavailable(f"{url}: not a JSON object")
    return data


def discover(config: SsoConfig) -> dict[str, Any]:
    """The provider's metadata, checked for what this flow needs."""
    metadata = _get_json(f"{config.issuer}/.well-known/openid-configuration")
    if metadata.get("issuer") != config.issuer:
        raise ProviderUnavailable(
            f"the provider says it is {metadata.get('issuer')!r}, not {config.issuer!r} (LESSONLOOP_OIDC_ISSUER)"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise ProviderUnavailable(f"the provider's metadata has no {key}")
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderUnavailable("the provider does not support PKCE with S256")
    return metadata


def _client(config: SsoConfig, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        timeout=TIMEOUT,
    )


def authorization_request(
    config: SsoConfig, metadata: dict[str, Any], redirect_uri: str
) -> AuthorizationRequest:
    """A new authorization request: fresh state, nonce and PKCE verifier (keep all three)."""
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    with _client(config, redirect_uri) as client:
        url, _state = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, code_verifier=verifier, nonce=nonce
        )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


def finish(
    config: SsoConfig,
    metadata: dict[str, Any],
    *,
    redirect_uri: str,
    code: str,
    code_verifier: str,
    nonce: str,
) -> dict[str, Any]:
    """Exchange the code and return the ID token's verified claims."""
    with _client(config, redirect_uri) as client:
        try:
            token = client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
            )
        except OAuthError as exc:  # the provider refused the code (used, expired, bad verifier)
            raise SignInRejected(
                f"the provider refused the code: {exc.error} {exc.description or ''}"
            ) from exc
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"token endpoint: {exc}") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SignInRejected("the provider's answer has no ID token (is the 'openid' scope allowed?)")
    claims = verify_id_token(
        id_token,
        jwks=_get_json(metadata["jwks_uri"]),
        issuer=config.issuer,
        client_id=config.client_id,
        nonce=nonce,
        access_token=token.get("access_token"),
        algorithms=metadata.get("id_token_signing_alg_values_supported"),
    )
    if (
        "email" not in claims
        and isinstance(metadata.get("userinfo_endpoint"), str)
        and token.get("access_token")
    ):
        claims = _with_userinfo(claims, metadata["userinfo_endpoint"], str(token["access_token"]))
    return claims


def _with_userinfo(claims: dict[str, Any], endpoint: str, access_token: str) -> dict[str, Any]:
    """The ID token's claims with the e-mail from the UserInfo endpoint: many providers (this one's
    default too) put only ``sub`` in the ID token and the scopes' claims there. The answer must be
    about the same subject (OpenID Connect Core 5.3.2); the ID token's own claims win."""
    try:
        response = httpx.get(endpoint, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT)
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"userinfo endpoint: {exc}") from exc
    if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
        raise SignInRejected("the UserInfo answer is about another subject than the ID token")
    picked = {k: info[k] for k in ("email", "email_verified", "name") if k in info}
    return {**picked, **claims}


def verify_id_token(
    id_token: str,
    *,
    jwks: dict[str, Any],
    issuer: str,
    client_id: str,
    nonce: str,
    access_token: str | None = None,
    algorithms: list[str] | None = None,
) -> dict[str, Any]:
    """The claims of ``id_token`` once its signature (JWKS) and claims are checked, else
    :class:`SignInRejected`. ``none`` and symmetric algorithms are never accepted: the token
    must be signed with one of the provider's public keys."""
    allowed = [a for a in (algorithms or ["RS256"]) if a != "none" and not a.startswith("HS")] or ["RS256"]
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        decoded = jwt.decode(id_token, keys, algorithms=allowed, registry=JWSRegistry(algorithms=allowed))
        params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "values": [issuer]},
                "aud": {"essential": True, "values": [client_id]},
                "exp": {"essential": True},
                "nonce": {"essential": True},
            },
            params,
        )
        claims.validate(leeway=LEEWAY)
    except (JoseError, ValueError, TypeError) as exc:
        raise SignInRejected(f"the ID token is not valid: {exc}") from exc
    return dict(claims)

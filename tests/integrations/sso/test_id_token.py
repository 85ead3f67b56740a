"""The ID token's checks, one by one, on tokens signed here with joserfc (the flow tests get
real ones from the provider; these forge the bad ones a provider would never send)."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from lessonloop.integrations.sso.client import SignInRejected, verify_id_token

ISSUER, CLIENT, NONCE = "https://id.example.com", "lessonloop", "n-0123456789"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"}, private=True)
JWKS = KeySet([KEY]).as_dict(private=False)


def _claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u1", "aud": CLIENT, "exp": now + 300, "iat": now, "nonce": NONCE}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _token(claims: dict[str, Any], key: Any = KEY, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": "k1"}, claims, key)


def _verify(token: str, **kw: Any) -> dict[str, Any]:
    return verify_id_token(token, jwks=JWKS, issuer=ISSUER, client_id=CLIENT, nonce=NONCE, **kw)


def test_a_good_token_gives_its_claims() -> None:
    claims = _verify(_token(_claims(email="a@example.com", email_verified=True)))
    assert (claims["sub"], claims["email"], claims["email_verified"]) == ("u1", "a@example.com", True)


def test_at_hash_binds_the_access_token() -> None:
    digest = hashlib.sha256(b"the-access-token").digest()[:16]
    at_hash = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    token = _token(_claims(at_hash=at_hash))
    assert _verify(token, access_token="the-access-token")["sub"] == "u1"
    with pytest.raises(SignInRejected):
        _verify(token, access_token="another-access-token")


@pytest.mark.parametrize(
    "claims",
    [
        _claims(nonce="another-nonce"),  # a replayed token from another sign-in
        _claims(nonce=None),
        _claims(aud="another-client"),  # issued to someone else
        _claims(iss="https://evil.example.com"),
        _claims(exp=int(time.time()) - 3600),  # expired (beyond the leeway)
        _claims(sub=None),
    ],
    ids=["nonce", "no-nonce", "aud", "iss", "exp", "no-sub"],
)
def test_a_token_with_a_wrong_claim_is_refused(claims: dict[str, Any]) -> None:
    with pytest.raises(SignInRejected):
        _verify(_token(claims))


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(SignInRejected):
        _verify(_token(_claims(), key=OTHER))


def test_a_symmetric_or_unsigned_token_is_refused() -> None:
    """The classic confusion: HS256 keyed with something public, or ``alg: none``."""
    secret = OctKey.import_key(b"k" * 32)
    with pytest.raises(SignInRejected):
        _verify(_token(_claims(), key=secret, alg="HS256"), algorithms=["RS256", "HS256"])
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = _token(_claims()).split(".")[1]
    with pytest.raises(SignInRejected):
        _verify(f"{header}.{body}.", algorithms=["none", "RS256"])

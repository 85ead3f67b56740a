"""Password hashing (argon2id) and token digests (SHA-256). No database here."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lessonloop.errors import Invalid

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # long enough for any passphrase, short enough not to be a DoS lever
TOKEN_PREFIX = "ll_"
TOKEN_HINT_LENGTH = 8  # "ll_" + 5 characters shown in token lists

# argon2-cffi's defaults are argon2id with the RFC 9106 "low memory" profile
# (t=3, m=64 MiB, p=4). Raising them later is safe: ``needs_rehash`` upgrades hashes on sign-in.
HASHER = PasswordHasher()


def check_password_rules(password: object, *, field: str = "password", avoid: tuple[str, ...] = ()) -> str:
    """Return the password unchanged, or raise :class:`Invalid` naming ``field``.

    Passwords are never stripped or normalised: what was typed is what is hashed.
    """
    if not isinstance(password, str):
        raise Invalid("is required", field=field)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(f"must be at least {MIN_PASSWORD_LENGTH} characters long", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(f"must be at most {MAX_PASSWORD_LENGTH} characters long", field=field)
    if not password.strip():
        raise Invalid("must not be only spaces", field=field)
    lowered = password.strip().lower()
    if any(lowered == a.strip().lower() for a in avoid if a):
        raise Invalid("must not be the same as your handle or e-mail", field=field)
    return password


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; a malformed or unusable hash never matches."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time of one real verification, so an unknown user answers as slowly as a known one."""
    verify_password(_dummy_hash(HASHER), password if isinstance(password, str) else "")


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def digest(plaintext: str) -> str:
    """SHA-256 hex digest: tokens have 256 random bits, so a fast hash is enough (no salt/KDF)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()

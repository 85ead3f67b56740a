"""Who a verified OpenID sign-in is, and the sign-ins under way.

**Mapping** (:func:`person_for_claims`), in this order:

1. the identity ``(iss, sub)`` is linked to a person: that person, whatever e-mail the provider
   sends now (an e-mail change at the provider still arrives as the same person);
2. otherwise the e-mail, **only when the provider says it is verified** (``email_verified``), names
   a person in the directory (only org admins set people's e-mails): that person, and the link is
   made;
3. otherwise, with just-in-time creation on, a new person with that e-mail (in the configured team
   and role, never an org admin), linked; with it off, :class:`NoAccount`.

**Sign-ins under way**: :func:`begin_attempt` keeps state, nonce and PKCE verifier on the server
under the SHA-256 of a random cookie value; :func:`take_attempt` finds and deletes it (one use,
ten minutes) and checks the ``state`` the provider sent back.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.access.scope import require_directory_admin
from lessonloop.accounts.crypto import digest, new_session_id
from lessonloop.errors import LessonloopError
from lessonloop.integrations.sso.client import AuthorizationRequest
from lessonloop.integrations.sso.config import SsoConfig
from lessonloop.integrations.sso.models import SsoIdentity, SsoSignInAttempt
from lessonloop.people.models import Person
from lessonloop.people.service import add_member, add_person, make_handle
from lessonloop.store.base import utcnow

ATTEMPT_LIFETIME = dt.timedelta(minutes=10)


class SignInProblem(Exception):
    """Why an OpenID sign-in did not sign anyone in: a page with ``title`` and ``message``."""

    status_code = 400
    title = "Sign-in did not work"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AttemptUnknown(SignInProblem):
    title = "Sign-in expired"


class StateMismatch(SignInProblem):
    title = "Sign-in refused"


class EmailNotVerified(SignInProblem):
    status_code = 403
    title = "E-mail address not verified"


class NoAccount(SignInProblem):
    status_code = 403
    title = "No account for this address"


class LinkedElsewhere(SignInProblem):
    status_code = 409
    title = "Already linked"


def _aware(now: dt.datetime | None) -> dt.datetime:
    return utcnow() if now is None else (now if now.tzinfo else now.replace(tzinfo=dt.UTC))


# -- sign-ins under way -------------------------------------------------------------------------


def begin_attempt(
    session: Session,
    auth: AuthorizationRequest,
    *,
    redirect_uri: str,
    next_path: str,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> str:
    """Keep what the callback must check; returns the plaintext for the browser's cookie."""
    require_actor(viewer)
    now = _aware(now)
    # Attempts nobody finished (the tab was closed) go when the next one starts.
    session.execute(delete(SsoSignInAttempt).where(SsoSignInAttempt.expires_at <= now))
    plaintext = new_session_id()
    session.add(
        SsoSignInAttempt(
            token_hash=digest(plaintext),
            state=auth.state,
            nonce=auth.nonce,
            code_verifier=auth.code_verifier,
            redirect_uri=redirect_uri,
            next_path=next_path,
            created_at=now,
            expires_at=now + ATTEMPT_LIFETIME,
        )
    )
    session.flush()
    return plaintext


def take_attempt(session: Session, plaintext: str | None, *, viewer: Actor) -> SsoSignInAttempt | None:
    """The attempt this browser started, deleted (one use, whatever the answer): the caller
    commits that, then checks the answer with :func:`check_attempt`."""
    require_actor(viewer)
    raw = plaintext.strip() if isinstance(plaintext, str) else ""
    row = (
        session.scalar(select(SsoSignInAttempt).where(SsoSignInAttempt.token_hash == digest(raw)))
        if raw
        else None
    )
    if row is not None:
        session.delete(row)
        session.flush()
        session.expunge(row)  # read after the unit ends
    return row


def check_attempt(
    attempt: SsoSignInAttempt | None, *, state: str, now: dt.datetime | None = None
) -> SsoSignInAttempt:
    """The attempt, once the answer is shown to be for it (``state``) and in time; refused otherwise."""
    if attempt is None:
        raise AttemptUnknown(
            "This sign-in is not one this browser started, or it was used already. Start again from the sign-in page."
        )
    if attempt.expires_at <= _aware(now):
        raise AttemptUnknown("This sign-in took more than ten minutes and has expired. Start again.")
    if not state or state != attempt.state:
        # Someone else's answer, or a forged one: its code is never exchanged.
        raise StateMismatch(
            "The answer from the identity provider does not belong to this sign-in (its state does "
            "not match). Start again from the sign-in page."
        )
    return attempt


# -- who signed in ------------------------------------------------------------------------------


def _verified(claims: dict[str, Any]) -> bool:
    # Some providers send the boolean as a string ("true"); anything else is "not verified".
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def person_for_claims(
    session: Session,
    claims: dict[str, Any],
    *,
    config: SsoConfig,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Person:
    """The person these verified ID-token claims are (see the module note), linked for next time."""
    require_actor(viewer)
    now = _aware(now)
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    identity = session.scalar(
        select(SsoIdentity).where(SsoIdentity.issuer == issuer, SsoIdentity.subject == subject)
    )
    if identity is not None:
        identity.last_sign_in_at = now
        if email and _verified(claims):
            identity.email = email
        session.flush()
        return identity.person
    if not email:
        raise EmailNotVerified(
            f"{config.provider_name} did not send an e-mail address, so lessonloop cannot tell who you "
            "are. Ask your admin to allow the 'email' scope for lessonloop."
        )
    if not _verified(claims):
        raise EmailNotVerified(
            f"{config.provider_name} has not verified {email}. Verify the address there, then sign in again."
        )
    person = session.scalar(select(Person).where(func.lower(Person.email) == email.lower()))
    if person is None:
        if not config.jit:
            raise NoAccount(
                f"No account for this address: nobody in this lessonloop workspace has the e-mail {email}. "
                "Ask an admin to add you."
            )
        person = _new_person(session, claims, email, config=config, viewer=viewer)
    else:
        other = session.scalar(
            select(SsoIdentity).where(SsoIdentity.person_id == person.id, SsoIdentity.issuer == issuer)
        )
        if other is not None:
            raise LinkedElsewhere(
                f"{email} belongs to a lessonloop person who signs in with another {config.provider_name} "
                "identity. Ask an admin to unlink it (`lessonloop sso unlink HANDLE`)."
            )
    session.add(SsoIdentity(person=person, issuer=issuer, subject=subject, email=email, last_sign_in_at=now))
    session.flush()
    return person


def _free_handle(session: Session, email: str) -> str:
    base = make_handle(email.split("@", 1)[0])[:56] or "person"
    if not re.match(r"^[a-z0-9]", base):
        base = f"p{base}"[:56]
    handle, n = base, 1
    while session.scalar(select(Person.id).where(Person.handle == handle)) is not None:
        n += 1
        handle = f"{base}-{n}"
    return handle


def _new_person(
    session: Session, claims: dict[str, Any], email: str, *, config: SsoConfig, viewer: Actor
) -> Person:
    """Just-in-time: a person with the verified e-mail, in the configured team and role."""
    name = claims.get("name") if isinstance(claims.get("name"), str) and claims.get("name") else email
    person = add_person(
        session, name=str(name)[:200], handle=_free_handle(session, email), email=email, viewer=viewer
    )
    if config.jit_team:
        try:
            add_member(session, team=config.jit_team, person=person, role=config.jit_role, viewer=viewer)
        except LessonloopError as exc:  # the team is gone or misspelt: an admin must fix the setting
            raise SignInProblem(
                f"LESSONLOOP_OIDC_JIT_TEAM names no usable team ({exc.message}); ask an admin to fix it."
            ) from exc
    return person


def unlink(session: Session, person: Person, *, issuer: str, viewer: Actor) -> int:
    """Forget ``person``'s identity at ``issuer`` (an admin's gesture); their next OpenID sign-in
    maps by verified e-mail again. Returns how many links went (0 or 1)."""
    require_directory_admin(viewer, "unlink single sign-on identities")
    rows = session.scalars(
        select(SsoIdentity).where(SsoIdentity.person_id == person.id, SsoIdentity.issuer == issuer)
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)

"""Who is who in Slack: linking a person to their Slack user, and back.

Two ways in, both safe against someone claiming another person's identity:

* **the person themself** — their account page shows a one-time code (:func:`create_link_code`;
  valid :data:`CODE_LIFETIME`, one at a time, only its SHA-256 stored) that they send from Slack
  with ``/lessonloop link CODE``. The Slack request is signed, so the Slack user id it carries is
  Slack's word; the code proves the lessonloop side. Whoever sees the code could link *their*
  Slack user to the person, which is why it is short-lived, single-use and shown only to them.
* **an org admin** — maps a person by the e-mail on file, looked up in Slack with
  ``users.lookupByEmail`` (:func:`map_by_email`), never by an address typed by the person.

One Slack user per person and one person per Slack user (both unique). A Slack user acts with
exactly the linked person's rights (:func:`person_for_slack_user`, then ``viewer_for``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, is_system, require_actor
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.integrations.slack.models import SLACK_ID_MAX, SlackIdentity, SlackLinkCode
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.store.base import utcnow

CODE_LIFETIME = dt.timedelta(minutes=15)
# No 0/O or 1/I/L: the code is read off a page and typed into Slack.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10  # 31**10 ≈ 8·10^14: not guessable in a quarter of an hour
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,31}")


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def normalise_code(code: str) -> str:
    """``abcd-efgh 12`` → ``ABCDEFGH12``: case, spaces and dashes do not matter."""
    return re.sub(r"[\s-]", "", code).upper()


def check_user_id(slack_user_id: str) -> str:
    value = (slack_user_id or "").strip()
    if len(value) > SLACK_ID_MAX or not _USER_ID.fullmatch(value):
        raise Invalid(f"is not a Slack user id: {value!r}", field="slack_user_id")
    return value


def _require_self_or_admin(session: Session, person: Person, viewer: Actor, verb: str) -> None:
    if is_person(viewer) and not viewer.is_admin and viewer.person_id != person.id:
        raise PermissionDenied(f"only {person.handle} or an org admin may {verb}", field="person")


def create_link_code(
    session: Session, person: PersonRef, *, now: dt.datetime | None = None, viewer: Actor
) -> str:
    """A new one-time code for ``person`` (the one before it stops working); returns the code
    itself, shown once. A person may make one only for themself."""
    require_actor(viewer)
    owner = get_person(session, person, viewer=viewer)
    if is_person(viewer) and viewer.person_id != owner.id:
        raise PermissionDenied("you may only link your own Slack account", field="person")
    now = now or utcnow()
    code = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_LENGTH))
    session.execute(delete(SlackLinkCode).where(SlackLinkCode.person_id == owner.id))
    session.add(SlackLinkCode(person_id=owner.id, code_hash=_hash(code), expires_at=now + CODE_LIFETIME))
    session.flush()
    return f"{code[:5]}-{code[5:]}"


def redeem_link_code(
    session: Session,
    code: str,
    *,
    slack_user_id: str,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> SlackIdentity:
    """Link the Slack user who sent ``code`` to the person it was made for; the code is used up.

    Only the Slack app calls this (a named system job): the signed request is what says who the
    Slack user is. An unknown, used or expired code is refused with the same message, so a
    guess learns nothing.
    """
    require_actor(viewer)
    if not is_system(viewer):
        raise PermissionDenied("a link code is redeemed from Slack", field="code")
    user_id = check_user_id(slack_user_id)
    now = now or utcnow()
    row = session.scalar(select(SlackLinkCode).where(SlackLinkCode.code_hash == _hash(code or "")))
    if row is None or row.expires_at <= now:
        raise Invalid(
            "this code is unknown or has expired: make a new one on your lessonloop account page",
            field="code",
        )
    person_id = row.person_id
    identity = _link(session, person_id, user_id, linked_by="code")  # refuses before using the code up
    session.delete(row)
    session.flush()
    return identity


def _link(session: Session, person_id: int, slack_user_id: str, *, linked_by: str) -> SlackIdentity:
    taken = session.scalar(select(SlackIdentity).where(SlackIdentity.slack_user_id == slack_user_id))
    if taken is not None and taken.person_id != person_id:
        raise Conflict(
            f"this Slack account is linked to {taken.person.handle} already: unlink it there first",
            field="slack_user_id",
        )
    identity = session.scalar(select(SlackIdentity).where(SlackIdentity.person_id == person_id))
    if identity is None:
        identity = SlackIdentity(person_id=person_id, slack_user_id=slack_user_id, linked_by=linked_by)
        session.add(identity)
    else:
        identity.slack_user_id = slack_user_id
        identity.linked_by = linked_by
    session.flush()
    return identity


class UserLookup(Protocol):
    """What :func:`map_by_email` needs of a ``slack_sdk.WebClient``."""

    def users_lookupByEmail(self, *, email: str, **kwargs: Any) -> Any: ...


def map_by_email(session: Session, person: PersonRef, client: UserLookup, *, viewer: Actor) -> SlackIdentity:
    """Link ``person`` to the Slack user with their e-mail on file (``users.lookupByEmail``).

    Org admins only (or a named system job such as the local CLI). The address is the one
    lessonloop has for the person, so nobody can map themself onto someone else's Slack user.
    """
    require_actor(viewer)
    if is_person(viewer) and not viewer.is_admin:
        raise PermissionDenied("only an org admin may map people to Slack users", field="person")
    owner = get_person(session, person, viewer=viewer)
    if not owner.email:
        raise Invalid(f"{owner.handle} has no e-mail on file to look up in Slack", field="person")
    from slack_sdk.errors import SlackApiError

    try:
        answer = client.users_lookupByEmail(email=owner.email)
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        if error == "users_not_found":
            raise NotFound(f"no Slack user has the e-mail {owner.email}", field="person") from None
        raise Invalid(f"Slack refused the lookup: {error}", field="person") from None
    user_id = check_user_id(str((answer.get("user") or {}).get("id", "")))
    admin = "cli" if is_system(viewer) else str(viewer.person_id)
    return _link(session, owner.id, user_id, linked_by=f"email:{admin}")


def unlink(session: Session, person: PersonRef, *, viewer: Actor) -> bool:
    """Forget ``person``'s Slack user (themself or an org admin); ``False`` when none was linked.
    Their Slack messages stop at once (the target is read at every attempt)."""
    require_actor(viewer)
    owner = get_person(session, person, viewer=viewer)
    _require_self_or_admin(session, owner, viewer, "unlink this Slack account")
    identity = session.scalar(select(SlackIdentity).where(SlackIdentity.person_id == owner.id))
    if identity is None:
        return False
    session.delete(identity)
    session.flush()
    return True


def identity_of(session: Session, person: PersonRef, *, viewer: Actor) -> SlackIdentity | None:
    """``person``'s linked Slack identity (themself or an org admin may ask)."""
    require_actor(viewer)
    owner = get_person(session, person, viewer=viewer)
    _require_self_or_admin(session, owner, viewer, "see this Slack link")
    return session.scalar(select(SlackIdentity).where(SlackIdentity.person_id == owner.id))


def slack_user_of(session: Session, person_id: int, *, viewer: Actor) -> str | None:
    """The Slack user id linked to ``person_id`` (for the outbox's target), or ``None``."""
    require_actor(viewer)
    return session.scalar(select(SlackIdentity.slack_user_id).where(SlackIdentity.person_id == person_id))


def person_for_slack_user(session: Session, slack_user_id: str, *, viewer: Actor) -> Person | None:
    """The person a Slack user is linked to, or ``None`` (then they may do nothing)."""
    require_actor(viewer)
    identity = session.scalar(select(SlackIdentity).where(SlackIdentity.slack_user_id == slack_user_id))
    return identity.person if identity is not None else None


def list_links(session: Session, *, viewer: Actor) -> list[SlackIdentity]:
    """Every link, by handle (org admins)."""
    require_actor(viewer)
    if is_person(viewer) and not viewer.is_admin:
        raise PermissionDenied("only an org admin may list Slack links")
    return list(session.scalars(select(SlackIdentity).join(SlackIdentity.person).order_by(Person.handle)))

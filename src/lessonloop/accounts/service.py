"""Accounts, sign-in with rate limiting, API tokens and web sessions.

Like every service, these functions flush but never commit. One exception to the usual shape:
a refused sign-in must still *record* the failure, which a unit of work would roll back along
with the exception. :func:`sign_in` is the adapter-facing wrapper that commits the count and
then re-raises; :func:`authenticate` is the rule itself, for callers that own the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, or_, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, SystemActor, is_person
from lessonloop.access.scope import require_directory_admin
from lessonloop.accounts.crypto import (
    TOKEN_HINT_LENGTH,
    TOKEN_PREFIX,
    burn_verification,
    check_password_rules,
    digest,
    hash_password,
    needs_rehash,
    new_api_token,
    new_session_id,
    verify_password,
)
from lessonloop.accounts.models import Account, ApiToken, WebSession
from lessonloop.coerce import as_text
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.integrations.sso.policy import require_password_sign_in
from lessonloop.people.models import Membership, Person
from lessonloop.people.service import PersonRef, add_person, get_person
from lessonloop.store.base import utcnow
from lessonloop.store.crud import id_in_range

if TYPE_CHECKING:
    from lessonloop.store.engine import Database

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(days=14)
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=1)  # last_used_at is written at most this often

BAD_CREDENTIALS = "unknown handle or e-mail, or wrong password"

#: Sign-in, sessions, tokens and one's own password are the layer that *establishes* who acts;
#: they look people up as this job. Changing someone else's account takes a required actor.
IDENTITY = SystemActor("accounts")


class SignInRefused(PermissionDenied):
    """A refused sign-in (403). ``locked_until`` is set when the account is locked."""

    def __init__(self, message: str, *, locked_until: dt.datetime | None = None) -> None:
        super().__init__(message, field="password")
        self.locked_until = locked_until


def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    return now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)


# -- accounts -----------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    name: str,
    handle: str,
    email: str | None,
    password: str,
    admin: bool = False,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Account:
    """A new person with an account: what ``lessonloop user create [--admin]`` calls.

    The password is checked before anything is written, so a refused password leaves no person.
    """
    check_password_rules(password, avoid=(handle or "", email or ""))
    person = add_person(session, name=name, handle=handle, email=email, viewer=viewer)
    return create_account(session, person, password=password, admin=admin, now=now, viewer=viewer)


def create_account(
    session: Session,
    person: PersonRef,
    *,
    password: str,
    admin: bool = False,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> Account:
    """Give an existing person a way to sign in (org admins)."""
    require_directory_admin(viewer, "give people a sign-in")
    person_obj = get_person(session, person, viewer=viewer)
    check_password_rules(password, avoid=(person_obj.handle, person_obj.email or ""))
    if account_of(session, person_obj) is not None:
        raise Conflict(f"{person_obj.handle} has an account already", field="person")
    account = Account(
        person=person_obj,
        password_hash=hash_password(password),
        password_changed_at=_aware(now),
        is_admin=bool(admin),
        failed_logins=0,
    )
    session.add(account)
    session.flush()
    return account


def has_accounts(session: Session) -> bool:
    """False on a fresh workspace: nobody can sign in yet (the web app then asks for a first admin)."""
    return session.scalar(select(Account.id).limit(1)) is not None


def account_of(session: Session, person: Person | int) -> Account | None:
    person_id = person if isinstance(person, int) else person.id
    return session.scalar(select(Account).where(Account.person_id == person_id))


def accounts_by_person(session: Session, *, viewer: Actor) -> dict[int, Account]:
    """person id → account, for every person who has one: the accounts page in one statement
    (it asked :func:`account_of` person by person). Org admins only, as that page."""
    require_directory_admin(viewer, "manage accounts")
    return {a.person_id: a for a in session.scalars(select(Account))}


def _account_for_sign_in(session: Session, handle_or_email: str) -> Account | None:
    raw = (handle_or_email or "").strip().lower()
    if not raw or "\x00" in raw:  # no handle or e-mail holds a NUL (and PostgreSQL refuses it)
        return None
    stmt = (
        select(Account)
        .join(Person, Person.id == Account.person_id)
        .where(or_(Person.handle == raw, func.lower(Person.email) == raw))
        # Serialises concurrent attempts on one account (PostgreSQL; SQLite has one writer anyway).
        .with_for_update(of=Account)
    )
    return session.scalar(stmt)


def authenticate(session: Session, handle_or_email: str, password: str, *, now: dt.datetime) -> Person:
    """The person whose handle or e-mail and password these are, or :class:`SignInRefused`.

    * Unknown user or wrong password: the same message, and about the same time (a dummy
      argon2 verification runs for an unknown user).
    * After :data:`MAX_FAILED_LOGINS` wrong passwords in a row the account is locked for
      :data:`LOCKOUT`; while locked even the right password is refused. A successful sign-in
      resets the count.
    * The failure count is flushed, not committed (see the module note and :func:`sign_in`).
    """
    # A workspace on single sign-on only refuses every password, before any account is read.
    require_password_sign_in(session, viewer=IDENTITY)
    now = _aware(now)
    account = _account_for_sign_in(session, handle_or_email)
    if account is None:
        burn_verification(password)
        raise SignInRefused(BAD_CREDENTIALS)
    if account.locked_until is not None:
        if account.locked_until > now:
            burn_verification(password)
            raise SignInRefused(_locked_message(account.locked_until, now), locked_until=account.locked_until)
        account.locked_until = None  # the window has passed: a fresh start
        account.failed_logins = 0
    if not verify_password(account.password_hash, password if isinstance(password, str) else ""):
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
            session.flush()
            raise SignInRefused(
                f"{BAD_CREDENTIALS}; after {MAX_FAILED_LOGINS} failed sign-ins in a row the account "
                f"is locked for {_minutes(LOCKOUT)} minutes",
                locked_until=account.locked_until,
            )
        session.flush()
        raise SignInRefused(BAD_CREDENTIALS)
    account.failed_logins = 0
    account.last_login_at = now
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    session.flush()
    return account.person


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _locked_message(until: dt.datetime, now: dt.datetime) -> str:
    left = max(1, -(-int((until - now).total_seconds()) // 60))
    return (
        f"too many failed sign-ins: this account is locked until {until:%Y-%m-%d %H:%M} UTC "
        f"(about {left} minute{'s' if left != 1 else ''}); try again then, or ask an admin to unlock it"
    )


def sign_in(db: Database, handle_or_email: str, password: str, *, now: dt.datetime | None = None) -> Person:
    """:func:`authenticate` in its own unit of work that keeps the failure count when refused.

    For the web and API adapters: a refusal commits the new count (or the lock) and then raises
    the same :class:`SignInRefused`, so rate limiting survives the request.
    """
    refused: SignInRefused | None = None
    with db.unit(actor=f"sign-in:{(handle_or_email or '').strip()[:64]}") as session:
        try:
            return authenticate(session, handle_or_email, password, now=_aware(now))
        except SignInRefused as exc:
            refused = exc
    assert refused is not None
    raise refused


def unlock(session: Session, person: PersonRef, *, viewer: Actor) -> Account:
    """Lift a lock and clear the failure count (an admin's gesture)."""
    require_directory_admin(viewer, "unlock accounts")
    account = _require_account(session, person)
    account.locked_until = None
    account.failed_logins = 0
    session.flush()
    return account


def _require_account(session: Session, person: PersonRef) -> Account:
    person_obj = get_person(session, person, viewer=IDENTITY)
    account = account_of(session, person_obj)
    if account is None:
        raise NotFound(f"{person_obj.handle} has no account", field="person")
    return account


def change_password(
    session: Session,
    person: PersonRef,
    *,
    current_password: str,
    new_password: str,
    keep_session: str | None = None,
    now: dt.datetime | None = None,
) -> Account:
    """Change one's own password, proving the current one.

    Every web session of the person ends except ``keep_session`` (the plaintext id of the
    browser making the change); API tokens are left alone (revoke them one by one).
    """
    account = _require_account(session, person)
    if not verify_password(
        account.password_hash, current_password if isinstance(current_password, str) else ""
    ):
        raise PermissionDenied("is wrong", field="current_password")
    if isinstance(new_password, str) and new_password == current_password:
        raise Invalid("must differ from the current password", field="new_password")
    # knowing the current password is the permission here
    return set_password(
        session,
        account.person,
        new_password,
        keep_session=keep_session,
        now=now,
        field="new_password",
        viewer=IDENTITY,
    )


def set_password(
    session: Session,
    person: PersonRef,
    new_password: str,
    *,
    keep_session: str | None = None,
    now: dt.datetime | None = None,
    field: str = "password",
    viewer: Actor,
) -> Account:
    """Set a password without the old one (an admin reset, ``lessonloop user password``)."""
    require_directory_admin(viewer, "reset passwords")
    account = _require_account(session, person)
    check_password_rules(new_password, field=field, avoid=(account.person.handle, account.person.email or ""))
    account.password_hash = hash_password(new_password)
    account.password_changed_at = _aware(now)
    account.failed_logins = 0
    account.locked_until = None
    end_all_sessions(session, account.person, keep=keep_session)
    session.flush()
    return account


def set_admin(session: Session, person: PersonRef, admin: bool, *, viewer: Actor) -> Account:
    """Make a person an org admin or take it back: org admins only, and never for oneself (an
    admin cannot lock the workspace out of its last admin by accident, nor promote themselves)."""
    require_directory_admin(viewer, "change who is an org admin")
    account = _require_account(session, person)
    if is_person(viewer) and account.person_id == viewer.person_id:
        raise PermissionDenied("nobody changes their own admin flag", field="person")
    account.is_admin = bool(admin)
    session.flush()
    return account


# -- API tokens ---------------------------------------------------------------------------------


def issue_token(
    session: Session, person: PersonRef, name: str, *, now: dt.datetime | None = None
) -> tuple[ApiToken, str]:
    """A new API token. The plaintext is returned once and never stored: show it, then forget it."""
    person_obj = get_person(session, person, viewer=IDENTITY)
    plaintext = new_api_token()
    token = ApiToken(
        person=person_obj,
        name=as_text(name, "name", required=True, max_len=100),
        token_hash=digest(plaintext),
        prefix=plaintext[:TOKEN_HINT_LENGTH],
        created_at=_aware(now),
    )
    session.add(token)
    session.flush()
    return token, plaintext


@dataclass(frozen=True)
class TokenHolder:
    """Who holds an API token, with what the visibility rules read of them: their org-admin
    flag and (team id, role) pairs, sorted (:meth:`lessonloop.access.viewer.Viewer.rule_key`)."""

    person_id: int
    handle: str
    is_admin: bool
    roles: tuple[tuple[int, str], ...]


# One row per membership (one with NULLs for a person in no team); kept, so a request builds
# no statement. Memberships are read here as ``access.viewer.viewer_for`` reads them.
_TOKEN_HOLDER = (
    select(
        ApiToken.person_id,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        Person.handle,
        Account.is_admin,
        Membership.team_id,
        Membership.role,
    )
    .join(Person, Person.id == ApiToken.person_id)
    .outerjoin(Account, Account.person_id == ApiToken.person_id)
    .outerjoin(Membership, Membership.person_id == ApiToken.person_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def token_holder(
    session: Session | Connection, plaintext: str, *, now: dt.datetime | None = None
) -> TokenHolder | None:
    """The holder of a valid API token whose check has nothing to write, read in one statement
    without ORM objects: what an API request asks first, every time when answers are not kept.

    ``None`` when :func:`resolve_token` must decide: not a token, unknown, revoked (it refuses
    them with their reasons), or its ``last_used_at`` is due (it writes it). Never a holder
    that :func:`resolve_token` would refuse.
    """
    raw = (plaintext or "").strip() if isinstance(plaintext, str) else ""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    connection = session.connection() if isinstance(session, Session) else session  # it only reads
    rows = connection.execute(_TOKEN_HOLDER, {"token_hash": digest(raw)}).all()
    if not rows:
        return None
    person_id, revoked_at, last_used_at, handle, is_admin, _team, _role = rows[0]
    if revoked_at is not None or last_used_at is None or _aware(now) - last_used_at >= TOKEN_TOUCH_INTERVAL:
        return None
    roles = tuple(sorted((team_id, role) for *_, team_id, role in rows if team_id is not None))
    return TokenHolder(person_id=person_id, handle=handle, is_admin=bool(is_admin), roles=roles)


def resolve_token(session: Session, plaintext: str, *, now: dt.datetime | None = None) -> Person:
    """The person a bearer token belongs to; unknown or revoked tokens are refused (403)."""
    raw = (plaintext or "").strip() if isinstance(plaintext, str) else ""
    if not raw.startswith(TOKEN_PREFIX):
        raise PermissionDenied("not a lessonloop API token (they start with 'll_')", field="token")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
    if token is None:
        raise PermissionDenied("unknown API token", field="token")
    if token.revoked_at is not None:
        raise PermissionDenied(
            f"API token {token.name!r} was revoked on {token.revoked_at:%Y-%m-%d}", field="token"
        )
    now = _aware(now)
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_TOUCH_INTERVAL:
        token.last_used_at = now
        session.flush()
    return token.person


def list_tokens(session: Session, person: PersonRef, *, include_revoked: bool = True) -> list[ApiToken]:
    person_obj = get_person(session, person, viewer=IDENTITY)
    stmt = select(ApiToken).where(ApiToken.person_id == person_obj.id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(stmt.order_by(ApiToken.id)))


def revoke_token(
    session: Session, person: PersonRef, token_id: int | str, *, now: dt.datetime | None = None
) -> ApiToken:
    """Revoke one of ``person``'s tokens (an admin may revoke anyone's). Revoking twice is a no-op.

    A token that is not the person's answers 404, as if it did not exist.
    """
    actor = get_person(session, person, viewer=IDENTITY)
    try:
        tid = int(token_id)
    except (TypeError, ValueError):
        raise Invalid(f"token id must be a number, got {token_id!r}", field="token_id") from None
    token = session.get(ApiToken, tid) if id_in_range(tid) else None
    actor_account = account_of(session, actor)
    is_admin = actor_account is not None and actor_account.is_admin
    if token is None or (token.person_id != actor.id and not is_admin):
        raise NotFound(f"no API token with id {tid}", field="token_id")
    if token.revoked_at is None:
        token.revoked_at = _aware(now)
        session.flush()
    return token


# -- web sessions -------------------------------------------------------------------------------


def start_session(
    session: Session,
    person: PersonRef,
    *,
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = SESSION_LIFETIME,
) -> str:
    """Open a web session; returns the plaintext id for the cookie (only its digest is stored)."""
    person_obj = get_person(session, person, viewer=IDENTITY)
    now = _aware(now)
    plaintext = new_session_id()
    session.add(
        WebSession(
            person=person_obj,
            token_hash=digest(plaintext),
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
    )
    session.flush()
    return plaintext


def resolve_session(session: Session, plaintext: str, *, now: dt.datetime | None = None) -> Person:
    """The person signed in with this session id; unknown, ended or expired ones are refused."""
    raw = plaintext.strip() if isinstance(plaintext, str) else ""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(raw))) if raw else None
    if row is None:
        raise PermissionDenied("not signed in (unknown or ended session); sign in again", field="session")
    now = _aware(now)
    if row.expires_at <= now:
        raise PermissionDenied("the session has expired; sign in again", field="session")
    if row.last_seen_at is None or now - row.last_seen_at >= TOKEN_TOUCH_INTERVAL:
        row.last_seen_at = now
        session.flush()
    return row.person


def end_session(session: Session, plaintext: str) -> bool:
    """Sign out: True when a session ended, False when there was none (signing out twice is fine)."""
    raw = plaintext.strip() if isinstance(plaintext, str) else ""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(raw))) if raw else None
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def end_all_sessions(session: Session, person: Person, *, keep: str | None = None) -> int:
    keep_hash = digest(keep) if keep else None
    rows = session.scalars(select(WebSession).where(WebSession.person_id == person.id)).all()
    ended = 0
    for row in rows:
        if row.token_hash != keep_hash:
            session.delete(row)
            ended += 1
    session.flush()
    return ended


def purge_expired_sessions(session: Session, *, now: dt.datetime | None = None) -> int:
    rows = session.scalars(select(WebSession).where(WebSession.expires_at <= _aware(now))).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)

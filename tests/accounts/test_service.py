"""Accounts: argon2id passwords, sign-in lockout, API tokens and web sessions (both backends)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.accounts import crypto
from lessonloop.accounts.models import Account, ApiToken, WebSession
from lessonloop.accounts.service import (
    BAD_CREDENTIALS,
    LOCKOUT,
    MAX_FAILED_LOGINS,
    SignInRefused,
    account_of,
    authenticate,
    change_password,
    create_account,
    create_user,
    end_session,
    issue_token,
    list_tokens,
    resolve_session,
    resolve_token,
    revoke_token,
    sign_in,
    start_session,
    token_holder,
    unlock,
)
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.people.models import Person
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from lessonloop.store.registry import metadata
from tests.factories import SYSTEM

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


def _user(session: Session, handle: str = "ana", *, admin: bool = False) -> Account:
    return create_user(
        session,
        name=handle.title(),
        handle=handle,
        email=f"{handle}@example.com",
        password=PASSWORD,
        admin=admin,
        now=NOW,
        viewer=SYSTEM,
    )


def _everything_stored(session: Session) -> str:
    """Every row of every table, search index included, as one string."""
    session.flush()
    parts = [repr(row) for table in metadata.sorted_tables for row in session.execute(table.select())]
    search = "search_fts" if session.get_bind().dialect.name == "sqlite" else "search_documents"
    parts += [repr(row) for row in session.execute(text(f"SELECT * FROM {search}"))]
    return "\n".join(parts)


# -- passwords ----------------------------------------------------------------------------------


def test_create_user_stores_an_argon2id_hash(session: Session, production_hasher: PasswordHasher) -> None:
    account = _user(session, admin=True)
    assert account.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert authenticate(session, "ana", PASSWORD, now=NOW).id == account.person_id
    assert PASSWORD not in account.password_hash
    assert account.is_admin is True
    assert account.person.handle == "ana"
    assert account.failed_logins == 0 and account.locked_until is None
    assert PASSWORD not in _everything_stored(session)


def test_password_hash_stays_out_of_history(session: Session) -> None:
    account = _user(session)
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.record_type == "account")).all()
    assert entries, "the account's creation is still logged"
    assert all("password_hash" not in e.changes for e in entries)
    assert account.password_hash not in repr([e.changes for e in entries])


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 10 characters"),
        ("123456789", "at least 10 characters"),
        (" " * 12, "only spaces"),
        ("x" * 1025, "at most 1024"),
        ("ana@example.com", "handle or e-mail"),
        (None, "required"),
    ],
)
def test_weak_passwords_are_refused_before_anything_is_written(
    session: Session, password: object, message: str
) -> None:
    with pytest.raises(Invalid) as err:
        create_user(
            session, name="Ana", handle="ana", email="ana@example.com", password=password, viewer=SYSTEM
        )  # type: ignore[arg-type]
    assert err.value.field == "password"
    assert message in err.value.message
    assert session.scalar(select(Person).where(Person.handle == "ana")) is None


def test_ten_characters_is_enough(session: Session) -> None:
    assert create_user(session, name="Bo", handle="bo", email=None, password="0123456789", viewer=SYSTEM).id


def test_one_account_per_person(session: Session) -> None:
    account = _user(session)
    with pytest.raises(Conflict):
        create_account(session, account.person, password="another password", viewer=SYSTEM)


def test_an_existing_person_can_get_an_account(session: Session) -> None:
    person = add_person(session, name="Cy", handle="cy", viewer=SYSTEM)
    account = create_account(session, "cy", password=PASSWORD, viewer=SYSTEM)
    assert account.person_id == person.id
    assert authenticate(session, "cy", PASSWORD, now=NOW).id == person.id


# -- signing in ---------------------------------------------------------------------------------


def test_sign_in_by_handle_or_email_any_case(session: Session) -> None:
    account = _user(session)
    assert authenticate(session, "ana", PASSWORD, now=NOW).id == account.person_id
    assert authenticate(session, " ANA@Example.com ", PASSWORD, now=NOW).id == account.person_id
    assert account.last_login_at == NOW


def test_wrong_password_and_unknown_user_get_the_same_answer(session: Session) -> None:
    account = _user(session)
    with pytest.raises(PermissionDenied) as wrong:
        authenticate(session, "ana", "not the password", now=NOW)
    with pytest.raises(PermissionDenied) as unknown:
        authenticate(session, "nobody", PASSWORD, now=NOW)
    assert wrong.value.message == unknown.value.message == BAD_CREDENTIALS
    assert wrong.value.status_code == 403
    assert account.failed_logins == 1
    assert account.last_login_at is None


def test_a_person_without_an_account_cannot_sign_in(session: Session) -> None:
    add_person(session, name="Di", handle="di", viewer=SYSTEM)
    with pytest.raises(SignInRefused, match="wrong password"):
        authenticate(session, "di", "", now=NOW)


def test_lockout_after_repeated_failures_and_unlock_after_the_window(session: Session) -> None:
    account = _user(session)
    for attempt in range(1, MAX_FAILED_LOGINS):
        with pytest.raises(SignInRefused) as err:
            authenticate(session, "ana", f"wrong guess {attempt}", now=NOW)
        assert err.value.locked_until is None
        assert account.failed_logins == attempt

    with pytest.raises(SignInRefused) as err:
        authenticate(session, "ana", "wrong guess 5", now=NOW)
    assert "locked for 15 minutes" in err.value.message
    assert account.locked_until == NOW + LOCKOUT

    # Locked: even the right password is refused, with a message that says why and until when.
    almost = NOW + LOCKOUT - dt.timedelta(seconds=1)
    with pytest.raises(SignInRefused) as err:
        authenticate(session, "ana", PASSWORD, now=almost)
    assert "locked until 2026-03-02 09:15 UTC" in err.value.message
    assert "about 1 minute" in err.value.message
    assert err.value.locked_until == NOW + LOCKOUT

    # The window has passed: the right password works and the slate is clean.
    assert authenticate(session, "ana", PASSWORD, now=NOW + LOCKOUT).id == account.person_id
    assert account.locked_until is None
    assert account.failed_logins == 0


def test_after_the_window_a_wrong_password_starts_counting_afresh(session: Session) -> None:
    account = _user(session)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(SignInRefused):
            authenticate(session, "ana", "wrong password!", now=NOW)
    later = NOW + LOCKOUT + dt.timedelta(minutes=1)
    with pytest.raises(SignInRefused) as err:
        authenticate(session, "ana", "wrong password!", now=later)
    assert err.value.locked_until is None
    assert account.failed_logins == 1 and account.locked_until is None


def test_success_resets_the_failure_count(session: Session) -> None:
    account = _user(session)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(SignInRefused):
            authenticate(session, "ana", "wrong password!", now=NOW)
    authenticate(session, "ana", PASSWORD, now=NOW)
    assert account.failed_logins == 0
    with pytest.raises(SignInRefused) as err:
        authenticate(session, "ana", "wrong password!", now=NOW)
    assert err.value.locked_until is None


def test_an_admin_can_unlock(session: Session) -> None:
    account = _user(session)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(SignInRefused):
            authenticate(session, "ana", "wrong password!", now=NOW)
    unlock(session, "ana", viewer=SYSTEM)
    assert authenticate(session, "ana", PASSWORD, now=NOW).id == account.person_id


def test_sign_in_keeps_the_failure_count_although_it_raises(db: Database) -> None:
    """A unit of work rolls back on an exception; sign_in commits the count before raising."""
    with db.unit() as session:
        _user(session)
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(SignInRefused):
            sign_in(db, "ana", "wrong password!", now=NOW)
    with db.unit() as session:
        account = session.scalar(select(Account))
        assert account is not None
        assert account.locked_until == NOW + LOCKOUT
    with pytest.raises(SignInRefused, match="locked until"):
        sign_in(db, "ana", PASSWORD, now=NOW + dt.timedelta(minutes=5))
    person = sign_in(db, "ana", PASSWORD, now=NOW + LOCKOUT)
    assert person.handle == "ana"
    with db.unit() as session:
        account = session.scalar(select(Account))
        assert account is not None
        assert account.last_login_at == NOW + LOCKOUT
        assert account.locked_until is None


def test_hashes_made_with_weaker_parameters_are_upgraded_on_sign_in(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = _user(session)  # made with the cheap test hasher
    weak = account.password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    monkeypatch.setattr(crypto, "HASHER", stronger)
    authenticate(session, "ana", PASSWORD, now=NOW)
    assert account.password_hash != weak
    assert "m=2048,t=2,p=1" in account.password_hash
    assert authenticate(session, "ana", PASSWORD, now=NOW).id == account.person_id


def test_change_password(session: Session) -> None:
    account = _user(session)
    old_hash = account.password_hash
    with pytest.raises(PermissionDenied) as err:
        change_password(session, "ana", current_password="not it at all", new_password="a new passphrase")
    assert err.value.field == "current_password"
    with pytest.raises(Invalid) as err2:
        change_password(session, "ana", current_password=PASSWORD, new_password="short")
    assert err2.value.field == "new_password"
    with pytest.raises(Invalid) as err3:
        change_password(session, "ana", current_password=PASSWORD, new_password=PASSWORD)
    assert err3.value.field == "new_password"

    here = start_session(session, "ana", now=NOW)
    elsewhere = start_session(session, "ana", now=NOW)
    later = NOW + dt.timedelta(hours=1)
    change_password(
        session,
        "ana",
        current_password=PASSWORD,
        new_password="a new passphrase",
        keep_session=here,
        now=later,
    )
    assert account.password_hash != old_hash and account.password_hash.startswith("$argon2id$")
    assert account.password_changed_at == later
    with pytest.raises(SignInRefused):
        authenticate(session, "ana", PASSWORD, now=later)
    assert authenticate(session, "ana", "a new passphrase", now=later).handle == "ana"
    assert resolve_session(session, here, now=later).handle == "ana"
    with pytest.raises(PermissionDenied):
        resolve_session(session, elsewhere, now=later)


# -- API tokens ---------------------------------------------------------------------------------


def test_tokens_are_shown_once_and_stored_hashed(session: Session) -> None:
    account = _user(session)
    token, plaintext = issue_token(session, account.person, "ci deploys", now=NOW)
    assert plaintext.startswith("ll_") and len(plaintext) >= 40
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:8]
    assert plaintext not in _everything_stored(session)
    assert token.token_hash not in repr(
        [
            e.changes
            for e in session.scalars(select(HistoryEntry).where(HistoryEntry.record_type == "api_token"))
        ]
    )


def test_resolve_token_and_last_used(session: Session) -> None:
    account = _user(session)
    token, plaintext = issue_token(session, account.person, "laptop", now=NOW)
    assert token.last_used_at is None
    assert resolve_token(session, plaintext, now=NOW).id == account.person_id
    assert token.last_used_at == NOW
    resolve_token(session, plaintext, now=NOW + dt.timedelta(seconds=20))
    assert token.last_used_at == NOW  # written at most once a minute
    resolve_token(session, plaintext, now=NOW + dt.timedelta(minutes=2))
    assert token.last_used_at == NOW + dt.timedelta(minutes=2)


@pytest.mark.parametrize("bad", ["", "ll_", "ll_nottherealtoken", "Bearer ll_x", "abc"])
def test_unknown_tokens_are_refused(session: Session, bad: str) -> None:
    _user(session)
    with pytest.raises(PermissionDenied):
        resolve_token(session, bad, now=NOW)


def test_revoked_token_is_refused(session: Session) -> None:
    account = _user(session)
    token, plaintext = issue_token(session, account.person, "old laptop", now=NOW)
    revoked = revoke_token(session, account.person, token.id, now=NOW)
    assert revoked.revoked_at == NOW and revoked.is_revoked
    with pytest.raises(PermissionDenied, match="was revoked"):
        resolve_token(session, plaintext, now=NOW)
    assert revoke_token(session, account.person, token.id, now=NOW + LOCKOUT).revoked_at == NOW  # idempotent


def test_token_holder_answers_only_what_resolve_token_would_accept_without_writing(session: Session) -> None:
    """The API's one-statement check (decision 53): a holder only for a known, unrevoked token
    whose last_used_at is not due; ``None`` sends the caller to :func:`resolve_token`."""
    account = _user(session)
    token, plaintext = issue_token(session, account.person, "laptop", now=NOW)
    assert token_holder(session, plaintext, now=NOW) is None  # never used: resolve_token writes
    resolve_token(session, plaintext, now=NOW)
    session.flush()
    holder = token_holder(session, f"  {plaintext} ", now=NOW + dt.timedelta(seconds=20))
    assert holder is not None and (holder.person_id, holder.handle) == (account.person_id, "ana")
    assert (holder.is_admin, holder.roles) == (False, ())
    assert token_holder(session, plaintext, now=NOW + dt.timedelta(minutes=2)) is None  # due
    for bad in ("", "ll_", "ll_nottherealtoken", "abc", plaintext[:-1]):
        assert token_holder(session, bad, now=NOW) is None
    # the roles and the admin flag are the ones viewer_for reads
    for n, role in enumerate(("member", "lead")):
        add_member(
            session,
            team=add_team(session, name=f"T{n}", viewer=SYSTEM),
            person=account.person,
            role=role,
            viewer=SYSTEM,
        )
    account.is_admin = True
    session.flush()
    holder = token_holder(session, plaintext, now=NOW)
    viewer = viewer_for(session, account.person_id)
    assert holder is not None and holder.is_admin
    assert holder.roles == viewer.rule_key()[2]
    revoke_token(session, account.person, token.id, now=NOW)
    session.flush()
    assert token_holder(session, plaintext, now=NOW) is None


def test_only_the_owner_or_an_admin_may_revoke(session: Session) -> None:
    ana = _user(session)
    ben = _user(session, "ben")
    root = _user(session, "root", admin=True)
    token, plaintext = issue_token(session, ana.person, "laptop", now=NOW)
    with pytest.raises(NotFound):
        revoke_token(session, ben.person, token.id, now=NOW)
    assert resolve_token(session, plaintext, now=NOW).handle == "ana"
    revoke_token(session, root.person, token.id, now=NOW)
    with pytest.raises(PermissionDenied):
        resolve_token(session, plaintext, now=NOW)


def test_list_tokens(session: Session) -> None:
    ana = _user(session)
    ben = _user(session, "ben")
    first, _ = issue_token(session, ana.person, "one", now=NOW)
    second, _ = issue_token(session, ana.person, "two", now=NOW)
    issue_token(session, ben.person, "bens", now=NOW)
    revoke_token(session, ana.person, first.id, now=NOW)
    assert [t.name for t in list_tokens(session, "ana")] == ["one", "two"]
    assert [t.id for t in list_tokens(session, "ana", include_revoked=False)] == [second.id]
    with pytest.raises(Invalid):
        issue_token(session, ana.person, "  ")


# -- web sessions -------------------------------------------------------------------------------


def test_web_sessions(session: Session) -> None:
    account = _user(session)
    plaintext = start_session(session, account.person, now=NOW)
    row = session.scalar(select(WebSession))
    assert row is not None
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in _everything_stored(session)
    assert resolve_session(session, plaintext, now=NOW + dt.timedelta(days=1)).id == account.person_id

    with pytest.raises(PermissionDenied, match="expired"):
        resolve_session(session, plaintext, now=row.expires_at)
    assert end_session(session, plaintext) is True
    assert end_session(session, plaintext) is False
    with pytest.raises(PermissionDenied, match="sign in again"):
        resolve_session(session, plaintext, now=NOW)
    with pytest.raises(PermissionDenied):
        resolve_session(session, "", now=NOW)


def test_deleting_a_person_removes_their_account_tokens_and_sessions(session: Session) -> None:
    account = _user(session)
    issue_token(session, account.person, "laptop", now=NOW)
    start_session(session, account.person, now=NOW)
    person = account.person
    session.delete(person)
    session.flush()
    session.expire_all()
    assert account_of(session, person.id) is None
    assert session.scalar(select(ApiToken)) is None
    assert session.scalar(select(WebSession)) is None

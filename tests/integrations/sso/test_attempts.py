"""Sign-ins under way, on both backends: kept under the digest of the browser's cookie, used once,
ten minutes, and only for the answer whose state matches."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.accounts.crypto import digest
from lessonloop.integrations.sso.client import AuthorizationRequest
from lessonloop.integrations.sso.models import SsoSignInAttempt
from lessonloop.integrations.sso.signin import (
    ATTEMPT_LIFETIME,
    AttemptUnknown,
    StateMismatch,
    begin_attempt,
    check_attempt,
    take_attempt,
)
from lessonloop.store.base import utcnow
from tests.factories import SYSTEM

AUTH = AuthorizationRequest(url="https://id.example.com/auth?…", state="st", nonce="no", code_verifier="ve")


def _begin(session: Session, now: dt.datetime) -> str:
    return begin_attempt(
        session, AUTH, redirect_uri="https://x/cb", next_path="/actions", now=now, viewer=SYSTEM
    )


def test_kept_by_digest_used_once_and_checked(session: Session) -> None:
    now = utcnow()
    cookie = _begin(session, now)
    row = session.scalars(select(SsoSignInAttempt)).one()
    assert row.token_hash == digest(cookie) and cookie not in (row.token_hash, row.state)
    taken = check_attempt(take_attempt(session, cookie, viewer=SYSTEM), state="st", now=now)
    assert (taken.code_verifier, taken.nonce, taken.next_path) == ("ve", "no", "/actions")
    assert take_attempt(session, cookie, viewer=SYSTEM) is None  # gone
    with pytest.raises(AttemptUnknown):
        check_attempt(None, state="st")


def test_another_state_or_a_late_answer_is_refused(session: Session) -> None:
    now = utcnow()
    with pytest.raises(StateMismatch):
        check_attempt(take_attempt(session, _begin(session, now), viewer=SYSTEM), state="other", now=now)
    with pytest.raises(StateMismatch):
        check_attempt(take_attempt(session, _begin(session, now), viewer=SYSTEM), state="", now=now)
    late = now + ATTEMPT_LIFETIME + dt.timedelta(seconds=1)
    with pytest.raises(AttemptUnknown, match="expired"):
        check_attempt(take_attempt(session, _begin(session, now), viewer=SYSTEM), state="st", now=late)


def test_abandoned_attempts_go_when_the_next_one_starts(session: Session) -> None:
    old = utcnow() - dt.timedelta(hours=1)
    _begin(session, old)
    _begin(session, old)
    _begin(session, utcnow())
    assert len(session.scalars(select(SsoSignInAttempt)).all()) == 1

"""Guardrails expire into "needs a decision" and end only by an explicit renewal or retirement."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid
from lessonloop.followthrough import guardrails as g
from lessonloop.followthrough.models import GuardrailStatus
from lessonloop.notifications.models import Notification
from tests import factories
from tests.factories import SYSTEM

TODAY = dt.date(2030, 3, 1)


def _friday(session: Session, **overrides: object) -> g.Guardrail:
    fields: dict[str, object] = {
        "title": "No Friday deploys",
        "owner": "ana",
        "expires_on": "2030-03-15",
        "rollback_plan": "Deploy on Fridays again once the canary is in place",
        "reason": "Two Friday incidents in a row",
        "team": "Payments",
        "today": TODAY,
    }
    fields.update(overrides)
    return g.add_guardrail(session, viewer=SYSTEM, **fields)  # type: ignore[arg-type]


def test_required_fields(session: Session) -> None:
    factories.team_with_people(session)
    with pytest.raises(Invalid, match="owner"):
        _friday(session, owner=None)
    with pytest.raises(Invalid, match="rollback_plan"):
        _friday(session, rollback_plan="")
    with pytest.raises(Invalid, match="expires_on"):
        _friday(session, expires_on="")
    with pytest.raises(Invalid, match="after today"):
        _friday(session, expires_on=TODAY.isoformat())
    with pytest.raises(Invalid, match="short-term"):
        _friday(session, expires_on="2032-01-01")


def test_past_its_expiry_a_guardrail_needs_a_decision(session: Session) -> None:
    factories.team_with_people(session)
    failure = factories.failure(session, team="Payments")
    guard = _friday(session, failure_id=failure.id)
    assert g.effective_status(guard, TODAY) == GuardrailStatus.active
    assert g.describe_state(guard, TODAY) == "active — expires in 14 days"
    assert g.describe_state(guard, dt.date(2030, 3, 15)) == "active — expires today"

    later = dt.date(2030, 3, 16)
    assert g.effective_status(guard, later) == GuardrailStatus.expired
    assert g.describe_state(guard, later) == "expired — needs a decision"
    # Listed as expired before any sweep, and never among the active ones.
    assert [x.id for x in g.list_guardrails(session, status="expired", today=later, viewer=SYSTEM)] == [
        guard.id
    ]
    assert g.list_guardrails(session, status="active", today=later, viewer=SYSTEM) == []
    out = g.guardrail_out(session, guard, today=later, viewer=SYSTEM)
    assert (out.status, out.state, out.failure_id) == ("expired", "expired — needs a decision", failure.id)

    assert [x.id for x in g.sweep_expired(session, today=later, viewer=SYSTEM)] == [guard.id]
    assert guard.status == "expired"
    assert g.sweep_expired(session, today=later, viewer=SYSTEM) == []


def test_renew_needs_a_new_date_and_a_reason(session: Session) -> None:
    factories.team_with_people(session)
    guard = _friday(session)
    later = dt.date(2030, 3, 20)
    g.sweep_expired(session, today=later, viewer=SYSTEM)
    with pytest.raises(Invalid, match="reason"):
        g.renew_guardrail(session, guard.id, expires_on="2030-04-20", reason="", today=later, viewer=SYSTEM)
    with pytest.raises(Invalid, match="after today"):
        g.renew_guardrail(
            session, guard.id, expires_on="2030-03-19", reason="still risky", today=later, viewer=SYSTEM
        )
    g.renew_guardrail(
        session,
        guard.id,
        expires_on="2030-04-20",
        reason="Canary not ready",
        by="ben",
        today=later,
        viewer=SYSTEM,
    )
    assert (guard.status, guard.expires_on) == ("renewed", dt.date(2030, 4, 20))
    assert g.effective_status(guard, later) == GuardrailStatus.renewed
    decision = guard.decisions[-1]
    assert (decision.decision, decision.reason, decision.previous_expiry) == (
        "renewed",
        "Canary not ready",
        dt.date(2030, 3, 15),
    )
    assert decision.decided_by is not None and decision.decided_by.handle == "ben"
    # A renewed guardrail expires again like any other.
    assert g.effective_status(guard, dt.date(2030, 4, 21)) == GuardrailStatus.expired


def test_retire_needs_a_reason_and_is_final(session: Session) -> None:
    factories.team_with_people(session)
    guard = _friday(session)
    with pytest.raises(Invalid, match="reason"):
        g.retire_guardrail(session, guard.id, reason="  ", viewer=SYSTEM)
    g.retire_guardrail(
        session, guard.id, reason="Canary shipped; Friday deploys are safe again", viewer=SYSTEM
    )
    assert guard.status == "retired" and guard.retired_at is not None
    assert g.effective_status(guard, dt.date(2031, 1, 1)) == GuardrailStatus.retired
    assert g.list_guardrails(session, today=TODAY, viewer=SYSTEM) == []
    assert [x.id for x in g.list_guardrails(session, status="retired", today=TODAY, viewer=SYSTEM)] == [
        guard.id
    ]
    with pytest.raises(Conflict):
        g.retire_guardrail(session, guard.id, reason="again", viewer=SYSTEM)
    with pytest.raises(Conflict):
        g.renew_guardrail(session, guard.id, expires_on="2030-05-01", reason="x", today=TODAY, viewer=SYSTEM)


def test_reminders_before_and_after_expiry_are_enqueued_once(session: Session) -> None:
    factories.team_with_people(session)
    guard = _friday(session)

    def keys() -> list[str]:
        return list(session.scalars(select(Notification.dedupe_key).order_by(Notification.id)))

    def at(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)

    assert g.guardrail_reminders(session, now=at(dt.date(2030, 3, 1)), viewer=SYSTEM) == 0
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 3, 8)), viewer=SYSTEM) == 1
    assert (
        g.guardrail_reminders(session, now=at(dt.date(2030, 3, 9)), viewer=SYSTEM) == 0
    )  # same 7-day window
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 3, 12)), viewer=SYSTEM) == 1
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 3, 12)), viewer=SYSTEM) == 0
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 3, 16)), viewer=SYSTEM) == 1
    assert guard.status == "expired"
    assert keys() == [
        f"guardrail:{guard.id}:expires-7d:2030-03-15",
        f"guardrail:{guard.id}:expires-3d:2030-03-15",
        f"guardrail:{guard.id}:expired:0:2030-03-15",
    ]
    # Renewed: reminded again before the new expiry; retired: never again.
    g.renew_guardrail(
        session,
        guard.id,
        expires_on="2030-04-10",
        reason="one more sprint",
        today=dt.date(2030, 3, 16),
        viewer=SYSTEM,
    )
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 4, 7)), viewer=SYSTEM) == 1
    assert keys()[-1] == f"guardrail:{guard.id}:expires-3d:2030-04-10"
    g.retire_guardrail(session, guard.id, reason="done", viewer=SYSTEM)
    assert g.guardrail_reminders(session, now=at(dt.date(2030, 4, 20)), viewer=SYSTEM) == 0


def test_the_worker_knows_the_jobs() -> None:
    from lessonloop.worker.scheduler import load_jobs

    jobs = load_jobs()
    assert "guardrail-reminders" in jobs and jobs["weekly-digests"].every == "weekly"

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.errors import Conflict, Invalid
from lessonloop.escalations.service import (
    EscalationPolicy,
    check_escalations,
    list_escalations,
    update_escalation,
)
from lessonloop.failures.service import confirm_repeat
from tests.factories import SYSTEM, failure, reviewed, team_with_people

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _days_ago(n: int) -> str:
    return (NOW - dt.timedelta(days=n)).isoformat()


def test_same_label_three_times_in_90_days_opens_one_escalation(session: Session) -> None:
    team_with_people(session)
    for n in (80, 40, 5):
        failure(
            session, title=f"Config push {n}", labels=["config"], team="Payments", detected_at=_days_ago(n)
        )
    failure(session, title="Old one", labels=["config"], detected_at=_days_ago(200))
    opened = check_escalations(session, now=NOW, viewer=SYSTEM)
    assert len(opened) == 1
    esc = opened[0]
    assert esc.rule == "label" and esc.count == 3 and esc.status == "open"
    assert esc.support_route == "organisational-development-specialist"
    assert esc.owner is not None and esc.owner.handle == "ana"  # the team's lead
    assert "Config push 80" in esc.explanation and "90 days" in esc.explanation
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []  # idempotent


def test_below_threshold_or_outside_window_opens_nothing(session: Session) -> None:
    for n in (100, 5):
        failure(session, labels=["config"], detected_at=_days_ago(n))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(1))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(2))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(3))
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []


def test_a_fourth_repeat_grows_the_open_escalation(session: Session) -> None:
    for n in (60, 50, 40):
        failure(session, labels=["time"], detected_at=_days_ago(n))
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    failure(session, labels=["time"], detected_at=_days_ago(1))
    [grown] = check_escalations(session, now=NOW, viewer=SYSTEM)
    assert grown.id == esc.id and grown.count == 4


def test_failed_assumption_pattern(session: Session) -> None:
    team_with_people(session)
    for n in (30, 20, 10):
        reviewed(
            session,
            failure(session, title=f"slip {n}", detected_at=_days_ago(n)),
            assumptions=["Vendors keep verbal dates"],
        )
    rules = {e.rule for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    assert "assumption" in rules


def test_team_repeats_and_routes(session: Session) -> None:
    team_with_people(session)
    first = failure(
        session,
        title="Hand-off to QA lost the test plan",
        kind="handoff-breakdown",
        team="Payments",
        detected_at=_days_ago(70),
    )
    for n in (50, 30, 10):
        f = failure(
            session,
            title=f"Hand-off broke again {n}",
            kind="handoff-breakdown",
            team="Payments",
            detected_at=_days_ago(n),
        )
        confirm_repeat(session, f.id, first.id, viewer=SYSTEM)
    esc = next(e for e in check_escalations(session, now=NOW, viewer=SYSTEM) if e.rule == "team")
    assert esc.support_route == "external-leadership-coach"


def test_hr_and_employee_assistance_routes(session: Session) -> None:
    team_with_people(session)
    for n in (30, 20, 10):
        failure(session, title=f"Promotion packet errors {n}", labels=["promo"], detected_at=_days_ago(n))
    for n in (31, 21, 11):
        failure(
            session,
            title=f"Night release {n}",
            labels=["release"],
            severity="critical",
            people=["ben"],
            detected_at=_days_ago(n),
        )
    routes = {e.subject: e.support_route for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    assert routes["cause label “promo”"] == "hr-business-partner"
    assert routes["cause label “release”"] == "employee-assistance"


def test_resolve_needs_a_resolution(session: Session) -> None:
    team_with_people(session)
    for n in (3, 2, 1):
        failure(session, labels=["db"], detected_at=_days_ago(n))
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    with pytest.raises(Invalid):
        update_escalation(session, esc.id, status="resolved", viewer=SYSTEM)
    update_escalation(
        session, esc.id, status="resolved", resolution="Schema review step added", owner="ana", viewer=SYSTEM
    )
    with pytest.raises(Conflict):
        update_escalation(session, esc.id, status="open", viewer=SYSTEM)
    assert list_escalations(session, status="resolved", viewer=SYSTEM)[0].id == esc.id
    # the same failures do not reopen it; three new ones do
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []
    for n in (0.5, 0.4, 0.3):
        failure(session, labels=["db"], detected_at=(NOW - dt.timedelta(days=n)).isoformat())
    assert (
        len(
            check_escalations(
                session, now=NOW, policy=EscalationPolicy(threshold=3, window_days=90), viewer=SYSTEM
            )
        )
        == 1
    )

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from lessonloop.access import viewer_for
from lessonloop.errors import Conflict, Invalid
from lessonloop.escalations.service import (
    EscalationPolicy,
    check_escalations,
    list_escalations,
    update_escalation,
)
from lessonloop.failures.models import Failure
from lessonloop.failures.service import confirm_repeat
from lessonloop.store import crud
from tests.factories import SYSTEM, failure, reviewed, team_with_people

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def _days_ago(n: float) -> str:
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
    assert esc.explanation.startswith("3 failures with cause label 'config' in 90 days")
    assert "Config push" not in esc.explanation  # the reason names the pattern, not titles
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []  # idempotent


def test_below_threshold_or_outside_window_opens_nothing(session: Session) -> None:
    for n in (100, 5):
        failure(session, labels=["config"], detected_at=_days_ago(n))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(1))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(2))
    failure(session, labels=["Uncategorized"], detected_at=_days_ago(3))
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []


def test_a_fourth_failure_with_the_label_grows_the_open_escalation(session: Session) -> None:
    for n in (60, 50, 40):
        failure(session, labels=["time"], detected_at=_days_ago(n))
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    failure(session, labels=["time"], detected_at=_days_ago(1))
    [grown] = check_escalations(session, now=NOW, viewer=SYSTEM)
    assert grown.id == esc.id and grown.count == 4
    assert grown.explanation.startswith("4 failures with cause label 'time' in 90 days")


def test_failed_assumption_pattern(session: Session) -> None:
    team_with_people(session)
    for n in (30, 20, 10):
        reviewed(
            session,
            failure(session, title=f"slip {n}", detected_at=_days_ago(n)),
            assumptions=["Vendors keep verbal dates"],
        )
    [esc] = [e for e in check_escalations(session, now=NOW, viewer=SYSTEM) if e.rule == "assumption"]
    assert esc.explanation.startswith(
        "3 failures whose reviews found the assumption 'Vendors keep verbal dates' failed in 90 days"
    )


def test_an_unrelated_failure_of_the_same_team_never_grows_an_escalation(session: Session) -> None:
    """Was: the "team repeating" rule lumped any repeats of a team together."""
    team_with_people(session)
    ids = [
        failure(session, title=f"Config {n}", labels=["config"], team="Payments", detected_at=_days_ago(n)).id
        for n in (30, 20, 10)
    ]
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    other = failure(
        session, title="Vendor slipped", labels=["vendor"], team="Payments", detected_at=_days_ago(5)
    )
    again = failure(
        session, title="Vendor slipped again", labels=["vendor"], team="Payments", detected_at=_days_ago(1)
    )
    confirm_repeat(session, again.id, other.id, viewer=SYSTEM)
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []
    assert esc.failure_ids == ids and esc.count == 3


def test_repeats_of_different_failures_in_one_team_are_no_pattern(session: Session) -> None:
    """Three confirmed repeats in a team, each of a different earlier failure: three chains of two."""
    team_with_people(session)
    for n in (60, 40, 20):
        first = failure(session, title=f"First {n}", team="Payments", detected_at=_days_ago(n))
        then = failure(session, title=f"Then {n}", team="Payments", detected_at=_days_ago(n - 5))
        confirm_repeat(session, then.id, first.id, viewer=SYSTEM)
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []


def test_a_chain_of_repeats_escalates_and_its_reason_names_the_chain(session: Session) -> None:
    team_with_people(session)
    first = failure(session, title="Hand-off lost the test plan", team="Payments", detected_at=_days_ago(70))
    previous = first
    for n in (50, 30):
        f = failure(session, title=f"Hand-off broke again {n}", team="Payments", detected_at=_days_ago(n))
        confirm_repeat(session, f.id, previous.id, viewer=SYSTEM)
        previous = f
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    assert esc.rule == "chain" and esc.subject_key == str(first.id) and esc.count == 3
    assert esc.subject == f"chain of repeats starting at #{first.id}"
    assert esc.explanation.startswith(f"a chain of 3 repeats starting at #{first.id} in 90 days")
    assert esc.owner is not None and esc.owner.handle == "ana"
    # A repeat of an unrelated failure does not join; a repeat of any failure of the chain does.
    unrelated = failure(session, title="Something else", team="Payments", detected_at=_days_ago(9))
    elsewhere = failure(session, title="Something else again", team="Payments", detected_at=_days_ago(8))
    confirm_repeat(session, elsewhere.id, unrelated.id, viewer=SYSTEM)
    assert check_escalations(session, now=NOW, viewer=SYSTEM) == []
    branch = failure(session, title="Hand-off broke a third time", team="Payments", detected_at=_days_ago(2))
    confirm_repeat(session, branch.id, first.id, viewer=SYSTEM)
    [grown] = check_escalations(session, now=NOW, viewer=SYSTEM)
    assert grown.id == esc.id and grown.count == 4 and branch.id in grown.failure_ids
    assert unrelated.id not in grown.failure_ids and elsewhere.id not in grown.failure_ids
    assert grown.explanation.startswith(f"a chain of 4 repeats starting at #{first.id}")


def test_a_failure_that_lost_the_label_leaves_the_escalation_when_it_grows(session: Session) -> None:
    from lessonloop.failures.service import update_failure

    a, b, c = (failure(session, labels=["db"], detected_at=_days_ago(n)) for n in (30, 20, 10))
    [esc] = check_escalations(session, now=NOW, viewer=SYSTEM)
    update_failure(session, b.id, {"labels": ["network"]}, viewer=SYSTEM)
    d = failure(session, labels=["db"], detected_at=_days_ago(1))
    check_escalations(session, now=NOW, viewer=SYSTEM)
    assert sorted(esc.failure_ids) == sorted([a.id, c.id, d.id]) and esc.count == 3


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
        failure(session, labels=["db"], detected_at=_days_ago(n))
    assert (
        len(
            check_escalations(
                session, now=NOW, policy=EscalationPolicy(threshold=3, window_days=90), viewer=SYSTEM
            )
        )
        == 1
    )


def test_in_chunks_keeps_order_and_bounds_each_list() -> None:
    assert list(crud.in_chunks(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(crud.in_chunks([], 2)) == []


def test_a_pattern_longer_than_one_in_list_is_read_in_chunks(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At 1M failures one cause label had 70,000 failures in the window and the job failed on the
    # driver's parameter limit every day. With two ids per IN list, every read of a pattern's
    # failures (members, route, owner, who may see it) spans several statements; the answers
    # must be those of one statement.
    monkeypatch.setattr(crud, "IN_LIST_SIZE", 2)
    monkeypatch.setattr(crud, "ARRAY_SIZE", 2)  # PostgreSQL's array parameter, chunked the same
    people = team_with_people(session)
    ids = [
        failure(
            session,
            title=f"Estimate {n}",
            labels=["estimates"],
            team="Payments",
            people=["ben"],
            detected_at=_days_ago(n),
        ).id
        for n in (70, 60, 50, 40, 30)
    ]
    for fid in ids:
        reviewed(session, session.get(Failure, fid), gap_type="skill", assumptions=["Estimates hold"])
    opened = {e.rule: e for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    label, assumption = opened["label"], opened["assumption"]
    assert label.count == 5 and sorted(label.failure_ids) == sorted(ids)
    assert label.support_route == "external-leadership-coach"  # five skill gaps, all Ben's
    assert label.person_id == people["ben"].id and label.owner is not None and label.owner.handle == "ana"
    assert assumption.count == 5
    more = [
        failure(session, labels=["estimates"], team="Payments", detected_at=_days_ago(n)).id for n in (3, 2)
    ]
    grown = {e.rule: e for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    assert grown["label"].id == label.id and sorted(grown["label"].failure_ids) == sorted(ids + more)
    ben, ana = (viewer_for(session, people[h]) for h in ("ben", "ana"))
    for viewer in (ben, ana):  # both about Ben's skill: private to him and his lead
        assert {e.id for e in list_escalations(session, viewer=viewer)} == {label.id, assumption.id}
    # One failure of the pattern he may not see hides the escalation from him, whichever chunk it is in.
    hidden = failure(session, labels=["estimates"], visibility="private", detected_at=_days_ago(1))
    grown = {e.rule: e for e in check_escalations(session, now=NOW, viewer=SYSTEM)}
    assert hidden.id in grown["label"].failure_ids
    assert [e.id for e in list_escalations(session, viewer=ben)] == [assumption.id]

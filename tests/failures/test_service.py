from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.service import complete_action, drop_action
from lessonloop.errors import Conflict, Invalid, NotFound
from lessonloop.failures.overview import failure_overview
from lessonloop.failures.service import (
    confirm_repeat,
    get_failure,
    list_failures,
    log_failure,
    transition,
    update_failure,
)
from lessonloop.reviews.service import primary_action
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def test_log_failure_needs_only_a_title(session: Session) -> None:
    f = log_failure(session, title="Churn after pricing page change", viewer=SYSTEM)
    assert f.status == "observed" and f.kind == "other" and f.severity == "medium" and f.visibility == "team"


def test_log_failure_full(session: Session) -> None:
    ctx = team_with_people(session)
    f = failure(
        session,
        team="Payments",
        reporter="ana",
        people=["ben", "ana"],
        labels=["deploy", "Deploy", "vendor"],
        severity="high",
        impact="3 enterprise customers waited",
        impact_value=3,
        impact_unit="customers",
        occurred_at="2026-11-01T10:00:00",
        detected_at="2026-11-02",
    )
    assert f.team_id == ctx["team"].id
    assert f.labels == ["deploy", "vendor"]
    assert {p.handle for p in f.people} == {"ana", "ben"}
    assert f.impact_value == 3.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("kind", "oops"),
        ("severity", "huge"),
        ("visibility", "public"),
        ("detected_at", "yesterday-ish"),
        ("impact_value", "lots"),
    ],
)
def test_log_failure_rejects_bad_fields(session: Session, field: str, value: str) -> None:
    fields = {"title": "x", field: value}
    with pytest.raises(Invalid) as err:
        log_failure(session, viewer=SYSTEM, **fields)
    assert err.value.field == field


def test_unknown_team_and_person_are_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as err:
        log_failure(session, title="x", team="Nope", viewer=SYSTEM)
    assert err.value.field == "team"
    with pytest.raises(NotFound):
        log_failure(session, title="x", people=["ghost"], viewer=SYSTEM)


def test_occurred_after_detected_is_refused(session: Session) -> None:
    with pytest.raises(Invalid) as err:
        log_failure(session, title="x", occurred_at="2026-11-05", detected_at="2026-11-01", viewer=SYSTEM)
    assert err.value.field == "occurred_at"


def test_full_loop_to_learned(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    with pytest.raises(Conflict):
        transition(session, f.id, "learned", viewer=SYSTEM)
    review = reviewed(session, f)
    assert get_failure(session, f.id, viewer=SYSTEM).status == "acting"
    transition(session, f.id, "re-evaluating", viewer=SYSTEM)
    with pytest.raises(Conflict, match="primary corrective action is open"):
        transition(session, f.id, "learned", viewer=SYSTEM)
    action = primary_action(session, review, viewer=SYSTEM)
    assert action is not None
    complete_action(
        session, action.id, evidence="Checklist v4 has the step; used at 2 kickoffs", viewer=SYSTEM
    )
    assert transition(session, f.id, "learned", viewer=SYSTEM).status == "learned"
    with pytest.raises(Conflict, match="final"):
        transition(session, f.id, "acting", viewer=SYSTEM)


def test_dropped_primary_action_with_reason_allows_learned(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    review = reviewed(session, f)
    action = primary_action(session, review, viewer=SYSTEM)
    assert action is not None
    with pytest.raises(Invalid):
        drop_action(session, action.id, reason=" ", viewer=SYSTEM)
    drop_action(session, action.id, reason="Vendor replaced; the dependency no longer exists", viewer=SYSTEM)
    transition(session, f.id, "re-evaluating", viewer=SYSTEM)
    assert transition(session, f.id, "learned", viewer=SYSTEM).status == "learned"


def test_confirm_repeat(session: Session) -> None:
    first = failure(session, detected_at="2026-10-01")
    second = failure(session, detected_at="2026-11-01")
    confirm_repeat(session, second.id, first.id, viewer=SYSTEM)
    assert second.status == "repeated" and second.repeat_of_id == first.id
    with pytest.raises(Invalid):
        confirm_repeat(session, first.id, second.id, viewer=SYSTEM)  # the earlier cannot repeat the later
    assert failure_overview(session, first.id, viewer=SYSTEM).repeats == [second.id]


def test_history_records_field_changes(session: Session) -> None:
    team_with_people(session)
    f = failure(session)
    update_failure(session, f.id, {"severity": "critical", "labels": ["vendor"]}, viewer=SYSTEM)
    entries = list_history(session, "failure", f.id)
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes["severity"] == ["medium", "critical"]
    assert entries[1].changes["label_rows"]["added"] == ["vendor"]
    assert entries[1].actor == "tester"


def test_list_filters_and_pages(session: Session) -> None:
    team_with_people(session)
    for i in range(5):
        failure(
            session, title=f"f{i}", team="Payments" if i % 2 else None, severity="high" if i < 2 else "low"
        )
    assert list_failures(session, team="Payments", viewer=SYSTEM).total == 2
    assert list_failures(session, severity="high", viewer=SYSTEM).total == 2
    page = list_failures(session, page=2, page_size=2, viewer=SYSTEM)
    assert page.total == 5 and len(page.items) == 2 and page.pages == 3
    with pytest.raises(Invalid):
        list_failures(session, page_size=0, viewer=SYSTEM)


def test_the_reporter_is_corrected_and_cleared_with_its_history(session: Session) -> None:
    people = team_with_people(session)
    f = failure(session, reporter="ana", visibility="private")
    update_failure(session, f.id, {"reporter": "ben"}, viewer=SYSTEM)
    assert f.reporter is not None and f.reporter.handle == "ben"
    last = list_history(session, "failure", f.id)[-1]
    assert last.changes["reporter_id"] == [people["ana"].id, people["ben"].id]
    # the reporter of a private failure (of no team) sees it: ben now may, ana no longer
    assert get_failure(session, f.id, viewer=viewer_for(session, people["ben"])).id == f.id
    with pytest.raises(NotFound):
        get_failure(session, f.id, viewer=viewer_for(session, people["ana"]))
    update_failure(session, f.id, {"reporter": None}, viewer=SYSTEM)
    assert f.reporter is None
    with pytest.raises(NotFound) as error:
        update_failure(session, f.id, {"reporter": "nobody-by-that-name"}, viewer=SYSTEM)
    assert error.value.field == "reporter"
    assert f.reporter is None  # nothing changed

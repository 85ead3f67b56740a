"""The failure page's history, readable: field labels, names for ids, relative and absolute time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action
from lessonloop.actions.service import edit_action
from lessonloop.coaching.service import write_note
from lessonloop.discussion.service import add_timeline_entry, edit_timeline_entry
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.service import (
    add_experiment,
    delete_experiment,
    edit_experiment,
    edit_observation,
    record_observation,
)
from lessonloop.failures.history import failure_history, relative_time
from lessonloop.failures.service import update_failure
from lessonloop.followthrough.recognition import edit_recognition, recognise
from lessonloop.people.service import add_team
from lessonloop.reviews.service import review_for_failure
from tests.factories import SYSTEM, failure, reviewed, team_with_people

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def test_relative_time() -> None:
    assert relative_time(NOW - dt.timedelta(seconds=5), NOW) == "just now"
    assert relative_time(NOW - dt.timedelta(minutes=1), NOW) == "1 minute ago"
    assert relative_time(NOW - dt.timedelta(hours=3), NOW) == "3 hours ago"
    assert relative_time(NOW - dt.timedelta(days=1, hours=2), NOW) == "yesterday"
    assert relative_time(NOW - dt.timedelta(days=90), NOW) == "3 months ago"


def test_history_lines_use_field_labels_and_names(session: Session) -> None:
    team_with_people(session)
    f = failure(session, title="Old title", team="Payments")
    reviewed(session, f)
    action = session.scalars(select(Action).where(Action.failure_id == f.id)).one()
    session.info["actor"] = "ana"
    update_failure(session, f.id, {"title": "New title", "observation": "What we saw"}, viewer=SYSTEM)
    edit_action(session, action.id, {"owner": "ana"}, viewer=SYSTEM)
    review = review_for_failure(session, f.id, viewer=SYSTEM)
    lines = failure_history(session, f, review=review, actions=[action], now=NOW, viewer=SYSTEM)
    newest = lines[0]
    assert newest.who == "Ana Lead (ana)" and newest.verb == "changed"
    assert newest.record.startswith(f"Action {action.id} (")
    assert [(c.label, c.old, c.new) for c in newest.changes] == [("Owner", "Ben Member", "Ana Lead")]
    title = next(line for line in lines if line.record == "Failure" and line.verb == "changed")
    assert ("Title", "Old title", "New title") in [(c.label, c.old, c.new) for c in title.changes]
    assert ("Description", "—", "What we saw") in [(c.label, c.old, c.new) for c in title.changes]
    assert title.absolute.endswith(" UTC")
    assert all(c.label not in {"updated_at", "Specificity"} for line in lines for c in line.changes)


def _escalation(session: Session, failure_id: int, team_id: int, person_id: int | None) -> int:
    esc = Escalation(
        rule="label",
        subject_key="deploy",
        subject="Deploys keep slipping",
        team_id=team_id,
        support_route="organisational-development-specialist",
        failure_ids=[failure_id],
        count=3,
        window_days=30,
        explanation="Three deploy failures",
        person_id=person_id,
    )
    session.add(esc)
    session.flush()
    return esc.id


def test_the_failure_history_includes_the_records_that_belong_to_it(session: Session) -> None:
    people = team_with_people(session)
    f = failure(session, title="Refunds stuck", team="Payments", reporter="ana")
    reviewed(session, f)
    action = session.scalars(select(Action).where(Action.failure_id == f.id)).one()
    today = dt.date.today()
    session.info["actor"] = "ben"
    kept = add_experiment(
        session,
        action_id=action.id,
        hypothesis="A dated check helps",
        metric="dated deps",
        comparator=">=",
        threshold=3,
        start_date=today.isoformat(),
        end_date=(today + dt.timedelta(days=30)).isoformat(),
        viewer=SYSTEM,
    )
    gone = add_experiment(
        session,
        action_id=action.id,
        hypothesis="Set up by mistake",
        metric="m",
        comparator=">=",
        threshold=1,
        start_date=today.isoformat(),
        end_date=(today + dt.timedelta(days=30)).isoformat(),
        viewer=SYSTEM,
    )
    obs = record_observation(session, kept.id, value=1, viewer=SYSTEM)
    record_observation(session, gone.id, value=9, viewer=SYSTEM)
    session.info["actor"] = "ana"
    edit_experiment(session, kept.id, {"metric": "dated dependencies"}, viewer=SYSTEM)
    edit_observation(session, kept.id, obs.id, {"value": "4"}, viewer=SYSTEM)
    delete_experiment(session, gone.id, viewer=SYSTEM)
    entry = add_timeline_entry(
        session, failure_id=f.id, at=NOW.isoformat(), text="Vendor slipped", viewer=SYSTEM
    )
    edit_timeline_entry(session, entry.id, text="Vendor confirmed the slip", viewer=SYSTEM)
    rec = recognise(session, person="ben", kind="candid-review", by="ana", failure_id=f.id, viewer=SYSTEM)
    edit_recognition(session, rec.id, note="Wrote it plainly", viewer=SYSTEM)
    open_esc = _escalation(session, f.id, people["team"].id, None)
    private_esc = _escalation(session, f.id, people["team"].id, people["ana"].id)
    other = failure(session, title="Someone else's", team="Payments")
    _escalation(session, other.id, people["team"].id, None)
    # an id that only contains this failure's digits is not this failure (decision 66: the
    # database is asked which escalations list it)
    _escalation(session, f.id * 10 + 1, people["team"].id, None)
    # one that also lists a failure Ben may not see (another team's) is not shown to him
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    theirs = failure(session, title="Growth's own", team=growth.id, visibility="team")
    mixed_esc = _escalation(session, f.id, people["team"].id, None)
    session.get(Escalation, mixed_esc).failure_ids = [f.id, theirs.id]  # type: ignore[union-attr]
    write_note(session, author="ana", subject="ben", body="Private: never on the failure page", viewer=SYSTEM)
    session.flush()
    review = review_for_failure(session, f.id, viewer=SYSTEM)

    lines = failure_history(session, f, review=review, actions=[action], now=NOW, viewer=SYSTEM)
    said = [(line.record, line.verb, [(c.label, c.old, c.new) for c in line.changes]) for line in lines]
    assert (
        f"Experiment {kept.id} (A dated check helps)",
        "changed",
        [("Metric", "dated deps", "dated dependencies")],
    ) in said
    assert (f"Observation {obs.id}", "changed", [("Value", "1.0", "4.0")]) in said
    assert (f"Experiment {gone.id} (Set up by mistake)", "deleted", []) in said
    assert any(r.startswith(f"Experiment {gone.id}") and v == "created" for r, v, _ in said)
    assert any(r.startswith("Observation ") and v == "deleted" for r, v, _ in said)
    assert any(
        r.startswith(f"Timeline entry {entry.id}")
        and ("What happened", "Vendor slipped", "Vendor confirmed the slip") in c
        for r, _, c in said
    )
    assert (f"Recognition {rec.id}", "changed", [("What they did", "—", "Wrote it plainly")]) in said
    escalations = {r for r, _, _ in said if r.startswith("Escalation")}
    assert escalations == {
        f"Escalation {open_esc} (Deploys keep slipping)",
        f"Escalation {private_esc} (Deploys keep slipping)",
        f"Escalation {mixed_esc} (Deploys keep slipping)",
    }
    assert not any("Coaching" in r or "Private" in str(c) for r, _, c in said)
    assert {line.who for line in lines if line.record.startswith("Experiment")} == {
        "Ana Lead (ana)",
        "Ben Member (ben)",
    }

    # Ben sees the failure but not the escalation about Ana (a private one, not his).
    as_ben = viewer_for(session, people["ben"])
    seen = {
        line.record for line in failure_history(session, f, review=review, actions=[action], viewer=as_ben)
    }
    assert f"Escalation {open_esc} (Deploys keep slipping)" in seen
    assert f"Escalation {private_esc} (Deploys keep slipping)" not in seen
    assert f"Escalation {mixed_esc} (Deploys keep slipping)" not in seen


def test_the_history_reads_a_fixed_number_of_statements(session: Session) -> None:
    """However many experiments, observations and entries, the history is read in the same
    number of statements."""
    team_with_people(session)
    f = failure(session, title="Refunds stuck", team="Payments", reporter="ana")
    reviewed(session, f)
    action = session.scalars(select(Action).where(Action.failure_id == f.id)).one()
    review = review_for_failure(session, f.id, viewer=SYSTEM)
    today = dt.date.today()

    def grow(n: int) -> None:
        for i in range(n):
            e = add_experiment(
                session,
                action_id=action.id,
                hypothesis=f"Bet {i}",
                metric="m",
                comparator=">=",
                threshold=1,
                start_date=today.isoformat(),
                end_date=(today + dt.timedelta(days=30)).isoformat(),
                viewer=SYSTEM,
            )
            record_observation(session, e.id, value=i, viewer=SYSTEM)
            add_timeline_entry(session, failure_id=f.id, at=NOW.isoformat(), text=f"Entry {i}", viewer=SYSTEM)
        session.flush()
        session.expire_all()

    def count() -> int:
        seen: list[str] = []

        def before(*args: Any) -> None:
            seen.append(args[2])

        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", before)
        try:
            failure_history(session, f, review=review, actions=[action], viewer=SYSTEM)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        return len(seen)

    grow(1)
    few = count()
    grow(5)
    assert count() == few

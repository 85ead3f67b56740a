"""Side channels obey the policy: a job's reminder names an action (and so its failure), so it
goes only to an owner who may see that failure now — as the calendar feed does. Both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from lessonloop.actions.service import add_action
from lessonloop.experiments.service import add_experiment
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.people.models import Person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_once
from tests.factories import SYSTEM, failure, team_with_people

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
D0 = T0.date()
CONFIG = WorkerConfig(reminder_days=(3,), overdue_repeat_days=7)


def _private_actions(db: Database) -> dict[str, int]:
    """A private Payments failure reported by ana (its lead); one action owned by ana, one by ben
    (a plain member, not involved: a private failure is not his to see)."""
    with db.unit() as s:
        team_with_people(s)
        f = failure(
            s, team="Payments", reporter="ana", visibility="private", detected_at=T0 - dt.timedelta(days=30)
        )
        ids = {}
        for owner in ("ana", "ben"):
            action = add_action(
                s,
                failure_id=f.id,
                title=f"Confidential vendor clause review ({owner})",
                owner=owner,
                due_date=D0 + dt.timedelta(days=2),
                review_date=D0 + dt.timedelta(days=4),
                backfill=True,
                viewer=SYSTEM,
            )
            add_experiment(
                s,
                action_id=action.id,
                hypothesis=f"The clause check catches the slip ({owner})",
                metric="slips caught",
                comparator=">=",
                threshold=1,
                start_date=D0 - dt.timedelta(days=10),
                end_date=D0 + dt.timedelta(days=1),
                viewer=SYSTEM,
            )
            ids[owner] = action.id
        return ids


def _recipients(db: Database, kind: str) -> set[str]:
    with db.unit() as s:
        rows = s.execute(
            select(Person.handle, Notification.subject)
            .join(Person, Person.id == Notification.person_id)
            .where(Notification.kind == kind)
        ).all()
    assert all("Confidential" not in subject or handle == "ana" for handle, subject in rows)
    return {handle for handle, _ in rows}


def test_reminders_checks_and_experiment_ends_reach_only_owners_who_may_see(db: Database) -> None:
    _private_actions(db)
    run_once(db, now=T0, config=CONFIG, only_jobs={"action-reminders"})
    assert _recipients(db, "reminder") == {"ana"}
    later = T0 + dt.timedelta(days=5)
    run_once(db, now=later, config=CONFIG, only_jobs={"review-checks", "experiment-ends"})
    assert _recipients(db, "review-check") == {"ana"}
    assert _recipients(db, "experiment-end") == {"ana"}


def test_an_escalation_owner_who_may_not_see_its_failures_gets_no_titles(db: Database) -> None:
    from lessonloop.escalations.models import Escalation
    from lessonloop.people.service import get_person

    with db.unit() as s:
        team_with_people(s)
        hidden = failure(
            s, title="Confidential vendor breach", team="Payments", reporter="ana", visibility="private"
        )
        seen = failure(s, title="Vendor slipped again", team="Payments")
        ben = get_person(s, "ben", viewer=SYSTEM)
        ana = get_person(s, "ana", viewer=SYSTEM)
        rows = []
        for owner in (ben, ana):
            row = Escalation(
                rule="label",
                subject_key="vendor",
                subject="Confidential vendor breach and 1 more",
                owner_id=owner.id,
                support_route="team-lead",
                failure_ids=[hidden.id, seen.id],
                count=2,
                window_days=30,
                explanation="Confidential vendor breach; Vendor slipped again",
            )
            s.add(row)
            rows.append(row)
        s.flush()
        ids = [r.id for r in rows]

    from lessonloop.escalations.service import notify_owner

    # The escalation check tells each owner through notify_owner (as the worker's job runs it).
    with db.unit() as s:
        for i in ids:
            escalation = s.get(Escalation, i)
            assert escalation is not None
            notify_owner(s, escalation, now=T0, viewer=SYSTEM)
    with db.unit() as s:
        sent = {
            handle: (subject, body)
            for handle, subject, body in s.execute(
                select(Person.handle, Notification.subject, Notification.body_text)
                .join(Person, Person.id == Notification.person_id)
                .where(Notification.kind == "escalation")
            )
        }
    assert set(sent) == {"ana", "ben"}
    assert "Confidential" in sent["ana"][0] + sent["ana"][1]  # the lead of the team may see both
    assert "Confidential" not in sent["ben"][0] + sent["ben"][1]  # a plain member may not
    assert "needs its owner" in sent["ben"][0]

"""The built-in jobs, driven by an injected clock on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from lessonloop.actions.service import add_action
from lessonloop.experiments.service import add_experiment
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.store.engine import Database
from lessonloop.worker import checks
from lessonloop.worker.models import JobRun, ReflectionSession
from lessonloop.worker.runner import run_once
from lessonloop.worker.scheduler import JOBS, JobContext, job
from tests.factories import SYSTEM, failure, team_with_people

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
D0 = T0.date()
CONFIG = WorkerConfig(reminder_days=(3,), overdue_repeat_days=7)


def keys(db: Database) -> list[str]:
    with db.unit() as s:
        return sorted(s.scalars(select(Notification.dedupe_key)))


def _action(db: Database, *, due: dt.date, review: dt.date | None = None) -> int:
    with db.unit() as s:
        team_with_people(s)
        f = failure(s, team="Payments", detected_at=T0 - dt.timedelta(days=30))
        a = add_action(
            s,
            failure_id=f.id,
            title="Dated dependency check",
            owner="ben",
            due_date=due,
            review_date=review,
            backfill=True,
            viewer=SYSTEM,
        )
        return a.id


def test_reminders_before_due_and_when_overdue_once_each(db: Database) -> None:
    aid = _action(db, due=D0 + dt.timedelta(days=5))
    run_once(db, now=T0, config=CONFIG, only_jobs={"action-reminders"})
    assert keys(db) == []  # 5 days out: not yet
    for day in (2, 3, 3, 4):  # 3 and 2 days before due, twice: one reminder
        run_once(db, now=T0 + dt.timedelta(days=day), config=CONFIG, only_jobs={"action-reminders"})
    due = (D0 + dt.timedelta(days=5)).isoformat()
    assert keys(db) == [f"reminder:action:{aid}:due-3d:{due}"]
    for day in (6, 7, 12, 13, 14):  # overdue 1..9 days: the first day, then a week later
        run_once(db, now=T0 + dt.timedelta(days=day), config=CONFIG, only_jobs={"action-reminders"})
    assert keys(db) == [
        f"reminder:action:{aid}:due-3d:{due}",
        f"reminder:action:{aid}:overdue:{due}:0",
        f"reminder:action:{aid}:overdue:{due}:1",
    ]
    with db.unit() as s:
        n = s.scalars(select(Notification).where(Notification.dedupe_key.like("%overdue%0"))).one()
        assert n.person.handle == "ben" and "overdue by 1 day" in n.subject


def test_review_date_asks_did_it_work_and_the_answer_is_readable(db: Database) -> None:
    aid = _action(db, due=D0 - dt.timedelta(days=3), review=D0)
    run_once(db, now=T0, config=CONFIG, only_jobs={"review-checks"})
    run_once(db, now=T0 + dt.timedelta(hours=5), config=CONFIG, only_jobs={"review-checks"})
    assert keys(db) == [f"review-check:action:{aid}:{D0.isoformat()}"]
    with db.unit() as s:
        assert checks.verified_action_ids(s, viewer=SYSTEM) == set()
        checks.record_check(s, aid, worked="partly", note="fewer slips", now=T0, viewer=SYSTEM)
        assert checks.verified_action_ids(s, viewer=SYSTEM) == set()
        checks.record_check(
            s, aid, worked="yes", note="no slips since", now=T0 + dt.timedelta(days=1), viewer=SYSTEM
        )
        assert checks.verified_action_ids(s, viewer=SYSTEM) == {aid}
        assert checks.verified_action_ids(s, [aid + 100], viewer=SYSTEM) == set()
        assert checks.latest_outcomes(s, viewer=SYSTEM) == {aid: "yes"}


def test_experiment_end_asks_the_action_owner_for_observations(db: Database) -> None:
    aid = _action(db, due=D0 - dt.timedelta(days=30))
    with db.unit() as s:
        exp = add_experiment(
            s,
            action_id=aid,
            hypothesis="Dated checks catch slips early",
            metric="slipped deps",
            comparator="<=",
            threshold=1,
            start_date=D0 - dt.timedelta(days=20),
            end_date=D0 - dt.timedelta(days=1),
            viewer=SYSTEM,
        )
        eid = exp.id
    run_once(db, now=T0, config=CONFIG, only_jobs={"experiment-ends"})
    run_once(db, now=T0, config=CONFIG, only_jobs={"experiment-ends"})
    assert keys(db) == [f"experiment-end:experiment:{eid}:{(D0 - dt.timedelta(days=1)).isoformat()}"]


def test_escalations_run_daily_and_tell_the_lead(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
        for i in range(3):
            failure(
                s,
                title=f"Vendor slip {i}",
                team="Payments",
                labels=["vendor"],
                detected_at=T0 - dt.timedelta(days=i),
            )
    report = run_once(db, now=T0, config=CONFIG, only_jobs={"escalations"})
    assert "escalations opened" in report.jobs["escalations"]
    again = run_once(db, now=T0 + dt.timedelta(hours=3), config=CONFIG, only_jobs={"escalations"})
    assert again.jobs["escalations"].startswith("skipped")
    with db.unit() as s:
        assert s.scalar(select(func.count(JobRun.id))) == 1
        notes = list(s.scalars(select(Notification).where(Notification.kind == "escalation")))
        assert notes and {n.person.handle for n in notes} == {"ana"}  # the team lead
    tomorrow = run_once(db, now=T0 + dt.timedelta(days=1), config=CONFIG, only_jobs={"escalations"})
    assert not tomorrow.jobs["escalations"].startswith("skipped")


def test_a_severe_failure_gets_a_dated_reflection_session(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
        severe = failure(
            s, title="Payments down for an hour", team="Payments", severity="critical", detected_at=T0
        )
        failure(s, title="Typo on a page", team="Payments", severity="low", detected_at=T0)
        fid = severe.id
    config = WorkerConfig(reflection_within_days=5)
    run_once(db, now=T0 + dt.timedelta(hours=1), config=config, only_jobs={"reflection-sessions"})
    run_once(db, now=T0 + dt.timedelta(hours=2), config=config, only_jobs={"reflection-sessions"})
    with db.unit() as s:
        (session_,) = s.scalars(select(ReflectionSession)).all()
        assert session_.failure_id == fid
        assert session_.scheduled_for == D0 + dt.timedelta(days=5)
        assert session_.status == "proposed"
    assert keys(db) == [f"reflection:failure:{fid}"]


def test_registered_jobs_run_once_per_period(db: Database) -> None:
    runs: list[str] = []

    @job("test-weekly", every="weekly", description="a job from another package")
    def weekly(ctx: JobContext) -> str:
        runs.append(ctx.period)
        return "ok"

    try:
        for day in range(0, 10):  # Monday 4 May .. Wednesday 13 May: weeks 19 and 20
            run_once(db, now=T0 + dt.timedelta(days=day), config=CONFIG, only_jobs={"test-weekly"})
        assert runs == ["2026-W19", "2026-W20"]
    finally:
        JOBS.pop("test-weekly")


def test_a_failing_job_is_reported_and_the_others_run(db: Database) -> None:
    @job("test-broken")
    def broken(ctx: JobContext) -> str:
        raise RuntimeError("boom")

    try:
        aid = _action(db, due=D0 + dt.timedelta(days=1))
        report = run_once(db, now=T0, config=CONFIG)
        assert report.jobs["test-broken"].startswith("error: RuntimeError: boom")
        assert f"reminder:action:{aid}:due-3d:{(D0 + dt.timedelta(days=1)).isoformat()}" in keys(db)
    finally:
        JOBS.pop("test-broken")

"""The Python predicates and the SQL clauses agree, exhaustively, on both backends.

Viewers: every combination of role in team A (none/member/lead/admin) × role in team B
(none/member/lead) × org admin (no/yes) — 24 viewers. Failures: for every viewer, every
combination of visibility × team (none/A/B) × the viewer reported it (no/yes) × the viewer is
involved (no/yes) — 36 per viewer, 864 in all, with other reporters and people mixed in. Every
viewer is then checked against every failure (20,736 pairs), and the complement (``~clause``) too.
Lessons: random but seeded combinations of audience, author and linked failures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random

from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from lessonloop.access import (
    Viewer,
    can_see_failure,
    can_see_lesson,
    viewer_for,
    visible_failures_clause,
    visible_lessons_clause,
)
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.people.models import Membership, Person, Team
from tests.access.world import make_admin

DETECTED = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def _population(session: Session) -> tuple[list[Viewer], list[Person], list[Team]]:
    team_a, team_b = Team(name="A"), Team(name="B")
    session.add_all([team_a, team_b])
    people: list[Person] = []
    for index, (role_a, role_b, admin) in enumerate(
        itertools.product((None, "member", "lead", "admin"), (None, "member", "lead"), (False, True))
    ):
        person = Person(handle=f"p{index}", name=f"P{index} {role_a}/{role_b}/{'admin' if admin else '-'}")
        session.add(person)
        for team, role in ((team_a, role_a), (team_b, role_b)):
            if role is not None:
                session.add(Membership(team=team, person=person, role=role))
        session.flush()
        if admin:
            make_admin(session, person)
        people.append(person)
    session.flush()
    return [viewer_for(session, p) for p in people], people, [team_a, team_b]


def _failures(session: Session, people: list[Person], teams: list[Team], rng: random.Random) -> list[Failure]:
    failures = []
    for person in people:
        others = [p for p in people if p.id != person.id]
        for visibility, team, reported, involved in itertools.product(
            ("private", "team", "org"), (None, *teams), (False, True), (False, True)
        ):
            reporter = person if reported else rng.choice([None, *others])
            crowd = rng.sample(others, rng.randint(0, 3))
            failure = Failure(
                title=f"{visibility}/{team.name if team else '-'}/{person.handle}/{reported}/{involved}",
                visibility=visibility,
                team=team,
                reporter=reporter,
                people=[person, *crowd] if involved else crowd,
                detected_at=DETECTED,
            )
            failures.append(failure)
    session.add_all(failures)
    session.flush()
    return failures


def test_failure_predicate_and_clause_agree_exhaustively(session: Session) -> None:
    rng = random.Random(20260105)
    viewers, people, teams = _population(session)
    failures = _failures(session, people, teams, rng)
    assert len(viewers) == 24 and len(failures) == 24 * 36
    all_ids = {f.id for f in failures}
    for viewer in viewers:
        python = {f.id for f in failures if can_see_failure(viewer, f)}
        sql = set(session.scalars(select(Failure.id).where(visible_failures_clause(viewer))))
        hidden = set(session.scalars(select(Failure.id).where(not_(visible_failures_clause(viewer)))))
        assert sql == python, f"viewer {viewer}: only SQL {sql - python}, only Python {python - sql}"
        assert hidden == all_ids - python
        assert python, "every viewer sees at least the org failures"


def test_lesson_predicate_and_clause_agree(session: Session) -> None:
    rng = random.Random(7)
    viewers, people, teams = _population(session)
    failures = _failures(session, people, teams, rng)
    lessons = []
    for index in range(120):
        lesson = Lesson(
            title=f"lesson {index}",
            learned="...",
            author=rng.choice([None, *people]),
            audience=rng.sample(teams, rng.randint(0, 2)),
            # Mostly one or two failures, so the private ones decide; sometimes none.
            failures=rng.sample(failures, rng.choice((0, 1, 1, 2, 3))),
        )
        lessons.append(lesson)
    session.add_all(lessons)
    session.flush()
    seen_counts = []
    for viewer in viewers:
        python = {lesson.id for lesson in lessons if can_see_lesson(viewer, lesson)}
        sql = set(session.scalars(select(Lesson.id).where(visible_lessons_clause(viewer))))
        hidden = set(session.scalars(select(Lesson.id).where(not_(visible_lessons_clause(viewer)))))
        assert sql == python, f"viewer {viewer}: only SQL {sql - python}, only Python {python - sql}"
        assert hidden == {lesson.id for lesson in lessons} - python
        seen_counts.append(len(python))
    # The sample is worth something only if it hides lessons from some viewers and not from others.
    assert 0 < min(seen_counts) < max(seen_counts)

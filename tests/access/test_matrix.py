"""The permission matrix, cell by cell: the Python predicate and the SQL clause on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import not_, select
from sqlalchemy.orm import Session

from lessonloop.access import (
    Viewer,
    can_edit_failure,
    can_see,
    can_see_failure,
    can_see_lesson,
    visible_actions_clause,
    visible_experiments_clause,
    visible_failures_clause,
    visible_lessons_clause,
    visible_observations_clause,
    visible_reviews_clause,
)
from lessonloop.actions.models import Action
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.service import create_lesson
from lessonloop.people.service import add_member
from lessonloop.reviews.models import Review
from tests.access.world import VIEWER_KINDS, World, build_world
from tests.factories import SYSTEM, reviewed


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def sql_sees(session: Session, viewer: Viewer, failure: Failure) -> bool:
    ids = set(session.scalars(select(Failure.id).where(visible_failures_clause(viewer))))
    hidden = set(session.scalars(select(Failure.id).where(not_(visible_failures_clause(viewer)))))
    assert ids.isdisjoint(hidden) and len(ids | hidden) == len(ids) + len(hidden)  # two-valued: no NULLs
    return failure.id in ids


# Who may SEE a failure of team Payments, reported by `reporter`, involving `involved`.
SEE_TEAM_FAILURE = [
    # viewer          visibility  sees?
    ("reporter",      "private",  True),
    ("reporter",      "team",     True),
    ("reporter",      "org",      True),
    ("involved",      "private",  True),
    ("involved",      "team",     True),
    ("involved",      "org",      True),
    ("member",        "private",  False),
    ("member",        "team",     True),
    ("member",        "org",      True),
    ("lead",          "private",  True),
    ("lead",          "team",     True),
    ("lead",          "org",      True),
    ("team_admin",    "private",  False),
    ("team_admin",    "team",     True),
    ("team_admin",    "org",      True),
    ("other_member",  "private",  False),
    ("other_member",  "team",     False),
    ("other_member",  "org",      True),
    ("other_lead",    "private",  False),
    ("other_lead",    "team",     False),
    ("other_lead",    "org",      True),
    ("admin",         "private",  False),
    ("admin",         "team",     True),
    ("admin",         "org",      True),
    ("outsider",      "private",  False),
    ("outsider",      "team",     False),
    ("outsider",      "org",      True),
]  # fmt: skip


def check_see_cells(world: World, table: list[tuple[str, str, bool]], *, has_team: bool) -> list[str]:
    """Every cell of ``table``, predicate and SQL; returns the cells that disagree (all of them)."""
    wrong = []
    for kind, visibility, expected in table:
        viewer, failure = world.viewer(kind), world.failure(visibility, has_team=has_team)
        python, sql = can_see_failure(viewer, failure), sql_sees(world.session, viewer, failure)
        if python is not expected or sql is not expected:
            wrong.append(f"{kind} × {visibility}: expected {expected}, predicate {python}, SQL {sql}")
    return wrong


def test_see_failure_of_a_team(world: World) -> None:
    assert check_see_cells(world, SEE_TEAM_FAILURE, has_team=True) == []


# The same failures with no team: "team" visibility then means everyone signed in, and a private
# one has no team leads to show it to.
SEE_TEAMLESS_FAILURE = [
    ("reporter",      "private",  True),
    ("reporter",      "team",     True),
    ("reporter",      "org",      True),
    ("involved",      "private",  True),
    ("involved",      "team",     True),
    ("involved",      "org",      True),
    ("member",        "private",  False),
    ("member",        "team",     True),
    ("member",        "org",      True),
    ("lead",          "private",  False),
    ("lead",          "team",     True),
    ("lead",          "org",      True),
    ("team_admin",    "private",  False),
    ("team_admin",    "team",     True),
    ("team_admin",    "org",      True),
    ("other_member",  "private",  False),
    ("other_member",  "team",     True),
    ("other_member",  "org",      True),
    ("other_lead",    "private",  False),
    ("other_lead",    "team",     True),
    ("other_lead",    "org",      True),
    ("admin",         "private",  False),
    ("admin",         "team",     True),
    ("admin",         "org",      True),
    ("outsider",      "private",  False),
    ("outsider",      "team",     True),
    ("outsider",      "org",      True),
]  # fmt: skip


def test_see_failure_with_no_team(world: World) -> None:
    assert check_see_cells(world, SEE_TEAMLESS_FAILURE, has_team=False) == []


# Who may EDIT a failure of team Payments. Nobody edits what they cannot see.
EDIT_TEAM_FAILURE = [
    ("reporter",      "private",  True),
    ("reporter",      "team",     True),
    ("reporter",      "org",      True),
    ("involved",      "private",  True),
    ("involved",      "team",     True),
    ("involved",      "org",      True),
    ("member",        "private",  False),
    ("member",        "team",     False),
    ("member",        "org",      False),
    ("lead",          "private",  True),
    ("lead",          "team",     True),
    ("lead",          "org",      True),
    ("team_admin",    "private",  False),
    ("team_admin",    "team",     True),
    ("team_admin",    "org",      True),
    ("other_member",  "private",  False),
    ("other_member",  "team",     False),
    ("other_member",  "org",      False),
    ("other_lead",    "private",  False),
    ("other_lead",    "team",     False),
    ("other_lead",    "org",      False),
    ("admin",         "private",  False),
    ("admin",         "team",     True),
    ("admin",         "org",      True),
    ("outsider",      "private",  False),
    ("outsider",      "team",     False),
    ("outsider",      "org",      False),
]  # fmt: skip


def test_edit_failure_of_a_team(world: World) -> None:
    wrong = [
        f"{kind} × {visibility}: expected {expected}"
        for kind, visibility, expected in EDIT_TEAM_FAILURE
        if can_edit_failure(world.viewer(kind), world.failure(visibility)) is not expected
    ]
    assert wrong == []


def test_the_tables_cover_every_viewer_and_visibility() -> None:
    cells = [(kind, visibility) for kind in VIEWER_KINDS for visibility in ("private", "team", "org")]
    for table in (SEE_TEAM_FAILURE, SEE_TEAMLESS_FAILURE, EDIT_TEAM_FAILURE):
        assert [(kind, visibility) for kind, visibility, _ in table] == cells


def test_nobody_signed_in_sees_nothing(world: World) -> None:
    assert not any(can_see_failure(None, f) for f in world.failures.values())
    assert world.session.scalars(select(Failure).where(visible_failures_clause(None))).all() == []
    assert not can_edit_failure(None, world.failure("org"))


def test_the_clause_follows_a_role_change(world: World) -> None:
    """viewer_for reads roles fresh: promoting the member to lead opens the private failure."""
    private = world.failure("private")
    assert not can_see_failure(world.viewer("member"), private)
    add_member(world.session, team=world.team, person=world.people["member"], role="lead", viewer=SYSTEM)
    viewer = world.viewer("member")
    assert can_see_failure(viewer, private)
    assert sql_sees(world.session, viewer, private)


# -- records that inherit a failure's visibility ------------------------------------------------

# Everything hanging off the *private* failure of Payments: seen only by reporter, involved, lead.
INHERITED_FROM_PRIVATE = {
    "reporter": True,
    "involved": True,
    "member": False,
    "lead": True,
    "team_admin": False,
    "other_member": False,
    "other_lead": False,
    "admin": False,
    "outsider": False,
}


def test_review_action_experiment_inherit_visibility(world: World) -> None:
    session = world.session
    private = world.failure("private")
    review = reviewed(session, private, owner="reporter")
    action = session.scalars(select(Action).where(Action.failure_id == private.id)).one()
    experiment = add_experiment(
        session,
        action_id=action.id,
        hypothesis="Dated commitments cut slips",
        metric="slipped dependencies",
        comparator="<=",
        threshold=1,
        start_date="2026-01-01",
        end_date="2026-02-01",
        viewer=SYSTEM,
    )
    observation = record_observation(session, experiment.id, value=0, viewer=SYSTEM)
    clauses = (
        (review, Review, visible_reviews_clause),
        (action, Action, visible_actions_clause),
        (experiment, Experiment, visible_experiments_clause),
        (observation, Observation, visible_observations_clause),
    )
    wrong = []
    for kind, expected in INHERITED_FROM_PRIVATE.items():
        viewer = world.viewer(kind)
        for record, model, clause in clauses:
            python = can_see(session, viewer, record)
            sql = record.id in session.scalars(select(model.id).where(clause(viewer))).all()
            if python is not expected or sql is not expected:
                wrong.append(f"{kind} × {model.__name__}: expected {expected}, predicate {python}, SQL {sql}")
    assert wrong == []


# -- lessons ------------------------------------------------------------------------------------

# A lesson from the *private* Payments failure, written by `outsider` for team Search.
LESSON_FROM_PRIVATE_FOR_SEARCH = {
    "reporter": True,  # sees the failure
    "involved": True,  # sees the failure
    "member": False,  # not the audience, cannot see the private failure
    "lead": True,  # sees the private failure as a lead of its team
    "team_admin": False,
    "other_member": True,  # audience team
    "other_lead": True,  # audience team
    "admin": False,  # org admins do not see private failures
    "outsider": True,  # the author
}

# A lesson linked to no failure: for everyone signed in.
LESSON_WITHOUT_FAILURES = dict.fromkeys(VIEWER_KINDS, True)

# A lesson from the *team* failure, no audience, no author.
LESSON_FROM_TEAM_FAILURE = {
    "reporter": True,
    "involved": True,
    "member": True,
    "lead": True,
    "team_admin": True,
    "other_member": False,
    "other_lead": False,
    "admin": True,
    "outsider": False,
}


def test_lesson_visibility(world: World) -> None:
    session = world.session
    from_private = create_lesson(
        session,
        title="Private lesson",
        learned="...",
        author=world.people["outsider"],
        failures=[world.failure("private").id],
        audience=[world.other_team],
        viewer=SYSTEM,
    )
    without = create_lesson(session, title="General lesson", learned="...", viewer=SYSTEM)
    from_team = create_lesson(
        session, title="Team lesson", learned="...", failures=[world.failure("team").id], viewer=SYSTEM
    )
    wrong = []
    for kind in VIEWER_KINDS:
        viewer = world.viewer(kind)
        sql_ids = set(session.scalars(select(Lesson.id).where(visible_lessons_clause(viewer))))
        hidden = set(session.scalars(select(Lesson.id).where(not_(visible_lessons_clause(viewer)))))
        assert sql_ids.isdisjoint(hidden) and len(sql_ids | hidden) == 3
        for lesson, table in (
            (from_private, LESSON_FROM_PRIVATE_FOR_SEARCH),
            (without, LESSON_WITHOUT_FAILURES),
            (from_team, LESSON_FROM_TEAM_FAILURE),
        ):
            python, sql = can_see_lesson(viewer, lesson), lesson.id in sql_ids
            if (
                python is not table[kind]
                or sql is not table[kind]
                or can_see(session, viewer, lesson) is not python
            ):
                wrong.append(
                    f"{kind} × {lesson.title}: expected {table[kind]}, predicate {python}, SQL {sql}"
                )
    assert wrong == []
    assert not can_see_lesson(None, without)
    assert session.scalars(select(Lesson).where(visible_lessons_clause(None))).all() == []

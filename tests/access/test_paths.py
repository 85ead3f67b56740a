"""Every service path that shows or changes data, with a viewer — on both backends.

``tests/access/test_matrix.py`` checks the rules themselves; this checks that the services use
them: search (each kind by its own rule), similar failures, metrics, assumptions, escalations,
history, lessons' failure ids, the writes (403 / 404), and ``viewer=None`` as the trusted caller.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy.orm import Session

from lessonloop.access import can_see_failure
from lessonloop.access.actor import MissingActor
from lessonloop.access.scope import record_history
from lessonloop.actions.service import add_action, complete_action, list_actions
from lessonloop.errors import NotFound, PermissionDenied
from lessonloop.escalations.service import check_escalations, list_escalations, update_escalation
from lessonloop.failures.service import get_visible_failure, list_failures, log_failure, update_failure
from lessonloop.lessons.schemas import LessonOut
from lessonloop.lessons.service import create_lesson, get_lesson, list_lessons, publish_lesson
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.portability import export_workspace
from lessonloop.reviews.service import list_assumptions, record_assumption
from lessonloop.search.service import search
from lessonloop.signals.metrics import compute_metrics
from lessonloop.signals.similar import similar_failures
from tests.access.world import World, build_world
from tests.factories import SYSTEM, reviewed


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def test_trusted_callers_see_everything(world: World) -> None:
    """``viewer=None`` is the CLI on its own database: no filter at all."""
    everything = {f.id for f in world.failures.values()}
    assert {f.id for f in list_failures(world.session, page_size=500, viewer=SYSTEM).items} == everything
    assert {
        f.id for f in list_failures(world.session, page_size=500, viewer=world.viewer("outsider")).items
    } == {
        world.failure("org").id,
        world.failure("org", has_team=False).id,
        world.failure("team", has_team=False).id,
    }
    private = world.failure("private")
    assert get_visible_failure(world.session, private.id, SYSTEM) is private
    with pytest.raises(MissingActor):  # no actor is refused, never "trusted"
        get_visible_failure(world.session, private.id, None)  # type: ignore[arg-type]
    with pytest.raises(NotFound) as err:
        get_visible_failure(world.session, private.id, world.viewer("member"))
    assert err.value.message == f"no failure with id {private.id}" and err.value.status_code == 404


def test_search_hides_each_kind_by_its_rule(world: World) -> None:
    s = world.session
    private = world.failure("private")
    update_failure(s, private.id, {"observation": "the wombat migration"}, viewer=SYSTEM)
    review = reviewed(
        s,
        private,
        owner="lead",
        root_cause="The wombat vendor slipped",
        assumptions=["Wombat vendors keep dates"],
    )
    record_assumption(s, "Wombat capacity is unlimited", viewer=SYSTEM)  # named in no review: for everyone
    lesson = create_lesson(
        s,
        title="Wombat lessons",
        learned="Date them",
        failures=[private.id],
        audience=[world.team],
        viewer=SYSTEM,
    )
    for kind, expected in {
        "member": {("lesson", lesson.id), ("assumption", 2)},  # the audience gets the lesson
        "other_member": {("assumption", 2)},
        "admin": {("assumption", 2)},  # an org admin does not see a private failure
        "lead": {
            ("failure", private.id),
            ("review", review.id),
            ("assumption", 1),
            ("assumption", 2),
            ("lesson", lesson.id),
        },
    }.items():
        hits = search(s, "wombat", limit=50, viewer=world.viewer(kind))
        assert {(h.kind, h.record_id) for h in hits} == expected, kind
    # limit and offset count visible hits only
    lead = world.viewer("lead")
    all_hits = search(s, "wombat", limit=50, viewer=lead)
    assert search(s, "wombat", limit=2, offset=1, viewer=lead) == all_hits[1:3]
    assert len(search(s, "wombat", limit=50, viewer=SYSTEM)) == 5  # trusted: all of them


def test_lessons_list_only_the_failures_one_may_see(world: World) -> None:
    s = world.session
    private, org = world.failure("private"), world.failure("org")
    lesson = create_lesson(
        s, title="t", learned="l", failures=[private.id, org.id], audience=[world.team], viewer=SYSTEM
    )
    member = world.viewer("member")
    assert LessonOut.of(get_lesson(s, lesson.id, viewer=member), member).failure_ids == [org.id]
    assert sorted(LessonOut.of(lesson, viewer=SYSTEM).failure_ids) == sorted([private.id, org.id])
    # another team's member sees it through the org failure, and only that one
    other = world.viewer("other_member")
    assert LessonOut.of(get_lesson(s, lesson.id, viewer=other), other).failure_ids == [org.id]
    # writing: only failures one may see, as oneself
    with pytest.raises(NotFound):
        create_lesson(s, title="t", learned="l", failures=[private.id], viewer=member)
    with pytest.raises(PermissionDenied):
        create_lesson(s, title="t", learned="l", author="lead", viewer=member)
    mine = create_lesson(s, title="t", learned="l", failures=[org.id], viewer=member)
    assert mine.author_id == member.person_id
    assert publish_lesson(s, mine.id, viewer=member).published_at is not None
    with pytest.raises(PermissionDenied):
        publish_lesson(s, lesson.id, viewer=member)  # a member of the audience, not a lead
    assert publish_lesson(s, lesson.id, viewer=world.viewer("lead")).published_at is not None
    outsider = world.viewer("outsider")
    assert {x.id for x in list_lessons(s, viewer=outsider, page_size=500).items} == {mine.id, lesson.id}
    private_only = create_lesson(s, title="p", learned="l", failures=[private.id], viewer=SYSTEM)
    with pytest.raises(NotFound):
        get_lesson(s, private_only.id, viewer=outsider)


def test_assumptions_count_only_visible_failures(world: World) -> None:
    s = world.session
    for visibility in ("private", "org"):
        reviewed(s, world.failure(visibility), owner="lead", assumptions=["Vendors keep verbal dates"])
    counts = {
        kind: dict((a.statement, n) for a, n in list_assumptions(s, viewer=world.viewer(kind)))
        for kind in ("lead", "member", "outsider")
    }
    assert counts["lead"] == {"Vendors keep verbal dates": 2}
    assert counts["member"] == {"Vendors keep verbal dates": 1}
    assert counts["outsider"] == {"Vendors keep verbal dates": 1}
    assert dict((a.statement, n) for a, n in list_assumptions(s, viewer=SYSTEM)) == {
        "Vendors keep verbal dates": 2
    }


def test_metrics_count_only_visible_failures(world: World) -> None:
    s = world.session
    assert compute_metrics(s, viewer=SYSTEM)["totals"]["failures"] == 6
    assert (
        compute_metrics(s, viewer=world.viewer("lead"))["totals"]["failures"] == 5
    )  # not the teamless private
    assert compute_metrics(s, viewer=world.viewer("member"))["totals"]["failures"] == 4
    assert compute_metrics(s, viewer=world.viewer("outsider"))["totals"]["failures"] == 3


def test_similar_failures_never_show_what_one_may_not_see(world: World) -> None:
    s = world.session
    private = world.failure("private")
    update_failure(
        s, private.id, {"title": "Kafka consumer lag broke invoicing", "labels": ["kafka"]}, viewer=SYSTEM
    )
    member = world.viewer("member")
    seen = similar_failures(
        s, title="Kafka consumer lag", visible=lambda f: can_see_failure(member, f), viewer=SYSTEM
    )
    assert private.id not in {m.id for m in seen}
    assert private.id in {m.id for m in similar_failures(s, title="Kafka consumer lag", viewer=SYSTEM)}


def test_escalations_need_every_failure_visible(world: World) -> None:
    s = world.session
    now = dt.datetime.now(dt.UTC)
    for visibility in ("private", "team", "org"):
        update_failure(
            s,
            world.failure(visibility).id,
            {"labels": ["config"], "detected_at": now.isoformat()},
            viewer=SYSTEM,
        )
    [escalation] = check_escalations(s, now=now + dt.timedelta(minutes=1), viewer=SYSTEM)
    assert [e.id for e in list_escalations(s, viewer=world.viewer("lead"))] == [escalation.id]
    for kind in ("member", "admin", "outsider"):  # each misses the private failure
        assert list_escalations(s, viewer=world.viewer(kind)) == [], kind
        with pytest.raises(NotFound):
            update_escalation(s, escalation.id, status="acknowledged", viewer=world.viewer(kind))
    with pytest.raises(PermissionDenied):
        update_escalation(s, escalation.id, status="acknowledged", viewer=world.viewer("reporter"))
    assert (
        update_escalation(s, escalation.id, status="acknowledged", viewer=world.viewer("lead")).status
        == "acknowledged"
    )


def test_history_of_one_record(world: World) -> None:
    private = world.failure("private")
    assert record_history(world.session, private, viewer=world.viewer("lead"))[0].action == "create"
    with pytest.raises(NotFound):
        record_history(world.session, private, viewer=world.viewer("admin"))
    assert record_history(world.session, private, viewer=SYSTEM)  # trusted


def test_an_action_owner_may_close_it_without_the_right_to_change_the_failure(world: World) -> None:
    s = world.session
    team_failure = world.failure("team")
    action = add_action(
        s,
        failure_id=team_failure.id,
        title="Write the runbook",
        owner="member",
        due_date="2030-01-01",
        viewer=SYSTEM,
    )
    other = add_action(
        s,
        failure_id=team_failure.id,
        title="Call the vendor",
        owner="lead",
        due_date="2030-01-01",
        viewer=SYSTEM,
    )
    member = world.viewer("member")
    assert complete_action(s, action.id, evidence="runbook v1", viewer=member).status == "done"
    with pytest.raises(PermissionDenied):
        complete_action(s, other.id, evidence="not mine", viewer=member)
    with pytest.raises(PermissionDenied):
        add_action(
            s, failure_id=team_failure.id, title="x", owner="member", due_date="2030-01-01", viewer=member
        )
    with pytest.raises(NotFound):
        complete_action(s, other.id, evidence="x", viewer=world.viewer("other_member"))
    assert {a.id for a in list_actions(s, viewer=world.viewer("other_member")).items} == set()


def test_directory_writes(world: World) -> None:
    s = world.session
    with pytest.raises(PermissionDenied):
        add_person(s, name="Zed", viewer=world.viewer("lead"))
    with pytest.raises(PermissionDenied):
        add_team(s, name="Ops", viewer=world.viewer("team_admin"))
    zed = add_person(s, name="Zed", viewer=world.viewer("admin"))
    assert add_member(s, team=world.team, person=zed, viewer=world.viewer("lead")).role == "member"
    with pytest.raises(PermissionDenied):  # a lead is appointed by a lead only (issue #11, leak 1)
        add_member(s, team=world.team, person=zed, role="lead", viewer=world.viewer("team_admin"))
    assert add_member(s, team=world.team, person=zed, role="lead", viewer=world.viewer("lead")).role == "lead"
    with pytest.raises(PermissionDenied):
        add_member(s, team=world.team, person=zed, viewer=world.viewer("member"))
    with pytest.raises(PermissionDenied):
        add_member(s, team=world.other_team, person=zed, viewer=world.viewer("lead"))


def test_logging_makes_the_viewer_the_reporter(world: World) -> None:
    s = world.session
    member = world.viewer("member")
    mine = log_failure(s, title="I broke the build", visibility="private", viewer=member)
    assert mine.reporter_id == member.person_id
    assert get_visible_failure(s, mine.id, member) is mine  # never lost to its own author
    theirs = log_failure(s, title="t", reporter="lead", viewer=member)
    assert theirs.reporter_id == world.people["lead"].id


def test_export_as_a_person(world: World) -> None:
    s = world.session
    private, org = world.failure("private"), world.failure("org")
    org.repeat_of_id = private.id
    s.flush()
    out = io.StringIO()
    counts = export_workspace(s, out, viewer=world.viewer("member"))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    failures = {r["id"]: r for r in records if r["type"] == "failure"}
    assert private.id not in failures and failures[org.id]["repeat_of_id"] is None
    assert counts["account"] == 0 and counts["api_token"] == 0
    assert counts["person"] == len(world.people)
    full = io.StringIO()
    assert export_workspace(s, full, viewer=SYSTEM)["failure"] == 6  # trusted: everything

"""The weekly digest: what reached the team, as a member of that team may see it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.actions.service import add_action
from lessonloop.failures.service import confirm_repeat
from lessonloop.followthrough import digests
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.recognition import recognise
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.models import Notification
from lessonloop.people.service import add_member, add_person, add_team
from tests import factories
from tests.factories import SYSTEM

WEEK_ENDING = dt.date(2030, 3, 10)  # a Sunday; the week is 4–10 March
SCRIPT = "<script>alert(1)</script>"


def _world(session: Session) -> dict[str, Any]:
    w = factories.team_with_people(session)
    search = add_team(session, name="Search", viewer=SYSTEM)
    cy = add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    add_member(session, team=search, person=cy, viewer=SYSTEM)
    first = factories.failure(
        session, title="Checkout slipped", team="Payments", detected_at="2030-02-20T09:00:00Z"
    )
    repeat = factories.failure(
        session, title="Checkout slipped again", team="Payments", detected_at="2030-03-05T09:00:00Z"
    )
    confirm_repeat(session, repeat.id, first.id, viewer=SYSTEM)
    secret = factories.failure(
        session,
        title="Secret payroll bug",
        team="Payments",
        visibility="private",
        people=["ben"],
        detected_at="2030-03-06T09:00:00Z",
    )
    confirm_repeat(session, secret.id, first.id, viewer=SYSTEM)
    search_secret = factories.failure(
        session,
        title="Search private outage",
        team="Search",
        visibility="private",
        people=["cy"],
        detected_at="2030-03-06T09:00:00Z",
    )
    overdue = add_action(
        session,
        failure_id=first.id,
        title=f"Write the dependency check {SCRIPT}",
        owner="ben",
        due_date="2030-03-03",
        viewer=SYSTEM,
    )
    add_action(
        session,
        failure_id=secret.id,
        title="Fix the secret payroll job",
        owner="ben",
        due_date="2030-03-03",
        viewer=SYSTEM,
    )
    add_action(
        session,
        failure_id=search_secret.id,
        title="Restore the private index",
        owner="cy",
        due_date="2030-03-02",
        viewer=SYSTEM,
    )
    add_action(
        session, failure_id=first.id, title="Not due yet", owner="ben", due_date="2030-03-11", viewer=SYSTEM
    )
    shared = create_lesson(
        session,
        title=f"Date every dependency {SCRIPT}",
        learned="Verbal dates slip",
        failures=[first.id],
        audience=["Payments", "Search"],
        published_at="2030-03-07T10:00:00Z",
        viewer=SYSTEM,
    )
    from_secret = create_lesson(
        session,
        title="Check payroll batches twice",
        learned="Batches can be replayed",
        failures=[secret.id],
        audience=["Search"],
        published_at="2030-03-08T10:00:00Z",
        viewer=SYSTEM,
    )
    create_lesson(
        session,
        title="Old news",
        learned="x",
        failures=[first.id],
        audience=["Payments"],
        published_at="2030-02-01T10:00:00Z",
        viewer=SYSTEM,
    )
    create_lesson(
        session, title="Still a draft", learned="x", failures=[first.id], audience=["Payments"], viewer=SYSTEM
    )
    recognise(
        session,
        person="ana",
        kind="validated-fix",
        note="Proved the check with a 4-week trial",
        by="ben",
        at="2030-03-06T12:00:00Z",
        viewer=SYSTEM,
    )
    recognise(
        session,
        person="ben",
        kind="candid-review",
        note="Owned the payroll slip",
        by="ana",
        failure_id=secret.id,
        at="2030-03-06T12:00:00Z",
        viewer=SYSTEM,
    )
    add_guardrail(
        session,
        title="No Friday deploys",
        owner="ana",
        team="Payments",
        expires_on="2030-03-08",
        rollback_plan="Lift it",
        today=dt.date(2030, 3, 1),
        viewer=SYSTEM,
    )
    return {
        "first": first,
        "repeat": repeat,
        "secret": secret,
        "overdue": overdue,
        "shared": shared,
        "from_secret": from_secret,
        **w,
    }


def test_payments_digest(session: Session) -> None:
    w = _world(session)
    d = digests.build_team_digest(session, "Payments", week_ending=WEEK_ENDING, viewer=SYSTEM)
    data = d.data
    assert (data.week_start, data.week_ending) == (dt.date(2030, 3, 4), WEEK_ENDING)
    assert [x.id for x in data.lessons] == [w["shared"].id]
    assert data.lessons[0].failure_ids == [w["first"].id]
    assert [(r.id, r.repeat_of_id) for r in data.repeats] == [(w["repeat"].id, w["first"].id)]
    assert [a.id for a in data.overdue_actions] == [w["overdue"].id]
    assert data.overdue_actions[0].days_overdue == 8
    assert [(r.person, r.kind) for r in data.recognitions] == [("ana", "validated-fix")]
    assert [(g.title, g.needs_decision) for g in data.guardrails] == [("No Friday deploys", True)]

    for text in (d.markdown, d.html):
        assert "Secret payroll" not in text  # private: not even in its own team's digest
        assert "Owned the payroll slip" not in text
        assert "Checkout slipped again" in text and "Proved the check" in text
        assert "expired — needs a decision" in text
        assert "Old news" not in text and "Still a draft" not in text and "Not due yet" not in text
    assert "## Lessons published (1)" in d.markdown and "## Overdue actions (1)" in d.markdown
    assert SCRIPT not in d.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in d.html
    assert "\\<script\\>" in d.markdown


def test_another_team_never_sees_a_private_failure(session: Session) -> None:
    w = _world(session)
    d = digests.build_team_digest(session, "Search", week_ending=WEEK_ENDING, viewer=SYSTEM)
    # Both lessons reach Search (it is in their audience), but not the failures behind them.
    assert [x.id for x in d.data.lessons] == [w["shared"].id, w["from_secret"].id]
    assert all(x.failure_ids == [] for x in d.data.lessons)
    assert d.data.repeats == [] and d.data.recognitions == [] and d.data.guardrails == []
    assert d.data.overdue_actions == []  # cy's overdue action is on a private failure
    for text in (d.markdown, d.html):
        assert "Secret payroll" not in text and "Checkout slipped" not in text
        assert "Search private outage" not in text and "Restore the private index" not in text
        assert "Check payroll batches twice" in text
    assert "None this week." in d.markdown


def test_digest_is_enqueued_once_per_member(session: Session) -> None:
    _world(session)
    assert digests.send_team_digest(session, "Payments", week_ending=WEEK_ENDING, viewer=SYSTEM) == 2
    assert digests.send_team_digest(session, "Payments", week_ending=WEEK_ENDING, viewer=SYSTEM) == 0
    rows = list(session.scalars(select(Notification).order_by(Notification.person_id)))
    assert [n.person.handle for n in rows] == ["ana", "ben"]
    assert rows[0].kind == "weekly-digest" and rows[0].body_html and "<!DOCTYPE html>" in rows[0].body_html
    assert (
        rows[0].dedupe_key
        == f"digest:team:{rows[0].person.memberships[0].team_id}:2030-03-10:person:{rows[0].person_id}"
    )
    # The weekly job sends last week's digest of every team.
    monday = dt.datetime(2030, 3, 11, 6, tzinfo=dt.UTC)
    assert digests.last_week_ending(monday.date()) == WEEK_ENDING
    assert (
        digests.weekly_digests(session, now=monday, viewer=SYSTEM) == 1
    )  # cy in Search; Payments had theirs

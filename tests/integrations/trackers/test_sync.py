"""Push, adopt, retry, reconcile: the worker's side, against the GitHub and Jira stand-ins, on
SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

from sqlalchemy import select

from lessonloop.actions.service import complete_action
from lessonloop.integrations.trackers import service
from lessonloop.integrations.trackers.models import ActionTrackerLink, LinkState
from lessonloop.integrations.trackers.sync import push_pending
from lessonloop.notifications.models import Notification
from lessonloop.notifications.sendtime import Obsolete, Text, render
from lessonloop.store.history import list_history
from tests.factories import SYSTEM
from tests.integrations.trackers.conftest import DUE, NOW, World, seed
from tests.integrations.trackers.standins import serve


def _push(world: World, *action_ids: int) -> None:
    with world.db.unit(actor="ben") as s:
        for action_id in action_ids or world.actions:
            service.push_action(s, action_id, viewer=SYSTEM)


def _link(world: World, action_id: int) -> ActionTrackerLink:
    with world.db.unit() as s:
        link = s.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action_id))
        assert link is not None
        return link


def _tracker_changes(world: World, action_id: int) -> list[tuple[str, dict[str, list[object]]]]:
    with world.db.unit() as s:
        return [
            (e.actor, e.changes)
            for e in list_history(s, "action", action_id)
            if any(k.startswith("tracker") or k == "awaiting_evidence" for k in e.changes)
        ]


def test_a_pushed_action_becomes_one_issue_with_owner_due_date_and_link(world: World) -> None:
    action_id = world.actions[0]
    _push(world)
    assert _link(world, action_id).state == LinkState.queued.value
    assert world.tracker.issues == []  # the request only queued it

    assert world.run().startswith("1 issues created")
    issues = world.tracker.issues
    assert len(issues) == 1
    issue = issues[0]
    assert issue["title"] == "Step 0"
    assert f"/actions/{action_id}" in issue["body"]
    assert f"lessonloop-action:{action_id} workspace:" in issue["body"]
    assert any(label.endswith(f"-action-{action_id}") for label in issue["labels"])
    if world.tracker.kind == "github":
        assert issue["assignees"] == ["ben-gh"]
        assert f"Due: {DUE.isoformat()}" in issue["body"]
    else:
        assert issue["assignee"] == {"name": "ben-gh"}
        assert issue["due"] == DUE.isoformat()
    link = _link(world, action_id)
    assert link.state == LinkState.linked.value
    assert link.issue_state == "open"
    assert link.issue_url and str(issue["key"]) == link.issue_key

    # More passes, and pushing again, never make a second issue.
    world.run()
    _push(world)
    world.run()
    assert len(world.tracker.issues) == 1
    actors = [actor for actor, _ in _tracker_changes(world, action_id)]
    assert actors == ["system:tests", "system:tracker-push"]  # who queued it, then the worker


def test_an_issue_created_by_an_attempt_that_died_is_adopted_not_duplicated(world: World) -> None:
    """Kill point 3: the tracker has the issue, the database does not know it (the claim's
    lease ran out). The next attempt finds it by its marker label."""
    action_id = world.actions[0]
    _push(world)
    with world.db.unit() as s:
        link = s.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action_id))
        assert link is not None
        conn_tag = s.get(service.TrackerConnection, world.connection_id).workspace_tag  # type: ignore[union-attr]
        # what the dead worker left: a claim whose lease has run out
        link.state = LinkState.pushing.value
        link.lease_token = "dead-worker"
        link.lease_until = NOW - dt.timedelta(seconds=1)
    label = service.marker_label(conn_tag, action_id)
    with world.tracker.lock:
        world.tracker.issues.append(
            {
                "key": 1 if world.tracker.kind == "github" else "PAY-1",
                "id": 10001,
                "title": "Step 0",
                "body": "",
                "labels": [label],
                "assignees": [],
                "state": "open",
            }
        )
    assert world.run().startswith("0 issues created, 1 adopted")
    assert len(world.tracker.issues) == 1
    assert _link(world, action_id).state == LinkState.linked.value
    assert any("adopted" in str(c.get("tracker_issue")) for _, c in _tracker_changes(world, action_id))


def test_a_live_lease_is_left_alone(world: World) -> None:
    """Another worker holds the claim: this one does not touch it (no second create)."""
    _push(world)
    with world.db.unit() as s:
        link = s.scalar(select(ActionTrackerLink))
        assert link is not None
        link.state = LinkState.pushing.value
        link.lease_token = "other-worker"
        link.lease_until = NOW + dt.timedelta(minutes=5)
    assert world.run().startswith("0 issues created, 0 adopted, 0 errors")
    assert world.tracker.calls == []


def test_a_tracker_that_is_down_is_retried_then_failed_and_pushed_again(db, tracker) -> None:  # type: ignore[no-untyped-def]
    with serve(tracker.kind) as doomed:
        world = seed(db, doomed)
    # the stand-in is gone: every attempt fails to connect
    settings = dataclasses.replace(db.settings, tracker_max_attempts=2, tracker_timeout_seconds=2)
    units = lambda: db.unit(actor="worker")  # noqa: E731
    _push(world)
    assert push_pending(units, settings, now=NOW).endswith("1 errors")
    link = _link(world, world.actions[0])
    assert link.state == LinkState.queued.value and link.last_error
    assert link.next_attempt_at is not None and link.next_attempt_at > NOW
    assert push_pending(units, settings, now=NOW).endswith("0 errors")  # not due yet
    assert push_pending(units, settings, now=NOW + dt.timedelta(minutes=1)).endswith("1 errors")
    assert _link(world, world.actions[0]).state == LinkState.failed.value
    # the team's tracker is back (the same one): pushing again re-queues, the worker creates it
    with db.unit() as s:
        conn = s.get(service.TrackerConnection, world.connection_id)
        assert conn is not None
        conn.server_url = tracker.url
    _push(world)
    assert _link(world, world.actions[0]).state == LinkState.queued.value
    assert push_pending(units, settings, now=NOW + dt.timedelta(minutes=2)).startswith("1 issues created")
    assert len(tracker.issues) == 1


def _closed_notes(world: World) -> list[Notification]:
    with world.db.unit() as s:
        return list(s.scalars(select(Notification).where(Notification.kind == service.CLOSED_KIND)))


def test_reconcile_a_closed_issue_asks_the_owner_for_evidence_and_a_reopen_withdraws_it(world: World) -> None:
    action_id = world.actions[0]
    _push(world)
    world.run()
    key = _link(world, action_id).issue_key
    world.tracker.set_state(key, "closed")
    later = NOW + dt.timedelta(hours=1)
    assert "1 changed" in world.run("tracker-reconcile", now=later)
    link = _link(world, action_id)
    assert link.issue_state == "closed" and link.awaiting_evidence
    notes = _closed_notes(world)
    assert len(notes) == 1 and "add evidence" in notes[0].subject
    with world.db.unit() as s:
        action = s.get(service.Action, action_id)
        assert action is not None and action.status == "open"  # never silently done
    # nothing new: no second notice
    assert "0 changed" in world.run("tracker-reconcile", now=later + dt.timedelta(hours=1))
    assert len(_closed_notes(world)) == 1

    world.tracker.set_state(key, "open")
    world.run("tracker-reconcile", now=later + dt.timedelta(hours=2))
    link = _link(world, action_id)
    assert link.issue_state == "open" and not link.awaiting_evidence
    changes = _tracker_changes(world, action_id)
    assert (
        "system:tracker-reconcile",
        {"tracker_issue_state": ["open", "closed (reconcile)"], "awaiting_evidence": [False, True]},
    ) in changes
    assert changes[-1][1]["awaiting_evidence"] == [True, False]

    # closed again: asked again (a second close is a new question)
    world.tracker.set_state(key, "closed")
    world.run("tracker-reconcile", now=later + dt.timedelta(hours=3))
    assert len(_closed_notes(world)) == 2


def test_a_closed_issue_of_a_done_action_asks_nothing(world: World) -> None:
    action_id = world.actions[0]
    _push(world)
    world.run()
    with world.db.unit() as s:
        complete_action(s, action_id, evidence="Checklist used twice", viewer=SYSTEM)
    world.tracker.set_state(_link(world, action_id).issue_key, "closed")
    world.run("tracker-reconcile", now=NOW + dt.timedelta(hours=1))
    link = _link(world, action_id)
    assert link.issue_state == "closed" and not link.awaiting_evidence
    assert _closed_notes(world) == []


def test_the_evidence_prompt_is_moot_once_the_issue_is_reopened(world: World) -> None:
    """Sent late (a retry, a worker that was down), the prompt says nothing once answered."""
    action_id = world.actions[0]
    _push(world)
    world.run()
    key = _link(world, action_id).issue_key
    world.tracker.set_state(key, "closed")
    world.run("tracker-reconcile", now=NOW + dt.timedelta(hours=1))
    (note,) = _closed_notes(world)
    with world.db.unit() as s:
        text = render(s, note, now=NOW, viewer=SYSTEM)
        assert isinstance(text, Text) and "add evidence to complete it" in text.subject
        assert f"lessonloop action done {action_id}" in text.body_text
    world.tracker.set_state(key, "open")
    world.run("tracker-reconcile", now=NOW + dt.timedelta(hours=2))
    with world.db.unit() as s:
        assert render(s, note, now=NOW, viewer=SYSTEM) == Obsolete("the issue was re-opened")


def test_moving_the_team_to_another_tracker_leaves_old_issues_alone(world: World) -> None:
    """Links to issues of the old repository or project are not reconciled against the new one;
    a queued push goes to the new one."""
    first, second = seed_more(world)
    _push(world, first)
    world.run()
    _push(world, second)
    with world.db.unit(actor="setup") as s:
        service.connect_tracker(
            s,
            team=world.team_id,
            kind=world.tracker.kind,
            target="acme/next" if world.tracker.kind == "github" else "NEXT",
            server_url=world.tracker.url,
            user="bot@example.com" if world.tracker.kind == "jira" else "",
            viewer=SYSTEM,
        )
    assert _link(world, first).connection_id is None and _link(world, first).issue_url
    assert _link(world, second).connection_id == world.connection_id
    calls = len(world.tracker.calls)
    assert world.run("tracker-reconcile", now=NOW + dt.timedelta(days=1)).startswith("0 issues checked")
    assert len(world.tracker.calls) == calls


def seed_more(world: World) -> tuple[int, int]:
    from lessonloop.actions.service import add_action

    with world.db.unit(actor="setup") as s:
        failure_id = s.get(service.Action, world.actions[0]).failure_id  # type: ignore[union-attr]
        more = add_action(
            s, failure_id=failure_id, title="Step 9", owner="ben", due_date=DUE, backfill=True, viewer=SYSTEM
        )
    return world.actions[0], more.id


def test_pushes_of_one_action_at_once_make_one_link(world: World) -> None:
    """Four requests push the same action at the same moment: all answer, one link exists."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def push() -> None:
        try:
            barrier.wait(5)
            with world.db.unit(actor="ben") as s:
                service.push_action(s, world.actions[0], viewer=SYSTEM)
        except BaseException as exc:  # collected: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=push) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with world.db.unit() as s:
        assert len(list(s.scalars(select(ActionTrackerLink)))) == 1
    world.run()
    assert len(world.tracker.issues) == 1

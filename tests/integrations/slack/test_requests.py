"""Signed requests from Slack to the running app: the signature, the slash command, the
shortcut, the log modal's submission, and the answer buttons on reminders and prompts."""

from __future__ import annotations

import datetime as dt
import json
import time

from sqlalchemy import select

from lessonloop.actions.models import Action
from lessonloop.actions.service import add_action, complete_action
from lessonloop.experiments.service import add_experiment
from lessonloop.failures.models import Failure
from lessonloop.failures.service import log_failure
from lessonloop.store.engine import Database
from lessonloop.store.history import HistoryEntry
from lessonloop.worker.models import ActionCheck
from tests.integrations.slack.conftest import SYSTEM, Slack, select_value, text_value
from tests.integrations.slack.standin import SlackStandIn

World = tuple[Slack, Database, dict[str, int]]


def _failures(db: Database) -> list[Failure]:
    with db.unit() as session:
        return list(session.scalars(select(Failure).order_by(Failure.id)))


def test_a_bad_missing_or_stale_signature_gets_401(world: World, standin: SlackStandIn) -> None:
    slack, _db, _ = world
    assert slack.command("log x", secret="not-the-secret").status_code == 401
    assert slack.command("log x", sign=False).status_code == 401
    assert slack.command("log x", timestamp=int(time.time()) - 3600).status_code == 401
    assert slack.command("help").status_code == 200
    assert standin.called("views.open") == []


def test_an_unlinked_slack_user_is_told_how_to_link_and_nothing_happens(
    world: World, standin: SlackStandIn
) -> None:
    slack, db, _ = world
    answer = slack.command("log Checkout down", user="USTRANGER")
    assert answer.status_code == 200
    assert "not linked" in answer.text and "/lessonloop link" in answer.text  # Slack shows it to them alone
    assert standin.called("views.open") == []
    submitted = slack.submit("ll_log", {"title": text_value("Sneaky")}, user="USTRANGER")
    assert submitted.json()["response_action"] == "errors"
    assert _failures(db) == []


def test_slash_command_opens_the_modal_and_the_submission_logs_as_the_linked_person(
    world: World, standin: SlackStandIn
) -> None:
    slack, db, ids = world
    with db.unit() as session:
        log_failure(session, title="Checkout deploy broke payments", team=ids["payments"], viewer=SYSTEM)
        log_failure(
            session,
            title="Checkout deploy broke the private thing",
            visibility="private",
            team=ids["growth"],
            viewer=SYSTEM,
        )
    answer = slack.command("log Checkout deploy broke again")
    assert answer.status_code == 200
    (opened,) = standin.called("views.open")
    view = opened.args["view"]
    assert view["callback_id"] == "ll_log"
    assert view["blocks"][0]["element"]["initial_value"] == "Checkout deploy broke again"
    team_block = next(b for b in view["blocks"] if b["block_id"] == "team")
    assert [o["value"] for o in team_block["element"]["options"]] == [str(ids["payments"])]

    submitted = slack.submit(
        "ll_log",
        {
            "title": text_value("Checkout deploy broke again"),
            "description": text_value("The deploy script skipped the smoke test"),
            "kind": select_value("skipped-check"),
            "team": select_value(str(ids["payments"])),
            "severity": select_value("high"),
            "labels": text_value("deploy, smoke test"),
        },
        metadata=view["private_metadata"],
    )
    assert submitted.status_code == 200 and submitted.text == ""
    logged = _failures(db)[-1]
    assert (logged.title, logged.kind, logged.severity, logged.team_id) == (
        "Checkout deploy broke again",
        "skipped-check",
        "high",
        ids["payments"],
    )
    assert logged.reporter_id == ids["ben"] and sorted(logged.labels) == ["deploy", "smoke test"]
    with db.unit() as session:
        actors = set(
            session.scalars(
                select(HistoryEntry.actor).where(
                    HistoryEntry.record_id == logged.id, HistoryEntry.record_type == "failure"
                )
            )
        )
    assert actors == {"ben"}
    (dm,) = standin.called("chat.postMessage")
    assert dm.args["channel"] == "DBEN"
    text = json.dumps(dm.args["blocks"])
    assert "Have we seen this before?" in text
    assert "https://ll.example.com/failures/1|#1 Checkout deploy broke payments" in text
    assert "private thing" not in text  # ben may not see it, so the reply does not name it


def test_a_refused_field_goes_back_into_the_modal(world: World) -> None:
    slack, db, _ = world
    answer = slack.submit("ll_log", {"title": text_value("   ")})
    assert answer.json() == {"response_action": "errors", "errors": {"title": "is required"}}
    bad = slack.submit("ll_log", {"title": text_value("Fine"), "severity": select_value("apocalyptic")})
    assert bad.json()["response_action"] == "errors" and "severity" in bad.json()["errors"]
    assert _failures(db) == []


def test_the_message_shortcut_prefills_the_description(world: World, standin: SlackStandIn) -> None:
    slack, _, _ = world
    shortcut = {
        "type": "message_action",
        "callback_id": "ll_log_failure",
        "trigger_id": "t.2",
        "user": {"id": "UBEN"},
        "channel": {"id": "C0CHAN"},
        "message": {"text": "prod is down since the <!channel> deploy", "ts": "1.2"},
    }
    assert slack.payload(shortcut).status_code == 200
    (opened,) = standin.called("views.open")
    description = next(b for b in opened.args["view"]["blocks"] if b["block_id"] == "description")
    assert description["element"]["initial_value"] == "prod is down since the <!channel> deploy"
    assert slack.payload({**shortcut, "user": {"id": "UNOBODY"}}).status_code == 200
    (ephemeral,) = standin.called("chat.postEphemeral")
    assert ephemeral.args["user"] == "UNOBODY" and "not linked" in ephemeral.args["text"]
    assert len(standin.called("views.open")) == 1


def _action(db: Database, ids: dict[str, int], owner: str = "ben", team: str = "payments") -> int:
    with db.unit() as session:
        failure = log_failure(session, title="Vendor slipped", team=ids[team], viewer=SYSTEM)
        action = add_action(
            session,
            failure_id=failure.id,
            title="Ask for a dated commitment",
            owner=ids[owner],
            due_date=dt.date.today() + dt.timedelta(days=2),
            viewer=SYSTEM,
        )
        return action.id


def test_did_this_work_records_the_answer_as_the_person(world: World, standin: SlackStandIn) -> None:
    slack, db, ids = world
    action_id = _action(db, ids)
    answer = slack.press(
        {
            "action_id": "ll_worked_partly",
            "value": str(action_id),
            "block_id": f"check-{action_id}",
            "type": "button",
        }
    )
    assert answer.status_code == 200
    with db.unit() as session:
        (check,) = session.scalars(select(ActionCheck))
        assert (check.action_id, check.worked, check.person_id) == (action_id, "partly", ids["ben"])
    (update,) = standin.called("chat.update")
    assert update.args["channel"] == "DBEN" and "partly" in update.args["text"]


def test_someone_who_may_not_act_on_the_record_is_refused(world: World, standin: SlackStandIn) -> None:
    slack, db, ids = world
    hidden = _action(db, ids, owner="gil", team="growth")
    slack.press({"action_id": "ll_worked_yes", "value": str(hidden), "block_id": "x", "type": "button"})
    slack.press({"action_id": "ll_done", "value": str(hidden), "block_id": "x", "type": "button"})
    with db.unit() as session:
        assert list(session.scalars(select(ActionCheck))) == []
    refusals = [c.args["text"] for c in standin.called("chat.postMessage")]
    assert len(refusals) == 2 and all(r.startswith("You may not do that") for r in refusals)
    assert standin.called("views.open") == [] and standin.called("chat.update") == []


def test_done_asks_for_evidence_then_completes_the_action(world: World, standin: SlackStandIn) -> None:
    slack, db, ids = world
    action_id = _action(db, ids)
    slack.press(
        {
            "action_id": "ll_done",
            "value": str(action_id),
            "block_id": f"reminder-{action_id}",
            "type": "button",
        }
    )
    (opened,) = standin.called("views.open")
    assert opened.args["view"]["callback_id"] == "ll_done"
    metadata = opened.args["view"]["private_metadata"]
    empty = slack.submit("ll_done", {"evidence": text_value("")}, metadata=metadata)
    assert empty.json()["response_action"] == "errors" and "evidence" in empty.json()["errors"]
    done = slack.submit(
        "ll_done", {"evidence": text_value("Signed letter from the vendor")}, metadata=metadata
    )
    assert done.status_code == 200 and done.text == ""
    with db.unit() as session:
        action = session.get_one(Action, action_id)
        assert (action.status, action.evidence) == ("done", "Signed letter from the vendor")
        actors = set(
            session.scalars(
                select(HistoryEntry.actor).where(
                    HistoryEntry.record_type == "action",
                    HistoryEntry.record_id == action_id,
                    HistoryEntry.action == "update",
                )
            )
        )
    assert actors == {"ben"}
    (update,) = standin.called("chat.update")
    assert update.args["ts"] == "111.222" and "marked done" in update.args["text"]


def _action_history(db: Database, action_id: int) -> list[tuple[str, dict[str, object]]]:
    with db.unit() as session:
        return [
            (e.actor, e.changes)
            for e in session.scalars(
                select(HistoryEntry)
                .where(
                    HistoryEntry.record_type == "action",
                    HistoryEntry.record_id == action_id,
                    HistoryEntry.action == "update",
                )
                .order_by(HistoryEntry.id)
            )
        ]


def test_snooze_reschedules_and_not_yet_is_noted_in_the_history(world: World, standin: SlackStandIn) -> None:
    slack, db, ids = world
    action_id = _action(db, ids)
    later = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    slack.press(
        {
            "action_id": "ll_snooze",
            "selected_date": later,
            "block_id": f"reminder-{action_id}",
            "type": "datepicker",
        }
    )
    slack.press(
        {
            "action_id": "ll_not_yet",
            "value": str(action_id),
            "block_id": f"reminder-{action_id}",
            "type": "button",
        }
    )
    with db.unit() as session:
        action = session.get_one(Action, action_id)
        assert (action.status, action.due_date.isoformat()) == ("open", later)
    assert later in standin.called("chat.update")[0].args["text"]
    assert "Not yet" in standin.called("chat.postMessage")[0].args["text"]
    # Both answers are in the action's history, as the linked person: the snooze as its new due
    # date, "not yet" as what was answered (it changes nothing else).
    (snoozed, not_yet) = _action_history(db, action_id)
    assert snoozed[0] == "ben" and snoozed[1]["due_date"][1] == later
    assert not_yet == ("ben", {"reminder": [None, "not yet"]})

    # A snooze into the past plans nothing: refused with the reason, the date stays.
    slack.press(
        {
            "action_id": "ll_snooze",
            "selected_date": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
            "block_id": f"reminder-{action_id}",
            "type": "datepicker",
        }
    )
    assert "is in the past" in standin.called("chat.postMessage")[-1].args["text"]
    with db.unit() as session:
        assert session.get_one(Action, action_id).due_date.isoformat() == later
    assert len(standin.called("chat.update")) == 1

    # A done action has no reminder left to answer: refused, and nothing is noted.
    with db.unit() as session:
        complete_action(session, action_id, evidence="Dated letter", viewer=SYSTEM)
    slack.press(
        {
            "action_id": "ll_not_yet",
            "value": str(action_id),
            "block_id": f"reminder-{action_id}",
            "type": "button",
        }
    )
    assert standin.called("chat.postMessage")[-1].args["text"].startswith("You may not do that")
    assert [c for _actor, c in _action_history(db, action_id) if "reminder" in c] == [
        {"reminder": [None, "not yet"]}
    ]


def test_an_experiment_measurement_from_slack_sets_the_verdict(world: World, standin: SlackStandIn) -> None:
    slack, db, ids = world
    action_id = _action(db, ids)
    with db.unit() as session:
        experiment = add_experiment(
            session,
            action_id=action_id,
            hypothesis="Dated checks catch slips",
            metric="days late",
            comparator="<=",
            threshold=2,
            start_date=dt.date.today(),
            end_date=dt.date.today() + dt.timedelta(days=30),
            viewer=SYSTEM,
        )
    slack.press({"action_id": "ll_observe", "value": str(experiment.id), "block_id": "e", "type": "button"})
    metadata = standin.called("views.open")[0].args["view"]["private_metadata"]
    bad = slack.submit("ll_observe", {"value": text_value("soon")}, metadata=metadata)
    assert "value" in bad.json()["errors"]
    slack.submit("ll_observe", {"value": text_value("1"), "note": text_value("Q3")}, metadata=metadata)
    assert "passed" in standin.called("chat.update")[0].args["text"]

"""The outbox delivering a reminder as a Slack DM, team channel posts, and linking people —
storage on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.service import add_action
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.failures.service import log_failure
from lessonloop.integrations.slack import links, posts
from lessonloop.integrations.slack.client import web_client
from lessonloop.integrations.slack.models import SlackChannelPost, SlackIdentity
from lessonloop.integrations.slack.team_channels import set_team_channel
from lessonloop.lessons.service import create_lesson, publish_lesson
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery
from lessonloop.notifications.service import set_preferences
from lessonloop.store.base import utcnow
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_jobs, run_once
from tests.integrations.slack.conftest import SLACK, SYSTEM, seed, slack_settings
from tests.integrations.slack.standin import SlackStandIn


def test_the_worker_delivers_a_reminder_as_a_dm_with_buttons(
    db: Database, standin: SlackStandIn, env: None
) -> None:
    ids = seed(db)
    # Choosing Slack needs a linked account: ana has none.
    with pytest.raises(Invalid, match="linked Slack account"), db.unit() as session:
        set_preferences(session, ids["ana"], channels=["slack"], viewer=viewer_for(session, ids["ana"]))
    with db.unit() as session:
        set_preferences(session, ids["ben"], channels=["slack"], viewer=viewer_for(session, ids["ben"]))
        failure = log_failure(session, title="Vendor slipped", team=ids["payments"], viewer=SYSTEM)
        action = add_action(
            session,
            failure_id=failure.id,
            title="Ask <!channel> for a date",
            owner=ids["ben"],
            due_date=dt.date.today() + dt.timedelta(days=1),
            viewer=SYSTEM,
        )
    report = run_once(db, config=WorkerConfig(), only_jobs={"action-reminders"})
    assert report.sent == 1
    (opened,) = standin.called("conversations.open")
    assert opened.args["users"] == "UBEN"
    (message,) = standin.called("chat.postMessage")
    assert message.args["channel"] == "DBEN" and message.token == "xoxb-test-token"
    section = message.args["blocks"][0]["text"]["text"]
    assert f"Action #{action.id}" in section and "&lt;!channel&gt;" in section and "<!channel>" not in section
    buttons = [e["action_id"] for e in message.args["blocks"][1]["elements"]]
    assert buttons == ["ll_done", "ll_snooze", "ll_not_yet"]
    with db.unit() as session:
        (delivery,) = session.scalars(select(Delivery))
        assert (delivery.channel, delivery.target, delivery.status) == ("slack", "UBEN", "sent")
    # The next pass sends nothing again (the key names the event).
    assert run_once(db, config=WorkerConfig(), only_jobs={"action-reminders"}).sent == 0


def test_a_refused_dm_is_retried_then_listed(db: Database, standin: SlackStandIn, env: None) -> None:
    ids = seed(db)
    standin.fail_methods.add("chat.postMessage")
    with db.unit() as session:
        set_preferences(session, ids["ben"], channels=["slack"], viewer=viewer_for(session, ids["ben"]))
        failure = log_failure(session, title="Vendor slipped", team=ids["payments"], viewer=SYSTEM)
        add_action(
            session,
            failure_id=failure.id,
            title="Ask",
            owner=ids["ben"],
            due_date=dt.date.today(),
            viewer=SYSTEM,
        )
    report = run_once(db, config=WorkerConfig(max_attempts=1), only_jobs={"action-reminders"})
    assert report.sent == 0
    with db.unit() as session:
        (delivery,) = session.scalars(select(Delivery))
        assert delivery.status == "dead" and "channel_not_found" in delivery.last_error


def test_link_codes_are_single_use_expire_and_never_steal_a_slack_user(db: Database) -> None:
    ids = seed(db)  # ben is linked to UBEN
    with db.unit() as session:
        ana = viewer_for(session, ids["ana"])
        with pytest.raises(PermissionDenied):
            links.create_link_code(session, ids["ben"], viewer=ana)
        code = links.create_link_code(session, ids["ana"], viewer=ana)
    with db.unit() as session:
        ana = viewer_for(session, ids["ana"])
        with pytest.raises(PermissionDenied):  # only the Slack app redeems (the signature is the proof)
            links.redeem_link_code(session, code, slack_user_id="UANA", viewer=ana)
    with pytest.raises(Conflict), db.unit() as session:  # UBEN is ben's: the code is not used up
        links.redeem_link_code(session, code, slack_user_id="UBEN", viewer=SLACK)
    with db.unit() as session:
        identity = links.redeem_link_code(session, code.lower(), slack_user_id="UANA", viewer=SLACK)
        assert identity.person_id == ids["ana"]
    with pytest.raises(Invalid, match="unknown or has expired"), db.unit() as session:
        links.redeem_link_code(session, code, slack_user_id="UANA", viewer=SLACK)
    with db.unit() as session:
        late = links.create_link_code(
            session, ids["gil"], now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), viewer=SYSTEM
        )
    with pytest.raises(Invalid, match="unknown or has expired"), db.unit() as session:
        links.redeem_link_code(session, late, slack_user_id="UGIL", viewer=SLACK)
    with db.unit() as session:
        ben = viewer_for(session, ids["ben"])
        with pytest.raises(PermissionDenied):
            links.unlink(session, ids["ana"], viewer=ben)
        assert links.unlink(session, ids["ben"], viewer=ben) is True
        assert links.person_for_slack_user(session, "UBEN", viewer=SLACK) is None


def test_admins_map_people_by_email_through_users_lookup(db: Database, standin: SlackStandIn) -> None:
    ids = seed(db)
    client = web_client(slack_settings(db, standin))
    with db.unit() as session:
        with pytest.raises(PermissionDenied):
            links.map_by_email(session, "ana", client, viewer=viewer_for(session, ids["ben"]))
        identity = links.map_by_email(session, "ana", client, viewer=SYSTEM)
        assert (identity.person_id, identity.slack_user_id) == (ids["ana"], "UANA")
        with pytest.raises(NotFound, match="no Slack user"):
            links.map_by_email(session, "gil", client, viewer=SYSTEM)
    lookups = standin.called("users.lookupByEmail")
    assert [c.args["email"] for c in lookups] == ["ana@example.com", "gil@example.com"]
    with db.unit() as session:
        assert len(list(session.scalars(select(SlackIdentity)))) == 2


def test_lessons_and_digests_go_to_the_team_channel_once_and_never_private_things(
    db: Database, standin: SlackStandIn
) -> None:
    ids = seed(db)
    settings = slack_settings(db, standin)
    client = web_client(settings)
    now = dt.datetime.now(dt.UTC)
    with db.unit() as session:
        set_team_channel(session, ids["payments"], "C0PAY", viewer=viewer_for(session, ids["ana"]))
        with pytest.raises(PermissionDenied):
            set_team_channel(session, ids["payments"], "C0PAY", viewer=viewer_for(session, ids["ben"]))
        shared = log_failure(session, title="Shared outage", team=ids["payments"], viewer=SYSTEM)
        secret = log_failure(
            session, title="Secret review of Ben", team=ids["payments"], visibility="private", viewer=SYSTEM
        )
        lesson = create_lesson(
            session,
            title="Ask vendors for dated commitments",
            learned="Verbal dates slip",
            failures=[shared.id],
            audience=[ids["payments"]],
            viewer=SYSTEM,
        )
        publish_lesson(session, lesson.id, viewer=SYSTEM)
        hidden = create_lesson(
            session,
            title="Lesson from the secret review",
            learned="x",
            failures=[secret.id],
            audience=[ids["growth"]],
            viewer=SYSTEM,
        )
        publish_lesson(session, hidden.id, viewer=SYSTEM)
    with db.unit() as session:
        assert (
            posts.queue_posts(session, now=now, catch_up_days=14, base_url="https://ll", viewer=SYSTEM) == 2
        )
        assert posts.send_due_posts(session, client, now=now, viewer=SYSTEM) == (2, 0)
    with db.unit() as session:
        assert posts.queue_posts(session, now=now, catch_up_days=14, viewer=SYSTEM) == 0
        assert posts.send_due_posts(session, client, now=now, viewer=SYSTEM) == (0, 0)
        kinds = sorted(p.kind for p in session.scalars(select(SlackChannelPost)))
    assert kinds == ["lesson", "weekly-digest"]
    sent = standin.called("chat.postMessage")
    assert {c.args["channel"] for c in sent} == {"C0PAY"}
    everything = " ".join(c.args["text"] for c in sent)
    assert "Ask vendors for dated commitments" in everything and "Secret" not in everything


def test_the_worker_job_posts_to_team_channels_when_configured(db: Database, standin: SlackStandIn) -> None:
    ids = seed(db)
    with db.unit() as session:
        set_team_channel(session, ids["payments"], "C0PAY", viewer=SYSTEM)
    unconfigured = run_once(db, config=WorkerConfig(), only_jobs={"slack-channel-posts"})
    assert unconfigured.jobs["slack-channel-posts"] == "Slack is not configured"
    configured = Database(settings=slack_settings(db, standin), engine=db.engine, sessions=db.sessions)
    first = run_once(configured, config=WorkerConfig(), only_jobs={"slack-channel-posts"})
    assert first.jobs["slack-channel-posts"] == "1 queued, 1 posted, 0 failed"  # last week's digest
    again = run_once(configured, config=WorkerConfig(), only_jobs={"slack-channel-posts"})
    assert again.jobs["slack-channel-posts"] == "0 queued, 0 posted, 0 failed"
    (post,) = standin.called("chat.postMessage")
    assert post.args["channel"] == "C0PAY" and "Payments: weekly learning digest" in post.args["text"]


def test_review_date_prompts_ask_did_this_work_with_three_answers(
    db: Database, standin: SlackStandIn, env: None
) -> None:
    ids = seed(db)
    today = dt.date.today()
    with db.unit() as session:
        set_preferences(session, ids["ben"], channels=["slack"], viewer=viewer_for(session, ids["ben"]))
        failure = log_failure(session, title="Vendor slipped", team=ids["payments"], viewer=SYSTEM)
        action = add_action(
            session,
            failure_id=failure.id,
            title="Dated check at kickoff",
            owner=ids["ben"],
            due_date=today - dt.timedelta(days=3),
            review_date=today,
            backfill=True,
            viewer=SYSTEM,
        )
    assert run_once(db, config=WorkerConfig(), only_jobs={"review-checks"}).sent == 1
    (message,) = standin.called("chat.postMessage")
    assert message.args["text"].startswith(f"Did this work? Action #{action.id}")
    buttons = [(e["action_id"], e["value"]) for e in message.args["blocks"][-1]["elements"]]
    assert buttons == [(f"ll_worked_{a}", str(action.id)) for a in ("yes", "partly", "no")]


def test_unlinking_stops_the_next_attempt(db: Database, standin: SlackStandIn, env: None) -> None:
    ids = seed(db)
    with db.unit() as session:
        set_preferences(session, ids["ben"], channels=["slack"], viewer=viewer_for(session, ids["ben"]))
        failure = log_failure(session, title="Vendor slipped", team=ids["payments"], viewer=SYSTEM)
        add_action(
            session,
            failure_id=failure.id,
            title="Ask",
            owner=ids["ben"],
            due_date=dt.date.today(),
            viewer=SYSTEM,
        )
    run_jobs(db, now=utcnow(), config=WorkerConfig(), only={"action-reminders"})  # queued, not sent
    with db.unit() as session:
        links.unlink(session, ids["ben"], viewer=SYSTEM)
    run_once(db, config=WorkerConfig(), only_jobs=set())
    assert standin.called("chat.postMessage") == []
    with db.unit() as session:
        (delivery,) = session.scalars(select(Delivery))
        assert delivery.status == "dead" and "no longer receives slack" in delivery.last_error

"""E-mail over SMTP and Slack-compatible webhooks, against real receivers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
from sqlalchemy import select

from lessonloop.notifications import service as outbox
from lessonloop.notifications.channels import SendError, message_id, send_email
from lessonloop.notifications.config import SmtpConfig, WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM
from tests.notifications.receivers import LOCAL, smtp_server, webhook_server

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def test_email_and_webhook_reach_their_receivers(sqlite_db: Database) -> None:
    with smtp_server() as (port, smtp), webhook_server() as hook:
        with sqlite_db.unit() as s:
            ana = add_person(s, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
            outbox.set_preferences(
                s,
                "ana",
                channels=["email", "webhook"],
                webhook_url=hook.url,
                allow_hosts=LOCAL,
                viewer=SYSTEM,
            )
            outbox.enqueue(
                s,
                person_id=ana.id,
                kind="reminder",
                subject="Action #1 is due in 3 days",
                body_text="Due 2026-05-07.",
                body_html="<p>Due 2026-05-07.</p>",
                dedupe_key="reminder:action:1:due-3d:2026-05-07",
                now=T0,
                viewer=SYSTEM,
            )
        config = WorkerConfig(
            smtp=SmtpConfig(host="127.0.0.1", port=port, sender="loop@example.com"), webhook_allow_hosts=LOCAL
        )
        report = deliver(sqlite_db, now=T0, config=config, worker_id="w")
        assert report.sent == 2, report

        (msg,) = smtp.messages
        assert smtp.recipients == [["ana@example.com"]]
        assert msg["Subject"] == "Action #1 is due in 3 days"
        assert msg["From"] == "loop@example.com"
        assert msg["Message-ID"] == message_id("reminder:action:1:due-3d:2026-05-07#email")
        assert msg.is_multipart()  # text and html alternatives

        ((key, payload),) = hook.requests
        assert key == "reminder:action:1:due-3d:2026-05-07#webhook"
        assert payload == {"text": "*Action #1 is due in 3 days*\nDue 2026-05-07."}
        with sqlite_db.unit() as s:
            assert sorted(s.scalars(select(Delivery.status))) == ["sent", "sent"]


def test_a_webhook_error_is_retried_then_sent(sqlite_db: Database) -> None:
    with webhook_server() as hook:
        hook.fail_first = 1
        with sqlite_db.unit() as s:
            ben = add_person(s, name="Ben", handle="ben", viewer=SYSTEM)
            outbox.set_preferences(
                s, "ben", channels=["webhook"], webhook_url=hook.url, allow_hosts=LOCAL, viewer=SYSTEM
            )
            outbox.enqueue(
                s,
                person_id=ben.id,
                kind="t",
                subject="s",
                body_text="b",
                dedupe_key="k",
                now=T0,
                viewer=SYSTEM,
            )
        config = WorkerConfig(retry_base_seconds=30, webhook_allow_hosts=LOCAL)
        first = deliver(sqlite_db, now=T0, config=config, worker_id="w")
        assert (first.sent, first.retried) == (0, 1)
        with sqlite_db.unit() as s:
            assert "HTTP 500" in s.scalars(select(Delivery.last_error)).one()
        second = deliver(sqlite_db, now=T0 + dt.timedelta(seconds=30), config=config, worker_id="w")
        assert second.sent == 1
        assert hook.acknowledged == ["k#webhook"]


def test_unconfigured_smtp_is_a_failed_attempt_not_a_silent_drop(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        ana = add_person(s, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
        outbox.set_preferences(s, "ana", channels=["email"], viewer=SYSTEM)
        outbox.enqueue(
            s, person_id=ana.id, kind="t", subject="s", body_text="b", dedupe_key="k", now=T0, viewer=SYSTEM
        )
    report = deliver(sqlite_db, now=T0, config=WorkerConfig(max_attempts=1), worker_id="w")
    assert report.dead == 1
    with sqlite_db.unit() as s:
        (dead,) = outbox.dead_letters(s, viewer=SYSTEM)
        assert "LESSONLOOP_SMTP_HOST" in dead.last_error


def test_an_smtp_server_that_trickles_is_cut_at_one_overall_deadline() -> None:
    """Each byte of the greeting comes well within the per-read timeout, the whole would take
    about 6 s: the send fails at the one 1 s deadline (smtplib alone waited for all of it)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        with conn:
            for ch in b"220-lessonloop test server\r\n" + b"220 ready\r\n":
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(bytes([ch]))
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    note = Notification(subject="s", body_text="b", kind="t", dedupe_key="k")
    delivery = Delivery(channel="email", target="ana@example.com", notification=note)
    smtp = SmtpConfig(host="127.0.0.1", port=listener.getsockname()[1], timeout=1.0)
    try:
        with pytest.raises(SendError, match="no answer within 1s"):
            send_email(delivery, WorkerConfig(smtp=smtp))
    finally:
        stop.set()
        listener.close()
        thread.join(5)

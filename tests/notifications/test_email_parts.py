"""Every notification e-mail has a text part and an HTML part, rendered from the same text by the
pages' Markdown function (lessonloop.textrender)."""

from __future__ import annotations

import datetime as dt
from email.message import Message

from lessonloop.discussion.service import add_comment
from lessonloop.failures.service import log_failure
from lessonloop.notifications import service as outbox
from lessonloop.notifications.channels import build_email
from lessonloop.notifications.config import SmtpConfig, WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from lessonloop.textrender import render_markdown
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM
from tests.notifications.receivers import smtp_server


def _parts(msg: Message) -> dict[str, str]:
    found = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode(part.get_content_charset() or "utf-8")
    return found


def test_a_mention_e_mail_has_a_text_part_and_the_same_text_as_html(sqlite_db: Database) -> None:
    with smtp_server() as (port, smtp):
        with sqlite_db.unit() as s:
            team = add_team(s, name="Payments", viewer=SYSTEM)
            for handle in ("ana", "ben"):
                person = add_person(
                    s, name=handle.title(), handle=handle, email=f"{handle}@example.com", viewer=SYSTEM
                )
                add_member(s, team=team, person=person, viewer=SYSTEM)
            outbox.set_preferences(s, "ben", channels=["email"], viewer=SYSTEM)
            failure = log_failure(s, title="Refunds stuck", team="Payments", visibility="team", viewer=SYSTEM)
            text = "@ben **please** look at <script>alert(1)</script> the [log](https://example.com/log)"
            add_comment(s, target="failure", target_id=failure.id, text=text, author="ana", viewer=SYSTEM)
        config = WorkerConfig(smtp=SmtpConfig(host="127.0.0.1", port=port, sender="loop@example.com"))
        now = dt.datetime.now(dt.UTC)  # after the comment: its e-mail is due
        assert deliver(sqlite_db, now=now, config=config, worker_id="w").sent == 1
    (msg,) = smtp.messages
    parts = _parts(msg)
    assert set(parts) == {"text/plain", "text/html"}
    assert "**please**" in parts["text/plain"]  # the text part keeps the source
    html = parts["text/html"]
    assert "<strong>please</strong>" in html and "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://example.com/log" rel="noopener nofollow">log</a>' in html
    with sqlite_db.unit() as s:
        body = s.query(Notification).one().body_text
    # Exactly what a page draws for the same text (SMTP sends lines ending CRLF).
    assert render_markdown(body) in html.replace("\r\n", "\n")


def test_a_digest_keeps_its_own_html_part() -> None:
    notice = Notification(
        kind="digest", subject="Weekly digest", body_text="# Weekly", body_html="<html><p>own</p></html>"
    )
    parts = _parts(build_email(notice, "a@example.com", "loop@example.com", "k"))
    assert parts["text/html"].strip() == "<html><p>own</p></html>"


def test_the_subject_is_escaped_in_the_html_title() -> None:
    notice = Notification(kind="reminder", subject="Due <soon> & late", body_text="Due 2026-05-07.")
    html = _parts(build_email(notice, "a@example.com", "loop@example.com", "k"))["text/html"]
    assert "<title>Due &lt;soon&gt; &amp; late</title>" in html and "<p>Due 2026-05-07.</p>" in html

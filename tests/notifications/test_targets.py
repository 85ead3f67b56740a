"""Issue #11, leaks 8 and 9: webhooks may not reach loopback, private or link-local addresses
(blind SSRF) unless an operator lists them; chat text is escaped; a line break in a title does
not break its e-mail. Receivers are real, on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from lessonloop import outbound
from lessonloop.errors import Invalid
from lessonloop.notifications import service as outbox
from lessonloop.notifications.channels import SendError, send_webhook, webhook_text
from lessonloop.notifications.config import SmtpConfig, WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM
from tests.notifications.receivers import LOCAL, free_port, smtp_server, webhook_server

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
NOWHERE: tuple[str, ...] = ()
INSIDE = [
    "http://127.0.0.1:{port}/hook",
    "http://10.0.0.1:{port}/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/hook",
    "http://localhost:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",  # loopback spelled as IPv6
    "http://127.1:{port}/hook",  # loopback in the short form resolvers accept
    "http://[fd00::1]/hook",  # unique local (fc00::/7)
    "http://100.100.100.200/hook",  # shared address space: a cloud's metadata service
]


def _person_with_webhook(db: Database, url: str, allow: tuple[str, ...] = LOCAL) -> int:
    with db.unit() as s:
        ana = add_person(s, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
        outbox.set_preferences(
            s, "ana", channels=["webhook"], webhook_url=url, allow_hosts=allow, viewer=SYSTEM
        )
        return ana.id


def _notify(db: Database, person_id: int, subject: str = "s", body: str = "b", key: str = "k") -> None:
    with db.unit() as s:
        outbox.enqueue(
            s,
            person_id=person_id,
            kind="t",
            subject=subject,
            body_text=body,
            dedupe_key=key,
            now=T0,
            viewer=SYSTEM,
        )


# --- send time: the check that holds ------------------------------------------------------------


def test_a_loopback_webhook_is_refused_at_send_time_without_the_allowlist(db: Database) -> None:
    with webhook_server() as hook:
        pid = _person_with_webhook(db, hook.url)  # saved while 127.0.0.1 was allowed
        _notify(db, pid)
        report = deliver(db, now=T0, config=WorkerConfig(max_attempts=1), worker_id="w")
        assert report.dead == 1 and report.sent == 0
        assert hook.requests == []  # the receiver never heard of it
        with db.unit() as s:
            (dead,) = outbox.dead_letters(s, viewer=SYSTEM)
            assert "target not allowed" in dead.last_error and "loopback" in dead.last_error


def test_a_refused_target_looks_like_any_failed_one_to_its_owner(db: Database) -> None:
    """The person sees pending → dead exactly as for an address that never answers: whether an
    inside host exists or answered is not theirs to learn. The reason is in the dead letter."""
    refused_url = f"http://127.0.0.1:{free_port()}/hook"
    pid = _person_with_webhook(db, refused_url)
    _notify(db, pid)
    config = WorkerConfig(max_attempts=2, retry_base_seconds=60)
    first = deliver(db, now=T0, config=config, worker_id="w")
    assert (first.retried, first.dead) == (1, 0)  # an ordinary failed attempt
    with db.unit() as s:
        assert s.scalars(select(Delivery.status)).one() == "pending"
    second = deliver(db, now=T0 + dt.timedelta(minutes=1), config=config, worker_id="w")
    assert second.dead == 1
    with db.unit() as s:
        note = s.scalars(select(Notification)).one()
        assert [(d.channel, d.status) for d in note.deliveries] == [("webhook", "dead")]
        assert "target not allowed" in note.deliveries[0].last_error


@pytest.mark.parametrize("template", INSIDE)
def test_inside_targets_are_refused_before_any_connection(template: str) -> None:
    url = template.format(port=free_port())
    with pytest.raises(outbound.TargetRefused, match="target not allowed"):
        outbound.vetted_addresses(url, outbound.AllowList.parse(NOWHERE), timeout=5)


def test_send_webhook_refuses_each_inside_target() -> None:
    for template in INSIDE:
        delivery = _delivery(template.format(port=free_port()))
        with pytest.raises(SendError, match="target not allowed"):
            send_webhook(delivery, WorkerConfig(webhook_timeout=5))


def test_the_allowlist_takes_names_addresses_and_networks() -> None:
    allow = outbound.AllowList.parse([" 127.0.0.1", "", "Hooks.Intranet.", "10.1.0.0/16", "[::1]"])
    assert outbound.vetted_addresses("http://127.0.0.1:8/x", allow, timeout=5) == [
        ipaddress.ip_address("127.0.0.1")
    ]
    assert outbound.vetted_addresses("http://[::1]:8/x", allow, timeout=5)
    assert outbound.vetted_addresses("http://10.1.200.3/x", allow, timeout=5)
    with pytest.raises(outbound.TargetRefused):
        outbound.vetted_addresses("http://10.2.0.1/x", allow, timeout=5)
    assert allow.allows_name("hooks.intranet") and not allow.allows_name("intranet")
    # A public address needs no allowlist (a literal: no DNS in the tests).
    assert outbound.vetted_addresses("https://93.184.215.14/x", outbound.AllowList(), timeout=5)


@contextmanager
def _dns(answers: dict[str, list[list[str]]], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A resolver whose answers for some names change from one lookup to the next (DNS
    rebinding); other names resolve as usual. Yields the names looked up."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        numeric_only = kwargs.get("flags", 0) & socket.AI_NUMERICHOST  # no DNS: the real one
        if isinstance(host, str) and host in answers and not numeric_only:
            asked.append(host)
            queue = answers[host]
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0)) for a in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield asked


def test_a_name_resolving_to_loopback_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_server() as hook, _dns({"hooks.example.com": [["127.0.0.1"]]}, monkeypatch):
        url = hook.url.replace("127.0.0.1", "hooks.example.com")
        with pytest.raises(SendError, match=r"target not allowed: 127\.0\.0\.1 is a loopback"):
            send_webhook(_delivery(url), WorkerConfig(webhook_timeout=5))
    assert hook.requests == []


def test_one_inside_address_among_public_ones_refuses_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    mixed = {"mixed.example.com": [["93.184.215.14", "10.0.0.7"]]}
    with _dns(mixed, monkeypatch), pytest.raises(outbound.TargetRefused, match=r"10\.0\.0\.7 is a private"):
        outbound.vetted_addresses("https://mixed.example.com/x", outbound.AllowList(), timeout=5)


def test_the_request_goes_to_the_vetted_address_not_a_second_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name answers 127.0.0.1 (allowed here) when checked and 10.255.255.1
    afterwards. The send still reaches the receiver, with the name in ``Host``: it connected to
    the checked address and never resolved the name again."""
    rebinding = {"hooks.test": [["127.0.0.1"], ["10.255.255.1"]]}
    with webhook_server() as hook, _dns(rebinding, monkeypatch) as asked:
        url = hook.url.replace("127.0.0.1", "hooks.test")
        send_webhook(_delivery(url), WorkerConfig(webhook_timeout=5, webhook_allow_hosts=LOCAL))
    assert asked == ["hooks.test"]
    assert hook.hosts == [f"hooks.test:{httpx.URL(url).port}"]
    assert len(hook.acknowledged) == 1


def test_a_listed_name_may_resolve_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    with webhook_server() as hook, _dns({"hooks.intranet": [["127.0.0.1"]]}, monkeypatch):
        url = hook.url.replace("127.0.0.1", "hooks.intranet")
        send_webhook(_delivery(url), WorkerConfig(webhook_timeout=5, webhook_allow_hosts=("hooks.intranet",)))
    assert len(hook.acknowledged) == 1


def test_the_allowlist_comes_from_the_environment() -> None:
    env = {"LESSONLOOP_WEBHOOK_ALLOW_HOSTS": "127.0.0.1, hooks.intranet ,10.0.0.0/8"}
    assert WorkerConfig.from_env(env).webhook_allow_hosts == ("127.0.0.1", "hooks.intranet", "10.0.0.0/8")
    assert WorkerConfig.from_env({}).webhook_allow_hosts == ()


@contextmanager
def _dripping_server() -> Iterator[str]:
    """Answers a status line, then one header byte every 0.2 s for ever: every socket read
    finishes quickly, so only a deadline for the whole request ends the send."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while not stop.wait(0.2):
                try:
                    conn.sendall(b"a")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        stop.set()
        listener.close()


def test_a_dripping_answer_is_cut_off_by_the_deadline() -> None:
    with _dripping_server() as url, pytest.raises(SendError, match="no answer within 1s"):
        send_webhook(_delivery(url), WorkerConfig(webhook_timeout=1, webhook_allow_hosts=LOCAL))


def test_a_redirect_is_not_followed() -> None:
    """A public receiver answering 307 to an inside address must not get the worker there."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://10.0.0.1/\r\nContent-Length: 0\r\n\r\n"
            )

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    try:
        with pytest.raises(SendError, match="HTTP 307"):
            send_webhook(_delivery(url), WorkerConfig(webhook_timeout=5, webhook_allow_hosts=LOCAL))
    finally:
        listener.close()


# --- save time: a clear refusal ------------------------------------------------------------------


@pytest.mark.parametrize("template", INSIDE)
def test_saving_an_inside_webhook_url_is_refused(db: Database, template: str) -> None:
    with db.unit() as s:
        add_person(s, name="Ben", handle="ben", viewer=SYSTEM)
    with db.unit() as s, pytest.raises(Invalid, match="public address") as refused:
        outbox.set_preferences(
            s,
            "ben",
            channels=["webhook"],
            webhook_url=template.format(port=8080),
            allow_hosts=(),
            viewer=SYSTEM,
        )
    assert refused.value.field == "webhook_url"


def test_saving_follows_the_allowlist_setting(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.unit() as s:
        add_person(s, name="Ben", handle="ben", viewer=SYSTEM)
    monkeypatch.delenv("LESSONLOOP_WEBHOOK_ALLOW_HOSTS", raising=False)
    with db.unit() as s, pytest.raises(Invalid, match="LESSONLOOP_WEBHOOK_ALLOW_HOSTS"):
        outbox.set_preferences(
            s, "ben", channels=["webhook"], webhook_url="http://127.0.0.1:9/h", viewer=SYSTEM
        )
    monkeypatch.setenv("LESSONLOOP_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    with db.unit() as s:
        pref = outbox.set_preferences(
            s, "ben", channels=["webhook"], webhook_url="http://127.0.0.1:9/h", viewer=SYSTEM
        )
        assert pref.webhook_url == "http://127.0.0.1:9/h"
    # A name is not resolved when saved (the send checks it): saving needs no DNS.
    monkeypatch.delenv("LESSONLOOP_WEBHOOK_ALLOW_HOSTS")
    with db.unit() as s:
        url = "https://hooks.example.com/services/T/B/X"
        assert outbox.set_preferences(s, "ben", webhook_url=url, viewer=SYSTEM).webhook_url == url


# --- leak 9: chat escaping and e-mail headers -----------------------------------------------------


def test_chat_text_escapes_markup(db: Database) -> None:
    subject = "Action #3 <!channel> is due & overdue"
    body = "Fix <http://evil.example|the login page> by <@U123>"
    with webhook_server() as hook:
        pid = _person_with_webhook(db, hook.url)
        _notify(db, pid, subject=subject, body=body)
        assert deliver(db, now=T0, config=WorkerConfig(webhook_allow_hosts=LOCAL), worker_id="w").sent == 1
    ((_, payload),) = hook.requests
    assert payload["text"] == (
        "*Action #3 &lt;!channel&gt; is due &amp; overdue*\n"
        "Fix &lt;http://evil.example|the login page&gt; by &lt;@U123&gt;"
    )
    assert "<" not in payload["text"] and ">" not in payload["text"]


def test_webhook_text_escapes_ampersand_first() -> None:
    note = Notification(subject="a &lt; b", body_text="x")
    assert webhook_text(note) == "*a &amp;lt; b*\nx"


def test_a_title_with_a_line_break_still_gets_its_email(db: Database) -> None:
    with smtp_server() as (port, smtp):
        with db.unit() as s:
            ana = add_person(s, name="Ana", handle="ana", email="ana@example.com", viewer=SYSTEM)
            outbox.set_preferences(s, "ana", channels=["email"], viewer=SYSTEM)
            pid = ana.id
        _notify(db, pid, subject="Action #7 is due: Rotate keys\r\nBcc: everyone@example.com")
        config = WorkerConfig(smtp=SmtpConfig(host="127.0.0.1", port=port), max_attempts=1)
        report = deliver(db, now=T0, config=config, worker_id="w")
        assert (report.sent, report.dead) == (1, 0), report
    (msg,) = smtp.messages
    assert msg["Subject"] == "Action #7 is due: Rotate keys Bcc: everyone@example.com"
    assert msg["Bcc"] is None and smtp.recipients == [["ana@example.com"]]


def _delivery(url: str) -> Delivery:
    note = Notification(subject="s", body_text="b", kind="t", dedupe_key="k")
    return Delivery(channel="webhook", target=url, notification=note)

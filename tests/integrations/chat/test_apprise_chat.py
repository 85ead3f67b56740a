"""Chat notifications through apprise, against local stand-ins of each format on loopback: the
outbox, retries and idempotency key stay; user text never becomes markup; the SSRF rules hold
for every connection apprise makes."""

from __future__ import annotations

import datetime as dt
import random
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from sqlalchemy import select

from lessonloop.errors import Invalid
from lessonloop.integrations.chat.guard import guarded
from lessonloop.integrations.chat.kinds import ChatKind, apprise_url, split_target, target_of
from lessonloop.notifications import service as outbox
from lessonloop.notifications.channels import SendError, send_webhook
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery, Notification
from lessonloop.outbound import AllowList
from lessonloop.people.service import add_person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import deliver
from tests.factories import SYSTEM
from tests.integrations.chat.receivers import Certs, make_certs, stand_in

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
LOCAL = ("127.0.0.1",)
HOSTILE = "<!channel> <@U123> <http://x|y> & co"
ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &lt;http://x|y&gt; &amp; co"


def _person(db: Database, url: str, kind: str) -> int:
    with db.unit() as s:
        ana = add_person(s, name="Ana", handle="ana", viewer=SYSTEM)
        outbox.set_preferences(
            s,
            "ana",
            channels=["webhook"],
            webhook_url=url,
            webhook_kind=kind,
            allow_hosts=LOCAL,
            viewer=SYSTEM,
        )
        outbox.enqueue(
            s,
            person_id=ana.id,
            kind="reminder",
            subject=f"Action #3 {HOSTILE}",
            body_text=f"Due soon {HOSTILE}",
            dedupe_key="reminder:action:3",
            now=T0,
            viewer=SYSTEM,
        )
        return ana.id


def _delivery(target: str, subject: str = "s", body: str = "b") -> Delivery:
    note = Notification(subject=subject, body_text=body, kind="t", dedupe_key="k")
    return Delivery(channel="webhook", target=target, notification=note)


def _text_of(value: Any) -> str:
    """Every string inside a JSON value, joined (where a format puts the text varies)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return " ".join(_text_of(v) for v in value.values())
    if isinstance(value, list):
        return " ".join(_text_of(v) for v in value)
    return ""


def test_slack_compatible_keeps_text_and_idempotency_key(sqlite_db: Database) -> None:
    with stand_in() as hook:
        _person(sqlite_db, f"{hook.url}/services/T/B/X?team=a", "slack")
        report = deliver(sqlite_db, now=T0, config=WorkerConfig(webhook_allow_hosts=LOCAL), worker_id="w")
        assert report.sent == 1, report
    (seen,) = hook.seen
    assert seen.path == "/services/T/B/X?team=a"
    assert seen.body == {"text": f"*Action #3 {ESCAPED}*\nDue soon {ESCAPED}"}
    assert seen.headers["Idempotency-Key"] == "reminder:action:3#webhook"


def test_generic_json_through_the_outbox(sqlite_db: Database) -> None:
    with stand_in() as hook:
        _person(sqlite_db, f"{hook.url}/events", "json")
        assert (
            deliver(sqlite_db, now=T0, config=WorkerConfig(webhook_allow_hosts=LOCAL), worker_id="w").sent
            == 1
        )
    (seen,) = hook.seen
    assert seen.body["title"] == f"Action #3 {ESCAPED}"
    assert seen.body["message"] == f"Due soon {ESCAPED}"
    assert seen.headers["Idempotency-Key"] == "reminder:action:3#webhook"
    with sqlite_db.unit() as s:
        assert s.scalars(select(Delivery.target)).one() == f"json+{hook.url}/events"


def test_mattermost_format_and_no_mentions(sqlite_db: Database) -> None:
    with stand_in() as hook:
        _person(sqlite_db, f"{hook.url}/team/hooks/abc123xyz", "mattermost")
        assert (
            deliver(sqlite_db, now=T0, config=WorkerConfig(webhook_allow_hosts=LOCAL), worker_id="w").sent
            == 1
        )
    (seen,) = hook.seen
    assert seen.path == "/team/hooks/abc123xyz"
    text = seen.body["text"]
    assert "&lt;!channel&gt;" in text and "&amp; co" in text
    assert "<" not in text and ">" not in text
    assert "@U123" not in text and "@\u2060U123" in text  # "@" cannot start a mention


def test_a_failed_send_is_retried_with_the_reason(sqlite_db: Database) -> None:
    with stand_in() as hook:
        hook.status = 500
        _person(sqlite_db, f"{hook.url}/hooks/abc", "mattermost")
        config = WorkerConfig(webhook_allow_hosts=LOCAL, retry_base_seconds=30)
        first = deliver(sqlite_db, now=T0, config=config, worker_id="w")
        assert (first.sent, first.retried) == (0, 1)
        with sqlite_db.unit() as s:
            assert "answered HTTP 500" in s.scalars(select(Delivery.last_error)).one()
        hook.status = 200
        assert deliver(sqlite_db, now=T0 + dt.timedelta(seconds=30), config=config, worker_id="w").sent == 1
    assert len(hook.seen) == 2


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("tls"), names=("discord.com",), addresses=("127.0.0.1",))


def test_teams_workflows_over_tls(certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.ca))
    with stand_in(certs=certs) as hook:
        url = f"{hook.url}/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sp=x&sv=1.0&sig=S1G"
        send_webhook(
            _delivery(target_of("teams", url), subject=HOSTILE, body=HOSTILE),
            WorkerConfig(webhook_allow_hosts=LOCAL),
        )
    (seen,) = hook.seen
    assert seen.path.startswith("/workflows/abc123/triggers/manual/paths/invoke?")
    assert "sig=S1G" in seen.path
    assert seen.body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    text = _text_of(seen.body)
    assert ESCAPED.replace("@", "@\u2060") in text and "<!channel>" not in text


@contextmanager
def _dns(name: str, address: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``name`` resolves to ``address`` (other names as usual)."""
    real = socket.getaddrinfo

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name and not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    yield


def _loopback_443() -> str:
    """A loopback address of its own on port 443 (apprise's Discord URL has no port), or skip."""
    address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
    probe = socket.socket()
    try:
        probe.bind((address, 443))
    except OSError as exc:
        pytest.skip(f"cannot listen on {address}:443 for the Discord stand-in: {exc}")
    finally:
        probe.close()
    return address


def test_discord_over_tls(certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Apprise always posts to https://discord.com/api/webhooks/…: the name is pointed at a
    stand-in on loopback (allowed by name, as an operator would), with a certificate for it."""
    address = _loopback_443()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.ca))
    url = "https://discord.com/api/webhooks/4174/tok-EN_1"
    with stand_in(address, 443, certs=certs) as hook, _dns("discord.com", address, monkeypatch):
        config = WorkerConfig(webhook_allow_hosts=("discord.com",))
        send_webhook(_delivery(target_of("discord", url), subject="Due", body=HOSTILE), config)
    (seen,) = hook.seen
    assert seen.path.startswith("/api/webhooks/4174/tok-EN_1")
    text = _text_of(seen.body)
    assert "&lt;@⁠U123&gt;" in text and "<@U123>" not in text


def test_discord_refused_without_the_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same Discord URL with discord.com resolving inside and nobody allowing it: refused
    before apprise opens anything."""
    with _dns("discord.com", "10.1.2.3", monkeypatch), pytest.raises(SendError, match="target not allowed"):
        send_webhook(_delivery(target_of("discord", "https://discord.com/api/webhooks/1/t")), WorkerConfig())


@pytest.mark.parametrize("kind", [k.value for k in ChatKind if k is not ChatKind.discord])
def test_every_kind_refuses_an_inside_target(kind: str) -> None:
    with stand_in() as hook:
        urls = {
            "slack": f"{hook.url}/x",
            "json": f"{hook.url}/x",
            "mattermost": f"{hook.url}/hooks/abc",
            "teams": f"{hook.url.replace('http:', 'https:')}/workflows/a/triggers/manual/paths/invoke?sig=s",
        }
        with pytest.raises(SendError, match=r"target not allowed: 127\.0\.0\.1 is a loopback"):
            send_webhook(_delivery(target_of(kind, urls[kind])), WorkerConfig(webhook_timeout=5))
    assert hook.seen == []


def test_a_redirect_to_the_inside_is_not_followed() -> None:
    """Redirects are off in the apprise URL; and were one followed, the guard would vet it."""
    with stand_in() as hook:
        hook.status = 307
        with pytest.raises(SendError, match="answered HTTP 307"):
            send_webhook(
                _delivery(target_of("json", f"{hook.url}/x")), WorkerConfig(webhook_allow_hosts=LOCAL)
            )
    assert len(hook.seen) == 1


def test_the_guard_vets_every_connection_made_inside_it() -> None:
    """Whatever apprise (``requests``) connects to inside the guard is vetted at connect time,
    a redirect's new host or a plugin's own host alike: an inside address is refused."""
    with stand_in() as hook, pytest.raises(OSError, match="target not allowed"), guarded(AllowList(), 5):
        requests.post(f"{hook.url}/x", data=b"{}", timeout=5)
    assert hook.seen == []
    with stand_in() as hook, guarded(AllowList.parse(LOCAL), 5):  # allowed: it goes through
        assert requests.post(f"{hook.url}/x", data=b"{}", timeout=5).status_code == 200
    assert len(hook.seen) == 1


def test_kinds_build_apprise_urls() -> None:
    assert apprise_url(
        ChatKind.mattermost, "https://mm.example.com/hooks/abc", key="k", timeout=5
    ).startswith("mmosts://mm.example.com/abc?")
    assert apprise_url(
        ChatKind.discord, "https://discord.com/api/webhooks/1/t-k", key="k", timeout=5
    ).startswith("discord://1/t-k/?")
    teams = apprise_url(
        ChatKind.teams,
        "https://x.logic.azure.com:443/workflows/w1/triggers/manual/paths/invoke?api-version=1&sig=S",
        key="k",
        timeout=5,
    )
    assert teams.startswith("workflows://x.logic.azure.com:443/w1/?") and "sig=S" in teams
    assert "redirect=no" in apprise_url(ChatKind.json, "http://h.example.com/p", key="k", timeout=5)
    for kind, url in [
        (ChatKind.mattermost, "https://mm.example.com/nohooks"),
        (ChatKind.discord, "https://evil.example.com/api/webhooks/1/t"),
        (ChatKind.teams, "https://x.logic.azure.com/workflows/w1/triggers/manual/paths/invoke"),
    ]:
        with pytest.raises(Invalid):
            apprise_url(kind, url, key="k", timeout=5)
    assert split_target("https://h/x") == (ChatKind.slack, "https://h/x")
    assert split_target("json+https://h/x") == (ChatKind.json, "https://h/x")
    assert split_target(target_of("slack", "https://h/x")) == (ChatKind.slack, "https://h/x")


def test_a_kind_and_url_that_do_not_match_are_refused_when_saved(sqlite_db: Database) -> None:
    with sqlite_db.unit() as s:
        add_person(s, name="Ben", handle="ben", viewer=SYSTEM)
    with sqlite_db.unit() as s, pytest.raises(Invalid, match="Discord") as refused:
        outbox.set_preferences(
            s, "ben", webhook_url="https://hooks.example.com/x", webhook_kind="discord", viewer=SYSTEM
        )
    assert refused.value.field == "webhook_url"
    with sqlite_db.unit() as s, pytest.raises(Invalid, match="one of"):
        outbox.set_preferences(s, "ben", webhook_kind="skype", viewer=SYSTEM)
    with sqlite_db.unit() as s:
        pref = outbox.set_preferences(
            s,
            "ben",
            webhook_url="https://discord.com/api/webhooks/1/t",
            webhook_kind="Discord",
            viewer=SYSTEM,
        )
        assert pref.webhook_kind == "discord"
        assert outbox.preferences_of(s, "ben", viewer=SYSTEM).webhook_kind == "discord"

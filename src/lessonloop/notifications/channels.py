"""Sending one delivery: e-mail over SMTP, chat webhooks through apprise (Slack-compatible,
Microsoft Teams, Discord, Mattermost, generic JSON) and signed event webhooks.

A channel raises :class:`SendError` (or any ``OSError``) when the attempt failed; the worker
then records the failure and retries with backoff. Each attempt carries the same idempotency
key — the e-mail ``Message-ID`` and the webhook ``Idempotency-Key`` header — so a receiver can
drop the rare repeat after a worker died between sending and recording the send.

A webhook goes only to a public address, or to a host the operator listed
(``LESSONLOOP_WEBHOOK_ALLOW_HOSTS``): see :mod:`lessonloop.outbound`. A refused target is an
ordinary failed attempt ("target not allowed: …" in the operator's dead letters), so the status a
person sees is the same as for an address that never answers: it tells them nothing about the
network behind the worker.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import smtplib
import socket
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate

from lessonloop import outbound
from lessonloop.integrations.chat.kinds import ChatKind
from lessonloop.integrations.chat.send import ChatError, message_text, send_chat
from lessonloop.integrations.slack.delivery import send_slack_dm
from lessonloop.integrations.webhooks import signing
from lessonloop.integrations.webhooks.events import CHANNEL as EVENT_CHANNEL
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Channel, Delivery, Notification
from lessonloop.textrender import email_html


class SendError(Exception):
    """A delivery attempt failed (the message says why)."""


Sender = Callable[[Delivery, WorkerConfig], None]


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@lessonloop>"


def one_line(value: str) -> str:
    """A header value on one line: a subject built from an action title typed with a line break
    would otherwise make every attempt fail (``email`` refuses CR/LF in headers, rightly: they
    would let the text add headers of its own)."""
    return " ".join(value.split())


def build_email(notification: Notification, to: str, sender: str, key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = one_line(sender)
    msg["To"] = one_line(to)
    msg["Subject"] = one_line(notification.subject)
    msg["Message-ID"] = message_id(key)
    msg["Date"] = formatdate(localtime=False)
    msg["X-Lessonloop-Kind"] = one_line(notification.kind)
    msg["X-Lessonloop-Key"] = one_line(key)
    msg.set_content(notification.body_text)
    # Every e-mail has an HTML part: the digest's own, else the text part rendered as pages do.
    html = notification.body_html or email_html(notification.subject, notification.body_text)
    msg.add_alternative(html, subtype="html")
    return msg


def send_email(delivery: Delivery, config: WorkerConfig) -> None:
    """Hand the message to the SMTP server, the whole conversation within ``smtp.timeout``.

    ``smtplib``'s timeout bounds each socket operation, so a server that answers a byte at a
    time could hold a sender for as long as it likes; a watchdog closes the socket when the one
    overall deadline passes, which ends whatever read or write is blocked.
    """
    smtp = config.smtp
    if not smtp.host:
        raise SendError("e-mail is not configured (LESSONLOOP_SMTP_HOST is unset)")
    msg = build_email(delivery.notification, delivery.target, smtp.sender, delivery.idempotency_key)
    expired = threading.Event()
    client = smtplib.SMTP(timeout=smtp.timeout)  # not connected yet: the deadline covers connecting
    watchdog = threading.Timer(smtp.timeout, _cut, (client, expired))
    watchdog.daemon = True
    watchdog.start()
    try:
        client.connect(smtp.host, smtp.port)
        if smtp.starttls:
            client.starttls()
        if smtp.user and smtp.password:
            client.login(smtp.user, smtp.password)
        client.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise SendError(f"smtp: no answer within {smtp.timeout:g}s") from None
        if isinstance(exc, smtplib.SMTPException):
            raise SendError(f"smtp: {exc}") from exc
        raise
    else:
        # The server has accepted the message; a failed goodbye must not make it an error
        # (that would send it again).
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
    finally:
        watchdog.cancel()
        client.close()


def _cut(client: smtplib.SMTP, expired: threading.Event) -> None:
    """The deadline passed: shut the socket so the blocked call returns with an error."""
    expired.set()
    sock = client.sock
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def webhook_text(notification: Notification) -> str:
    """The text a Slack-compatible webhook gets: the subject in bold, markup escaped."""
    return message_text(ChatKind.slack, notification.subject, notification.body_text)[1]


def send_webhook(delivery: Delivery, config: WorkerConfig) -> None:
    """Send through apprise in the target's format (:mod:`lessonloop.integrations.chat`): every
    connection vetted against the SSRF rules, no redirects, all within ``webhook_timeout``;
    apprise's ``False`` becomes a :class:`SendError` saying why."""
    try:
        send_chat(
            delivery.target,
            delivery.notification.subject,
            delivery.notification.body_text,
            key=delivery.idempotency_key,
            allow=outbound.AllowList.parse(config.webhook_allow_hosts),
            timeout=config.webhook_timeout,
        )
    except ChatError as exc:
        raise SendError(f"webhook: {exc}") from None


def send_event_webhook(delivery: Delivery, config: WorkerConfig) -> None:
    """``POST`` a signed event (:mod:`lessonloop.integrations.webhooks`) to a vetted address of
    its endpoint, all within ``webhook_timeout``; only a 2xx answer counts (a redirect is not
    followed). The body is the stored JSON, byte for byte what was signed."""
    notification = delivery.notification
    if not delivery.signature:
        raise SendError("event webhook: the attempt was not signed")
    event_id = json.loads(notification.body_text).get("id", "")
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.idempotency_key,
        "User-Agent": "lessonloop-worker",
        "X-Lessonloop-Event": one_line(notification.subject),
        "X-Lessonloop-Event-Id": one_line(str(event_id)),
        **signing.headers_of(delivery.signature),
    }
    deadline = time.monotonic() + config.webhook_timeout
    allow = outbound.AllowList.parse(config.webhook_allow_hosts)
    try:
        addresses = outbound.vetted_addresses(delivery.target, allow, config.webhook_timeout)
        answer = outbound.request(
            "POST",
            delivery.target,
            timeout=outbound.seconds_left(deadline),
            headers=headers,
            content=notification.body_text.encode(),
            connect_to=addresses,
        )
    except outbound.DeadlineExceeded:
        raise SendError(f"event webhook: no answer within {config.webhook_timeout:g}s") from None
    except (outbound.TargetRefused, outbound.OutboundError) as exc:
        raise SendError(f"event webhook: {exc}") from None
    if not 200 <= answer.status < 300:
        raise SendError(f"event webhook answered HTTP {answer.status}")


SENDERS: dict[str, Sender] = {
    Channel.email.value: send_email,
    Channel.webhook.value: send_webhook,
    EVENT_CHANNEL: send_event_webhook,
    Channel.slack.value: send_slack_dm,
}

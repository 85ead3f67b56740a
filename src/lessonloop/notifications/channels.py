"""Sending one delivery: e-mail over SMTP and Slack-compatible incoming webhooks.

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
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Channel, Delivery, Notification


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
    if notification.body_html:
        msg.add_alternative(notification.body_html, subtype="html")
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


def chat_escape(text: str) -> str:
    """Escape the three characters Slack-style chat treats as markup (``<@U123>`` mentions,
    ``<!channel>``, ``<url|label>`` links), so a title cannot ping a whole channel or disguise a
    link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_text(notification: Notification) -> str:
    return f"*{chat_escape(notification.subject)}*\n{chat_escape(notification.body_text)}"


def send_webhook(delivery: Delivery, config: WorkerConfig) -> None:
    """``POST`` the text to a vetted address of the target, all within ``webhook_timeout``."""
    deadline = time.monotonic() + config.webhook_timeout
    allow = outbound.AllowList.parse(config.webhook_allow_hosts)
    try:
        addresses = outbound.vetted_addresses(delivery.target, allow, config.webhook_timeout)
        answer = outbound.request(
            "POST",
            delivery.target,
            timeout=outbound.seconds_left(deadline),
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": delivery.idempotency_key,
                "User-Agent": "lessonloop-worker",
            },
            content=json.dumps({"text": webhook_text(delivery.notification)}).encode(),
            connect_to=addresses,
        )
    except outbound.DeadlineExceeded:
        raise SendError(f"webhook: no answer within {config.webhook_timeout:g}s") from None
    except (outbound.TargetRefused, outbound.OutboundError) as exc:
        raise SendError(f"webhook: {exc}") from None
    if not 200 <= answer.status < 300:  # a redirect too: it is not followed
        raise SendError(f"webhook answered HTTP {answer.status}")


SENDERS: dict[str, Sender] = {
    Channel.email.value: send_email,
    Channel.webhook.value: send_webhook,
}

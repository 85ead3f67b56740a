"""Sending one delivery: e-mail over SMTP and Slack-compatible incoming webhooks.

A channel raises :class:`SendError` (or any ``OSError``) when the attempt failed; the worker
then records the failure and retries with backoff. Each attempt carries the same idempotency
key — the e-mail ``Message-ID`` and the webhook ``Idempotency-Key`` header — so a receiver can
drop the rare repeat after a worker died between sending and recording the send.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate

from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Channel, Delivery, Notification


class SendError(Exception):
    """A delivery attempt failed (the message says why)."""


Sender = Callable[[Delivery, WorkerConfig], None]


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@lessonloop>"


def build_email(notification: Notification, to: str, sender: str, key: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = notification.subject
    msg["Message-ID"] = message_id(key)
    msg["Date"] = formatdate(localtime=False)
    msg["X-Lessonloop-Kind"] = notification.kind
    msg["X-Lessonloop-Key"] = key
    msg.set_content(notification.body_text)
    if notification.body_html:
        msg.add_alternative(notification.body_html, subtype="html")
    return msg


def send_email(delivery: Delivery, config: WorkerConfig) -> None:
    smtp = config.smtp
    if not smtp.host:
        raise SendError("e-mail is not configured (LESSONLOOP_SMTP_HOST is unset)")
    msg = build_email(delivery.notification, delivery.target, smtp.sender, delivery.idempotency_key)
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            if smtp.starttls:
                client.starttls()
            if smtp.user and smtp.password:
                client.login(smtp.user, smtp.password)
            client.send_message(msg)
    except smtplib.SMTPException as exc:
        raise SendError(f"smtp: {exc}") from exc


def webhook_text(notification: Notification) -> str:
    return f"*{notification.subject}*\n{notification.body_text}"


def send_webhook(delivery: Delivery, config: WorkerConfig) -> None:
    payload = json.dumps({"text": webhook_text(delivery.notification)}).encode()
    request = urllib.request.Request(
        delivery.target,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.idempotency_key,
            "User-Agent": "lessonloop-worker",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=config.webhook_timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise SendError(f"webhook answered HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        raise SendError(f"webhook unreachable: {exc.reason}") from exc
    if not 200 <= status < 300:
        raise SendError(f"webhook answered HTTP {status}")


SENDERS: dict[str, Sender] = {
    Channel.email.value: send_email,
    Channel.webhook.value: send_webhook,
}

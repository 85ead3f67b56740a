"""The outbox's ``slack`` channel: a notification as a direct message with answer buttons.

The worker's durable outbox (claim, lease, fence, retry with backoff, dead letters) is the same
as for e-mail and webhooks; this is only the send. The target is the person's linked Slack user
id, read again at every attempt (unlinking stops the next one). ``conversations.open`` gives the
bot's DM channel with them, ``chat.postMessage`` posts there. Slack has no idempotency key for
messages, so a worker that dies between sending and recording may post a prompt twice (the
outbox is at-least-once on the wire, docs/worker.md); answering either copy is the same answer.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError

from lessonloop.integrations.slack.blocks import escape, notification_blocks
from lessonloop.integrations.slack.client import open_dm, web_client
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Delivery
from lessonloop.settings import get_settings


class SlackSendError(RuntimeError):
    """Slack refused the message (the worker records the reason and retries)."""


def send_slack_dm(delivery: Delivery, config: WorkerConfig) -> None:
    """Post ``delivery``'s notification to its Slack user; raise on any refusal."""
    del config  # the Web API client has its own timeout (client.TIMEOUT_S)
    notification = delivery.notification
    client = web_client(get_settings())
    try:
        channel = open_dm(client, delivery.target)
        client.chat_postMessage(
            channel=channel,
            # The fallback text (phones, screen readers): escaped like the blocks.
            text=escape(notification.subject),
            blocks=notification_blocks(
                notification.kind, notification.record_id, notification.subject, notification.body_text
            ),
            unfurl_links=False,
        )
    except SlackApiError as exc:
        error = exc.response.get("error", "error") if exc.response is not None else "error"
        raise SlackSendError(f"slack: {error}") from None

"""The one place a ``slack_sdk.WebClient`` is made: the bot token and the API's address from
the settings (``LESSONLOOP_SLACK_API_URL`` points tests at a local stand-in)."""

from __future__ import annotations

from slack_sdk import WebClient

from lessonloop.errors import Invalid
from lessonloop.settings import Settings

#: Seconds for one Web API call: a stuck Slack must not hold a worker's send or a request.
TIMEOUT_S = 10


def is_configured(settings: Settings) -> bool:
    """Both the signing secret (requests from Slack) and the bot token (calls to Slack) are set."""
    return bool(settings.slack_signing_secret and settings.slack_bot_token)


def web_client(settings: Settings) -> WebClient:
    if not settings.slack_bot_token:
        raise Invalid("Slack is not configured (LESSONLOOP_SLACK_BOT_TOKEN is unset)", field="slack")
    base = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(token=settings.slack_bot_token, base_url=base, timeout=TIMEOUT_S)


def open_dm(client: WebClient, slack_user_id: str) -> str:
    """The id of the bot's direct-message channel with ``slack_user_id`` (``conversations.open``)."""
    answer = client.conversations_open(users=slack_user_id)
    channel = answer.get("channel") or {}
    return str(channel.get("id", ""))

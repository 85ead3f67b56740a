"""docs/integrations.md's Slack section and the manifest in the repo stay true: each documented
setting is read from the environment into the setting the app uses, and the manifest points
Slack's slash command, shortcut and interactivity at what the app listens for."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from lessonloop.integrations.slack import blocks
from lessonloop.integrations.slack.bolt_app import COMMAND
from lessonloop.integrations.slack.routes import EVENTS_PATH
from lessonloop.settings import get_settings

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "integrations.md"
MANIFEST = ROOT / "src" / "lessonloop" / "integrations" / "slack" / "manifest.yml"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Slack app")
    return text[start : text.index("\n## ", start + 1)]


def test_every_documented_setting_is_read() -> None:
    documented = set(re.findall(r"`(LESSONLOOP_SLACK_[A-Z_]+)`", section()))
    settings = get_settings(
        {
            "LESSONLOOP_SLACK_SIGNING_SECRET": "secret",
            "LESSONLOOP_SLACK_BOT_TOKEN": "xoxb-1",
            "LESSONLOOP_SLACK_API_URL": "http://127.0.0.1:9/api/",
            "LESSONLOOP_SLACK_PUBLIC_URL": "https://ll.example.com/",
        }
    )
    read = {
        "LESSONLOOP_SLACK_SIGNING_SECRET": settings.slack_signing_secret == "secret",
        "LESSONLOOP_SLACK_BOT_TOKEN": settings.slack_bot_token == "xoxb-1",
        "LESSONLOOP_SLACK_API_URL": settings.slack_api_url == "http://127.0.0.1:9/api/",
        "LESSONLOOP_SLACK_PUBLIC_URL": settings.slack_public_url == "https://ll.example.com",
    }
    assert documented == set(read) and all(read.values())
    assert get_settings({}).slack_api_url == "https://slack.com/api/"  # the documented default


def test_the_manifest_points_slack_at_what_the_app_listens_for() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features = manifest["features"]
    (command,) = features["slash_commands"]
    (shortcut,) = features["shortcuts"]
    assert command["command"] == COMMAND
    assert (shortcut["type"], shortcut["callback_id"]) == ("message", blocks.SHORTCUT_CALLBACK)
    assert shortcut["name"] == "Log as failure"
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    for url in (command["url"], interactivity["request_url"]):
        assert url == f"https://lessonloop.example.com{EVENTS_PATH}"  # as the set-up says to edit
    assert manifest["settings"]["socket_mode_enabled"] is False  # HTTP mode, signed requests
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # What the app calls: chat.postMessage/update/postEphemeral, conversations.open (DMs),
    # users.lookupByEmail (admins mapping by e-mail), and the command and shortcut themselves.
    assert {"commands", "chat:write", "im:write", "users:read", "users:read.email"} <= scopes

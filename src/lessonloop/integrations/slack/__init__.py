"""The Slack app (docs/integrations.md "Slack app"): slash command, shortcut, DMs with buttons,
team-channel posts, identity links. Built on slack_bolt in HTTP mode; every action runs as the
Slack user's linked person."""

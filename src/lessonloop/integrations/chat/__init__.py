"""Outgoing chat notifications through apprise (docs/integrations.md, "Chat notifications").

A person's webhook channel names a target *kind* (:mod:`.kinds`): a Slack-compatible incoming
webhook, Microsoft Teams (a Workflows webhook), Discord, Mattermost or generic JSON. The URL they
paste and the kind become one apprise URL; :mod:`.send` sends it with every connection vetted by
:mod:`.guard` (the same SSRF rules as :mod:`lessonloop.outbound`, also for redirects and DNS
answers that change). The durable outbox, retries and idempotency keys stay those of
:mod:`lessonloop.notifications`.
"""

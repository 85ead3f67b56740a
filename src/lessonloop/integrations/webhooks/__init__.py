"""Outgoing event webhooks (docs/integrations.md, "Outgoing event webhooks"; decision 48).

Org admins, and a team's leads and admins for their team, register endpoints (:mod:`.service`)
for events: ``failure.logged``, ``review.completed``, ``action.done``, ``lesson.published``. A
session hook (:mod:`.events`) notices each event in the flush that makes it and puts one signed
delivery per subscribed endpoint into the notifications outbox *in the same transaction*, so the
worker's leases, retries, backoff and dead letters are those of every other delivery. What an
endpoint receives obeys the page policy: a team endpoint only records a plain member of the team
may see, an org endpoint only org-visible ones; a private record never leaves.
"""

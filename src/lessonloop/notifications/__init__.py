"""Notifications: a durable outbox (one row per message, unique ``dedupe_key``), per-person
channel preferences, and deliveries over e-mail and Slack-compatible webhooks.

The one call other packages need is :func:`lessonloop.notifications.service.enqueue`.
"""

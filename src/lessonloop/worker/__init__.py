"""The worker: scheduled jobs that turn dates into reminders, prompts and proposed reflection
sessions, and the delivery loop that empties the notification outbox. See docs/worker.md."""

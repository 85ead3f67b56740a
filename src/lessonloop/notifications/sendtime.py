"""A notification's text as of the moment it is sent or shown, not when it was enqueued.

A reminder enqueued on Monday and delivered on Wednesday (a retry, a worker that was down) must
not say "due in 3 days", and one for an action completed on Tuesday must not go out at all. So
each kind that is about a record registers a *renderer* here: given the record's id (the
notification's ``record_id``) and ``now``, it returns the current subject and body
(:class:`Text`), or :class:`Obsolete` with the reason when the step it prompts for is done. The
outbox uses it in two places:

* delivery (:func:`lessonloop.notifications.service.begin_attempt`): an obsolete notification's
  delivery ends ``obsolete`` with the reason (recorded, never deleted, never sent); otherwise the
  current text is stored on the notification and sent — the stored text is what was said last;
* the in-app list (:func:`lessonloop.notifications.service.current_for_person`): each entry shown
  with its current text, or as no longer needed.

A kind with no renderer (a digest, an escalation notice), or a notification without
a ``record_id``, keeps the text it was enqueued with. Renderers live beside the jobs that enqueue
their kinds (:mod:`lessonloop.worker.sendtime`); their modules are imported on first use
(:data:`RENDERER_MODULES`), so this package imports nothing above it.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.notifications.models import Notification

#: Modules whose import registers renderers (a missing one is skipped, as the worker's jobs).
RENDERER_MODULES: list[str] = ["lessonloop.worker.sendtime", "lessonloop.integrations.trackers.sendtime"]


@dataclass(frozen=True)
class Text:
    """What to say now."""

    subject: str
    body_text: str


@dataclass(frozen=True)
class Obsolete:
    """Say nothing: the step is done (or the record gone). ``reason`` is recorded and shown."""

    reason: str


Rendered = Text | Obsolete
#: (session, the record's id, the recipient as a Viewer, now) → what to say, or why not.
Renderer = Callable[[Session, int, Viewer, dt.datetime], Rendered]

RENDERERS: dict[str, Renderer] = {}
_loaded = False


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the send-time text of notifications of ``kind`` (a later one replaces it)."""

    def register(func: Renderer) -> Renderer:
        RENDERERS[kind] = func
        return func

    return register


def _load() -> None:
    global _loaded
    if _loaded:
        return
    for name in RENDERER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    _loaded = True


def render(session: Session, notification: Notification, *, now: dt.datetime, viewer: Actor) -> Rendered:
    """``notification``'s text as of ``now`` for its recipient.

    Already obsolete: that, again. No renderer for its kind or no ``record_id``: the stored text.
    ``viewer``: who asks (the recipient on their list, the delivery job); the text is always built
    as the recipient may see things now (someone who lost sight of the record is told nothing).
    """
    require_actor(viewer)
    if notification.obsolete_at is not None:
        return Obsolete(notification.obsolete_reason)
    stored = Text(notification.subject, notification.body_text)
    _load()
    func = RENDERERS.get(notification.kind)
    if func is None or notification.record_id is None or notification.person_id is None:
        return stored  # (no person: an event for a webhook endpoint, its text is the event)
    if is_person(viewer) and viewer.person_id == notification.person_id:
        recipient = viewer
    else:
        recipient = viewer_for(session, notification.person_id)
    return func(session, notification.record_id, recipient, now)

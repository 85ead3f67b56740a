"""What the notifications outbox asks about an event delivery when an attempt begins
(:func:`lessonloop.notifications.service.begin_attempt`): where it goes now, and its signature."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.integrations.webhooks import signing
from lessonloop.integrations.webhooks.events import may_receive
from lessonloop.integrations.webhooks.models import EventEndpoint
from lessonloop.lessons.models import Lesson
from lessonloop.notifications.models import Delivery
from lessonloop.reviews.models import Review

_MODELS: dict[str, type[Failure | Review | Action | Lesson]] = {
    "failure": Failure,
    "review": Review,
    "action": Action,
    "lesson": Lesson,
}


def _endpoint_of(session: Session, delivery: Delivery) -> EventEndpoint | None:
    endpoint_id = delivery.notification.record_id
    return session.get(EventEndpoint, endpoint_id) if endpoint_id is not None else None


def current_target(session: Session, delivery: Delivery, *, viewer: Actor) -> str | None:
    """The endpoint's URL now, or ``None`` (not sent: the endpoint was disabled or deleted, or the
    record is no longer one it may receive — a failure made private since, say)."""
    require_actor(viewer)
    endpoint = _endpoint_of(session, delivery)
    if endpoint is None or not endpoint.active:
        return None
    about = json.loads(delivery.notification.body_text).get("record", {})
    model = _MODELS.get(str(about.get("type")))
    record = session.get(model, about.get("id")) if model is not None else None
    if record is None or not may_receive(session, endpoint, record, viewer=viewer):
        return None
    return endpoint.url


def sign_attempt(session: Session, delivery: Delivery, *, now: dt.datetime, viewer: Actor) -> None:
    """Stamp the attempt with its time and signature (the sender puts them in the headers)."""
    require_actor(viewer)
    endpoint = _endpoint_of(session, delivery)
    if endpoint is None:
        return
    body = delivery.notification.body_text.encode()
    delivery.signature = signing.stamp(endpoint.secret, int(now.timestamp()), body)

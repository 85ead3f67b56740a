"""Which changes are events, and putting them in the outbox in the transaction that makes them.

A session hook, like the history log (:mod:`lessonloop.store.history`), so no write path can
forget one: ``after_flush`` notes the events of that flush while attribute history is readable
(a failure inserted, a review's status turned ``completed``, an action's turned ``done``, a
lesson's ``published_at`` set); ``after_flush_postexec`` adds one outbox notification (no person)
and delivery per subscribed endpoint that may see the record. The commit flushes them with the
change: a rolled-back change sends nothing, and a committed one is delivered until it is sent or
listed dead. Each event has one id, sent on every attempt, so a receiver drops a repeat.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import get_history

from lessonloop.access.actor import Actor, SystemActor, require_actor
from lessonloop.access.policy import NOBODY, can_see, member_view
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.failures.models import Failure
from lessonloop.integrations.webhooks.models import EventEndpoint
from lessonloop.lessons.models import Lesson
from lessonloop.notifications.models import Delivery, DeliveryStatus, Notification
from lessonloop.reviews.models import Review, ReviewStatus
from lessonloop.store.base import utcnow

FAILURE_LOGGED = "failure.logged"
REVIEW_COMPLETED = "review.completed"
ACTION_DONE = "action.done"
LESSON_PUBLISHED = "lesson.published"
EVENTS = (FAILURE_LOGGED, REVIEW_COMPLETED, ACTION_DONE, LESSON_PUBLISHED)

#: The outbox's channel and notification kind for event deliveries.
CHANNEL = "event-webhook"
KIND = "event-webhook"
_PENDING = "lessonloop.event_webhooks"

#: The flush hook acts as this job.
HOOK = SystemActor("event-webhooks")

#: What an organisation endpoint is shown: a signed-in person in no team, involved in nothing,
#: not an admin — org-visible records (and team ones with no team) only.
ORG_VIEW = Viewer(person_id=NOBODY, is_admin=False, roles=MappingProxyType({}))


def viewer_of(endpoint: EventEndpoint) -> Viewer:
    """Who an endpoint sees as: a plain member of its team, or :data:`ORG_VIEW`."""
    return ORG_VIEW if endpoint.team_id is None else member_view(endpoint.team_id)


@dataclass(frozen=True)
class Noted:
    name: str
    model: type[Any]
    record_id: int


def _became(obj: Any, attr: str, value: Any) -> bool:
    hist = get_history(obj, attr)
    added, deleted = list(hist.added or ()), list(hist.deleted or ())
    return bool(added) and added[0] == value and not (deleted and deleted[0] == value)


def _note(session: Session, _context: Any) -> None:
    """``after_flush``: remember this flush's events (ids are assigned, history readable)."""
    found: list[Noted] = []
    for obj in session.new:
        if isinstance(obj, Failure):
            found.append(Noted(FAILURE_LOGGED, Failure, obj.id))
        elif isinstance(obj, Review) and obj.status == ReviewStatus.completed.value:
            found.append(Noted(REVIEW_COMPLETED, Review, obj.id))
        elif isinstance(obj, Action) and obj.status == ActionStatus.done.value:
            found.append(Noted(ACTION_DONE, Action, obj.id))
        elif isinstance(obj, Lesson) and obj.published_at is not None:
            found.append(Noted(LESSON_PUBLISHED, Lesson, obj.id))
    for obj in session.dirty:
        if isinstance(obj, Review) and _became(obj, "status", ReviewStatus.completed.value):
            found.append(Noted(REVIEW_COMPLETED, Review, obj.id))
        elif isinstance(obj, Action) and _became(obj, "status", ActionStatus.done.value):
            found.append(Noted(ACTION_DONE, Action, obj.id))
        elif isinstance(obj, Lesson):
            hist = get_history(obj, "published_at")
            added, deleted = list(hist.added or ()), list(hist.deleted or ())
            if added and added[0] is not None and not (deleted and deleted[0]):
                found.append(Noted(LESSON_PUBLISHED, Lesson, obj.id))
    if found:
        session.info.setdefault(_PENDING, []).extend(found)


def _enqueue_noted(session: Session, _context: Any) -> None:
    """``after_flush_postexec``: one delivery per event and endpoint that may have it."""
    noted: list[Noted] = session.info.pop(_PENDING, [])
    if not noted:
        return
    endpoints = list(session.scalars(select(EventEndpoint).where(EventEndpoint.active.is_(True))))
    if not endpoints:
        return
    now = utcnow()
    for item in noted:
        wanted = [e for e in endpoints if item.name in e.event_set]
        record = session.get(item.model, item.record_id) if wanted else None
        if record is None:
            continue
        event_id = uuid.uuid4().hex
        for endpoint in wanted:
            if not may_receive(session, endpoint, record, viewer=HOOK):
                continue
            body = json.dumps(_payload(item.name, record, event_id, now), sort_keys=True)
            note = Notification(
                person_id=None,
                kind=KIND,
                dedupe_key=f"event:{event_id}:{endpoint.id}",
                subject=item.name,
                body_text=body,
                record_id=endpoint.id,
                created_at=now,
                updated_at=now,
            )
            note.deliveries.append(
                Delivery(
                    channel=CHANNEL,
                    target=endpoint.url,
                    status=DeliveryStatus.pending.value,
                    next_attempt_at=now,
                )
            )
            session.add(note)


def _team_of(session: Session, record: Any) -> set[int]:
    """The teams a record belongs to (a lesson: its audience and its failures' teams)."""
    if isinstance(record, Failure):
        return {record.team_id} if record.team_id is not None else set()
    if isinstance(record, Review | Action):
        failure = session.get(Failure, record.failure_id)
        return {failure.team_id} if failure is not None and failure.team_id is not None else set()
    if isinstance(record, Lesson):
        return {t.id for t in record.audience} | {f.team_id for f in record.failures if f.team_id is not None}
    return set()


def may_receive(session: Session, endpoint: EventEndpoint, record: Any, *, viewer: Actor) -> bool:
    """The page policy for a side channel: a team endpoint gets its team's records that a plain
    member may see; an org endpoint every record an org-level viewer may see. ``viewer``: the job
    that asks (the flush hook, the delivery); the answer is the endpoint's, whoever asks."""
    require_actor(viewer)
    if endpoint.team_id is not None and endpoint.team_id not in _team_of(session, record):
        return False
    return can_see(session, viewer_of(endpoint), record)


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _payload(name: str, record: Any, event_id: str, now: dt.datetime) -> dict[str, Any]:
    """The JSON body: the event, its id and time, and the record it is about."""
    data: dict[str, Any]
    if isinstance(record, Failure):
        data = {
            "id": record.id,
            "title": record.title,
            "kind": record.kind,
            "severity": record.severity,
            "status": record.status,
            "team_id": record.team_id,
            "path": f"/failures/{record.id}",
        }
        kind = "failure"
    elif isinstance(record, Review):
        data = {"id": record.id, "failure_id": record.failure_id, "completed_at": _when(record.completed_at)}
        data["path"] = f"/failures/{record.failure_id}"
        kind = "review"
    elif isinstance(record, Action):
        data = {
            "id": record.id,
            "title": record.title,
            "failure_id": record.failure_id,
            "status": record.status,
            "due_date": _when(record.due_date),
            "path": f"/failures/{record.failure_id}",
        }
        kind = "action"
    else:
        data = {
            "id": record.id,
            "title": record.title,
            "published_at": _when(record.published_at),
            "path": f"/lessons/{record.id}",
        }
        kind = "lesson"
    return {"id": event_id, "type": name, "created_at": now.isoformat(), "record": {"type": kind, **data}}


def install(factory: sessionmaker[Session]) -> None:
    """Register the two hooks on a session factory (lessonloop.bootstrap does, for every one)."""
    event.listen(factory, "after_flush", _note)
    event.listen(factory, "after_flush_postexec", _enqueue_noted)

"""What goes in and out about event webhook endpoints (API, CLI and the admin page)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.integrations.webhooks.models import EventEndpoint
from lessonloop.notifications.models import Delivery


class AddEventWebhook(BaseModel):
    """A new endpoint: where, which events, and for one team or (no team) the organisation."""

    model_config = ConfigDict(extra="forbid", title="EventWebhookIn")
    url: str = Field(max_length=limits.URL_MAX, examples=["https://hooks.example.com/lessonloop"])
    events: list[Annotated[str, Field(max_length=40)]] = Field(
        min_length=1,
        max_length=4,
        description="Any of failure.logged, review.completed, action.done, lesson.published.",
        examples=[["failure.logged", "lesson.published"]],
    )
    team: str | None = Field(
        default=None,
        max_length=200,
        description="Team id or name; unset: an organisation endpoint (org admins).",
    )
    description: str = Field(default="", max_length=200)


class EventWebhookOut(BaseModel):
    id: int
    team_id: int | None = Field(description="null: an organisation endpoint.")
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, endpoint: EventEndpoint) -> EventWebhookOut:
        return cls(
            id=endpoint.id,
            team_id=endpoint.team_id,
            url=endpoint.url,
            events=sorted(endpoint.event_set),
            description=endpoint.description,
            active=endpoint.active,
            created_at=endpoint.created_at,
        )


class CreatedEventWebhookOut(BaseModel):
    endpoint: EventWebhookOut
    secret: str = Field(description="The signing secret, shown this once: keep it in the receiver.")


class EventDeliveryOut(BaseModel):
    id: int
    event: str
    event_id: str
    status: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> EventDeliveryOut:
        note = delivery.notification
        return cls(
            id=delivery.id,
            event=note.subject,
            event_id=str(json.loads(note.body_text).get("id", "")),
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            created_at=delivery.created_at,
            sent_at=delivery.sent_at,
        )

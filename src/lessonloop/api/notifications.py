"""Closing the loop from outside: my notifications and channels, "did this work?", calendar feeds.

* ``/notifications`` — the signed-in person's own in-app list (someone else's is a 404).
* ``/notifications/preferences`` — their channels: in-app always, e-mail, webhook.
* ``/actions/{id}/check`` and ``/actions/{id}/checks`` — the answer to "did this work?" on an
  action (its owner or whoever may change its failure; the rule lives in
  :func:`lessonloop.worker.checks.record_check`).
* ``/calendar-tokens`` — secret iCalendar feed URLs, shown once like API tokens.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from lessonloop.access.viewer import Viewer
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.calendars import service as calendars
from lessonloop.calendars.models import CalendarToken
from lessonloop.calendars.schemas import CreateCalendarFeed
from lessonloop.notifications import service as outbox
from lessonloop.notifications.models import Notification
from lessonloop.notifications.schemas import SetPreferences
from lessonloop.people.models import Person, Team
from lessonloop.worker import checks
from lessonloop.worker.models import ActionCheck
from lessonloop.worker.schemas import AnswerCheck

router = APIRouter(route_class=OneThreadRoute, tags=["notifications"], responses=ERROR_RESPONSES)


# --- notifications ----------------------------------------------------------------------------


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    channel: str = Field(description="email or webhook")
    status: str = Field(description="pending, sending, sent or dead")


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str = Field(description="reminder, review-check, experiment-end, escalation, reflection …")
    subject: str = Field(description="As of now: a reminder's dates are said relative to today.")
    body_text: str = Field(description="As of now, like the subject.")
    created_at: dt.datetime
    read_at: dt.datetime | None
    obsolete: str | None = Field(
        default=None,
        description="Set when the prompt is no longer needed (the action was completed first): why. "
        "Nothing more is sent for it.",
    )
    deliveries: list[DeliveryOut] = Field(description="Where it went besides the in-app list.")


class MarkedOut(BaseModel):
    marked: int = Field(description="How many notifications were unread and are now read.")


class PreferencesOut(BaseModel):
    channels: list[str] = Field(description="in-app is always among them.", examples=[["in-app", "email"]])
    email: str | None = Field(description="Address for the e-mail channel; unset: the person's e-mail.")
    webhook_url: str | None
    webhook_kind: str = Field(description="slack, teams, discord, mattermost or json.", examples=["slack"])
    person_email: str | None = Field(description="The person's own e-mail, used when `email` is unset.")


def _notification_out(n: Notification, shown: outbox.Shown | None = None) -> NotificationOut:
    out = NotificationOut.model_validate(n)
    if n.obsolete_at is not None:
        out.obsolete = n.obsolete_reason
    if shown is not None:
        out.subject, out.body_text, out.obsolete = shown.subject, shown.body_text, shown.obsolete
    return out


@router.get("/notifications")
def my_notifications(
    viewer: CurrentViewer,
    session: DbSession,
    response: Response,
    unread: Annotated[bool, Query(description="Only unread ones.")] = False,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many, newest first.")] = 50,
) -> list[NotificationOut]:
    """Your notifications, newest first, each with its text as of now (or ``obsolete``: why it is
    no longer needed). ``X-Unread-Count`` says how many unread ones are still needed in all."""
    rows = outbox.current_for_person(session, viewer.person_id, unread=unread, limit=limit, viewer=viewer)
    response.headers["X-Unread-Count"] = str(outbox.unread_count(session, viewer.person_id, viewer=viewer))
    return [_notification_out(s.notification, s) for s in rows]


@router.post("/notifications/read-all")
def mark_all_read(viewer: CurrentViewer, session: DbSession) -> MarkedOut:
    """Mark every one of your notifications read."""
    return MarkedOut(marked=outbox.mark_all_read(session, viewer.person_id, viewer=viewer))


@router.post("/notifications/{notification_id}/read")
def mark_read(notification_id: int, session: DbSession, viewer: CurrentViewer) -> NotificationOut:
    """Mark one of your notifications read (again: harmless). Someone else's is a 404."""
    return _notification_out(outbox.mark_read(session, notification_id, viewer=viewer))


def _preferences_out(session: Session, person_id: int, viewer: Viewer) -> PreferencesOut:
    view = outbox.preferences_of(session, person_id, viewer=viewer)
    return PreferencesOut(
        channels=view.channels,
        email=view.email,
        webhook_url=view.webhook_url,
        webhook_kind=view.webhook_kind,
        person_email=view.person_email,
    )


@router.get("/notifications/preferences")
def my_preferences(viewer: CurrentViewer, session: DbSession) -> PreferencesOut:
    """Your channels and addresses (in-app only until you choose more)."""
    return _preferences_out(session, viewer.person_id, viewer)


@router.put("/notifications/preferences")
def set_my_preferences(body: SetPreferences, viewer: CurrentViewer, session: DbSession) -> PreferencesOut:
    """Choose your channels and addresses. The e-mail channel needs an address (this one or your
    own e-mail), the webhook channel a URL; a bad address is a 422 naming the field."""
    outbox.set_preferences(
        session,
        viewer.person_id,
        **body.model_dump(),
        viewer=viewer,
    )
    return _preferences_out(session, viewer.person_id, viewer)


# --- "did this work?" -------------------------------------------------------------------------


class CheckOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    action_id: int
    person_id: int | None = Field(description="Who answered.")
    worked: str
    note: str
    checked_at: dt.datetime


@router.post("/actions/{action_id}/check", status_code=201)
def check_action(action_id: int, body: AnswerCheck, session: DbSession, viewer: CurrentViewer) -> CheckOut:
    """Answer "did this work?" for an action: its owner or whoever may change its failure (403
    for others who may see it, 404 for those who may not). The latest answer counts; a *yes*
    verifies the action in the learning metrics. A dropped action is a 409."""
    check = checks.record_check(session, action_id, **body.model_dump(mode="json"), viewer=viewer)
    return CheckOut.model_validate(check)


@router.get("/actions/{action_id}/checks")
def action_checks(action_id: int, session: DbSession, viewer: CurrentViewer) -> list[CheckOut]:
    """The answers so far, oldest first (the last one counts); 404 when you may not see the action."""
    rows: list[ActionCheck] = checks.checks_for(session, action_id, viewer=viewer)
    return [CheckOut.model_validate(c) for c in rows]


# --- calendar feeds ---------------------------------------------------------------------------


class CalendarTokenOut(BaseModel):
    """A feed as listed: never the token, never its digest."""

    id: int
    prefix: str = Field(description="The first characters of the token, to tell feeds apart.")
    person_id: int | None
    team_id: int | None
    name: str = Field(description="Whose feed: the person's or the team's name.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class NewCalendarTokenOut(CalendarTokenOut):
    token: str = Field(description="The secret token. Shown this once: only its SHA-256 is kept.")
    url: str = Field(description="The feed URL to subscribe to (text/calendar). Shown this once.")


def _token_out(session: Session, row: CalendarToken) -> CalendarTokenOut:
    if row.person_id is not None:
        person = session.get(Person, row.person_id)
        name = person.name if person is not None else "?"
    else:
        team = session.get(Team, row.team_id)
        name = f"team {team.name}" if team is not None else "?"
    return CalendarTokenOut(
        id=row.id,
        prefix=row.prefix,
        person_id=row.person_id,
        team_id=row.team_id,
        name=name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


@router.post("/calendar-tokens", status_code=201)
def create_calendar_token(
    body: CreateCalendarFeed,
    request: Request,
    response: Response,
    session: DbSession,
    viewer: CurrentViewer,
) -> NewCalendarTokenOut:
    """A secret feed URL of your actions, experiments and reflection sessions — or of a team's,
    if you lead or administer it (else 403, org admins included; a team feed lists only what a
    plain member of the team may see). **The URL is in this answer only**: keep it."""
    if body.team in (None, ""):
        row, plaintext = calendars.create_token(session, person=viewer.person_id, viewer=viewer)
    else:
        row, plaintext = calendars.create_token(session, team=body.team, viewer=viewer)
    response.headers["Cache-Control"] = "no-store"
    listed = _token_out(session, row)
    return NewCalendarTokenOut(
        **listed.model_dump(),
        token=plaintext,
        url=calendars.feed_url(plaintext, server=str(request.base_url)),
    )


@router.get("/calendar-tokens")
def my_calendar_tokens(session: DbSession, viewer: CurrentViewer) -> list[CalendarTokenOut]:
    """Your feeds and those of the teams you lead or administer (all teams' for an org admin, who
    may revoke but not make them), revoked ones included (``revoked_at`` set). Never the secret."""
    return [_token_out(session, row) for row in calendars.list_tokens(session, viewer=viewer)]


@router.delete("/calendar-tokens/{token_id}")
def revoke_calendar_token(token_id: int, session: DbSession, viewer: CurrentViewer) -> CalendarTokenOut:
    """Revoke a feed: its URL answers 404 from now on. Revoking twice is harmless; a feed that is
    not yours (or your team's) is a 404."""
    row = calendars.get_token(session, token_id, viewer=viewer)
    return _token_out(session, calendars.revoke_token(session, row.id, viewer=viewer))

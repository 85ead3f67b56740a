"""The send-time text of "the issue was closed: add evidence" (:mod:`lessonloop.notifications.sendtime`).

Its record is the action. It is obsolete once the question is answered or withdrawn: the action
was completed or dropped, or the issue re-opened (or the recipient may no longer see the action).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.policy import can_see
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action, ActionStatus
from lessonloop.integrations.trackers.models import ActionTrackerLink
from lessonloop.integrations.trackers.service import CLOSED_KIND, evidence_prompt
from lessonloop.notifications.sendtime import Obsolete, Rendered, Text, renderer


@renderer(CLOSED_KIND)
def issue_closed(session: Session, action_id: int, viewer: Viewer, now: dt.datetime) -> Rendered:
    action = session.get(Action, action_id)
    if action is None:
        return Obsolete(f"action #{action_id} no longer exists")
    if not can_see(session, viewer, action):
        return Obsolete("it is about something you may no longer see")
    if action.status != ActionStatus.open.value:
        return Obsolete(f"action #{action.id} is {action.status}")
    link = session.scalar(select(ActionTrackerLink).where(ActionTrackerLink.action_id == action.id))
    if link is None or not link.awaiting_evidence:
        return Obsolete("the issue was re-opened")
    subject, body = evidence_prompt(action, link)
    return Text(subject, body)

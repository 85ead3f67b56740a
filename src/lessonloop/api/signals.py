"""Re-evaluate: learning metrics, escalations and the blame-language coach."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from lessonloop.access.viewer import Viewer
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import AppSettings, CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.escalations.models import EscalationStatus
from lessonloop.escalations.schemas import EscalationOut, UpdateEscalation
from lessonloop.escalations.service import (
    EscalationPolicy,
    check_escalations,
    list_escalations,
    update_escalation,
    visible_escalations,
)
from lessonloop.failures.service import get_visible_failure
from lessonloop.people.service import get_team
from lessonloop.signals.coach import coach_review, coach_text
from lessonloop.signals.metrics import compute_metrics, metrics_csv
from lessonloop.signals.observe import similar_to_failure as similar_and_repeat
from lessonloop.signals.schemas import CoachReview, FindSimilar
from lessonloop.signals.similar import similar_failures

router = APIRouter(route_class=OneThreadRoute, tags=["signals"], responses=ERROR_RESPONSES)


def _metrics(
    session: Any, viewer: Viewer, team: str | None, since: dt.date | None, until: dt.date | None
) -> dict[str, Any]:
    def at(day: dt.date | None) -> dt.datetime | None:
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None

    team_id = get_team(session, team, viewer=viewer).id if team else None
    return compute_metrics(session, team_id=team_id, since=at(since), until=at(until), viewer=viewer)


TeamQ = Annotated[str | None, Query(description="Team id or name.")]
SinceQ = Annotated[dt.date | None, Query(description="Failures detected on or after this date.")]
UntilQ = Annotated[dt.date | None, Query(description="Failures detected before this date.")]


@router.get("/metrics")
def metrics(
    session: DbSession, viewer: CurrentViewer, team: TeamQ = None, since: SinceQ = None, until: UntilQ = None
) -> dict[str, Any]:
    """Learning metrics per team and month (over the failures you may see), with totals and the
    most-failed assumptions."""
    return _metrics(session, viewer, team, since, until)


# ``response_class=Response``: the 200 answer is CSV, the errors stay application/json.
@router.get(
    "/metrics.csv",
    response_class=Response,
    responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def metrics_as_csv(
    session: DbSession, viewer: CurrentViewer, team: TeamQ = None, since: SinceQ = None, until: UntilQ = None
) -> Response:
    """The same metrics as CSV, one row per team and month plus a totals row."""
    text = metrics_csv(_metrics(session, viewer, team, since, until))
    return Response(text, media_type="text/csv; charset=utf-8")


@router.get("/escalations")
def escalations(
    session: DbSession,
    viewer: CurrentViewer,
    status: Annotated[EscalationStatus | None, Query()] = None,
    team: TeamQ = None,
) -> list[EscalationOut]:
    team_id = get_team(session, team, viewer=viewer).id if team else None
    return [
        EscalationOut.model_validate(e)
        for e in list_escalations(
            session, status=status.value if status else None, team_id=team_id, viewer=viewer
        )
    ]


@router.post("/escalations/check")
def run_escalation_check(
    session: DbSession, settings: AppSettings, viewer: CurrentViewer
) -> list[EscalationOut]:
    """Open or grow escalations for patterns in the current window; returns what changed (of
    what you may see)."""
    changed = check_escalations(session, policy=EscalationPolicy.from_settings(settings), viewer=viewer)
    return [EscalationOut.model_validate(e) for e in visible_escalations(session, changed, viewer)]


@router.patch("/escalations/{escalation_id}")
def patch_escalation(
    escalation_id: int, body: UpdateEscalation, session: DbSession, viewer: CurrentViewer
) -> EscalationOut:
    """Acknowledge, resolve or re-assign: its owner, a lead or admin of its team, or an org admin."""
    escalation = update_escalation(
        session,
        escalation_id,
        **body.model_dump(mode="json"),
        viewer=viewer,
    )
    return EscalationOut.model_validate(escalation)


@router.post("/coach")
def coach(body: CoachReview) -> dict[str, Any]:
    """Blame-language findings (with curiosity-based rewrites) and action specificity scores."""
    if body.fields is not None or body.actions is not None:
        fields = dict(body.fields or {})
        if body.text:
            fields["text"] = body.text
        return coach_review(fields, [a.model_dump() for a in body.actions or []])
    return {"findings": [f.to_dict() for f in coach_text(body.text or "")]}


@router.post("/similar")
def similar(body: FindSimilar, session: DbSession, viewer: CurrentViewer) -> list[dict[str, Any]]:
    """Earlier failures (that you may see) most like the one described, with their root cause,
    action and lessons."""
    matches = similar_failures(
        session,
        **body.model_dump(),
        viewer=viewer,
    )
    return [m.to_dict() for m in matches]


@router.get("/failures/{failure_id}/similar")
def similar_to_failure(
    failure_id: int, session: DbSession, viewer: CurrentViewer, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> dict[str, Any]:
    """ "Have we seen this before?" for a logged failure, with a repeat suggestion when one is close."""
    failure = get_visible_failure(session, failure_id, viewer)
    matches, match, share = similar_and_repeat(session, failure, limit=limit, viewer=viewer)
    repeat = {"failure_id": match.id, "overlap": share} if match else None
    return {"matches": [m.to_dict() for m in matches], "suggested_repeat": repeat}

"""Re-evaluate: learning metrics, escalations and the blame-language coach."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import AppSettings, DbSession
from lessonloop.escalations.models import EscalationStatus
from lessonloop.escalations.schemas import EscalationOut
from lessonloop.escalations.service import (
    EscalationPolicy,
    check_escalations,
    list_escalations,
    update_escalation,
)
from lessonloop.people.service import get_team
from lessonloop.signals.coach import coach_review, coach_text
from lessonloop.signals.metrics import compute_metrics, metrics_csv

router = APIRouter(tags=["signals"], responses=ERROR_RESPONSES)


def _metrics(session: Any, team: str | None, since: dt.date | None, until: dt.date | None) -> dict[str, Any]:
    def at(day: dt.date | None) -> dt.datetime | None:
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None

    team_id = get_team(session, team).id if team else None
    return compute_metrics(session, team_id=team_id, since=at(since), until=at(until))


TeamQ = Annotated[str | None, Query(description="Team id or name.")]
SinceQ = Annotated[dt.date | None, Query(description="Failures detected on or after this date.")]
UntilQ = Annotated[dt.date | None, Query(description="Failures detected before this date.")]


@router.get("/metrics")
def metrics(
    session: DbSession, team: TeamQ = None, since: SinceQ = None, until: UntilQ = None
) -> dict[str, Any]:
    """Learning metrics per team and month, with totals and the most-failed assumptions."""
    return _metrics(session, team, since, until)


@router.get("/metrics.csv", response_class=PlainTextResponse)
def metrics_as_csv(session: DbSession, team: TeamQ = None, since: SinceQ = None, until: UntilQ = None) -> str:
    """The same metrics as CSV, one row per team and month plus a totals row."""
    return metrics_csv(_metrics(session, team, since, until))


@router.get("/escalations")
def escalations(
    session: DbSession,
    status: Annotated[EscalationStatus | None, Query()] = None,
    team: TeamQ = None,
) -> list[EscalationOut]:
    team_id = get_team(session, team).id if team else None
    return [
        EscalationOut.model_validate(e)
        for e in list_escalations(session, status=status.value if status else None, team_id=team_id)
    ]


@router.post("/escalations/check")
def run_escalation_check(session: DbSession, settings: AppSettings) -> list[EscalationOut]:
    """Open or grow escalations for patterns in the current window; returns what changed."""
    changed = check_escalations(session, policy=EscalationPolicy.from_settings(settings))
    return [EscalationOut.model_validate(e) for e in changed]


class EscalationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: EscalationStatus | None = None
    owner: int | str | None = Field(default=None, description="Person id, handle or e-mail.")
    resolution: str | None = Field(default=None, description="Required when resolving.")


@router.patch("/escalations/{escalation_id}")
def patch_escalation(escalation_id: int, body: EscalationPatch, session: DbSession) -> EscalationOut:
    escalation = update_escalation(
        session,
        escalation_id,
        status=body.status.value if body.status else None,
        owner=body.owner,
        resolution=body.resolution,
    )
    return EscalationOut.model_validate(escalation)


class CoachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = Field(default=None, description="Free text to check.")
    fields: dict[str, str] | None = Field(default=None, description="Review answers by field name.")
    actions: list[dict[str, Any]] | None = Field(
        default=None, description="Actions to score: title, owner, due_date."
    )


@router.post("/coach")
def coach(body: CoachIn) -> dict[str, Any]:
    """Blame-language findings (with curiosity-based rewrites) and action specificity scores."""
    if body.fields is not None or body.actions is not None:
        fields = dict(body.fields or {})
        if body.text:
            fields["text"] = body.text
        return coach_review(fields, list(body.actions or []))
    return {"findings": [f.to_dict() for f in coach_text(body.text or "")]}

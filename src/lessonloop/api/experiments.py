"""Act: small bets with explicit success criteria; the verdict is computed, never typed in."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.experiments import service
from lessonloop.experiments.schemas import ExperimentOut

router = APIRouter(route_class=OneThreadRoute, tags=["experiments"], responses=ERROR_RESPONSES)


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action_id: int = Field(description="The corrective action this experiment validates.")
    hypothesis: str = Field(min_length=1, examples=["Dated checks catch slips early"])
    metric: str = Field(min_length=1, max_length=200, examples=["slipped dependencies per quarter"])
    comparator: Literal[">=", "<=", "=", "==", ">", "<"]
    threshold: float
    start_date: dt.date | None = Field(default=None, description="Default: today.")
    end_date: dt.date


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: float
    observed_at: dt.datetime | None = Field(default=None, description="Default: now.")
    note: str = ""


@router.post("/experiments", status_code=201)
def add_experiment(body: ExperimentIn, session: DbSession, viewer: CurrentViewer) -> ExperimentOut:
    experiment = service.add_experiment(
        session,
        action_id=body.action_id,
        hypothesis=body.hypothesis,
        metric=body.metric,
        comparator=body.comparator,
        threshold=body.threshold,
        start_date=body.start_date or dt.date.today(),
        end_date=body.end_date,
        viewer=viewer,
    )
    return ExperimentOut.of(experiment)


@router.get("/experiments")
def list_experiments(
    session: DbSession,
    viewer: CurrentViewer,
    action_id: Annotated[int | None, Query(description="Only this action's experiments.")] = None,
) -> list[ExperimentOut]:
    """Experiments (of failures you may see) with their verdicts, oldest first."""
    return [
        ExperimentOut.of(e) for e in service.list_experiments(session, action_id=action_id, viewer=viewer)
    ]


@router.get("/experiments/{experiment_id}")
def get_experiment(experiment_id: int, session: DbSession, viewer: CurrentViewer) -> ExperimentOut:
    """An experiment, its observations and the verdict: the latest observation decides."""
    return ExperimentOut.of(service.get_experiment(session, experiment_id, viewer=viewer))


@router.post("/experiments/{experiment_id}/observations", status_code=201)
def add_observation(
    experiment_id: int, body: ObservationIn, session: DbSession, viewer: CurrentViewer
) -> ExperimentOut:
    """Record a measurement; the answer is the experiment with its new verdict."""
    service.record_observation(
        session, experiment_id, value=body.value, observed_at=body.observed_at, note=body.note, viewer=viewer
    )
    return ExperimentOut.of(service.get_experiment(session, experiment_id))

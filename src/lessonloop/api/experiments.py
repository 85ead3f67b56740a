"""Act: small bets with explicit success criteria; the verdict is computed, never typed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.experiments import service
from lessonloop.experiments.schemas import AddExperiment, ExperimentOut, RecordObservation

router = APIRouter(route_class=OneThreadRoute, tags=["experiments"], responses=ERROR_RESPONSES)


@router.post("/experiments", status_code=201)
def add_experiment(body: AddExperiment, session: DbSession, viewer: CurrentViewer) -> ExperimentOut:
    experiment = service.add_experiment(session, **body.fields(), viewer=viewer)
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
    experiment_id: int, body: RecordObservation, session: DbSession, viewer: CurrentViewer
) -> ExperimentOut:
    """Record a measurement; the answer is the experiment with its new verdict."""
    service.record_observation(session, experiment_id, **body.model_dump(), viewer=viewer)
    return ExperimentOut.of(service.get_experiment(session, experiment_id, viewer=viewer))

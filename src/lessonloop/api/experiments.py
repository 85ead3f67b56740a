"""Act: small bets with explicit success criteria; the verdict is computed, never typed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.experiments import service
from lessonloop.experiments.schemas import (
    AddExperiment,
    EditExperiment,
    EditObservation,
    ExperimentOut,
    RecordObservation,
)

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


@router.delete("/experiments/{experiment_id}", status_code=204)
def delete_experiment(experiment_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Delete an experiment set up by mistake, with its observations (their history stays). Who
    may: the action's owner or whoever may change the failure (403 otherwise)."""
    service.delete_experiment(session, experiment_id, viewer=viewer)
    return Response(status_code=204)


@router.post("/experiments/{experiment_id}/observations", status_code=201)
def add_observation(
    experiment_id: int, body: RecordObservation, session: DbSession, viewer: CurrentViewer
) -> ExperimentOut:
    """Record a measurement; the answer is the experiment with its new verdict."""
    service.record_observation(session, experiment_id, **body.model_dump(), viewer=viewer)
    return ExperimentOut.of(service.get_experiment(session, experiment_id, viewer=viewer))


@router.patch("/experiments/{experiment_id}")
def edit_experiment(
    experiment_id: int, body: EditExperiment, session: DbSession, viewer: CurrentViewer
) -> ExperimentOut:
    """Correct the hypothesis, metric, success criterion or dates (only the fields sent change);
    the answer carries the recomputed verdict. Who may: the action's owner or whoever may change
    the failure (403 otherwise)."""
    return ExperimentOut.of(service.edit_experiment(session, experiment_id, body.changes(), viewer=viewer))


@router.patch("/experiments/{experiment_id}/observations/{observation_id}")
def edit_observation(
    experiment_id: int,
    observation_id: int,
    body: EditObservation,
    session: DbSession,
    viewer: CurrentViewer,
) -> ExperimentOut:
    """Correct a measurement's value, time or note; the answer is the experiment with its
    recomputed verdict (404 for an observation of another experiment)."""
    service.edit_observation(session, experiment_id, observation_id, body.changes(), viewer=viewer)
    return ExperimentOut.of(service.get_experiment(session, experiment_id, viewer=viewer))


@router.delete("/experiments/{experiment_id}/observations/{observation_id}")
def delete_observation(
    experiment_id: int, observation_id: int, session: DbSession, viewer: CurrentViewer
) -> ExperimentOut:
    """Delete a mistaken measurement (its history stays); the answer is the experiment with its
    recomputed verdict."""
    return ExperimentOut.of(service.delete_observation(session, experiment_id, observation_id, viewer=viewer))

"""What goes out about experiments; the verdict is computed, never stored."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from lessonloop.experiments.models import Experiment
from lessonloop.experiments.service import experiment_verdict


class ObservationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    value: float
    observed_at: dt.datetime
    note: str


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    action_id: int
    hypothesis: str
    metric: str
    comparator: str
    threshold: float
    start_date: dt.date
    end_date: dt.date
    observations: list[ObservationOut]
    verdict: str

    @classmethod
    def of(cls, experiment: Experiment) -> ExperimentOut:
        data = {k: getattr(experiment, k) for k in cls.model_fields if k not in {"verdict", "observations"}}
        return cls(
            **data,
            observations=[ObservationOut.model_validate(o) for o in experiment.observations],
            verdict=experiment_verdict(experiment).value,
        )

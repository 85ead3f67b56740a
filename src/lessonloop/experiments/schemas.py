"""What goes in and out about experiments; the verdict is computed, never stored."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lessonloop import limits
from lessonloop.experiments.models import Experiment
from lessonloop.experiments.service import experiment_verdict
from lessonloop.fields import Day, OptionalDay, Text, When


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


class AddExperiment(BaseModel):
    """A small bet on a corrective action, with its success criterion."""

    model_config = ConfigDict(extra="forbid", title="ExperimentIn")
    action_id: int = Field(description="The corrective action this experiment validates.")
    hypothesis: Text = Field(
        min_length=1, max_length=limits.LONG_TEXT_MAX, examples=["Dated checks catch slips early"]
    )
    metric: Text = Field(
        min_length=1, max_length=limits.SHORT_TEXT_MAX, examples=["slipped dependencies per quarter"]
    )
    comparator: Literal[">=", "<=", "=", "==", ">", "<"]
    threshold: float
    start_date: OptionalDay = Field(default=None, description="Default: today.")
    end_date: Day = Field(description="YYYY-MM-DD, today, tomorrow or +7d / +2w.")

    def fields(self) -> dict[str, Any]:
        """The service's keyword arguments (a missing start is today)."""
        return {**self.model_dump(), "start_date": self.start_date or dt.date.today()}


class RecordObservation(BaseModel):
    """One measurement of an experiment's metric."""

    model_config = ConfigDict(extra="forbid", title="ObservationIn")
    value: float
    observed_at: When = Field(default=None, description="Default: now.")
    note: str = Field(default="", max_length=limits.NOTE_MAX)


class EditExperiment(BaseModel):
    """Correct an experiment: its hypothesis, metric, success criterion or dates. Only the fields
    sent change; the verdict is recomputed from the new criterion."""

    model_config = ConfigDict(extra="forbid", title="ExperimentPatch")
    hypothesis: str | None = Field(default=None, min_length=1, max_length=limits.LONG_TEXT_MAX)
    metric: str | None = Field(default=None, min_length=1, max_length=limits.SHORT_TEXT_MAX)
    comparator: Literal[">=", "<=", "=", "==", ">", "<"] | None = None
    threshold: float | None = None
    start_date: OptionalDay = Field(default=None, description="YYYY-MM-DD, today or +7d.")
    end_date: OptionalDay = Field(default=None, description="YYYY-MM-DD, today or +7d.")

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name."""
        return self.model_dump(exclude_unset=True)


class EditObservation(BaseModel):
    """Correct a measurement: only the fields sent change; the verdict is recomputed."""

    model_config = ConfigDict(extra="forbid", title="ObservationPatch")
    value: float | None = None
    observed_at: When = Field(default=None, description="When it was measured.")
    note: str | None = Field(default=None, max_length=limits.NOTE_MAX)

    def changes(self) -> dict[str, Any]:
        """The fields that were sent (a partial change), by name."""
        return self.model_dump(exclude_unset=True)

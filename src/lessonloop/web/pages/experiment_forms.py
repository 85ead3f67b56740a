"""The prefilled forms that correct an experiment and its observations on the experiment's page
(shown by :mod:`lessonloop.web.pages.actions`, posted to :mod:`lessonloop.web.pages.revising`)."""

from __future__ import annotations

from typing import Any

from lessonloop.experiments.models import Experiment, Observation
from lessonloop.web.forms import Form as PageForm

OBSERVATION_FIELDS = ("value", "observed_at", "note")
EXPERIMENT_EDIT_FIELDS = ("hypothesis", "metric", "comparator", "threshold", "start_date", "end_date")


def experiment_values(experiment: Experiment) -> dict[str, Any]:
    return {
        "hypothesis": experiment.hypothesis,
        "metric": experiment.metric,
        "comparator": experiment.comparator,
        "threshold": _number(experiment.threshold),
        "start_date": experiment.start_date.isoformat(),
        "end_date": experiment.end_date.isoformat(),
    }


def _number(value: float) -> str:
    """``2.0`` → ``"2"``: what a person types, so an untouched field is not a change."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def experiment_edit_form(experiment: Experiment) -> PageForm:
    return PageForm(EXPERIMENT_EDIT_FIELDS, experiment_values(experiment))


def observation_values(observation: Observation) -> dict[str, Any]:
    return {
        "value": _number(observation.value),
        "observed_at": observation.observed_at.date().isoformat(),
        "note": observation.note,
    }


def observation_edit_form(observation: Observation) -> PageForm:
    return PageForm(OBSERVATION_FIELDS, observation_values(observation))

"""Act: small bets with explicit success criteria that validate a corrective action."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.coerce import as_date, as_datetime, as_float, as_text
from lessonloop.errors import Invalid
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.verdict import Verdict, check_comparator, verdict
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404


def add_experiment(
    session: Session,
    *,
    action_id: int | str,
    hypothesis: str,
    metric: str,
    comparator: str,
    threshold: Any,
    start_date: Any,
    end_date: Any,
) -> Experiment:
    action = get_or_404(session, Action, action_id)
    start = as_date(start_date, "start_date")
    end = as_date(end_date, "end_date")
    if end < start:
        raise Invalid("must be on or after the start date", field="end_date")
    experiment = Experiment(
        action_id=action.id,
        hypothesis=as_text(hypothesis, "hypothesis", required=True),
        metric=as_text(metric, "metric", required=True, max_len=200),
        comparator=check_comparator(comparator),
        threshold=as_float(threshold, "threshold"),
        start_date=start,
        end_date=end,
    )
    session.add(experiment)
    session.flush()
    return experiment


def get_experiment(session: Session, experiment_id: int | str) -> Experiment:
    return get_or_404(session, Experiment, experiment_id)


def record_observation(
    session: Session, experiment_id: int | str, *, value: Any, observed_at: Any = None, note: str = ""
) -> Observation:
    experiment = get_experiment(session, experiment_id)
    observation = Observation(
        value=as_float(value, "value"),
        observed_at=as_datetime(observed_at, "observed_at") if observed_at not in (None, "") else utcnow(),
        note=as_text(note, "note"),
    )
    experiment.observations.append(observation)
    session.flush()
    return observation


def experiment_verdict(experiment: Experiment) -> Verdict:
    ordered = sorted(experiment.observations, key=lambda o: (o.observed_at, o.id))
    return verdict(experiment.comparator, experiment.threshold, [o.value for o in ordered])


def experiments_for_actions(session: Session, action_ids: list[int]) -> list[Experiment]:
    if not action_ids:
        return []
    stmt = select(Experiment).where(Experiment.action_id.in_(action_ids)).order_by(Experiment.id)
    return list(session.scalars(stmt))


def list_experiments(session: Session, *, action_id: int | None = None) -> list[Experiment]:
    stmt = select(Experiment).order_by(Experiment.id)
    if action_id is not None:
        stmt = stmt.where(Experiment.action_id == action_id)
    return list(session.scalars(stmt))

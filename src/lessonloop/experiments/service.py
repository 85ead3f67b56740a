"""Act: small bets with explicit success criteria that validate a corrective action.

``viewer`` is required (:mod:`lessonloop.access.scope`): a named system job is let through; for a person an
experiment is seen by whoever may see its action's failure, and run (added to, observed) by the
action's owner or whoever may change the failure.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import visible_experiments_clause
from lessonloop.access.scope import require_action_workable, require_failure_seen, where_visible
from lessonloop.actions.models import Action
from lessonloop.coerce import as_date, as_datetime, as_float, as_text
from lessonloop.errors import Invalid
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.verdict import Verdict, check_comparator, verdict
from lessonloop.failures.models import Failure
from lessonloop.store.base import utcnow
from lessonloop.store.crud import get_or_404, id_in_range


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
    viewer: Actor,
) -> Experiment:
    action = get_or_404(session, Action, action_id)
    if is_person(viewer):
        require_action_workable(viewer, action, _failure_of(session, action))
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


def _failure_of(session: Session, action: Action) -> Failure:
    failure = session.get(Failure, action.failure_id)
    assert failure is not None  # a foreign key
    return failure


def _action_of(session: Session, experiment: Experiment) -> Action:
    action = session.get(Action, experiment.action_id)
    assert action is not None  # a foreign key
    return action


def get_experiment(session: Session, experiment_id: int | str, *, viewer: Actor) -> Experiment:
    """An experiment; 404 when ``viewer`` may not see its action's failure."""
    experiment = get_or_404(session, Experiment, experiment_id)
    if is_person(viewer):
        require_failure_seen(viewer, _failure_of(session, _action_of(session, experiment)))
    return experiment


def record_observation(
    session: Session,
    experiment_id: int | str,
    *,
    value: Any,
    observed_at: Any = None,
    note: str = "",
    viewer: Actor,
) -> Observation:
    experiment = get_or_404(session, Experiment, experiment_id)
    if is_person(viewer):
        action = _action_of(session, experiment)
        require_action_workable(viewer, action, _failure_of(session, action))
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


def experiments_for_actions(session: Session, action_ids: list[int], *, viewer: Actor) -> list[Experiment]:
    require_actor(viewer)
    if not action_ids:
        return []
    stmt = select(Experiment).where(Experiment.action_id.in_(action_ids)).order_by(Experiment.id)
    return list(session.scalars(stmt))


def list_experiments(session: Session, *, action_id: int | None = None, viewer: Actor) -> list[Experiment]:
    """Experiments, oldest first; only those of failures ``viewer`` may see."""
    stmt = where_visible(select(Experiment), viewer, visible_experiments_clause(viewer)).order_by(
        Experiment.id
    )
    if action_id is not None:
        stmt = stmt.where(Experiment.action_id == action_id if id_in_range(action_id) else false())
    return list(session.scalars(stmt))

"""Act: small bets with explicit success criteria that validate a corrective action.

``viewer`` is required (:mod:`lessonloop.access.scope`): a named system job is let through; for a person an
experiment is seen by whoever may see its action's failure, and run (added to, observed) by the
action's owner or whoever may change the failure — the same people edit or delete it and correct
or delete its observations (404 when the viewer may not see the failure, 403 when they may see but
not run it). The verdict is never stored, so a correction changes it at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import visible_experiments_clause, visible_failures_clause
from lessonloop.access.scope import require_action_workable, require_failure_seen, where_visible
from lessonloop.actions.models import Action
from lessonloop.coerce import as_date, as_datetime, as_float, as_text
from lessonloop.errors import Invalid, NotFound
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


def get_workable_experiment(session: Session, experiment_id: int | str, *, viewer: Actor) -> Experiment:
    """The experiment if ``viewer`` may run it (edit it, record or correct observations): 404 when
    they may not see its failure, 403 when they may see but neither own the action nor change the
    failure."""
    experiment = get_or_404(session, Experiment, experiment_id)
    if is_person(viewer):
        action = _action_of(session, experiment)
        require_action_workable(viewer, action, _failure_of(session, action))
    return experiment


EDITABLE_EXPERIMENT_FIELDS = frozenset(
    {"hypothesis", "metric", "comparator", "threshold", "start_date", "end_date"}
)


def edit_experiment(
    session: Session, experiment_id: int | str, changes: Mapping[str, Any], *, viewer: Actor
) -> Experiment:
    """Correct the hypothesis, metric, success criterion (comparator, threshold) or dates; only
    the fields in ``changes`` change. The end stays on or after the start."""
    experiment = get_workable_experiment(session, experiment_id, viewer=viewer)
    unknown = set(changes) - EDITABLE_EXPERIMENT_FIELDS
    if unknown:
        raise Invalid("cannot be changed", field=sorted(unknown)[0])
    for key, value in changes.items():
        if key == "hypothesis":
            experiment.hypothesis = as_text(value, "hypothesis", required=True)
        elif key == "metric":
            experiment.metric = as_text(value, "metric", required=True, max_len=200)
        elif key == "comparator":
            experiment.comparator = check_comparator(value or "")
        elif key == "threshold":
            experiment.threshold = as_float(value, "threshold")
        elif key in ("start_date", "end_date"):
            if value in (None, ""):
                raise Invalid("is required", field=key)
            setattr(experiment, key, as_date(value, key))
    if experiment.end_date < experiment.start_date:
        raise Invalid("must be on or after the start date", field="end_date")
    session.flush()
    return experiment


def _observation_of(experiment: Experiment, observation_id: int | str) -> Observation:
    """One of the experiment's observations; 404 for any other id (another experiment's too)."""
    for observation in experiment.observations:
        if str(observation.id) == str(observation_id).strip():
            return observation
    raise NotFound(
        f"no observation with id {observation_id} on experiment {experiment.id}", field="observation_id"
    )


EDITABLE_OBSERVATION_FIELDS = frozenset({"value", "observed_at", "note"})


def edit_observation(
    session: Session,
    experiment_id: int | str,
    observation_id: int | str,
    changes: Mapping[str, Any],
    *,
    viewer: Actor,
) -> Observation:
    """Correct a measurement's value, time or note; the verdict follows (the latest decides)."""
    experiment = get_workable_experiment(session, experiment_id, viewer=viewer)
    observation = _observation_of(experiment, observation_id)
    unknown = set(changes) - EDITABLE_OBSERVATION_FIELDS
    if unknown:
        raise Invalid("cannot be changed", field=sorted(unknown)[0])
    for key, value in changes.items():
        if key == "value":
            observation.value = as_float(value, "value")
        elif key == "observed_at":
            if value in (None, ""):
                raise Invalid("is required", field="observed_at")
            observation.observed_at = as_datetime(value, "observed_at")
        elif key == "note":
            observation.note = as_text(value or "", "note")
    session.flush()
    return observation


def delete_observation(
    session: Session, experiment_id: int | str, observation_id: int | str, *, viewer: Actor
) -> Experiment:
    """Delete a mistaken measurement (the history keeps what it said); returns the experiment,
    whose verdict is now decided by the latest remaining observation."""
    experiment = get_workable_experiment(session, experiment_id, viewer=viewer)
    observation = _observation_of(experiment, observation_id)
    experiment.observations.remove(observation)
    session.delete(observation)  # explicitly, so the history log records the delete
    session.flush()
    return experiment


def delete_experiment(session: Session, experiment_id: int | str, *, viewer: Actor) -> int:
    """Delete an experiment set up by mistake, with its observations (the history keeps what each
    said); returns the failure it was on. Who may: whoever may run it (404/403 as for editing)."""
    experiment = get_workable_experiment(session, experiment_id, viewer=viewer)
    failure_id = _action_of(session, experiment).failure_id
    for observation in list(experiment.observations):  # explicitly, so each delete is in the history
        experiment.observations.remove(observation)
        session.delete(observation)
    session.delete(experiment)
    session.flush()
    return failure_id


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
    if is_person(viewer):
        # The visibility rule on each experiment's own failure (two primary-key lookups per
        # experiment), not ``visible_experiments_clause``'s set of every visible action, which
        # cost a scan of all actions and failures even with no experiment (decision 43).
        stmt = (
            select(Experiment)
            .join(Action, Action.id == Experiment.action_id)
            .join(Failure, Failure.id == Action.failure_id)
            .where(visible_failures_clause(viewer))
            .order_by(Experiment.id)
        )
    else:
        stmt = where_visible(select(Experiment), viewer, visible_experiments_clause(viewer)).order_by(
            Experiment.id
        )
    if action_id is not None:
        stmt = stmt.where(Experiment.action_id == action_id if id_in_range(action_id) else false())
    return list(session.scalars(stmt))

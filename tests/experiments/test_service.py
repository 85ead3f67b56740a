from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lessonloop.actions.service import add_action
from lessonloop.errors import Invalid, NotFound
from lessonloop.experiments.schemas import ExperimentOut
from lessonloop.experiments.service import add_experiment, experiment_verdict, record_observation
from tests.factories import SYSTEM, failure, team_with_people


def _experiment(session: Session):  # type: ignore[no-untyped-def]
    team_with_people(session)
    action = add_action(
        session,
        failure_id=failure(session).id,
        title="Canary 5%",
        owner="ben",
        due_date="2026-12-01",
        backfill=True,
        viewer=SYSTEM,
    )
    return add_experiment(
        session,
        action_id=action.id,
        hypothesis="Canary catches data-loss bugs before 100% rollout",
        metric="edge-case data loss events per 10k writes",
        comparator="<=",
        threshold=0,
        start_date="2026-12-01",
        end_date="2026-12-14",
        viewer=SYSTEM,
    )


def test_verdict_follows_observations(session: Session) -> None:
    exp = _experiment(session)
    assert experiment_verdict(exp) == "inconclusive"
    record_observation(session, exp.id, value=2, observed_at="2026-12-02T10:00:00", viewer=SYSTEM)
    assert experiment_verdict(exp) == "failed"
    record_observation(session, exp.id, value=0, observed_at="2026-12-09T10:00:00", viewer=SYSTEM)
    assert ExperimentOut.of(exp).verdict == "passed"


def test_bad_experiment_input(session: Session) -> None:
    exp = _experiment(session)
    with pytest.raises(Invalid) as err:
        record_observation(session, exp.id, value="many", viewer=SYSTEM)
    assert err.value.field == "value"
    with pytest.raises(NotFound):
        record_observation(session, 999, value=1, viewer=SYSTEM)
    with pytest.raises(Invalid) as err:
        add_experiment(
            session,
            action_id=exp.action_id,
            hypothesis="h",
            metric="m",
            comparator=">=",
            threshold=1,
            start_date="2026-12-10",
            end_date="2026-12-01",
            viewer=SYSTEM,
        )
    assert err.value.field == "end_date"

"""Correcting an experiment and its observations: the verdict follows, the history says who."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access import viewer_for
from lessonloop.actions.models import Action
from lessonloop.actions.service import add_action
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.experiments.service import (
    add_experiment,
    delete_experiment,
    delete_observation,
    edit_experiment,
    edit_observation,
    experiment_verdict,
    get_experiment,
    record_observation,
)
from lessonloop.people.service import add_member, add_person, get_person
from lessonloop.store.history import HistoryEntry, list_history
from tests.factories import SYSTEM, failure, team_with_people

TODAY = dt.date.today()


def _experiment(session: Session) -> tuple[int, list[int]]:
    """Success if the latest value is >= 3; observations 1 then 5 (passed); ben owns the action."""
    people = team_with_people(session)
    f = failure(session, team=people["team"].id, reporter="ana")
    action = add_action(
        session,
        failure_id=f.id,
        title="Add a dated check",
        owner="ben",
        due_date=(TODAY + dt.timedelta(days=7)).isoformat(),
        viewer=SYSTEM,
    )
    experiment = add_experiment(
        session,
        action_id=action.id,
        hypothesis="A dated check helps",
        metric="dated deps",
        comparator=">=",
        threshold=3,
        start_date=TODAY.isoformat(),
        end_date=(TODAY + dt.timedelta(days=30)).isoformat(),
        viewer=SYSTEM,
    )
    ids = [
        record_observation(
            session, experiment.id, value=v, observed_at=dt.datetime(2026, 1, d, tzinfo=dt.UTC), viewer=SYSTEM
        ).id
        for v, d in ((1, 1), (5, 2))
    ]
    return experiment.id, ids


def _viewer(session: Session, handle: str):  # type: ignore[no-untyped-def]
    return viewer_for(session, get_person(session, handle, viewer=SYSTEM))


def test_editing_the_criterion_recomputes_the_verdict_and_is_in_the_history(session: Session) -> None:
    eid, _ids = _experiment(session)
    experiment = edit_experiment(
        session, eid, {"comparator": "<=", "threshold": 2}, viewer=_viewer(session, "ben")
    )
    assert experiment_verdict(experiment).value == "failed"
    last = list_history(session, "experiment", eid)[-1]
    assert (last.action, last.actor) == ("update", "tester")
    assert last.changes["comparator"] == [">=", "<="] and last.changes["threshold"] == [3.0, 2.0]


def test_an_experiment_edit_keeps_its_dates_in_order(session: Session) -> None:
    eid, _ids = _experiment(session)
    with pytest.raises(Invalid) as err:
        edit_experiment(session, eid, {"end_date": (TODAY - dt.timedelta(days=1)).isoformat()}, viewer=SYSTEM)
    assert err.value.field == "end_date"
    with pytest.raises(Invalid):
        edit_experiment(session, eid, {"action_id": 1}, viewer=SYSTEM)


def test_correcting_the_latest_observation_changes_the_verdict(session: Session) -> None:
    eid, (first, latest) = _experiment(session)
    edit_observation(session, eid, latest, {"value": 2, "note": "misread"}, viewer=SYSTEM)
    assert experiment_verdict(get_experiment(session, eid, viewer=SYSTEM)).value == "failed"
    # moving the first observation after the other makes it the latest: 1 < 3 still fails
    edit_observation(session, eid, first, {"observed_at": "2026-01-03"}, viewer=SYSTEM)
    edit_observation(session, eid, latest, {"value": 4}, viewer=SYSTEM)
    assert experiment_verdict(get_experiment(session, eid, viewer=SYSTEM)).value == "failed"
    assert list_history(session, "observation", latest)[-1].changes["value"] == [2.0, 4.0]


def test_deleting_an_observation_leaves_the_history_and_recomputes(session: Session) -> None:
    eid, (first, latest) = _experiment(session)
    experiment = delete_observation(session, eid, latest, viewer=SYSTEM)
    assert [o.id for o in experiment.observations] == [first]
    assert experiment_verdict(experiment).value == "failed"
    gone = session.scalars(
        select(HistoryEntry)
        .where(HistoryEntry.record_type == "observation", HistoryEntry.record_id == latest)
        .order_by(HistoryEntry.id.desc())
    ).first()
    assert gone is not None and (gone.action, gone.actor, gone.changes["value"]) == (
        "delete",
        "tester",
        [5.0, None],
    )
    with pytest.raises(NotFound):
        delete_observation(session, eid, latest, viewer=SYSTEM)


def test_an_observation_of_another_experiment_is_not_found(session: Session) -> None:
    eid, (first, _latest) = _experiment(session)
    other = add_experiment(
        session,
        action_id=get_experiment(session, eid, viewer=SYSTEM).action_id,
        hypothesis="h",
        metric="m",
        comparator=">",
        threshold=0,
        start_date=TODAY.isoformat(),
        end_date=TODAY.isoformat(),
        viewer=SYSTEM,
    )
    with pytest.raises(NotFound):
        edit_observation(session, other.id, first, {"value": 1}, viewer=SYSTEM)


def test_who_may_correct_an_experiment(session: Session) -> None:
    eid, (first, _latest) = _experiment(session)
    cy = add_person(session, name="Cy Member", handle="cy", viewer=SYSTEM)
    add_member(session, team="Payments", person=cy, role="member", viewer=SYSTEM)
    with pytest.raises(PermissionDenied):  # sees the failure, neither owns the action nor edits it
        edit_observation(session, eid, first, {"value": 9}, viewer=_viewer(session, "cy"))
    add_person(session, name="Olga Out", handle="olga", viewer=SYSTEM)
    with pytest.raises(NotFound):  # may not see the team failure
        edit_experiment(session, eid, {"threshold": 1}, viewer=_viewer(session, "olga"))
    with pytest.raises(NotFound):
        delete_observation(session, eid, first, viewer=_viewer(session, "olga"))
    assert edit_observation(session, eid, first, {"value": 9}, viewer=_viewer(session, "ana")).value == 9


def test_deleting_an_experiment_takes_its_observations_and_keeps_their_history(session: Session) -> None:
    eid, (first, latest) = _experiment(session)
    action = session.get(Action, get_experiment(session, eid, viewer=SYSTEM).action_id)
    assert action is not None
    cy = add_person(session, name="Cy Member", handle="cy", viewer=SYSTEM)
    add_member(session, team="Payments", person=cy, role="member", viewer=SYSTEM)
    with pytest.raises(PermissionDenied):  # sees the failure, neither owns the action nor edits it
        delete_experiment(session, eid, viewer=_viewer(session, "cy"))
    add_person(session, name="Olga Out", handle="olga", viewer=SYSTEM)
    with pytest.raises(NotFound):  # may not see the team failure
        delete_experiment(session, eid, viewer=_viewer(session, "olga"))
    assert session.get(Experiment, eid) is not None
    failure_id = delete_experiment(session, eid, viewer=_viewer(session, "ben"))  # the action's owner
    assert session.get(Experiment, eid) is None
    assert session.scalars(select(Observation.id).where(Observation.id.in_([first, latest]))).all() == []
    deletes = session.scalars(
        select(HistoryEntry).where(HistoryEntry.action == "delete").order_by(HistoryEntry.id)
    ).all()
    assert [(h.record_type, h.record_id, h.actor) for h in deletes] == [
        ("observation", first, "tester"),
        ("observation", latest, "tester"),
        ("experiment", eid, "tester"),
    ]
    assert deletes[-1].changes["hypothesis"] == ["A dated check helps", None]
    assert failure_id == action.failure_id  # where the pages go back to
    with pytest.raises(NotFound):
        delete_experiment(session, eid, viewer=SYSTEM)

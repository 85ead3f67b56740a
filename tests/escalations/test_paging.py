"""Escalations a page at a time: the same ones as the whole list, in its order, for every viewer."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import MissingActor
from lessonloop.access.viewer import viewer_for
from lessonloop.errors import Invalid
from lessonloop.escalations import service
from lessonloop.escalations.models import Escalation
from lessonloop.escalations.service import escalations_page, list_escalations, owner_choices, possible_owners
from lessonloop.people.service import add_member, add_person, add_team, get_person
from tests.access.world import make_admin
from tests.factories import SYSTEM, failure, team_with_people

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _world(session: Session) -> dict[str, object]:
    """Eleven escalations over failures of two teams, one private failure among them, opened a
    day apart (and two on the same day, so the id breaks the tie)."""
    payments = team_with_people(session)
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    gil = add_person(session, name="Gil Lead", handle="gil", viewer=SYSTEM)
    add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
    boss = add_person(session, name="Org Admin", handle="boss", viewer=SYSTEM)
    make_admin(session, boss)
    kinds = {
        "payments": failure(session, visibility="team", team=payments["team"].id).id,
        "growth": failure(session, visibility="team", team=growth.id).id,
        "org": failure(session, visibility="org").id,
        "private": failure(session, visibility="private", team=growth.id).id,
    }
    mixes = ["payments", "growth", "org", "payments", "private", "growth", "org", "payments", "growth", "org"]
    for i, kind in enumerate([*mixes, "payments"]):
        session.add(
            Escalation(
                rule="label",
                subject_key=f"k{i}",
                subject=f"pattern {i}",
                team_id=None,
                support_route="team-lead",
                failure_ids=[kinds[kind], kinds["org"]],
                count=2,
                window_days=30,
                explanation="",
                opened_at=START + dt.timedelta(days=min(i, 9)),
            )
        )
    session.flush()
    return {"payments": payments["team"].id, "growth": growth.id}


@pytest.mark.parametrize("batch", [1, 2, 3, 25])
@pytest.mark.parametrize("per_page", [1, 2, 4, 20])
def test_pages_are_the_list_cut_into_pages_for_every_viewer(
    session: Session, monkeypatch: pytest.MonkeyPatch, batch: int, per_page: int
) -> None:
    _world(session)
    monkeypatch.setattr(service, "PAGE_BATCH", batch)
    viewers = [SYSTEM] + [
        viewer_for(session, get_person(session, handle, viewer=SYSTEM))
        for handle in ("ana", "ben", "gil", "boss")
    ]
    for viewer in viewers:
        whole = [e.id for e in list_escalations(session, viewer=viewer)]
        paged: list[int] = []
        page = 1
        while True:
            got = escalations_page(session, page=page, per_page=per_page, viewer=viewer)
            assert got.page == page and len(got.items) <= per_page
            paged += [e.id for e in got.items]
            if not got.has_more:
                break
            assert len(got.items) == per_page
            page += 1
        assert paged == whole, viewer
    # the viewers see different escalations: the paging does not just pass everything through
    counts = {len(list_escalations(session, viewer=v)) for v in viewers}
    assert len(counts) > 1


def test_a_page_reads_the_failure_lists_of_its_own_escalations_only(session: Session) -> None:
    """The rounds read escalations without their lists of failures (the database checks them);
    the page's own escalations get theirs, as stored, in one more statement."""
    _world(session)
    ana = viewer_for(session, get_person(session, "ana", viewer=SYSTEM))
    session.expunge_all()  # nothing already loaded: read as a fresh request would
    stored = {eid: ids for eid, ids in session.execute(select(Escalation.id, Escalation.failure_ids))}
    loaded: list[Escalation] = []  # held here: the session's identity map keeps weak references

    def keep(target: Escalation, _context: object) -> None:
        loaded.append(target)

    event.listen(Escalation, "load", keep)
    try:
        got = escalations_page(session, page=1, per_page=2, viewer=ana)
    finally:
        event.remove(Escalation, "load", keep)
    assert len(got.items) == 2 and got.has_more
    assert all("failure_ids" not in inspect(e).unloaded for e in got.items)
    assert {e.id: e.failure_ids for e in got.items} == {e.id: stored[e.id] for e in got.items}
    passed_over = [e for e in loaded if e not in got.items]
    assert passed_over and all("failure_ids" in inspect(e).unloaded for e in passed_over)


def test_a_page_past_the_end_is_empty(session: Session) -> None:
    _world(session)
    ana = viewer_for(session, get_person(session, "ana", viewer=SYSTEM))
    got = escalations_page(session, page=50, per_page=20, viewer=ana)
    assert got.items == [] and not got.has_more


def test_filters_apply_as_in_the_list(session: Session) -> None:
    teams = _world(session)
    e = session.query(Escalation).filter_by(subject_key="k3").one()
    e.team_id = teams["payments"]
    e.status = "acknowledged"
    session.flush()
    ana = viewer_for(session, get_person(session, "ana", viewer=SYSTEM))
    assert [x.id for x in escalations_page(session, team_id=teams["payments"], viewer=ana).items] == [e.id]
    assert [x.id for x in escalations_page(session, status="acknowledged", viewer=ana).items] == [e.id]


@pytest.mark.parametrize("page, per_page", [(0, 20), (-1, 20), (1, 0)])
def test_bad_page_numbers_are_refused(session: Session, page: int, per_page: int) -> None:
    with pytest.raises(Invalid):
        escalations_page(session, page=page, per_page=per_page, viewer=SYSTEM)


def test_a_page_needs_a_viewer(session: Session) -> None:
    with pytest.raises(MissingActor):
        escalations_page(session, viewer=None)  # type: ignore[arg-type]


def test_owner_choices_for_a_page_are_possible_owners_of_each(session: Session) -> None:
    _world(session)
    escalations = list_escalations(session, viewer=SYSTEM)
    for handle in ("ana", "gil", "boss"):
        viewer = viewer_for(session, get_person(session, handle, viewer=SYSTEM))
        choices = owner_choices(session, escalations, viewer=viewer)
        # only the escalations the viewer may see are answered for
        assert sorted(choices) == sorted(e.id for e in list_escalations(session, viewer=viewer))
        for eid, people in choices.items():
            assert people == possible_owners(session, eid, viewer=viewer)
    assert (
        len({tuple(p.id for p in v) for v in owner_choices(session, escalations, viewer=SYSTEM).values()}) > 1
    )

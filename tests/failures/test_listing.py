"""The list read as plain rows (failures/listing.py) answers exactly what the ORM path answers.

``GET /api/v1/failures`` writes ``list_failure_rows`` as JSON (``api.common.page_json``); the ORM
path is ``list_failures`` with a ``FailureOut`` per failure. Both are compared byte for byte, on
both backends, for viewers of every kind (a system job, leads, members, people involved, a
reporter in no team, an org admin, a team-role admin, nobody in particular), with every filter,
pages in the middle, at the end and past it, and failures with people, labels and optional
fields of every shape. The kept statements are per viewer: answering one viewer never changes
what the next one sees.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.scope import where_visible
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.api.common import page_json, page_out
from lessonloop.errors import Invalid, NotFound
from lessonloop.failures.counts import visible_failure_total
from lessonloop.failures.listing import list_failure_rows
from lessonloop.failures.models import Failure
from lessonloop.failures.schemas import FailureOut
from lessonloop.failures.service import confirm_repeat, list_failures, transition
from lessonloop.people.service import add_member, add_person, add_team
from tests.factories import SYSTEM, failure, team_with_people

BASE = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
# Mixed case, accents, a non-BMP character and a quote: the order and the escaping must agree.
LABELS = [["db", "Outage"], ["outage", "Äpfel", "zeta"], ["émigré", "😀 emoji", 'a"quote'], []]


def _workspace(session: Session) -> dict[str, Any]:
    people = team_with_people(session)  # Payments: ana lead, ben member
    growth = add_team(session, name="Growth", viewer=SYSTEM)
    gil = add_person(session, name="Gil Grün", handle="gil", email="gil@example.com", viewer=SYSTEM)
    dee = add_person(session, name="Dee Admin", handle="dee", viewer=SYSTEM)
    loner = add_person(session, name='Lone "Reporter"', handle="loner", viewer=SYSTEM)
    add_member(session, team=growth, person=gil, role="lead", viewer=SYSTEM)
    add_member(session, team=growth, person=dee, role="admin", viewer=SYSTEM)
    add_member(session, team=people["team"], person=dee, role="member", viewer=SYSTEM)
    teams = [people["team"], growth, None]
    involved = [[], ["ben"], ["gil", "ana"], ["loner", "dee", "ben"]]
    n = 0
    for visibility in ("org", "team", "private"):
        for team in teams:
            for k in range(4):
                n += 1
                failure(
                    session,
                    title=f"Failure {n}: {visibility} {k}",
                    observation=f"What happened in {n}\nline two ✓",
                    visibility=visibility,
                    team=team,
                    kind="missed-deadline" if n % 3 else "skipped-check",
                    severity=("low", "medium", "high", "critical")[n % 4],
                    reporter=loner if k == 0 else (gil if k == 3 else None),
                    people=involved[(n + k) % 4],
                    labels=LABELS[n % 4],
                    # every third shares one detection time: the id breaks the tie
                    detected_at=BASE if n % 3 == 0 else BASE - dt.timedelta(hours=n),
                    # microseconds on some: written only when there are some
                    occurred_at=(BASE - dt.timedelta(days=n, microseconds=137 * (n % 3))) if n % 2 else None,
                    impact_value=(None, 3, 2.5, 1e6)[n % 4],
                    impact_unit="hours" if n % 4 else None,
                    impact="Lost a day" if n % 5 else "",
                    external_id=f"ext-{n}" if n % 6 == 0 else None,
                    source="postmortems" if n % 7 == 0 else None,
                    company="Acme" if n % 2 == 0 else None,
                    url=f"https://example.com/{n}" if n % 5 == 0 else None,
                )
    # a confirmed repeat and a status change, so status and repeat_of_id vary too
    ids = [f.id for f in list_failures(session, page_size=500, viewer=SYSTEM).items]
    transition(session, ids[0], "in-review", viewer=SYSTEM)
    confirm_repeat(session, ids[0], ids[-1], viewer=SYSTEM)
    return {"growth": growth, "gil": gil, "dee": dee, "loner": loner, **people}


def _viewers(session: Session, w: dict[str, Any]) -> list[Actor]:
    return [
        SYSTEM,
        viewer_for(session, w["ana"]),  # lead of Payments
        viewer_for(session, w["ben"]),  # member of Payments, involved in others
        viewer_for(session, w["gil"]),  # lead of Growth, reporter of some
        viewer_for(session, w["dee"]),  # team-role admin of Growth, member of Payments
        viewer_for(session, w["loner"]),  # in no team, reported some failures
        Viewer(person_id=w["ben"].id, is_admin=True, roles={w["growth"].id: "member"}),  # org admin
        Viewer(person_id=10_000),  # nobody in particular
    ]


def _orm(session: Session, viewer: Actor, **kw: Any) -> bytes:
    return (
        page_out(list_failures(session, viewer=viewer, **kw), FailureOut.model_validate)
        .model_dump_json(by_alias=True)
        .encode()
    )


def _rows(session: Session, viewer: Actor, **kw: Any) -> bytes:
    return page_json(list_failure_rows(session, viewer=viewer, **kw))


FILTERS: list[dict[str, Any]] = [
    {},
    {"status": "observed"},
    {"status": "repeated"},
    {"kind": "skipped-check"},
    {"severity": "high"},
    {"label": "outage"},
    {"label": "Äpfel"},
    {"team": "Growth"},
    {"since": (BASE - dt.timedelta(hours=20)).isoformat()},
    {"until": (BASE - dt.timedelta(hours=10)).isoformat(), "kind": "missed-deadline"},
    {"team": "Payments", "severity": "low", "label": "db"},
]


def test_the_rows_answer_the_same_json_as_the_orm(session: Session) -> None:
    w = _workspace(session)
    session.flush()
    for viewer in _viewers(session, w):
        for filters in FILTERS:
            for page, page_size in ((1, 50), (1, 5), (2, 5), (3, 7), (50, 5)):
                kw = {**filters, "page": page, "page_size": page_size}
                assert _rows(session, viewer, **kw) == _orm(session, viewer, **kw), (viewer, kw)


def test_the_total_is_the_count_of_the_visible_failures(session: Session) -> None:
    """Also for a lead's own private failure of no team: the kept-counts total missed those
    (a NULL team in the lead-teams test made the whole-group clause NULL), fixed with 0025."""
    w = _workspace(session)
    for viewer in _viewers(session, w):
        visible = where_visible(select(Failure.id), viewer, visible_failures_clause(viewer))
        counted = session.scalar(select(func.count()).select_from(visible.subquery()))
        assert list_failure_rows(session, page_size=5, viewer=viewer).total == counted, viewer
        assert visible_failure_total(session, viewer=viewer) == counted, viewer


def test_a_page_of_everything_has_what_the_failures_hold(session: Session) -> None:
    w = _workspace(session)
    page = list_failure_rows(session, page_size=500, viewer=SYSTEM)
    assert page.total == 36 and len(page.items) == 36
    # (their order is the database's collation: the comparison with the ORM above checks it)
    assert {frozenset(item["labels"]) for item in page.items} == {frozenset(labels) for labels in LABELS}
    with_people = [item for item in page.items if len(item["people"]) == 3]
    assert with_people and list(with_people[0]["people"][0]) == ["id", "handle", "name", "email"]
    assert [p["id"] for p in with_people[0]["people"]] == sorted(p["id"] for p in with_people[0]["people"])
    assert {item["impact_value"] for item in page.items} == {None, 3.0, 2.5, 1e6}
    # someone in no team who is in none of them sees the org-wide ones and the team ones of no team
    seen = list_failure_rows(session, page_size=500, viewer=Viewer(person_id=10_000)).items
    assert {(item["visibility"], item["team_id"]) for item in seen} == {
        ("org", w["team"].id),
        ("org", w["growth"].id),
        ("org", None),
        ("team", None),
    }


def test_each_viewer_gets_their_own_kept_statement(session: Session) -> None:
    w = _workspace(session)
    viewers = _viewers(session, w)
    # asked in turn, twice: a statement kept for one viewer never answers for another
    for _ in range(2):
        for viewer in viewers:
            assert _rows(session, viewer, page_size=50) == _orm(session, viewer, page_size=50), viewer
    # a viewer whose roles changed is another key: fay, new, then a member, then a lead of Growth
    fay = add_person(session, name="Fay New", handle="fay", viewer=SYSTEM)
    totals = []
    for role in (None, "member", "lead"):
        if role is not None:
            add_member(session, team=w["growth"], person=fay, role=role, viewer=SYSTEM)
        viewer = viewer_for(session, fay)
        totals.append(list_failure_rows(session, page_size=500, viewer=viewer).total)
        assert _rows(session, viewer, page_size=500) == _orm(session, viewer, page_size=500), role
    assert totals[0] < totals[1] < totals[2]
    assert list_failure_rows(session, page_size=500, viewer=Viewer(person_id=fay.id)).total == totals[0]


def test_writes_show_at_once(session: Session) -> None:
    """Nothing but statements is kept: a new failure is in the next page read."""
    w = _workspace(session)
    ben = viewer_for(session, w["ben"])
    before = _rows(session, ben)
    failure(session, title="Brand new", visibility="org", detected_at=BASE + dt.timedelta(days=1))
    after = list_failure_rows(session, viewer=ben)
    assert after.items[0]["title"] == "Brand new" and _rows(session, ben) != before
    assert _rows(session, ben) == _orm(session, ben)


def test_the_same_refusals_as_the_orm_path(session: Session) -> None:
    _workspace(session)
    for kw, error in (
        ({"status": "nonsense"}, Invalid),
        ({"page": 0}, Invalid),
        ({"page_size": 501}, Invalid),
        ({"since": "not a date"}, Invalid),
        ({"team": "No such team"}, NotFound),
    ):
        with pytest.raises(error):
            list_failures(session, viewer=SYSTEM, **kw)
        with pytest.raises(error):
            list_failure_rows(session, viewer=SYSTEM, **kw)
    with pytest.raises(TypeError):
        list_failure_rows(session, viewer=None)  # type: ignore[arg-type]
    # a label with a NUL matches nothing (PostgreSQL refuses it in a query)
    assert _rows(session, SYSTEM, label="a\x00b") == _orm(session, SYSTEM, label="a\x00b")

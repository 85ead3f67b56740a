"""Recognition for learning and correction, not only for wins.

Kinds: ``candid-review`` (said what really happened), ``validated-fix`` (proved a fix with an
experiment), ``shared-lesson`` (wrote up what others need to know) and ``win``. A recognition
may point at the failure, lesson or experiment it is for; with a viewer, one that points at
something the viewer may not see is left out (its note may describe it).

Its author (the person who gave it) or an org admin may correct its note or delete it
(:func:`edit_recognition`, :func:`delete_recognition`); the history log keeps who and what. A
recognition one may not see answers 404, one seen but not theirs to change 403.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from lessonloop.access.actor import Actor, is_person, is_system
from lessonloop.access.policy import (
    visible_failures_clause,
    visible_lessons_clause,
)
from lessonloop.access.scope import not_found, require_failure_seen, require_seen
from lessonloop.access.viewer import RuleKey, Viewer
from lessonloop.actions.models import Action
from lessonloop.coerce import as_datetime, as_enum, as_text
from lessonloop.errors import Invalid, PermissionDenied
from lessonloop.experiments.models import Experiment
from lessonloop.failures.models import Failure
from lessonloop.followthrough.models import Recognition, RecognitionKind
from lessonloop.lessons.models import Lesson
from lessonloop.people.models import Membership, Person
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.crud import get_or_404

KIND_HELP = {
    RecognitionKind.candid_review.value: "candid review — said plainly what really happened",
    RecognitionKind.validated_fix.value: "validated fix — proved a fix works",
    RecognitionKind.shared_lesson.value: "shared lesson — wrote up what others need to know",
    RecognitionKind.win.value: "win",
}


class RecognitionOut(BaseModel):
    id: int
    kind: str
    person: str
    team: str | None
    given_by: str | None
    note: str
    failure_id: int | None
    lesson_id: int | None
    experiment_id: int | None
    created_at: dt.datetime


def recognise(
    session: Session,
    *,
    person: PersonRef,
    kind: str | RecognitionKind,
    note: str = "",
    by: PersonRef | None = None,
    team: TeamRef | None = None,
    failure_id: int | str | None = None,
    lesson_id: int | str | None = None,
    experiment_id: int | str | None = None,
    at: Any = None,
    viewer: Actor,
) -> Recognition:
    """Record recognition. ``team`` defaults to the person's only team, if they have exactly one."""
    row = Recognition(
        person=get_person(session, person, viewer=viewer),
        kind=as_enum(kind, RecognitionKind, "kind").value,
        note=as_text(note, "note", max_len=2000),
    )
    if by not in (None, ""):
        row.given_by = get_person(session, by, field="by", viewer=viewer)
        if row.given_by.id == row.person.id:
            raise Invalid("recognition is given to someone else", field="by")
    if team not in (None, ""):
        row.team = get_team(session, team, viewer=viewer)
    elif len(row.person.memberships) == 1:
        row.team_id = row.person.memberships[0].team_id
    if at not in (None, ""):
        row.created_at = as_datetime(at, "at")
    if failure_id not in (None, ""):
        failure = get_or_404(session, Failure, failure_id)
        require_failure_seen(viewer, failure)
        row.failure_id = failure.id
    if lesson_id not in (None, ""):
        lesson = get_or_404(session, Lesson, lesson_id)
        require_seen(session, viewer, lesson)
        row.lesson_id = lesson.id
    if experiment_id not in (None, ""):
        experiment = get_or_404(session, Experiment, experiment_id)
        require_seen(session, viewer, experiment)
        row.experiment_id = experiment.id
    session.add(row)
    session.flush()
    return row


def get_recognition(session: Session, recognition_id: int | str, *, viewer: Actor) -> Recognition:
    """One recognition; 404 when it points at something ``viewer`` may not see."""
    row = get_or_404(session, Recognition, recognition_id)
    if is_person(viewer):
        visible = session.scalar(
            select(Recognition.id).where(Recognition.id == row.id, visible_recognitions_clause(viewer))
        )
        if visible is None:
            raise not_found(row)
    return row


def can_change_recognition(viewer: Actor, row: Recognition) -> bool:
    """Correct or delete it: the person who gave it, or an org admin (a named system job too)."""
    if is_system(viewer):
        return True
    if not is_person(viewer):
        return False
    return viewer.is_admin or (row.given_by_id is not None and row.given_by_id == viewer.person_id)


def _changeable(session: Session, recognition_id: int | str, viewer: Actor) -> Recognition:
    row = get_recognition(session, recognition_id, viewer=viewer)
    if not can_change_recognition(viewer, row):
        raise PermissionDenied(
            "only the person who gave this recognition or an org admin may change it", field="recognition"
        )
    return row


def edit_recognition(session: Session, recognition_id: int | str, *, note: str, viewer: Actor) -> Recognition:
    """Correct what a recognition says (its note)."""
    row = _changeable(session, recognition_id, viewer)
    row.note = as_text(note, "note", max_len=2000)
    session.flush()
    return row


def delete_recognition(session: Session, recognition_id: int | str, *, viewer: Actor) -> None:
    """Delete a recognition given by mistake; the history log keeps what it said."""
    row = _changeable(session, recognition_id, viewer)
    session.delete(row)
    session.flush()


def visible_recognitions_clause(viewer: Actor) -> Any:
    """Recognitions whose links (if any) the viewer may see; ``None`` = trusted, everything.

    Each link is checked by primary key, correlated to the recognition row (``EXISTS``), not as
    ``failure_id IN (every failure the viewer may see)``: recognitions are few and failures
    many, and the ``IN`` form made SQLite build the whole visible set (tens of thousands of ids
    at 100k failures, ~150 ms) for a handful of lookups.
    """
    if is_system(viewer):
        return true()
    if isinstance(viewer, Viewer):
        return _visible_recognitions_kept(viewer.rule_key())
    return _visible_recognitions(viewer)


@functools.lru_cache(maxsize=512)
def _visible_recognitions_kept(key: RuleKey) -> Any:
    """Built once per rule key (decision 67): the three correlated checks cost ~10 ms to build,
    more than the insights page's count of recognitions took to run."""
    return _visible_recognitions(Viewer.from_rule_key(key))


def _visible_recognitions(viewer: Actor) -> Any:
    f = aliased(Failure)
    failure_ok = exists().where(f.id == Recognition.failure_id, visible_failures_clause(viewer, f))
    lesson = aliased(Lesson)
    lesson_ok = exists().where(lesson.id == Recognition.lesson_id, visible_lessons_clause(viewer, lesson))
    e, a, ef = aliased(Experiment), aliased(Action), aliased(Failure)
    experiment_ok = exists().where(
        e.id == Recognition.experiment_id,
        a.id == e.action_id,
        ef.id == a.failure_id,
        visible_failures_clause(viewer, ef),
    )
    return and_(
        or_(Recognition.failure_id.is_(None), failure_ok),
        or_(Recognition.lesson_id.is_(None), lesson_ok),
        or_(Recognition.experiment_id.is_(None), experiment_ok),
    )


def _team_scope(team_id: int) -> Any:
    """Recognition given within the team, or to one of its members without a team named."""
    members = select(Membership.person_id).where(Membership.team_id == team_id)
    return or_(
        Recognition.team_id == team_id,
        and_(Recognition.team_id.is_(None), Recognition.person_id.in_(members)),
    )


def list_recognitions(
    session: Session,
    *,
    team: TeamRef | None = None,
    person: PersonRef | None = None,
    kind: str | None = None,
    since: Any = None,
    until: Any = None,
    viewer: Actor,
) -> list[Recognition]:
    """The newest first."""
    stmt = select(Recognition).order_by(Recognition.created_at.desc(), Recognition.id.desc())
    if is_person(viewer):
        stmt = stmt.where(visible_recognitions_clause(viewer))
    if team not in (None, ""):
        stmt = stmt.where(_team_scope(get_team(session, team, viewer=viewer).id))
    if person not in (None, ""):
        stmt = stmt.where(Recognition.person_id == get_person(session, person, viewer=viewer).id)
    if kind:
        stmt = stmt.where(Recognition.kind == as_enum(kind, RecognitionKind, "kind").value)
    if since not in (None, ""):
        stmt = stmt.where(Recognition.created_at >= as_datetime(since, "since"))
    if until not in (None, ""):
        stmt = stmt.where(Recognition.created_at < as_datetime(until, "until"))
    return list(session.scalars(stmt))


def recognition_counts(
    session: Session,
    *,
    team_id: int | None = None,
    since: Any = None,
    until: Any = None,
    viewer: Actor,
) -> dict[str, Any]:
    """For the metrics: ``{"total": n, "by_kind": {kind: n, ...}, "by_person": {handle: n}}``.

    Every kind is present (0 when none). ``team_id`` narrows to recognition given within the
    team or to its members; ``since``/``until`` (dates or datetimes) to what was given in that
    window; ``viewer`` to recognition whose linked failure, lesson or experiment they may see.
    """
    stmt = select(Recognition.kind, Person.handle, func.count()).join(
        Person, Person.id == Recognition.person_id
    )
    if team_id is not None:
        stmt = stmt.where(_team_scope(team_id))
    if is_person(viewer):
        stmt = stmt.where(visible_recognitions_clause(viewer))
    if since not in (None, ""):
        stmt = stmt.where(Recognition.created_at >= as_datetime(since, "since"))
    if until not in (None, ""):
        stmt = stmt.where(Recognition.created_at < as_datetime(until, "until"))
    stmt = stmt.group_by(Recognition.kind, Person.handle)
    by_kind = {k.value: 0 for k in RecognitionKind}
    by_person: dict[str, int] = {}
    for kind, handle, count in session.execute(stmt).all():
        by_kind[kind] = by_kind.get(kind, 0) + int(count)
        by_person[handle] = by_person.get(handle, 0) + int(count)
    return {
        "total": sum(by_kind.values()),
        "by_kind": by_kind,
        "by_person": dict(sorted(by_person.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def counts_by_kind(rows: Iterable[Recognition]) -> dict[str, int]:
    """How many of ``rows`` there are of each kind; every kind is present (0 when none)."""
    counts = {k.value: 0 for k in RecognitionKind}
    for row in rows:
        counts[row.kind] = counts.get(row.kind, 0) + 1
    return counts


def recognition_out(row: Recognition) -> RecognitionOut:
    return RecognitionOut(
        id=row.id,
        kind=row.kind,
        person=row.person.handle,
        team=row.team.name if row.team else None,
        given_by=row.given_by.handle if row.given_by else None,
        note=row.note,
        failure_id=row.failure_id,
        lesson_id=row.lesson_id,
        experiment_id=row.experiment_id,
        created_at=row.created_at,
    )

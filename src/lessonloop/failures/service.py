"""Observe: log, change, list and move failures through the loop.

Every function takes a required ``viewer`` (:mod:`lessonloop.access.actor`): a named system job
sees and may change everything; for a person, reads are filtered and a failure they may not
see answers 404, a change they may not make 403. ``None`` is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person, require_actor
from lessonloop.access.policy import visible_failures_clause
from lessonloop.access.scope import require_failure_editable, require_failure_seen, where_visible
from lessonloop.coerce import as_datetime, as_enum, as_float, as_text
from lessonloop.errors import Conflict, Invalid
from lessonloop.failures.counts import visible_failure_total
from lessonloop.failures.lifecycle import LoopFacts, move
from lessonloop.failures.models import (
    Failure,
    FailureKind,
    FailureLabel,
    FailureStatus,
    Severity,
    Visibility,
)
from lessonloop.people.service import PersonRef, TeamRef, get_person, get_team
from lessonloop.store.base import utcnow
from lessonloop.store.crud import Page, get_or_404, paginate


def clean_labels(labels: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for raw in labels:
        label = " ".join(str(raw).replace("\x00", "").split())[:200]
        if label and label.lower() not in seen:
            seen[label.lower()] = label
    return sorted(seen.values())


def log_failure(
    session: Session,
    *,
    title: str,
    observation: str = "",
    kind: str | FailureKind = FailureKind.other,
    severity: str | Severity = Severity.medium,
    visibility: str | Visibility = Visibility.team,
    team: TeamRef | None = None,
    reporter: PersonRef | None = None,
    people: Sequence[PersonRef] = (),
    labels: Iterable[str] = (),
    occurred_at: Any = None,
    detected_at: Any = None,
    impact: str = "",
    impact_value: Any = None,
    impact_unit: str | None = None,
    external_id: str | None = None,
    source: str | None = None,
    company: str | None = None,
    url: str | None = None,
    viewer: Actor,
) -> Failure:
    """Record what happened. Only the title is required: logging must take under a minute.

    With a ``viewer`` (the signed-in person logging it), they are the reporter unless
    ``reporter`` names someone else: a private failure is then never lost to its own author.
    """
    failure = Failure(
        title=as_text(title, "title", required=True, max_len=limits.TITLE_MAX),
        observation=as_text(observation, "observation", max_len=limits.LONG_TEXT_MAX),
        kind=as_enum(kind, FailureKind, "kind").value,
        severity=as_enum(severity, Severity, "severity").value,
        visibility=as_enum(visibility, Visibility, "visibility").value,
        status=FailureStatus.observed.value,
        occurred_at=as_datetime(occurred_at, "occurred_at") if occurred_at not in (None, "") else None,
        detected_at=as_datetime(detected_at, "detected_at") if detected_at not in (None, "") else utcnow(),
        impact=as_text(impact, "impact"),
        impact_value=as_float(impact_value, "impact_value") if impact_value not in (None, "") else None,
        impact_unit=as_text(impact_unit, "impact_unit", max_len=limits.UNIT_MAX) or None,
        external_id=as_text(external_id, "external_id", max_len=limits.SHORT_TEXT_MAX) or None,
        source=as_text(source, "source", max_len=limits.SOURCE_MAX) or None,
        company=as_text(company, "company", max_len=limits.SHORT_TEXT_MAX) or None,
        url=as_text(url, "url", max_len=limits.URL_MAX) or None,
    )
    if failure.occurred_at and failure.occurred_at > failure.detected_at:
        raise Invalid("must not be after detected_at", field="occurred_at")
    if failure.external_id and session.scalar(
        select(Failure.id).where(Failure.external_id == failure.external_id)
    ):
        raise Conflict(
            f"a failure with external id {failure.external_id!r} exists already", field="external_id"
        )
    if team is not None and team != "":
        failure.team = get_team(session, team, viewer=viewer)
    if reporter is not None and reporter != "":
        failure.reporter = get_person(session, reporter, field="reporter", viewer=viewer)
    elif is_person(viewer):
        failure.reporter = get_person(session, viewer.person_id, field="reporter", viewer=viewer)
    failure.people = _people(session, people, viewer=viewer)
    failure.label_rows = [FailureLabel(label=label) for label in clean_labels(labels)]
    session.add(failure)
    session.flush()
    return failure


def _people(session: Session, refs: Sequence[PersonRef], *, viewer: Actor) -> list[Any]:
    found: dict[int, Any] = {}
    for ref in refs:
        person = get_person(session, ref, field="people", viewer=viewer)
        found[person.id] = person
    return list(found.values())


def get_failure(session: Session, failure_id: int | str, *, viewer: Actor) -> Failure:
    """The failure if ``viewer`` may see it (a system job sees every one); 404 otherwise."""
    return get_visible_failure(session, failure_id, viewer)


def get_visible_failure(session: Session, failure_id: int | str, viewer: Actor) -> Failure:
    """The failure if ``viewer`` may see it; 404 (not 403) otherwise, as if it did not exist."""
    require_actor(viewer)
    failure = get_or_404(session, Failure, failure_id)
    require_failure_seen(viewer, failure)
    return failure


def visible_failures_by_id(
    session: Session, failure_ids: Iterable[int], *, viewer: Actor
) -> dict[int, Failure]:
    """id → failure for those of ``failure_ids`` that ``viewer`` may see (filtered in SQL): one
    statement per 900 ids (plus the people and labels they load), where a page listing many
    records of many failures would otherwise ask for each failure alone."""
    require_actor(viewer)
    ids = sorted(set(failure_ids))
    found: dict[int, Failure] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        stmt = select(Failure).where(Failure.id.in_(ids[start : start + 900]))
        for failure in session.scalars(where_visible(stmt, viewer, visible_failures_clause(viewer))):
            found[failure.id] = failure
    return found


def get_editable_failure(session: Session, failure_id: int | str, viewer: Actor) -> Failure:
    """The failure if ``viewer`` may change it: 404 when they may not see it, 403 when they may
    see but not change it."""
    failure = get_failure(session, failure_id, viewer=viewer)
    require_failure_editable(viewer, failure)
    return failure


EDITABLE = frozenset(
    {
        "title",
        "observation",
        "kind",
        "severity",
        "visibility",
        "occurred_at",
        "detected_at",
        "impact",
        "impact_value",
        "impact_unit",
        "team",
        "people",
        "reporter",
        "labels",
        "url",
        "company",
    }
)


def update_failure(
    session: Session, failure_id: int | str, changes: Mapping[str, Any], *, viewer: Actor
) -> Failure:
    failure = get_editable_failure(session, failure_id, viewer)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Invalid(f"cannot be changed: {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    # People and team are looked up before anything changes: a lookup flushes the session, and
    # one edit should be one history row, not one per lookup.
    team = changes.get("team")
    team_obj = get_team(session, team, viewer=viewer) if team not in (None, "") else None
    people = _people(session, changes.get("people") or [], viewer=viewer) if "people" in changes else []
    # Who reported it: correctable like the rest (a failure logged on someone's behalf, or by the
    # wrong person). ``None`` or "" clears it; the history keeps who it was.
    reporter = changes.get("reporter")
    reporter_obj = (
        get_person(session, reporter, field="reporter", viewer=viewer) if reporter not in (None, "") else None
    )
    for key, value in changes.items():
        if key == "title":
            failure.title = as_text(value, "title", required=True, max_len=limits.TITLE_MAX)
        elif key in {"observation", "impact"}:
            setattr(failure, key, as_text(value, key, max_len=limits.LONG_TEXT_MAX))
        elif key == "kind":
            failure.kind = as_enum(value, FailureKind, key).value
        elif key == "severity":
            failure.severity = as_enum(value, Severity, key).value
        elif key == "visibility":
            failure.visibility = as_enum(value, Visibility, key).value
        elif key in {"occurred_at", "detected_at"}:
            setattr(failure, key, as_datetime(value, key) if value not in (None, "") else None)
        elif key == "impact_value":
            failure.impact_value = as_float(value, key) if value not in (None, "") else None
        elif key in {"impact_unit", "url", "company"}:
            setattr(failure, key, as_text(value, key) or None)
        elif key == "team":
            failure.team = team_obj
        elif key == "people":
            failure.people = people
        elif key == "reporter":
            failure.reporter = reporter_obj
        elif key == "labels":
            failure.label_rows = [FailureLabel(label=label) for label in clean_labels(value or [])]
    if failure.detected_at is None:
        raise Invalid("is required", field="detected_at")
    session.flush()
    return failure


def delete_failure(session: Session, failure_id: int | str, *, viewer: Actor) -> None:
    session.delete(get_editable_failure(session, failure_id, viewer))
    session.flush()


def loop_facts(session: Session, failure: Failure, *, viewer: Actor) -> LoopFacts:
    # Imported here: reviews and actions build on failures, not the other way round.
    require_actor(viewer)
    from lessonloop.actions.models import Action, ActionStatus
    from lessonloop.reviews.models import Review, ReviewStatus

    review = session.scalar(select(Review).where(Review.failure_id == failure.id))
    completed = review is not None and review.status == ReviewStatus.completed.value
    closed = False
    if completed and review is not None:
        primary = session.scalar(select(Action).where(Action.review_id == review.id, Action.is_primary))
        closed = primary is not None and (
            primary.status == ActionStatus.done.value
            or (primary.status == ActionStatus.dropped.value and bool(primary.drop_reason.strip()))
        )
    return LoopFacts(review_completed=completed, primary_action_closed=closed)


def transition(
    session: Session, failure_id: int | str, target: str | FailureStatus, *, viewer: Actor
) -> Failure:
    failure = get_editable_failure(session, failure_id, viewer)
    target_status = as_enum(target, FailureStatus, "status")
    if target_status == FailureStatus.repeated:
        raise Conflict("a failure becomes repeated only by confirming what it repeats", field="status")
    move(failure, target_status, loop_facts(session, failure, viewer=viewer))
    session.flush()
    return failure


def confirm_repeat(
    session: Session, failure_id: int | str, repeat_of: int | str, *, viewer: Actor
) -> Failure:
    """Mark ``failure_id`` as a confirmed repeat of an earlier failure (which the viewer must see)."""
    failure = get_editable_failure(session, failure_id, viewer)
    earlier = get_or_404(session, Failure, repeat_of)
    require_failure_seen(viewer, earlier)
    if earlier.id == failure.id:
        raise Invalid("a failure cannot repeat itself", field="repeat_of")
    if earlier.detected_at > failure.detected_at:
        raise Invalid(f"failure {earlier.id} was detected after failure {failure.id}", field="repeat_of")
    move(failure, FailureStatus.repeated, loop_facts(session, failure, viewer=viewer))
    failure.repeat_of_id = earlier.id
    session.flush()
    return failure


def failure_query(
    *,
    team_id: int | None = None,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    label: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[Failure]:
    stmt = select(Failure)
    if team_id is not None:
        stmt = stmt.where(Failure.team_id == team_id)
    if status:
        stmt = stmt.where(Failure.status == as_enum(status, FailureStatus, "status").value)
    if kind:
        stmt = stmt.where(Failure.kind == as_enum(kind, FailureKind, "kind").value)
    if severity:
        stmt = stmt.where(Failure.severity == as_enum(severity, Severity, "severity").value)
    if label:
        # No stored label holds a NUL (clean_labels drops it), and PostgreSQL refuses it in a query.
        stmt = stmt.where(
            Failure.id.in_(select(FailureLabel.failure_id).where(FailureLabel.label == label))
            if "\x00" not in label
            else false()
        )
    if since is not None:
        stmt = stmt.where(Failure.detected_at >= since)
    if until is not None:
        stmt = stmt.where(Failure.detected_at < until)
    return stmt.order_by(Failure.detected_at.desc(), Failure.id.desc())


def list_failures(
    session: Session,
    *,
    team: TeamRef | None = None,
    status: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    label: str | None = None,
    since: Any = None,
    until: Any = None,
    page: int = 1,
    page_size: int = 50,
    viewer: Actor,
) -> Page[Failure]:
    """Failures, the most recently detected first; only those ``viewer`` may see."""
    stmt = failure_query(
        team_id=get_team(session, team, viewer=viewer).id if team not in (None, "") else None,
        status=status,
        kind=kind,
        severity=severity,
        label=label,
        since=as_datetime(since, "since") if since not in (None, "") else None,
        until=as_datetime(until, "until") if until not in (None, "") else None,
    )
    stmt = where_visible(stmt, viewer, visible_failures_clause(viewer))
    filtered = any(v not in (None, "") for v in (team, kind, severity, label, since, until))
    # Unfiltered, or filtered by status only (the dashboard's lists), the total is a sum of kept
    # per-group counts (failures/counts.py, decision 56), not a count of every visible failure;
    # the status as failure_query filtered on it (it has checked it).
    only_status = as_enum(status, FailureStatus, "status").value if status else None
    count = None if filtered else (lambda: visible_failure_total(session, status=only_status, viewer=viewer))
    return paginate(session, stmt, page, page_size, count=count)

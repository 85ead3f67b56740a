"""The failure page's history, readable: who, when (relative and absolute) and "field: old → new"
in the words the pages use, for the failure and the records that belong to it: its review, its
actions, their experiments and observations (deleted ones too: the log keeps what they said), its
timeline entries, comments, links and attachments, the guardrails and recognitions tied to it and
the escalations that list it — each only when the viewer may see it (coaching notes never).

The same lines serve the pages of records that belong to no one failure (guardrails,
recognitions, escalations): :func:`records_history`.

The history log (:mod:`lessonloop.store.history`) keeps column names and raw values (ids, ISO
times); this presenter turns them into lines a person reads. Templates only print its lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, union
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from lessonloop.access.actor import Actor, is_system, require_actor
from lessonloop.access.policy import escalations_seen
from lessonloop.actions.models import Action
from lessonloop.discussion.models import Attachment, Comment, FailureLink, TimelineEntry
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.models import Experiment, Observation
from lessonloop.failures.models import KIND_LABELS, Failure, FailureKind
from lessonloop.followthrough.models import Guardrail, Recognition
from lessonloop.followthrough.recognition import visible_recognitions_clause
from lessonloop.people.models import Person, Team
from lessonloop.reviews.models import Review
from lessonloop.store.base import utcnow
from lessonloop.store.history import HistoryEntry, after_last_delete, histories_of

#: Field labels per record type, as the pages name the fields (a column not listed is shown with
#: its name made readable).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "failure": {
        "title": "Title",
        "observation": "Description",
        "impact": "Impact",
        "impact_value": "Impact value",
        "impact_unit": "Impact unit",
        "kind": "Kind",
        "severity": "Severity",
        "visibility": "Who may see it",
        "status": "Status",
        "occurred_at": "Happened on",
        "detected_at": "Detected on",
        "team_id": "Team",
        "reporter_id": "Reported by",
        "people": "People involved",
        "label_rows": "Labels",
        "repeat_of_id": "Repeats failure",
        "external_id": "External id",
        "source": "Source",
        "company": "Company",
        "url": "Link",
    },
    "review": {
        "status": "Status",
        "assumption_text": "Assumption that guided the decision",
        "evidence": "Evidence we had",
        "what_changed": "What changed",
        "root_cause": "Root cause",
        "gap_type": "Gap type",
        "gap_justification": "Why this gap type",
        "contributing_factors": "Contributing factors",
        "held_at": "Held on",
        "completed_at": "Completed on",
        "reviewers": "Reviewers",
        "assumptions": "Assumptions that failed",
    },
    "action": {
        "title": "Title",
        "owner_id": "Owner",
        "due_date": "Due date",
        "review_date": "Review date",
        "status": "Status",
        "evidence": "Evidence",
        "drop_reason": "Reason dropped",
        "closed_at": "Done or dropped on",
        "is_primary": "Primary action",
        "reminder": "Reminder answered",
    },
    "lesson": {
        "title": "Title",
        "learned": "What we learned",
        "changed": "What we changed",
        "author_id": "Author",
        "published_at": "Published on",
        "retracted_at": "Retracted on",
        "retraction_reason": "Why it was retracted",
        "failures": "Failures",
        "audience": "Audience",
    },
    "experiment": {
        "hypothesis": "Hypothesis",
        "metric": "Metric",
        "comparator": "Comparison",
        "threshold": "Threshold",
        "start_date": "Starts on",
        "end_date": "Ends on",
    },
    "observation": {"value": "Value", "observed_at": "Observed on", "note": "Note"},
    "timeline_entry": {"at": "When", "text": "What happened", "author_id": "Written by"},
    "comment": {"text": "Comment", "author_id": "Written by"},
    "failure_link": {"url": "Link", "label": "Label", "author_id": "Added by"},
    "attachment": {"filename": "File", "content_type": "Type", "size": "Size", "author_id": "Added by"},
    "guardrail": {
        "title": "What is restricted",
        "reason": "Why",
        "rollback_plan": "Rollback plan",
        "owner_id": "Owner",
        "team_id": "Team",
        "starts_on": "Starts on",
        "expires_on": "Expires on",
        "status": "Status",
        "retired_at": "Retired on",
    },
    "recognition": {
        "note": "What they did",
        "kind": "Kind",
        "person_id": "For",
        "given_by_id": "Given by",
        "team_id": "Team",
    },
    "escalation": {
        "subject": "Pattern",
        "owner_id": "Owner",
        "status": "Status",
        "support_route": "Support route",
        "route_reason": "Why this route",
        "resolution": "Resolution",
        "resolved_at": "Resolved on",
        "opened_at": "Opened on",
        "failure_ids": "Failures",
        "count": "Failures in the window",
        "window_days": "Window (days)",
        "explanation": "Explanation",
        "person_id": "About",
        "chosen_by_id": "Route chosen by",
        "team_id": "Team",
    },
}
#: Bookkeeping and derived columns: not shown (the coach's stored scores change with the text).
HIDDEN = frozenset(
    {
        "created_at",
        "updated_at",
        "failure_id",
        "review_id",
        "action_id",
        "experiment_id",
        "lesson_id",
        "blame_findings",
        "specificity",
        "key",
        "subject_key",
        "target_kind",
        "mentions",
        "edited_at",
        "sha256",
        "rule",
    }
)
#: What a "created" line shows of the new record (the rest is on the page itself).
CREATED_FIELDS: dict[str, tuple[str, ...]] = {
    "failure": ("title",),
    "review": (),
    "action": ("title", "owner_id", "due_date"),
    "lesson": ("title",),
    "experiment": ("hypothesis", "metric", "comparator", "threshold"),
    "observation": ("value", "observed_at"),
    "timeline_entry": ("at", "text"),
    "comment": ("text",),
    "failure_link": ("url",),
    "attachment": ("filename",),
    "guardrail": ("title", "owner_id", "expires_on"),
    "recognition": ("kind", "person_id", "note"),
    "escalation": ("subject", "owner_id"),
}
PERSON_FIELDS = frozenset(
    {"owner_id", "reporter_id", "author_id", "given_by_id", "chosen_by_id", "decided_by_id"}
)
#: ``person_id`` names a person on these records (elsewhere it may be something else).
PERSON_ID_RECORDS = frozenset({"recognition", "escalation"})
#: The words each record type is called by on the page, and the column that names one of them.
RECORD_WORDS: dict[str, str] = {
    "failure": "Failure",
    "review": "Review",
    "action": "Action",
    "lesson": "Lesson",
    "experiment": "Experiment",
    "observation": "Observation",
    "timeline_entry": "Timeline entry",
    "comment": "Comment",
    "failure_link": "Link",
    "attachment": "Attachment",
    "guardrail": "Guardrail",
    "recognition": "Recognition",
    "escalation": "Escalation",
}
NAME_COLUMNS: dict[str, str] = {
    "lesson": "title",
    "experiment": "hypothesis",
    "timeline_entry": "text",
    "failure_link": "label",
    "attachment": "filename",
    "guardrail": "title",
    "escalation": "subject",
}
NAME_MAX = 60
VERBS = {"create": "created", "update": "changed", "delete": "deleted"}
TEXT_MAX = 120


@dataclass(frozen=True)
class ChangeLine:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryLine:
    who: str
    at: dt.datetime
    absolute: str  # "2026-12-05 14:03 UTC"
    relative: str  # "3 hours ago"
    record: str  # "Failure", "Review", "Action 12 (Call the vendor)"
    verb: str  # created | changed | deleted
    changes: list[ChangeLine] = field(default_factory=list)


def label_of(record_type: str, column: str) -> str:
    """The page's name for a column of a record type."""
    return (
        FIELD_LABELS.get(record_type, {}).get(column)
        or column.removesuffix("_id").replace("_", " ").capitalize()
    )


def relative_time(at: dt.datetime, now: dt.datetime) -> str:
    """``at`` relative to ``now``: "just now", "5 minutes ago", "yesterday", "3 months ago"."""
    seconds = int((now - at).total_seconds())
    if seconds < 60:
        return "just now"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if hours < 24:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    if days == 1:
        return "yesterday"
    if days < 45:
        return f"{days} days ago"
    months = days // 30
    if months < 18:
        return f"{months} months ago"
    return f"{days // 365} years ago"


def absolute_time(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class _Names:
    """Ids and handles → the names a person reads: read at once for a batch of entries
    (:meth:`preload`), so a page's statements do not grow with its history."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.people: dict[int, str] = {}
        self.handles: dict[str, str] = {}
        self.teams: dict[int, str] = {}

    def preload(self, entries: Sequence[HistoryEntry]) -> None:
        person_ids: set[int] = set()
        team_ids: set[int] = set()
        for entry in entries:
            for column, change in (entry.changes or {}).items():
                if isinstance(change, Mapping):
                    if column in {"people", "reviewers"}:
                        values = [*(change.get("added") or []), *(change.get("removed") or [])]
                        person_ids.update(v for v in values if isinstance(v, int))
                    continue
                if not isinstance(change, Sequence) or isinstance(change, str):
                    continue
                if _is_person(entry.record_type, column):
                    person_ids.update(v for v in change if isinstance(v, int))
                elif column == "team_id":
                    team_ids.update(v for v in change if isinstance(v, int))
        handles = {e.actor for e in entries} - set(self.handles)
        person_ids -= set(self.people)
        team_ids -= set(self.teams)
        if person_ids or handles:
            found = self.session.scalars(
                select(Person).where(or_(Person.id.in_(person_ids), Person.handle.in_(handles)))
            )
            for person in found:
                self.people[person.id] = person.name
                if person.handle in handles:
                    self.handles[person.handle] = f"{person.name} ({person.handle})"
            for handle in handles - set(self.handles):
                self.handles[handle] = handle
        if team_ids:
            for team in self.session.scalars(select(Team).where(Team.id.in_(team_ids))):
                self.teams[team.id] = team.name

    def person(self, person_id: Any) -> str:
        if not isinstance(person_id, int):
            return _text(person_id)
        if person_id not in self.people:
            person = self.session.get(Person, person_id)
            self.people[person_id] = person.name if person is not None else f"person {person_id}"
        return self.people[person_id]

    def team(self, team_id: Any) -> str:
        if not isinstance(team_id, int):
            return _text(team_id)
        if team_id not in self.teams:
            team = self.session.get(Team, team_id)
            self.teams[team_id] = team.name if team is not None else f"team {team_id}"
        return self.teams[team_id]

    def actor(self, actor: str) -> str:
        """A history row's actor (a handle, or a job's name) as a name."""
        if actor not in self.handles:
            person = self.session.scalar(select(Person).where(Person.handle == actor))
            self.handles[actor] = f"{person.name} ({actor})" if person is not None else actor
        return self.handles[actor]


def _is_person(record_type: str, column: str) -> bool:
    return column in PERSON_FIELDS or (column == "person_id" and record_type in PERSON_ID_RECORDS)


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= TEXT_MAX else text[: TEXT_MAX - 1] + "…"


def _when(value: Any) -> str:
    """An ISO date or time as stored in the log, as the pages show it."""
    if not isinstance(value, str):
        return _text(value)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return _text(value)
    if len(value) == 10:  # a date
        return moment.date().isoformat()
    return absolute_time(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))


def _value(record_type: str, column: str, value: Any, names: _Names) -> str:
    if value is None:
        return "—"
    if _is_person(record_type, column):
        return names.person(value)
    if column == "team_id":
        return names.team(value)
    if column == "kind" and record_type == "failure" and value in set(FailureKind):
        return KIND_LABELS[FailureKind(value)]
    if column.endswith(("_at", "_date")):
        return _when(value)
    return _text(value)


def _change_lines(entry: HistoryEntry, names: _Names) -> list[ChangeLine]:
    kind = entry.record_type
    lines: list[ChangeLine] = []
    shown: Iterable[str] = entry.changes
    if entry.action == "create":
        shown = [c for c in CREATED_FIELDS.get(kind, ()) if c in entry.changes]
    elif entry.action == "delete":
        shown = []
    for column in shown:
        if column in HIDDEN:
            continue
        change = entry.changes[column]
        label = label_of(kind, column)
        if isinstance(change, Mapping):  # a list relationship: added and removed items
            removed, added = list(change.get("removed") or []), list(change.get("added") or [])
            if column in {"people", "reviewers"}:
                removed, added = [names.person(p) for p in removed], [names.person(p) for p in added]
            lines.append(ChangeLine(label, _text(removed), _text(added)))
        elif isinstance(change, Sequence) and not isinstance(change, str) and len(change) == 2:
            old, new = (_value(kind, column, v, names) for v in change)
            lines.append(ChangeLine(label, old, new))
    return lines


def _record_names(entries: Sequence[HistoryEntry]) -> dict[tuple[str, int], str]:
    """What each record was called, from the log itself (its latest name there): a deleted
    experiment keeps its hypothesis."""
    out: dict[tuple[str, int], str] = {}
    for entry in sorted(entries, key=lambda e: e.id):
        column = NAME_COLUMNS.get(entry.record_type)
        change = (entry.changes or {}).get(column) if column else None
        if isinstance(change, Sequence) and not isinstance(change, str) and len(change) == 2:
            value = change[1] if change[1] not in (None, "") else change[0]
            if value not in (None, ""):
                out[(entry.record_type, entry.record_id)] = str(value)
    return out


def _record_name(entry: HistoryEntry, titles: Mapping[tuple[str, int], str]) -> str:
    kind = entry.record_type
    if kind in {"failure", "review"}:
        return RECORD_WORDS[kind]
    word = RECORD_WORDS.get(kind, kind.replace("_", " ").capitalize())
    title = titles.get((kind, entry.record_id))
    if title:
        text = " ".join(title.split())
        short = text if len(text) <= NAME_MAX else text[: NAME_MAX - 1] + "…"
        return f"{word} {entry.record_id} ({short})"
    return f"{word} {entry.record_id}"


def present_history(
    session: Session,
    entries: Iterable[HistoryEntry],
    *,
    action_titles: Mapping[int, str] | None = None,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> list[HistoryLine]:
    """History entries as lines, the newest first. ``viewer`` must be whoever was allowed to read
    the entries (their records are checked by the caller)."""
    require_actor(viewer)
    return [line for _, line in _present(session, list(entries), action_titles, now)]


def _present(
    session: Session,
    entries: Sequence[HistoryEntry],
    action_titles: Mapping[int, str] | None,
    now: dt.datetime | None,
) -> list[tuple[HistoryEntry, HistoryLine]]:
    now = now or utcnow()
    names = _Names(session)
    names.preload(entries)
    titles = _record_names(entries)
    titles.update({("action", k): v for k, v in (action_titles or {}).items()})
    out = []
    for entry in sorted(entries, key=lambda e: (e.at, e.id), reverse=True):
        changes = _change_lines(entry, names)
        if entry.action == "update" and not changes:
            continue  # only derived or bookkeeping columns changed
        line = HistoryLine(
            who=names.actor(entry.actor),
            at=entry.at,
            absolute=absolute_time(entry.at),
            relative=relative_time(entry.at, now),
            record=_record_name(entry, titles),
            verb=VERBS.get(entry.action, entry.action),
            changes=changes,
        )
        out.append((entry, line))
    return out


def _of(record_type: str, ids: Any) -> ColumnElement[bool]:
    return and_(HistoryEntry.record_type == record_type, HistoryEntry.record_id.in_(ids))


def _deleted(record_type: str, parent: str, parent_ids: Any) -> Select[Any]:
    """The ids of deleted records of a type whose ``parent`` column was one of ``parent_ids`` (read
    from their ``delete`` entries: the row is gone, the log kept what it said)."""
    h = aliased(HistoryEntry)
    return select(h.record_id).where(
        h.record_type == record_type,
        h.action == "delete",
        h.changes[(parent, 0)].as_integer().in_(parent_ids),
    )


def _naming(session: Session, failure_id: int) -> ColumnElement[bool]:
    """Escalations whose failure list holds ``failure_id``, asked of the database (decision 66):
    reading every escalation's list into Python cost the failure page tens of milliseconds once
    an organisation had a few hundred escalations."""
    if session.get_bind().dialect.name == "postgresql":
        return Escalation.failure_ids.cast(JSONB).contains([failure_id])
    listed: Select[Any] = select(literal_column("1")).select_from(func.json_each(Escalation.failure_ids))
    return listed.where(literal_column("value") == failure_id).exists()


def _escalations_listing(session: Session, failure_id: int, viewer: Actor) -> list[int]:
    """The escalations that list the failure and that ``viewer`` may see
    (:func:`~lessonloop.access.policy.escalations_seen`, one reading of their failures)."""
    rows = session.execute(
        select(
            Escalation.id,
            Escalation.failure_ids,
            Escalation.person_id,
            Escalation.support_route,
            Escalation.chosen_by_id,
            Escalation.owner_id,
            Escalation.team_id,
        ).where(_naming(session, failure_id))
    ).all()
    listing = [r for r in rows if failure_id in [i for i in (r.failure_ids or []) if isinstance(i, int)]]
    if is_system(viewer):
        return [r.id for r in listing]
    return [e.id for e in escalations_seen(session, viewer, cast(list[Escalation], listing))]


def failure_history(
    session: Session,
    failure: Failure,
    *,
    review: Review | None,
    actions: Sequence[Action],
    now: dt.datetime | None = None,
    viewer: Actor,
) -> list[HistoryLine]:
    """The readable history of a failure and of the records that belong to it (module docstring),
    the newest first: the failure, its review and actions are those ``viewer`` was allowed to see
    by the caller (the failure page); the rest inherit the failure's visibility, except the
    recognitions and escalations, which are checked here. A fixed number of statements however
    much there is: the entries in one query."""
    require_actor(viewer)
    fid = failure.id
    action_ids = [a.id for a in actions]
    review_ids = [review.id] if review is not None else []
    live_experiments = select(Experiment.id).where(Experiment.action_id.in_(action_ids))
    deleted_experiments = _deleted("experiment", "action_id", action_ids)
    experiment_ids = union(live_experiments, deleted_experiments).subquery()
    c = aliased(Comment)
    comments = select(c.id).where(
        or_(c.failure_id == fid, c.review_id.in_(review_ids), c.action_id.in_(action_ids))
    )
    recognitions = select(Recognition.id).where(Recognition.failure_id == fid)
    if not is_system(viewer):
        recognitions = recognitions.where(visible_recognitions_clause(viewer))
    conditions = [
        after_last_delete("failure", [fid]),
        after_last_delete("review", review_ids),
        after_last_delete("action", action_ids),
        _of("experiment", live_experiments),
        _of("experiment", deleted_experiments),
        _of("observation", select(Observation.id).where(Observation.experiment_id.in_(live_experiments))),
        _of("observation", _deleted("observation", "experiment_id", select(experiment_ids.c.id))),
        _of("comment", comments),
        _of("comment", _deleted("comment", "failure_id", [fid])),
        _of("comment", _deleted("comment", "review_id", review_ids)),
        _of("comment", _deleted("comment", "action_id", action_ids)),
        _of("guardrail", select(Guardrail.id).where(Guardrail.failure_id == fid)),
        _of("recognition", recognitions),
        _of("escalation", _escalations_listing(session, fid, viewer)),
    ]
    for model, record_type in (
        (TimelineEntry, "timeline_entry"),
        (FailureLink, "failure_link"),
        (Attachment, "attachment"),
    ):
        live = select(model.id).where(model.failure_id == fid)
        conditions += [_of(record_type, live), _of(record_type, _deleted(record_type, "failure_id", [fid]))]
    entries = list(session.scalars(select(HistoryEntry).where(or_(*conditions)).order_by(HistoryEntry.id)))
    return present_history(
        session, entries, action_titles={a.id: a.title for a in actions}, now=now, viewer=viewer
    )


def records_history(
    session: Session,
    record_type: str,
    records: Sequence[Any],
    *,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> dict[int, list[HistoryLine]]:
    """The readable history of each of ``records`` (of one type, all of which ``viewer`` was
    allowed to see by the caller: the page that lists them), by id, the newest first — in one
    query for them all. For the pages of records that belong to no one failure: guardrails,
    recognitions, escalations."""
    require_actor(viewer)
    ids = [r.id for r in records]
    out: dict[int, list[HistoryLine]] = {i: [] for i in ids}
    if not ids:
        return out
    entries = histories_of(session, {record_type: ids})
    for entry, line in _present(session, entries, None, now):
        out[entry.record_id].append(line)
    return out

"""The failure page's history, readable: who, when (relative and absolute) and "field: old → new"
in the words the pages use, for the failure, its review and its actions.

The history log (:mod:`lessonloop.store.history`) keeps column names and raw values (ids, ISO
times); this presenter turns them into lines a person reads. Templates only print its lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, require_actor
from lessonloop.actions.models import Action
from lessonloop.failures.models import KIND_LABELS, Failure, FailureKind
from lessonloop.people.models import Person, Team
from lessonloop.reviews.models import Review
from lessonloop.store.base import utcnow
from lessonloop.store.history import HistoryEntry, list_history

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
}
#: Bookkeeping and derived columns: not shown (the coach's stored scores change with the text).
HIDDEN = frozenset(
    {"created_at", "updated_at", "failure_id", "review_id", "blame_findings", "specificity", "key"}
)
#: What a "created" line shows of the new record (the rest is on the page itself).
CREATED_FIELDS: dict[str, tuple[str, ...]] = {
    "failure": ("title",),
    "review": (),
    "action": ("title", "owner_id", "due_date"),
}
PERSON_FIELDS = frozenset({"owner_id", "reporter_id"})
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
    """Ids and handles → the names a person reads, looked up once each."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.people: dict[int, str] = {}
        self.handles: dict[str, str] = {}
        self.teams: dict[int, str] = {}

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
    if column in PERSON_FIELDS:
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


def _record_name(entry: HistoryEntry, action_titles: Mapping[int, str]) -> str:
    if entry.record_type == "action":
        title = action_titles.get(entry.record_id)
        return f"Action {entry.record_id}" + (f" ({_text(title)})" if title else "")
    return entry.record_type.capitalize()


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
    now = now or utcnow()
    names = _Names(session)
    titles = action_titles or {}
    lines = []
    for entry in sorted(entries, key=lambda e: (e.at, e.id), reverse=True):
        changes = _change_lines(entry, names)
        if entry.action == "update" and not changes:
            continue  # only derived or bookkeeping columns changed
        lines.append(
            HistoryLine(
                who=names.actor(entry.actor),
                at=entry.at,
                absolute=absolute_time(entry.at),
                relative=relative_time(entry.at, now),
                record=_record_name(entry, titles),
                verb=VERBS.get(entry.action, entry.action),
                changes=changes,
            )
        )
    return lines


def failure_history(
    session: Session,
    failure: Failure,
    *,
    review: Review | None,
    actions: Sequence[Action],
    now: dt.datetime | None = None,
    viewer: Actor,
) -> list[HistoryLine]:
    """The readable history of a failure, its review and its actions (all of which ``viewer`` was
    allowed to see by the caller: the failure page), the newest first."""
    require_actor(viewer)
    entries = list_history(session, "failure", failure.id)
    if review is not None:
        entries += list_history(session, "review", review.id)
    for action in actions:
        entries += list_history(session, "action", action.id)
    return present_history(
        session, entries, action_titles={a.id: a.title for a in actions}, now=now, viewer=viewer
    )

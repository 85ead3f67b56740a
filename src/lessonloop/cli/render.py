"""Rich tables and panels for the CLI.

Everything a user typed is wrapped in :class:`rich.text.Text`, never parsed as Rich markup, so a
title like ``[urgent] fix the build`` prints as written. Renderers take the pydantic schemas the
``--json`` output uses (and, where a name is only on the record, the record), so the table and
the JSON always show the same facts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from lessonloop.actions.schemas import ActionOut
from lessonloop.cli import common
from lessonloop.experiments.schemas import ExperimentOut
from lessonloop.failures.overview import FailureOverview, HistoryOut
from lessonloop.failures.schemas import FailureOut
from lessonloop.lessons.schemas import LessonOut
from lessonloop.people.schemas import PersonOut
from lessonloop.reviews.schemas import AssumptionOut, ReviewOut
from lessonloop.reviews.service import DIAGNOSTIC_QUESTIONS
from lessonloop.store.crud import Page

STYLES: dict[str, str] = {
    # failure status
    "observed": "yellow",
    "in-review": "cyan",
    "acting": "blue",
    "re-evaluating": "magenta",
    "learned": "green",
    "repeated": "red",
    # action status
    "open": "yellow",
    "done": "green",
    "dropped": "dim",
    # experiment verdict
    "passed": "green",
    "failed": "red",
    "inconclusive": "yellow",
    # severity
    "low": "dim",
    "medium": "",
    "high": "bold yellow",
    "critical": "bold red",
    # review / lesson
    "draft": "yellow",
    "completed": "green",
    "published": "green",
    # assumption status
    "held": "yellow",
    "validated": "green",
}


def out(*renderables: RenderableType) -> None:
    common.console.print(*renderables)


def say(message: str, style: str = "") -> None:
    """A plain line (no markup: ids and titles print as typed), never hard-wrapped."""
    common.console.print(Text(message, style=style), soft_wrap=True)


def hint(message: str) -> None:
    say(message, "dim")


def text(value: Any, style: str = "") -> Text:
    return Text("" if value is None else str(value), style=style)


def status(value: str | None) -> Text:
    value = value or ""
    return Text(value, style=STYLES.get(value, ""))


def when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


# Columns of free text wrap; ids, dates and states stay on one line.
WRAPPING = frozenset(
    {
        "title",
        "name",
        "description",
        "hypothesis",
        "assumption",
        "change",
        "match",
        "note",
        "e-mail",
        "success if",
        "audience",
    }
)


def table(*columns: str, title: str | None = None) -> Table:
    grid = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left", expand=False)
    for column in columns:
        if column in WRAPPING:
            grid.add_column(column, overflow="fold", min_width=12)
        else:
            grid.add_column(column, no_wrap=True, overflow="ellipsis")
    return grid


def plural(count: int, singular: str, many: str | None = None) -> str:
    return f"{count} {singular if count == 1 else many or singular + 's'}"


def row(grid: Table, *cells: Any) -> None:
    grid.add_row(*(cell if isinstance(cell, Text) else text(cell) for cell in cells))


def fields(pairs: Iterable[tuple[str, Any]]) -> Table:
    """Label/value lines; empty values are left out."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in pairs:
        if value in (None, "", []):
            continue
        grid.add_row(label, value if isinstance(value, Text) else text(value))
    return grid


def panel(body: RenderableType, title: str) -> Panel:
    return Panel(body, title=Text(title, style="bold"), title_align="left", box=box.ROUNDED)


def page_footer(page: Page[Any], noun: str) -> None:
    """``noun`` is singular: "failure" → "no failures", "1 failure", "page 1 of 3 (120 failures)"."""
    if page.total == 0:
        hint(f"no {noun}s")
    elif page.pages > 1:
        more = f"; next: --page {page.page + 1}" if page.page < page.pages else ""
        hint(f"page {page.page} of {page.pages} ({plural(page.total, noun)}){more}")
    else:
        hint(plural(page.total, noun))


def page_json(page: Page[Any], items: Sequence[Any]) -> dict[str, Any]:
    return {
        "items": list(items),
        "total": page.total,
        "page": page.page,
        "page_size": page.page_size,
        "pages": page.pages,
    }


# --- people and teams -------------------------------------------------------------------------


def people_table(people: Sequence[PersonOut]) -> Table:
    grid = table("id", "handle", "name", "e-mail")
    for p in people:
        row(grid, p.id, p.handle, p.name, p.email or "")
    return grid


# --- failures ---------------------------------------------------------------------------------


def failures_table(items: Sequence[tuple[FailureOut, str]]) -> Table:
    """``items`` pairs each failure with its team name; a narrow terminal leaves out the kind."""
    wide = common.console.width >= 110
    grid = table("id", "status", "severity", *(["kind"] if wide else []), "title", "team", "detected")
    for f, team in items:
        cells: list[Any] = [
            f.id,
            status(f.status),
            status(f.severity),
            f.title,
            team,
            when(f.detected_at)[:10],
        ]
        if wide:
            cells.insert(3, f.kind)
        row(grid, *cells)
    return grid


def failure_panel(f: FailureOut, *, team: str = "", reporter: str = "") -> Panel:
    impact = f.impact
    if f.impact_value is not None:
        amount = f"{number(f.impact_value)} {f.impact_unit or ''}".strip()
        impact = f"{amount} — {impact}" if impact else amount
    body = fields(
        [
            ("status", status(f.status)),
            ("kind", f.kind),
            ("severity", status(f.severity)),
            ("visibility", f.visibility),
            ("team", team),
            ("reporter", reporter),
            ("people", ", ".join(p.handle for p in f.people)),
            ("labels", ", ".join(f.labels)),
            ("occurred", when(f.occurred_at)),
            ("detected", when(f.detected_at)),
            ("impact", impact),
            ("repeat of", f"failure {f.repeat_of_id}" if f.repeat_of_id else ""),
            ("external id", f.external_id or ""),
            ("url", f.url or ""),
            ("what happened", f.observation),
        ]
    )
    return panel(body, f"Failure {f.id}: {f.title}")


def review_panel(review: ReviewOut) -> Panel:
    pairs: list[tuple[str, Any]] = [
        (question, getattr(review, key)) for key, question in DIAGNOSTIC_QUESTIONS
    ]
    gap = review.gap_type or ""
    if review.gap_justification:
        gap = f"{gap} — {review.gap_justification}"
    pairs += [
        ("Root cause", review.root_cause),
        ("Gap type", gap),
        ("Contributing factors", "; ".join(review.contributing_factors)),
        ("Assumptions", "; ".join(a.statement for a in review.assumptions)),
        ("Reviewers", ", ".join(p.handle for p in review.reviewers)),
        ("Held", when(review.held_at)),
    ]
    return panel(fields(pairs), f"Review {review.id} ({review.status})")


# --- actions ----------------------------------------------------------------------------------


def actions_table(actions: Sequence[ActionOut], *, with_failure: bool = True) -> Table:
    columns = ["id", "title", "owner", "due", "review", "status"]
    if with_failure:
        columns.insert(1, "failure")
    grid = table(*columns)
    for a in actions:
        due = text(a.due_date.isoformat(), "bold red" if a.overdue else "")
        state = status(a.status)
        if a.overdue:
            state = Text("overdue", style="bold red")
        title = Text(a.title)
        if a.is_primary:
            title.append(" (primary)", style="bold")
        cells: list[Any] = [
            a.id,
            title,
            a.owner.handle,
            due,
            a.review_date.isoformat(),
            state,
        ]
        if with_failure:
            cells.insert(1, a.failure_id)
        row(grid, *cells)
    return grid


def action_line(a: ActionOut) -> str:
    kind = "primary action" if a.is_primary else "action"
    return (
        f"{kind} {a.id}: {a.title} (owner {a.owner.handle}, due {a.due_date.isoformat()}, "
        f"review {a.review_date.isoformat()})"
    )


def overdue_report(groups: Sequence[tuple[PersonOut, Sequence[ActionOut]]], today: dt.date) -> RenderableType:
    parts: list[RenderableType] = []
    for owner, actions in groups:
        grid = table("id", "failure", "title", "due", "days late")
        for a in actions:
            row(grid, a.id, a.failure_id, a.title, a.due_date.isoformat(), (today - a.due_date).days)
        parts.append(panel(grid, f"{owner.handle} ({owner.name}): {len(actions)} overdue"))
    return Group(*parts)


# --- experiments ------------------------------------------------------------------------------


def criterion(e: ExperimentOut) -> str:
    return f"{e.metric} {e.comparator} {number(e.threshold)}"


def latest(e: ExperimentOut) -> str:
    if not e.observations:
        return ""
    return number(max(e.observations, key=lambda o: (o.observed_at, o.id)).value)


def experiments_table(experiments: Sequence[ExperimentOut]) -> Table:
    # The verdict comes before the long text, so a narrow terminal wraps text, never the verdict.
    grid = table("id", "action", "verdict", "latest", "success if", "until", "hypothesis")
    for e in experiments:
        row(
            grid,
            e.id,
            e.action_id,
            status(e.verdict),
            latest(e),
            criterion(e),
            e.end_date.isoformat(),
            e.hypothesis,
        )
    return grid


def experiment_panel(e: ExperimentOut) -> RenderableType:
    body = fields(
        [
            ("action", f"action {e.action_id}"),
            ("hypothesis", e.hypothesis),
            ("success if", criterion(e)),
            ("window", f"{e.start_date.isoformat()} → {e.end_date.isoformat()}"),
            ("verdict", status(e.verdict)),
        ]
    )
    if not e.observations:
        return panel(Group(body, Text("no observations yet", style="dim")), f"Experiment {e.id}")
    grid = table("at", "value", "note")
    for o in e.observations:
        row(grid, when(o.observed_at), number(o.value), o.note)
    return panel(Group(body, grid), f"Experiment {e.id}")


# --- lessons ----------------------------------------------------------------------------------


def lesson_state(lesson: LessonOut, *, short: bool = False) -> Text:
    if lesson.published_at is None:
        return status("draft")
    at = when(lesson.published_at)
    return Text(f"published {at[:10] if short else at}", style="green")


def lessons_table(lessons: Sequence[LessonOut]) -> Table:
    grid = table("id", "title", "failures", "audience", "state")
    for lesson in lessons:
        row(
            grid,
            lesson.id,
            lesson.title,
            ", ".join(str(i) for i in lesson.failure_ids),
            ", ".join(lesson.audience),
            lesson_state(lesson, short=True),
        )
    return grid


def lesson_panel(lesson: LessonOut, *, author: str = "") -> Panel:
    body = fields(
        [
            ("state", lesson_state(lesson)),
            ("author", author),
            ("failures", ", ".join(str(i) for i in lesson.failure_ids)),
            ("audience", ", ".join(lesson.audience)),
            ("what we learned", lesson.learned),
            ("what we changed", lesson.changed),
        ]
    )
    return panel(body, f"Lesson {lesson.id}: {lesson.title}")


# --- assumptions ------------------------------------------------------------------------------


def assumptions_table(assumptions: Sequence[AssumptionOut]) -> Table:
    grid = table("id", "assumption", "status", "failures")
    for a in assumptions:
        row(grid, a.id, a.statement, status(a.status), a.failure_count or 0)
    return grid


# --- history ----------------------------------------------------------------------------------

_CREATE_KEYS = ("title", "status", "owner_id", "due_date", "value", "statement")


def _short(value: Any, limit: int = 60) -> str:
    value = "" if value is None else str(value)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def describe_changes(action: str, changes: dict[str, Any]) -> str:
    verb = action.rsplit(" ", 1)[-1]
    if verb == "create":
        shown = [f"{k}={_short(changes[k][1])}" for k in _CREATE_KEYS if k in changes]
        return "created" + (": " + ", ".join(shown) if shown else "")
    if verb == "delete":
        return "deleted"
    lines = []
    for key, change in changes.items():
        if isinstance(change, dict):
            added = ", ".join(_short(v, 30) for v in change.get("added", []))
            removed = ", ".join(_short(v, 30) for v in change.get("removed", []))
            parts = [f"+{added}" if added else "", f"-{removed}" if removed else ""]
            lines.append(f"{key}: " + " ".join(p for p in parts if p))
        elif isinstance(change, list) and len(change) == 2:
            old, new = change
            lines.append(f"{key}: {_short(old, 30) or '∅'} → {_short(new, 40) or '∅'}")
        else:
            lines.append(f"{key}: {_short(change)}")
    return "\n".join(lines)


def history_table(entries: Sequence[HistoryOut]) -> Table:
    grid = table("when", "who", "record", "change")
    for h in entries:
        row(grid, when(h.at), h.actor, h.action.rsplit(" ", 1)[0], describe_changes(h.action, h.changes))
    return grid


# --- a failure with everything linked to it ---------------------------------------------------


def next_steps(overview: FailureOverview) -> Table:
    fid = overview.failure.id
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    if overview.review is None and overview.failure.status in {"observed", "in-review", "repeated"}:
        grid.add_row(Text("review", style="green"), Text(f"lessonloop review {fid}"))
    for step in overview.next_steps:
        if step.status == "in-review" and overview.review is None:
            continue  # the review command moves it there
        if step.allowed:
            grid.add_row(Text(step.status, style="green"), Text(f"lessonloop status {fid} {step.status}"))
        else:
            grid.add_row(Text(step.status, style="dim"), Text(f"blocked: {step.reason}", style="dim"))
    return grid


def overview(ov: FailureOverview, *, team: str = "", reporter: str = "", history_rows: int = 8) -> Group:
    parts: list[RenderableType] = [failure_panel(ov.failure, team=team, reporter=reporter)]
    if ov.review is not None:
        parts.append(review_panel(ov.review))
    else:
        parts.append(Text("No review yet.", style="yellow"))
    if ov.actions:
        parts.append(panel(actions_table(ov.actions, with_failure=False), "Actions"))
    if ov.experiments:
        parts.append(panel(experiments_table(ov.experiments), "Experiments"))
    if ov.lessons:
        parts.append(panel(lessons_table(ov.lessons), "Lessons"))
    if ov.repeats:
        parts.append(Text("Repeated by failures: " + ", ".join(str(i) for i in ov.repeats), style="red"))
    steps = next_steps(ov)
    if steps.row_count:
        parts.append(panel(steps, "Next steps"))
    if ov.history:
        shown = ov.history[-history_rows:]
        title = "History"
        if len(ov.history) > len(shown):
            title += f" (last {len(shown)} of {len(ov.history)}; all: lessonloop history {ov.failure.id})"
        parts.append(panel(history_table(shown), title))
    return Group(*parts)


# --- search -----------------------------------------------------------------------------------

_MARK = re.compile(r"\[([^\[\]]*)\]")


def snippet(value: str) -> Text:
    """Search snippets mark matches as ``[term]``: show them bold instead."""
    value = " ".join(value.split())
    result = Text()
    last = 0
    for match in _MARK.finditer(value):
        result.append(value[last : match.start()])
        result.append(match.group(1), style="bold yellow")
        last = match.end()
    result.append(value[last:])
    return result

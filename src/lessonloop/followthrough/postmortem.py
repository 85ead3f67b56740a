"""A failure's review as a post-mortem document: Markdown, or HTML ready to print.

Sections, always in this order and always present (an empty one says so): summary, impact,
timeline, the three diagnostic questions, root cause, gap type, actions, experiments, lessons,
and what changed because of it (checklist revisions, guardrails). Every piece of user text is
escaped. With a ``viewer``, a failure they may not see answers 404 and only lessons they may
see are listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.policy import can_see_lesson
from lessonloop.access.scope import require_failure_seen
from lessonloop.actions.models import Action
from lessonloop.experiments.models import Experiment
from lessonloop.experiments.service import experiment_verdict, experiments_for_actions
from lessonloop.failures.models import KIND_LABELS, Failure, FailureKind
from lessonloop.followthrough.checklists import revisions_because_of
from lessonloop.followthrough.guardrails import describe_state, guardrails_because_of
from lessonloop.followthrough.models import ChecklistRevision, Guardrail
from lessonloop.followthrough.render import day, h, h_block, h_md, md, md_block
from lessonloop.lessons.models import Lesson, lesson_failures
from lessonloop.reviews.models import Review
from lessonloop.reviews.service import DIAGNOSTIC_QUESTIONS
from lessonloop.reviews.templates import answered_questions
from lessonloop.store.crud import get_or_404

SECTIONS = (
    "Summary",
    "Impact",
    "Timeline",
    "Diagnostic questions",
    "More questions",
    "Root cause",
    "Gap type",
    "Actions",
    "Experiments",
    "Lessons",
    "What changed because of it",
)
NOT_YET = "Not recorded yet."


@dataclass
class PostMortem:
    failure: Failure
    review: Review | None
    actions: list[Action]
    experiments: list[Experiment]
    lessons: list[Lesson]
    revisions: list[ChecklistRevision]
    guardrails: list[Guardrail]
    timeline: list[tuple[dt.datetime | dt.date, str]] = field(default_factory=list)
    # The review template's extra questions with their answers (None: unanswered).
    extra: list[tuple[dict[str, Any], Any]] = field(default_factory=list)


def gather(session: Session, failure_id: int | str, *, viewer: Actor) -> PostMortem:
    failure = get_or_404(session, Failure, failure_id)
    require_failure_seen(viewer, failure)
    review = session.scalar(select(Review).where(Review.failure_id == failure.id))
    actions = list(
        session.scalars(
            select(Action)
            .where(Action.failure_id == failure.id)
            .order_by(Action.is_primary.desc(), Action.id)
        )
    )
    experiments = experiments_for_actions(session, [a.id for a in actions], viewer=viewer)
    lessons = [
        lesson
        for lesson in session.scalars(
            select(Lesson)
            .where(
                Lesson.id.in_(
                    select(lesson_failures.c.lesson_id).where(lesson_failures.c.failure_id == failure.id)
                )
            )
            .order_by(Lesson.id)
        )
        if is_system(viewer) or can_see_lesson(viewer, lesson)
    ]
    pm = PostMortem(
        failure=failure,
        review=review,
        actions=actions,
        experiments=experiments,
        lessons=lessons,
        revisions=revisions_because_of(session, failure.id, viewer=viewer),
        guardrails=guardrails_because_of(session, failure.id, viewer=viewer),
        extra=answered_questions(session, review, viewer=viewer),
    )
    events: list[tuple[dt.datetime | dt.date, str]] = []
    if failure.occurred_at:
        events.append((failure.occurred_at, "Occurred"))
    events.append((failure.detected_at, "Detected"))
    if review is not None and review.held_at:
        events.append((review.held_at, "Review held"))
    if review is not None and review.completed_at:
        events.append((review.completed_at, "Review completed"))
    for a in actions:
        events.append((a.due_date, f"Action #{a.id} due"))
        if a.closed_at:
            events.append((a.closed_at, f"Action #{a.id} {a.status}"))
    for lesson in lessons:
        if lesson.published_at:
            events.append((lesson.published_at, f"Lesson #{lesson.id} published"))
    pm.timeline = sorted(events, key=lambda e: _sort_key(e[0]))
    return pm


def _sort_key(value: dt.datetime | dt.date) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return dt.datetime.combine(value, dt.time(23, 59, 59), tzinfo=dt.UTC)


def _kind(failure: Failure) -> str:
    try:
        return KIND_LABELS[FailureKind(failure.kind)]
    except ValueError:
        return failure.kind


def _impact_lines(failure: Failure) -> list[str]:
    lines = []
    if failure.impact:
        lines.append(failure.impact)
    if failure.impact_value is not None:
        lines.append(f"Measured: {failure.impact_value:g} {failure.impact_unit or ''}".rstrip())
    return lines


# -- Markdown -----------------------------------------------------------------------------------


def to_markdown(pm: PostMortem) -> str:
    f, r = pm.failure, pm.review
    out = [f"# Post-mortem: {md(f.title)}", "", f"Failure #{f.id}", "", "## Summary", ""]
    out += [
        f"- Kind: {md(_kind(f))}",
        f"- Severity: {md(f.severity)}",
        f"- Team: {md(f.team.name) if f.team else '—'}",
        f"- Status: {md(f.status)}",
        f"- Visibility: {md(f.visibility)}",
        f"- Reporter: {md(f.reporter.name) if f.reporter else '—'}",
        f"- People involved: {md(', '.join(p.name for p in f.people)) or '—'}",
    ]
    if f.labels:
        out.append(f"- Labels: {md(', '.join(f.labels))}")
    if f.observation:
        out += ["", md_block(f.observation)]
    out += ["", "## Impact", ""]
    impact = _impact_lines(f)
    out += [md_block(line) for line in impact] if impact else [NOT_YET]
    out += ["", "## Timeline", "", "| When | What |", "| --- | --- |"]
    out += [f"| {day(when)} | {md(what)} |" for when, what in pm.timeline]
    out += ["", "## Diagnostic questions", ""]
    for name, question in DIAGNOSTIC_QUESTIONS:
        answer = getattr(r, name) if r is not None else ""
        out += [f"### {md(question)}", "", md_block(answer) or NOT_YET, ""]
    if r is not None and r.assumptions:
        out += (
            ["Assumptions named:", ""]
            + [f"- {md(a.statement)} ({md(a.status)})" for a in r.assumptions]
            + [""]
        )
    out += ["## More questions", ""]
    out += _extra_markdown(pm.extra) if pm.extra else ["No extra questions.", ""]
    out += ["## Root cause", "", md_block(r.root_cause) if r is not None and r.root_cause else NOT_YET]
    if r is not None and r.contributing_factors:
        out += ["", "Contributing factors:", ""] + [f"- {md(c)}" for c in r.contributing_factors]
    out += ["", "## Gap type", ""]
    if r is not None and r.gap_type:
        out.append(f"**{md(r.gap_type)}**" + (f" — {md(r.gap_justification)}" if r.gap_justification else ""))
    else:
        out.append(NOT_YET)
    out += ["", "## Actions", ""]
    if pm.actions:
        out += ["| # | Action | Owner | Due | Review | Status |", "| --- | --- | --- | --- | --- | --- |"]
        for a in pm.actions:
            title = ("**primary:** " if a.is_primary else "") + md(a.title)
            status = md(a.status) + (
                f": {md(a.evidence or a.drop_reason)}" if a.evidence or a.drop_reason else ""
            )
            out.append(
                f"| {a.id} | {title} | {md(a.owner.name)} | {a.due_date.isoformat()} | "
                f"{a.review_date.isoformat()} | {status} |"
            )
    else:
        out.append("No actions yet.")
    out += ["", "## Experiments", ""]
    if pm.experiments:
        for e in pm.experiments:
            latest = f"{e.observations[-1].value:g}" if e.observations else "no observation"
            out.append(
                f"- #{e.id} (action #{e.action_id}) {md(e.hypothesis)} — success if {md(e.metric)} "
                f"{md(e.comparator)} {e.threshold:g}; latest {latest}; "
                f"**verdict: {experiment_verdict(e).value}** ({e.start_date.isoformat()} to {e.end_date.isoformat()})"
            )
    else:
        out.append("No experiments.")
    out += ["", "## Lessons", ""]
    if pm.lessons:
        for lesson in pm.lessons:
            state = f"published {day(lesson.published_at)}" if lesson.published_at else "draft"
            audience = ", ".join(t.name for t in lesson.audience)
            out.append(f"- **{md(lesson.title)}** ({state}{'; for ' + md(audience) if audience else ''})")
            out.append(f"  - Learned: {md(lesson.learned)}")
            if lesson.changed:
                out.append(f"  - Changed: {md(lesson.changed)}")
    else:
        out.append("No lessons yet.")
    out += ["", "## What changed because of it", ""]
    for rev in pm.revisions:
        out.append(f"- {md(rev.checklist.kind)} {md(rev.checklist.name)} v{rev.version}: {md(rev.reason)}")
    for g in pm.guardrails:
        out.append(f"- guardrail #{g.id} {md(g.title)} ({md(describe_state(g))})")
    if not pm.revisions and not pm.guardrails:
        out.append("No checklist revisions or guardrails yet.")
    return "\n".join(out) + "\n"


def _extra_markdown(extra: list[tuple[dict[str, Any], Any]]) -> list[str]:
    out: list[str] = []
    for question, answer in extra:
        out += [f"### {md(str(question['label']))}", ""]
        if not answer:
            out.append(NOT_YET)
        elif question.get("type") == "timeline" and isinstance(answer, list):
            out += ["| When | What |", "| --- | --- |"]
            out += [
                f"| {md(str(line.get('time', '')))} | {md(str(line.get('text', '')))} |" for line in answer
            ]
        elif question.get("type") == "list" and isinstance(answer, list):
            out += [f"{n}. {md(str(item))}" for n, item in enumerate(answer, 1)]
        else:
            out.append(md_block(str(answer)))
        out.append("")
    return out


def _extra_html(extra: list[tuple[dict[str, Any], Any]]) -> str:
    if not extra:
        return '<p class="muted">No extra questions.</p>'
    body = ""
    for question, answer in extra:
        body += f"<h3>{h(str(question['label']))}</h3>"
        if not answer:
            body += f'<p class="muted">{NOT_YET}</p>'
        elif question.get("type") == "timeline" and isinstance(answer, list):
            rows = "".join(
                f"<tr><td>{h(str(line.get('time', '')))}</td><td>{h(str(line.get('text', '')))}</td></tr>"
                for line in answer
            )
            body += f"<table><thead><tr><th>When</th><th>What</th></tr></thead><tbody>{rows}</tbody></table>"
        elif question.get("type") == "list" and isinstance(answer, list):
            body += "<ol>" + "".join(f"<li>{h(str(item))}</li>" for item in answer) + "</ol>"
        else:
            body += _md(str(answer))
    return body


# -- HTML ---------------------------------------------------------------------------------------

PRINT_CSS = """
body{font-family:Georgia,'Times New Roman',serif;color:#111;max-width:46rem;margin:2rem auto;padding:0 1rem;
line-height:1.5}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #999;margin-top:1.8rem}
h3{font-size:1rem;margin-bottom:.2rem}.muted{color:#555}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f2f2f2}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:bold}
dd{margin:0}
@page{size:A4;margin:18mm 16mm}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}
table,li,section{break-inside:avoid}a{color:inherit;text-decoration:none}}
"""


def _p(value: str) -> str:
    return f"<p>{h_block(value)}</p>" if value.strip() else f'<p class="muted">{NOT_YET}</p>'


def _md(value: str | None) -> str:
    """A person's text (Markdown) as the pages draw it, or "not yet"."""
    return h_md(value) or f'<p class="muted">{NOT_YET}</p>'


def to_html(pm: PostMortem) -> str:
    f, r = pm.failure, pm.review
    parts: list[str] = []

    def section(title: str, body: str) -> None:
        parts.append(f"<section><h2>{h(title)}</h2>{body}</section>")

    summary = [
        ("Kind", _kind(f)),
        ("Severity", f.severity),
        ("Team", f.team.name if f.team else "—"),
        ("Status", f.status),
        ("Visibility", f.visibility),
        ("Reporter", f.reporter.name if f.reporter else "—"),
        ("People involved", ", ".join(p.name for p in f.people) or "—"),
    ]
    if f.labels:
        summary.append(("Labels", ", ".join(f.labels)))
    body = "<dl>" + "".join(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>" for k, v in summary) + "</dl>"
    if f.observation:
        body += h_md(f.observation)
    section("Summary", body)
    measured = _impact_lines(f)[1:] if f.impact else _impact_lines(f)
    section("Impact", (h_md(f.impact) + _p("\n".join(measured)) if measured else h_md(f.impact)) or _p(""))
    rows = "".join(f"<tr><td>{h(day(when))}</td><td>{h(what)}</td></tr>" for when, what in pm.timeline)
    section(
        "Timeline", f"<table><thead><tr><th>When</th><th>What</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    body = "".join(
        f"<h3>{h(question)}</h3>" + _md(getattr(r, name) if r is not None else "")
        for name, question in DIAGNOSTIC_QUESTIONS
    )
    if r is not None and r.assumptions:
        body += (
            "<p>Assumptions named:</p><ul>"
            + "".join(f"<li>{h(a.statement)} ({h(a.status)})</li>" for a in r.assumptions)
            + "</ul>"
        )
    section("Diagnostic questions", body)
    section("More questions", _extra_html(pm.extra))
    body = _md(r.root_cause if r is not None else "")
    if r is not None and r.contributing_factors:
        body += (
            "<p>Contributing factors:</p><ul>"
            + "".join(f"<li>{h(c)}</li>" for c in r.contributing_factors)
            + "</ul>"
        )
    section("Root cause", body)
    if r is not None and r.gap_type:
        body = (
            f"<p><strong>{h(r.gap_type)}</strong>"
            + (f" — {h(r.gap_justification)}" if r.gap_justification else "")
            + "</p>"
        )
    else:
        body = f'<p class="muted">{NOT_YET}</p>'
    section("Gap type", body)
    if pm.actions:
        rows = "".join(
            f"<tr><td>{a.id}</td><td>{'<strong>primary:</strong> ' if a.is_primary else ''}{h(a.title)}</td>"
            f"<td>{h(a.owner.name)}</td><td>{a.due_date.isoformat()}</td><td>{a.review_date.isoformat()}</td>"
            f"<td>{h(a.status)}{(': ' + h(a.evidence or a.drop_reason)) if a.evidence or a.drop_reason else ''}</td></tr>"
            for a in pm.actions
        )
        body = (
            "<table><thead><tr><th>#</th><th>Action</th><th>Owner</th><th>Due</th><th>Review</th>"
            f"<th>Status</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    else:
        body = '<p class="muted">No actions yet.</p>'
    section("Actions", body)
    if pm.experiments:
        items = []
        for e in pm.experiments:
            latest = f"{e.observations[-1].value:g}" if e.observations else "no observation"
            items.append(
                f"<li>#{e.id} (action #{e.action_id}) {h(e.hypothesis)} — success if {h(e.metric)} "
                f"{h(e.comparator)} {e.threshold:g}; latest {h(latest)}; "
                f"<strong>verdict: {h(experiment_verdict(e).value)}</strong></li>"
            )
        body = "<ul>" + "".join(items) + "</ul>"
    else:
        body = '<p class="muted">No experiments.</p>'
    section("Experiments", body)
    if pm.lessons:
        items = []
        for lesson in pm.lessons:
            state = f"published {day(lesson.published_at)}" if lesson.published_at else "draft"
            items.append(
                f"<li><strong>{h(lesson.title)}</strong> ({h(state)})<br>Learned:{h_md(lesson.learned)}"
                + (f"Changed:{h_md(lesson.changed)}" if lesson.changed else "")
                + "</li>"
            )
        body = "<ul>" + "".join(items) + "</ul>"
    else:
        body = '<p class="muted">No lessons yet.</p>'
    section("Lessons", body)
    items = [
        f"<li>{h(rev.checklist.kind)} {h(rev.checklist.name)} v{rev.version}: {h(rev.reason)}</li>"
        for rev in pm.revisions
    ] + [f"<li>guardrail #{g.id} {h(g.title)} ({h(describe_state(g))})</li>" for g in pm.guardrails]
    section(
        "What changed because of it",
        "<ul>" + "".join(items) + "</ul>"
        if items
        else '<p class="muted">No checklist revisions or guardrails yet.</p>',
    )
    title = f"Post-mortem: {f.title}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{h(title)}</title>'
        f"<style>{PRINT_CSS}</style></head><body>"
        f'<header><h1>{h(title)}</h1><p class="muted">Failure #{f.id} · exported {h(day(dt.datetime.now(dt.UTC).replace(microsecond=0)))}</p></header>'
        + "".join(parts)
        + "</body></html>\n"
    )


def export_postmortem(session: Session, failure_id: int | str, *, fmt: str = "md", viewer: Actor) -> str:
    """The post-mortem of a failure as ``md`` (Markdown) or ``html`` (printable)."""
    from lessonloop.errors import Invalid

    fmt = str(fmt or "md").strip().lower()
    if fmt in {"markdown"}:
        fmt = "md"
    if fmt not in {"md", "html"}:
        raise Invalid(f"must be md or html (got {fmt!r})", field="format")
    pm = gather(session, failure_id, viewer=viewer)
    return to_markdown(pm) if fmt == "md" else to_html(pm)

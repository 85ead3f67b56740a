"""Interpret: the review wizard, one question per page, with the coach's hints inline.

Steps: the three diagnostic questions one at a time, then the root cause, the gap type with its
one-line justification, and the one primary corrective action (owner, due and review dates),
which completes the review. Every step is a plain form that works without JavaScript; with htmx
the coach's hints also appear while typing (``POST /coach/hints``).

Each answer is saved as it is given (a draft review). When the coach flags blame language or a
vague action, the step is shown again with its hints and the answer kept; "Continue anyway"
goes on with the same text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.coerce import as_date
from lessonloop.errors import Invalid, NotFound
from lessonloop.failures.models import Failure
from lessonloop.failures.service import get_failure
from lessonloop.fields import lines_of, parse_command
from lessonloop.people.service import list_people
from lessonloop.reviews.models import GapType, Review
from lessonloop.reviews.schemas import ActionSpec, ReviewAnswers
from lessonloop.reviews.service import (
    DIAGNOSTIC_QUESTIONS,
    JUSTIFICATION_MAX,
    add_review_action,
    check_reviewable,
    complete_review,
    primary_action,
    review_for_failure,
    start_review,
    update_review,
)
from lessonloop.reviews.templates import template_for_failure
from lessonloop.signals.coach import BLAME, Finding, coach_review, coach_text, score_action
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages import review_extra
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

QUESTIONS = dict(DIAGNOSTIC_QUESTIONS)
#: What the wizard calls each field, in the list of what to correct (never ``what_changed``).
LABELS = {
    **{name: question.rstrip("?") for name, question in QUESTIONS.items()},
    "root_cause": "Root cause",
    "contributing_factors": "Contributing factors",
    "assumptions": "Assumptions that failed",
    "gap_type": "Gap type",
    "gap_justification": "Why this gap type",
    "title": "The one primary corrective action",
    "owner": "Owner",
    "due_date": "Due",
    "review_date": "Check it worked on",
    "primary_action": "The one primary corrective action",
}


@dataclass(frozen=True)
class Step:
    key: str
    heading: str
    fields: tuple[str, ...]
    question: str
    help: str


STEPS: tuple[Step, ...] = (
    Step(
        "assumption",
        "Question 1 of 3",
        ("assumption_text",),
        QUESTIONS["assumption_text"],
        "What did we believe when we decided? Describe the belief, not the person who held it.",
    ),
    Step(
        "evidence",
        "Question 2 of 3",
        ("evidence",),
        QUESTIONS["evidence"],
        "What did we know at the time, and how solid was it? 'None' is a useful answer.",
    ),
    Step(
        "changed",
        "Question 3 of 3",
        ("what_changed",),
        QUESTIONS["what_changed"],
        "What was different this time: the conditions, the system, the people, the market?",
    ),
    # The extra questions of the review template of the failure's kind (left out when it has none).
    Step(
        "extra",
        "More questions",
        (),
        "A few more questions for this kind of failure",
        "Optional unless marked required: answer what helps, skip what does not apply.",
    ),
    Step(
        "cause",
        "Root cause",
        ("root_cause", "contributing_factors", "assumptions"),
        "What is the root cause?",
        "The condition that, changed, keeps this from happening to the next person too.",
    ),
    Step(
        "gap",
        "Gap type",
        ("gap_type", "gap_justification"),
        "What kind of gap let it happen?",
        "Pick one and justify it in one line.",
    ),
    Step(
        "action",
        "Primary corrective action",
        ("title", "owner", "due_date", "review_date", "held_at"),
        "What one action will change the conditions?",
        "Exactly one primary action, with one owner, a due date and a date to check it worked.",
    ),
)
STEP_BY_KEY = {step.key: step for step in STEPS}
STEP_OF_FIELD = {field: step.key for step in STEPS for field in step.fields}
STEP_OF_FIELD["primary_action"] = "action"
GAP_HELP = {
    GapType.skill.value: "Someone lacked a skill they needed: training, pairing, practice.",
    GapType.process.value: "A step, check or guardrail was missing or did not fit: change the process.",
    GapType.context.value: "The information needed was not where the work happened.",
    GapType.resourcing.value: "Not enough time, budget or people for what was asked.",
}
CONTROL_FIELDS = ("coached", "go")
OPTIONAL = frozenset({"contributing_factors", "assumptions", "held_at"})


def _steps_for(ctx: Ctx, failure: Failure) -> tuple[Step, ...]:
    """The wizard's steps for ``failure``: without "More questions" when its template asks none."""
    if template_for_failure(ctx.session, failure, viewer=ctx.viewer).questions:
        return STEPS
    return tuple(s for s in STEPS if s.key != "extra")


def _extra_questions(ctx: Ctx, failure: Failure) -> list[dict[str, Any]]:
    return template_for_failure(ctx.session, failure, viewer=ctx.viewer).questions


def _fingerprint(values: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16]


def _step(key: str) -> Step:
    step = STEP_BY_KEY.get(key)
    if step is None:
        raise NotFound(f"no review step {key!r}", field="step")
    return step


def _answers(review: Review | None) -> dict[str, str]:
    if review is None:
        return {}
    return {
        "assumption_text": review.assumption_text,
        "evidence": review.evidence,
        "what_changed": review.what_changed,
        "root_cause": review.root_cause,
        "contributing_factors": "\n".join(review.contributing_factors or []),
        "assumptions": "\n".join(a.statement for a in review.assumptions),
        "gap_type": review.gap_type or "",
        "gap_justification": review.gap_justification,
    }


def _text_findings(form: PageForm, step: Step) -> dict[str, list[Finding]]:
    found = {}
    for name in step.fields:
        if name in {"gap_type", "owner", "due_date", "review_date"}:
            continue
        findings = coach_text(form.text(name))
        if findings:
            found[name] = findings
    return found


def _action_score(form: PageForm) -> Any:
    try:
        due = as_date(form.text("due_date"), "due_date") if form.text("due_date") else None
    except Invalid:
        due = None
    return score_action(form.text("title"), owner=form.text("owner") or None, due_date=due)


def _page(
    ctx: Ctx,
    failure_id: int,
    step: Step,
    form: PageForm,
    *,
    status_code: int = 200,
    hints: dict[str, list[Finding]] | None = None,
    score: Any = None,
    coached: str = "",
) -> Response:
    failure = check_reviewable(ctx.session, failure_id, viewer=ctx.viewer)
    review = review_for_failure(ctx.session, failure.id, viewer=ctx.viewer)
    answers = _answers(review)
    existing_primary = primary_action(ctx.session, review, viewer=ctx.viewer) if review is not None else None
    summary = None
    if step.key == "action":
        summary = coach_review(
            {k: answers.get(k, "") for k in ("assumption_text", "evidence", "what_changed", "root_cause")},
            [],
        )
    steps = _steps_for(ctx, failure)
    index = steps.index(step)
    extra = review_extra.layout(_extra_questions(ctx, failure), review.extra_answers if review else {})
    return ctx.page(
        "review/step.html",
        nav="failures",
        status_code=status_code,
        failure=failure,
        review=review,
        step=step,
        steps=steps,
        index=index,
        previous=steps[index - 1] if index > 0 else None,
        extra_questions=extra,
        form=form,
        hints=hints if hints is not None else _text_findings(form, step),
        score=score,
        coached=coached,
        answers=answers,
        questions=QUESTIONS,
        summary=summary,
        existing_primary=existing_primary,
        gap_types=[(g.value, GAP_HELP[g.value]) for g in GapType],
        justification_max=JUSTIFICATION_MAX,
        people_options=[
            (p.handle, f"{p.name} ({p.handle})") for p in list_people(ctx.session, viewer=ctx.viewer)
        ],
        step_of_field={**STEP_OF_FIELD, **{f"extra_answers.{q['key']}": "extra" for q in extra}},
    )


@router.get("/failures/{failure_id}/review")
def review_start(ctx: SignedIn, failure_id: int) -> Response:
    """Go to the first step still unanswered."""
    check_reviewable(ctx.session, failure_id, viewer=ctx.viewer)
    answers = _answers(review_for_failure(ctx.session, failure_id, viewer=ctx.viewer))
    for step in STEPS[:-1]:
        required = [f for f in step.fields if f not in OPTIONAL]
        if not all(answers.get(f, "").strip() for f in required):
            return RedirectResponse(f"/failures/{failure_id}/review/{step.key}", status_code=303)
    return RedirectResponse(f"/failures/{failure_id}/review/action", status_code=303)


@router.get("/failures/{failure_id}/review/{key}")
def review_step(ctx: SignedIn, failure_id: int, key: str) -> Response:
    step = _step(key)
    failure = check_reviewable(ctx.session, failure_id, viewer=ctx.viewer)
    review = review_for_failure(ctx.session, failure.id, viewer=ctx.viewer)
    values: dict[str, Any] = _answers(review)
    if step.key == "extra":
        return _extra_step(ctx, failure, review)
    if step.key == "action":
        values = {
            "owner": ctx.person.handle,
            "due_date": (dt.date.today() + dt.timedelta(days=14)).isoformat(),
            # a draft started with the day it was held (API, CLI) shows that day
            "held_at": review.held_at.date().isoformat() if review is not None and review.held_at else "",
        }
    form = PageForm(step.fields, values, labels=LABELS)
    score = _action_score(form) if step.key == "action" and form.text("title") else None
    return _page(ctx, failure_id, step, form, score=score)


def _extra_step(ctx: Ctx, failure: Failure, review: Review | None) -> Response:
    """The "More questions" step; with no extra questions, on to the root cause."""
    questions = _extra_questions(ctx, failure)
    if not questions:
        return RedirectResponse(f"/failures/{failure.id}/review/cause", status_code=303)
    answers = review.extra_answers if review is not None else {}
    form = PageForm(review_extra.field_names(questions), review_extra.values(questions, answers))
    return _page(ctx, failure.id, STEP_BY_KEY["extra"], form)


def _answer_extra(ctx: Ctx, failure_id: int, step: Step, data: Any, go: str) -> Response:
    """Save the extra answers like any other step (a draft review), then go on."""
    failure = check_reviewable(ctx.session, failure_id, viewer=ctx.viewer)
    questions = _extra_questions(ctx, failure)
    form = PageForm.posted(
        data,
        [*review_extra.field_names(questions), *CONTROL_FIELDS],
        aliases=review_extra.aliases(questions),
        labels=review_extra.labels(questions),
    )
    with form.attempt(ctx.session):
        answers = parse_command(
            ReviewAnswers, {"extra_answers": review_extra.posted_answers(questions, form)}
        )
        review = start_review(ctx.session, failure.id, viewer=ctx.viewer)
        update_review(ctx.session, review.id, answers.changes(), viewer=ctx.viewer)
    if not form.ok:
        return _page(ctx, failure_id, step, form, status_code=422)
    return RedirectResponse(_next_url(failure_id, step, go, ctx), status_code=303)


def _next_url(failure_id: int, step: Step, go: str, ctx: Ctx | None = None) -> str:
    steps = STEPS
    if ctx is not None:
        steps = _steps_for(ctx, get_failure(ctx.session, failure_id, viewer=ctx.viewer))
    index = steps.index(step)
    target = index - 1 if go == "back" else index + 1
    target = max(0, min(target, len(steps) - 1))
    return f"/failures/{failure_id}/review/{steps[target].key}"


@router.post("/failures/{failure_id}/review/{key}")
def review_answer(ctx: SignedIn, failure_id: int, key: str, data: Form) -> Response:
    step = _step(key)
    form = PageForm.posted(data, step.fields + CONTROL_FIELDS, labels=LABELS)
    go = form.text("go")
    if step.key == "action":
        return _complete(ctx, failure_id, step, form, go)
    if step.key == "extra":
        return _answer_extra(ctx, failure_id, step, data, go)
    with form.attempt(ctx.session):
        answers = parse_command(ReviewAnswers, _typed(form, step.fields))
        review = start_review(ctx.session, failure_id, viewer=ctx.viewer)
        update_review(ctx.session, review.id, answers.changes(), viewer=ctx.viewer)
    if form.ok and go != "back":
        # Saved either way; going on needs the step's answers (blank or whitespace is no answer),
        # each missing one said beside its field — the gap type's radios too.
        for name in step.fields:
            if name not in OPTIONAL and not form.text(name):
                form.add_error(name, "is required")
    if not form.ok:
        return _page(ctx, failure_id, step, form, status_code=422)
    hints = _text_findings(form, step)
    fingerprint = _fingerprint([form.text(f) for f in step.fields])
    if hints and go != "back" and form.text("coached") != fingerprint:
        # Saved; shown again once so the hints are read before going on.
        return _page(ctx, failure_id, step, form, hints=hints, coached=fingerprint)
    return RedirectResponse(_next_url(failure_id, step, go, ctx), status_code=303)


def _typed(form: PageForm, fields: Sequence[str]) -> dict[str, str | list[str]]:
    """A step's answers as :class:`ReviewAnswers` reads them: a textarea list is one per line."""
    return {f: lines_of(form.text(f)) if f in LIST_ANSWERS else form.text(f) for f in fields}


LIST_ANSWERS = frozenset({"contributing_factors", "assumptions", "reviewers"})


def _complete(ctx: Ctx, failure_id: int, step: Step, form: PageForm, go: str) -> Response:
    """The last step: add the primary action (unless it exists) and complete the review."""
    if go == "back":
        return RedirectResponse(_next_url(failure_id, step, go, ctx), status_code=303)
    existing = None
    review_now = review_for_failure(ctx.session, failure_id, viewer=ctx.viewer)
    if review_now is not None:
        existing = primary_action(ctx.session, review_now, viewer=ctx.viewer)
    score = None
    if existing is None:
        score = _action_score(form)
        blame = [f for f in coach_text(form.text("title")) if f.kind == BLAME]
        fingerprint = _fingerprint([form.text(f) for f in step.fields])
        if (score.vague or blame) and form.text("coached") != fingerprint:
            hints = {"title": blame} if blame else {}
            return _page(ctx, failure_id, step, form, hints=hints, score=score, coached=fingerprint)
    with form.attempt(ctx.session):
        review = start_review(ctx.session, failure_id, viewer=ctx.viewer)
        if form.text("held_at"):  # back-filled: the day it really took place (else: now)
            held = parse_command(ReviewAnswers, {"held_at": form.text("held_at")})
            update_review(ctx.session, review.id, held.changes(), viewer=ctx.viewer)
        if existing is None:
            fields = ("title", "owner", "due_date", "review_date")
            action = parse_command(ActionSpec, {f: form.text(f) for f in fields})
            add_review_action(ctx.session, review.id, action.spec(), primary=True, viewer=ctx.viewer)
        complete_review(ctx.session, review.id, viewer=ctx.viewer)
    if not form.ok:
        return _page(ctx, failure_id, step, form, status_code=422, hints={}, score=score)
    response = RedirectResponse(f"/failures/{failure_id}#review", status_code=303)
    set_flash(response, ctx.request, "Review completed: the failure is now acting on its primary action.")
    return response


@router.post("/coach/hints")
def coach_hints(ctx: SignedIn, data: Form, field: str = "", mode: str = "") -> Response:
    """The coach's hints for one field while typing (an htmx fragment): blame language in any
    text (``mode=blame``, what ``coach=true`` on a form field asks), and for the wizard's action
    ``title`` its specificity too. Only advice: no form waits for it."""
    form = PageForm.posted(data, ("title", "owner", "due_date", field) if field else ("title",))
    if field == "title" and mode != "blame":
        return ctx.page("review/_hints.html", name=field, findings=[], score=_action_score(form))
    findings = coach_text(form.text(field)) if field else []
    if mode == "blame":  # text about people, not an action: only the blame language
        findings = [f for f in findings if f.kind == BLAME]
    return ctx.page("review/_hints.html", name=field, findings=findings, score=None)

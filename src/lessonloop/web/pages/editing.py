"""Edit and correct: a failure's fields, a completed review, an action's owner and dates.

Each page is a plain form prefilled with the record; only the fields whose value differs from
the record are sent to the service, so a save writes one history row naming exactly what changed
(a date field shown as a day does not rewrite the time it was stored with). Who may edit is the
services' rule: the failure's editors (``get_editable_failure``) for a failure and its review,
whoever may work on an action (its owner, the failure's editors) for an action; anyone else gets
the 403 page, and a record one may not see the 404 page.

A corrected review is coached again: the coach's hints on the saved text are shown on the page,
and never stop the save.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.actions.models import Action, ActionStatus
from lessonloop.actions.schemas import EditAction
from lessonloop.actions.service import edit_action, get_workable_action
from lessonloop.failures.models import Failure, Severity
from lessonloop.failures.schemas import EditFailure
from lessonloop.failures.service import get_editable_failure, update_failure
from lessonloop.fields import lines_of, parse_command
from lessonloop.people.service import list_people, team_choices
from lessonloop.reviews.models import GapType, Review
from lessonloop.reviews.schemas import ReviseReview
from lessonloop.reviews.service import (
    DIAGNOSTIC_QUESTIONS,
    JUSTIFICATION_MAX,
    review_for_failure,
    revise_review,
)
from lessonloop.signals.coach import Finding, coach_text
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.failures import VISIBILITY_HELP, split_list
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

FAILURE_FIELDS = (
    "title",
    "observation",
    "impact",
    "kind",
    "severity",
    "visibility",
    "detected_at",
    "occurred_at",
    "team",
    "people",
    "reporter",
    "labels",
)
REVIEW_FIELDS = (
    "assumption_text",
    "evidence",
    "what_changed",
    "root_cause",
    "gap_type",
    "gap_justification",
    "contributing_factors",
    "held_at",
)
REVIEW_TEXTS = ("assumption_text", "evidence", "what_changed", "root_cause", "gap_justification")
ACTION_FIELDS = ("title", "owner", "due_date", "review_date", "backfill")


def changed(
    posted: Mapping[str, Any], current: Mapping[str, Any], sent: Collection[str] | None = None
) -> dict[str, Any]:
    """The posted values that differ from the record's current ones (lists compared as sets);
    with ``sent``, only the fields the request carried (a field left out is left alone)."""
    out: dict[str, Any] = {}
    for name, value in posted.items():
        if sent is not None and name not in sent:
            continue
        now = current.get(name)
        if isinstance(value, list) and isinstance(now, list):
            if sorted(value) != sorted(now):
                out[name] = value
        elif value != now:
            out[name] = value
    return out


#: A hidden field of the failure form: an empty multiple choice is not sent at all by a browser,
#: so this says the people list was on the form (and nobody chosen means nobody involved).
PEOPLE_SHOWN = "people_shown"


def _sent(data: Form, shown: str | None = None) -> set[str]:
    names = set(data.keys())
    if shown is not None and shown in names:
        names.add("people")
    return names


# -- a failure ----------------------------------------------------------------------------------


def _failure_values(failure: Failure) -> dict[str, Any]:
    return {
        "title": failure.title,
        "observation": failure.observation,
        "impact": failure.impact,
        "kind": failure.kind,
        "severity": failure.severity,
        "visibility": failure.visibility,
        "detected_at": failure.detected_at.date().isoformat(),
        "occurred_at": failure.occurred_at.date().isoformat() if failure.occurred_at else "",
        "team": str(failure.team_id or ""),
        "people": [p.handle for p in failure.people],
        "reporter": failure.reporter.handle if failure.reporter is not None else "",
        "labels": ", ".join(failure.labels),
    }


def _failure_posted(form: PageForm) -> dict[str, Any]:
    values: dict[str, Any] = {name: form.text(name) for name in FAILURE_FIELDS}
    values["people"] = form.many("people")
    values["labels"] = ", ".join(split_list(form.text("labels")))
    return values


def _failure_page(ctx: Ctx, failure: Failure, form: PageForm, *, status_code: int = 200) -> Response:
    return ctx.page(
        "failures/edit.html",
        nav="failures",
        status_code=status_code,
        failure=failure,
        form=form,
        team_options=team_choices(ctx.session, viewer=ctx.viewer),
        severity_options=[(s.value, s.value) for s in Severity],
        visibility_options=[(v, VISIBILITY_HELP[v]) for v in ("team", "org", "private")],
        people_options=_people_options(ctx),
    )


def _people_options(ctx: Ctx) -> list[tuple[str, str]]:
    return [(p.handle, f"{p.name} ({p.handle})") for p in list_people(ctx.session, viewer=ctx.viewer)]


@router.get("/failures/{failure_id}/edit")
def failure_edit(ctx: SignedIn, failure_id: int) -> Response:
    failure = get_editable_failure(ctx.session, failure_id, ctx.viewer)
    return _failure_page(ctx, failure, PageForm(FAILURE_FIELDS, _failure_values(failure)))


@router.post("/failures/{failure_id}/edit")
def failure_save(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    failure = get_editable_failure(ctx.session, failure_id, ctx.viewer)
    form = PageForm.posted(data, FAILURE_FIELDS, lists=("people",))
    changes = changed(_failure_posted(form), _failure_values(failure), _sent(data, PEOPLE_SHOWN))
    if "labels" in changes:
        changes["labels"] = split_list(changes["labels"])
    with form.attempt(ctx.session):
        command = parse_command(EditFailure, changes)
        update_failure(ctx.session, failure_id, command.changes(), viewer=ctx.viewer)
    if not form.ok:
        failure = get_editable_failure(ctx.session, failure_id, ctx.viewer)
        return _failure_page(ctx, failure, form, status_code=422)
    response = RedirectResponse(f"/failures/{failure_id}?history=1#history", status_code=303)
    set_flash(response, ctx.request, _saved(len(changes)))
    return response


def _saved(count: int) -> str:
    if not count:
        return "Nothing changed."
    return f"Saved: {count} field{'s' if count != 1 else ''} changed; see the history."


# -- a completed review -------------------------------------------------------------------------


def _review_values(review: Review) -> dict[str, Any]:
    return {
        "assumption_text": review.assumption_text,
        "evidence": review.evidence,
        "what_changed": review.what_changed,
        "root_cause": review.root_cause,
        "gap_type": review.gap_type or "",
        "gap_justification": review.gap_justification,
        "contributing_factors": "\n".join(review.contributing_factors or []),
        "held_at": review.held_at.date().isoformat() if review.held_at else "",
    }


def hints_for(values: Mapping[str, Any]) -> dict[str, list[Finding]]:
    """The coach's findings per answer (blame language and the like); advice, never a refusal."""
    found = {}
    for name in (*REVIEW_TEXTS, "contributing_factors"):
        findings = coach_text(str(values.get(name) or ""))
        if findings:
            found[name] = findings
    return found


def _completed_review(ctx: Ctx, failure_id: int) -> tuple[Failure, Review]:
    failure = get_editable_failure(ctx.session, failure_id, ctx.viewer)
    review = review_for_failure(ctx.session, failure.id, viewer=ctx.viewer)
    if review is None or review.status != "completed":
        # Nothing to correct yet: the wizard continues a draft.
        raise _NoCompletedReview(failure.id)
    return failure, review


class _NoCompletedReview(Exception):
    def __init__(self, failure_id: int) -> None:
        self.failure_id = failure_id


def _review_page(
    ctx: Ctx,
    failure: Failure,
    review: Review,
    form: PageForm,
    *,
    status_code: int = 200,
    saved: bool = False,
    hints: dict[str, list[Finding]] | None = None,
) -> Response:
    return ctx.page(
        "failures/edit_review.html",
        nav="failures",
        status_code=status_code,
        failure=failure,
        review=review,
        form=form,
        questions=dict(DIAGNOSTIC_QUESTIONS),
        gap_options=[(g.value, g.value) for g in GapType],
        justification_max=JUSTIFICATION_MAX,
        hints=hints if hints is not None else hints_for(form.values),
        saved=saved,
    )


def _to_wizard(failure_id: int) -> Response:
    return RedirectResponse(f"/failures/{failure_id}/review", status_code=303)


@router.get("/failures/{failure_id}/edit-review")
def review_edit(ctx: SignedIn, failure_id: int) -> Response:
    try:
        failure, review = _completed_review(ctx, failure_id)
    except _NoCompletedReview as gone:
        return _to_wizard(gone.failure_id)
    return _review_page(ctx, failure, review, PageForm(REVIEW_FIELDS, _review_values(review)))


@router.post("/failures/{failure_id}/edit-review")
def review_save(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    try:
        failure, review = _completed_review(ctx, failure_id)
    except _NoCompletedReview as gone:
        return _to_wizard(gone.failure_id)
    form = PageForm.posted(data, REVIEW_FIELDS)
    changes = changed({name: form.text(name) for name in REVIEW_FIELDS}, _review_values(review), _sent(data))
    if "contributing_factors" in changes:
        changes["contributing_factors"] = lines_of(changes["contributing_factors"])
    with form.attempt(ctx.session):
        command = parse_command(ReviseReview, changes)
        revise_review(ctx.session, review.id, command.changes(), viewer=ctx.viewer)
    if not form.ok:
        failure, review = _completed_review(ctx, failure_id)
        return _review_page(ctx, failure, review, form, status_code=422)
    hints = hints_for({name: form.text(name) for name in changes})
    if hints:
        # Saved; the coach's hints on the changed text are shown, the form open to act on them.
        return _review_page(ctx, failure, review, form, saved=True, hints=hints)
    response = RedirectResponse(f"/failures/{failure_id}?history=1#review", status_code=303)
    set_flash(response, ctx.request, _saved(len(changes)))
    return response


# -- an action ----------------------------------------------------------------------------------


def _action_values(action: Action) -> dict[str, Any]:
    return {
        "title": action.title,
        "owner": action.owner.handle,
        "due_date": action.due_date.isoformat(),
        "review_date": action.review_date.isoformat(),
    }


def _action_page(
    ctx: Ctx,
    action: Action,
    form: PageForm,
    *,
    status_code: int = 200,
    done_form: PageForm | None = None,
) -> Response:
    return ctx.page(
        "actions/edit.html",
        nav="actions",
        status_code=status_code,
        action=action,
        form=form,
        done_form=done_form or PageForm(("evidence", "done_at")),
        is_open=action.status == ActionStatus.open.value,
        people_options=_people_options(ctx),
    )


@router.get("/actions/{action_id}/edit")
def action_edit(ctx: SignedIn, action_id: int) -> Response:
    action = get_workable_action(ctx.session, action_id, viewer=ctx.viewer)
    return _action_page(ctx, action, PageForm(ACTION_FIELDS, _action_values(action)))


@router.post("/actions/{action_id}/edit")
def action_save(ctx: SignedIn, action_id: int, data: Form) -> Response:
    action = get_workable_action(ctx.session, action_id, viewer=ctx.viewer)
    failure_id = action.failure_id
    form = PageForm.posted(data, ACTION_FIELDS)
    posted: dict[str, Any] = {name: form.text(name) for name in ACTION_FIELDS if name != "backfill"}
    changes = changed(posted, _action_values(action), _sent(data))
    with form.attempt(ctx.session):
        command = parse_command(EditAction, {**changes, "backfill": form.text("backfill") == "yes"})
        edit_action(ctx.session, action_id, command.changes(), backfill=command.backfill, viewer=ctx.viewer)
    if not form.ok:
        action = get_workable_action(ctx.session, action_id, viewer=ctx.viewer)
        return _action_page(ctx, action, form, status_code=422)
    response = RedirectResponse(f"/failures/{failure_id}?history=1#action-{action_id}", status_code=303)
    set_flash(response, ctx.request, _saved(len(changes)))
    return response

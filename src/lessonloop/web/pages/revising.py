"""Edit, correct, undo: a lesson (edit, unpublish, retract) and an experiment (edit, delete) and its
observations.

Like :mod:`lessonloop.web.pages.editing`, each form is prefilled with the record and only the
fields whose value differs are sent to the service, so a save writes one history row naming
exactly what changed. Who may is the services' rule — a lesson's editors
(``access.policy.can_edit_lesson``), an experiment's runners (the action's owner and whoever may
change the failure); anyone else gets the 403 page, a record one may not see the 404 page.

A retracted lesson keeps its page (with the reason, under a "Retracted" banner) and its history;
the library lists it only under "Retracted" (decision 38).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.policy import can_see_failure
from lessonloop.experiments.schemas import EditExperiment, EditObservation
from lessonloop.experiments.service import (
    delete_experiment,
    delete_observation,
    edit_experiment,
    edit_observation,
    experiment_verdict,
    get_workable_experiment,
)
from lessonloop.fields import parse_command
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.schemas import EditLesson, RetractLesson
from lessonloop.lessons.service import edit_lesson, get_editable_lesson, retract_lesson, unpublish_lesson
from lessonloop.people.service import list_teams
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.actions import _experiment_page
from lessonloop.web.pages.editing import changed
from lessonloop.web.pages.experiment_forms import (
    EXPERIMENT_EDIT_FIELDS,
    OBSERVATION_FIELDS,
    experiment_values,
    observation_values,
)
from lessonloop.web.pages.failures import split_list
from lessonloop.web.pages.lessons import lesson_page
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

LESSON_EDIT_FIELDS = ("title", "learned", "changed", "failures", "audience")
LESSON_EDIT_LABELS = {
    "title": "Title",
    "learned": "What we learned",
    "changed": "What we changed",
    "failures": "Drawn from failures",
    "audience": "Audience",
}
# get_or_404 names a bad failure id "failure_id" (or "id" when it is not a number).
LESSON_EDIT_ALIASES = {"failure_id": "failures", "id": "failures"}


def _redirect(ctx: Ctx, location: str, message: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    set_flash(response, ctx.request, message)
    return response


def _saved(count: int) -> str:
    if not count:
        return "Nothing changed."
    return f"Saved: {count} field{'s' if count != 1 else ''} changed; see the history."


# -- a lesson -----------------------------------------------------------------------------------


def _lesson_values(ctx: Ctx, lesson: Lesson) -> dict[str, Any]:
    return {
        "title": lesson.title,
        "learned": lesson.learned,
        "changed": lesson.changed,
        # Only the failures this editor may see are shown (and sent back); the others stay linked.
        "failures": ", ".join(str(f.id) for f in lesson.failures if can_see_failure(ctx.viewer, f)),
        "audience": [str(t.id) for t in lesson.audience],
    }


def _lesson_page(ctx: Ctx, lesson: Lesson, form: PageForm, *, status_code: int = 200) -> Response:
    return ctx.page(
        "lessons/edit.html",
        nav="lessons",
        status_code=status_code,
        lesson=lesson,
        form=form,
        teams=list_teams(ctx.session, viewer=ctx.viewer),
        hidden_failures=sum(1 for f in lesson.failures if not can_see_failure(ctx.viewer, f)),
    )


@router.get("/lessons/{lesson_id}/edit")
def lesson_edit(ctx: SignedIn, lesson_id: int) -> Response:
    lesson = get_editable_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    form = PageForm(LESSON_EDIT_FIELDS, _lesson_values(ctx, lesson), labels=LESSON_EDIT_LABELS)
    return _lesson_page(ctx, lesson, form)


@router.post("/lessons/{lesson_id}/edit")
def lesson_save(ctx: SignedIn, lesson_id: int, data: Form) -> Response:
    lesson = get_editable_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    form = PageForm.posted(
        data, LESSON_EDIT_FIELDS, lists=("audience",), aliases=LESSON_EDIT_ALIASES, labels=LESSON_EDIT_LABELS
    )
    posted: dict[str, Any] = {name: form.text(name) for name in ("title", "learned", "changed")}
    posted["failures"] = ", ".join(split_list(form.text("failures").replace("#", "")))
    posted["audience"] = form.many("audience")
    changes = changed(posted, _lesson_values(ctx, lesson))
    if "failures" in changes:
        changes["failures"] = split_list(changes["failures"])
    with form.attempt(ctx.session):
        command = parse_command(EditLesson, changes)
        edit_lesson(ctx.session, lesson_id, command.changes(), viewer=ctx.viewer)
    if not form.ok:
        lesson = get_editable_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
        return _lesson_page(ctx, lesson, form, status_code=422)
    return _redirect(ctx, f"/lessons/{lesson_id}", _saved(len(changes)))


@router.post("/lessons/{lesson_id}/unpublish")
def lesson_unpublish(ctx: SignedIn, lesson_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ())
    with form.attempt(ctx.session):
        unpublish_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    message = (
        "Back to a draft: its audience no longer sees it as a learning." if form.ok else str(form.message)
    )
    return _redirect(ctx, f"/lessons/{lesson_id}", message)


@router.post("/lessons/{lesson_id}/retract")
def lesson_retract(ctx: SignedIn, lesson_id: int, data: Form) -> Response:
    get_editable_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    form = PageForm.posted(data, ("reason",), labels={"reason": "Why it is retracted"})
    with form.attempt(ctx.session):
        command = parse_command(RetractLesson, {"reason": form.text("reason")})
        retract_lesson(ctx.session, lesson_id, reason=command.reason, viewer=ctx.viewer)
    if not form.ok:
        return lesson_page(ctx, lesson_id, status_code=422, retract_form=form)
    return _redirect(
        ctx, f"/lessons/{lesson_id}", "Lesson retracted: it stays here with the reason, no longer listed."
    )


# -- an experiment and its observations ----------------------------------------------------------


@router.post("/experiments/{experiment_id}/edit")
def experiment_save(ctx: SignedIn, experiment_id: int, data: Form) -> Response:
    experiment = get_workable_experiment(ctx.session, experiment_id, viewer=ctx.viewer)
    form = PageForm.posted(data, EXPERIMENT_EDIT_FIELDS)
    changes = changed({n: form.text(n) for n in EXPERIMENT_EDIT_FIELDS}, experiment_values(experiment))
    with form.attempt(ctx.session):
        command = parse_command(EditExperiment, changes)
        experiment = edit_experiment(ctx.session, experiment_id, command.changes(), viewer=ctx.viewer)
        verdict = experiment_verdict(experiment).value
    if not form.ok:
        return _experiment_page(
            ctx, experiment_id, PageForm(OBSERVATION_FIELDS), status_code=422, edit_form=form
        )
    return _redirect(ctx, f"/experiments/{experiment_id}", f"{_saved(len(changes))} Verdict: {verdict}.")


@router.post("/experiments/{experiment_id}/delete")
def experiment_delete(ctx: SignedIn, experiment_id: int, data: Form) -> Response:
    failure_id = delete_experiment(ctx.session, experiment_id, viewer=ctx.viewer)
    return _redirect(ctx, f"/failures/{failure_id}", f"Experiment {experiment_id} deleted.")


@router.post("/experiments/{experiment_id}/observations/{observation_id}/edit")
def observation_save(ctx: SignedIn, experiment_id: int, observation_id: int, data: Form) -> Response:
    experiment = get_workable_experiment(ctx.session, experiment_id, viewer=ctx.viewer)
    current = next((o for o in experiment.observations if o.id == observation_id), None)
    form = PageForm.posted(data, OBSERVATION_FIELDS)
    posted = {n: form.text(n) for n in OBSERVATION_FIELDS}
    changes = changed(posted, observation_values(current)) if current is not None else posted
    with form.attempt(ctx.session):
        command = parse_command(EditObservation, changes)
        edit_observation(ctx.session, experiment_id, observation_id, command.changes(), viewer=ctx.viewer)
        ctx.session.expire(experiment, ["observations"])
        verdict = experiment_verdict(experiment).value
    if not form.ok:
        return _experiment_page(
            ctx,
            experiment_id,
            PageForm(OBSERVATION_FIELDS),
            status_code=422,
            observation_form=(observation_id, form),
        )
    return _redirect(ctx, f"/experiments/{experiment_id}", f"{_saved(len(changes))} Verdict: {verdict}.")


@router.post("/experiments/{experiment_id}/observations/{observation_id}/delete")
def observation_delete(ctx: SignedIn, experiment_id: int, observation_id: int, data: Form) -> Response:
    experiment = delete_observation(ctx.session, experiment_id, observation_id, viewer=ctx.viewer)
    verdict = experiment_verdict(experiment).value
    return _redirect(ctx, f"/experiments/{experiment_id}", f"Observation deleted. Verdict: {verdict}.")

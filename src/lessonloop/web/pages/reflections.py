"""Reflection sessions: the list, one session (reschedule, mark held, notes), and planning one
from a failure's page.

* ``/reflections`` — the sessions of failures the signed-in person may see, soonest first.
* ``/reflections/{id}`` — one session; its forms for whoever may run it (the facilitator, the
  team's leads and admins, org admins: :mod:`lessonloop.reflections.service`).
* ``/failures/{id}/reflection`` — the failure page's link: the session if there is one, else the
  form to schedule it (or a note that none is planned, for who may not).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.failures.service import get_visible_failure
from lessonloop.fields import parse_command
from lessonloop.reflections import service as reflections
from lessonloop.reflections.schemas import (
    HoldReflection,
    ReflectionNotes,
    RescheduleReflection,
    ScheduleReflection,
)
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

SCHEDULE_FIELDS = ("scheduled_for", "facilitator")
NOTES_FIELDS = ("notes",)
LABELS = {"scheduled_for": "Date", "facilitator": "Facilitator"}


@router.get("/reflections")
def reflection_list(ctx: SignedIn) -> Response:
    rows = reflections.list_reflections(ctx.session, viewer=ctx.viewer)
    return ctx.page("reflections/list.html", nav="reflections", rows=rows)


def _session_page(
    ctx: Ctx,
    reflection_id: int,
    *,
    move: PageForm | None = None,
    notes: PageForm | None = None,
    status_code: int = 200,
) -> Response:
    listed = reflections.get_reflection(ctx.session, reflection_id, viewer=ctx.viewer)
    r = listed.reflection
    return ctx.page(
        "reflections/show.html",
        nav="reflections",
        status_code=status_code,
        row=listed,
        move=move
        or PageForm(
            SCHEDULE_FIELDS,
            {"scheduled_for": r.scheduled_for.isoformat(), "facilitator": ""},
            labels=LABELS,
        ),
        notes=notes or PageForm(NOTES_FIELDS, {"notes": r.notes}),
    )


@router.get("/reflections/{reflection_id}")
def reflection_show(ctx: SignedIn, reflection_id: int) -> Response:
    return _session_page(ctx, reflection_id)


@router.get("/failures/{failure_id}/reflection")
def failure_reflection(ctx: SignedIn, failure_id: int) -> Response:
    """The session on this failure, or the form to plan one."""
    listed = reflections.reflection_of_failure(ctx.session, failure_id, viewer=ctx.viewer)
    if listed is not None:
        return RedirectResponse(f"/reflections/{listed.reflection.id}", status_code=303)
    return _schedule_page(ctx, failure_id, PageForm(SCHEDULE_FIELDS, labels=LABELS))


def _schedule_page(ctx: Ctx, failure_id: int, form: PageForm, *, status_code: int = 200) -> Response:
    failure = get_visible_failure(ctx.session, failure_id, ctx.viewer)
    return ctx.page(
        "reflections/schedule.html",
        nav="reflections",
        status_code=status_code,
        failure=failure,
        form=form,
        may_schedule=reflections.may_schedule(ctx.session, failure, viewer=ctx.viewer),
    )


@router.post("/failures/{failure_id}/reflection")
def failure_reflection_schedule(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, SCHEDULE_FIELDS, labels=LABELS)
    with form.attempt(ctx.session):
        command = parse_command(
            ScheduleReflection,
            {"scheduled_for": form.text("scheduled_for"), "facilitator": form.text("facilitator") or None},
        )
        row = reflections.schedule(ctx.session, failure_id, command, viewer=ctx.viewer)
    if not form.ok:
        return _schedule_page(ctx, failure_id, form, status_code=422)
    response = RedirectResponse(f"/reflections/{row.id}", status_code=303)
    set_flash(response, ctx.request, f"Reflection session planned for {row.scheduled_for.isoformat()}.")
    return response


@router.post("/reflections/{reflection_id}/reschedule")
def reflection_reschedule(ctx: SignedIn, reflection_id: int, data: Form) -> Response:
    form = PageForm.posted(data, SCHEDULE_FIELDS, labels=LABELS)
    with form.attempt(ctx.session):
        command = parse_command(
            RescheduleReflection,
            {"scheduled_for": form.text("scheduled_for"), "facilitator": form.text("facilitator") or None},
        )
        row = reflections.reschedule(ctx.session, reflection_id, command, viewer=ctx.viewer)
    if not form.ok:
        return _session_page(ctx, reflection_id, move=form, status_code=422)
    response = RedirectResponse(f"/reflections/{reflection_id}", status_code=303)
    set_flash(response, ctx.request, f"Moved to {row.scheduled_for.isoformat()}.")
    return response


@router.post("/reflections/{reflection_id}/held")
def reflection_held(ctx: SignedIn, reflection_id: int, data: Form) -> Response:
    form = PageForm.posted(data, NOTES_FIELDS)
    with form.attempt(ctx.session):
        notes = form.raw("notes") if "notes" in data else None
        command = parse_command(HoldReflection, {"notes": notes})
        reflections.mark_held(ctx.session, reflection_id, command, viewer=ctx.viewer)
    if not form.ok:
        return _session_page(ctx, reflection_id, notes=form, status_code=422)
    response = RedirectResponse(f"/reflections/{reflection_id}", status_code=303)
    set_flash(response, ctx.request, "Marked held.")
    return response


@router.post("/reflections/{reflection_id}/notes")
def reflection_notes(ctx: SignedIn, reflection_id: int, data: Form) -> Response:
    form = PageForm.posted(data, NOTES_FIELDS)
    with form.attempt(ctx.session):
        command = parse_command(ReflectionNotes, {"notes": form.raw("notes")})
        reflections.set_notes(ctx.session, reflection_id, command, viewer=ctx.viewer)
    if not form.ok:
        return _session_page(ctx, reflection_id, notes=form, status_code=422)
    response = RedirectResponse(f"/reflections/{reflection_id}", status_code=303)
    set_flash(response, ctx.request, "Notes saved.")
    return response

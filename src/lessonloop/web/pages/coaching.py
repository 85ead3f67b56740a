"""Private coaching: notes from a lead to someone they lead, development plans after a skill gap.

Only a note's author and subject (a plan's author and person) ever see it — not org admins, not
other leads (``lessonloop.coaching.service``). The pages only list what those services return.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.coaching.schemas import StartPlan, WriteNote
from lessonloop.coaching.service import (
    complete_plan,
    delete_note,
    notes_visible_to,
    people_led_by,
    plans_visible_to,
    start_plan,
    write_note,
)
from lessonloop.errors import Conflict
from lessonloop.fields import parse_command
from lessonloop.reviews.service import review_for_failure
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute, safe_next
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.failures import PLAN_FIELDS, failure_page
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

NOTE_FIELDS = ("subject", "body", "next")
NOTE_LABELS = {"subject": "For", "body": "Note"}


def _coaching_page(ctx: Ctx, form: PageForm, *, status_code: int = 200) -> Response:
    s = ctx.session
    led = people_led_by(s, ctx.person, viewer=ctx.viewer)
    return ctx.page(
        "coaching/index.html",
        nav="coaching",
        status_code=status_code,
        notes=notes_visible_to(s, ctx.viewer),
        plans=plans_visible_to(s, ctx.viewer),
        led=led,
        led_options=[(p.handle, f"{p.name} ({p.handle})") for p in led],
        form=form,
    )


@router.get("/coaching")
def coaching(ctx: SignedIn) -> Response:
    return _coaching_page(ctx, PageForm(NOTE_FIELDS, labels=NOTE_LABELS))


@router.post("/coaching/notes")
def note_write(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(data, NOTE_FIELDS, labels=NOTE_LABELS)
    with form.attempt(ctx.session):
        command = parse_command(
            WriteNote, {"subject": form.text("subject") or None, "body": form.text("body")}
        )
        note = write_note(ctx.session, author=ctx.person.id, **command.model_dump(), viewer=ctx.viewer)
    if not form.ok:
        return _coaching_page(ctx, form, status_code=422)
    response = RedirectResponse(safe_next(form.text("next"), "/coaching"), status_code=303)
    set_flash(
        response, ctx.request, f"Private note saved for {note.subject.name}: only the two of you can read it."
    )
    return response


@router.post("/coaching/notes/{note_id}/delete")
def note_delete(ctx: SignedIn, note_id: int) -> Response:
    delete_note(ctx.session, ctx.viewer, note_id)
    response = RedirectResponse("/coaching", status_code=303)
    set_flash(response, ctx.request, "Note deleted.")
    return response


@router.post("/failures/{failure_id}/plans")
def plan_start(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, PLAN_FIELDS)
    with form.attempt(ctx.session):
        review = review_for_failure(ctx.session, failure_id, viewer=ctx.viewer)
        if review is None:
            raise Conflict("the failure has no review yet; a plan follows a review", field="review")
        command = parse_command(
            StartPlan,
            {
                "review_id": review.id,
                "person": form.text("person") or None,
                "goals": form.text("goals"),
                "support": form.text("support"),
                "review_date": form.text("review_date"),
            },
        )
        start_plan(
            ctx.session,
            author=ctx.person.id,
            review=review,
            **command.model_dump(exclude={"review_id"}),
            viewer=ctx.viewer,
        )
    if not form.ok:
        return failure_page(ctx, failure_id, status_code=422, plan=form)
    response = RedirectResponse("/coaching", status_code=303)
    set_flash(response, ctx.request, "Development plan started: only its author and its person can see it.")
    return response


@router.post("/coaching/plans/{plan_id}/done")
def plan_done(ctx: SignedIn, plan_id: int) -> Response:
    complete_plan(ctx.session, ctx.viewer, plan_id)
    response = RedirectResponse("/coaching", status_code=303)
    set_flash(response, ctx.request, "Development plan marked done.")
    return response

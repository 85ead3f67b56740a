"""Re-evaluate: the lessons library with full-text search, writing and publishing lessons."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import RedirectResponse, Response

from lessonloop.access.policy import can_edit_lesson, can_see_failure
from lessonloop.discussion.service import comments_section
from lessonloop.failures.history import records_history
from lessonloop.failures.models import Failure
from lessonloop.fields import parse_command
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.schemas import WriteLesson
from lessonloop.lessons.service import create_lesson, get_lesson, list_lessons, publish_lesson
from lessonloop.people.service import list_teams
from lessonloop.search.service import search
from lessonloop.store.crud import Page
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.pages.failures import split_list
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)

LESSON_FIELDS = ("title", "learned", "changed", "failures", "audience", "publish")
# get_or_404 names a bad failure id "failure_id" (or "id" when it is not a number).
LESSON_ALIASES = {"failure_id": "failures", "id": "failures"}
LESSON_LABELS = {
    "title": "Title",
    "learned": "What we learned",
    "changed": "What we changed",
    "failures": "Drawn from failures",
    "audience": "Audience",
    "publish": "Publish now",
}


#: Lessons per library page, the latest published first (each brings its failures and audience).
LIBRARY_PAGE = 50


@router.get("/lessons")
def lesson_library(ctx: SignedIn, q: str = "", retracted: bool = False, page: int = 1) -> Response:
    query = q.strip()[:200]
    snippets: dict[int, str] = {}
    lessons: list[Lesson]
    listed: Page[Lesson] | None = None
    if query:
        hits = search(ctx.session, query, kinds=["lesson"], limit=50, viewer=ctx.viewer)
        found = [get_lesson(ctx.session, h.record_id, viewer=ctx.viewer) for h in hits]
        # Retracted lessons are listed under "Retracted" only (decision 38).
        lessons = [lesson for lesson in found if (lesson.retracted_at is not None) == retracted]
        snippets = {h.record_id: h.snippet for h in hits}
    else:
        listed = list_lessons(
            ctx.session, retracted=retracted, page=max(page, 1), page_size=LIBRARY_PAGE, viewer=ctx.viewer
        )
        lessons = listed.items
    return ctx.page(
        "lessons/list.html",
        nav="lessons",
        q=query,
        retracted=retracted,
        lessons=lessons,
        listed=listed,
        snippets=snippets,
        editable={lesson.id for lesson in lessons if can_edit_lesson(ctx.viewer, lesson)},
        linked={lesson.id: _linked(ctx, lesson) for lesson in lessons},
    )


def _linked(ctx: Ctx, lesson: Lesson) -> list[Failure]:
    """The lesson's failures this viewer may see (a lesson can reach teams that may not see them)."""
    return [f for f in lesson.failures if can_see_failure(ctx.viewer, f)]


def _form_page(ctx: Ctx, form: PageForm, *, status_code: int = 200) -> Response:
    return ctx.page(
        "lessons/new.html",
        nav="lessons",
        status_code=status_code,
        form=form,
        teams=list_teams(ctx.session, viewer=ctx.viewer),
    )


@router.get("/lessons/new")
def lesson_new(ctx: SignedIn, failure: str = "") -> Response:
    return _form_page(
        ctx,
        PageForm(
            LESSON_FIELDS,
            {"failures": failure, "audience": [str(t) for t in ctx.viewer.teams()]},
            labels=LESSON_LABELS,
        ),
    )


@router.post("/lessons")
def lesson_create(ctx: SignedIn, data: Form) -> Response:
    form = PageForm.posted(
        data, LESSON_FIELDS, lists=("audience",), aliases=LESSON_ALIASES, labels=LESSON_LABELS
    )
    with form.attempt(ctx.session):
        command = parse_command(
            WriteLesson,
            {
                "title": form.text("title"),
                "learned": form.text("learned"),
                "changed": form.text("changed"),
                "failures": split_list(form.text("failures").replace("#", "")),
                "audience": form.many("audience"),
                "publish": form.text("publish") == "yes",
            },
        )
        lesson = create_lesson(ctx.session, **command.model_dump(), viewer=ctx.viewer)
    if not form.ok:
        return _form_page(ctx, form, status_code=422)
    response = RedirectResponse(f"/lessons/{lesson.id}", status_code=303)
    set_flash(
        response, ctx.request, "Lesson published." if lesson.published_at else "Lesson saved as a draft."
    )
    return response


@router.get("/lessons/{lesson_id}")
def lesson_show(ctx: SignedIn, lesson_id: int) -> Response:
    return lesson_page(ctx, lesson_id)


def lesson_page(
    ctx: Ctx, lesson_id: int, *, status_code: int = 200, retract_form: PageForm | None = None
) -> Response:
    """The lesson's page; ``retract_form`` brings back a refused retraction with its error
    (``web.pages.revising``)."""
    lesson = get_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    return ctx.page(
        "lessons/show.html",
        nav="lessons",
        status_code=status_code,
        lesson=lesson,
        linked=_linked(ctx, lesson),
        can_edit=can_edit_lesson(ctx.viewer, lesson),
        retract_form=retract_form or PageForm(("reason",)),
        history=records_history(ctx.session, "lesson", [lesson], viewer=ctx.viewer)[lesson.id],
        comments=comments_section(ctx.session, target="lesson", target_id=lesson.id, viewer=ctx.viewer),
    )


@router.post("/lessons/{lesson_id}/publish")
def lesson_publish(ctx: SignedIn, lesson_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ())
    with form.attempt(ctx.session):
        publish_lesson(ctx.session, lesson_id, viewer=ctx.viewer)
    response = RedirectResponse(f"/lessons/{lesson_id}", status_code=303)
    set_flash(response, ctx.request, "Lesson published to its audience." if form.ok else str(form.message))
    return response

"""Re-evaluate: "What we learned" notes, and the assumptions reviews named."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lessonloop.api.common import ERROR_RESPONSES, PageOut, page_out
from lessonloop.api.deps import CurrentViewer, DbSession, Paging
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.lessons import service
from lessonloop.lessons.schemas import EditLesson, LessonOut, RetractLesson, WriteLesson
from lessonloop.reviews.models import AssumptionStatus
from lessonloop.reviews.schemas import AssumptionOut
from lessonloop.reviews.service import list_assumptions

router = APIRouter(route_class=OneThreadRoute, tags=["lessons"], responses=ERROR_RESPONSES)


@router.post("/lessons", status_code=201)
def create_lesson(body: WriteLesson, session: DbSession, viewer: CurrentViewer) -> LessonOut:
    """Draft (or publish) a lesson; it may link only failures you may see."""
    return LessonOut.of(service.create_lesson(session, **body.model_dump(), viewer=viewer), viewer)


@router.get("/lessons")
def list_lessons(
    session: DbSession,
    viewer: CurrentViewer,
    paging: Paging,
    team: Annotated[str | None, Query(description="Lessons addressed to this team (id or name).")] = None,
    published: Annotated[
        bool | None, Query(description="true: published only; false: drafts only; omitted: both.")
    ] = None,
    failure: Annotated[int | None, Query(description="Lessons linked to this failure.")] = None,
    retracted: Annotated[
        bool, Query(description="true: only retracted lessons (left out otherwise).")
    ] = False,
) -> PageOut[LessonOut]:
    """The lessons you may see, the most recently published first (drafts last)."""
    page = service.list_lessons(
        session,
        team=team,
        published=published,
        retracted=retracted,
        failure_id=failure,
        page=paging.page,
        page_size=paging.page_size,
        viewer=viewer,
    )
    return page_out(page, lambda lesson: LessonOut.of(lesson, viewer))


@router.get("/lessons/{lesson_id}")
def get_lesson(lesson_id: int, session: DbSession, viewer: CurrentViewer) -> LessonOut:
    """A lesson (404 when you may not see it)."""
    return LessonOut.of(service.get_lesson(session, lesson_id, viewer=viewer), viewer)


@router.post("/lessons/{lesson_id}/publish")
def publish_lesson(lesson_id: int, session: DbSession, viewer: CurrentViewer) -> LessonOut:
    """Publish a draft to its audience (409 if it was published already)."""
    return LessonOut.of(service.publish_lesson(session, lesson_id, viewer=viewer), viewer)


@router.patch("/lessons/{lesson_id}")
def edit_lesson(lesson_id: int, body: EditLesson, session: DbSession, viewer: CurrentViewer) -> LessonOut:
    """Correct the title, text, audience teams or linked failures: only the fields sent change.
    ``failures`` names the linked failures you may see; those you may not see stay linked.
    Who may: as for publishing (403 otherwise); 409 for a retracted lesson."""
    return LessonOut.of(service.edit_lesson(session, lesson_id, body.changes(), viewer=viewer), viewer)


@router.post("/lessons/{lesson_id}/unpublish")
def unpublish_lesson(lesson_id: int, session: DbSession, viewer: CurrentViewer) -> LessonOut:
    """Take a published lesson back to a draft (409 if it is a draft or retracted)."""
    return LessonOut.of(service.unpublish_lesson(session, lesson_id, viewer=viewer), viewer)


@router.post("/lessons/{lesson_id}/retract")
def retract_lesson(
    lesson_id: int, body: RetractLesson, session: DbSession, viewer: CurrentViewer
) -> LessonOut:
    """Withdraw a published lesson with a reason: it stays (and its page opens) but is no longer
    listed or sent as a learning (409 for a draft or a lesson retracted already)."""
    return LessonOut.of(service.retract_lesson(session, lesson_id, reason=body.reason, viewer=viewer), viewer)


@router.get("/assumptions", tags=["assumptions"])
def assumptions(
    session: DbSession, viewer: CurrentViewer, status: AssumptionStatus | None = None
) -> list[AssumptionOut]:
    """Assumptions named in reviews with how many failures they were behind, the most frequent first.

    Only assumptions named in no review or in a review of a failure you may see; only those
    failures are counted.
    """
    return [
        AssumptionOut.model_validate(a).model_copy(update={"failure_count": count})
        for a, count in list_assumptions(session, status=status, viewer=viewer)
    ]

"""Discuss and record together: comments on failures, reviews, actions and lessons; a failure's
timeline, links and attachments."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.viewer import Viewer
from lessonloop.api.common import ERROR_RESPONSES
from lessonloop.api.deps import CurrentViewer, DbSession
from lessonloop.api.one_thread import OneThreadRoute
from lessonloop.discussion import service
from lessonloop.discussion.models import TargetKind
from lessonloop.discussion.schemas import (
    AddComment,
    AddLink,
    AddTimelineEntry,
    AttachmentOut,
    CommentOut,
    EditComment,
    EditTimelineEntry,
    LinkOut,
    TimelineEntryOut,
    TimelineItemOut,
)

router = APIRouter(route_class=OneThreadRoute, tags=["discussion"], responses=ERROR_RESPONSES)

# --- comments, per kind of record ----------------------------------------------------------------


def _list(session: Session, kind: TargetKind, target_id: int, viewer: Viewer) -> list[CommentOut]:
    return [
        CommentOut.of(c)
        for c in service.list_comments(session, target=kind, target_id=target_id, viewer=viewer)
    ]


def _add(session: Session, kind: TargetKind, target_id: int, body: AddComment, viewer: Viewer) -> CommentOut:
    comment = service.add_comment(session, target=kind, target_id=target_id, text=body.text, viewer=viewer)
    return CommentOut.of(comment)


@router.get("/failures/{failure_id}/comments")
def list_failure_comments(failure_id: int, session: DbSession, viewer: CurrentViewer) -> list[CommentOut]:
    """The failure's comments, oldest first (404 when you may not see it)."""
    return _list(session, TargetKind.failure, failure_id, viewer)


@router.post("/failures/{failure_id}/comments", status_code=201)
def add_failure_comment(
    failure_id: int, body: AddComment, session: DbSession, viewer: CurrentViewer
) -> CommentOut:
    """Comment on a failure you may see. Each ``@handle`` of someone who may see it is linked and
    told (in-app and by their channels); anyone else is not."""
    return _add(session, TargetKind.failure, failure_id, body, viewer)


@router.get("/reviews/{review_id}/comments")
def list_review_comments(review_id: int, session: DbSession, viewer: CurrentViewer) -> list[CommentOut]:
    """The review's comments, oldest first (404 when you may not see it)."""
    return _list(session, TargetKind.review, review_id, viewer)


@router.post("/reviews/{review_id}/comments", status_code=201)
def add_review_comment(
    review_id: int, body: AddComment, session: DbSession, viewer: CurrentViewer
) -> CommentOut:
    """Comment on a review you may see. Each ``@handle`` of someone who may see it is linked and
    told (in-app and by their channels); anyone else is not."""
    return _add(session, TargetKind.review, review_id, body, viewer)


@router.get("/actions/{action_id}/comments")
def list_action_comments(action_id: int, session: DbSession, viewer: CurrentViewer) -> list[CommentOut]:
    """The action's comments, oldest first (404 when you may not see it)."""
    return _list(session, TargetKind.action, action_id, viewer)


@router.post("/actions/{action_id}/comments", status_code=201)
def add_action_comment(
    action_id: int, body: AddComment, session: DbSession, viewer: CurrentViewer
) -> CommentOut:
    """Comment on a action you may see. Each ``@handle`` of someone who may see it is linked and
    told (in-app and by their channels); anyone else is not."""
    return _add(session, TargetKind.action, action_id, body, viewer)


@router.get("/lessons/{lesson_id}/comments")
def list_lesson_comments(lesson_id: int, session: DbSession, viewer: CurrentViewer) -> list[CommentOut]:
    """The lesson's comments, oldest first (404 when you may not see it)."""
    return _list(session, TargetKind.lesson, lesson_id, viewer)


@router.post("/lessons/{lesson_id}/comments", status_code=201)
def add_lesson_comment(
    lesson_id: int, body: AddComment, session: DbSession, viewer: CurrentViewer
) -> CommentOut:
    """Comment on a lesson you may see. Each ``@handle`` of someone who may see it is linked and
    told (in-app and by their channels); anyone else is not."""
    return _add(session, TargetKind.lesson, lesson_id, body, viewer)


@router.patch("/comments/{comment_id}")
def edit_comment(comment_id: int, body: EditComment, session: DbSession, viewer: CurrentViewer) -> CommentOut:
    """Change your comment's text (403 for anyone else's); the change is kept in its history.
    Only people it mentions for the first time are told."""
    return CommentOut.of(service.edit_comment(session, comment_id, text=body.text, viewer=viewer))


@router.delete("/comments/{comment_id}", status_code=204)
def delete_comment(comment_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Delete your comment (403 for anyone else's)."""
    service.delete_comment(session, comment_id, viewer=viewer)
    return Response(status_code=204)


# --- the timeline --------------------------------------------------------------------------------


@router.get("/failures/{failure_id}/timeline")
def get_timeline(failure_id: int, session: DbSession, viewer: CurrentViewer) -> list[TimelineItemOut]:
    """The failure's timeline, oldest first: the events its records tell (happened, detected,
    logged, review started and completed, actions added and closed, lessons published, repeats)
    and the dated entries people added (`kind` "entry")."""
    return [TimelineItemOut.of(i) for i in service.timeline(session, failure_id, viewer=viewer)]


@router.post("/failures/{failure_id}/timeline", status_code=201)
def add_timeline_entry(
    failure_id: int, body: AddTimelineEntry, session: DbSession, viewer: CurrentViewer
) -> TimelineEntryOut:
    """Add a dated entry to the timeline of a failure you may see."""
    entry = service.add_timeline_entry(
        session, failure_id=failure_id, at=body.at, text=body.text, viewer=viewer
    )
    return TimelineEntryOut.model_validate(entry)


@router.patch("/timeline/{entry_id}")
def edit_timeline_entry(
    entry_id: int, body: EditTimelineEntry, session: DbSession, viewer: CurrentViewer
) -> TimelineEntryOut:
    """Move or reword your timeline entry (403 for anyone else's)."""
    entry = service.edit_timeline_entry(session, entry_id, at=body.at, text=body.text, viewer=viewer)
    return TimelineEntryOut.model_validate(entry)


@router.delete("/timeline/{entry_id}", status_code=204)
def delete_timeline_entry(entry_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Delete your timeline entry (403 for anyone else's)."""
    service.delete_timeline_entry(session, entry_id, viewer=viewer)
    return Response(status_code=204)


# --- links ---------------------------------------------------------------------------------------


@router.get("/failures/{failure_id}/links")
def list_links(failure_id: int, session: DbSession, viewer: CurrentViewer) -> list[LinkOut]:
    """The failure's links, oldest first."""
    return [LinkOut.model_validate(x) for x in service.list_links(session, failure_id, viewer=viewer)]


@router.post("/failures/{failure_id}/links", status_code=201)
def add_link(failure_id: int, body: AddLink, session: DbSession, viewer: CurrentViewer) -> LinkOut:
    """Add a link (http or https only) to a failure you may see."""
    link = service.add_link(session, failure_id=failure_id, url=body.url, label=body.label, viewer=viewer)
    return LinkOut.model_validate(link)


@router.delete("/links/{link_id}", status_code=204)
def delete_link(link_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Delete your link (403 for anyone else's)."""
    service.delete_link(session, link_id, viewer=viewer)
    return Response(status_code=204)


# --- attachments ---------------------------------------------------------------------------------


@router.get("/failures/{failure_id}/attachments")
def list_attachments(failure_id: int, session: DbSession, viewer: CurrentViewer) -> list[AttachmentOut]:
    """The failure's files (without their bytes: follow `download`)."""
    return [AttachmentOut.of(a) for a in service.list_attachments(session, failure_id, viewer=viewer)]


@router.post("/failures/{failure_id}/attachments", status_code=201)
def add_attachment(
    failure_id: int,
    file: Annotated[
        UploadFile,
        File(
            description="The file (multipart/form-data), at most 5 MiB (bytes).",
            json_schema_extra={"maxLength": limits.ATTACHMENT_MAX_BYTES},
        ),
    ],
    session: DbSession,
    viewer: CurrentViewer,
    filename: Annotated[
        str | None,
        Form(max_length=limits.FILENAME_MAX, description="The name to show (default: the file's own)."),
    ] = None,
) -> AttachmentOut:
    """Attach a small file (at most `limits.ATTACHMENT_MAX_BYTES`, 5 MiB) to a failure you may
    see; a larger one is refused with 422 (or 413 when the whole request is over
    `limits.UPLOAD_BODY_MAX_BYTES`). It is kept in the database, never under its own name."""
    data = file.file.read(limits.ATTACHMENT_MAX_BYTES + 1)
    attachment = service.add_attachment(
        session,
        failure_id=failure_id,
        filename=filename or file.filename or "",
        content_type=file.content_type,
        data=data,
        viewer=viewer,
    )
    return AttachmentOut.of(attachment)


DOWNLOAD_200 = {
    "description": "The file's bytes, always as a download (`Content-Disposition: attachment`).",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


@router.get("/attachments/{attachment_id}", response_class=Response, responses={200: DOWNLOAD_200})
def download_attachment(attachment_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Download a file of a failure you may see (404 otherwise)."""
    attachment = service.get_attachment(session, attachment_id, viewer=viewer)
    return Response(
        attachment.data,
        media_type=attachment.content_type,
        headers=service.download_headers(attachment.filename),
    )


@router.delete("/attachments/{attachment_id}", status_code=204)
def delete_attachment(attachment_id: int, session: DbSession, viewer: CurrentViewer) -> Response:
    """Delete your file (403 for anyone else's)."""
    service.delete_attachment(session, attachment_id, viewer=viewer)
    return Response(status_code=204)

"""Discuss and record together on the pages: comments on failures, reviews, actions and lessons; a
failure's timeline, links and files. Every form posts, then goes back to the record's page with
a message (what was refused says why); the page shows the section (``failures/_discussion.html``,
``_comments.html``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from lessonloop import limits
from lessonloop.discussion import service
from lessonloop.discussion.models import TargetKind
from lessonloop.discussion.schemas import (
    AddComment,
    AddLink,
    AddTimelineEntry,
    EditComment,
    EditTimelineEntry,
)
from lessonloop.fields import parse_command
from lessonloop.web.context import Ctx, Form, SignedIn, WebRoute
from lessonloop.web.forms import Form as PageForm
from lessonloop.web.render import set_flash

router = APIRouter(route_class=WebRoute)


def _back(ctx: Ctx, path: str, form: PageForm, done: str) -> Response:
    response = RedirectResponse(path, status_code=303)
    problem = form.message or "; ".join(f"{k}: {v}" for k, v in form.errors.items())
    set_flash(response, ctx.request, done if form.ok else f"Not saved: {problem}")
    return response


def _add_comment(ctx: Ctx, kind: TargetKind, target_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("text",))
    page = None
    told = ""
    with form.attempt(ctx.session):
        command = parse_command(AddComment, {"text": form.text("text")})
        comment = service.add_comment(
            ctx.session, target=kind, target_id=target_id, text=command.text, viewer=ctx.viewer
        )
        page = service.comment_page(ctx.session, comment, viewer=ctx.viewer)
        if comment.mentions:
            told = " Told " + ", ".join(f"@{h}" for h in comment.mentions) + "."
    if page is None:  # refused (and rolled back): back to the record's comments
        page = service.comments_section_page(ctx.session, kind, target_id, viewer=ctx.viewer)
    return _back(ctx, page, form, f"Comment added.{told}")


@router.post("/failures/{failure_id}/comments")
def failure_comment(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    return _add_comment(ctx, TargetKind.failure, failure_id, data)


@router.post("/reviews/{review_id}/comments")
def review_comment(ctx: SignedIn, review_id: int, data: Form) -> Response:
    """A comment on the review itself (shown under the review on its failure's page)."""
    return _add_comment(ctx, TargetKind.review, review_id, data)


@router.post("/actions/{action_id}/comments")
def action_comment(ctx: SignedIn, action_id: int, data: Form) -> Response:
    return _add_comment(ctx, TargetKind.action, action_id, data)


@router.post("/lessons/{lesson_id}/comments")
def lesson_comment(ctx: SignedIn, lesson_id: int, data: Form) -> Response:
    return _add_comment(ctx, TargetKind.lesson, lesson_id, data)


@router.post("/comments/{comment_id}/edit")
def comment_edit(ctx: SignedIn, comment_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("text",))
    comment = service.get_comment(ctx.session, comment_id, viewer=ctx.viewer)
    with form.attempt(ctx.session):
        command = parse_command(EditComment, {"text": form.text("text")})
        service.edit_comment(ctx.session, comment.id, text=command.text, viewer=ctx.viewer)
    return _back(ctx, service.comment_page(ctx.session, comment, viewer=ctx.viewer), form, "Comment changed.")


@router.post("/comments/{comment_id}/delete")
def comment_delete(ctx: SignedIn, comment_id: int) -> Response:
    comment = service.get_comment(ctx.session, comment_id, viewer=ctx.viewer)
    page = service.comments_section_page(
        ctx.session, comment.target_kind, comment.target_id, viewer=ctx.viewer
    )
    service.delete_comment(ctx.session, comment.id, viewer=ctx.viewer)
    return _back(ctx, page, PageForm(()), "Comment deleted.")


# --- the timeline --------------------------------------------------------------------------------


@router.post("/failures/{failure_id}/timeline")
def timeline_add(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("at", "text"))
    with form.attempt(ctx.session):
        command = parse_command(AddTimelineEntry, {"at": form.text("at"), "text": form.text("text")})
        service.add_timeline_entry(
            ctx.session, failure_id=failure_id, at=command.at, text=command.text, viewer=ctx.viewer
        )
    return _back(ctx, f"/failures/{failure_id}#timeline", form, "Added to the timeline.")


@router.post("/timeline/{entry_id}/edit")
def timeline_edit(ctx: SignedIn, entry_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("at", "text"))
    entry = service.get_timeline_entry(ctx.session, entry_id, viewer=ctx.viewer)
    failure_id = entry.failure_id
    with form.attempt(ctx.session):
        command = parse_command(EditTimelineEntry, {"at": form.text("at"), "text": form.text("text")})
        service.edit_timeline_entry(
            ctx.session, entry.id, at=command.at, text=command.text, viewer=ctx.viewer
        )
    return _back(ctx, f"/failures/{failure_id}#timeline", form, "Timeline entry changed.")


@router.post("/timeline/{entry_id}/delete")
def timeline_delete(ctx: SignedIn, entry_id: int) -> Response:
    entry = service.get_timeline_entry(ctx.session, entry_id, viewer=ctx.viewer)
    failure_id = entry.failure_id
    service.delete_timeline_entry(ctx.session, entry.id, viewer=ctx.viewer)
    return _back(ctx, f"/failures/{failure_id}#timeline", PageForm(()), "Timeline entry deleted.")


# --- links and files -----------------------------------------------------------------------------


@router.post("/failures/{failure_id}/links")
def link_add(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm.posted(data, ("url", "label"))
    with form.attempt(ctx.session):
        command = parse_command(AddLink, {"url": form.text("url"), "label": form.text("label") or None})
        service.add_link(
            ctx.session, failure_id=failure_id, url=command.url, label=command.label, viewer=ctx.viewer
        )
    return _back(ctx, f"/failures/{failure_id}#links", form, "Link added.")


@router.post("/links/{link_id}/delete")
def link_delete(ctx: SignedIn, link_id: int) -> Response:
    link = service.get_link(ctx.session, link_id, viewer=ctx.viewer)
    failure_id = link.failure_id
    service.delete_link(ctx.session, link.id, viewer=ctx.viewer)
    return _back(ctx, f"/failures/{failure_id}#links", PageForm(()), "Link deleted.")


@router.post("/failures/{failure_id}/attachments")
def attachment_add(ctx: SignedIn, failure_id: int, data: Form) -> Response:
    form = PageForm(("file",))
    upload = data.get("file")
    with form.attempt(ctx.session):
        if not isinstance(upload, UploadFile) or not upload.filename:
            service.get_failure_for_discussion(ctx.session, failure_id, viewer=ctx.viewer)
            form.add_error("file", "choose a file")
        else:
            service.add_attachment(
                ctx.session,
                failure_id=failure_id,
                filename=upload.filename,
                content_type=upload.content_type,
                data=upload.file.read(limits.ATTACHMENT_MAX_BYTES + 1),
                viewer=ctx.viewer,
            )
    return _back(ctx, f"/failures/{failure_id}#files", form, "File attached.")


@router.get("/attachments/{attachment_id}")
def attachment_download(ctx: SignedIn, attachment_id: int) -> Response:
    attachment = service.get_attachment(ctx.session, attachment_id, viewer=ctx.viewer)
    return Response(
        attachment.data,
        media_type=attachment.content_type,
        headers=service.download_headers(attachment.filename),
    )


@router.post("/attachments/{attachment_id}/delete")
def attachment_delete(ctx: SignedIn, attachment_id: int) -> Response:
    attachment = service.get_attachment_info(ctx.session, attachment_id, viewer=ctx.viewer)
    failure_id = attachment.failure_id
    service.delete_attachment(ctx.session, attachment.id, viewer=ctx.viewer)
    return _back(ctx, f"/failures/{failure_id}#files", PageForm(()), "File deleted.")

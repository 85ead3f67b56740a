"""Discuss and record together: comments, a failure's timeline, links and attached files.

The local CLI acts as the named system job ``cli`` (it may do what anyone may); ``--author``
names who wrote a comment, entry, link or file.
"""

from __future__ import annotations

from pathlib import Path

import typer

from lessonloop import limits
from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.discussion import service
from lessonloop.discussion.schemas import (
    AddComment,
    AddLink,
    AddTimelineEntry,
    AttachmentOut,
    CommentOut,
    EditTimelineEntry,
    LinkOut,
    TimelineEntryOut,
    TimelineItemOut,
)
from lessonloop.errors import Invalid
from lessonloop.fields import parse_command

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
AUTHOR = typer.Option(None, "--author", help="Who wrote it (id, handle or e-mail).")
KIND = typer.Argument(..., help="failure, review, action or lesson.")

comment_app = typer.Typer(help="Comments on failures, reviews, actions and lessons.", no_args_is_help=True)
app.add_typer(comment_app, name="comment")


@comment_app.command("add")
@common.handle_errors
def comment_add(
    kind: str = KIND,
    record_id: str = typer.Argument(..., help="The record's id."),
    text: str = typer.Argument(
        ..., help="The comment; @handle tells that person if they may see the record."
    ),
    author: str | None = AUTHOR,
    as_json: bool = JSON,
) -> None:
    """Comment on a record; mentioned people who may see it are told."""
    command = parse_command(AddComment, {"text": text})
    with common.unit() as session:
        comment = service.add_comment(
            session, target=kind, target_id=record_id, text=command.text, author=author, viewer=LOCAL
        )
        result = CommentOut.of(comment)
    if as_json:
        common.print_json(result)
        return
    told = f"; told {', '.join('@' + h for h in result.mentions)}" if result.mentions else ""
    render.say(f"added comment {result.id} on {result.target_kind} {result.target_id}{told}")


@comment_app.command("list")
@common.handle_errors
def comment_list(
    kind: str = KIND, record_id: str = typer.Argument(..., help="The record's id."), as_json: bool = JSON
) -> None:
    """A record's comments, oldest first."""
    with common.unit() as session:
        found = [
            CommentOut.of(c)
            for c in service.list_comments(session, target=kind, target_id=record_id, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(found)
        return
    grid = render.table("id", "when", "who", "comment")
    for c in found:
        render.row(
            grid, c.id, c.created_at.strftime("%Y-%m-%d %H:%M"), c.author.handle if c.author else "", c.text
        )
    render.out(grid) if found else render.say("no comment yet")


@comment_app.command("edit")
@common.handle_errors
def comment_edit(comment_id: str = typer.Argument(...), text: str = typer.Argument(...)) -> None:
    """Change a comment's text (the change is kept in its history)."""
    command = parse_command(AddComment, {"text": text})
    with common.unit() as session:
        service.edit_comment(session, comment_id, text=command.text, viewer=LOCAL)
    render.say(f"changed comment {comment_id}")


@comment_app.command("delete")
@common.handle_errors
def comment_delete(comment_id: str = typer.Argument(...)) -> None:
    """Delete a comment."""
    with common.unit() as session:
        service.delete_comment(session, comment_id, viewer=LOCAL)
    render.say(f"deleted comment {comment_id}")


timeline_app = typer.Typer(
    help="A failure's timeline: its events and people's dated entries.", no_args_is_help=True
)
app.add_typer(timeline_app, name="timeline")


@timeline_app.command("show")
@common.handle_errors
def timeline_show(failure_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """The failure's timeline, oldest first."""
    with common.unit() as session:
        items = [TimelineItemOut.of(i) for i in service.timeline(session, failure_id, viewer=LOCAL)]
    if as_json:
        common.print_json(items)
        return
    grid = render.table("when (UTC)", "what", "entry")
    for i in items:
        render.row(grid, i.at.strftime("%Y-%m-%d %H:%M"), i.text, i.entry_id or "")
    render.out(grid)


@timeline_app.command("add")
@common.handle_errors
def timeline_add(
    failure_id: str = typer.Argument(...),
    text: str = typer.Argument(..., help="What happened."),
    at: str | None = typer.Option(
        None, "--at", help='When, e.g. "2026-05-01 14:05" (UTC unless a zone is given).'
    ),
    author: str | None = AUTHOR,
    as_json: bool = JSON,
) -> None:
    """Add a dated entry to a failure's timeline."""
    command = parse_command(AddTimelineEntry, {"at": at, "text": text})
    with common.unit() as session:
        entry = service.add_timeline_entry(
            session, failure_id=failure_id, at=command.at, text=command.text, author=author, viewer=LOCAL
        )
        result = TimelineEntryOut.model_validate(entry)
    if as_json:
        common.print_json(result)
        return
    render.say(f"added timeline entry {result.id} at {result.at:%Y-%m-%d %H:%M} UTC")


@timeline_app.command("edit")
@common.handle_errors
def timeline_edit(
    entry_id: str = typer.Argument(...),
    text: str | None = typer.Option(None, "--text", help="The entry's new words."),
    at: str | None = typer.Option(
        None, "--at", help='The new time, e.g. "2026-05-01 14:10" (UTC unless a zone is given).'
    ),
    as_json: bool = JSON,
) -> None:
    """Move or reword a timeline entry (only the options given change)."""
    if text is None and at is None:
        raise Invalid("nothing to change: give --text or --at", field="changes")
    command = parse_command(EditTimelineEntry, {"at": at, "text": text})
    with common.unit() as session:
        entry = service.edit_timeline_entry(session, entry_id, at=command.at, text=command.text, viewer=LOCAL)
        result = TimelineEntryOut.model_validate(entry)
    if as_json:
        common.print_json(result)
        return
    render.say(f"changed timeline entry {result.id}: {result.at:%Y-%m-%d %H:%M} UTC {result.text}")


@timeline_app.command("delete")
@common.handle_errors
def timeline_delete(entry_id: str = typer.Argument(...)) -> None:
    """Delete a timeline entry."""
    with common.unit() as session:
        service.delete_timeline_entry(session, entry_id, viewer=LOCAL)
    render.say(f"deleted timeline entry {entry_id}")


link_app = typer.Typer(help="Links (http or https) on a failure.", no_args_is_help=True)
app.add_typer(link_app, name="link")


@link_app.command("add")
@common.handle_errors
def link_add(
    failure_id: str = typer.Argument(...),
    url: str = typer.Argument(..., help="http:// or https:// only."),
    label: str | None = typer.Option(None, "--label", help="What it is (default: the host)."),
    author: str | None = AUTHOR,
    as_json: bool = JSON,
) -> None:
    """Add a link to a failure."""
    command = parse_command(AddLink, {"url": url, "label": label})
    with common.unit() as session:
        link = service.add_link(
            session, failure_id=failure_id, url=command.url, label=command.label, author=author, viewer=LOCAL
        )
        result = LinkOut.model_validate(link)
    if as_json:
        common.print_json(result)
        return
    render.say(f"added link {result.id}: {result.label}")


@link_app.command("list")
@common.handle_errors
def link_list(failure_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """A failure's links and attached files."""
    with common.unit() as session:
        links = [LinkOut.model_validate(x) for x in service.list_links(session, failure_id, viewer=LOCAL)]
        files = [AttachmentOut.of(a) for a in service.list_attachments(session, failure_id, viewer=LOCAL)]
    if as_json:
        common.print_json({"links": links, "attachments": files})
        return
    grid = render.table("id", "kind", "label", "where")
    for x in links:
        render.row(grid, x.id, "link", x.label, x.url)
    for a in files:
        render.row(grid, a.id, "file", a.filename, f"{a.size} bytes, {a.content_type}")
    render.out(grid)


@app.command("attach")
@common.handle_errors
def attach(
    failure_id: str = typer.Argument(...),
    file: Path = typer.Argument(..., help="The file (at most 5 MiB); kept in the database."),
    author: str | None = AUTHOR,
    as_json: bool = JSON,
) -> None:
    """Attach a small file to a failure."""
    size = file.stat().st_size
    if size > limits.ATTACHMENT_MAX_BYTES:
        raise Invalid(service.too_large(size), field="file")
    data = file.read_bytes()
    with common.unit() as session:
        attachment = service.add_attachment(
            session, failure_id=failure_id, filename=file.name, data=data, author=author, viewer=LOCAL
        )
        result = AttachmentOut.of(attachment)
    if as_json:
        common.print_json(result)
        return
    render.say(f"attached {result.filename} ({result.size} bytes) as attachment {result.id}")

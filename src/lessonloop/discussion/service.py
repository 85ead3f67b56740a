"""Discuss and record together: comments, a failure's timeline, links and attachments.

``viewer`` is required (:mod:`lessonloop.access.scope`). For a person:

* everything here is seen by whoever may see its record — a failure, review or action by the
  failure's rule, a lesson by the lesson rule — and a record they may not see answers 404;
* anyone who may see a record may comment on it, and anyone who may see a failure may add a
  timeline entry, a link or a file to it (discussing is open; changing the failure is not);
* only its author may edit or delete a comment, a timeline entry, a link or a file (403 for
  others who may see it). A named system job (the local CLI) may do all of it.

A comment's ``@handle`` mentions are told — in-app and by the person's channels, through the
notification outbox — once per comment and person (an edit tells only newly mentioned people),
and only when the mentioned person may see the record; anyone else is not linked and not told, so
a mention never reveals a record's title to someone who may not read it. The notice is worded
when it is sent and shown (:mod:`lessonloop.worker.sendtime`): the comment as it reads then, and
nothing once the comment is deleted or the record out of the person's sight.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from lessonloop import limits
from lessonloop.access.actor import Actor, is_person
from lessonloop.access.policy import can_see
from lessonloop.access.scope import require_seen
from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action
from lessonloop.coerce import as_datetime, as_enum, as_text
from lessonloop.discussion.models import (
    TARGET_COLUMN,
    Attachment,
    Comment,
    FailureLink,
    TargetKind,
    TimelineEntry,
)
from lessonloop.errors import Invalid, PermissionDenied
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson
from lessonloop.notifications.service import enqueue
from lessonloop.people.models import Person
from lessonloop.people.service import PersonRef, get_person
from lessonloop.reviews.models import Review
from lessonloop.store.base import Base, utcnow
from lessonloop.store.crud import get_or_404

MODELS: dict[TargetKind, type[Base]] = {
    TargetKind.failure: Failure,
    TargetKind.review: Review,
    TargetKind.action: Action,
    TargetKind.lesson: Lesson,
}

#: ``@handle`` where a handle may start: not inside a word or an e-mail address.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9][a-z0-9._-]{0,63})", re.IGNORECASE)

#: Types a file is served with as sent; anything else is served as ``application/octet-stream``.
#: None of them is run by a browser (no HTML, SVG or script), and every download is an attachment.
SAFE_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/json",
        "text/plain",
        "text/csv",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    }
)
FALLBACK_CONTENT_TYPE = "application/octet-stream"


# --- records and who may do what -----------------------------------------------------------------


def target_record(session: Session, target: str | TargetKind, target_id: int | str, *, viewer: Actor) -> Any:
    """The failure, review, action or lesson a comment is about; 404 unless ``viewer`` may see it."""
    kind = as_enum(target, TargetKind, "target")
    record = get_or_404(session, MODELS[kind], target_id)
    require_seen(session, viewer, record)
    return record


def _failure(session: Session, failure_id: int | str, viewer: Actor) -> Failure:
    failure = get_or_404(session, Failure, failure_id)
    require_seen(session, viewer, failure)
    return failure


def get_failure_for_discussion(session: Session, failure_id: int | str, *, viewer: Actor) -> Failure:
    """The failure, to discuss; 404 unless ``viewer`` may see it."""
    return _failure(session, failure_id, viewer)


def _author(session: Session, author: PersonRef | None, viewer: Actor) -> Person | None:
    """The signed-in person; a system job may name one (or none)."""
    if is_person(viewer):
        return session.get(Person, viewer.person_id)
    if author is None or str(author).strip() == "":
        return None
    return get_person(session, author, field="author", viewer=viewer)


def _require_author(record: Comment | TimelineEntry | FailureLink | Attachment, viewer: Actor) -> None:
    if is_person(viewer) and record.author_id != viewer.person_id:
        raise PermissionDenied(f"only its author may change or delete this {record.__record_type__}")


def may_change(record: Comment | TimelineEntry | FailureLink | Attachment, viewer: Actor) -> bool:
    """Whether ``viewer`` may edit or delete ``record`` (its author; a system job)."""
    return not is_person(viewer) or record.author_id == viewer.person_id


# --- comments ----------------------------------------------------------------------------------


def _comment_text(text: Any) -> str:
    return as_text(text, "text", required=True, max_len=limits.COMMENT_MAX)


def add_comment(
    session: Session,
    *,
    target: str | TargetKind,
    target_id: int | str,
    text: str,
    author: PersonRef | None = None,
    viewer: Actor,
) -> Comment:
    """Comment on a record ``viewer`` may see; mentioned people who may see it are told."""
    kind = as_enum(target, TargetKind, "target")
    record = target_record(session, kind, target_id, viewer=viewer)
    writer = _author(session, author, viewer)
    comment = Comment(target_kind=kind.value, text=_comment_text(text), author=writer, mentions=[])
    setattr(comment, TARGET_COLUMN[kind], record.id)
    session.add(comment)
    session.flush()
    _tell_mentioned(session, comment, record, writer, viewer=viewer)
    return comment


def list_comments(
    session: Session, *, target: str | TargetKind, target_id: int | str, viewer: Actor
) -> list[Comment]:
    """A record's comments, oldest first; 404 unless ``viewer`` may see the record."""
    kind = as_enum(target, TargetKind, "target")
    record = target_record(session, kind, target_id, viewer=viewer)
    column = getattr(Comment, TARGET_COLUMN[kind])
    return list(session.scalars(select(Comment).where(column == record.id).order_by(Comment.id)))


def get_comment(session: Session, comment_id: int | str, *, viewer: Actor) -> Comment:
    """A comment; 404 unless ``viewer`` may see the record it is about."""
    comment = get_or_404(session, Comment, comment_id)
    target_record(session, comment.target_kind, comment.target_id, viewer=viewer)
    return comment


def edit_comment(session: Session, comment_id: int | str, *, text: str, viewer: Actor) -> Comment:
    """Change a comment's text (its author only); the change is in its history. People it now
    mentions for the first time are told; nobody is told twice."""
    comment = get_comment(session, comment_id, viewer=viewer)
    _require_author(comment, viewer)
    new_text = _comment_text(text)
    if new_text != comment.text:
        comment.text = new_text
        comment.edited_at = utcnow()
        session.flush()
        record = target_record(session, comment.target_kind, comment.target_id, viewer=viewer)
        _tell_mentioned(session, comment, record, comment.author, viewer=viewer)
    return comment


def delete_comment(session: Session, comment_id: int | str, *, viewer: Actor) -> None:
    comment = get_comment(session, comment_id, viewer=viewer)
    _require_author(comment, viewer)
    session.delete(comment)
    session.flush()


def mentioned_handles(text: str) -> list[str]:
    """The distinct handles ``@mentioned`` in ``text``, lower-cased, in order of appearance."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(text or ""):
        seen.setdefault(match.group(1).lower().rstrip("._-"), None)
    return [h for h in seen if h]


def _record_title(record: Any) -> str:
    if isinstance(record, Failure | Lesson):
        return record.title
    if isinstance(record, Action):
        return record.title
    return f"the review of failure {record.failure_id}"


def record_path(kind: str, record_id: int, failure_id: int | None = None) -> str:
    """Where a record is read on the web (a review: on its failure's page)."""
    if kind == TargetKind.review.value and failure_id is not None:
        return f"/failures/{failure_id}#review"
    return f"/{kind}s/{record_id}"


def mention_text(comment: Comment, record: Any, writer: Person | None) -> tuple[str, str]:
    """A mention's subject and body: who, on which record, the comment's text and where to read it."""
    kind = comment.target_kind
    who = writer.name if writer is not None else "Someone"
    title = _record_title(record)
    path = record_path(kind, record.id, getattr(record, "failure_id", None)).split("#", 1)[0]
    return (
        f"{who} mentioned you on {kind} {record.id}: {title}"[: limits.TITLE_MAX],
        f"{who} mentioned you in a comment on {kind} {record.id} ({title}):\n\n"
        f"{comment.text}\n\nRead it: {path}#comment-{comment.id}",
    )


def _tell_mentioned(
    session: Session, comment: Comment, record: Any, writer: Person | None, *, viewer: Actor
) -> None:
    linked = list(comment.mentions or [])
    for handle in mentioned_handles(comment.text):
        person = session.scalar(select(Person).where(Person.handle == handle))
        if person is None or (writer is not None and person.id == writer.id):
            continue
        if not can_see(session, viewer_for(session, person), record):
            continue  # not linked, not told: a mention never shows a record to someone who may not read it
        if person.handle not in linked:
            linked.append(person.handle)
        subject, body = mention_text(comment, record, writer)
        enqueue(
            session,
            person_id=person.id,
            kind="mention",
            subject=subject,
            body_text=body,
            dedupe_key=f"mention:comment:{comment.id}:person:{person.id}",
            record_id=comment.id,  # worded when sent: the comment as it reads then (worker.sendtime)
            viewer=viewer,
        )
    if linked != list(comment.mentions or []):
        comment.mentions = linked
        session.flush()


# --- the timeline --------------------------------------------------------------------------------


def _entry_text(text: Any) -> str:
    return as_text(text, "text", required=True, max_len=limits.COMMENT_MAX)


def add_timeline_entry(
    session: Session,
    *,
    failure_id: int | str,
    at: Any,
    text: str,
    author: PersonRef | None = None,
    viewer: Actor,
) -> TimelineEntry:
    """A dated line on a failure's timeline ("14:05 vendor confirmed the slip")."""
    failure = _failure(session, failure_id, viewer)
    if at is None or (isinstance(at, str) and not at.strip()):
        raise Invalid("is required (a date and time, e.g. 2026-05-01 14:05)", field="at")
    entry = TimelineEntry(
        failure_id=failure.id,
        at=as_datetime(at, "at"),
        text=_entry_text(text),
        author=_author(session, author, viewer),
    )
    session.add(entry)
    session.flush()
    return entry


def get_timeline_entry(session: Session, entry_id: int | str, *, viewer: Actor) -> TimelineEntry:
    entry = get_or_404(session, TimelineEntry, entry_id)
    _failure(session, entry.failure_id, viewer)
    return entry


def edit_timeline_entry(
    session: Session, entry_id: int | str, *, at: Any = None, text: str | None = None, viewer: Actor
) -> TimelineEntry:
    """Move or reword an entry (its author only); only what is given changes."""
    entry = get_timeline_entry(session, entry_id, viewer=viewer)
    _require_author(entry, viewer)
    changed = False
    if at is not None and not (isinstance(at, str) and not at.strip()):
        new_at = as_datetime(at, "at")
        changed |= new_at != entry.at
        entry.at = new_at
    if text is not None:
        new_text = _entry_text(text)
        changed |= new_text != entry.text
        entry.text = new_text
    if changed:
        entry.edited_at = utcnow()
    session.flush()
    return entry


def delete_timeline_entry(session: Session, entry_id: int | str, *, viewer: Actor) -> None:
    entry = get_timeline_entry(session, entry_id, viewer=viewer)
    _require_author(entry, viewer)
    session.delete(entry)
    session.flush()


@dataclass(frozen=True)
class TimelineItem:
    """One line of a failure's timeline: an event its records tell, or a person's entry."""

    at: dt.datetime
    kind: str  # "entry" for a person's own line, else the event: "logged", "action-done" …
    text: str
    entry_id: int | None = None  # set for a person's entry
    author: Person | None = None
    link: str | None = None  # where the event's record is read


def timeline(session: Session, failure_id: int | str, *, viewer: Actor) -> list[TimelineItem]:
    """The failure's timeline, oldest first: what its records tell (it happened, was logged,
    reviewed, actions added and closed, lessons published, later failures that repeat it — those
    ``viewer`` may see) and the entries people added. Ties keep that order."""
    failure = _failure(session, failure_id, viewer)
    items: list[tuple[dt.datetime, int, TimelineItem]] = []

    def add(at: dt.datetime | None, kind: str, text: str, **kw: Any) -> None:
        if at is not None:
            items.append((at, len(items), TimelineItem(at=at, kind=kind, text=text, **kw)))

    add(failure.occurred_at, "happened", "It happened")
    add(failure.detected_at, "detected", "Detected")
    who = f" by {failure.reporter.name}" if failure.reporter is not None else ""
    add(failure.created_at, "logged", f"Logged{who}")
    review = session.scalar(select(Review).where(Review.failure_id == failure.id))
    if review is not None:
        add(review.held_at or review.created_at, "review-started", "Review started", link="#review")
        add(review.completed_at, "reviewed", "Review completed", link="#review")
    for action in session.scalars(select(Action).where(Action.failure_id == failure.id).order_by(Action.id)):
        link = f"/actions/{action.id}"
        add(action.created_at, "action-added", f"Action added: {action.title}", link=link)
        if action.closed_at is not None:
            verb = "done" if action.status == "done" else action.status
            add(action.closed_at, f"action-{verb}", f"Action {verb}: {action.title}", link=link)
    lessons = [
        lesson
        for lesson in _lessons_of(session, failure.id)
        if not is_person(viewer) or can_see(session, viewer, lesson)
    ]
    for lesson in lessons:
        add(
            lesson.published_at,
            "lesson-published",
            f"Lesson published: {lesson.title}",
            link=f"/lessons/{lesson.id}",
        )
    for later in session.scalars(
        select(Failure).where(Failure.repeat_of_id == failure.id).order_by(Failure.id)
    ):
        if not is_person(viewer) or can_see(session, viewer, later):
            add(
                later.detected_at,
                "repeated",
                f"Repeated by failure {later.id}: {later.title}",
                link=f"/failures/{later.id}",
            )
    if failure.repeat_of_id is not None:
        earlier = session.get(Failure, failure.repeat_of_id)
        if earlier is not None and (not is_person(viewer) or can_see(session, viewer, earlier)):
            add(
                failure.detected_at,
                "repeats",
                f"Repeats failure {earlier.id}",
                link=f"/failures/{earlier.id}",
            )
    for entry in list_timeline_entries(session, failure.id, viewer=viewer):
        add(entry.at, "entry", entry.text, entry_id=entry.id, author=entry.author)
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]))]


def _lessons_of(session: Session, failure_id: int) -> Sequence[Lesson]:
    return list(
        session.scalars(
            select(Lesson).where(Lesson.failures.any(Failure.id == failure_id)).order_by(Lesson.id)
        )
    )


def list_timeline_entries(session: Session, failure_id: int | str, *, viewer: Actor) -> list[TimelineEntry]:
    failure = _failure(session, failure_id, viewer)
    stmt = select(TimelineEntry).where(TimelineEntry.failure_id == failure.id)
    return list(session.scalars(stmt.order_by(TimelineEntry.at, TimelineEntry.id)))


# --- links ---------------------------------------------------------------------------------------


def check_url(raw: Any) -> str:
    url = as_text(raw, "url", required=True, max_len=limits.URL_MAX)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise Invalid("is not a valid URL", field="url") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise Invalid("must start with http:// or https://", field="url")
    if not parts.hostname or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        raise Invalid("is not a valid URL (it needs a host and no spaces)", field="url")
    return url


def add_link(
    session: Session,
    *,
    failure_id: int | str,
    url: str,
    label: str | None = None,
    author: PersonRef | None = None,
    viewer: Actor,
) -> FailureLink:
    """A link (http or https) on a failure, with a label (default: the URL's host)."""
    failure = _failure(session, failure_id, viewer)
    clean = check_url(url)
    text = as_text(label, "label", max_len=limits.SHORT_TEXT_MAX) or (urlsplit(clean).hostname or clean)
    link = FailureLink(
        failure_id=failure.id,
        url=clean,
        label=text[: limits.SHORT_TEXT_MAX],
        author=_author(session, author, viewer),
    )
    session.add(link)
    session.flush()
    return link


def list_links(session: Session, failure_id: int | str, *, viewer: Actor) -> list[FailureLink]:
    failure = _failure(session, failure_id, viewer)
    return list(
        session.scalars(
            select(FailureLink).where(FailureLink.failure_id == failure.id).order_by(FailureLink.id)
        )
    )


def get_link(session: Session, link_id: int | str, *, viewer: Actor) -> FailureLink:
    link = get_or_404(session, FailureLink, link_id)
    _failure(session, link.failure_id, viewer)
    return link


def delete_link(session: Session, link_id: int | str, *, viewer: Actor) -> None:
    link = get_link(session, link_id, viewer=viewer)
    _require_author(link, viewer)
    session.delete(link)
    session.flush()


# --- attachments ---------------------------------------------------------------------------------


def safe_filename(raw: Any) -> str:
    """The name to show and to offer as the download's name: the last path part, no control
    characters, at most :data:`limits.FILENAME_MAX`. Never used as a path."""
    name = re.split(r"[\\/]", str(raw or ""))[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return name[: limits.FILENAME_MAX] or "attachment"


def safe_content_type(raw: Any) -> str:
    media = str(raw or "").split(";", 1)[0].strip().lower()
    return media if media in SAFE_CONTENT_TYPES else FALLBACK_CONTENT_TYPE


def too_large(size: int) -> str:
    mib = limits.ATTACHMENT_MAX_BYTES / (1024 * 1024)
    return (
        f"the file is too large ({size:,} bytes): an attachment may be at most {mib:g} MiB "
        f"({limits.ATTACHMENT_MAX_BYTES:,} bytes)"
    )


def add_attachment(
    session: Session,
    *,
    failure_id: int | str,
    filename: str,
    data: bytes,
    content_type: str | None = None,
    author: PersonRef | None = None,
    viewer: Actor,
) -> Attachment:
    """Keep a small file (at most ``limits.ATTACHMENT_MAX_BYTES``) with a failure, in the database."""
    failure = _failure(session, failure_id, viewer)
    if len(data) > limits.ATTACHMENT_MAX_BYTES:
        raise Invalid(too_large(len(data)), field="file")
    if not data:
        raise Invalid("is empty", field="file")
    attachment = Attachment(
        failure_id=failure.id,
        filename=safe_filename(filename),
        content_type=safe_content_type(content_type),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=bytes(data),
        author=_author(session, author, viewer),
    )
    session.add(attachment)
    session.flush()
    return attachment


def list_attachments(session: Session, failure_id: int | str, *, viewer: Actor) -> list[Attachment]:
    failure = _failure(session, failure_id, viewer)
    stmt = select(Attachment).where(Attachment.failure_id == failure.id).order_by(Attachment.id)
    return list(session.scalars(stmt))


def get_attachment(session: Session, attachment_id: int | str, *, viewer: Actor) -> Attachment:
    """An attachment with its bytes; 404 unless ``viewer`` may see its failure."""
    attachment = get_attachment_info(session, attachment_id, viewer=viewer)
    return session.scalars(
        select(Attachment).where(Attachment.id == attachment.id).options(undefer(Attachment.data))
    ).one()


def get_attachment_info(session: Session, attachment_id: int | str, *, viewer: Actor) -> Attachment:
    """An attachment without loading its bytes; 404 unless ``viewer`` may see its failure."""
    attachment = get_or_404(session, Attachment, attachment_id)
    _failure(session, attachment.failure_id, viewer)
    return attachment


def download_headers(filename: str) -> dict[str, str]:
    """How every adapter serves a file: as a download, never shown inline, sniffed or run."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in filename)
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }


def delete_attachment(session: Session, attachment_id: int | str, *, viewer: Actor) -> None:
    attachment = get_attachment_info(session, attachment_id, viewer=viewer)
    _require_author(attachment, viewer)
    session.delete(attachment)
    session.flush()


# --- the failure page's section --------------------------------------------------------------------


@dataclass
class CommentsSection:
    """A record's comments as a page shows them."""

    comments: list[Comment]
    mine: set[int]  # the comments this person may edit or delete
    max_len: int = limits.COMMENT_MAX


@dataclass
class Discussion:
    comment_section: CommentsSection
    timeline: list[TimelineItem]
    links: list[FailureLink]
    attachments: list[Attachment]
    changeable: set[tuple[str, int]]  # (record type, id) this viewer may edit or delete
    # The review's own comments (the failure page shows them under the review), once it has one.
    review_id: int | None = None
    review_comment_section: CommentsSection | None = None
    max_len: int = limits.COMMENT_MAX
    attachment_max_mib: float = limits.ATTACHMENT_MAX_BYTES / (1024 * 1024)


def comments_section(
    session: Session, *, target: str | TargetKind, target_id: int | str, viewer: Actor
) -> CommentsSection:
    """A record's comments and the ids of those ``viewer`` may edit or delete."""
    comments = list_comments(session, target=target, target_id=target_id, viewer=viewer)
    return CommentsSection(comments=comments, mine={c.id for c in comments if may_change(c, viewer)})


def failure_discussion(session: Session, failure_id: int | str, *, viewer: Actor) -> Discussion:
    """Everything the failure page's discussion section shows."""
    section = comments_section(session, target=TargetKind.failure, target_id=failure_id, viewer=viewer)
    entries = list_timeline_entries(session, failure_id, viewer=viewer)
    links = list_links(session, failure_id, viewer=viewer)
    files = list_attachments(session, failure_id, viewer=viewer)
    records: list[TimelineEntry | FailureLink | Attachment] = [*entries, *links, *files]
    failure = _failure(session, failure_id, viewer)
    review_id = session.scalar(select(Review.id).where(Review.failure_id == failure.id))
    return Discussion(
        comment_section=section,
        timeline=timeline(session, failure_id, viewer=viewer),
        links=links,
        attachments=files,
        changeable={(r.__record_type__, r.id) for r in records if may_change(r, viewer)},
        review_id=review_id,
        review_comment_section=(
            comments_section(session, target=TargetKind.review, target_id=review_id, viewer=viewer)
            if review_id is not None
            else None
        ),
    )


def comments_anchor(kind: str | TargetKind) -> str:
    """The id of a record's comments section on its page: a review's comments share the failure's
    page with the failure's own, so theirs is ``review-comments``."""
    return "review-comments" if as_enum(kind, TargetKind, "target") is TargetKind.review else "comments"


def comments_section_page(
    session: Session, target: str | TargetKind, target_id: int | str, *, viewer: Actor
) -> str:
    """Where a record's comments are read on the web, e.g. ``/failures/3#review-comments``."""
    kind = as_enum(target, TargetKind, "target")
    record = target_record(session, kind, target_id, viewer=viewer)
    path = record_path(kind.value, record.id, getattr(record, "failure_id", None))
    return f"{path.split('#', 1)[0]}#{comments_anchor(kind)}"


def comment_page(session: Session, comment: Comment, *, viewer: Actor) -> str:
    """The web page a comment is read on (a review's: its failure's page), with its anchor (its
    section's, once it is deleted)."""
    record = target_record(session, comment.target_kind, comment.target_id, viewer=viewer)
    path = record_path(comment.target_kind, record.id, getattr(record, "failure_id", None))
    anchor = (
        f"comment-{comment.id}" if session.get(Comment, comment.id) else comments_anchor(comment.target_kind)
    )
    return f"{path.split('#', 1)[0]}#{anchor}"

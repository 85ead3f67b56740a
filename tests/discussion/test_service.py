"""Comments, mentions, the timeline, links and attachments (both backends)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lessonloop import limits
from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action
from lessonloop.discussion.models import Attachment, Comment, FailureLink, TimelineEntry
from lessonloop.discussion.service import (
    add_attachment,
    add_comment,
    add_link,
    add_timeline_entry,
    delete_comment,
    delete_timeline_entry,
    edit_comment,
    edit_timeline_entry,
    get_attachment,
    list_comments,
    mentioned_handles,
    safe_content_type,
    safe_filename,
    timeline,
)
from lessonloop.errors import Invalid, NotFound, PermissionDenied
from lessonloop.failures.service import delete_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.models import Channel, Notification
from lessonloop.notifications.service import list_for_person, set_preferences
from lessonloop.people.service import add_person
from lessonloop.store.history import list_history
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def _world(session: Session) -> dict:
    people = team_with_people(session)
    people["cleo"] = add_person(session, name="Cleo Outsider", handle="cleo", viewer=SYSTEM)
    people["failure"] = failure(session, visibility="team", team=people["team"].id, reporter="ben")
    return people


def test_a_comment_is_seen_by_whoever_may_see_the_failure(session: Session) -> None:
    w = _world(session)
    ben = viewer_for(session, w["ben"])
    comment = add_comment(
        session, target="failure", target_id=w["failure"].id, text="First thought", viewer=ben
    )
    assert comment.author_id == w["ben"].id
    ana = viewer_for(session, w["ana"])
    assert [
        c.id for c in list_comments(session, target="failure", target_id=w["failure"].id, viewer=ana)
    ] == [comment.id]
    cleo = viewer_for(session, w["cleo"])
    with pytest.raises(NotFound):
        list_comments(session, target="failure", target_id=w["failure"].id, viewer=cleo)
    with pytest.raises(NotFound):
        add_comment(session, target="failure", target_id=w["failure"].id, text="hi", viewer=cleo)


def test_comments_on_reviews_and_actions_follow_their_failure(session: Session) -> None:
    w = _world(session)
    review = reviewed(session, w["failure"])
    action = session.scalars(select(Action).where(Action.failure_id == w["failure"].id)).one()
    ana = viewer_for(session, w["ana"])
    add_comment(session, target="review", target_id=review.id, text="Good review", viewer=ana)
    add_comment(session, target="action", target_id=action.id, text="On it", viewer=ana)
    cleo = viewer_for(session, w["cleo"])
    for kind, rid in (("review", review.id), ("action", action.id)):
        assert len(list_comments(session, target=kind, target_id=rid, viewer=ana)) == 1
        with pytest.raises(NotFound):
            list_comments(session, target=kind, target_id=rid, viewer=cleo)


def test_comments_on_a_lesson_follow_the_lesson_rule(session: Session) -> None:
    w = _world(session)
    lesson = create_lesson(
        session, title="Date it", learned="Ask for dates", failures=[w["failure"].id], viewer=SYSTEM
    )
    ben = viewer_for(session, w["ben"])
    add_comment(session, target="lesson", target_id=lesson.id, text="Agreed", viewer=ben)
    with pytest.raises(NotFound):
        list_comments(session, target="lesson", target_id=lesson.id, viewer=viewer_for(session, w["cleo"]))


def test_only_the_author_edits_or_deletes_a_comment_and_edits_are_in_history(session: Session) -> None:
    w = _world(session)
    ben, ana = viewer_for(session, w["ben"]), viewer_for(session, w["ana"])
    comment = add_comment(session, target="failure", target_id=w["failure"].id, text="Draft", viewer=ben)
    with pytest.raises(PermissionDenied):
        edit_comment(session, comment.id, text="Hijacked", viewer=ana)
    with pytest.raises(PermissionDenied):
        delete_comment(session, comment.id, viewer=ana)
    edit_comment(session, comment.id, text="Final", viewer=ben)
    assert comment.text == "Final" and comment.edited_at is not None
    changes = [h.changes for h in list_history(session, "comment", comment.id) if h.action == "update"]
    assert any(c.get("text") == ["Draft", "Final"] for c in changes)
    delete_comment(session, comment.id, viewer=ben)
    assert session.get(Comment, comment.id) is None


def test_a_comment_longer_than_the_limit_is_refused(session: Session) -> None:
    w = _world(session)
    with pytest.raises(Invalid) as err:
        add_comment(
            session,
            target="failure",
            target_id=w["failure"].id,
            text="x" * (limits.COMMENT_MAX + 1),
            viewer=SYSTEM,
        )
    assert err.value.field == "text"


def test_mentions_are_read_from_the_text() -> None:
    assert mentioned_handles("@ben and @Ana, not ana@example.com; @ben again.") == ["ben", "ana"]


def test_a_mention_reaches_the_person_in_app_and_by_their_channels(session: Session) -> None:
    w = _world(session)
    set_preferences(session, "ana", channels=["email"], viewer=SYSTEM)
    ben = viewer_for(session, w["ben"])
    comment = add_comment(
        session, target="failure", target_id=w["failure"].id, text="@ana can you check?", viewer=ben
    )
    assert comment.mentions == ["ana"]
    [notice] = list_for_person(session, "ana", viewer=SYSTEM)
    assert notice.kind == "mention"
    assert "Ben Member mentioned you" in notice.subject
    assert "@ana can you check?" in notice.body_text
    assert [d.channel for d in notice.deliveries] == [Channel.email.value]


def test_an_edit_does_not_notify_twice_but_tells_someone_newly_mentioned(session: Session) -> None:
    w = _world(session)
    add_person(session, name="Dee Org", handle="dee", viewer=SYSTEM)
    org = failure(session, title="Org-wide slip", visibility="org", reporter="ben")
    ben = viewer_for(session, w["ben"])
    comment = add_comment(session, target="failure", target_id=org.id, text="@ana look", viewer=ben)
    edit_comment(session, comment.id, text="@ana look again", viewer=ben)
    assert len(list_for_person(session, "ana", viewer=SYSTEM)) == 1
    edit_comment(session, comment.id, text="@ana look again, and @dee", viewer=ben)
    assert len(list_for_person(session, "ana", viewer=SYSTEM)) == 1
    assert len(list_for_person(session, "dee", viewer=SYSTEM)) == 1
    assert comment.mentions == ["ana", "dee"]


def test_a_mention_of_someone_who_may_not_see_the_failure_tells_nobody(session: Session) -> None:
    w = _world(session)
    ben = viewer_for(session, w["ben"])
    comment = add_comment(
        session, target="failure", target_id=w["failure"].id, text="@cleo should know", viewer=ben
    )
    assert comment.mentions == []
    assert list_for_person(session, "cleo", viewer=SYSTEM) == []
    assert session.scalar(select(func.count(Notification.id))) == 0


def test_the_timeline_mixes_events_and_entries_sorted_by_time(session: Session) -> None:
    w = _world(session)
    f = w["failure"]
    f.occurred_at = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)
    f.detected_at = dt.datetime(2026, 5, 1, 13, 0, tzinfo=dt.UTC)
    session.flush()
    ben = viewer_for(session, w["ben"])
    late = add_timeline_entry(
        session, failure_id=f.id, at="2026-05-01 14:05", text="vendor confirmed the slip", viewer=ben
    )
    add_timeline_entry(session, failure_id=f.id, at="2026-05-01T10:30", text="first alert", viewer=ben)
    items = timeline(session, f.id, viewer=ben)
    kinds = [i.kind for i in items]
    assert kinds[:4] == ["happened", "entry", "detected", "entry"]
    assert "logged" in kinds
    assert [i.at for i in items] == sorted(i.at for i in items)
    assert items[3].entry_id == late.id and items[3].text == "vendor confirmed the slip"


def test_only_the_author_edits_or_deletes_a_timeline_entry(session: Session) -> None:
    w = _world(session)
    ben, ana = viewer_for(session, w["ben"]), viewer_for(session, w["ana"])
    entry = add_timeline_entry(
        session, failure_id=w["failure"].id, at="2026-05-01 14:05", text="slip", viewer=ben
    )
    with pytest.raises(PermissionDenied):
        edit_timeline_entry(session, entry.id, text="other", viewer=ana)
    edit_timeline_entry(session, entry.id, at="2026-05-01 14:10", viewer=ben)
    assert entry.at == dt.datetime(2026, 5, 1, 14, 10, tzinfo=dt.UTC) and entry.text == "slip"
    with pytest.raises(PermissionDenied):
        delete_timeline_entry(session, entry.id, viewer=ana)
    delete_timeline_entry(session, entry.id, viewer=ben)
    assert session.get(TimelineEntry, entry.id) is None


def test_a_timeline_entry_needs_a_time(session: Session) -> None:
    w = _world(session)
    with pytest.raises(Invalid) as err:
        add_timeline_entry(session, failure_id=w["failure"].id, at="", text="x", viewer=SYSTEM)
    assert err.value.field == "at"


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.com/x", "http://", "data:text/html,hi"]
)
def test_a_link_must_be_http_or_https(session: Session, url: str) -> None:
    w = _world(session)
    with pytest.raises(Invalid) as err:
        add_link(session, failure_id=w["failure"].id, url=url, label="x", viewer=SYSTEM)
    assert err.value.field == "url"


def test_a_link_without_a_label_is_labelled_with_its_host(session: Session) -> None:
    w = _world(session)
    link = add_link(session, failure_id=w["failure"].id, url="https://status.example.com/i/42", viewer=SYSTEM)
    assert link.label == "status.example.com"


def test_an_attachment_is_kept_with_a_safe_name_and_type(session: Session) -> None:
    w = _world(session)
    ben = viewer_for(session, w["ben"])
    att = add_attachment(
        session,
        failure_id=w["failure"].id,
        filename="../../etc/evil.html",
        content_type="text/html",
        data=b"<script>alert(1)</script>",
        viewer=ben,
    )
    assert att.filename == "evil.html"
    assert att.content_type == "application/octet-stream"
    assert get_attachment(session, att.id, viewer=ben).data == b"<script>alert(1)</script>"
    with pytest.raises(NotFound):
        get_attachment(session, att.id, viewer=viewer_for(session, w["cleo"]))


def test_an_attachment_over_the_limit_is_refused(session: Session) -> None:
    w = _world(session)
    with pytest.raises(Invalid) as err:
        add_attachment(
            session,
            failure_id=w["failure"].id,
            filename="big.bin",
            data=b"\0" * (limits.ATTACHMENT_MAX_BYTES + 1),
            viewer=SYSTEM,
        )
    assert err.value.field == "file"
    assert "at most 5 MiB" in err.value.message


def test_safe_names_and_types() -> None:
    assert safe_filename("C:\\Users\\x\\report.pdf") == "report.pdf"
    assert safe_filename("\x00\n") == "attachment"
    assert safe_content_type("image/svg+xml") == "application/octet-stream"
    assert safe_content_type("application/pdf; charset=binary") == "application/pdf"


def test_deleting_a_failure_deletes_its_discussion(session: Session) -> None:
    w = _world(session)
    f = w["failure"]
    review = reviewed(session, f)
    action = session.scalars(select(Action).where(Action.failure_id == f.id)).one()
    add_comment(session, target="failure", target_id=f.id, text="a", viewer=SYSTEM)
    add_comment(session, target="review", target_id=review.id, text="b", viewer=SYSTEM)
    add_comment(session, target="action", target_id=action.id, text="c", viewer=SYSTEM)
    add_timeline_entry(session, failure_id=f.id, at="2026-05-01 14:05", text="d", viewer=SYSTEM)
    add_link(session, failure_id=f.id, url="https://example.com", label="e", viewer=SYSTEM)
    add_attachment(session, failure_id=f.id, filename="f.txt", data=b"f", viewer=SYSTEM)
    delete_failure(session, f.id, viewer=SYSTEM)
    session.expire_all()
    for model in (Comment, TimelineEntry, FailureLink, Attachment):
        assert session.scalar(select(func.count(model.id))) == 0, model.__name__

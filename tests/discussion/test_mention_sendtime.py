"""A mention is worded when it is sent and shown: the comment as it reads then; nothing once the
comment is deleted or the record is out of the mentioned person's sight."""

from __future__ import annotations

from lessonloop.discussion import service
from lessonloop.failures.service import update_failure
from lessonloop.notifications import service as outbox
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, team_with_people


def _mention(db: Database) -> tuple[int, int]:
    with db.unit() as s:
        team_with_people(s)
        fid = failure(s, team="Payments", visibility="team", reporter="ana", title="Refunds stuck").id
        comment = service.add_comment(
            s, target="failure", target_id=fid, text="@ben check the **log**", author="ana", viewer=SYSTEM
        )
        return fid, comment.id


def _shown(db: Database) -> outbox.Shown:
    with db.unit() as s:
        (shown,) = outbox.current_for_person(s, "ben", viewer=SYSTEM)
        return shown


def test_an_edited_comment_is_told_as_it_reads_now(db: Database) -> None:
    fid, cid = _mention(db)
    first = _shown(db)
    assert first.subject == f"Ana Lead mentioned you on failure {fid}: Refunds stuck"
    assert "@ben check the **log**" in first.body_text and f"/failures/{fid}#comment-{cid}" in first.body_text
    with db.unit() as s:
        service.edit_comment(s, cid, text="@ben check the refund log, not the vendor's", viewer=SYSTEM)
        update_failure(s, fid, {"title": "Refunds stuck for two days"}, viewer=SYSTEM)
    now = _shown(db)
    assert now.subject.endswith("Refunds stuck for two days")
    assert "check the refund log, not the vendor's" in now.body_text and "**log**" not in now.body_text


def test_a_deleted_comment_or_a_hidden_record_tells_nothing_more(db: Database) -> None:
    fid, _first = _mention(db)
    with db.unit() as s:
        update_failure(
            s, fid, {"visibility": "private"}, viewer=SYSTEM
        )  # ben neither reports nor is involved
    assert _shown(db).obsolete == "it is about something you may no longer see"

    cid2 = _mention_again(db, fid)
    with db.unit() as s:
        service.delete_comment(s, cid2, viewer=SYSTEM)
    with db.unit() as s:
        reasons = {x.obsolete for x in outbox.current_for_person(s, "ben", viewer=SYSTEM)}
    assert f"comment #{cid2} was deleted" in reasons


def _mention_again(db: Database, fid: int) -> int:
    """The failure seen by ben again, and a new comment mentioning him."""
    with db.unit() as s:
        update_failure(s, fid, {"visibility": "team"}, viewer=SYSTEM)
        comment = service.add_comment(
            s, target="failure", target_id=fid, text="@ben again", author="ana", viewer=SYSTEM
        )
        return comment.id

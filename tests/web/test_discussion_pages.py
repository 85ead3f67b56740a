"""The discussion on the pages: comments, mentions, the timeline, links and files."""

from __future__ import annotations

from sqlalchemy import select

from lessonloop import limits
from lessonloop.actions.models import Action
from lessonloop.failures.service import log_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, reviewed
from tests.web.conftest import Browser, another_browser, csrf_of


def _failure(db: Database, visibility: str = "team") -> int:
    with db.unit(actor="test") as session:
        return log_failure(
            session,
            title="Vendor slipped the launch",
            visibility=visibility,
            team="Payments",
            reporter="ana",
            viewer=SYSTEM,
        ).id


def test_a_comment_with_a_mention_shows_and_tells_the_person(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    page = f"/failures/{fid}"
    done = as_ana.post(f"{page}/comments", {"text": "**@ben** can you check the vendor log?"}, form_page=page)
    assert done.status_code == 200
    html = as_ana.get(page).text
    assert "<strong>@ben</strong> can you check the vendor log?" in html
    assert 'href="/people/ben">@ben</a>' in html
    ben = another_browser(app_db, "ben")
    assert "Ana Lead mentioned you on failure" in ben.get("/notifications").text


def test_a_mention_of_someone_who_may_not_see_is_not_linked(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    page = f"/failures/{fid}"
    as_ana.post(f"{page}/comments", {"text": "@cara should hear of it"}, form_page=page)
    html = as_ana.get(page).text
    assert "@cara should hear of it" in html
    assert 'href="/people/cara">@cara' not in html
    cara = another_browser(app_db, "cara")
    assert "Vendor slipped" not in cara.get("/notifications").text


def test_someone_elses_comment_cannot_be_edited(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    page = f"/failures/{fid}"
    as_ana.post(f"{page}/comments", {"text": "Mine"}, form_page=page)
    ben = another_browser(app_db, "ben")
    html = ben.get(page).text
    assert "Edit or delete" not in html.split('id="h-comments"')[1].split("</section>")[0]
    comment_id = html.split('id="comment-')[1].split('"')[0]
    refused = ben.client.post(
        f"/comments/{comment_id}/edit", data={"csrf_token": csrf_of(html), "text": "Theirs"}
    )
    assert refused.status_code == 403


def test_timeline_entries_links_and_files_on_the_failure_page(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    page = f"/failures/{fid}"
    as_ana.post(
        f"{page}/timeline", {"at": "2026-05-01T14:05", "text": "vendor confirmed the slip"}, form_page=page
    )
    as_ana.post(
        f"{page}/links", {"url": "https://status.example.com/42", "label": "Status page"}, form_page=page
    )
    bad = as_ana.post(f"{page}/links", {"url": "javascript:alert(1)", "label": "x"}, form_page=page)
    assert "must start with http:// or https://" in bad.text
    html = as_ana.get(page).text
    csrf = csrf_of(html)
    upload = as_ana.client.post(
        f"{page}/attachments",
        data={"csrf_token": csrf},
        files={"file": ("notes.txt", b"hello", "text/plain")},
    )
    assert "File attached." in upload.text
    html = as_ana.get(page).text
    assert "vendor confirmed the slip" in html
    assert 'href="https://status.example.com/42"' in html and "Status page" in html
    attachment = html.split('href="/attachments/')[1].split('"')[0]
    got = as_ana.get(f"/attachments/{attachment}")
    assert got.content == b"hello"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-content-type-options"] == "nosniff"
    cara = another_browser(app_db, "cara")
    assert cara.get(f"/attachments/{attachment}").status_code == 404


def test_a_file_over_the_limit_is_refused_with_a_message(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    page = f"/failures/{fid}"
    csrf = csrf_of(as_ana.get(page).text)
    big = b"\0" * (limits.ATTACHMENT_MAX_BYTES + 1)
    answer = as_ana.client.post(
        f"{page}/attachments", data={"csrf_token": csrf}, files={"file": ("big.bin", big, "application/zip")}
    )
    assert "an attachment may be at most 5 MiB" in answer.text


def test_action_and_lesson_pages_have_comments(as_ana: Browser, app_db: Database) -> None:
    fid = _failure(app_db)
    with app_db.unit(actor="test") as session:
        from lessonloop.failures.models import Failure

        logged = session.get(Failure, fid)
        assert logged is not None
        reviewed(session, logged)
        action_id = session.scalars(select(Action.id).where(Action.failure_id == fid)).one()
        lesson_id = create_lesson(
            session, title="Date it", learned="Ask for dates", failures=[fid], viewer=SYSTEM
        ).id
    for path in (f"/actions/{action_id}", f"/lessons/{lesson_id}"):
        as_ana.post(f"{path}/comments", {"text": f"Note on {path}"}, form_page=path)
        assert f"Note on {path}" in as_ana.get(path).text


def _reviewed_failure(db: Database) -> tuple[int, int]:
    fid = _failure(db)
    with db.unit(actor="test") as session:
        from lessonloop.failures.models import Failure

        logged = session.get(Failure, fid)
        assert logged is not None
        return fid, reviewed(session, logged).id


def test_the_review_has_its_own_comments_on_the_failure_page(as_ana: Browser, app_db: Database) -> None:
    fid, rid = _reviewed_failure(app_db)
    page = f"/failures/{fid}"
    html = as_ana.get(page).text
    # Two sections, each with ids of its own (one label, one textarea, one heading each).
    assert html.count('id="comments"') == 1 and html.count('id="review-comments"') == 1
    assert html.count('id="comment-text"') == 1 and html.count('id="review-comment-text"') == 1
    assert f'action="/reviews/{rid}/comments"' in html

    done = as_ana.post(
        f"/reviews/{rid}/comments",
        {"text": "@ben is the root cause *ours*?"},
        form_page=page,
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"{page}#comment-")
    html = as_ana.get(page).text
    review_part = html.split('id="review-comments"')[1].split("</section>")[0]
    failure_part = html.split('id="comments"')[1].split("</section>")[0]
    assert "is the root cause <em>ours</em>?" in review_part and "root cause" not in failure_part
    ben = another_browser(app_db, "ben")
    told = ben.get("/notifications").text
    assert f"Ana Lead mentioned you on review {rid}" in told and f"/failures/{fid}#comment-" in told

    empty = as_ana.post(f"/reviews/{rid}/comments", {"text": "   "}, form_page=page, follow_redirects=False)
    assert empty.status_code == 303 and empty.headers["location"] == f"{page}#review-comments"
    comment_id = review_part.split('id="comment-')[1].split('"')[0]
    gone = as_ana.post(f"/comments/{comment_id}/delete", {}, form_page=page, follow_redirects=False)
    assert gone.headers["location"] == f"{page}#review-comments"


def test_a_review_comment_is_not_for_whoever_may_not_see_the_failure(
    as_ana: Browser, app_db: Database
) -> None:
    _fid, rid = _reviewed_failure(app_db)
    cara = another_browser(app_db, "cara")  # in Growth: the failure is Payments' (team visibility)
    refused = cara.post(f"/reviews/{rid}/comments", {"text": "hello"}, form_page="/")
    assert refused.status_code == 404

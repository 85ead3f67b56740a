"""Writing on the pages: Markdown that renders the same everywhere, the coach's hints on every
text about people (never blocking), every form error at once by its label, blank is empty."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from lessonloop.coaching.models import CoachingNote
from lessonloop.errors import Invalid, InvalidFields
from lessonloop.failures.models import Failure
from lessonloop.failures.schemas import LogFailure
from lessonloop.fields import parse_command
from lessonloop.followthrough.digests import build_team_digest
from lessonloop.followthrough.postmortem import export_postmortem
from lessonloop.lessons.models import Lesson
from lessonloop.lessons.schemas import WriteLesson
from lessonloop.people.models import Team
from lessonloop.store.engine import Database
from lessonloop.textrender import render_markdown
from tests.factories import SYSTEM
from tests.web.conftest import Browser

MARKDOWN = (
    "We *assumed* the vendor's date.\n"
    "- no written commitment\n"
    "- see [the call notes](https://example.com/notes)\n\n"
    "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
)
BLAME = "Ben was careless and should have known better"


def _count(db: Database, model: type) -> int:
    with db.unit(actor="test") as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _team_id(db: Database, name: str) -> int:
    with db.unit(actor="test") as session:
        return int(session.scalar(select(Team.id).where(Team.name == name)) or 0)


def _sunday_of_this_week() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=6 - today.weekday())


def _inert(html: str) -> None:
    assert "<script>alert(1)" not in html and 'href="javascript:' not in html
    assert not re.search(r"<img[^>]*onerror", html)


# -- Markdown -------------------------------------------------------------------------------------


def test_a_lesson_renders_the_same_on_its_page_and_in_the_digest(as_ana: Browser, app_db: Database) -> None:
    payments = _team_id(app_db, "Payments")
    saved = as_ana.post(
        "/lessons",
        {"title": "Date every dependency", "learned": MARKDOWN, "audience": str(payments), "publish": "yes"},
        form_page="/lessons/new",
        follow_redirects=False,
    )
    assert saved.status_code == 303
    rendered = render_markdown(MARKDOWN)
    assert "<em>assumed</em>" in rendered and 'rel="noopener nofollow"' in rendered
    page = as_ana.get(saved.headers["location"]).text
    with app_db.unit(actor="test") as session:
        digest = build_team_digest(session, "Payments", week_ending=_sunday_of_this_week(), viewer=SYSTEM)
    assert rendered in page and rendered in digest.html
    _inert(page)
    _inert(digest.html)
    # the plain-text channel keeps the source words, not HTML
    assert "<em>" not in digest.markdown and "assumed" in digest.markdown


def test_a_failure_description_renders_as_markdown_on_its_page_and_in_the_post_mortem(
    as_ana: Browser, app_db: Database
) -> None:
    logged = as_ana.post(
        "/failures",
        {"title": "Checkout slipped", "observation": MARKDOWN, "impact": "**two weeks** lost"},
        form_page="/failures/new",
        follow_redirects=False,
    )
    assert logged.status_code == 303
    page = as_ana.get(logged.headers["location"]).text
    with app_db.unit(actor="test") as session:
        failure_id = int(logged.headers["location"].rsplit("/", 1)[-1])
        exported = export_postmortem(session, failure_id, fmt="html", viewer=SYSTEM)
    for html in (page, exported):
        assert render_markdown(MARKDOWN) in html and "<strong>two weeks</strong>" in html
        _inert(html)


# -- the coach's hints ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/failures/new", "observation"),
        ("/failures/new", "impact"),
        ("/lessons/new", "learned"),
        ("/coaching", "body"),
    ],
)
def test_text_about_people_asks_the_coach_while_typing(as_ana: Browser, path: str, field: str) -> None:
    html = as_ana.get(path).text
    wired = re.search(rf'<(?:textarea|input)[^>]*name="{field}"[^>]*>', html)
    assert wired, f"no {field} field on {path}"
    tag = wired.group(0)
    assert f'hx-post="/coach/hints?field={field}&amp;mode=blame"' in tag and "delay:" in tag
    assert f'hx-target="#f-{field}-coach"' in tag and f'id="f-{field}-coach"' in html


def test_edit_and_comment_forms_ask_the_coach_too(as_ana: Browser) -> None:
    """Correcting a failure and discussing it are writing about people as much as logging it."""
    logged = as_ana.post(
        "/failures", {"title": "Checkout slipped"}, form_page="/failures/new", follow_redirects=False
    )
    failure = logged.headers["location"]
    edit = as_ana.get(f"{failure}/edit").text
    for field in ("observation", "impact"):
        tag = re.search(rf'<textarea[^>]*name="{field}"[^>]*>', edit)
        assert tag and f'hx-post="/coach/hints?field={field}&amp;mode=blame"' in tag.group(0)
    comment = re.search(r'<textarea id="comment-text"[^>]*>', as_ana.get(failure).text)
    assert comment and "data-coach" in comment.group(0)  # forms.js wires it like the macros


def test_the_review_wizard_asks_the_same_coach(as_ana: Browser) -> None:
    logged = as_ana.post(
        "/failures", {"title": "Checkout slipped"}, form_page="/failures/new", follow_redirects=False
    )
    step = as_ana.get(f"{logged.headers['location']}/review/assumption").text
    assert 'hx-post="/coach/hints?field=assumption_text"' in step and 'id="hints-assumption_text"' in step


def _tag(html: str, name: str) -> str:
    found = re.search(rf'<(?:textarea|input)[^>]*name="{name}"[^>]*>', html)
    assert found, f"no field {name}"
    return found.group(0)


def test_every_free_text_answer_of_the_review_asks_the_coach(as_ana: Browser) -> None:
    """Contributing factors, the gap's justification and a template's extra answers (the five whys,
    a timeline's lines) are written about people as much as the three questions are."""
    logged = as_ana.post(
        "/failures",
        {"title": "Checkout slipped", "kind": "missed-deadline"},
        form_page="/failures/new",
        follow_redirects=False,
    )
    review = f"{logged.headers['location']}/review"
    cause, gap, extra = (as_ana.get(f"{review}/{step}").text for step in ("cause", "gap", "extra"))
    for html, field in (
        (cause, "contributing_factors"),
        (gap, "gap_justification"),
        (extra, "x_first_signal"),
    ):
        assert f'hx-post="/coach/hints?field={field}&amp;mode=blame"' in _tag(html, field)
    for field in ("x_five_whys_1", "x_timeline_text_1"):  # hand-written inputs: forms.js wires them
        assert "data-coach" in _tag(extra, field)
    assert "data-coach" not in _tag(extra, "x_timeline_time_1")  # a time is not about people


def test_timeline_entries_and_reflection_notes_ask_the_coach(as_ana: Browser, app_db: Database) -> None:
    logged = as_ana.post(
        "/failures",
        {"title": "Checkout slipped", "team": str(_team_id(app_db, "Payments"))},
        form_page="/failures/new",
        follow_redirects=False,
    )
    failure = logged.headers["location"]
    entry = re.search(r'<input id="timeline-text"[^>]*>', as_ana.get(failure).text)
    assert entry and "data-coach" in entry.group(0)
    form = f"{failure}/reflection"
    soon = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    planned = as_ana.post(form, {"scheduled_for": soon}, form_page=form, follow_redirects=False)
    assert planned.status_code == 303
    notes = _tag(as_ana.get(planned.headers["location"]).text, "notes")
    assert 'hx-post="/coach/hints?field=notes&amp;mode=blame"' in notes


def test_the_hints_endpoint_flags_blame_in_any_field(as_ana: Browser) -> None:
    hints = as_ana.post("/coach/hints?field=body&mode=blame", {"body": BLAME}, form_page="/coaching")
    assert hints.status_code == 200 and "careless" in hints.text and "coach-warn" in hints.text
    # a field named title in blame mode is not scored as an action
    title = as_ana.post("/coach/hints?field=title&mode=blame", {"title": "Fix it"}, form_page="/coaching")
    assert "Specificity" not in title.text and "No blame language found" in title.text


def test_saving_with_blame_language_succeeds(as_ana: Browser, app_db: Database) -> None:
    failure = as_ana.post(
        "/failures",
        {"title": "Export ran twice", "observation": BLAME, "impact": BLAME},
        form_page="/failures/new",
        follow_redirects=False,
    )
    lesson = as_ana.post(
        "/lessons", {"title": "Careful", "learned": BLAME}, form_page="/lessons/new", follow_redirects=False
    )
    note = as_ana.post(
        "/coaching/notes", {"subject": "ben", "body": BLAME}, form_page="/coaching", follow_redirects=False
    )
    assert (failure.status_code, lesson.status_code, note.status_code) == (303, 303, 303)
    assert _count(app_db, Failure) == _count(app_db, Lesson) == _count(app_db, CoachingNote) == 1


# -- forms: every error at once, by label; blank is empty ----------------------------------------


def test_a_refused_form_shows_every_error_at_once_by_its_label(as_ana: Browser, app_db: Database) -> None:
    refused = as_ana.post(
        "/failures",
        {"title": "   ", "observation": "kept", "occurred_at": "2026-13-01", "detected_at": "soon"},
        form_page="/failures/new",
    )
    assert refused.status_code == 422
    html = refused.text
    for field in ("title", "occurred_at", "detected_at"):
        assert f'id="f-{field}-error"' in html
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', html)
    summary = re.search(r'<ul class="error-summary">(.*?)</ul>', html, re.S)
    assert summary
    links = re.findall(r'<a href="#f-(\w+)">([^<]+)</a>', summary.group(1))
    assert links == [
        ("title", "What went wrong, in one line"),
        ("occurred_at", "Happened on"),
        ("detected_at", "Noticed on"),
    ]
    assert "detected_at:" not in html and "occurred_at:" not in html
    assert "kept</textarea>" in html and _count(app_db, Failure) == 0


def test_whitespace_only_answers_are_refused_as_empty(as_ana: Browser, app_db: Database) -> None:
    lesson = as_ana.post("/lessons", {"title": " \t ", "learned": "\n  \n"}, form_page="/lessons/new")
    assert lesson.status_code == 422
    for field in ("title", "learned"):
        error = re.search(rf'id="f-{field}-error">(.*?)</p>', lesson.text, re.S)
        assert error and "is required" in error.group(1)
    note = as_ana.post("/coaching/notes", {"subject": "ben", "body": "   "}, form_page="/coaching")
    assert note.status_code == 422 and 'id="f-body-error"' in note.text
    assert _count(app_db, Lesson) == _count(app_db, CoachingNote) == 0


def test_one_shared_type_makes_blank_text_empty_for_every_adapter() -> None:
    with pytest.raises(InvalidFields) as refused:
        parse_command(WriteLesson, {"title": "  ", "learned": " \n "})
    assert refused.value.errors == {"title": "is required", "learned": "is required"}
    assert isinstance(refused.value, Invalid) and refused.value.field == "title"
    assert parse_command(LogFailure, {"title": "  Export ran twice \n"}).title == "Export ran twice"
    # the API validates the same model
    with pytest.raises(ValueError):
        LogFailure.model_validate({"title": "   "})

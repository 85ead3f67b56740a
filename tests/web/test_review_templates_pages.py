"""The review templates page, an admin's editor, and the wizard's "More questions" step."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from lessonloop.failures.service import log_failure
from lessonloop.reviews.models import Review, ReviewTemplate
from lessonloop.reviews.templates import set_template
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web.conftest import Browser, another_browser

EDIT = "/admin/review-templates/missed-deadline"


def _failure(db: Database, kind: str = "missed-deadline") -> int:
    with db.unit(actor="test") as session:
        return log_failure(
            session, title="Partner launch slipped", kind=kind, team="Payments", people=["ben"], viewer=SYSTEM
        ).id


def _answer(browser: Browser, url: str, data: dict[str, str]) -> Any:
    """Post a step; when the coach holds it back once, "continue anyway"."""
    response = browser.post(url, data, form_page=url)
    coached = re.search(r'name="coached" value="([0-9a-f]+)"', response.text)
    if response.url.path == url and coached:
        response = browser.post(url, {**data, "coached": coached.group(1)}, form_page=url)
    return response


def _questions(db: Database) -> list[dict[str, object]]:
    with db.unit() as session:
        row = session.scalar(select(ReviewTemplate).where(ReviewTemplate.kind == "missed-deadline"))
        return list(row.questions) if row is not None else []


def test_everyone_reads_the_templates_and_only_admins_edit(as_ana: Browser, app_db: Database) -> None:
    ben = another_browser(app_db, "ben")
    listing = ben.get("/admin/review-templates")
    assert (
        listing.status_code == 200
        and "Five whys" in listing.text
        and "hand-off breakdown" in listing.text.lower()
    )
    assert EDIT not in listing.text  # no edit link for a member
    assert ben.get(EDIT).status_code == 403
    assert (
        ben.post(EDIT, {"rows": "1", "q0_label": "Sneaky"}, form_page="/admin/review-templates").status_code
        == 403
    )
    assert as_ana.get(EDIT).status_code == 200 and EDIT in as_ana.get("/admin/review-templates").text


def test_an_admin_adds_moves_and_removes_questions(as_ana: Browser, app_db: Database) -> None:
    page = as_ana.get(EDIT).text
    assert 'name="q3_label"' in page  # the three default questions and a blank row to add one
    form = {
        "rows": "4",
        **{
            f"q{i}_{k}": v
            for i, (label, key, kind) in enumerate(
                [
                    ("How the date slipped", "timeline", "timeline"),
                    ("First signal", "first_signal", "text"),
                    ("Five whys", "five_whys", "list"),
                ]
            )
            for k, v in {"label": label, "key": key, "type": kind, "max_items": "5"}.items()
        },
        "q3_label": "Which customer noticed first?",
        "q3_type": "text",
        "q3_max_items": "5",
        "q3_required": "yes",
    }
    saved = as_ana.post(EDIT, {**form, "go": "save"}, form_page=EDIT)
    assert saved.status_code == 200 and "Saved the review template" in saved.text
    assert [q["key"] for q in _questions(app_db)] == [
        "timeline",
        "first_signal",
        "five_whys",
        "which_customer_noticed_first",
    ]
    assert _questions(app_db)[3]["required"] is True
    as_ana.post(EDIT, {**form, "go": "up-3"}, form_page=EDIT)
    assert [q["key"] for q in _questions(app_db)][2:] == ["which_customer_noticed_first", "five_whys"]
    as_ana.post(EDIT, {**form, "go": "remove-0"}, form_page=EDIT)
    assert _questions(app_db)[0]["key"] == "first_signal"


def test_a_refused_question_is_shown_beside_its_row(as_ana: Browser, app_db: Database) -> None:
    bad = as_ana.post(
        EDIT,
        {"rows": "2", "q0_label": "A", "q0_key": "same", "q1_label": "B", "q1_key": "same", "go": "save"},
        form_page=EDIT,
    )
    assert bad.status_code == 422 and 'id="f-q1_key-error"' in bad.text and "share the key" in bad.text
    assert _questions(app_db) == []


def test_the_wizard_asks_the_extra_questions_after_the_diagnostic_ones(
    as_ana: Browser, app_db: Database
) -> None:
    with app_db.unit(actor="test") as session:
        set_template(
            session,
            "missed-deadline",
            [
                {"key": "whys", "label": "Five whys", "type": "list", "max_items": 3},
                {"key": "timeline", "label": "How it slipped", "type": "timeline"},
                {"key": "customer", "label": "Which customer noticed?", "required": True},
            ],
            viewer=SYSTEM,
        )
    fid = _failure(app_db)
    changed = f"/failures/{fid}/review/changed"
    onward = _answer(as_ana, changed, {"what_changed": "The vendor re-planned"})
    assert onward.url.path == f"/failures/{fid}/review/extra"
    assert (
        "More questions" in onward.text
        and 'name="x_whys_3"' in onward.text
        and 'name="x_whys_4"' not in onward.text
    )
    assert 'name="x_timeline_time_1"' in onward.text and 'name="x_customer"' in onward.text
    extra = f"/failures/{fid}/review/extra"
    answered = as_ana.post(
        extra,
        {
            "x_whys_1": "No written date",
            "x_whys_2": "Nobody asked for one",
            "x_timeline_time_1": "Mon 09:00",
            "x_timeline_text_1": "Vendor said it slips",
            "x_customer": "Acme",
            "go": "next",
        },
        form_page=extra,
    )
    assert answered.url.path == f"/failures/{fid}/review/cause"
    with app_db.unit() as session:
        review = session.scalar(select(Review))
        assert review is not None and review.extra_answers == {
            "whys": ["No written date", "Nobody asked for one"],
            "timeline": [{"time": "Mon 09:00", "text": "Vendor said it slips"}],
            "customer": "Acme",
        }
    # The failure page shows the answers too, in the template's shapes (escaped).
    page = as_ana.get(f"/failures/{fid}").text
    assert "<dt>Five whys</dt>" in page and "<li>Nobody asked for one</li>" in page
    assert (
        "<td>Mon 09:00</td><td>Vendor said it slips</td>" in page
        and "<dt>Which customer noticed?</dt>" in page
    )
    again = as_ana.get(extra).text
    assert 'value="Nobody asked for one"' in again and 'value="Vendor said it slips"' in again
    bad = as_ana.post(extra, {"x_timeline_time_1": "Tue", "go": "next"}, form_page=extra)
    assert bad.status_code == 422 and 'id="f-x_timeline_text_1-error"' in bad.text
    back = as_ana.post(f"/failures/{fid}/review/cause", {"go": "back"}, form_page=extra)
    assert back.url.path == extra


def test_a_kind_without_extra_questions_skips_the_step(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        set_template(session, "other", [], viewer=SYSTEM)
    fid = _failure(app_db, kind="other")
    changed = f"/failures/{fid}/review/changed"
    onward = _answer(as_ana, changed, {"what_changed": "The vendor re-planned"})
    assert onward.url.path == f"/failures/{fid}/review/cause" and "More questions" not in onward.text
    assert as_ana.get(f"/failures/{fid}/review/extra").url.path == f"/failures/{fid}/review/cause"


def test_the_postmortem_export_has_the_extra_answers(as_ana: Browser, app_db: Database) -> None:
    with app_db.unit(actor="test") as session:
        set_template(
            session, "missed-deadline", [{"key": "whys", "label": "Five whys", "type": "list"}], viewer=SYSTEM
        )
    fid = _failure(app_db)
    extra = f"/failures/{fid}/review/extra"
    as_ana.post(
        extra, {"x_whys_1": "No written <date>", "go": "next"}, form_page=f"/failures/{fid}/review/assumption"
    )
    md = as_ana.get(f"/failures/{fid}/postmortem.md").text
    assert "## More questions" in md and "### Five whys" in md and "1. No written \\<date\\>" in md
    html = as_ana.get(f"/failures/{fid}/postmortem.html").text
    assert "<h3>Five whys</h3><ol><li>No written &lt;date&gt;</li></ol>" in html

"""Pages that people wait on do a fixed amount of work however much is listed (issue #13,
decision 43): statements per request are counted (never wall-clock time), and what the faster
pages show is checked against the rule they replaced."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.service import add_action, complete_action
from lessonloop.coaching.service import people_led_by, teams_led_over
from lessonloop.discussion.service import add_timeline_entry
from lessonloop.experiments.service import add_experiment, delete_experiment, record_observation
from lessonloop.failures.service import log_failure
from lessonloop.lessons.service import create_lesson
from lessonloop.people.models import Person
from lessonloop.people.service import add_member, add_person, get_team, list_people
from lessonloop.store.engine import SQLITE_MMAP_BYTES, Database
from lessonloop.web.pages import actions as board
from lessonloop.web.pages import home
from lessonloop.web.pages import lessons as lessons_page
from lessonloop.web.pages.insights import default_since
from lessonloop.worker.checks import record_check
from tests.factories import SYSTEM
from tests.web.conftest import Browser, day


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements the database runs inside the block."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def statements(browser: Browser, db: Database, path: str) -> tuple[int, str]:
    with counted(db) as seen:
        page = browser.get(path)
    assert page.status_code == 200, page.text[:300]
    return len(seen), page.text


def _actions(db: Database, n: int, *, start: int = 0) -> None:
    """``n`` failures of both teams, each with an open action (half of them overdue) and a done
    one whose review date has come, most of them answered by their owner (shown on the card)."""
    with db.unit(actor="test") as s:
        for i in range(start, start + n):
            team, owner = ("Payments", "ben") if i % 2 else ("Growth", "cara")
            f = log_failure(s, title=f"Failure number {i}", team=team, visibility="org", viewer=SYSTEM)
            add_action(
                s,
                failure_id=f.id,
                title=f"Open action {i}",
                owner=owner,
                due_date=day(-3 if i % 4 < 2 else 10 + i),
                backfill=True,
                viewer=SYSTEM,
            )
            done = add_action(
                s,
                failure_id=f.id,
                title=f"Done action {i}",
                owner=owner,
                due_date=day(-30),
                review_date=day(-1),
                backfill=True,
                viewer=SYSTEM,
            )
            complete_action(s, done.id, evidence="shipped", viewer=SYSTEM)
            if i % 5:  # most are answered; the unanswered come first on the board
                record_check(s, done.id, worked="yes", person=owner, viewer=SYSTEM)


@pytest.mark.parametrize("handle", ["ana", "ben"])
def test_the_action_board_does_not_ask_per_card(
    browser: Browser, app_db: Database, handle: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The board used to read each card's failure, latest answer and who gave it one by one:
    its statements grew with the open actions (~1,500 at 10k failures)."""
    assert browser.login(handle).status_code == 303
    monkeypatch.setattr(board, "BOARD_PAGE", 40)  # every open action on one page, at both sizes
    # 10 and 34: both fill the "recently done" list, which then asks for its count too.
    _actions(app_db, 10)
    few, html = statements(browser, app_db, "/actions")
    assert html.count('class="action-card') >= 10 and "Open action 9" in html
    _actions(app_db, 24, start=10)
    many, html = statements(browser, app_db, "/actions")
    assert "Open action 33" in html and "Did this work?" in html
    assert html.count("Did it work? <strong>yes</strong>") >= 1  # an answer and its author's name
    assert "Ben Member" in html and "Cara Member" in html
    assert many == few, (few, many)


def test_the_board_shows_a_page_of_the_earliest_due_then_more(
    as_ana: Browser, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(board, "BOARD_PAGE", 5)
    _actions(app_db, 12)
    first = as_ana.get("/actions").text
    assert "12 open actions" in first and "page 1 of 3" in first
    shown = set(re.findall(r"Open action (\d+)<", first))
    assert len(shown) == 5
    # The overdue ones (due 3 days ago) are the earliest due: all of the first page is overdue.
    assert {int(i) % 4 for i in shown} <= {0, 1}
    assert 'href="?scope=all&amp;page=2"' in first
    second = as_ana.get("/actions?page=2").text
    later = set(re.findall(r"Open action (\d+)<", second))
    assert len(later) == 5 and not later & shown
    third = as_ana.get("/actions?page=3").text
    assert len(shown | later | set(re.findall(r"Open action (\d+)<", third))) == 12


def test_the_board_of_my_teams_lists_each_of_my_teams_once(browser: Browser, app_db: Database) -> None:
    """ "My teams" is one statement over all of a person's teams (it merged one list per team)."""
    with app_db.unit(actor="test") as s:
        add_member(s, team="Growth", person="ben", role="member", viewer=SYSTEM)
    _actions(app_db, 6)
    assert browser.login("ben").status_code == 303
    html = browser.get("/actions?scope=teams").text
    assert sorted(map(int, re.findall(r"Open action (\d+)<", html))) == list(range(6))
    assert "6 open actions" in html


def test_the_coaching_picker_is_one_question(browser: Browser, app_db: Database) -> None:
    """The people a lead may coach: the same as asking :func:`teams_led_over` person by person,
    without a statement per person in the directory."""
    assert browser.login("ana").status_code == 303
    few, _ = statements(browser, app_db, "/coaching")
    with app_db.unit(actor="test") as s:
        for i in range(25):
            person = add_person(s, name=f"Extra {i}", handle=f"extra{i}", viewer=SYSTEM)
            if i % 2:
                add_member(s, team="Payments" if i % 4 == 1 else "Growth", person=person, viewer=SYSTEM)
    many, html = statements(browser, app_db, "/coaching")
    assert many == few
    with app_db.unit(actor="test") as s:
        for handle in ("ana", "gil", "ben"):
            lead = s.scalar(select(Person).where(Person.handle == handle))
            assert lead is not None
            v = viewer_for(s, lead)
            expected = [
                p
                for p in list_people(s, viewer=v)
                if p.id != lead.id and teams_led_over(s, lead, p, viewer=v)
            ]
            assert people_led_by(s, lead, viewer=v) == expected
        payments = get_team(s, "Payments", viewer=SYSTEM)
        assert len({m.person_id for m in payments.memberships}) == 2 + 6  # ana, ben, extra1, 5, ..., 21
    assert "extra1" in html and "extra3" not in html  # extra3 is in Growth, which ana does not lead


def test_insights_opens_on_the_charts_twelve_months(as_ana: Browser, app_db: Database) -> None:
    """From the menu the page counts the failures of the 12 months its charts show; clearing the
    date in the form (an empty ``since``) counts all time, as before."""
    today = dt.date.today()
    with app_db.unit(actor="test") as s:
        for when in (today - dt.timedelta(days=2), today - dt.timedelta(days=800)):
            log_failure(
                s,
                title="Old and new",
                team="Payments",
                detected_at=dt.datetime(when.year, when.month, when.day, tzinfo=dt.UTC),
                viewer=SYSTEM,
            )
    since = default_since(today)
    assert since.endswith("-01") and dt.date.fromisoformat(since) <= today - dt.timedelta(days=300)
    recent = as_ana.get("/insights").text
    assert f'name="since" type="date" value="{since}"' in recent
    assert "<dt>Failures</dt><dd>1 " in recent
    assert f"since={since}" in recent  # the CSV link downloads the same window
    everything = as_ana.get("/insights?since=").text
    assert "<dt>Failures</dt><dd>2 " in everything


def test_the_dashboard_lists_overdue_actions_of_all_my_teams_once(
    browser: Browser, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app_db.unit(actor="test") as s:
        add_member(s, team="Growth", person="ben", role="member", viewer=SYSTEM)
    _actions(app_db, 10)  # fills the awaiting-review list (10), which then asks for its count
    assert browser.login("ben").status_code == 303
    few, html = statements(browser, app_db, "/")
    section = html.split('id="h-overdue"')[1].split('id="h-await"')[0]
    overdue = list(map(int, re.findall(r"Open action (\d+)<", section)))
    # Both teams' overdue ones (i % 4 in {0, 1}), each once, the earliest due first.
    assert sorted(overdue) == [0, 1, 4, 5, 8, 9]
    _actions(app_db, 16, start=10)
    many, _ = statements(browser, app_db, "/")
    assert many == few
    monkeypatch.setattr(home, "OVERDUE_SHOWN", 4)  # a short list, the true total, the board
    html = browser.get("/").text
    section = html.split('id="h-overdue"')[1].split('id="h-await"')[0]
    assert sorted(map(int, re.findall(r"Open action (\d+)<", section))) == [0, 1, 4, 5]
    assert '<span class="count">14</span>' in section and 'href="/actions?scope=teams"' in section


def test_the_accounts_page_reads_the_accounts_at_once(as_ana: Browser, app_db: Database) -> None:
    """It asked for each person's account alone: one statement per person in the directory."""
    few, html = statements(as_ana, app_db, "/admin/accounts")
    assert "ben" in html
    with app_db.unit(actor="test") as s:
        for i in range(20):
            add_person(s, name=f"Extra {i}", handle=f"extra{i}", viewer=SYSTEM)
    many, html = statements(as_ana, app_db, "/admin/accounts")
    assert many == few and "extra19" in html


def _experiments(db: Database, numbers: range) -> None:
    with db.unit(actor="test") as s:
        for i in numbers:
            f = log_failure(s, title=f"Failure {i}", team="Payments", viewer=SYSTEM)
            a = add_action(s, failure_id=f.id, title=f"Act {i}", owner="ben", due_date=day(5), viewer=SYSTEM)
            add_experiment(
                s,
                action_id=a.id,
                hypothesis=f"Hypothesis {i}",
                metric="minutes",
                comparator="<=",
                threshold=5,
                start_date=day(0),
                end_date=day(30),
                viewer=SYSTEM,
            )


def test_the_experiments_list_reads_its_actions_at_once(as_ana: Browser, app_db: Database) -> None:
    """It read each experiment's action (and that action's failure) one by one."""
    _experiments(app_db, range(2))
    few, _ = statements(as_ana, app_db, "/experiments")
    _experiments(app_db, range(2, 6))
    many, html = statements(as_ana, app_db, "/experiments")
    assert many == few and html.count('<td><a href="/experiments/') == 6 and "Act 5" in html
    # Growth's private failure: its experiment is not listed for ana (the rule stays in SQL).
    with app_db.unit(actor="test") as s:
        f = log_failure(s, title="Hidden", team="Growth", visibility="private", reporter="gil", viewer=SYSTEM)
        a = add_action(s, failure_id=f.id, title="Hidden act", owner="gil", due_date=day(5), viewer=SYSTEM)
        add_experiment(
            s,
            action_id=a.id,
            hypothesis="Hidden",
            metric="m",
            comparator="<=",
            threshold=1,
            start_date=day(0),
            end_date=day(30),
            viewer=SYSTEM,
        )
    assert "Hidden act" not in as_ana.get("/experiments").text


def test_sqlite_connections_read_through_a_memory_map(app_db: Database) -> None:
    with app_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == SQLITE_MMAP_BYTES


def test_the_lessons_library_is_paged(
    as_ana: Browser, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library listed 200 lessons on one page, each with its failures and audience."""
    monkeypatch.setattr(lessons_page, "LIBRARY_PAGE", 3)
    with app_db.unit(actor="test") as s:
        f = log_failure(s, title="A lesson's failure", team="Payments", viewer=SYSTEM)
        for i in range(7):
            create_lesson(
                s,
                title=f"Lesson number {i}",
                learned="Something",
                author="ana",
                failures=[f.id],
                audience=["Payments"],
                publish=True,
                published_at=dt.datetime(2026, 1, 1 + i, tzinfo=dt.UTC),
                viewer=SYSTEM,
            )
    first = as_ana.get("/lessons").text
    assert re.findall(r"Lesson number (\d)<", first) == ["6", "5", "4"]  # the latest published first
    assert "Page 1 of 3" in first and 'href="?page=2"' in first
    assert re.findall(r"Lesson number (\d)<", as_ana.get("/lessons?page=3").text) == ["0"]


def test_the_failure_page_reads_its_history_at_once(as_ana: Browser, app_db: Database) -> None:
    """The failure page's history covers its experiments, observations and timeline entries
    (deleted ones too): read in one query, not one per record."""
    with app_db.unit(actor="test") as s:
        f = log_failure(
            s, title="Refunds stuck", team="Payments", reporter="ana", visibility="org", viewer=SYSTEM
        )
        a = add_action(s, failure_id=f.id, title="Add a check", owner="ben", due_date=day(5), viewer=SYSTEM)
        failure_id, action_id = f.id, a.id

    def grow(names: range) -> None:
        with app_db.unit(actor="ana") as s:
            for i in names:
                e = add_experiment(
                    s,
                    action_id=action_id,
                    hypothesis=f"Bet {i}",
                    metric="minutes",
                    comparator="<=",
                    threshold=5,
                    start_date=day(0),
                    end_date=day(30),
                    viewer=SYSTEM,
                )
                record_observation(s, e.id, value=i, viewer=SYSTEM)
                add_timeline_entry(s, failure_id=failure_id, at=day(0), text=f"Entry {i}", viewer=SYSTEM)
                if i % 2:
                    delete_experiment(s, e.id, viewer=SYSTEM)

    grow(range(2))
    few, _ = statements(as_ana, app_db, f"/failures/{failure_id}")
    grow(range(2, 8))
    many, html = statements(as_ana, app_db, f"/failures/{failure_id}")
    assert many == few
    assert "created Experiment" in html and "deleted Experiment" in html and "Timeline entry" in html

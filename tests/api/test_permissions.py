"""The permission matrix over HTTP, as each kind of user, on both backends.

For a failure of team Payments (reported by ``reporter``, who is in no team, with ``involved``,
also in no team) at each visibility, and each role, every path that shows a failure is checked:
``GET /failures/{id}`` (200 or 404), the ``GET /failures`` list, ``GET /search`` and the
``GET /export`` JSON Lines — and the web pages, signed in with each role's session cookie: the
failure page (200 or 404) and the failures list page. Then the writes (``PATCH``: 200, 403 or 404), and coaching notes and
development plans: their author and their subject only — never an org admin — never in search,
never in someone else's export.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lessonloop.accounts.models import Account
from lessonloop.accounts.service import issue_token, start_session
from lessonloop.api.deps import SESSION_COOKIE
from lessonloop.app import create_app
from lessonloop.coaching.service import start_plan, write_note
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.portability import import_file
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.api.conftest import API, ok
from tests.factories import SYSTEM, failure, reviewed

ROLES = ("reporter", "involved", "member", "lead", "other", "admin")
# One word per visibility, in the failure's title only: what search looks for.
WORD = {"private": "quokka", "team": "narwhal", "org": "axolotl"}
NOTE_WORD = "pangolin"  # only in the coaching note and the development plan


@dataclass
class World:
    client: TestClient
    headers: dict[str, dict[str, str]]  # role → Authorization header
    cookies: dict[str, dict[str, str]]  # role → the web session cookie, as a header
    failures: dict[str, int]  # visibility → failure id
    note_id: int
    plan_id: int

    def as_(self, role: str) -> dict[str, str]:
        return self.headers[role]

    def page(self, role: str, path: str) -> Any:
        """A web page as ``role`` sees it (signed in with a session cookie, no token)."""
        return self.client.get(path, headers=self.cookies[role], follow_redirects=False)


@pytest.fixture
def world(db: Database) -> Iterator[World]:
    """Payments: member (member), lead (lead). Search: other (member). admin: org admin in no
    team. reporter and involved: in no team. A failure per visibility; a note and a plan by the
    lead about the member."""
    with db.unit(actor="setup") as session:
        payments, search = (
            add_team(session, name="Payments", viewer=SYSTEM),
            add_team(session, name="Search", viewer=SYSTEM),
        )
        people = {role: add_person(session, name=role.title(), handle=role, viewer=SYSTEM) for role in ROLES}
        add_member(session, team=payments, person=people["member"], role="member", viewer=SYSTEM)
        add_member(session, team=payments, person=people["lead"], role="lead", viewer=SYSTEM)
        add_member(session, team=search, person=people["other"], role="member", viewer=SYSTEM)
        session.add(
            Account(person=people["admin"], password_hash="!unusable", is_admin=True, failed_logins=0)
        )
        failures = {
            visibility: failure(
                session,
                title=f"The {WORD[visibility]} release slipped",
                visibility=visibility,
                team=payments,
                reporter=people["reporter"],
                people=[people["involved"]],
            ).id
            for visibility in WORD
        }
        own = failure(session, title="Release checklist skipped", team=payments, reporter=people["member"])
        review = reviewed(session, own, owner="member", gap_type="skill", gap_justification="new to releases")
        note = write_note(
            session, author="lead", subject="member", body=f"The {NOTE_WORD} talk went well", viewer=SYSTEM
        )
        plan = start_plan(
            session,
            author="lead",
            review=review.id,
            person="member",
            goals=f"Run the {NOTE_WORD} checklist solo",
            review_date=dt.date.today() + dt.timedelta(days=30),
            viewer=SYSTEM,
        )
        headers = {
            role: {"Authorization": f"Bearer {issue_token(session, people[role], 'tests')[1]}"}
            for role in ROLES
        }
        cookies = {
            role: {"Cookie": f"{SESSION_COOKIE}={start_session(session, people[role])}"} for role in ROLES
        }
        note_id, plan_id = note.id, plan.id
    with TestClient(create_app(database=db)) as client:
        yield World(
            client=client,
            headers=headers,
            cookies=cookies,
            failures=failures,
            note_id=note_id,
            plan_id=plan_id,
        )


def exported(world: World, role: str) -> list[dict[str, Any]]:
    response = world.client.get(f"{API}/export", headers=world.as_(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def exported_ids(records: list[dict[str, Any]], kind: str) -> set[int]:
    return {r["id"] for r in records if r["type"] == kind}


def search_failures(world: World, role: str, word: str) -> set[int]:
    hits = ok(world.client.get(f"{API}/search", params={"q": word}, headers=world.as_(role)))
    return {h["id"] for h in hits if h["kind"] == "failure"}


# Who sees a failure of team Payments: every cell of every path, written out. GET is both the
# API's and the web page's answer; "in list" both the API list and the failures page.
#   role        visibility  GET   in list  in search  in export
SEE = [
    ("reporter", "private", 200, True, True, True),
    ("reporter", "team", 200, True, True, True),
    ("reporter", "org", 200, True, True, True),
    ("involved", "private", 200, True, True, True),
    ("involved", "team", 200, True, True, True),
    ("involved", "org", 200, True, True, True),
    ("member", "private", 404, False, False, False),
    ("member", "team", 200, True, True, True),
    ("member", "org", 200, True, True, True),
    ("lead", "private", 200, True, True, True),
    ("lead", "team", 200, True, True, True),
    ("lead", "org", 200, True, True, True),
    ("other", "private", 404, False, False, False),
    ("other", "team", 404, False, False, False),
    ("other", "org", 200, True, True, True),
    ("admin", "private", 404, False, False, False),
    ("admin", "team", 200, True, True, True),
    ("admin", "org", 200, True, True, True),
]


def test_the_matrix_covers_every_role_and_visibility() -> None:
    assert {(role, vis) for role, vis, *_ in SEE} == {(r, v) for r in ROLES for v in WORD}
    assert len(SEE) == len(ROLES) * len(WORD)


@pytest.mark.parametrize(("role", "visibility", "get", "listed", "searched", "in_export"), SEE)
def test_who_sees_a_failure(
    world: World, role: str, visibility: str, get: int, listed: bool, searched: bool, in_export: bool
) -> None:
    fid = world.failures[visibility]
    headers = world.as_(role)

    one = world.client.get(f"{API}/failures/{fid}", headers=headers)
    assert one.status_code == get, one.text
    if get == 404:  # as if it did not exist: the same answer as an id nobody has
        missing = world.client.get(f"{API}/failures/999999", headers=headers)
        assert one.json()["detail"] == f"no failure with id {fid}"
        assert set(one.json()) == set(missing.json()) and one.json()["field"] == missing.json()["field"]
        for path in ("overview", "history", "review", "similar"):
            assert world.client.get(f"{API}/failures/{fid}/{path}", headers=headers).status_code == 404, path

    page = ok(world.client.get(f"{API}/failures", params={"page_size": 500}, headers=headers))
    assert (fid in {f["id"] for f in page["items"]}) is listed

    web = world.page(role, f"/failures/{fid}")
    assert web.status_code == get, web.text[:300]
    assert (WORD[visibility] in web.text) is (get == 200)
    web_list = world.page(role, "/failures")
    assert web_list.status_code == 200
    assert (f'href="/failures/{fid}"' in web_list.text) is listed
    assert (WORD[visibility] in web_list.text) is listed

    assert (fid in search_failures(world, role, WORD[visibility])) is searched

    records = exported(world, role)
    assert (fid in exported_ids(records, "failure")) is in_export
    history_of_failure = {
        r["record_id"] for r in records if r["type"] == "history" and r["record_type"] == "failure"
    }
    assert (fid in history_of_failure) is in_export


# Who may change it (PATCH): 200, 403 (may see, may not change) or 404 (may not see).
#   role        visibility  PATCH
EDIT = [
    ("reporter", "private", 200),
    ("reporter", "team", 200),
    ("reporter", "org", 200),
    ("involved", "private", 200),
    ("involved", "team", 200),
    ("involved", "org", 200),
    ("member", "private", 404),
    ("member", "team", 403),
    ("member", "org", 403),
    ("lead", "private", 200),
    ("lead", "team", 200),
    ("lead", "org", 200),
    ("other", "private", 404),
    ("other", "team", 404),
    ("other", "org", 403),
    ("admin", "private", 404),
    ("admin", "team", 200),
    ("admin", "org", 200),
]


@pytest.mark.parametrize(("role", "visibility", "status"), EDIT)
def test_who_may_change_a_failure(world: World, role: str, visibility: str, status: int) -> None:
    fid = world.failures[visibility]
    response = world.client.patch(
        f"{API}/failures/{fid}", json={"severity": "critical"}, headers=world.as_(role)
    )
    assert response.status_code == status, response.text
    transition = world.client.post(
        f"{API}/failures/{fid}/transition", json={"status": "in-review"}, headers=world.as_(role)
    )
    assert transition.status_code == status, transition.text
    if status == 200:
        history = ok(world.client.get(f"{API}/failures/{fid}/history", headers=world.as_(role)))
        assert history[-1]["actor"] == role  # the signed-in handle


# Coaching notes and development plans: the author (lead) and the subject (member) only.
COACHING_SEEN = {
    "reporter": False,
    "involved": False,
    "member": True,  # the subject
    "lead": True,  # the author
    "other": False,
    "admin": False,  # an org admin is no exception
}


def test_coaching_table_covers_every_role() -> None:
    assert set(COACHING_SEEN) == set(ROLES)


@pytest.mark.parametrize(("role", "sees"), sorted(COACHING_SEEN.items()))
def test_who_sees_coaching_notes_and_plans(world: World, role: str, sees: bool) -> None:
    headers = world.as_(role)
    note = world.client.get(f"{API}/coaching-notes/{world.note_id}", headers=headers)
    plan = world.client.get(f"{API}/development-plans/{world.plan_id}", headers=headers)
    assert note.status_code == (200 if sees else 404), note.text
    assert plan.status_code == (200 if sees else 404), plan.text
    if sees:
        assert NOTE_WORD in note.json()["body"] and NOTE_WORD in plan.json()["goals"]
    web = world.page(role, "/coaching")
    assert web.status_code == 200
    assert (NOTE_WORD in web.text) is sees  # the note's body and the plan's goals
    notes = ok(world.client.get(f"{API}/coaching-notes", headers=headers))
    plans = ok(world.client.get(f"{API}/development-plans", headers=headers))
    assert (world.note_id in {n["id"] for n in notes}) is sees
    assert (world.plan_id in {p["id"] for p in plans}) is sees

    # never in search, not even for the author and the subject
    assert ok(world.client.get(f"{API}/search", params={"q": NOTE_WORD}, headers=headers)) == []

    records = exported(world, role)
    assert (world.note_id in exported_ids(records, "coaching_note")) is sees
    assert (world.plan_id in exported_ids(records, "development_plan")) is sees
    history = {(r["record_type"], r["record_id"]) for r in records if r["type"] == "history"}
    assert (("coaching_note", world.note_id) in history) is sees
    assert not any(NOTE_WORD in json.dumps(r) for r in records) or sees


def test_an_export_for_a_person_keeps_secrets_out_and_imports_cleanly(world: World, tmp_path: Path) -> None:
    """No accounts or tokens; no dangling references: it restores into an empty database."""
    for role in ("member", "other"):
        records = exported(world, role)
        kinds = {r["type"] for r in records}
        assert not kinds & {"account", "api_token"}
        assert not any("$argon2" in json.dumps(r) or "token_hash" in r for r in records)
        target = Database.open(Settings(database_url=f"sqlite:///{tmp_path / f'{role}.db'}"))
        try:
            lines = [(json.dumps(r) + "\n").encode() for r in records]
            with target.unit() as session:
                result = import_file(session, io.BytesIO(b"".join(lines)), format="native", viewer=SYSTEM)
            assert result.created == len(records) - 1  # all but the header
        finally:
            target.close()


def test_coaching_writes_need_the_right_role(world: World) -> None:
    client = world.client
    # only a lead of the subject's team may write a note; the author is always the signed-in person
    for role in ("reporter", "member", "other", "admin"):
        refused = client.post(
            f"{API}/coaching-notes", json={"subject": "member", "body": "x"}, headers=world.as_(role)
        )
        assert refused.status_code in (403, 422), (role, refused.text)
    made = ok(
        client.post(
            f"{API}/coaching-notes",
            json={"subject": "member", "body": "Good call"},
            headers=world.as_("lead"),
        ),
        201,
    )
    assert made["author"]["handle"] == "lead" and made["subject"]["handle"] == "member"
    # the subject may read it, not delete it; someone else gets 404
    assert client.delete(f"{API}/coaching-notes/{made['id']}", headers=world.as_("member")).status_code == 403
    assert client.delete(f"{API}/coaching-notes/{made['id']}", headers=world.as_("admin")).status_code == 404
    assert client.delete(f"{API}/coaching-notes/{made['id']}", headers=world.as_("lead")).status_code == 204

    # a plan needs a review the author may see: a hidden review is a 404, not a 409 about its gap
    hidden = client.get(f"{API}/failures/{world.failures['private']}", headers=world.as_("other"))
    assert hidden.status_code == 404
    plan = ok(client.get(f"{API}/development-plans/{world.plan_id}", headers=world.as_("member")))
    assert (
        client.post(
            f"{API}/development-plans",
            json={
                "review_id": plan["review_id"],
                "person": "member",
                "goals": "g",
                "review_date": "2030-01-01",
            },
            headers=world.as_("other"),
        ).status_code
        == 404
    )
    done = ok(client.post(f"{API}/development-plans/{world.plan_id}/complete", headers=world.as_("member")))
    assert done["status"] == "done"

"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis, in-process).

Each operation gets a fresh database (SQLite and PostgreSQL) holding one record of each kind (so ids 1 and 2
exist), an org admin's API token, and a bounded number of generated requests — valid and
invalid — sent straight to the ASGI app. Whatever is sent, the answer must never be a 5xx:
bad input is a 4xx that names the field.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from lessonloop.accounts.models import Account
from lessonloop.accounts.service import issue_token
from lessonloop.app import create_app
from lessonloop.coaching.service import start_plan, write_note
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.lessons.service import create_lesson
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from tests.factories import SYSTEM, failure, reviewed

# Bounded so the suite stays quick; LESSONLOOP_FUZZ_EXAMPLES=200 (and LESSONLOOP_FUZZ_RANDOM=1 for
# fresh examples each run) for a deeper search.
MAX_EXAMPLES = int(os.environ.get("LESSONLOOP_FUZZ_EXAMPLES", "15"))
DERANDOMIZE = os.environ.get("LESSONLOOP_FUZZ_RANDOM") != "1"


def _seed(db: Database) -> str:
    """One record of each kind; returns an org admin's token."""
    with db.unit(actor="seed") as session:
        team = add_team(session, name="Payments", viewer=SYSTEM)
        admin = add_person(session, name="Org Admin", handle="admin", viewer=SYSTEM)
        session.add(Account(person=admin, password_hash="!unusable", is_admin=True, failed_logins=0))
        ana = add_person(session, name="Ana Lead", handle="ana", email="ana@example.com", viewer=SYSTEM)
        ben = add_person(session, name="Ben Member", handle="ben", viewer=SYSTEM)
        add_member(session, team=team, person=ana, role="lead", viewer=SYSTEM)
        add_member(session, team=team, person=ben, role="member", viewer=SYSTEM)
        first = failure(
            session, title="Checkout missed the launch", team=team, reporter=ben, labels=["vendor"]
        )
        failure(session, title="Pager hand-off lost an incident", team=team, visibility="org")
        review = reviewed(session, first, owner="ben", gap_type="skill", gap_justification="first release")
        experiment = add_experiment(
            session,
            action_id=1,
            hypothesis="Dated checks catch slips",
            metric="slips",
            comparator="<=",
            threshold=1,
            start_date=dt.date.today(),
            end_date=dt.date.today() + dt.timedelta(days=30),
            viewer=SYSTEM,
        )
        record_observation(session, experiment.id, value=2, viewer=SYSTEM)
        create_lesson(
            session,
            title="Date dependencies",
            learned="Verbal dates slip",
            failures=[first.id],
            viewer=SYSTEM,
        )
        write_note(session, author="ana", subject="ben", body="Pair on the next release", viewer=SYSTEM)
        start_plan(
            session,
            author="ana",
            review=review.id,
            person="ben",
            goals="Solo release",
            review_date="2030-01-01",
            viewer=SYSTEM,
        )
        _token, plaintext = issue_token(session, admin, "fuzz")
    return plaintext


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, from the app's document (no database needed for it)."""
    app = create_app(database=Database.open(Settings(database_url="sqlite://"), migrate=False))
    return sorted(
        (method.upper(), path) for path, methods in app.openapi()["paths"].items() for method in methods
    )


OPERATIONS = _operations()


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) >= 50


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_operation_answers_5xx(db: Database, method: str, path: str) -> None:
    headers = {"Authorization": f"Bearer {_seed(db)}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(database=db))
    operation = schema[path][method]
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=DERANDOMIZE,  # by default the same examples every run: a failure is reproducible
        database=None,
    )
    def no_server_error(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} → {response.status_code}\n"
            f"query={case.query!r} body={case.body!r}\n{response.text[:2000]}"
        )

    no_server_error()


# --- conformance as each role (bench/schema_fuzz.py, in small) -------------------------------

#: Per operation, per role. ``bench/schema_fuzz.py --examples 20`` searches deeper.
ROLE_EXAMPLES = int(os.environ.get("LESSONLOOP_FUZZ_ROLE_EXAMPLES", "1"))


def test_every_answer_conforms_to_the_document_for_every_role(db: Database) -> None:
    """The demo workspace, a token per role (org admin, team admin, lead, member, member of two
    teams, outsider); every operation as each of them: no 5xx, and every status code, content
    type, body and header is one the OpenAPI document declares."""
    from bench import schema_fuzz

    tokens = schema_fuzz.build_workspace(db)
    findings = []
    for label, handle in schema_fuzz.ROLES:
        result = schema_fuzz.fuzz_role(db, label, handle, tokens[handle], examples=ROLE_EXAMPLES)
        assert result.operations == len(OPERATIONS)
        findings.extend(result.findings.values())
    assert findings == [], "\n".join(
        f"{f.role}: {f.operation} [{f.check}] {f.title}\n    {f.example}" for f in findings
    )


def test_a_body_with_unstorable_text_is_refused_with_422(db: Database) -> None:
    """A lone surrogate cannot be encoded as UTF-8 (it was a 500) and PostgreSQL refuses NUL: both
    are refused before a route sees them, wherever they sit in the body, on both backends."""
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {_seed(db)}", "Content-Type": "application/json"}
    with TestClient(create_app(database=db), headers=headers) as client:
        for path, body, loc in [
            ("/api/v1/teams", '{"name": "Ops\\ud800"}', ["body", "name"]),
            ("/api/v1/people", '{"name": "Zoe\\udfff", "handle": "zoe"}', ["body", "name"]),
            ("/api/v1/coach", '{"text": "he \\ud83d forgot"}', ["body", "text"]),
            ("/api/v1/teams", '{"name": "Ops\\u0000"}', ["body", "name"]),
            ("/api/v1/failures/1/review", '{"answers": {"assumptions": ["a\\u0000"]}}', None),
        ]:
            response = client.post(path, content=body.encode())
            assert response.status_code == 422, (path, body, response.status_code, response.text)
            problem = response.json()["detail"][0]
            if loc is not None:
                assert problem["loc"] == loc
            assert "NUL" in problem["msg"] or "surrogate" in problem["msg"]
        # nothing was stored
        assert [t["name"] for t in client.get("/api/v1/teams").json()] == ["Payments"]


def test_a_422_that_echoes_a_lone_surrogate_can_still_be_sent() -> None:
    """The 422 handler echoes short inputs; one holding a lone surrogate made the answer itself
    fail to encode (a 500). It is escaped instead."""
    from lessonloop.api.errors import short_problem

    problem = short_problem(
        {"loc": ("body", "na\udc80me"), "msg": "bad \ud800", "type": "t", "input": "Ops\ud800"}
    )
    assert problem["input"] == "Ops\\ud800" and problem["loc"] == ["body", "na\\udc80me"]
    json.dumps(problem, ensure_ascii=False).encode("utf-8")  # what JSONResponse does: no error

"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis, in-process).

Each operation gets a fresh database (SQLite and PostgreSQL) holding one record of each kind (so ids 1 and 2
exist), an org admin's API token, and a bounded number of generated requests — valid and
invalid — sent straight to the ASGI app. Whatever is sent, the answer must never be a 5xx:
bad input is a 4xx that names the field.
"""

from __future__ import annotations

import datetime as dt
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
from tests.factories import failure, reviewed

# Bounded so the suite stays quick; LESSONLOOP_FUZZ_EXAMPLES=200 (and LESSONLOOP_FUZZ_RANDOM=1 for
# fresh examples each run) for a deeper search.
MAX_EXAMPLES = int(os.environ.get("LESSONLOOP_FUZZ_EXAMPLES", "15"))
DERANDOMIZE = os.environ.get("LESSONLOOP_FUZZ_RANDOM") != "1"


def _seed(db: Database) -> str:
    """One record of each kind; returns an org admin's token."""
    with db.unit(actor="seed") as session:
        team = add_team(session, name="Payments")
        admin = add_person(session, name="Org Admin", handle="admin")
        session.add(Account(person=admin, password_hash="!unusable", is_admin=True, failed_logins=0))
        ana = add_person(session, name="Ana Lead", handle="ana", email="ana@example.com")
        ben = add_person(session, name="Ben Member", handle="ben")
        add_member(session, team=team, person=ana, role="lead")
        add_member(session, team=team, person=ben, role="member")
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
        )
        record_observation(session, experiment.id, value=2)
        create_lesson(session, title="Date dependencies", learned="Verbal dates slip", failures=[first.id])
        write_note(session, author="ana", subject="ben", body="Pair on the next release")
        start_plan(
            session,
            author="ana",
            review=review.id,
            person="ben",
            goals="Solo release",
            review_date="2030-01-01",
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

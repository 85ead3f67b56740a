"""The owner hears of an escalation once when it opens and once each time it grows, whichever path
found it: logging through the API (``signals.observe.log_and_observe``) or the worker's daily check.
The notices name the pattern, never a failure's title (issue #11)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lessonloop.app import create_app
from lessonloop.escalations.models import Escalation
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.people.models import Person
from lessonloop.store.engine import Database
from lessonloop.worker.runner import run_once
from tests.api.conftest import as_user
from tests.factories import failure, team_with_people

API = "/api/v1"
T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
CONFIG = WorkerConfig()


def _notices(db: Database) -> list[tuple[str, str, str, str]]:
    with db.unit() as s:
        rows = s.execute(
            select(Person.handle, Notification.dedupe_key, Notification.subject, Notification.body_text)
            .join(Person, Person.id == Notification.person_id)
            .where(Notification.kind == "escalation")
            .order_by(Notification.id)
        ).all()
        return [(h, k, subj, body) for h, k, subj, body in rows]


def _escalation_ids(db: Database) -> list[int]:
    with db.unit() as s:
        return list(s.scalars(select(Escalation.id).order_by(Escalation.id)))


def test_the_worker_tells_the_owner_once_on_open_and_once_per_growth(db: Database) -> None:
    with db.unit() as s:
        team_with_people(s)
        for i in range(3):
            failure(
                s,
                title=f"Secret vendor slip {i}",
                team="Payments",
                labels=["vendor"],
                detected_at=T0 - dt.timedelta(days=i),
            )
    run_once(db, now=T0, config=CONFIG, only_jobs={"escalations"})
    [eid] = _escalation_ids(db)
    assert [(h, k) for h, k, _s, _b in _notices(db)] == [("ana", f"escalation:{eid}:opened")]
    _h, _k, subject, body = _notices(db)[0]
    assert subject == f"Escalation #{eid} opened: cause label 'vendor'"
    assert "3 failures with cause label 'vendor' in 90 days" in body and "Secret" not in subject + body
    with db.unit() as s:
        fourth = failure(
            s,
            title="Secret vendor slip 4",
            team="Payments",
            labels=["vendor"],
            detected_at=T0 + dt.timedelta(hours=20),
        ).id
        failure(
            s, title="Unrelated", team="Payments", labels=["dns"], detected_at=T0 + dt.timedelta(hours=21)
        )
    for day in (1, 2, 3):  # the growth is told once, the days after it nothing
        run_once(db, now=T0 + dt.timedelta(days=day), config=CONFIG, only_jobs={"escalations"})
    notices = _notices(db)
    assert [(h, k) for h, k, _s, _b in notices] == [
        ("ana", f"escalation:{eid}:opened"),
        ("ana", f"escalation:{eid}:grew:{fourth}"),
    ]
    assert notices[1][2] == f"Escalation #{eid} grew: cause label 'vendor'"
    assert "4 failures with cause label 'vendor'" in notices[1][3] and "Secret" not in notices[1][3]
    assert _escalation_ids(db) == [eid]


@pytest.fixture
def api(db: Database) -> Iterator[TestClient]:
    headers = as_user(db, "admin", admin=True)  # an org admin in no team
    with TestClient(create_app(database=db), headers=headers) as client:
        yield client


def _log(client: TestClient, *, team: str | None, label: str, days_ago: int) -> int:
    now = dt.datetime.now(dt.UTC)
    body = {
        "title": f"Hidden title {label} {days_ago}",
        "team": team,
        "labels": [label],
        "detected_at": (now - dt.timedelta(days=days_ago)).isoformat(),
    }
    response = client.post(f"{API}/failures", json={k: v for k, v in body.items() if v is not None})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_logging_through_the_api_tells_the_owner_and_the_worker_adds_nothing(
    db: Database, api: TestClient
) -> None:
    with db.unit() as s:
        team_with_people(s)
    for n in (5, 4):
        _log(api, team="Payments", label="vendor", days_ago=n)
    assert _notices(db) == []
    _log(api, team="Payments", label="vendor", days_ago=3)
    [eid] = _escalation_ids(db)
    assert [(h, k) for h, k, _s, _b in _notices(db)] == [("ana", f"escalation:{eid}:opened")]
    _log(api, team="Payments", label="dns", days_ago=2)  # unrelated: nothing
    grew = _log(api, team="Payments", label="vendor", days_ago=1)
    run_once(db, config=CONFIG, only_jobs={"escalations"})  # the worker finds nothing new to tell
    assert [(h, k) for h, k, _s, _b in _notices(db)] == [
        ("ana", f"escalation:{eid}:opened"),
        ("ana", f"escalation:{eid}:grew:{grew}"),
    ]
    assert all("Hidden title" not in subject + body for _h, _k, subject, body in _notices(db))


def test_a_pattern_across_teams_goes_to_the_org_admin(db: Database, api: TestClient) -> None:
    with db.unit() as s:
        team_with_people(s)
    for n, team in ((3, "Payments"), (2, None), (1, "Payments")):
        _log(api, team=team, label="dns", days_ago=n)
    [eid] = _escalation_ids(db)
    assert [(h, k) for h, k, _s, _b in _notices(db)] == [("admin", f"escalation:{eid}:opened")]

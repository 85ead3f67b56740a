"""The demo workspace can be signed into: every demo person has an account with the printed password."""

from __future__ import annotations

from lessonloop.accounts.service import set_password
from lessonloop.demo import DEMO_PASSWORD, build_demo, demo_logins
from lessonloop.store.engine import Database
from tests.factories import SYSTEM
from tests.web.conftest import Browser


def test_demo_people_sign_in_with_the_printed_password(app_db: Database, client: object) -> None:
    with app_db.unit(actor="demo") as session:
        build_demo(session)
    with app_db.unit() as session:
        logins = dict(demo_logins(session))
    assert len(logins) == 8 and logins["amara"].startswith("org admin")
    assert "lead of Data Science" in logins["chen"]

    dana = Browser(client)  # type: ignore[arg-type]
    assert dana.login("dana", DEMO_PASSWORD).status_code == 303
    coaching = dana.get("/coaching").text
    assert "pair with me on the backtest design" in coaching  # chen's private note to dana
    assert "Run production-model monitoring end to end" in coaching  # her development plan
    assert "Hello, Dana" in dana.get("/").text

    with app_db.unit() as session:
        set_password(session, "amara", "a different password", viewer=SYSTEM)
    with app_db.unit() as session:
        assert demo_logins(session) == []  # no longer printed once the first admin changed it

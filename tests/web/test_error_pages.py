"""Pages answer 404/405/422/500 with a page inside the layout, the signed-in person's navigation
kept; only /api/v1 answers JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response

from lessonloop.app import create_app
from lessonloop.store.engine import Database
from tests.web.conftest import Browser


def _is_page_with_nav(response: Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'class="site-nav"' in html and "Ana Lead" in html, "the navigation was lost"


def test_an_unknown_address_is_a_404_page_with_the_navigation(as_ana: Browser) -> None:
    _is_page_with_nav(as_ana.get("/no-such-page"), 404)
    _is_page_with_nav(as_ana.get("/static/no-such.css"), 404)


def test_a_malformed_address_is_a_422_page_not_json(as_ana: Browser) -> None:
    answer = as_ana.get("/failures/not-a-number")
    _is_page_with_nav(answer, 422)
    assert "failure_id" not in answer.text  # no internal names on a page


def test_a_wrong_method_is_a_405_page(as_ana: Browser) -> None:
    _is_page_with_nav(as_ana.client.delete("/actions"), 405)


def test_a_record_one_may_not_see_keeps_the_navigation_on_its_404(as_ana: Browser) -> None:
    _is_page_with_nav(as_ana.get("/failures/999999"), 404)


def test_a_bug_is_a_500_page_for_pages_and_json_for_the_api(app_db: Database, people: None) -> None:
    app = create_app(database=app_db)

    @app.get("/boom-page")
    def boom_page() -> None:
        raise RuntimeError("a bug")

    @app.get("/api/v1/boom")
    def boom_api() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        browser = Browser(client)
        assert browser.login("ana").status_code == 303
        page = browser.get("/boom-page")
        _is_page_with_nav(page, 500)
        assert "a bug" not in page.text  # no internals shown
        api = client.get("/api/v1/boom")
        assert api.status_code == 500 and api.json()["detail"].startswith("internal error")


def test_signed_out_a_404_is_still_a_page(browser: Browser) -> None:
    answer = browser.get("/no-such-page")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert "Not found" in answer.text


def test_the_api_keeps_json_errors(as_ana: Browser) -> None:
    answer = as_ana.get("/api/v1/no-such-endpoint")
    assert answer.status_code == 404 and answer.json() == {"detail": "Not Found"}
    answer = as_ana.get("/api/v1/failures/not-a-number")
    assert answer.status_code in {401, 422} and answer.headers["content-type"] == "application/json"

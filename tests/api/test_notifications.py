"""Notifications, channels, "did this work?" and calendar feeds over the API, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lessonloop.access.viewer import viewer_for
from lessonloop.actions.models import Action
from lessonloop.actions.service import add_action, drop_action
from lessonloop.errors import Conflict, NotFound, PermissionDenied
from lessonloop.notifications.service import enqueue
from lessonloop.people.service import add_member, add_person, get_person
from lessonloop.store.engine import Database
from lessonloop.worker import checks
from tests.api.conftest import API, as_user, conduct, ok, setup_people
from tests.factories import SYSTEM, failure, reviewed, team_with_people


def notify(db: Database, handle: str, subject: str, *, at: dt.datetime | None = None) -> int:
    with db.unit(actor="test") as session:
        person = get_person(session, handle, viewer=SYSTEM)
        n = enqueue(
            session,
            person_id=person.id,
            kind="reminder",
            subject=subject,
            body_text=f"{subject} — body",
            dedupe_key=f"test:{handle}:{subject}",
            now=at,
            viewer=SYSTEM,
        )
        assert n is not None
        return n.id


def done_primary(client: TestClient, owner: str = "ben", visibility: str = "team") -> tuple[int, int]:
    """A Payments failure reviewed, its primary action (owned by ``owner``) done: (failure, action)."""
    fid = ok(
        client.post(
            f"{API}/failures",
            json={"title": "Refunds stalled for a day", "team": "Payments", "visibility": visibility},
        ),
        201,
    )["id"]
    ok(conduct(client, fid, owner=owner), 201)
    action = ok(client.get(f"{API}/actions", params={"failure": fid}))["items"][0]
    ok(client.post(f"{API}/actions/{action['id']}/complete", json={"evidence": "alert in place"}))
    return fid, action["id"]


# -- every new endpoint needs credentials -----------------------------------------------------------

NEW_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/notifications", None),
    ("POST", "/notifications/1/read", None),
    ("POST", "/notifications/read-all", None),
    ("GET", "/notifications/preferences", None),
    ("PUT", "/notifications/preferences", {"channels": []}),
    ("POST", "/actions/1/check", {"worked": "yes"}),
    ("GET", "/actions/1/checks", None),
    ("POST", "/calendar-tokens", {}),
    ("GET", "/calendar-tokens", None),
    ("DELETE", "/calendar-tokens/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), NEW_ROUTES)
def test_each_new_endpoint_is_401_without_credentials(
    anon: TestClient, method: str, path: str, body: Any
) -> None:
    response = anon.request(method, f"{API}{path}", json=body)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")


# -- notifications ----------------------------------------------------------------------------------


def test_my_notifications_newest_first_unread_filter_and_marking_read(
    client: TestClient, db: Database
) -> None:
    setup_people(client)
    ana = as_user(db, "ana")
    t0 = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    first = notify(db, "ana", "Older", at=t0)
    second = notify(db, "ana", "Newer", at=t0 + dt.timedelta(hours=1))
    bens = notify(db, "ben", "Ben's own", at=t0)

    listed = client.get(f"{API}/notifications", headers=ana)
    assert [n["id"] for n in ok(listed)] == [second, first]
    assert listed.headers["x-unread-count"] == "2"
    assert ok(listed)[0]["subject"] == "Newer" and ok(listed)[0]["read_at"] is None
    assert ok(client.get(f"{API}/notifications")) == []  # the admin has none: only one's own

    read = ok(client.post(f"{API}/notifications/{first}/read", headers=ana))
    assert read["id"] == first and read["read_at"] is not None
    again = ok(client.post(f"{API}/notifications/{first}/read", headers=ana))
    assert again["read_at"] == read["read_at"]  # harmless twice
    unread = client.get(f"{API}/notifications", params={"unread": True}, headers=ana)
    assert [n["id"] for n in ok(unread)] == [second] and unread.headers["x-unread-count"] == "1"

    # someone else's notification is a 404, exactly like one that does not exist — and stays unread
    for nid in (bens, 999_999, 10**30):
        refused = client.post(f"{API}/notifications/{nid}/read", headers=ana)
        assert refused.status_code in (404, 422), refused.text
    assert client.post(f"{API}/notifications/{bens}/read", headers=ana).status_code == 404
    assert ok(client.get(f"{API}/notifications", headers=as_user(db, "ben")))[0]["read_at"] is None

    assert ok(client.post(f"{API}/notifications/read-all", headers=ana)) == {"marked": 1}
    assert ok(client.get(f"{API}/notifications", params={"unread": True}, headers=ana)) == []
    assert ok(client.get(f"{API}/notifications", params={"unread": True}, headers=as_user(db, "ben")))


def test_preferences_default_set_and_bad_addresses_are_422(client: TestClient, db: Database) -> None:
    setup_people(client)
    ana = as_user(db, "ana")
    assert ok(client.get(f"{API}/notifications/preferences", headers=ana)) == {
        "channels": ["in-app"],
        "email": None,
        "webhook_url": None,
        "webhook_kind": "slack",
        "person_email": "ana@example.com",
    }
    # e-mail with the person's own address; then a webhook too
    assert ok(client.put(f"{API}/notifications/preferences", json={"channels": ["email"]}, headers=ana))[
        "channels"
    ] == ["in-app", "email"]
    both = ok(
        client.put(
            f"{API}/notifications/preferences",
            json={"channels": ["email", "webhook"], "webhook_url": "https://hooks.example.com/T/B/X"},
            headers=ana,
        )
    )
    assert both["channels"] == ["in-app", "email", "webhook"]
    assert both["webhook_url"] == "https://hooks.example.com/T/B/X"

    for body, field in [
        ({"email": "not-an-address"}, "email"),
        ({"email": "ana@example.com\r\nBcc: x@evil.example"}, "email"),
        ({"webhook_url": "ftp://hooks.example.com/x"}, "webhook_url"),
        ({"webhook_url": "https://"}, "webhook_url"),
        ({"webhook_url": "http://host:notaport/x"}, "webhook_url"),
        ({"channels": ["pigeon"]}, "channels"),
    ]:
        refused = client.put(f"{API}/notifications/preferences", json=body, headers=ana)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", field], refused.text
    # nothing of a refused change was kept
    assert ok(client.get(f"{API}/notifications/preferences", headers=ana))["webhook_url"] == (
        "https://hooks.example.com/T/B/X"
    )
    # ben has no e-mail of his own: the e-mail channel needs an address
    ben = as_user(db, "ben")
    refused = client.put(f"{API}/notifications/preferences", json={"channels": ["email"]}, headers=ben)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "email"]
    assert ok(client.get(f"{API}/notifications/preferences", headers=ben))["channels"] == ["in-app"]
    # in-app only again; preferences are one's own (ana's are untouched by ben)
    assert ok(client.put(f"{API}/notifications/preferences", json={"channels": []}, headers=ana))[
        "channels"
    ] == ["in-app"]
    assert (
        client.put(f"{API}/notifications/preferences", json={"person": "ben"}, headers=ana).status_code == 422
    )


# -- "did this work?" -------------------------------------------------------------------------------


def test_the_owner_answers_and_a_yes_counts_as_verified_in_the_metrics(
    client: TestClient, db: Database
) -> None:
    setup_people(client)
    _fid, aid = done_primary(client, owner="ben")
    assert ok(client.get(f"{API}/metrics"))["totals"]["learning_conversion"] == 0.0
    ben = as_user(db, "ben")

    no = ok(
        client.post(f"{API}/actions/{aid}/check", json={"worked": "no", "note": "still slips"}, headers=ben),
        201,
    )
    assert no["worked"] == "no" and no["action_id"] == aid
    with db.unit() as session:
        assert no["person_id"] == get_person(session, "ben", viewer=SYSTEM).id
    assert ok(client.get(f"{API}/metrics"))["totals"]["learning_conversion"] == 0.0

    yes = ok(
        client.post(f"{API}/actions/{aid}/check", json={"worked": "yes", "note": "no slips"}, headers=ben),
        201,
    )
    listed = ok(client.get(f"{API}/actions/{aid}/checks", headers=ben))
    assert [c["id"] for c in listed] == [no["id"], yes["id"]] and listed[-1]["worked"] == "yes"
    assert ok(client.get(f"{API}/metrics"))["totals"]["learning_conversion"] == 1.0

    bad = client.post(f"{API}/actions/{aid}/check", json={"worked": "maybe"}, headers=ben)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "worked"


def test_who_may_answer_did_this_work(client: TestClient, db: Database) -> None:
    setup_people(client)
    _fid, aid = done_primary(client, owner="ben")
    # ana leads Payments: she may change the failure, so she may answer; the answer is hers
    by_lead = ok(
        client.post(f"{API}/actions/{aid}/check", json={"worked": "partly"}, headers=as_user(db, "ana")), 201
    )
    with db.unit() as session:
        assert by_lead["person_id"] == get_person(session, "ana", viewer=SYSTEM).id
    # cara is in no team: she may see an org failure's action but not answer for it (403) ...
    cara = as_user(db, "cara")
    _ofid, org_action = done_primary(client, owner="ben", visibility="org")
    refused = client.post(f"{API}/actions/{org_action}/check", json={"worked": "yes"}, headers=cara)
    assert refused.status_code == 403 and refused.json()["field"] == "action"
    assert ok(client.get(f"{API}/actions/{org_action}/checks", headers=cara)) == []
    # ... and a team failure she may not see is a 404, for the answer and for the list
    assert client.post(f"{API}/actions/{aid}/check", json={"worked": "yes"}, headers=cara).status_code == 404
    assert client.get(f"{API}/actions/{aid}/checks", headers=cara).status_code == 404
    assert client.get(f"{API}/actions/999999/checks").status_code == 404
    assert client.post(f"{API}/actions/{10**30}/check", json={"worked": "yes"}).status_code in (404, 422)


def test_record_check_enforces_the_rule_in_the_service(db: Database) -> None:
    """The access rule lives in the service: the API and the pages only pass the viewer."""
    with db.unit(actor="test") as session:
        people = team_with_people(session)
        outsider = add_person(session, name="Out Sider", handle="out", viewer=SYSTEM)
        member = add_person(session, name="Mo Member", handle="mo", viewer=SYSTEM)
        add_member(session, team=people["team"], person=member, role="member", viewer=SYSTEM)
        f = failure(session, team=people["team"], visibility="team", reporter=people["ana"])
        reviewed(session, f, owner="ben")
        aid = session.scalar(select(Action.id).where(Action.failure_id == f.id))
        assert aid is not None
        # the owner answers; the answer is the viewer's, whoever else is named
        check = checks.record_check(
            session, aid, worked="yes", viewer=viewer_for(session, people["ben"]), person="ana"
        )
        assert check.person_id == people["ben"].id
        # someone who may not see the failure: 404, for answering and for reading
        with pytest.raises(NotFound):
            checks.record_check(session, aid, worked="yes", viewer=viewer_for(session, outsider))
        with pytest.raises(NotFound):
            checks.checks_for(session, aid, viewer=viewer_for(session, outsider))
        # a member who neither owns the action nor may change the failure: 403 (but may read)
        with pytest.raises(PermissionDenied):
            checks.record_check(session, aid, worked="yes", viewer=viewer_for(session, member))
        assert len(checks.checks_for(session, aid, viewer=viewer_for(session, member))) == 1
        # a trusted caller (the CLI) still answers for the owner by default
        assert checks.record_check(session, aid, worked="partly", viewer=SYSTEM).person_id == people["ben"].id
        assert checks.latest_checks(session, [aid], viewer=SYSTEM)[aid].worked == "partly"
        # a dropped action has nothing to check
        other = add_action(
            session, failure_id=f.id, title="Second try", owner="ben", due_date=dt.date.today(), viewer=SYSTEM
        )
        drop_action(session, other.id, reason="superseded by the first", viewer=SYSTEM)
        with pytest.raises(Conflict):
            checks.record_check(session, other.id, worked="yes", viewer=SYSTEM)


# -- calendar feeds ---------------------------------------------------------------------------------


def test_my_calendar_feed_is_shown_once_fetched_and_404_after_revoking(
    client: TestClient, anon: TestClient, db: Database
) -> None:
    setup_people(client)
    _fid, _aid = done_primary(client, owner="ben")
    ben = as_user(db, "ben")
    made = client.post(f"{API}/calendar-tokens", json={}, headers=ben)
    body = ok(made, 201)
    assert "no-store" in made.headers["cache-control"]
    assert body["token"].startswith("cal_") and body["url"].endswith(f"/calendar/{body['token']}.ics")
    assert body["name"] == "Ben Member" and body["team_id"] is None and body["revoked_at"] is None

    path = body["url"].split("testserver", 1)[1]
    feed = anon.get(path)  # the secret URL is the credential: no sign-in
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in feed.text and "Add a dated dependency check" in feed.text

    listed = ok(client.get(f"{API}/calendar-tokens", headers=ben))
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0] and "url" not in listed[0] and body["token"] not in str(listed)
    # not yours: another person's feed is a 404 to list, to revoke
    assert ok(client.get(f"{API}/calendar-tokens", headers=as_user(db, "cara"))) == []
    assert (
        client.delete(f"{API}/calendar-tokens/{body['id']}", headers=as_user(db, "cara")).status_code == 404
    )
    assert client.delete(f"{API}/calendar-tokens/999999", headers=ben).status_code == 404
    assert client.delete(f"{API}/calendar-tokens/{10**30}", headers=ben).status_code in (404, 422)
    assert anon.get(path).status_code == 200

    revoked = ok(client.delete(f"{API}/calendar-tokens/{body['id']}", headers=ben))
    assert revoked["revoked_at"] is not None
    assert anon.get(path).status_code == 404
    assert (
        ok(client.delete(f"{API}/calendar-tokens/{body['id']}", headers=ben))["revoked_at"]
        == revoked["revoked_at"]
    )


def test_team_feeds_are_made_by_leads_and_revoked_by_org_admins_too(
    client: TestClient, anon: TestClient, db: Database
) -> None:
    setup_people(client)
    ana, ben = as_user(db, "ana"), as_user(db, "ben")
    refused = client.post(f"{API}/calendar-tokens", json={"team": "Payments"}, headers=ben)
    assert refused.status_code == 403 and refused.json()["field"] == "team"
    assert client.post(f"{API}/calendar-tokens", json={"team": "Nowhere"}, headers=ana).status_code == 404
    team_feed = ok(client.post(f"{API}/calendar-tokens", json={"team": "Payments"}, headers=ana), 201)
    assert team_feed["name"] == "team Payments" and team_feed["person_id"] is None
    # an org admin may not hand out a team's feed (issue #11, leak 3); the lead makes a second one
    assert client.post(f"{API}/calendar-tokens", json={"team": "Payments"}).status_code == 403
    second = ok(client.post(f"{API}/calendar-tokens", json={"team": "Payments"}, headers=ana), 201)
    path = team_feed["url"].split("testserver", 1)[1]
    assert anon.get(path).headers["content-type"].startswith("text/calendar")
    # the lead lists and revokes the team's feeds; the member sees none of them
    assert {t["id"] for t in ok(client.get(f"{API}/calendar-tokens", headers=ana))} == {
        team_feed["id"],
        second["id"],
    }
    assert ok(client.get(f"{API}/calendar-tokens", headers=ben)) == []
    assert client.delete(f"{API}/calendar-tokens/{team_feed['id']}", headers=ben).status_code == 404
    ok(client.delete(f"{API}/calendar-tokens/{second['id']}", headers=ana))
    assert anon.get(path).status_code == 200
    ok(client.delete(f"{API}/calendar-tokens/{team_feed['id']}"))  # an org admin cuts a feed off
    assert anon.get(path).status_code == 404

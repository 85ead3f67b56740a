"""Correcting a guardrail (its text, owner, expiry) and a recognition (its note, or deleting it):
who may, the rules that stay, and the history rows that name who."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.access.viewer import viewer_for
from lessonloop.errors import Conflict, Invalid, NotFound, PermissionDenied
from lessonloop.followthrough import recognition as rec
from lessonloop.followthrough.guardrails import add_guardrail, edit_guardrail, get_guardrail, retire_guardrail
from lessonloop.people.service import add_member, add_person, get_person
from lessonloop.store.history import HistoryEntry, list_history
from tests.factories import SYSTEM, failure, team_with_people

TODAY = dt.date(2030, 3, 1)


def _viewer(session: Session, handle: str):  # type: ignore[no-untyped-def]
    return viewer_for(session, get_person(session, handle, viewer=SYSTEM))


def _guardrail(session: Session) -> int:
    team_with_people(session)
    add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    return add_guardrail(
        session,
        title="No Friday deploys",
        owner="ben",
        expires_on="2030-03-20",
        rollback_plan="Deploy again",
        team="Payments",
        today=TODAY,
        viewer=SYSTEM,
    ).id


def test_the_owner_corrects_a_guardrail_in_one_history_row(session: Session) -> None:
    gid = _guardrail(session)
    changes = {"title": "No deploys on Fridays", "owner": "ana", "expires_on": "2030-04-01"}
    edit_guardrail(session, gid, changes, today=TODAY, viewer=_viewer(session, "ben"))
    g = get_guardrail(session, gid, viewer=SYSTEM)
    assert (g.title, g.owner.handle, g.expires_on) == ("No deploys on Fridays", "ana", dt.date(2030, 4, 1))
    last = list_history(session, "guardrail", gid)[-1]
    assert (last.action, last.actor) == ("update", "tester")
    assert set(last.changes) >= {"title", "owner_id", "expires_on"}


def test_a_guardrail_edit_keeps_the_short_term_rule_and_refuses_others(session: Session) -> None:
    gid = _guardrail(session)
    with pytest.raises(Invalid) as err:
        edit_guardrail(session, gid, {"expires_on": "2032-01-01"}, today=TODAY, viewer=SYSTEM)
    assert err.value.field == "expires_on"
    with pytest.raises(PermissionDenied):  # not its owner, not in its team
        edit_guardrail(session, gid, {"title": "x"}, today=TODAY, viewer=_viewer(session, "cy"))
    with pytest.raises(Conflict):  # past its expiry: renew it (logged with a reason) instead
        edit_guardrail(session, gid, {"expires_on": "2030-04-30"}, today=dt.date(2030, 3, 25), viewer=SYSTEM)
    retire_guardrail(session, gid, reason="done", viewer=SYSTEM)
    with pytest.raises(Conflict):
        edit_guardrail(session, gid, {"title": "x"}, today=TODAY, viewer=SYSTEM)


def _recognition(session: Session, **kw: object) -> int:
    team_with_people(session)
    add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    return rec.recognise(
        session, person="ben", kind="win", by="ana", note="Shipped it", viewer=SYSTEM, **kw
    ).id  # type: ignore[arg-type]


def test_its_author_corrects_a_recognition_and_an_org_admin_may_delete_it(session: Session) -> None:
    rid = _recognition(session)
    rec.edit_recognition(
        session, rid, note="Said plainly the check was skipped", viewer=_viewer(session, "ana")
    )
    last = list_history(session, "recognition", rid)[-1]
    assert (last.actor, last.changes["note"]) == (
        "tester",
        ["Shipped it", "Said plainly the check was skipped"],
    )
    for handle in ("ben", "cy"):  # its subject and a bystander see it but may not change it
        with pytest.raises(PermissionDenied):
            rec.edit_recognition(session, rid, note="x", viewer=_viewer(session, handle))
        with pytest.raises(PermissionDenied):
            rec.delete_recognition(session, rid, viewer=_viewer(session, handle))
    org = add_person(session, name="Org Admin", handle="org", viewer=SYSTEM)
    from lessonloop.accounts.models import Account

    session.add(Account(person=org, password_hash="!", is_admin=True, failed_logins=0))
    session.flush()
    rec.delete_recognition(session, rid, viewer=_viewer(session, "org"))
    assert rec.list_recognitions(session, viewer=SYSTEM) == []
    gone = session.scalars(
        select(HistoryEntry).where(HistoryEntry.record_type == "recognition", HistoryEntry.record_id == rid)
    ).all()[-1]
    assert gone.action == "delete" and gone.changes["note"][0] == "Said plainly the check was skipped"


def test_a_recognition_for_a_hidden_failure_is_not_found(session: Session) -> None:
    team_with_people(session)
    cy = add_person(session, name="Cy Park", handle="cy", viewer=SYSTEM)
    add_member(session, team="Payments", person=cy, role="member", viewer=SYSTEM)
    private = failure(session, visibility="private", reporter="ana", team="Payments")
    rid = rec.recognise(session, person="ben", kind="win", by="cy", failure_id=private.id, viewer=SYSTEM).id
    with pytest.raises(NotFound):  # cy gave it, but may not see the private failure it is for
        rec.edit_recognition(session, rid, note="x", viewer=_viewer(session, "cy"))

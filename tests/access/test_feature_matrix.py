"""The permission matrix per feature: role changes, calendar feeds, reflection sessions, digests,
checklists and guardrails, over the nine viewer kinds of ``tests/access/world.py``, through the
real API and pages, on SQLite and PostgreSQL (the ``db`` fixture).

``test_route_matrix.py`` asks "may this viewer call this route on this record?"; this file asks
"what does each viewer get out of a feature?" — which roles a change grants, which events a feed
carries, who hears of a reflection session, which lessons a digest lists. The expected answers
come from the rules as written (docs/security.md and the hand-written tables of
``test_matrix.py``), never from what the code answers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import delete, select

from lessonloop.accounts.service import issue_token, start_session
from lessonloop.actions.service import add_action
from lessonloop.api.deps import SESSION_COOKIE
from lessonloop.app import create_app
from lessonloop.calendars import service as calendars
from lessonloop.experiments.service import add_experiment
from lessonloop.failures.models import Failure
from lessonloop.followthrough.checklists import create_checklist
from lessonloop.followthrough.digests import last_week_ending, week_window
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.models import Checklist, ChecklistRevision
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.config import WorkerConfig
from lessonloop.notifications.models import Notification
from lessonloop.people.models import Membership
from lessonloop.people.service import add_member, add_person, add_team
from lessonloop.store.engine import Database
from lessonloop.web.security import csrf_token_for
from lessonloop.worker.models import ReflectionSession
from lessonloop.worker.reflections import propose_session
from lessonloop.worker.runner import run_once
from tests.access.test_matrix import SEE_TEAM_FAILURE, SEE_TEAMLESS_FAILURE
from tests.access.world import VIEWER_KINDS, build_world
from tests.factories import SYSTEM, failure

API = "/api/v1"
VISIBILITIES = ("private", "team", "org")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()

SEES = {(kind, vis): sees for kind, vis, sees in SEE_TEAM_FAILURE}
SEES_TEAMLESS = {(kind, vis): sees for kind, vis, sees in SEE_TEAMLESS_FAILURE}
#: Each kind's role in team Payments (the failures' team); the others are in no role there.
PAYMENTS_ROLE = {"member": "member", "lead": "lead", "team_admin": "admin"}
IN_PAYMENTS = frozenset(PAYMENTS_ROLE)


# -- the site: the world, signed in through the API and the pages --------------------------------


@dataclass
class Site:
    db: Database
    client: TestClient
    people: dict[str, int]  # kind → person id
    failures: dict[tuple[str, bool], int]  # (visibility, has_team) → failure id
    titles: dict[int, str]  # failure id → title
    team: int  # Payments
    other_team: int  # Search
    empty_team: int  # Empty: nobody in it
    tokens: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def api(self, kind: str, method: str, path: str, body: Any = None, **params: str) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[kind]}"}
        return self.client.request(method, API + path, json=body, headers=headers, params=params or None)

    def web(self, kind: str, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        sid = self.sessions[kind]
        headers = {"Cookie": f"{SESSION_COOKIE}={sid}"}
        if method == "GET":
            return self.client.get(path, headers=headers, follow_redirects=False)
        data = {"csrf_token": csrf_token_for(sid), **(form or {})}
        return self.client.post(path, data=data, headers=headers, follow_redirects=False)

    def failure(self, vis: str, *, has_team: bool = True) -> int:
        return self.failures[(vis, has_team)]


@pytest.fixture
def site(db: Database) -> Iterator[Site]:
    with db.unit(actor="setup") as s:
        world = build_world(s)
        empty = add_team(s, name="Empty", viewer=SYSTEM)
        add_person(s, name="Bystander", handle="bystander", viewer=SYSTEM)  # to recognise
        site = Site(
            db=db,
            client=None,  # type: ignore[arg-type]  # set below, once the records are committed
            people={k: p.id for k, p in world.people.items()},
            failures={key: f.id for key, f in world.failures.items()},
            titles={f.id: f.title for f in world.failures.values()},
            team=world.team.id,
            other_team=world.other_team.id,
            empty_team=empty.id,
        )
        for kind, person in world.people.items():
            site.tokens[kind] = issue_token(s, person, "feature-matrix")[1]
            site.sessions[kind] = start_session(s, person)
    with TestClient(create_app(database=db)) as client:
        site.client = client
        yield site


def outcome(response: Any) -> str:
    code = response.status_code
    return "ok" if code < 300 or code == 303 else str(code)


# -- (a) role changes through POST /api/v1/teams/{team}/members ----------------------------------

#: change → (team, subject kind or None for the actor themself, new role)
ROLE_CHANGES = {
    "add a member": ("payments", "outsider", "member"),
    "member to admin": ("payments", "member", "admin"),
    "member to lead": ("payments", "member", "lead"),
    "demote the lead": ("payments", "lead", "member"),
    "self-promotion to lead": ("payments", None, "lead"),
    "self-promotion to admin": ("payments", None, "admin"),
    "first lead of a team with none": ("empty", "outsider", "lead"),
    "oneself first lead of a team with none": ("empty", None, "lead"),
}


def role_change_rule(actor: str, change: str) -> str:
    """docs/security.md, "The directory and the rest": nobody changes their own role or adds themself;
    a lead is appointed (or a lead's role changed) only by a lead of the team, except that an org
    admin appoints the first lead of a team with none; other changes: org admins and the team's
    leads and admins."""
    team, subject, role = ROLE_CHANGES[change]
    subject = subject or actor
    actor_role = PAYMENTS_ROLE.get(actor) if team == "payments" else None
    current = PAYMENTS_ROLE.get(subject) if team == "payments" else None
    if subject == actor:
        return "403"
    if "lead" in (role, current):
        if actor_role == "lead" or (actor == "admin" and team == "empty" and role == "lead"):
            return "ok"
        return "403"
    return "ok" if actor == "admin" or actor_role in {"lead", "admin"} else "403"


def _roles(site: Site) -> dict[tuple[int, int], str]:
    with site.db.unit() as s:
        return {(m.team_id, m.person_id): m.role for m in s.scalars(select(Membership))}


def _restore(site: Site, roles: dict[tuple[int, int], str]) -> None:
    """Put every membership back as it was before a change went through."""
    with site.db.unit(actor="setup") as s:
        s.execute(delete(Membership))
        s.add_all(Membership(team_id=t, person_id=p, role=r) for (t, p), r in roles.items())


def test_role_changes_over_the_api(site: Site) -> None:
    before = _roles(site)
    private = site.failure("private")
    wrong = []
    for actor in VIEWER_KINDS:
        for change, (team, subject, role) in ROLE_CHANGES.items():
            subject = subject or actor
            team_id = site.team if team == "payments" else site.empty_team
            answer = site.api(
                actor,
                "POST",
                f"/teams/{team_id}/members",
                {"person": subject.replace("_", "-"), "role": role},
            )
            expected = role_change_rule(actor, change)
            key = (team_id, site.people[subject])
            after = _roles(site)
            if outcome(answer) != expected:
                wrong.append(
                    f"{actor} × {change}: expected {expected}, got {answer.status_code} {answer.text[:120]}"
                )
            elif expected == "ok" and after.get(key) != role:
                wrong.append(f"{actor} × {change}: answered ok but the role is {after.get(key)}")
            elif expected != "ok" and after != before:
                wrong.append(f"{actor} × {change}: refused but the memberships changed")
            # A refused self-promotion opens nothing: the private failure is still a 404.
            if expected != "ok" and subject == actor and not SEES[(actor, "private")]:
                seen = site.api(actor, "GET", f"/failures/{private}")
                if seen.status_code != 404:
                    wrong.append(f"{actor} × {change}: then sees the private failure ({seen.status_code})")
            if after != before:
                _restore(site, before)
    assert wrong == []


def test_the_role_change_rule_table_is_not_vacuous() -> None:
    """Each change is allowed for someone and refused for someone — except changing one's own
    role, and demoting the team's only lead (only a lead may, and that lead is the subject)."""
    for change in ROLE_CHANGES:
        answers = {role_change_rule(actor, change) for actor in VIEWER_KINDS}
        if ROLE_CHANGES[change][1] is None or change == "demote the lead":
            assert answers == {"403"}, change
        else:
            assert answers == {"ok", "403"}, change


# -- (b) calendar feeds ---------------------------------------------------------------------------


def _summaries(ics: str) -> set[str]:
    return {str(ev.get("SUMMARY", "")) for ev in Calendar.from_ical(ics).walk("VEVENT")}


def _feed_records(site: Site) -> dict[str, int | None]:
    """On each Payments failure: an action (with an experiment) owned by each kind, and a proposed
    reflection session (its facilitator: the team's lead, the first who may see every one)."""
    facilitators: dict[str, int | None] = {}
    with site.db.unit(actor="setup") as s:
        for vis in VISIBILITIES:
            fid = site.failure(vis)
            for kind in VIEWER_KINDS:
                action = add_action(
                    s,
                    failure_id=fid,
                    title=f"{vis} action of {kind}",
                    owner=site.people[kind],
                    due_date=TODAY + dt.timedelta(days=5),
                    viewer=SYSTEM,
                )
                add_experiment(
                    s,
                    action_id=action.id,
                    hypothesis=f"{vis} experiment of {kind}",
                    metric="slips",
                    comparator="<=",
                    threshold=1,
                    start_date=TODAY,
                    end_date=TODAY + dt.timedelta(days=9),
                    viewer=SYSTEM,
                )
            f = s.get(Failure, fid)
            assert f is not None
            row = propose_session(s, f, when=TODAY + dt.timedelta(days=3), viewer=SYSTEM)
            facilitators[vis] = row.facilitator_id
    return facilitators


def _expected_team_feed(site: Site) -> set[str]:
    """A team feed: the dates of what a plain member of the team may see, whoever made it."""
    out = set()
    for vis in VISIBILITIES:
        if SEES[("member", vis)]:
            out |= {f"Due: {vis} action of {k}" for k in VIEWER_KINDS}
            out |= {f"Experiment ends: {vis} experiment of {k}" for k in VIEWER_KINDS}
            out.add(f"Reflection session: {site.titles[site.failure(vis)]}")
    return out


def _expected_personal_feed(site: Site, kind: str, facilitator: dict[str, int | None]) -> set[str]:
    """A person's feed: their own actions and experiments, and the reflection sessions of their
    teams or that they facilitate — each only on a failure they may see."""
    out = set()
    for vis in VISIBILITIES:
        if not SEES[(kind, vis)]:
            continue
        out |= {f"Due: {vis} action of {kind}", f"Experiment ends: {vis} experiment of {kind}"}
        if kind in IN_PAYMENTS or facilitator[vis] == site.people[kind]:
            out.add(f"Reflection session: {site.titles[site.failure(vis)]}")
    return out


def _loop_events(summaries: set[str]) -> set[str]:
    """Leave out the review-date events ("Review: did it work?"), which follow the due ones."""
    return {s for s in summaries if not s.startswith("Review: ")}


def test_calendar_feeds_create_list_revoke_and_contents(site: Site) -> None:
    facilitator = _feed_records(site)
    assert set(facilitator.values()) == {site.people["lead"]}
    wrong = []
    team_feed: dict[str, Any] = {}
    for kind in VIEWER_KINDS:
        # a team's feed: made by its leads and team-role admins only (403 for org admins too)
        made = site.api(kind, "POST", "/calendar-tokens", {"team": site.team})
        expected = "ok" if kind in {"lead", "team_admin"} else "403"
        if outcome(made) != expected:
            wrong.append(f"{kind} makes the team feed: expected {expected}, got {made.status_code}")
        if made.status_code == 201:
            team_feed[kind] = made.json()
        # one's own feed: everyone; it carries only what they may see
        own = site.api(kind, "POST", "/calendar-tokens", {})
        assert own.status_code == 201, own.text
        ics = site.client.get(f"/calendar/{own.json()['token']}.ics")
        assert ics.status_code == 200
        got, want = _loop_events(_summaries(ics.text)), _expected_personal_feed(site, kind, facilitator)
        if got != want:
            wrong.append(f"{kind}'s own feed: missing {sorted(want - got)}, extra {sorted(got - want)}")
    for maker, made in team_feed.items():
        ics = site.client.get(f"/calendar/{made['token']}.ics")
        got = _loop_events(_summaries(ics.text))
        if got != _expected_team_feed(site):
            wrong.append(f"team feed by {maker}: {sorted(got ^ _expected_team_feed(site))}")
    # listing: one's own feeds, and the team's for its leads, admins and org admins
    team_ids = {made["id"] for made in team_feed.values()}
    for kind in VIEWER_KINDS:
        listed = {row["id"]: row for row in site.api(kind, "GET", "/calendar-tokens").json()}
        sees_team = {i for i in listed if listed[i]["team_id"] is not None}
        others = {i for i, row in listed.items() if row["person_id"] not in (None, site.people[kind])}
        expected_team = team_ids if kind in {"lead", "team_admin", "admin"} else set()
        if sees_team != expected_team or others:
            wrong.append(f"{kind} lists team feeds {sorted(sees_team)}, others' feeds {sorted(others)}")
    # revoking: the team's leads and admins, and org admins; a 404 for the rest
    for kind in VIEWER_KINDS:
        feed = team_feed["lead"]
        answer = site.api(kind, "DELETE", f"/calendar-tokens/{feed['id']}")
        expected = "ok" if kind in {"lead", "team_admin", "admin"} else "404"
        if outcome(answer) != expected:
            wrong.append(f"{kind} revokes the team feed: expected {expected}, got {answer.status_code}")
    assert site.client.get(f"/calendar/{team_feed['lead']['token']}.ics").status_code == 404
    assert wrong == []


# -- (c) reflection sessions from the worker job --------------------------------------------------


def test_reflection_sessions_invite_and_notify_only_who_may_see_the_failure(site: Site) -> None:
    """The job proposes a session for every high failure: the facilitator is the first of the
    team's leads, its admins, the reporter, the people involved who may see the failure; only
    they are told; the session is in the calendars of the team and facilitator who may see it."""
    severe: dict[int, tuple[str, str | None]] = {}  # failure id → (visibility, team or None)
    with site.db.unit(actor="setup") as s:
        ops = add_team(s, name="Ops", viewer=SYSTEM)  # only a team-role admin: no lead
        ops_admin = add_person(s, name="Ops Admin", handle="ops-admin", viewer=SYSTEM)
        add_member(s, team=ops, person=ops_admin, role="admin", viewer=SYSTEM)
        for vis in VISIBILITIES:
            for team in ("payments", None, "ops"):
                f = failure(
                    s,
                    title=f"Severe {vis} failure of {team or 'no team'}",
                    visibility=vis,
                    severity="high",
                    team={"payments": site.team, "ops": ops.id, None: None}[team],
                    reporter=site.people["reporter"],
                    people=[site.people["involved"]],
                    detected_at=NOW - dt.timedelta(hours=1),
                )
                severe[f.id] = (vis, team)
                site.titles[f.id] = f.title
        site.people["ops_admin"] = ops_admin.id
    run_once(
        site.db, now=NOW, config=WorkerConfig(reflection_within_days=3), only_jobs={"reflection-sessions"}
    )

    def sees(kind: str, fid: int) -> bool:
        vis, team = severe[fid]
        if team == "payments":
            return SEES.get((kind, vis), vis == "org")  # ops_admin: in no role in Payments
        if team is None:
            return SEES_TEAMLESS.get((kind, vis), vis != "private")
        # Ops: the reporter and the people involved; its admin (and org admins) for team and org
        return (
            kind in {"reporter", "involved"}
            or vis == "org"
            or (vis == "team" and kind in {"ops_admin", "admin"})
        )

    kinds = (*VIEWER_KINDS, "ops_admin")
    team_of = {"payments": IN_PAYMENTS, "ops": {"ops_admin"}, None: set()}
    candidates = {"payments": ["lead", "team_admin"], "ops": ["ops_admin"], None: []}
    with site.db.unit() as s:
        sessions = {r.failure_id: r for r in s.scalars(select(ReflectionSession))}
        notes = list(s.scalars(select(Notification)))
        # a personal feed for everyone (ops_admin has no API token): read through the real route
        feeds = {k: calendars.create_token(s, person=site.people[k], viewer=SYSTEM)[1] for k in kinds}
    by_person = {pid: kind for kind, pid in site.people.items()}
    runs = {fid: by_person.get(r.facilitator_id or -1) for fid, r in sessions.items()}
    wrong = []
    for fid, (_vis, team) in severe.items():
        order = [*candidates[team], "reporter", "involved"]
        expected = next(k for k in order if sees(k, fid))
        if runs.get(fid) != expected:
            wrong.append(f"{site.titles[fid]}: facilitator {runs.get(fid)}, expected {expected}")
    told = {(by_person[n.person_id], n.dedupe_key) for n in notes if n.kind == "reflection"}
    expected_told = {(runs[f], f"reflection:failure:{f}") for f in severe}
    if told != expected_told:
        wrong.append(f"told {sorted(map(str, told ^ expected_told))}")
    for n in notes:  # no notification names a failure its recipient may not see
        for fid in severe:
            if site.titles[fid] in n.subject + n.body_text and not sees(by_person[n.person_id], fid):
                wrong.append(f"{by_person[n.person_id]} is told of {site.titles[fid]}")
    # invited: in the calendar of the team's members and the facilitator, if they may see it
    for kind in kinds:
        ics = site.client.get(f"/calendar/{feeds[kind]}.ics").text
        shown = {t for t in _summaries(ics) if t.startswith("Reflection")}
        want = {
            f"Reflection session: {site.titles[fid]}"
            for fid, (_vis, team) in severe.items()
            if sees(kind, fid) and (kind in team_of[team] or runs.get(fid) == kind)
        }
        if shown != want:
            wrong.append(f"{kind}'s calendar: missing {sorted(want - shown)}, extra {sorted(shown - want)}")
    assert wrong == []


# -- (d) the team digest: API (json, md, html) and the pages (md, html) ----------------------------

DIGEST_READERS = frozenset({"member", "lead", "team_admin", "admin"})  # the rest: 404


def _digest_records(site: Site) -> dt.date:
    """Last week, on each Payments failure: a lesson for the team, a repeat (of a failure of the
    same visibility) and an overdue action. One more repeat, org-wide, of the private failure."""
    week_ending = last_week_ending(TODAY)
    start, _end = week_window(week_ending)
    during = start + dt.timedelta(days=2)
    with site.db.unit(actor="setup") as s:
        for vis in VISIBILITIES:
            fid = site.failure(vis)
            create_lesson(
                s,
                title=f"digest lesson {vis}",
                learned="Date it",
                failures=[fid],
                audience=[site.team],
                published_at=during,
                viewer=SYSTEM,
            )
            repeat = failure(
                s, title=f"digest repeat {vis}", visibility=vis, team=site.team, detected_at=during
            )
            repeat.repeat_of_id = fid
            action = add_action(
                s,
                failure_id=fid,
                title=f"digest overdue {vis}",
                owner=site.people["member"],
                due_date=TODAY + dt.timedelta(days=1),
                viewer=SYSTEM,
            )
            action.due_date = during.date()  # overdue as the week closed
        of_private = failure(
            s, title="digest repeat of private", visibility="org", team=site.team, detected_at=during
        )
        of_private.repeat_of_id = site.failure("private")
    return week_ending


def _expected_digest(kind: str) -> set[str]:
    """Exactly what both a plain member of the team and the reader may see. A lesson for the team
    is seen by its members (the audience) and by whoever may see its failure."""
    out = {"digest repeat of private"}  # an org failure: listed, its original never named
    for vis in VISIBILITIES:
        lesson_seen = kind in IN_PAYMENTS or SEES[(kind, vis)]
        if lesson_seen:
            out.add(f"digest lesson {vis}")
        if SEES[("member", vis)] and SEES[(kind, vis)]:
            out |= {f"digest repeat {vis}", f"digest overdue {vis}"}
    return out


def _listed(data: dict[str, Any]) -> set[str]:
    return (
        {x["title"] for x in data["lessons"]}
        | {x["title"] for x in data["repeats"]}
        | {x["title"] for x in data["overdue_actions"]}
    )


def test_the_team_digest_lists_what_a_plain_member_and_its_reader_may_see(site: Site) -> None:
    week_ending = _digest_records(site).isoformat()
    secret = site.titles[site.failure("private")]
    every_title = _expected_digest("lead") | {f"digest repeat {v}" for v in VISIBILITIES} | {secret}
    wrong = []
    for kind in VIEWER_KINDS:
        answers = {
            "api json": site.api(kind, "GET", f"/teams/{site.team}/digest", week_ending=week_ending),
            "api md": site.api(
                kind, "GET", f"/teams/{site.team}/digest", week_ending=week_ending, format="md"
            ),
            "api html": site.api(
                kind, "GET", f"/teams/{site.team}/digest", week_ending=week_ending, format="html"
            ),
            "page md": site.web(kind, "GET", f"/teams/{site.team}/digest.md?week_ending={week_ending}"),
            "page html": site.web(kind, "GET", f"/teams/{site.team}/digest.html?week_ending={week_ending}"),
        }
        want = _expected_digest(kind)
        for how, answer in answers.items():
            expected = "ok" if kind in DIGEST_READERS else "404"
            if outcome(answer) != expected:
                wrong.append(f"{kind} {how}: expected {expected}, got {answer.status_code}")
                continue
            if expected != "ok":
                continue
            if how == "api json":
                data = json.loads(answer.text)
                got = _listed(data)
                named = {r["repeat_of_title"] for r in data["repeats"]} - {None}
                if any(secret in (t or "") for t in named):
                    wrong.append(f"{kind} {how}: names the private failure as a repeat's original")
            else:
                got = {t for t in every_title if t in answer.text}
            if got != want:
                wrong.append(f"{kind} {how}: missing {sorted(want - got)}, extra {sorted(got - want)}")
    assert wrong == []


# -- (e) checklists through the pages (there is no checklist API) ---------------------------------


def checklist_rule(kind: str, vis: str) -> str:
    """Checklists are org-wide: revised by org admins only (the failure page's form comes back
    with a 422 for anyone else); a revision from a failure one may not see is a 404."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind == "admin" else "422"


def test_checklists_are_created_and_revised_by_org_admins_only(site: Site) -> None:
    with site.db.unit(actor="setup") as s:
        create_checklist(s, name="Kickoff", items=["Name an owner"], viewer=SYSTEM)
    wrong = []
    for kind in VIEWER_KINDS:
        made = site.web(
            kind,
            "POST",
            "/checklists",
            {"name": f"List of {kind}", "kind": "checklist", "items": "One", "reason": "r"},
        )
        expected = "ok" if kind == "admin" else "403"  # a new list: refused outright
        if outcome(made) != expected:
            wrong.append(f"{kind} creates: expected {expected}, got {made.status_code}")
        for vis in VISIBILITIES:
            fid = site.failure(vis)
            form = {"checklist": "Kickoff", "items": f"Name an owner\n{kind} {vis}", "reason": "r"}
            answer = site.web(kind, "POST", f"/failures/{fid}/checklist-revisions", form)
            if outcome(answer) != checklist_rule(kind, vis):
                wrong.append(
                    f"{kind} × {vis} revises: expected {checklist_rule(kind, vis)}, got {answer.status_code}"
                )
    with site.db.unit() as s:
        names = set(s.scalars(select(Checklist.name)))
        revisions = list(s.scalars(select(ChecklistRevision.items)))
    assert names == {"Kickoff", "List of admin"}
    changed_by = {
        item.split()[0] for items in revisions for item in items if item != "Name an owner" and item != "One"
    }
    assert changed_by == {"admin"}
    assert wrong == []


# -- guardrails: a linked failure is named only to who may see it ----------------------------------


def test_a_guardrail_names_its_failure_only_to_who_may_see_it(site: Site) -> None:
    """The guardrails page (and a refused renew or retire, which shows it again) links a guardrail
    to its failure by id and title only for a viewer who may see that failure."""
    private = site.failure("private")
    secret = site.titles[private]
    with site.db.unit(actor="setup") as s:
        rail = add_guardrail(
            s,
            title="Two approvers",
            owner=site.people["member"],
            expires_on=TODAY + dt.timedelta(days=30),
            rollback_plan="Drop it",
            team=site.team,
            failure_id=private,
            viewer=SYSTEM,
        )
    wrong = []
    for kind in VIEWER_KINDS:
        pages = {
            "list": site.web(kind, "GET", "/guardrails"),
            "refused renew": site.web(
                kind, "POST", f"/guardrails/{rail.id}/renew", {"expires_on": "", "reason": ""}
            ),
            "refused retire": site.web(kind, "POST", f"/guardrails/{rail.id}/retire", {"reason": ""}),
        }
        for how, page in pages.items():
            assert page.status_code in (200, 403, 422), (kind, how, page.status_code)
            named = secret in page.text or re.search(rf'href="/failures/{private}"', page.text) is not None
            # a refusal that is not the list again (403) need not name it; nothing may leak it
            leaks = named and not SEES[(kind, "private")]
            if leaks or (page.status_code != 403 and named != SEES[(kind, "private")]):
                wrong.append(f"{kind} {how} ({page.status_code}): names the private failure: {named}")
    assert wrong == []


def test_guardrails_because_of_a_failure_one_may_not_see_is_a_404(site: Site) -> None:
    """The service behind "what changed because of failure #N" answers a viewer who may not see
    the failure as if it did not exist, not with the guardrails it prompted."""
    from lessonloop.access import viewer_for
    from lessonloop.errors import NotFound
    from lessonloop.followthrough.guardrails import guardrails_because_of

    private = site.failure("private")
    with site.db.unit(actor="setup") as s:
        add_guardrail(
            s,
            title="Two approvers",
            owner=site.people["member"],
            expires_on=TODAY + dt.timedelta(days=30),
            rollback_plan="Drop it",
            failure_id=private,
            viewer=SYSTEM,
        )
    for kind in VIEWER_KINDS:
        with site.db.unit() as s:
            viewer = viewer_for(s, site.people[kind])
            if SEES[(kind, "private")]:
                assert [g.title for g in guardrails_because_of(s, private, viewer=viewer)] == [
                    "Two approvers"
                ]
            else:
                with pytest.raises(NotFound):
                    guardrails_because_of(s, private, viewer=viewer)


# -- recognition: a hidden failure is refused like a missing one (no existence oracle) -------------


def _field_errors(page: str, *ids: int) -> list[str]:
    """The form's field errors, each failure id in them replaced by ``N``."""
    errors = re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', page, re.S)
    out = []
    for error in errors:
        for fid in ids:
            error = error.replace(str(fid), "N")
        out.append(error)
    return out


def test_recognition_for_a_failure_one_may_not_see_reads_like_a_missing_one(site: Site) -> None:
    """A failure one may not see is refused in the form (422 on ``failure_id``) with the same
    words as an id nobody has: the answer must not tell a hidden failure from a missing one."""
    missing = max(site.failures.values()) + 1000
    wrong = []
    for kind in VIEWER_KINDS:
        for page in ("/people/bystander/recognition", f"/teams/{site.team}/recognition"):
            form = {"person": "bystander", "kind": "win", "note": "n"}
            absent = site.web(kind, "POST", page, {**form, "failure_id": str(missing)})
            assert absent.status_code == 422 and _field_errors(absent.text, missing), absent.text[-500:]
            for vis in VISIBILITIES:
                fid = site.failure(vis)
                answer = site.web(kind, "POST", page, {**form, "failure_id": str(fid)})
                expected = "ok" if SEES[(kind, vis)] else "422"
                if outcome(answer) != expected:
                    wrong.append(f"{kind} × {vis} {page}: expected {expected}, got {answer.status_code}")
                elif expected == "422" and (
                    _field_errors(answer.text, fid) != _field_errors(absent.text, missing)
                    or site.titles[fid] in answer.text
                ):
                    wrong.append(
                        f"{kind} × {vis} {page}: {_field_errors(answer.text, fid)} "
                        f"≠ {_field_errors(absent.text, missing)}"
                    )
    assert wrong == []

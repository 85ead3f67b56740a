"""The permission matrix over every route that takes a record id, API and web, on both backends.

``test_matrix.py`` checks the rules (predicates and SQL); this checks that every route applies
them. Each route that names a record in its path has a :class:`Probe` in :data:`PROBES`: how to
call it for one record, and the rule its answer must follow for each kind of viewer
(``tests/access/world.py``'s nine) and each visibility of the record (private, team, org). An
answer is one of ``ok`` (2xx or a 303 redirect), ``403`` or ``404``.

:func:`test_every_route_with_a_record_id_is_in_the_matrix` enumerates the app's routes and fails
when one that takes an id has neither a probe nor an entry in :data:`COVERED_ELSEWHERE`: a new
route cannot be added without saying who may call it.

One world per backend for the whole module (building it per test would take minutes). A write
expected to succeed runs on a fresh copy of the records (:meth:`HttpWorld.fresh`), so it cannot
change what the next cell sees — unless it only adds a record beside them (:data:`SHARED_WRITES`);
a refused write runs on the shared records. What each viewer gets *out of* a feature (feeds,
digests, role changes, reflection sessions) is ``test_feature_matrix.py``'s.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.accounts.service import issue_token, start_session
from lessonloop.actions.models import Action
from lessonloop.api.deps import SESSION_COOKIE
from lessonloop.app import create_app
from lessonloop.calendars import service as calendars
from lessonloop.coaching.service import start_plan, write_note
from lessonloop.escalations.models import Escalation
from lessonloop.experiments.service import add_experiment, record_observation
from lessonloop.followthrough.checklists import create_checklist
from lessonloop.followthrough.guardrails import add_guardrail
from lessonloop.followthrough.recognition import recognise
from lessonloop.integrations.webhooks.service import add_endpoint
from lessonloop.lessons.service import create_lesson
from lessonloop.notifications.service import enqueue
from lessonloop.people.models import Person
from lessonloop.people.service import add_person
from lessonloop.settings import Settings
from lessonloop.store.engine import Database
from lessonloop.web.security import csrf_token_for
from lessonloop.worker.reflections import propose_session
from tests.access.test_matrix import EDIT_TEAM_FAILURE, SEE_TEAM_FAILURE
from tests.access.world import VIEWER_KINDS, build_world
from tests.conftest import _empty_pg
from tests.factories import SYSTEM, failure, reviewed

API = "/api/v1"
VISIBILITIES = ("private", "team", "org")
TODAY = dt.date.today()
SOON = (TODAY + dt.timedelta(days=20)).isoformat()

# -- the rules, from the hand-written tables of test_matrix.py ------------------------------------

SEES = {(kind, vis): sees for kind, vis, sees in SEE_TEAM_FAILURE}
EDITS = {(kind, vis): edits for kind, vis, edits in EDIT_TEAM_FAILURE}
Rule = Callable[[str, str], str]


def see(kind: str, vis: str) -> str:
    """A record of a failure: shown to whoever may see the failure, 404 for the rest."""
    return "ok" if SEES[(kind, vis)] else "404"


def edit(kind: str, vis: str) -> str:
    """Change a failure (or its review, actions, lessons): 404 unseen, 403 seen but not editable."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if EDITS[(kind, vis)] else "403"


def work(kind: str, vis: str) -> str:
    """Work on an action owned by ``member``: its owner (while they may see it) and the editors."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind == "member" or EDITS[(kind, vis)] else "403"


def anyone(kind: str, vis: str) -> str:
    """The directory (people, teams) and other records without a failure: everyone signed in."""
    return "ok"


def escalation(kind: str, vis: str) -> str:
    """An escalation of team Payments listing one failure: seen by who sees the failure; changed by
    an org admin, the team's leads and admins (it has no owner)."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind in {"admin", "lead", "team_admin"} else "403"


def guardrail(kind: str, vis: str) -> str:
    """A guardrail of team Payments owned by ``member``: decided by its owner, the team's leads and
    admins, and org admins (not by failure visibility)."""
    return "ok" if kind in {"admin", "lead", "team_admin", "member"} else "403"


def checklist_revision(kind: str, vis: str) -> str:
    """An org-wide checklist, revised from a failure's page: 404 for a failure one may not see;
    then org admins only — anyone else gets the form back (422) saying only org admins may."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind == "admin" else "422"


def recognition(kind: str, vis: str) -> str:
    """Recognising someone for a failure: anyone signed in, for a failure they may see; a hidden
    failure is refused in the form (422 on its ``failure_id`` field), like an id nobody has."""
    return "ok" if SEES[(kind, vis)] else "422"


def org_admin(kind: str, vis: str) -> str:
    """Change an org-wide setting (a review template of a failure kind): org admins only, 403 else."""
    return "ok" if kind == "admin" else "403"


def recognition_change(kind: str, vis: str) -> str:
    """Correcting or deleting a recognition ``lead`` gave for the failure: 404 to whoever may not
    see the failure; then its author and org admins, 403 for the rest."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind in {"lead", "admin"} else "403"


def own_or_admin(owner: str) -> Rule:
    """An API token: its owner's; an org admin may revoke anyone's. 404 for the rest."""
    return lambda kind, vis: "ok" if kind in {owner, "admin"} else "404"


def own(owner: str) -> Rule:
    """Something of ``owner``'s own (a notification, a token, a feed): theirs only, 404 for others."""
    return lambda kind, vis: "ok" if kind == owner else "404"


def note_read(kind: str, vis: str) -> str:
    """A coaching note or plan by ``lead`` about ``member``: the two of them, never an org admin."""
    return "ok" if kind in {"lead", "member"} else "404"


def plan_read(kind: str, vis: str) -> str:
    """A development plan ``involved`` wrote for themself: theirs alone (a plan is for someone the
    failure involved, by them or a lead of their team; ``involved`` is in no team)."""
    return "ok" if kind == "involved" else "404"


def plan_start(kind: str, vis: str) -> str:
    """Start a plan for ``involved`` from the failure's page: they may (if they see the failure);
    nobody else leads a team of theirs."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind == "involved" else "403"


def note_delete(kind: str, vis: str) -> str:
    """Deleting the note: its author; its subject may read but not delete it."""
    return {"lead": "ok", "member": "403"}.get(kind, "404")


def digest(kind: str, vis: str) -> str:
    """A team's digest: its members in any role and org admins; 404 for the rest, as if absent.
    (What it lists is the plain-member view: test_feature_matrix.py.)"""
    return "ok" if kind in {"member", "lead", "team_admin", "admin"} else "404"


def run_reflection(kind: str, vis: str) -> str:
    """A reflection session facilitated by ``involved``: run (scheduled, moved, held, noted) by its
    facilitator, the team's leads and admins and org admins — 404 to whoever may not see the
    failure, 403 to the others who may."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind in {"involved", "lead", "team_admin", "admin"} else "403"


def schedule_reflection(kind: str, vis: str) -> str:
    """Planning a failure's reflection session: the team's leads and admins and org admins (there
    is no facilitator yet); 404 unseen, 403 for the others who may see it."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind in {"lead", "team_admin", "admin"} else "403"


def team_feed_revoke(kind: str, vis: str) -> str:
    """Revoking a team's calendar feed: its leads and admins, and org admins (who may not make one)."""
    return "ok" if kind in {"lead", "team_admin", "admin"} else "404"


# -- the world ------------------------------------------------------------------------------------


@dataclass
class Family:
    """One failure of team Payments and everything hanging off it."""

    failure: int
    review: int
    action: int  # owned by ``member``
    experiment: int
    lesson: int  # linked to the failure, no audience, no author
    escalation: int
    plan: int  # by ``involved`` for themself
    reflection: int  # a session on the failure, facilitated by ``involved``


@dataclass
class HttpWorld:
    db: Database
    client: TestClient
    families: dict[str, Family]
    tokens: dict[str, str]  # kind → API bearer token
    sessions: dict[str, str]  # kind → web session id
    ids: dict[str, int] = field(default_factory=dict)  # named records that are not per visibility
    api_tokens: dict[str, int] = field(default_factory=dict)  # kind → id of their API token

    def fresh(self, vis: str) -> Family:
        """A new family for a write that is expected to succeed."""
        with self.db.unit(actor="setup") as s:
            return make_family(s, self.ids["team"], vis, tag="fresh")

    def call(self, kind: str, method: str, path: str, *, web: bool, body: dict[str, Any] | None) -> Any:
        if web:
            sid = self.sessions[kind]
            headers = {"Cookie": f"{SESSION_COOKIE}={sid}"}
            if method == "GET":
                return self.client.get(path, headers=headers, follow_redirects=False)
            data = {"csrf_token": csrf_token_for(sid), **(body or {})}
            return self.client.request(method, path, data=data, headers=headers, follow_redirects=False)
        headers = {"Authorization": f"Bearer {self.tokens[kind]}"}
        if body is not None and FILES in body:  # a multipart upload
            return self.client.request(
                method, API + path, files=body[FILES], headers=headers, follow_redirects=False
            )
        return self.client.request(method, API + path, json=body, headers=headers, follow_redirects=False)


def make_family(s: Session, team_id: int, vis: str, *, tag: str) -> Family:
    f = failure(
        s,
        title=f"{vis} {tag} failure",
        visibility=vis,
        team=team_id,
        reporter="reporter",
        people=["involved"],
        labels=["matrix"],
    )
    review = reviewed(s, f, owner="member", gap_type="skill", gap_justification="new to releases")
    action = s.scalars(select(Action).where(Action.failure_id == f.id)).one()
    experiment = add_experiment(
        s,
        action_id=action.id,
        hypothesis="Dated commitments cut slips",
        metric="slips",
        comparator="<=",
        threshold=1,
        start_date=TODAY.isoformat(),
        end_date=SOON,
        viewer=SYSTEM,
    )
    lesson = create_lesson(s, title=f"{vis} {tag} lesson", learned="Date it", failures=[f.id], viewer=SYSTEM)
    esc = Escalation(
        rule="label",
        subject_key=f"matrix-{vis}-{tag}",
        subject=f"{vis} escalation",
        team_id=team_id,
        support_route="team-lead",
        failure_ids=[f.id],
        count=1,
        window_days=30,
        explanation="matrix",
    )
    s.add(esc)
    plan = start_plan(
        s,
        author="involved",
        review=review.id,
        person="involved",
        goals="Run the checklist solo",
        review_date=SOON,
        viewer=SYSTEM,
    )
    s.flush()
    involved = next(p for p in f.people if p.handle == "involved")
    reflection = propose_session(
        s, f, when=TODAY + dt.timedelta(days=20), facilitator=involved.id, viewer=SYSTEM
    )
    return Family(f.id, review.id, action.id, experiment.id, lesson.id, esc.id, plan.id, reflection.id)


def build_http_world(db: Database) -> tuple[dict[str, Family], dict[str, Any]]:
    with db.unit(actor="setup") as s:
        world = build_world(s)
        p = world.people
        families = {vis: make_family(s, world.team.id, vis, tag="shared") for vis in VISIBILITIES}
        bystander = add_person(s, name="Bystander", handle="bystander", viewer=SYSTEM)
        note = write_note(s, author="lead", subject="member", body="Good call", viewer=SYSTEM)
        rail = add_guardrail(
            s,
            title="No Friday deploys",
            owner="member",
            expires_on=SOON,
            rollback_plan="Deploy again",
            team=world.team.id,
            viewer=SYSTEM,
        )
        checklist = create_checklist(s, name="Kickoff", items=["Name an owner"], viewer=SYSTEM)
        notice = enqueue(
            s,
            person_id=p["member"].id,
            kind="matrix",
            subject="s",
            body_text="b",
            dedupe_key="m",
            viewer=SYSTEM,
        )
        assert notice is not None
        team_feed, _plain = calendars.create_token(s, team=world.team.id, viewer=SYSTEM)
        own_feed, _plain = calendars.create_token(s, person=p["member"].id, viewer=SYSTEM)
        tokens, api_tokens, sessions = {}, {}, {}
        for kind in VIEWER_KINDS:
            row, tokens[kind] = issue_token(s, p[kind], "matrix")
            api_tokens[kind] = row.id
            sessions[kind] = start_session(s, p[kind])
        extra = {
            "tokens": tokens,
            "api_tokens": api_tokens,
            "sessions": sessions,
            "ids": {
                "team": world.team.id,
                "note": note.id,
                "guardrail": rail.id,
                "checklist": checklist.id,
                "notification": notice.id,
                "team_feed": team_feed.id,
                "own_feed": own_feed.id,
                "bystander": bystander.id,
            },
        }
    return families, extra


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Database]:
    """One database per backend for the whole module (the ``db`` fixture is per test)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("route-matrix") / "lessonloop.db"
        shutil.copy(sqlite_template, path)
        database = Database.open(Settings(database_url=f"sqlite:///{path}"), migrate=False)
        yield database
        database.close()
    else:
        database = request.getfixturevalue("pg_database")
        _empty_pg(database)
        yield database
        _empty_pg(database)


@pytest.fixture(scope="module")
def http(backend: Database) -> Iterator[HttpWorld]:
    families, extra = build_http_world(backend)
    with TestClient(create_app(database=backend)) as client:
        yield HttpWorld(
            db=backend,
            client=client,
            families=families,
            tokens=extra["tokens"],
            sessions=extra["sessions"],
            ids=extra["ids"],
            api_tokens=extra["api_tokens"],
        )


# -- the probes -----------------------------------------------------------------------------------

Request = tuple[str, dict[str, Any] | None]  # the concrete path and the body (JSON or form)


@dataclass(frozen=True)
class Probe:
    method: str
    path: str  # the route's template, as app.routes has it (API paths with the /api/v1 prefix)
    rule: Rule
    request: Callable[[HttpWorld, Family, str], Request]  # (world, family, viewer kind) → request
    writes: bool = False  # a success changes state: run it on a fresh family
    per_visibility: bool = True  # False: the record has no visibility; checked once per viewer
    # Answers that come after the permission check passed (409: the state machine refused, e.g.
    # a completed review), counted as "ok" where the probe cannot cheaply reach a fresh state.
    passed: frozenset[int] = frozenset()

    @property
    def web(self) -> bool:
        return not self.path.startswith(API)

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


def get(path: str, rule: Rule, url: Callable[[HttpWorld, Family], str], **kw: Any) -> Probe:
    return Probe("GET", path, rule, lambda w, f, k: (url(w, f), None), **kw)


def post(
    path: str,
    rule: Rule,
    url: Callable[[HttpWorld, Family], str],
    body: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    **kw: Any,
) -> Probe:
    kw.setdefault("writes", True)
    return Probe(method, path, rule, lambda w, f, k: (url(w, f), body), **kw)


def _fid(w: HttpWorld, f: Family) -> str:
    return str(f.failure)


REVIEW_BODY = {
    "answers": {
        "assumption_text": "The vendor would be ready",
        "evidence": "A verbal promise",
        "what_changed": "A reorg",
        "root_cause": "No dated commitment",
        "gap_type": "process",
        "gap_justification": "No step asked for one",
    },
    "primary_action": {"title": "Add a dated dependency check", "owner": "lead", "due_date": SOON},
}
EXPERIMENT_FORM = {
    "hypothesis": "A second vendor helps",
    "metric": "offers",
    "comparator": ">=",
    "threshold": "1",
    "start_date": TODAY.isoformat(),
    "end_date": SOON,
}


def _unreviewed(w: HttpWorld, f: Family) -> str:
    """A failure without a review, of the same visibility, for POST /failures/{id}/review."""
    with w.db.unit(actor="setup") as s:
        src = s.get(type_failure(), f.failure)
        assert src is not None
        new = failure(
            s,
            title="unreviewed",
            visibility=src.visibility,
            team=src.team_id,
            reporter="reporter",
            people=["involved"],
        )
        return f"{API}/failures/{new.id}/review"


def _fresh_note(w: HttpWorld) -> int:
    """A note by ``lead`` about ``member`` per call: a delete must not take the shared one."""
    with w.db.unit(actor="setup") as s:
        return write_note(s, author="lead", subject="member", body="Noted", viewer=SYSTEM).id


def _fresh_guardrail(w: HttpWorld) -> int:
    """A guardrail like the shared one (team Payments, owned by ``member``) for a retire that is
    expected to succeed: retiring is final, and the shared one must stay live for the others."""
    with w.db.unit(actor="setup") as s:
        return add_guardrail(
            s,
            title="No Friday deploys",
            owner="member",
            expires_on=SOON,
            rollback_plan="Deploy again",
            team=w.ids["team"],
            viewer=SYSTEM,
        ).id


def _fresh_observation(w: HttpWorld, f: Family) -> int:
    """An observation of the family's experiment per call: a delete must not take a shared one."""
    with w.db.unit(actor="setup") as s:
        return record_observation(s, f.experiment, value=1, viewer=SYSTEM).id


def _fresh_experiment(w: HttpWorld, f: Family) -> int:
    """An experiment on the family's action per call: a delete must not take the shared one."""
    with w.db.unit(actor="setup") as s:
        return add_experiment(
            s,
            action_id=f.action,
            hypothesis="Set up by mistake",
            metric="slips",
            comparator="<=",
            threshold=1,
            start_date=TODAY.isoformat(),
            end_date=SOON,
            viewer=SYSTEM,
        ).id


def _fresh_recognition(w: HttpWorld, f: Family) -> int:
    """A recognition ``lead`` gave ``bystander`` for the family's failure, per call."""
    with w.db.unit(actor="setup") as s:
        return recognise(s, person="bystander", kind="win", by="lead", failure_id=f.failure, viewer=SYSTEM).id


#: The family experiment's edit form as the page fills it, with a new hypothesis.
EXPERIMENT_EDIT_FORM = {
    "hypothesis": "Dated commitments cut slips in half",
    "metric": "slips",
    "comparator": "<=",
    "threshold": "1",
    "start_date": TODAY.isoformat(),
    "end_date": SOON,
}
GUARDRAIL_EDIT_FORM = {
    "title": "No Friday deploys",
    "owner": "member",
    "expires_on": SOON,
    "rollback_plan": "Deploy again",
    "reason": "",
}


def type_failure() -> Any:
    from lessonloop.failures.models import Failure

    return Failure


A = API
PROBES: list[Probe] = [
    # -- failures (API) --
    get(f"{A}/failures/{{failure_id}}", see, lambda w, f: f"/failures/{f.failure}"),
    get(f"{A}/failures/{{failure_id}}/history", see, lambda w, f: f"/failures/{f.failure}/history"),
    get(f"{A}/failures/{{failure_id}}/overview", see, lambda w, f: f"/failures/{f.failure}/overview"),
    get(f"{A}/failures/{{failure_id}}/postmortem", see, lambda w, f: f"/failures/{f.failure}/postmortem"),
    get(f"{A}/failures/{{failure_id}}/review", see, lambda w, f: f"/failures/{f.failure}/review"),
    get(f"{A}/failures/{{failure_id}}/similar", see, lambda w, f: f"/failures/{f.failure}/similar"),
    post(
        f"{A}/failures/{{failure_id}}",
        edit,
        lambda w, f: f"/failures/{f.failure}",
        {"severity": "critical"},
        method="PATCH",
    ),
    post(f"{A}/failures/{{failure_id}}", edit, lambda w, f: f"/failures/{f.failure}", method="DELETE"),
    post(
        f"{A}/failures/{{failure_id}}/transition",
        edit,
        lambda w, f: f"/failures/{f.failure}/transition",
        {"status": "re-evaluating"},
    ),
    Probe(
        "POST",
        f"{A}/failures/{{failure_id}}/repeat",
        edit,
        lambda w, f, k: (f"/failures/{f.failure}/repeat", {"repeat_of": w.families["org"].failure}),
        writes=True,
    ),
    Probe(
        "POST",
        f"{A}/failures/{{failure_id}}/review",
        edit,
        lambda w, f, k: (_unreviewed(w, f).removeprefix(API), REVIEW_BODY),
        writes=True,
    ),
    # -- reviews, actions, experiments, lessons (API) --
    get(f"{A}/reviews/{{review_id}}", see, lambda w, f: f"/reviews/{f.review}"),
    post(
        f"{A}/reviews/{{review_id}}",
        edit,
        lambda w, f: f"/reviews/{f.review}",
        {"evidence": "A written note"},
        method="PATCH",
        passed=frozenset({409}),  # the review is completed: the edit check passed first
    ),
    post(
        f"{A}/reviews/{{review_id}}/actions",
        edit,
        lambda w, f: f"/reviews/{f.review}/actions",
        {"title": "Call the vendor weekly", "owner": "lead", "due_date": SOON},
    ),
    post(
        f"{A}/reviews/{{review_id}}/complete",
        edit,
        lambda w, f: f"/reviews/{f.review}/complete",
        passed=frozenset({409}),
    ),
    get(f"{A}/actions/{{action_id}}", see, lambda w, f: f"/actions/{f.action}"),
    get(f"{A}/actions/{{action_id}}/checks", see, lambda w, f: f"/actions/{f.action}/checks"),
    post(
        f"{A}/actions/{{action_id}}/complete",
        work,
        lambda w, f: f"/actions/{f.action}/complete",
        {"evidence": "done"},
    ),
    post(
        f"{A}/actions/{{action_id}}/drop", work, lambda w, f: f"/actions/{f.action}/drop", {"reason": "moot"}
    ),
    post(
        f"{A}/actions/{{action_id}}/reschedule",
        work,
        lambda w, f: f"/actions/{f.action}/reschedule",
        {"due_date": SOON},
    ),
    post(
        f"{A}/actions/{{action_id}}/check", work, lambda w, f: f"/actions/{f.action}/check", {"worked": "yes"}
    ),
    post(
        f"{A}/actions/{{action_id}}",
        work,
        lambda w, f: f"/actions/{f.action}",
        {"due_date": SOON},
        method="PATCH",
    ),
    post(
        f"{A}/reviews/{{review_id}}/revise",
        edit,
        lambda w, f: f"/reviews/{f.review}/revise",
        {"root_cause": "No step asked for a written date"},
    ),
    get(f"{A}/experiments/{{experiment_id}}", see, lambda w, f: f"/experiments/{f.experiment}"),
    post(
        f"{A}/experiments/{{experiment_id}}/observations",
        work,
        lambda w, f: f"/experiments/{f.experiment}/observations",
        {"value": 1},
    ),
    get(f"{A}/lessons/{{lesson_id}}", see, lambda w, f: f"/lessons/{f.lesson}"),
    post(f"{A}/lessons/{{lesson_id}}/publish", edit, lambda w, f: f"/lessons/{f.lesson}/publish"),
    post(
        f"{A}/lessons/{{lesson_id}}",
        edit,
        lambda w, f: f"/lessons/{f.lesson}",
        {"learned": "Date every external dependency"},
        method="PATCH",
    ),
    post(
        f"{A}/lessons/{{lesson_id}}/unpublish",
        edit,
        lambda w, f: f"/lessons/{f.lesson}/unpublish",
        writes=False,
        passed=frozenset({409}),  # the lesson is a draft: the edit check passed first
    ),
    post(
        f"{A}/lessons/{{lesson_id}}/retract",
        edit,
        lambda w, f: f"/lessons/{f.lesson}/retract",
        {"reason": "It was wrong"},
        writes=False,
        passed=frozenset({409}),  # a draft is not retracted: the edit check passed first
    ),
    post(
        f"{A}/experiments/{{experiment_id}}",
        work,
        lambda w, f: f"/experiments/{f.experiment}",
        {"hypothesis": "Dated commitments cut slips in half"},
        method="PATCH",
    ),
    Probe(
        "PATCH",
        f"{A}/experiments/{{experiment_id}}/observations/{{observation_id}}",
        work,
        lambda w, f, k: (
            f"/experiments/{f.experiment}/observations/{_fresh_observation(w, f)}",
            {"value": 2},
        ),
        writes=True,
    ),
    Probe(
        "DELETE",
        f"{A}/experiments/{{experiment_id}}/observations/{{observation_id}}",
        work,
        lambda w, f, k: (f"/experiments/{f.experiment}/observations/{_fresh_observation(w, f)}", None),
        writes=True,
    ),
    Probe(
        "DELETE",
        f"{A}/experiments/{{experiment_id}}",
        work,
        lambda w, f, k: (f"/experiments/{_fresh_experiment(w, f)}", None),
        writes=True,
    ),
    post(
        f"{A}/escalations/{{escalation_id}}",
        escalation,
        lambda w, f: f"/escalations/{f.escalation}",
        {"status": "acknowledged"},
        method="PATCH",
    ),
    # -- reflection sessions (API) --
    get(f"{A}/reflections/{{reflection_id}}", see, lambda w, f: f"/reflections/{f.reflection}"),
    post(
        f"{A}/failures/{{failure_id}}/reflection",
        schedule_reflection,
        lambda w, f: f"/failures/{f.failure}/reflection",
        {"scheduled_for": SOON},
        writes=False,
        passed=frozenset({409}),  # the failure has its session already: the check passed first
    ),
    post(
        f"{A}/reflections/{{reflection_id}}/reschedule",
        run_reflection,
        lambda w, f: f"/reflections/{f.reflection}/reschedule",
        {"scheduled_for": SOON},
        writes=False,  # moving to the same date again is allowed
    ),
    post(
        f"{A}/reflections/{{reflection_id}}/held",
        run_reflection,
        lambda w, f: f"/reflections/{f.reflection}/held",
    ),
    post(
        f"{A}/reflections/{{reflection_id}}/notes",
        run_reflection,
        lambda w, f: f"/reflections/{f.reflection}/notes",
        {"notes": "We agreed on dated commitments"},
        method="PUT",
        writes=False,
    ),
    # -- coaching (API): author and subject only --
    get(
        f"{A}/coaching-notes/{{note_id}}",
        note_read,
        lambda w, f: f"/coaching-notes/{w.ids['note']}",
        per_visibility=False,
    ),
    post(
        f"{A}/coaching-notes/{{note_id}}",
        note_delete,
        lambda w, f: f"/coaching-notes/{_fresh_note(w)}",
        method="DELETE",
        per_visibility=False,
    ),
    get(f"{A}/development-plans/{{plan_id}}", plan_read, lambda w, f: f"/development-plans/{f.plan}"),
    post(
        f"{A}/development-plans/{{plan_id}}/complete",
        plan_read,
        lambda w, f: f"/development-plans/{f.plan}/complete",
    ),
    # -- the directory, one's own things (API) --
    get(f"{A}/people/{{person}}", anyone, lambda w, f: "/people/bystander", per_visibility=False),
    get(f"{A}/teams/{{team}}", anyone, lambda w, f: f"/teams/{w.ids['team']}", per_visibility=False),
    get(
        f"{A}/teams/{{team}}/digest",
        digest,
        lambda w, f: f"/teams/{w.ids['team']}/digest",
        per_visibility=False,
    ),
    post(
        f"{A}/notifications/{{notification_id}}/read",
        own("member"),
        lambda w, f: f"/notifications/{w.ids['notification']}/read",
        per_visibility=False,
    ),
    post(
        f"{A}/calendar-tokens/{{token_id}}",
        team_feed_revoke,
        lambda w, f: f"/calendar-tokens/{w.ids['team_feed']}",
        method="DELETE",
        per_visibility=False,
        writes=False,  # revoking twice is harmless
    ),
    Probe(
        "DELETE",
        f"{A}/auth/tokens/{{token_id}}",
        own_or_admin("member"),
        # everyone tries to revoke member's token; only member may (and then signs in with another)
        lambda w, f, k: (f"/auth/tokens/{w.api_tokens['member']}", None),
        per_visibility=False,
    ),
    # -- web pages of a failure --
    get("/failures/{failure_id}", see, lambda w, f: f"/failures/{f.failure}"),
    get("/failures/{failure_id}/similar", see, lambda w, f: f"/failures/{f.failure}/similar"),
    get(
        "/failures/{failure_id}/review",
        edit,
        lambda w, f: f"/failures/{f.failure}/review",
        passed=frozenset({409}),  # the review is completed: the edit check passed first
    ),
    get(
        "/failures/{failure_id}/postmortem.{fmt}",
        see,
        lambda w, f: f"/failures/{f.failure}/postmortem.md",
    ),
    get("/actions/{action_id}", see, lambda w, f: f"/actions/{f.action}"),
    get("/experiments/{experiment_id}", see, lambda w, f: f"/experiments/{f.experiment}"),
    get("/lessons/{lesson_id}", see, lambda w, f: f"/lessons/{f.lesson}"),
    get(
        "/failures/{failure_id}/review/{key}",
        edit,
        lambda w, f: f"/failures/{f.failure}/review/evidence",
        passed=frozenset({409}),
    ),
    post(
        "/failures/{failure_id}/review/{key}",
        edit,
        lambda w, f: f"/failures/{f.failure}/review/evidence",
        {"evidence": "A written note from the vendor", "go": "next"},
        passed=frozenset({409}),
    ),
    post(
        "/failures/{failure_id}/status",
        edit,
        lambda w, f: f"/failures/{f.failure}/status",
        {"status": "re-evaluating"},
    ),
    Probe(
        "POST",
        "/failures/{failure_id}/repeat",
        edit,
        lambda w, f, k: (f"/failures/{f.failure}/repeat", {"repeat_of": str(w.families["org"].failure)}),
        writes=True,
    ),
    post(
        "/failures/{failure_id}/actions",
        edit,
        lambda w, f: f"/failures/{f.failure}/actions",
        {"title": "Call the vendor weekly", "owner": "lead", "due_date": SOON},
    ),
    post(
        "/failures/{failure_id}/plans",
        plan_start,
        lambda w, f: f"/failures/{f.failure}/plans",
        {"person": "involved", "goals": "Pair on the next release", "review_date": SOON},
    ),
    post(
        "/failures/{failure_id}/guardrails",
        see,
        lambda w, f: f"/failures/{f.failure}/guardrails",
        {"title": "Two approvers", "owner": "lead", "expires_on": SOON, "rollback_plan": "Drop it"},
    ),
    Probe(
        "POST",
        "/failures/{failure_id}/checklist-revisions",
        checklist_revision,
        lambda w, f, k: (
            f"/failures/{f.failure}/checklist-revisions",
            {"checklist": "Kickoff", "items": f"Name an owner\nCheck failure {f.failure}", "reason": "r"},
        ),
        writes=True,
    ),
    get("/failures/{failure_id}/edit", edit, lambda w, f: f"/failures/{f.failure}/edit"),
    post(
        "/failures/{failure_id}/edit",
        edit,
        lambda w, f: f"/failures/{f.failure}/edit",
        {"severity": "critical"},
    ),
    get("/failures/{failure_id}/edit-review", edit, lambda w, f: f"/failures/{f.failure}/edit-review"),
    post(
        "/failures/{failure_id}/edit-review",
        edit,
        lambda w, f: f"/failures/{f.failure}/edit-review",
        {"root_cause": "No step asked for a written date"},
    ),
    get("/actions/{action_id}/edit", work, lambda w, f: f"/actions/{f.action}/edit"),
    post("/actions/{action_id}/edit", work, lambda w, f: f"/actions/{f.action}/edit", {"due_date": SOON}),
    post("/actions/{action_id}/done", work, lambda w, f: f"/actions/{f.action}/done", {"evidence": "done"}),
    post("/actions/{action_id}/drop", work, lambda w, f: f"/actions/{f.action}/drop", {"reason": "moot"}),
    post("/actions/{action_id}/check", work, lambda w, f: f"/actions/{f.action}/check", {"worked": "yes"}),
    post(
        "/actions/{action_id}/experiments",
        work,
        lambda w, f: f"/actions/{f.action}/experiments",
        EXPERIMENT_FORM,
    ),
    post(
        "/experiments/{experiment_id}/observations",
        work,
        lambda w, f: f"/experiments/{f.experiment}/observations",
        {"value": "1"},
    ),
    post("/lessons/{lesson_id}/publish", edit, lambda w, f: f"/lessons/{f.lesson}/publish"),
    get("/lessons/{lesson_id}/edit", edit, lambda w, f: f"/lessons/{f.lesson}/edit"),
    Probe(
        "POST",
        "/lessons/{lesson_id}/edit",
        edit,
        lambda w, f, k: (
            f"/lessons/{f.lesson}/edit",
            {
                "title": "Date it",
                "learned": "Date every dependency",
                "changed": "",
                "failures": str(f.failure),
            },
        ),
        writes=True,
    ),
    post(
        "/lessons/{lesson_id}/unpublish",
        edit,
        lambda w, f: f"/lessons/{f.lesson}/unpublish",
        writes=False,  # a draft: the page says so after the check
    ),
    post(
        "/lessons/{lesson_id}/retract",
        edit,
        lambda w, f: f"/lessons/{f.lesson}/retract",
        {"reason": "It was wrong"},
        writes=False,
        passed=frozenset({422}),  # a draft is not retracted: the form says so, after the check
    ),
    post(
        "/experiments/{experiment_id}/edit",
        work,
        lambda w, f: f"/experiments/{f.experiment}/edit",
        EXPERIMENT_EDIT_FORM,
    ),
    Probe(
        "POST",
        "/experiments/{experiment_id}/observations/{observation_id}/edit",
        work,
        lambda w, f, k: (
            f"/experiments/{f.experiment}/observations/{_fresh_observation(w, f)}/edit",
            {"value": "2", "observed_at": TODAY.isoformat(), "note": ""},
        ),
        writes=True,
    ),
    Probe(
        "POST",
        "/experiments/{experiment_id}/observations/{observation_id}/delete",
        work,
        lambda w, f, k: (f"/experiments/{f.experiment}/observations/{_fresh_observation(w, f)}/delete", {}),
        writes=True,
    ),
    Probe(
        "POST",
        "/experiments/{experiment_id}/delete",
        work,
        lambda w, f, k: (f"/experiments/{_fresh_experiment(w, f)}/delete", {}),
        writes=True,
    ),
    Probe(
        "POST",
        "/recognitions/{recognition_id}/edit",
        recognition_change,
        lambda w, f, k: (f"/recognitions/{_fresh_recognition(w, f)}/edit", {"note": "Said it plainly"}),
        writes=True,
    ),
    Probe(
        "POST",
        "/recognitions/{recognition_id}/delete",
        recognition_change,
        lambda w, f, k: (f"/recognitions/{_fresh_recognition(w, f)}/delete", {}),
        writes=True,
    ),
    # its own page (the form without JavaScript; the form alone for htmx): seen, or 404
    get("/escalations/{escalation_id}", see, lambda w, f: f"/escalations/{f.escalation}"),
    post(
        "/escalations/{escalation_id}",
        escalation,
        lambda w, f: f"/escalations/{f.escalation}",
        {"status": "acknowledged"},
    ),
    post("/coaching/plans/{plan_id}/done", plan_read, lambda w, f: f"/coaching/plans/{f.plan}/done"),
    post(
        "/coaching/notes/{note_id}/delete",
        note_delete,
        lambda w, f: f"/coaching/notes/{_fresh_note(w)}/delete",
        per_visibility=False,
    ),
    get("/reflections/{reflection_id}", see, lambda w, f: f"/reflections/{f.reflection}"),
    get("/failures/{failure_id}/reflection", see, lambda w, f: f"/failures/{f.failure}/reflection"),
    post(
        "/failures/{failure_id}/reflection",
        schedule_reflection,
        lambda w, f: f"/failures/{f.failure}/reflection",
        {"scheduled_for": SOON},
        writes=False,
        passed=frozenset({422}),  # it has its session already: the form says so, after the check
    ),
    post(
        "/reflections/{reflection_id}/reschedule",
        run_reflection,
        lambda w, f: f"/reflections/{f.reflection}/reschedule",
        {"scheduled_for": SOON},
        writes=False,
    ),
    post(
        "/reflections/{reflection_id}/held", run_reflection, lambda w, f: f"/reflections/{f.reflection}/held"
    ),
    post(
        "/reflections/{reflection_id}/notes",
        run_reflection,
        lambda w, f: f"/reflections/{f.reflection}/notes",
        {"notes": "We agreed on dated commitments"},
        writes=False,
    ),
    # -- web pages without a failure --
    get("/people/{handle}", anyone, lambda w, f: "/people/bystander", per_visibility=False),
    get("/teams/{team_id}", anyone, lambda w, f: f"/teams/{w.ids['team']}", per_visibility=False),
    get(
        "/teams/{team_id}/digest.{fmt}",
        digest,
        lambda w, f: f"/teams/{w.ids['team']}/digest.md",
        per_visibility=False,
    ),
    get(
        "/checklists/{checklist_id}",
        anyone,
        lambda w, f: f"/checklists/{w.ids['checklist']}",
        per_visibility=False,
    ),
    # -- review templates per failure kind (the kind names them; saving the same again is harmless) --
    get(
        "/admin/review-templates/{kind}",
        org_admin,
        lambda w, f: "/admin/review-templates/missed-deadline",
        per_visibility=False,
    ),
    post(
        "/admin/review-templates/{kind}",
        org_admin,
        lambda w, f: "/admin/review-templates/other",
        {"rows": "1", "q0_label": "Matrix question", "go": "save"},
        per_visibility=False,
        writes=False,
    ),
    post(
        "/admin/review-templates/{kind}/reset",
        org_admin,
        lambda w, f: "/admin/review-templates/other/reset",
        per_visibility=False,
        writes=False,
    ),
    get(
        f"{A}/review-templates/{{kind}}", anyone, lambda w, f: "/review-templates/other", per_visibility=False
    ),
    post(
        f"{A}/review-templates/{{kind}}",
        org_admin,
        lambda w, f: "/review-templates/other",
        {"questions": [{"label": "Matrix question"}]},
        method="PUT",
        per_visibility=False,
        writes=False,
    ),
    post(
        f"{A}/review-templates/{{kind}}",
        org_admin,
        lambda w, f: "/review-templates/other",
        method="DELETE",
        per_visibility=False,
        writes=False,
    ),
    Probe(
        "POST",
        "/people/{handle}/recognition",
        recognition,
        lambda w, f, k: (
            "/people/bystander/recognition",
            {"kind": "win", "note": "n", "failure_id": str(f.failure)},
        ),
        writes=True,
    ),
    Probe(
        "POST",
        "/teams/{team_id}/recognition",
        recognition,
        lambda w, f, k: (
            f"/teams/{w.ids['team']}/recognition",
            {"person": "bystander", "kind": "win", "note": "n", "failure_id": str(f.failure)},
        ),
        writes=True,
    ),
    post(
        "/guardrails/{guardrail_id}/renew",
        guardrail,
        lambda w, f: f"/guardrails/{w.ids['guardrail']}/renew",
        {"expires_on": SOON, "reason": "still needed"},
        per_visibility=False,
        writes=False,  # renewing again is allowed
    ),
    post(
        "/guardrails/{guardrail_id}/edit",
        guardrail,
        lambda w, f: f"/guardrails/{w.ids['guardrail']}/edit",
        GUARDRAIL_EDIT_FORM,
        per_visibility=False,
        writes=False,  # the same values again: nothing changes
    ),
    Probe(
        "POST",
        "/guardrails/{guardrail_id}/retire",
        guardrail,
        # retiring is final: an expected success retires a guardrail of its own
        lambda w, f, k: (
            f"/guardrails/{_fresh_guardrail(w) if guardrail(k, 'org') == 'ok' else w.ids['guardrail']}/retire",
            {"reason": "the risk is gone"},
        ),
        per_visibility=False,
    ),
    post(
        "/notifications/{notification_id}/read",
        own("member"),
        lambda w, f: f"/notifications/{w.ids['notification']}/read",
        per_visibility=False,
    ),
    post(
        "/account/calendar-feeds/{token_id}/revoke",
        own("member"),
        lambda w, f: f"/account/calendar-feeds/{w.ids['own_feed']}/revoke",
        per_visibility=False,
        writes=False,
    ),
]

#: Routes that take an id but are checked by a dedicated matrix elsewhere, with the reason.
COVERED_ELSEWHERE: dict[tuple[str, str], str] = {
    ("GET", "/calendar/{token}.ics"): "no viewer: the token is the credential; contents per viewer in "
    "test_feature_matrix.py (team feeds list only a plain member's view, personal feeds their own)",
    ("POST", "/api/v1/teams/{team}/members"): "role changes: test_feature_matrix.py (every viewer × "
    "every kind of change over the API)",
}


#: Writes whose success leaves the shared records as every other cell needs them (they add a
#: record beside them, or the state machine refuses after the permission check): they run on the
#: shared family, not a fresh one — building a family per expected success was most of the time.
SHARED_WRITES: dict[tuple[str, str], str] = {
    ("PATCH", f"{API}/failures/{{failure_id}}"): "setting the same severity again is allowed",
    ("PATCH", f"{API}/reviews/{{review_id}}"): "the review is completed: 409 after the check",
    ("PATCH", f"{API}/actions/{{action_id}}"): "moves the due date to the one the reschedule probe sets",
    ("POST", f"{API}/reviews/{{review_id}}/revise"): "sets the same corrected root cause each time",
    ("POST", "/failures/{failure_id}/edit"): "setting the same severity again is allowed",
    ("POST", "/failures/{failure_id}/edit-review"): "sets the same corrected root cause each time",
    ("POST", "/actions/{action_id}/edit"): "moves the due date to the one the reschedule probe sets",
    ("POST", f"{API}/reviews/{{review_id}}/complete"): "completed already: 409 after the check",
    ("POST", f"{API}/reviews/{{review_id}}/actions"): "adds an action beside the probed one",
    ("POST", f"{API}/experiments/{{experiment_id}}/observations"): "adds an observation",
    ("POST", "/failures/{failure_id}/review/{key}"): "the review is completed: 409 after the check",
    ("POST", "/failures/{failure_id}/actions"): "adds an action beside the probed one",
    ("POST", "/failures/{failure_id}/guardrails"): "adds a guardrail; none of the family changes",
    ("POST", "/failures/{failure_id}/checklist-revisions"): "a new version of an org-wide checklist",
    ("POST", "/actions/{action_id}/experiments"): "adds an experiment beside the probed one",
    ("POST", "/experiments/{experiment_id}/observations"): "adds an observation",
    ("POST", "/people/{handle}/recognition"): "adds a recognition",
    ("POST", "/teams/{team_id}/recognition"): "adds a recognition",
    ("PATCH", f"{API}/lessons/{{lesson_id}}"): "rewording the lesson leaves who may see or edit it",
    ("PATCH", f"{API}/experiments/{{experiment_id}}"): "rewording the hypothesis changes no rule",
    ("PATCH", f"{API}/experiments/{{experiment_id}}/observations/{{observation_id}}"): "an observation "
    "made for the call",
    ("DELETE", f"{API}/experiments/{{experiment_id}}/observations/{{observation_id}}"): "an observation "
    "made for the call",
    ("POST", "/lessons/{lesson_id}/edit"): "rewording the lesson leaves who may see or edit it",
    ("POST", "/experiments/{experiment_id}/edit"): "rewording the hypothesis changes no rule",
    ("POST", "/experiments/{experiment_id}/observations/{observation_id}/edit"): "an observation made "
    "for the call",
    ("POST", "/experiments/{experiment_id}/observations/{observation_id}/delete"): "an observation made "
    "for the call",
    ("DELETE", f"{API}/experiments/{{experiment_id}}"): "an experiment made for the call",
    ("POST", "/experiments/{experiment_id}/delete"): "an experiment made for the call",
    ("POST", "/recognitions/{recognition_id}/edit"): "a recognition made for the call",
    ("POST", "/recognitions/{recognition_id}/delete"): "a recognition made for the call",
}


# -- discussion: comments, timeline entries, links, attachments (issue #12) -------------------------
# Adding one is open to whoever may see the record (``see``); editing or deleting one is its
# author's (here ``reporter``, who sees the failure at every visibility): 404 unseen, 403 for the
# others who may see it. Each call gets a record of its own, so a delete cannot take the next one's.

FILES = "__files__"  # a body key: send these as a multipart upload (API)


def authored(kind: str, vis: str) -> str:
    """A comment, timeline entry, link or file written by ``reporter``: theirs to change."""
    if not SEES[(kind, vis)]:
        return "404"
    return "ok" if kind == "reporter" else "403"


def _fresh_discussion(w: HttpWorld, f: Family, what: str) -> int:
    from lessonloop.discussion import service as discussion

    with w.db.unit(actor="setup") as s:
        reporter = s.scalars(select(Person).where(Person.handle == "reporter")).one()
        by = reporter.id
        if what == "comment":
            return discussion.add_comment(
                s, target="failure", target_id=f.failure, text="c", author=by, viewer=SYSTEM
            ).id
        if what == "entry":
            return discussion.add_timeline_entry(
                s, failure_id=f.failure, at="2026-05-01 14:05", text="t", author=by, viewer=SYSTEM
            ).id
        if what == "link":
            return discussion.add_link(
                s, failure_id=f.failure, url="https://example.com", author=by, viewer=SYSTEM
            ).id
        return discussion.add_attachment(
            s, failure_id=f.failure, filename="f.txt", data=b"f", author=by, viewer=SYSTEM
        ).id


def _own(
    method: str, path: str, what: str, url: str, body: dict[str, Any] | None = None, rule: Rule = authored
) -> Probe:
    return Probe(method, path, rule, lambda w, f, k: (url.format(_fresh_discussion(w, f, what)), body))


def _commented(target: str) -> Callable[[HttpWorld, Family], str]:
    return lambda w, f: f"/{target}s/{getattr(f, target)}/comments"


DISCUSSION_PROBES: list[Probe] = [
    *(
        get(f"{A}/{t}s/{{{t}_id}}/comments", see, _commented(t))
        for t in ("failure", "review", "action", "lesson")
    ),
    *(
        post(f"{A}/{t}s/{{{t}_id}}/comments", see, _commented(t), {"text": "c"})
        for t in ("failure", "review", "action", "lesson")
    ),
    _own("PATCH", f"{A}/comments/{{comment_id}}", "comment", "/comments/{}", {"text": "edited"}),
    _own("DELETE", f"{A}/comments/{{comment_id}}", "comment", "/comments/{}"),
    get(f"{A}/failures/{{failure_id}}/timeline", see, lambda w, f: f"/failures/{f.failure}/timeline"),
    post(
        f"{A}/failures/{{failure_id}}/timeline",
        see,
        lambda w, f: f"/failures/{f.failure}/timeline",
        {"at": "2026-05-01T14:05", "text": "t"},
    ),
    _own("PATCH", f"{A}/timeline/{{entry_id}}", "entry", "/timeline/{}", {"text": "edited"}),
    _own("DELETE", f"{A}/timeline/{{entry_id}}", "entry", "/timeline/{}"),
    get(f"{A}/failures/{{failure_id}}/links", see, lambda w, f: f"/failures/{f.failure}/links"),
    post(
        f"{A}/failures/{{failure_id}}/links",
        see,
        lambda w, f: f"/failures/{f.failure}/links",
        {"url": "https://example.com"},
    ),
    _own("DELETE", f"{A}/links/{{link_id}}", "link", "/links/{}"),
    get(f"{A}/failures/{{failure_id}}/attachments", see, lambda w, f: f"/failures/{f.failure}/attachments"),
    post(
        f"{A}/failures/{{failure_id}}/attachments",
        see,
        lambda w, f: f"/failures/{f.failure}/attachments",
        {FILES: {"file": ("n.txt", b"n", "text/plain")}},
    ),
    _own("GET", f"{A}/attachments/{{attachment_id}}", "file", "/attachments/{}", rule=see),
    _own("DELETE", f"{A}/attachments/{{attachment_id}}", "file", "/attachments/{}"),
    # -- the pages --
    *(
        post(f"/{t}s/{{{t}_id}}/comments", see, _commented(t), {"text": "c"})
        for t in ("failure", "review", "action", "lesson")
    ),
    _own("POST", "/comments/{comment_id}/edit", "comment", "/comments/{}/edit", {"text": "edited"}),
    _own("POST", "/comments/{comment_id}/delete", "comment", "/comments/{}/delete"),
    post(
        "/failures/{failure_id}/timeline",
        see,
        lambda w, f: f"/failures/{f.failure}/timeline",
        {"at": "2026-05-01T14:05", "text": "t"},
    ),
    _own(
        "POST",
        "/timeline/{entry_id}/edit",
        "entry",
        "/timeline/{}/edit",
        {"at": "2026-05-01T14:10", "text": "e"},
    ),
    _own("POST", "/timeline/{entry_id}/delete", "entry", "/timeline/{}/delete"),
    post(
        "/failures/{failure_id}/links",
        see,
        lambda w, f: f"/failures/{f.failure}/links",
        {"url": "https://example.com"},
    ),
    _own("POST", "/links/{link_id}/delete", "link", "/links/{}/delete"),
    # A form without a file: refused beside the field (303 back) once the failure is seen.
    post("/failures/{failure_id}/attachments", see, lambda w, f: f"/failures/{f.failure}/attachments", {}),
    _own("GET", "/attachments/{attachment_id}", "file", "/attachments/{}", rule=see),
    _own("POST", "/attachments/{attachment_id}/delete", "file", "/attachments/{}/delete"),
]
PROBES.extend(DISCUSSION_PROBES)
SHARED_WRITES.update(
    {
        probe.key: "adds a comment, timeline entry, link or file beside the family"
        for probe in DISCUSSION_PROBES
        if probe.writes
    }
)


# -- issue-tracker sync (issue #14, decision 46): the world's team has no tracker connected, so a
# manager's call ends after the permission check (404 no connection, 409 nothing to push to,
# 422 a refused body) and the shared records stay as they are.
def team_manager(kind: str, vis: str) -> str:
    """A team's tracker connection: its leads and team-role admins and org admins; 403 else."""
    return "ok" if kind in {"admin", "lead", "team_admin"} else "403"


TRACKER_PROBES: list[Probe] = [
    post(
        f"{A}/actions/{{action_id}}/push",
        work,
        lambda w, f: f"/actions/{f.action}/push",
        writes=False,
        passed=frozenset({409}),  # no tracker connected: the work check passed first
    ),
    get(f"{A}/actions/{{action_id}}/tracker", see, lambda w, f: f"/actions/{f.action}/tracker"),
    post("/actions/{action_id}/push", work, lambda w, f: f"/actions/{f.action}/push", writes=False),
    get(
        f"{A}/teams/{{team}}/tracker",
        team_manager,
        lambda w, f: f"/teams/{w.ids['team']}/tracker",
        per_visibility=False,
        passed=frozenset({404}),
    ),
    post(
        f"{A}/teams/{{team}}/tracker",
        team_manager,
        lambda w, f: f"/teams/{w.ids['team']}/tracker",
        {"kind": "gitlab", "repo": "acme/app"},
        method="PUT",
        per_visibility=False,
        writes=False,
        passed=frozenset({422}),  # not a tracker lessonloop knows: refused after the check
    ),
    post(
        f"{A}/teams/{{team}}/tracker",
        team_manager,
        lambda w, f: f"/teams/{w.ids['team']}/tracker",
        method="DELETE",
        per_visibility=False,
        writes=False,
        passed=frozenset({404}),
    ),
    post(
        f"{A}/teams/{{team}}/tracker/assignees",
        team_manager,
        lambda w, f: f"/teams/{w.ids['team']}/tracker/assignees",
        {"person": "member", "login": "member-gh"},
        per_visibility=False,
        writes=False,
        passed=frozenset({404}),
    ),
]
PROBES.extend(TRACKER_PROBES)
COVERED_ELSEWHERE[("POST", "/api/v1/trackers/{connection_id}/webhook")] = (
    "no viewer: the HMAC signature with the connection's secret is the credential (bad or missing: "
    "401, nothing touched) — tests/integrations/trackers/test_http.py"
)


# -- outgoing event webhooks (issue #14, decision 48): one endpoint of the world's team, made on
# first use; what an endpoint *receives* is tests/integrations/webhooks/test_event_webhooks.py's.
def event_webhook_manager(kind: str, vis: str) -> str:
    """A team's event webhook: its leads and team-role admins and org admins; 404 else, as absent."""
    return "ok" if kind in {"admin", "lead", "team_admin"} else "404"


def _event_webhook(w: HttpWorld, f: Family) -> str:
    if "event_webhook" not in w.ids:
        with w.db.unit(actor="setup") as s:
            made = add_endpoint(
                s,
                url="https://hooks.example.com/matrix",
                events=["failure.logged"],
                team=w.ids["team"],
                viewer=SYSTEM,
            )
            w.ids["event_webhook"] = made.endpoint.id
    return f"/event-webhooks/{w.ids['event_webhook']}"


EVENT_WEBHOOK_PROBES: list[Probe] = [
    get(f"{A}/event-webhooks/{{endpoint_id}}", event_webhook_manager, _event_webhook, per_visibility=False),
    get(
        f"{A}/event-webhooks/{{endpoint_id}}/deliveries",
        event_webhook_manager,
        lambda w, f: _event_webhook(w, f) + "/deliveries",
        per_visibility=False,
    ),
    post(
        f"{A}/event-webhooks/{{endpoint_id}}/disable",
        event_webhook_manager,
        lambda w, f: _event_webhook(w, f) + "/disable",
        per_visibility=False,
        writes=False,  # the endpoint's active flag changes nothing any other probe reads
    ),
    post(
        f"{A}/event-webhooks/{{endpoint_id}}/enable",
        event_webhook_manager,
        lambda w, f: _event_webhook(w, f) + "/enable",
        per_visibility=False,
        writes=False,
    ),
    post(
        "/admin/event-webhooks/{endpoint_id}/disable",
        event_webhook_manager,
        lambda w, f: "/admin" + _event_webhook(w, f) + "/disable",
        per_visibility=False,
        writes=False,
    ),
    post(
        "/admin/event-webhooks/{endpoint_id}/enable",
        event_webhook_manager,
        lambda w, f: "/admin" + _event_webhook(w, f) + "/enable",
        per_visibility=False,
        writes=False,
    ),
]
PROBES.extend(EVENT_WEBHOOK_PROBES)


def classify(response: Any, passed: frozenset[int] = frozenset()) -> str:
    code = response.status_code
    if code < 300 or code == 303 or code in passed:
        return "ok"
    return str(code)


def gist(response: Any) -> str:
    """What a refusal said: the JSON detail, or the error page's message."""
    text = response.text
    found = re.search(r'<p class="lead">(.*?)</p>|<main[^>]*>(.*?)</main>', text, re.S)
    if found:
        text = re.sub(r"<[^>]+>|\s+", " ", found.group(1) or found.group(2))
    return repr(text.strip()[:200])


def expected_cells(probe: Probe) -> Iterator[tuple[str, str, str]]:
    for kind in VIEWER_KINDS:
        for vis in VISIBILITIES if probe.per_visibility else ("org",):
            yield kind, vis, probe.rule(kind, vis)


def run_probe(w: HttpWorld, probe: Probe) -> list[str]:
    """Every cell of one route; returns the cells that disagree, with the answer's start."""
    wrong = []
    for kind, vis, expected in expected_cells(probe):
        fresh = probe.writes and expected == "ok" and probe.key not in SHARED_WRITES
        family = w.fresh(vis) if fresh else w.families[vis]
        path, body = probe.request(w, family, kind)
        response = w.call(kind, probe.method, path, web=probe.web, body=body)
        got = classify(response, probe.passed)
        if got != expected:
            wrong.append(f"{kind} × {vis}: expected {expected}, got {response.status_code} {gist(response)}")
    return wrong


def probe_id(probe: Probe) -> str:
    return f"{probe.method} {probe.path}"


@pytest.mark.parametrize("probe", PROBES, ids=probe_id)
def test_route(http: HttpWorld, probe: Probe) -> None:
    if probe.key == ("DELETE", f"{API}/auth/tokens/{{token_id}}"):
        pytest.skip("run last: test_revoking_an_api_token")
    wrong = run_probe(http, probe)
    assert not wrong, "\n".join(wrong)


def test_revoking_an_api_token(http: HttpWorld) -> None:
    """Last, because the owner's success revokes the token the other probes sign in with."""
    [probe] = [p for p in PROBES if p.key == ("DELETE", f"{API}/auth/tokens/{{token_id}}")]
    # the owner, then an org admin (revoking twice is harmless) last: both sign in with it no more
    kinds = sorted(VIEWER_KINDS, key=lambda k: {"member": 1, "admin": 2}.get(k, 0))
    wrong = []
    for kind in kinds:
        path, body = probe.request(http, http.families["org"], kind)
        response = http.call(kind, probe.method, path, web=False, body=body)
        if classify(response) != probe.rule(kind, "org"):
            wrong.append(f"{kind}: got {response.status_code}")
    assert wrong == []


# -- every route is in the matrix -----------------------------------------------------------------


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the app, through included routers of any FastAPI version."""
    app = create_app(Settings(database_url="sqlite://"))
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for ctx in contexts:
            for method in getattr(ctx, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, ctx.path))
    return found


def test_every_route_with_a_record_id_is_in_the_matrix() -> None:
    """A route with a path parameter names a record: it needs a probe (or a dedicated matrix)."""
    with_ids = {(m, p) for m, p in app_routes() if "{" in p}
    covered = {probe.key for probe in PROBES} | set(COVERED_ELSEWHERE)
    assert sorted(with_ids - covered) == [], "routes with no entry in the permission matrix"
    assert sorted(covered - with_ids) == [], "matrix entries for routes that no longer exist"
    assert sorted(set(SHARED_WRITES) - {probe.key for probe in PROBES if probe.writes}) == []


def test_the_routes_are_enumerated() -> None:
    """The enumeration itself sees both adapters, so the check above cannot pass vacuously."""
    routes = app_routes()
    assert ("GET", f"{API}/failures/{{failure_id}}") in routes
    assert ("GET", "/failures/{failure_id}") in routes
    assert len([r for r in routes if "{" in r[1]]) >= len(PROBES) - 3

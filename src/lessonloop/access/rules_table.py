"""Who may do what, per record type and action: a Markdown table computed from the policy itself.

``python -m lessonloop.access.rules_table`` prints it; ``docs/security.md`` holds the same text
between ``<!-- rules-table:start -->`` and ``<!-- rules-table:end -->``, and a test fails when the
two differ, so the documented rules cannot drift from the code. Every cell is the answer of a
predicate of :mod:`lessonloop.access.policy` for one kind of viewer on a small world held in
memory (no database): team Payments (id 1) with a member, a lead and a team-role admin; team
Search (id 2) with a member and a lead; an org admin, a reporter, a person involved and an
outsider, each in no team; failures of Payments reported by the reporter, involving the person
involved.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from lessonloop.access import policy
from lessonloop.access.viewer import Viewer
from lessonloop.actions.models import Action
from lessonloop.coaching.models import CoachingNote
from lessonloop.failures.models import Failure
from lessonloop.people.models import Person, Team

PAYMENTS, SEARCH = 1, 2
#: The kinds of viewer, as the columns show them, and their person ids.
KINDS: dict[str, int] = {
    "reporter": 1,
    "involved": 2,
    "member": 3,
    "lead": 4,
    "team admin": 5,
    "other member": 6,
    "other lead": 7,
    "org admin": 8,
    "outsider": 9,
}
ROLES: dict[str, tuple[int, str]] = {
    "member": (PAYMENTS, "member"),
    "lead": (PAYMENTS, "lead"),
    "team admin": (PAYMENTS, "admin"),
    "other member": (SEARCH, "member"),
    "other lead": (SEARCH, "lead"),
}
NEWCOMER = 99  # a person in no team, the subject of role changes


def viewer(kind: str) -> Viewer:
    roles = dict([ROLES[kind]]) if kind in ROLES else {}
    return Viewer(person_id=KINDS[kind], is_admin=kind == "org admin", roles=MappingProxyType(roles))


def failure(visibility: str) -> Failure:
    return Failure(
        id=1,
        title="t",
        visibility=visibility,
        team_id=PAYMENTS,
        reporter_id=KINDS["reporter"],
        people=[Person(id=KINDS["involved"], name="Involved", handle="involved")],
    )


Check = Callable[[Viewer], bool]


def _failure_rows() -> list[tuple[str, str, Check]]:
    rows: list[tuple[str, str, Check]] = []
    for vis in ("private", "team", "org"):
        f = failure(vis)
        rows.append((f"{vis} failure", "see it and its review, actions, experiments", _see(f)))
        rows.append((f"{vis} failure", "change it, its review, add actions", _edit(f)))
        action = Action(id=1, failure_id=1, owner_id=KINDS["member"])
        rows.append((f"{vis} failure", "work on an action owned by the member", _work(action, f)))
        rows.append((f"{vis} failure", "schedule its reflection session", _reflect(f, None)))
        rows.append(
            (
                f"{vis} failure",
                "run its reflection session (the involved person facilitates)",
                _reflect(f, KINDS["involved"]),
            )
        )
    return rows


def _see(f: Failure) -> Check:
    return lambda v: policy.can_see_failure(v, f)


def _edit(f: Failure) -> Check:
    return lambda v: policy.can_edit_failure(v, f)


def _work(action: Action, f: Failure) -> Check:
    return lambda v: policy.can_work_on_action(v, action, f)


def _reflect(f: Failure, facilitator: int | None) -> Check:
    return lambda v: policy.can_run_reflection(v, f, facilitator)


def _role(subject: int | None, new: str, current: str | None, leads: tuple[int, ...]) -> Check:
    """``subject`` None: the viewer themself."""
    return lambda v: policy.can_set_role(
        v,
        PAYMENTS,
        v.person_id if subject is None else subject,
        new,
        current_role=current,
        current_leads=leads,
    )


def _directory_rows() -> list[tuple[str, str, Check]]:
    # The digest's rule lives with the digests (a layer above access): imported here, not copied.
    from lessonloop.followthrough.digests import may_read_digest

    payments = Team(id=PAYMENTS, name="Payments")
    lead = (KINDS["lead"],)
    member = KINDS["member"]
    note = CoachingNote(id=1, author_id=KINDS["lead"], subject_id=KINDS["member"], body="b")
    return [
        ("team Payments", "add a member", _role(NEWCOMER, "member", None, lead)),
        ("team Payments", "make a member a team admin", _role(member, "admin", "member", lead)),
        ("team Payments", "appoint a lead (the team has one)", _role(member, "lead", "member", lead)),
        ("team Payments", "appoint the first lead (the team has none)", _role(NEWCOMER, "lead", None, ())),
        ("team Payments", "change the role of its only lead", _role(KINDS["lead"], "member", "lead", lead)),
        ("team Payments", "make oneself lead", _role(None, "lead", None, lead)),
        ("team Payments", "make a team calendar feed", lambda v: policy.can_manage_team_feed(v, PAYMENTS)),
        ("team Payments", "list or revoke its feeds", lambda v: policy.can_revoke_team_feed(v, PAYMENTS)),
        ("team Payments", "read its digest", lambda v: may_read_digest(v, payments)),
        ("checklist of Payments", "create or revise", lambda v: policy.can_change_checklist(v, PAYMENTS)),
        ("org-wide checklist", "create or revise", lambda v: policy.can_change_checklist(v, None)),
        ("people and teams", "add", policy.can_manage_directory),
        ("coaching note (lead about member)", "read", lambda v: policy.can_see_note(v, note)),
    ]


def rows() -> list[tuple[str, str, list[bool]]]:
    viewers = [viewer(kind) for kind in KINDS]
    return [
        (record, action, [check(v) for v in viewers])
        for record, action, check in _failure_rows() + _directory_rows()
    ]


def markdown() -> str:
    head = ["Record", "Action", *KINDS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for record, action, cells in rows():
        marks = ["✔" if ok else "✘" for ok in cells]
        lines.append("| " + " | ".join([record, action, *marks]) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")

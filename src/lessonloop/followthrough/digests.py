"""The weekly digest of a team: lessons that reached it, repeats, overdue actions, recognition
and the guardrails in force — in Markdown and as an HTML e-mail body.

A digest is the team's, so it never shows more than *a plain member of that team* may see
(:func:`digest_viewer`: a member-level viewer who is nobody in particular) with the ``access``
clauses: a private failure never appears in a digest (not even its own team's, where only the
people involved and the leads may see it), and nothing of team A that A keeps to itself appears
in team B's. It is also built *for its reader*: a person reading it (API, page) and each
recipient it is sent to (:func:`send_team_digest` turns each member into a viewer) see only what
both the member view and they themselves may see — an org admin reading a team's digest does not
get the lessons of failures they may not see. Every piece of user text is escaped in both forms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from lessonloop.access.actor import Actor, SystemActor, is_person, is_system, require_actor
from lessonloop.access.policy import (
    can_see_failure,
    member_view,
    visible_actions_clause,
    visible_failures_clause,
    visible_lessons_clause,
)
from lessonloop.access.viewer import Viewer, viewer_for
from lessonloop.actions.models import Action, days_overdue, overdue_clause
from lessonloop.coerce import as_date
from lessonloop.errors import NotFound
from lessonloop.failures.models import Failure
from lessonloop.followthrough import guardrails as guardrail_service
from lessonloop.followthrough.models import Guardrail, GuardrailStatus, Recognition
from lessonloop.followthrough.recognition import _team_scope, visible_recognitions_clause
from lessonloop.followthrough.render import h, h_md, md
from lessonloop.lessons.models import Lesson, lesson_audience
from lessonloop.people.models import Membership, Person, Team
from lessonloop.people.service import TeamRef, get_team, list_teams
from lessonloop.worker.scheduler import JobContext, job


class DigestLesson(BaseModel):
    id: int
    title: str
    learned: str
    changed: str
    published_at: dt.datetime
    failure_ids: list[int]  # only those the team may see


class DigestRepeat(BaseModel):
    id: int
    title: str
    detected_at: dt.datetime
    repeat_of_id: int | None  # None when the original is not visible to the team
    repeat_of_title: str | None


class DigestAction(BaseModel):
    id: int
    title: str
    owner: str
    failure_id: int
    due_date: dt.date
    days_overdue: int


class DigestRecognition(BaseModel):
    kind: str
    person: str
    given_by: str | None
    note: str


class DigestGuardrail(BaseModel):
    id: int
    title: str
    owner: str
    state: str
    expires_on: dt.date
    needs_decision: bool


class DigestData(BaseModel):
    team: str
    week_start: dt.date
    week_ending: dt.date
    lessons: list[DigestLesson]
    repeats: list[DigestRepeat]
    overdue_actions: list[DigestAction]
    recognitions: list[DigestRecognition]
    guardrails: list[DigestGuardrail]


@dataclass(frozen=True)
class Digest:
    data: DigestData
    markdown: str
    html: str

    @property
    def subject(self) -> str:
        return f"{self.data.team}: weekly learning digest, week ending {self.data.week_ending.isoformat()}"


def digest_viewer(team: Team) -> Viewer:
    """A plain member of ``team`` and of no other team, involved in nothing."""
    return member_view(team.id)


def _views(team: Team, reader: Viewer | None) -> list[Viewer]:
    """Whose eyes the digest passes through: the plain member's, and its reader's if any."""
    return [digest_viewer(team)] + ([reader] if reader is not None else [])


def _sees(views: list[Viewer], failure: Failure) -> bool:
    return all(can_see_failure(v, failure) for v in views)


def week_window(week_ending: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start of the 7th day before, end of ``week_ending``) in UTC."""
    start = dt.datetime.combine(week_ending - dt.timedelta(days=6), dt.time(), tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=7)


def last_week_ending(today: dt.date) -> dt.date:
    """The most recent Sunday strictly before ``today`` (the last complete Monday–Sunday week)."""
    return today - dt.timedelta(days=(today.weekday() + 1))


def collect(session: Session, team: Team, week_ending: dt.date, *, viewer: Actor) -> DigestData:
    """The week's digest data as a plain member sees it, narrowed to what ``viewer`` may see when
    it is a person (a system job adds no narrowing of its own)."""
    views = _views(team, viewer if is_person(viewer) else None)
    start, end = week_window(week_ending)

    lesson_stmt = (
        select(Lesson)
        .where(
            Lesson.published_at.is_not(None),
            Lesson.retracted_at.is_(None),  # a retracted lesson is no longer sent (decision 38)
            Lesson.published_at >= start,
            Lesson.published_at < end,
            Lesson.id.in_(select(lesson_audience.c.lesson_id).where(lesson_audience.c.team_id == team.id)),
            *(visible_lessons_clause(v) for v in views),
        )
        .order_by(Lesson.published_at, Lesson.id)
    )
    lessons = [
        DigestLesson(
            id=lesson.id,
            title=lesson.title,
            learned=lesson.learned,
            changed=lesson.changed,
            published_at=lesson.published_at or start,
            failure_ids=[f.id for f in lesson.failures if _sees(views, f)],
        )
        for lesson in session.scalars(lesson_stmt)
    ]

    f = aliased(Failure)
    repeat_stmt = (
        select(f)
        .where(
            f.team_id == team.id,
            f.repeat_of_id.is_not(None),
            f.detected_at >= start,
            f.detected_at < end,
            *(visible_failures_clause(v, f) for v in views),
        )
        .order_by(f.detected_at, f.id)
    )
    repeats: list[DigestRepeat] = []
    for failure in session.scalars(repeat_stmt):
        original = session.get(Failure, failure.repeat_of_id) if failure.repeat_of_id else None
        seen = original is not None and _sees(views, original)
        repeats.append(
            DigestRepeat(
                id=failure.id,
                title=failure.title,
                detected_at=failure.detected_at,
                repeat_of_id=original.id if original is not None and seen else None,
                repeat_of_title=original.title if original is not None and seen else None,
            )
        )

    members = select(Membership.person_id).where(Membership.team_id == team.id)
    team_failures = select(Failure.id).where(Failure.team_id == team.id)
    # Overdue as the week closes: as of the day after its last day (one definition, actions.models).
    as_of = week_ending + dt.timedelta(days=1)
    action_stmt = (
        select(Action)
        .where(
            overdue_clause(as_of),
            or_(Action.failure_id.in_(team_failures), Action.owner_id.in_(members)),
            *(visible_actions_clause(v) for v in views),
        )
        .order_by(Action.due_date, Action.id)
    )
    overdue = [
        DigestAction(
            id=a.id,
            title=a.title,
            owner=a.owner.handle,
            failure_id=a.failure_id,
            due_date=a.due_date,
            days_overdue=days_overdue(a.due_date, as_of),
        )
        for a in session.scalars(action_stmt)
    ]

    recognition_stmt = (
        select(Recognition)
        .where(
            _team_scope(team.id),
            Recognition.created_at >= start,
            Recognition.created_at < end,
            *(visible_recognitions_clause(v) for v in views),
        )
        .order_by(Recognition.created_at, Recognition.id)
    )
    recognitions = [
        DigestRecognition(
            kind=r.kind,
            person=r.person.handle,
            given_by=r.given_by.handle if r.given_by else None,
            note=r.note,
        )
        for r in session.scalars(recognition_stmt)
    ]

    guardrail_stmt = (
        select(Guardrail)
        .where(Guardrail.team_id == team.id, Guardrail.status != GuardrailStatus.retired.value)
        .order_by(Guardrail.expires_on, Guardrail.id)
    )
    guardrails = [
        DigestGuardrail(
            id=g.id,
            title=g.title,
            owner=g.owner.handle,
            state=guardrail_service.describe_state(g, week_ending),
            expires_on=g.expires_on,
            needs_decision=guardrail_service.effective_status(g, week_ending) == GuardrailStatus.expired,
        )
        for g in session.scalars(guardrail_stmt)
    ]
    return DigestData(
        team=team.name,
        week_start=start.date(),
        week_ending=week_ending,
        lessons=lessons,
        repeats=repeats,
        overdue_actions=overdue,
        recognitions=recognitions,
        guardrails=guardrails,
    )


KIND_WORDS = {
    "candid-review": "a candid review",
    "validated-fix": "a validated fix",
    "shared-lesson": "a shared lesson",
    "win": "a win",
}
NONE_THIS_WEEK = "None this week."


def _recognition_line(r: DigestRecognition) -> tuple[str, str, str]:
    """(person, what, note) — raw text, escaped by the caller."""
    what = KIND_WORDS.get(r.kind, r.kind) + (f", from {r.given_by}" if r.given_by else "")
    return r.person, what, r.note


def to_markdown(d: DigestData) -> str:
    out = [
        f"# Weekly learning digest: {md(d.team)}",
        "",
        f"Week {d.week_start.isoformat()} to {d.week_ending.isoformat()}.",
        "",
        f"## Lessons published ({len(d.lessons)})",
        "",
    ]
    for lesson in d.lessons:
        source = ", ".join(f"#{i}" for i in lesson.failure_ids)
        line = f"- **{md(lesson.title)}** (lesson #{lesson.id}{'; from failure ' + source if source else ''})"
        out.append(line)
        out.append(f"  - Learned: {md(lesson.learned)}")
        if lesson.changed:
            out.append(f"  - Changed: {md(lesson.changed)}")
    out += [NONE_THIS_WEEK] if not d.lessons else []
    out += ["", f"## Repeats ({len(d.repeats)})", ""]
    for r in d.repeats:
        of = f" — repeats #{r.repeat_of_id} {md(r.repeat_of_title)}" if r.repeat_of_id else ""
        out.append(f"- #{r.id} {md(r.title)} (detected {r.detected_at.date().isoformat()}){of}")
    out += [NONE_THIS_WEEK] if not d.repeats else []
    out += ["", f"## Overdue actions ({len(d.overdue_actions)})", ""]
    for a in d.overdue_actions:
        out.append(
            f"- #{a.id} {md(a.title)} — owner {md(a.owner)}, due {a.due_date.isoformat()} "
            f"({a.days_overdue} days overdue; failure #{a.failure_id})"
        )
    out += [NONE_THIS_WEEK] if not d.overdue_actions else []
    out += ["", f"## Recognition ({len(d.recognitions)})", ""]
    for rec in d.recognitions:
        person, what, note = _recognition_line(rec)
        out.append(f"- {md(person)}: {md(what)}" + (f" — {md(note)}" if note else ""))
    out += [NONE_THIS_WEEK] if not d.recognitions else []
    out += ["", f"## Guardrails in force ({len(d.guardrails)})", ""]
    for g in d.guardrails:
        flag = "**" if g.needs_decision else ""
        out.append(f"- #{g.id} {md(g.title)} — owner {md(g.owner)}, {flag}{md(g.state)}{flag}")
    out += ["None."] if not d.guardrails else []
    return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1b1f23;max-width:640px;"
    "margin:0 auto;padding:16px;line-height:1.45}h1{font-size:20px}h2{font-size:16px;margin-top:24px;"
    "border-bottom:1px solid #e1e4e8;padding-bottom:4px}li{margin:4px 0}.muted{color:#6a737d}"
    ".alert{color:#b31d28;font-weight:bold}.md p,.md ul,.md ol{margin:4px 0}"
)


def to_html(d: DigestData) -> str:
    def section(title: str, items: list[str], empty: str = NONE_THIS_WEEK) -> str:
        body = (
            "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"
            if items
            else (f'<p class="muted">{h(empty)}</p>')
        )
        return f"<h2>{h(title)} ({len(items)})</h2>{body}"

    lessons = []
    for lesson in d.lessons:
        source = ", ".join(f"#{i}" for i in lesson.failure_ids)
        lessons.append(
            f"<strong>{h(lesson.title)}</strong> "
            f'<span class="muted">(lesson #{lesson.id}{h("; from failure " + source) if source else ""})</span>'
            f"<br>Learned:{h_md(lesson.learned)}"
            + (f"Changed:{h_md(lesson.changed)}" if lesson.changed else "")
        )
    repeats = [
        f'#{r.id} {h(r.title)} <span class="muted">(detected {r.detected_at.date().isoformat()})</span>'
        + (f" — repeats #{r.repeat_of_id} {h(r.repeat_of_title)}" if r.repeat_of_id else "")
        for r in d.repeats
    ]
    overdue = [
        f"#{a.id} {h(a.title)} — owner {h(a.owner)}, due {a.due_date.isoformat()} "
        f'<span class="alert">({a.days_overdue} days overdue)</span>'
        for a in d.overdue_actions
    ]
    recognitions = []
    for rec in d.recognitions:
        person, what, note = _recognition_line(rec)
        recognitions.append(f"<strong>{h(person)}</strong>: {h(what)}" + (f" — {h(note)}" if note else ""))
    guardrails = [
        f"#{g.id} {h(g.title)} — owner {h(g.owner)}, "
        + (f'<span class="alert">{h(g.state)}</span>' if g.needs_decision else h(g.state))
        for g in d.guardrails
    ]
    title = f"Weekly learning digest: {d.team}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{h(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{h(title)}</h1>"
        f'<p class="muted">Week {d.week_start.isoformat()} to {d.week_ending.isoformat()}</p>'
        + section("Lessons published", lessons)
        + section("Repeats", repeats)
        + section("Overdue actions", overdue)
        + section("Recognition", recognitions)
        + section("Guardrails in force", guardrails, "None.")
        + "</body></html>\n"
    )


def may_read_digest(viewer: Actor, team: Team) -> bool:
    """A team's digest is for its members (and org admins); a named system job may read any."""
    return is_system(viewer) or viewer.is_admin or viewer.role_in(team.id) is not None


def build_team_digest(
    session: Session,
    team: TeamRef,
    *,
    week_ending: dt.date | str | None = None,
    viewer: Actor,
) -> Digest:
    """The digest of ``team`` for the week (Monday to Sunday by default) ending on ``week_ending``
    (default: the last complete week). It shows what a plain member may see and, for a person,
    only what that person may also see; a ``viewer`` who is neither a member nor an org admin
    gets a 404, as if the team's digest did not exist."""
    team_obj = get_team(session, team, viewer=viewer)
    if not may_read_digest(viewer, team_obj):
        raise NotFound(f"no digest for team {team_obj.id} that you may read", field="team")
    end = (
        as_date(week_ending, "week_ending")
        if week_ending not in (None, "")
        else last_week_ending(dt.date.today())
    )
    data = collect(session, team_obj, end, viewer=viewer)
    return Digest(data=data, markdown=to_markdown(data), html=to_html(data))


def digest_dedupe_key(team_id: int, week_ending: dt.date, person_id: int) -> str:
    return f"digest:team:{team_id}:{week_ending.isoformat()}:person:{person_id}"


def send_team_digest(
    session: Session,
    team: TeamRef,
    *,
    week_ending: dt.date | str | None = None,
    now: dt.datetime | None = None,
    viewer: Actor,
) -> int:
    """Enqueue the digest for every member of the team (once per member and week), each built as
    what that member may see; returns how many notifications were new. ``viewer``: a system job,
    or a person who may read the team's digest (404 otherwise)."""
    from lessonloop.notifications.service import enqueue

    team_obj = get_team(session, team, viewer=viewer)
    if not may_read_digest(require_actor(viewer), team_obj):
        raise NotFound(f"no digest for team {team_obj.id} that you may read", field="team")
    end = (
        as_date(week_ending, "week_ending")
        if week_ending not in (None, "")
        else last_week_ending(dt.date.today())
    )
    people = list(
        session.scalars(
            select(Person.id)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.team_id == team_obj.id)
        )
    )
    sent = 0
    for person_id in people:
        digest = build_team_digest(session, team_obj, week_ending=end, viewer=viewer_for(session, person_id))
        note = enqueue(
            session,
            person_id=person_id,
            kind="weekly-digest",
            subject=digest.subject[:300],
            body_text=digest.markdown,
            body_html=digest.html,
            dedupe_key=digest_dedupe_key(team_obj.id, digest.data.week_ending, person_id),
            now=now,
            viewer=viewer,
        )
        sent += note is not None
    return sent


def weekly_digests(session: Session, *, now: dt.datetime, viewer: Actor) -> int:
    """Enqueue last week's digest (Monday to Sunday) of every team to its members; idempotent.
    Returns how many notifications were new."""
    week_ending = last_week_ending(now.date())
    sender = SystemActor("weekly-digests")  # each digest is still built as its recipient
    return sum(
        send_team_digest(session, team, week_ending=week_ending, now=now, viewer=sender)
        for team in list_teams(session, viewer=viewer)
    )


@job("weekly-digests", every="weekly", description="Each team's week of learning, to every member")
def _weekly_digests_job(ctx: JobContext) -> str:
    return f"{weekly_digests(ctx.session, now=ctx.now, viewer=ctx.actor)} digests"

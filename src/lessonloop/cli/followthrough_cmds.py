"""`lessonloop checklist|guardrail|recognition|digest|postmortem|changed-because`: follow-through."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Group, RenderableType

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.fields import parse_command
from lessonloop.followthrough import checklists, digests, guardrails, postmortem, recognition
from lessonloop.followthrough.changes import changed_because
from lessonloop.followthrough.schemas import EditGuardrail, EditRecognition

checklist_app = typer.Typer(
    help="Versioned checklists, templates and decision criteria; every change names its failure.",
    no_args_is_help=True,
)
guardrail_app = typer.Typer(
    help="Short-term adjustments of scope or risk tolerance, with an owner and an expiry.",
    no_args_is_help=True,
)
recognition_app = typer.Typer(help="Recognition for learning and correction.", no_args_is_help=True)
app.add_typer(checklist_app, name="checklist")
app.add_typer(guardrail_app, name="guardrail")
app.add_typer(recognition_app, name="recognition")

JSON = typer.Option(False, "--json", help="Print JSON.")


def _write(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# -- checklists ---------------------------------------------------------------------------------


def _revision_view(rev: checklists.RevisionOut) -> Group:
    because = ""
    if rev.failure_id is not None:
        because = f"failure #{rev.failure_id}" + (f" ({rev.failure_title})" if rev.failure_title else "")
    lesson = f"lesson #{rev.lesson_id}" if rev.lesson_id is not None else ""
    if rev.lesson_title:
        lesson += f" ({rev.lesson_title})"
    head = render.fields(
        [
            ("kind", rev.kind),
            ("reason", rev.reason),
            ("because of", because),
            ("lesson", lesson),
            ("author", rev.author),
            ("written", render.when(rev.created_at)),
        ]
    )
    items = render.table("#", "item")
    for number, item in enumerate(rev.items, 1):
        render.row(items, number, item)
    return Group(head, items)


@checklist_app.command("add")
@common.handle_errors
def checklist_add(
    name: str = typer.Argument(..., help="Unique name, e.g. 'Kickoff'."),
    item: list[str] = typer.Option(..., "--item", "-i", help="One item (repeat for each, in order)."),
    kind: str = typer.Option("checklist", "--kind", help="checklist, template or decision-criteria."),
    reason: str = typer.Option("", "--reason", help="Why it exists (default: 'first version')."),
    because_of: str | None = typer.Option(
        None, "--because-of", help="A failure that prompted it (optional)."
    ),
    lesson: str | None = typer.Option(None, "--lesson", help="A lesson it puts into practice (optional)."),
    author: str | None = typer.Option(None, "--author", help="Who wrote it (id, handle or e-mail)."),
) -> None:
    """Add a checklist, template or set of decision criteria (version 1)."""
    with common.unit() as session:
        made = checklists.create_checklist(
            session,
            name=name,
            items=item,
            kind=kind,
            reason=reason,
            author=author,
            failure_id=because_of,
            lesson_id=lesson,
            viewer=LOCAL,
        )
        line = f"added {made.kind} {made.name} v1 ({render.plural(len(made.latest.items), 'item')})"
    render.say(line)


@checklist_app.command("revise")
@common.handle_errors
def checklist_revise(
    name: str = typer.Argument(..., help="Checklist name or id."),
    item: list[str] = typer.Option(..., "--item", "-i", help="The full new list, one --item each, in order."),
    because_of: str | None = typer.Option(
        None, "--because-of", help="The failure that prompted it (required)."
    ),
    reason: str = typer.Option("", "--reason", help="What this changes and why (required)."),
    lesson: str | None = typer.Option(None, "--lesson", help="The lesson behind it (optional)."),
    author: str | None = typer.Option(None, "--author", help="Who wrote it (id, handle or e-mail)."),
) -> None:
    """Write a new version. It must name the failure that prompted it."""
    with common.unit() as session:
        rev = checklists.revise_checklist(
            session,
            name,
            items=item,
            reason=reason,
            failure_id=because_of,
            lesson_id=lesson,
            author=author,
            viewer=LOCAL,
        )
        line = f"{rev.checklist.name} is now v{rev.version} (because of failure #{rev.failure_ref})"
    render.say(line)


@checklist_app.command("list")
@common.handle_errors
def checklist_list(
    kind: str | None = typer.Option(None, "--kind", help="checklist, template or decision-criteria."),
    as_json: bool = JSON,
) -> None:
    """List checklists with their current version and the failures that shaped them."""
    with common.unit() as session:
        rows = [
            checklists.checklist_out(session, c, viewer=LOCAL)
            for c in checklists.list_checklists(session, kind=kind, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(rows)
        return
    grid = render.table("id", "name", "kind", "version", "items", "shaped by")
    for c in rows:
        render.row(
            grid, c.id, c.name, c.kind, f"v{c.version}", len(c.items), " ".join(f"#{i}" for i in c.shaped_by)
        )
    render.out(grid)
    render.hint(
        render.plural(len(rows), "checklist")
        if rows
        else "none yet: lessonloop checklist add NAME --item ..."
    )


@checklist_app.command("show")
@common.handle_errors
def checklist_show(
    name: str = typer.Argument(..., help="Checklist name or id."),
    version: int | None = typer.Option(None, "--version", "-v", help="A version (default: the latest)."),
    as_json: bool = JSON,
) -> None:
    """Show a version of a checklist: its items, why it was written and what prompted it."""
    with common.unit() as session:
        rev = checklists.get_revision(session, name, version, viewer=LOCAL)
        out = checklists.revision_out(session, rev, viewer=LOCAL)
        latest = rev.checklist.latest.version
    if as_json:
        common.print_json(out)
        return
    render.out(render.panel(_revision_view(out), f"{out.checklist} v{out.version} (latest v{latest})"))


@checklist_app.command("diff")
@common.handle_errors
def checklist_diff(
    name: str = typer.Argument(..., help="Checklist name or id."),
    old: int = typer.Argument(..., help="The older version."),
    new: int = typer.Argument(..., help="The newer version."),
) -> None:
    """A unified diff of the items of two versions."""
    with common.unit() as session:
        diff = checklists.diff_versions(session, name, old, new, viewer=LOCAL)
    if diff:
        _write(diff)
    else:
        render.hint("no differences")


@checklist_app.command("history")
@common.handle_errors
def checklist_history(
    name: str = typer.Argument(..., help="Checklist name or id."), as_json: bool = JSON
) -> None:
    """Every version: when, by whom, why, and which failure prompted it."""
    with common.unit() as session:
        revs = [
            checklists.revision_out(session, r, viewer=LOCAL)
            for r in checklists.checklist_history(session, name, viewer=LOCAL)
        ]
        shaped = checklists.shaping_failures(session, name, viewer=LOCAL)
    if as_json:
        common.print_json({"revisions": revs, "shaped_by": shaped})
        return
    grid = render.table("version", "written", "author", "because of", "items", "reason")
    for r in revs:
        because = "" if r.failure_id is None else f"#{r.failure_id} {r.failure_title or '(deleted)'}"
        render.row(
            grid, f"v{r.version}", render.when(r.created_at), r.author or "", because, len(r.items), r.reason
        )
    render.out(grid)
    if shaped:
        render.hint("shaped by failures " + ", ".join(f"#{i}" for i in shaped))


@app.command("changed-because")
@common.handle_errors
def changed_because_cmd(
    failure_id: int = typer.Argument(..., help="Failure id."),
    as_json: bool = JSON,
) -> None:
    """What changed because of a failure: checklist revisions and guardrails it prompted."""
    with common.unit() as session:
        result = changed_because(session, failure_id, viewer=LOCAL)
    if as_json:
        common.print_json(result)
        return
    title = f"failure #{result.failure_id}" + (
        f": {result.failure_title}" if result.failure_title else " (deleted)"
    )
    render.say(f"Changed because of {title}", "bold")
    if result.revisions:
        grid = render.table("checklist", "kind", "version", "reason")
        for r in result.revisions:
            render.row(grid, r.checklist, r.kind, f"v{r.version}", r.reason)
        render.out(grid)
    if result.guardrails:
        grid = render.table("guardrail", "title", "state", "owner")
        for g in result.guardrails:
            render.row(grid, g.id, g.title, g.state, g.owner)
        render.out(grid)
    if not result.revisions and not result.guardrails:
        render.hint(
            f"nothing yet: lessonloop checklist revise NAME --item ... --because-of {failure_id} --reason ..."
        )


# -- guardrails ---------------------------------------------------------------------------------


@guardrail_app.command("add")
@common.handle_errors
def guardrail_add(
    title: str = typer.Argument(..., help="What is restricted, e.g. 'No Friday deploys'."),
    owner: str = typer.Option(..., "--owner", help="Who decides to renew or retire it (required)."),
    until: str = typer.Option(..., "--until", help="Expiry date (YYYY-MM-DD, +30d, +4w)."),
    rollback: str = typer.Option(..., "--rollback", help="How to go back to normal (required)."),
    reason: str = typer.Option("", "--reason", help="Why it is needed."),
    team: str | None = typer.Option(None, "--team", help="The team it applies to."),
    failure: str | None = typer.Option(None, "--failure", help="The failure that prompted it."),
) -> None:
    """Add a guardrail with an owner, an expiry date and a rollback plan."""
    with common.unit() as session:
        g = guardrails.add_guardrail(
            session,
            title=title,
            owner=owner,
            expires_on=until,
            rollback_plan=rollback,
            reason=reason,
            team=team,
            failure_id=failure,
            viewer=LOCAL,
        )
        line = (
            f"added guardrail {g.id}: {g.title} (owner {g.owner.handle}, expires {g.expires_on.isoformat()})"
        )
    render.say(line)


@guardrail_app.command("list")
@common.handle_errors
def guardrail_list(
    team: str | None = typer.Option(None, "--team", help="Only this team's."),
    owner: str | None = typer.Option(None, "--owner", help="Only this owner's."),
    status: str | None = typer.Option(
        None, "--status", help="active, expired, renewed or retired (default: all but retired)."
    ),
    as_json: bool = JSON,
) -> None:
    """Guardrails, the soonest expiry first; expired ones say they need a decision."""
    with common.unit() as session:
        rows = [
            guardrails.guardrail_out(session, g, viewer=LOCAL)
            for g in guardrails.list_guardrails(session, team=team, owner=owner, status=status, viewer=LOCAL)
        ]
    if as_json:
        common.print_json(rows)
        return
    grid = render.table("id", "title", "state", "owner", "team", "expires", "because of")
    for g in rows:
        state = render.text(g.state, "bold red" if g.status == "expired" else "")
        because = f"#{g.failure_id}" if g.failure_id is not None else ""
        render.row(grid, g.id, g.title, state, g.owner, g.team or "", g.expires_on.isoformat(), because)
    render.out(grid)
    waiting = sum(g.status == "expired" for g in rows)
    summary = render.plural(len(rows), "guardrail") + (f", {waiting} need a decision" if waiting else "")
    render.hint(
        summary if rows else "none: lessonloop guardrail add TITLE --owner ... --until ... --rollback ..."
    )


@guardrail_app.command("show")
@common.handle_errors
def guardrail_show(
    guardrail_id: int = typer.Argument(..., help="Guardrail id."), as_json: bool = JSON
) -> None:
    """A guardrail with its rollback plan and decision log."""
    with common.unit() as session:
        g = guardrails.guardrail_out(
            session, guardrails.get_guardrail(session, guardrail_id, viewer=LOCAL), viewer=LOCAL
        )
    if as_json:
        common.print_json(g)
        return
    because = f"failure #{g.failure_id} ({g.failure_title})" if g.failure_id is not None else ""
    body = render.fields(
        [
            ("state", render.text(g.state, "bold red" if g.status == "expired" else "")),
            ("owner", g.owner),
            ("team", g.team),
            ("reason", g.reason),
            ("because of", because),
            ("since", g.starts_on.isoformat()),
            ("expires", g.expires_on.isoformat()),
            ("rollback plan", g.rollback_plan),
        ]
    )
    parts: list[RenderableType] = [body]
    for d in g.decisions:
        change = f"{d.previous_expiry.isoformat()} → {d.new_expiry.isoformat()}" if d.new_expiry else ""
        who = f" by {d.decided_by}" if d.decided_by else ""
        line = f"{d.decision} {render.when(d.decided_at)}{who} {change}: {d.reason}"
        parts.append(render.text(" ".join(line.split()), "dim"))
    render.out(render.panel(Group(*parts), f"Guardrail {g.id}: {g.title}"))


@guardrail_app.command("renew")
@common.handle_errors
def guardrail_renew(
    guardrail_id: int = typer.Argument(..., help="Guardrail id."),
    until: str = typer.Option(..., "--until", help="The new expiry date."),
    reason: str = typer.Option(..., "--reason", help="Why it is still needed."),
    by: str | None = typer.Option(None, "--by", help="Who decided (id, handle or e-mail)."),
) -> None:
    """Keep a guardrail (expired or not) until a new date, saying why."""
    with common.unit() as session:
        g = guardrails.renew_guardrail(
            session, guardrail_id, expires_on=until, reason=reason, by=by, viewer=LOCAL
        )
        line = f"renewed guardrail {g.id} until {g.expires_on.isoformat()}"
    render.say(line)


@guardrail_app.command("retire")
@common.handle_errors
def guardrail_retire(
    guardrail_id: int = typer.Argument(..., help="Guardrail id."),
    reason: str = typer.Option(..., "--reason", help="Why it can end (risk gone, fix verified...)."),
    by: str | None = typer.Option(None, "--by", help="Who decided (id, handle or e-mail)."),
) -> None:
    """Retire a guardrail explicitly, saying why."""
    with common.unit() as session:
        g = guardrails.retire_guardrail(session, guardrail_id, reason=reason, by=by, viewer=LOCAL)
        line = f"retired guardrail {g.id}: {g.title}"
    render.say(line)


# -- recognition --------------------------------------------------------------------------------


@recognition_app.command("add")
@common.handle_errors
def recognition_add(
    person: str = typer.Argument(..., help="Who is recognised (id, handle or e-mail)."),
    kind: str = typer.Option(..., "--kind", help="candid-review, validated-fix, shared-lesson or win."),
    note: str = typer.Option("", "--note", help="What they did."),
    by: str | None = typer.Option(None, "--by", help="Who gives it."),
    team: str | None = typer.Option(None, "--team", help="Team (default: the person's only team)."),
    failure: str | None = typer.Option(None, "--failure", help="The failure it is about."),
    lesson: str | None = typer.Option(None, "--lesson", help="The lesson it is about."),
    experiment: str | None = typer.Option(None, "--experiment", help="The experiment it is about."),
) -> None:
    """Recognise someone for learning and correction, not only for wins."""
    with common.unit() as session:
        r = recognition.recognise(
            session,
            person=person,
            kind=kind,
            note=note,
            by=by,
            team=team,
            failure_id=failure,
            lesson_id=lesson,
            experiment_id=experiment,
            viewer=LOCAL,
        )
        line = f"recognised {r.person.handle} for {r.kind} (id {r.id})"
    render.say(line)


@guardrail_app.command("edit")
@common.handle_errors
def guardrail_edit(
    guardrail_id: int = typer.Argument(..., help="Guardrail id."),
    title: str | None = typer.Option(None, "--title", help="What is restricted."),
    owner: str | None = typer.Option(None, "--owner", help="The new owner (id, handle or e-mail)."),
    until: str | None = typer.Option(None, "--until", help="A corrected expiry (a live guardrail)."),
    rollback_plan: str | None = typer.Option(None, "--rollback-plan", help="How to go back."),
    reason: str | None = typer.Option(None, "--reason", help="Why it is in force."),
) -> None:
    """Correct a guardrail's text, owner, expiry, rollback plan or reason (only what you pass)."""
    given = {
        "title": title,
        "owner": owner,
        "expires_on": until,
        "rollback_plan": rollback_plan,
        "reason": reason,
    }
    command = parse_command(EditGuardrail, {k: v for k, v in given.items() if v is not None})
    with common.unit() as session:
        g = guardrails.edit_guardrail(session, guardrail_id, command.changes(), viewer=LOCAL)
        line = f"edited guardrail {g.id}: {g.title}, owner {g.owner.handle}, until {g.expires_on.isoformat()}"
    render.say(line)


@recognition_app.command("list")
@common.handle_errors
def recognition_list(
    team: str | None = typer.Option(None, "--team", help="Given within this team or to its members."),
    person: str | None = typer.Option(None, "--person", help="Given to this person."),
    kind: str | None = typer.Option(None, "--kind", help="Only this kind."),
    since: str | None = typer.Option(None, "--since", help="From this date on (YYYY-MM-DD)."),
    as_json: bool = JSON,
) -> None:
    """Recognition, the newest first."""
    with common.unit() as session:
        rows = [
            recognition.recognition_out(r)
            for r in recognition.list_recognitions(
                session, team=team, person=person, kind=kind, since=since, viewer=LOCAL
            )
        ]
    if as_json:
        common.print_json(rows)
        return
    grid = render.table("id", "when", "person", "kind", "by", "team", "note")
    for r in rows:
        render.row(
            grid, r.id, render.when(r.created_at), r.person, r.kind, r.given_by or "", r.team or "", r.note
        )
    render.out(grid)
    render.hint(
        render.plural(len(rows), "recognition")
        if rows
        else "none yet: lessonloop recognition add PERSON --kind ..."
    )


@recognition_app.command("edit")
@common.handle_errors
def recognition_edit(
    recognition_id: int = typer.Argument(..., help="Recognition id."),
    note: str = typer.Option(..., "--note", help="What they did, corrected."),
) -> None:
    """Correct what a recognition says."""
    command = parse_command(EditRecognition, {"note": note})
    with common.unit() as session:
        recognition.edit_recognition(session, recognition_id, note=command.note, viewer=LOCAL)
    render.say(f"corrected recognition {recognition_id}")


@recognition_app.command("delete")
@common.handle_errors
def recognition_delete(recognition_id: int = typer.Argument(..., help="Recognition id.")) -> None:
    """Delete a recognition given by mistake (the history keeps what it said)."""
    with common.unit() as session:
        recognition.delete_recognition(session, recognition_id, viewer=LOCAL)
    render.say(f"deleted recognition {recognition_id}")


@recognition_app.command("counts")
@common.handle_errors
def recognition_counts_cmd(
    team: str | None = typer.Option(None, "--team", help="Only this team."),
    since: str | None = typer.Option(None, "--since", help="From this date on (YYYY-MM-DD)."),
    as_json: bool = JSON,
) -> None:
    """How much recognition, by kind and by person."""
    from lessonloop.people.service import get_team

    with common.unit() as session:
        team_id = get_team(session, team, viewer=LOCAL).id if team else None
        counts = recognition.recognition_counts(session, team_id=team_id, since=since, viewer=LOCAL)
    if as_json:
        common.print_json(counts)
        return
    grid = render.table("kind", "count")
    for kind_name, n in counts["by_kind"].items():
        render.row(grid, kind_name, n)
    render.out(grid)
    people = render.table("person", "count")
    for handle, n in counts["by_person"].items():
        render.row(people, handle, n)
    if counts["by_person"]:
        render.out(people)
    render.hint(f"{counts['total']} in all")


# -- digest and post-mortem ---------------------------------------------------------------------


@app.command("digest")
@common.handle_errors
def digest_cmd(
    team: str = typer.Argument(..., help="Team id or name."),
    week_ending: str | None = typer.Option(
        None, "--week-ending", help="Last day of the week (default: last Sunday)."
    ),
    html: bool = typer.Option(False, "--html", help="Print the HTML e-mail body instead of Markdown."),
    send: bool = typer.Option(False, "--send", help="Also queue it for every member of the team."),
    as_json: bool = JSON,
) -> None:
    """A team's weekly digest, as a member of the team may see it."""
    with common.unit() as session:
        digest = digests.build_team_digest(session, team, week_ending=week_ending, viewer=LOCAL)
        queued = (
            digests.send_team_digest(session, team, week_ending=digest.data.week_ending, viewer=LOCAL)
            if send
            else None
        )
    if as_json:
        common.print_json(digest.data)
    else:
        _write(digest.html if html else digest.markdown)
    if queued is not None:
        common.err_console.print(f"queued for {render.plural(queued, 'member')}", highlight=False)


@app.command("postmortem")
@common.handle_errors
def postmortem_cmd(
    failure_id: int = typer.Argument(..., help="Failure id."),
    fmt: str = typer.Option("md", "--format", "-f", help="md (Markdown) or html (printable)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Export a failure's review as a post-mortem document."""
    with common.unit() as session:
        document = postmortem.export_postmortem(session, failure_id, fmt=fmt, viewer=LOCAL)
    if output is None:
        _write(document)
        return
    output.write_text(document, encoding="utf-8")
    render.say(f"wrote {output} ({len(document.encode('utf-8'))} bytes)")

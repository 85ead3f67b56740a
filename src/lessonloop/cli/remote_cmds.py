"""``lessonloop remote``: the CLI against a lessonloop server, with an API token.

    lessonloop token create --user ana --name laptop          # on the server (shown once)
    lessonloop remote login --server https://ll.example.com   # asks for the token, checks it
    lessonloop remote log "Checkout v2 missed the launch date" --team Payments
    lessonloop remote failures --status observed
    lessonloop remote search "vendor date"
    lessonloop remote api GET /metrics --param team=Payments   # any endpoint, like `gh api`

Every command answers with what the server lets the token's person see; the local database is
not touched. ``LESSONLOOP_SERVER`` and ``LESSONLOOP_TOKEN`` override the stored sign-in.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.errors import Invalid
from lessonloop.remote import client

remote_app = typer.Typer(help="Work against a lessonloop server with an API token.", no_args_is_help=True)
app.add_typer(remote_app, name="remote")


def _pairs(values: list[str] | None, option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise Invalid(f"{item!r} is not KEY=VALUE", field=option)
        out.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


@remote_app.command("login")
@common.handle_errors
def login(
    server: str = typer.Option(..., "--server", help="The server's address, e.g. https://ll.example.com."),
    token: str = typer.Option(
        None, "--token", envvar="LESSONLOOP_TOKEN", help="An API token (asked for, hidden, when left out)."
    ),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow plain http to a host other than this one."
    ),
) -> None:
    """Check a token against the server and remember both (in a file only you can read)."""
    address = client.normalise_server(server, allow_insecure=insecure)
    if not token:
        token = typer.prompt("API token", hide_input=True)
    remote = client.Remote(address, token.strip())
    me = client.request(remote, "GET", "/me")
    path = client.save(remote)
    common.console.print(
        f"signed in to {address} as {me['person']['handle']} ({me['person']['name']}); saved in {path}",
        highlight=False,
    )


@remote_app.command("logout")
@common.handle_errors
def logout() -> None:
    """Forget the stored sign-in (revoke the token on the server with `lessonloop token revoke`)."""
    common.console.print("signed out" if client.forget() else "not signed in", highlight=False)


@remote_app.command("whoami")
@common.handle_errors
def whoami(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Who the stored token signs in as, and their teams."""
    remote = client.load()
    me = client.request(remote, "GET", "/me")
    if as_json:
        common.print_json(me)
        return
    teams = ", ".join(f"{t['team']} ({t['role']})" for t in me["teams"]) or "no team"
    admin = ", org admin" if me["is_admin"] else ""
    common.console.print(
        f"{me['person']['handle']} on {remote.server}: {teams}{admin}", highlight=False, soft_wrap=True
    )


@remote_app.command("api")
@common.handle_errors
def api(
    method: str = typer.Argument(..., help="GET, POST, PATCH, PUT or DELETE."),
    path: str = typer.Argument(..., help="A path under /api/v1, e.g. /failures/12/overview."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Query parameter KEY=VALUE (repeatable)."),
    field: list[str] = typer.Option(None, "--field", "-f", help="JSON body field KEY=VALUE (repeatable)."),
    body: str = typer.Option(None, "--input", help="A JSON body: a file, or '-' for stdin."),
) -> None:
    """Call any endpoint and print its JSON (the OpenAPI document is at /api/v1/openapi.json)."""
    verb = method.upper()
    if verb not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
        raise Invalid(f"{method!r} is not GET, POST, PATCH, PUT or DELETE", field="method")
    payload: Any = None
    if body is not None:
        text = sys.stdin.read() if body == "-" else Path(body).read_text(encoding="utf-8")
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise Invalid(f"not JSON: {exc}", field="input") from None
    elif field:
        payload = _pairs(field, "field")
    result = client.request(client.load(), verb, path, params=_pairs(param, "param"), body=payload)
    if isinstance(result, str):
        sys.stdout.write(result if result.endswith("\n") else result + "\n")
    elif result is not None:
        common.print_json(result)


@remote_app.command("log")
@common.handle_errors
def log(
    title: str = typer.Argument(..., help="What failed, in one line."),
    observation: str = typer.Option("", "--what", "-w", help="What happened, in a few sentences."),
    kind: str = typer.Option(None, "--kind", help="missed-deadline, handoff-breakdown, … (default other)."),
    severity: str = typer.Option(None, "--severity", help="low, medium, high or critical."),
    visibility: str = typer.Option(None, "--visibility", help="private, team or org."),
    team: str = typer.Option(None, "--team", help="Team id or name."),
    people: list[str] = typer.Option(None, "--person", help="Someone involved (repeatable)."),
    labels: list[str] = typer.Option(None, "--label", help="A cause label or tag (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Log a failure on the server, then show what it has seen like it before."""
    remote = client.load()
    body: dict[str, Any] = {"title": title, "observation": observation}
    for key, value in (("kind", kind), ("severity", severity), ("visibility", visibility), ("team", team)):
        if value:
            body[key] = value
    if people:
        body["people"] = people
    if labels:
        body["labels"] = labels
    failure = client.request(remote, "POST", "/failures", body=body)
    similar = client.request(remote, "GET", f"/failures/{failure['id']}/similar")
    if as_json:
        common.print_json({"failure": failure, **similar})
        return
    common.console.print(f"logged failure #{failure['id']}: {failure['title']}", highlight=False)
    if similar["matches"]:
        common.console.print("Have we seen this before?", style="bold")
        for m in similar["matches"]:
            cause = f" — root cause: {m['root_cause']}" if m.get("root_cause") else ""
            common.console.print(f"  #{m['id']} {m['title']}{cause}", highlight=False, soft_wrap=True)
    if similar.get("suggested_repeat"):
        rid = similar["suggested_repeat"]["failure_id"]
        common.console.print(
            f"It reads like a repeat of #{rid}: lessonloop remote api POST /failures/{failure['id']}/repeat "
            f"-f repeat_of={rid}",
            highlight=False,
            soft_wrap=True,
        )


@remote_app.command("failures")
@common.handle_errors
def failures(
    status: str = typer.Option(None, "--status", help="observed, in-review, acting, …"),
    team: str = typer.Option(None, "--team", help="Team id or name."),
    page: int = typer.Option(1, "--page", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The failures the server lets you see, the most recently detected first."""
    found = client.request(
        client.load(), "GET", "/failures", params={"status": status, "team": team, "page": page}
    )
    if as_json:
        common.print_json(found)
        return
    grid = render.table("id", "status", "severity", "detected", "title")
    for f in found["items"]:
        grid.add_row(str(f["id"]), f["status"], f["severity"], f["detected_at"][:10], f["title"])
    common.console.print(grid)
    common.console.print(
        f"page {found['page']} of {found['pages']} ({found['total']} failures)", highlight=False
    )


@remote_app.command("show")
@common.handle_errors
def show(failure_id: int, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """A failure with everything linked to it, as the server shows it to you."""
    overview = client.request(client.load(), "GET", f"/failures/{failure_id}/overview")
    if as_json:
        common.print_json(overview)
        return
    f = overview["failure"]
    common.console.print(f"#{f['id']} {f['title']}  [{f['status']}, {f['severity']}]", highlight=False)
    if f.get("observation"):
        common.console.print(f["observation"], highlight=False, soft_wrap=True)
    review = overview.get("review")
    if review:
        common.console.print(
            f"Root cause: {review.get('root_cause') or '—'}", highlight=False, soft_wrap=True
        )
    for a in overview.get("actions", []):
        common.console.print(
            f"  action #{a['id']} [{a['status']}] {a['title']} (due {a['due_date']})", highlight=False
        )


@remote_app.command("search")
@common.handle_errors
def search(
    query: str = typer.Argument(..., help="Words to look for."),
    limit: int = typer.Option(20, "--limit", min=1, max=100),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Full-text search on the server over what you may see."""
    hits = client.request(client.load(), "GET", "/search", params={"q": query, "limit": limit})
    if as_json:
        common.print_json(hits)
        return
    grid = render.table("kind", "id", "title", "snippet")
    for h in hits:
        grid.add_row(h["kind"], str(h["id"]), h["title"], h["snippet"].replace("[", "\\["))
    common.console.print(grid)
    common.console.print(f"{len(hits)} result{'' if len(hits) == 1 else 's'}", highlight=False)

"""Learning signals from the command line: "have we seen this before?", cause labels, the coach.

    lessonloop similar "Bad config push took down the edge routers"
    lessonloop similar --from-file queries.jsonl --limit 5 --json      # one JSON line per query
    lessonloop similar --semantic "Storage on the DB host ran full"    # needs lessonloop[semantic]
    lessonloop embed --all                                             # backfill embeddings
    lessonloop suggest-labels "Disk filled up on the primary database" --json
    lessonloop coach review.md --json                                  # or - for stdin

Each command is one read-only transaction (``embed`` writes, one transaction per batch).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from lessonloop.cli import common, render
from lessonloop.cli.app import app
from lessonloop.cli.common import LOCAL
from lessonloop.errors import Invalid
from lessonloop.failures.models import Failure
from lessonloop.fields import parse_command
from lessonloop.limits import COACH_TEXT_MAX, TITLE_MAX
from lessonloop.signals.schemas import CoachReview, FindSimilar
from lessonloop.signals.similar import SimilarMatch, similar_failures, suggest_labels

JSON = typer.Option(False, "--json", help="Print JSON instead of text.")


def _split(text: str) -> tuple[str, str]:
    """First line is the title, the rest the text."""
    title, _, rest = text.strip().partition("\n")
    return title.strip(), rest.strip()


def _read_text(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8")


def _read_at_most(source: str, characters: int) -> str:
    """The first ``characters`` of the file (or stdin): a huge input is never read whole."""
    if source == "-":
        return sys.stdin.read(characters)
    with Path(source).open(encoding="utf-8") as stream:
        return stream.read(characters)


def _query_text(text: str | None) -> str:
    if text is None or not text.strip():
        raise Invalid("is required: describe the failure (or pass - to read it from stdin)", field="text")
    return _read_text("-") if text.strip() == "-" else text


def _queries(stream: TextIO) -> Iterator[tuple[Any, str, str]]:
    """``(id, title, text)`` per non-blank JSONL line; the id defaults to the line number."""
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Invalid(f"line {number}: not JSON ({exc.msg})", field="from-file") from None
        if not isinstance(data, dict):
            raise Invalid(f"line {number}: expected an object with id, title, text", field="from-file")
        title, text = str(data.get("title") or ""), str(data.get("text") or "")
        if not title.strip() and not text.strip():
            raise Invalid(f"line {number}: needs a title or a text", field="from-file")
        yield data.get("id", number), title, text


def _own_failure(session: Session, query_id: Any) -> list[int]:
    """Leave-one-out: a query whose id is a stored failure's external id never matches itself."""
    if query_id is None:
        return []
    found = session.scalar(select(Failure.id).where(Failure.external_id == str(query_id)))
    return [found] if found is not None else []


def _require_semantic() -> None:
    """The semantic extra, or one line on stderr (escaped: ``[semantic]`` is not markup)."""
    from rich.markup import escape

    from lessonloop.signals.semantic import SemanticUnavailable, require

    try:
        require()
    except SemanticUnavailable as exc:
        common.err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _render_matches(matches: list[SimilarMatch]) -> None:
    if not matches:
        render.say("nothing similar found")
        return
    for rank, m in enumerate(matches, 1):
        ref = f"#{m.id}" + (f" ({m.external_id})" if m.external_id else "")
        render.out(render.text(f"{rank}. {m.title}", "bold"))
        detail = f"   {ref}  score {m.score:.2f}"
        if m.semantic is not None:
            detail += f"  cosine {m.semantic:.2f}"
        if m.matched_terms:
            detail += f"  matched: {', '.join(m.matched_terms)}"
        render.out(render.text(detail, "dim"))
        for name, value in (
            ("labels", ", ".join(m.labels)),
            ("root cause", m.root_cause or ""),
            ("action", m.primary_action or ""),
            ("lessons", "; ".join(m.lessons)),
        ):
            if value:
                render.out(render.text(f"   {name}: {value}"))
    render.hint(f"open one with: lessonloop show {matches[0].id}")


@app.command("similar")
@common.handle_errors
def similar(
    text: str | None = typer.Argument(
        None, help="The failure: first line is the title, the rest the text (- reads stdin)."
    ),
    limit: int = typer.Option(5, "--limit", "-n", min=1, max=200, help="At most this many matches."),
    label: list[str] | None = typer.Option(
        None, "--label", "-l", help="A cause label the failure is known to have (repeatable)."
    ),
    from_file: str | None = typer.Option(
        None,
        "--from-file",
        help='JSONL of {"id", "title", "text"} queries (- for stdin); prints one JSON line per query.',
    ),
    semantic: bool = typer.Option(
        False,
        "--semantic",
        help="Blend in sentence-embedding similarity (needs the optional semantic extra; see lessonloop embed).",
    ),
    as_json: bool = JSON,
) -> None:
    """Have we seen this before? The logged failures most like this one, with what was learned."""
    if semantic:
        _require_semantic()
    if from_file is not None:
        if text is not None:
            raise Invalid("give either TEXT or --from-file, not both", field="from-file")
        _similar_batch(from_file, limit, semantic=semantic)
        return
    title, body = _split(_query_text(text))
    command = parse_command(FindSimilar, {"title": title, "text": body, "labels": label or []})
    with common.unit() as session:
        matches = similar_failures(
            session,
            **command.model_dump(exclude={"limit"}),  # the CLI's own --limit: up to 200
            limit=limit,
            semantic=semantic,
            viewer=LOCAL,
        )
    if as_json:
        common.print_json(
            {"query": {"title": title, "text": body}, "matches": [m.to_dict() for m in matches]}
        )
    else:
        _render_matches(matches)


def _similar_batch(source: str, limit: int, *, semantic: bool = False) -> None:
    """One line ``{"query": ID, "matches": [{"external_id", "id", "score"}, ...]}`` per query."""
    stream: TextIO = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")  # noqa: SIM115
    try:
        with common.unit() as session:
            for query_id, title, body in _queries(stream):
                matches = similar_failures(
                    session,
                    title=title or body[:TITLE_MAX],
                    text=body,
                    limit=limit,
                    exclude_ids=_own_failure(session, query_id),
                    semantic=semantic,
                    viewer=LOCAL,
                )
                line = {
                    "query": query_id,
                    "matches": [
                        {"external_id": m.external_id, "id": m.id, "score": round(m.score, 6)}
                        for m in matches
                    ],
                }
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
                sys.stdout.flush()
    finally:
        if stream is not sys.stdin:
            stream.close()


@app.command("embed")
@common.handle_errors
def embed(
    ids: list[int] | None = typer.Argument(None, help="Failure ids to embed (or --all)."),
    all_: bool = typer.Option(False, "--all", help="Every failure whose embedding is missing or stale."),
    force: bool = typer.Option(False, "--force", help="Embed again even when the text is unchanged."),
    batch: int = typer.Option(256, "--batch", min=1, max=10_000, help="Failures per transaction."),
) -> None:
    """Store sentence embeddings for similar --semantic (needs the optional semantic extra)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from lessonloop.signals import semantic as sem

    _require_semantic()
    if bool(ids) == all_:
        raise Invalid("give failure ids or --all (not both)", field="ids")
    if ids:
        with common.unit() as session:
            done = embedded = 0
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                embedded += sem.embed_failures(session, chunk, force=force)
                done += len(chunk)
        render.say(f"{render.plural(embedded, 'embedding')} written for {render.plural(done, 'failure')}")
        return
    with Progress(
        TextColumn("embedding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=common.err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("embed", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        sem.get_encoder()  # load the model before the bar starts counting
        done, embedded = sem.embed_all(lambda: common.unit(), force=force, batch=batch, progress=step)
    render.say(
        f"{render.plural(embedded, 'embedding')} written, "
        f"{render.plural(done - embedded, 'failure')} already current"
    )


@app.command("suggest-labels")
@common.handle_errors
def suggest_labels_cmd(
    text: str | None = typer.Argument(
        None, help="The failure: first line is the title, the rest the text (- reads stdin)."
    ),
    k: int = typer.Option(3, "--k", "-k", min=1, max=50, help="At most this many labels."),
    as_json: bool = JSON,
) -> None:
    """Cause labels for a failure, voted by the most similar labelled failures."""
    title, body = _split(_query_text(text))
    with common.unit() as session:
        labels = suggest_labels(session, title=title, text=body, k=k, viewer=LOCAL)
    if as_json:
        common.print_json({"labels": [{"label": name, "score": round(score, 4)} for name, score in labels]})
        return
    if not labels:
        render.say("no labelled failure is similar enough to suggest a label")
        return
    grid = render.table("label", "share of votes")
    for name, score in labels:
        render.row(grid, name, f"{score:.0%}")
    render.out(grid)


@app.command("coach")
@common.handle_errors
def coach(
    source: str = typer.Argument(..., help="A file with review text, or - for stdin."),
    as_json: bool = JSON,
) -> None:
    """Flag blame language and vague actions in review text, with a rewrite for each."""
    from lessonloop.signals.coach import BLAME, VAGUE_ACTION, check_size, coach_text, use_model

    use_model(common.settings().coach_model)  # LESSONLOOP_COACH_MODEL: checked before reading
    text = _read_at_most(source, COACH_TEXT_MAX + 1)  # one more: enough to tell it is too long
    check_size(len(text))  # the coach's own words for too much text
    command = parse_command(CoachReview, {"text": text})
    findings = coach_text(command.text or "")
    summary = {
        "blame": sum(1 for f in findings if f.kind == BLAME),
        "vague_action": sum(1 for f in findings if f.kind == VAGUE_ACTION),
        "clean": not findings,
    }
    if as_json:
        common.print_json({"findings": [f.to_dict() for f in findings], "summary": summary})
        return
    if not findings:
        render.say("no blame language or vague actions found")
        return
    # Lines counted as the findings advance (they come in order), not from the top for each one.
    line, counted_to = 1, 0
    for f in findings:
        line += text.count("\n", counted_to, f.start)
        counted_to = f.start
        column = f.start - (text.rfind("\n", 0, f.start) + 1) + 1
        render.out(render.text(f"{line}:{column} {f.kind}: {f.text!r}", "bold"))
        render.out(render.text(f"   why: {f.why}"))
        render.out(render.text(f"   try: {f.suggestion}", "green"))
    render.say(
        f"{render.plural(summary['blame'], 'blame finding')}, "
        f"{render.plural(summary['vague_action'], 'vague action')}"
    )

"""Schema conformance of the JSON API: schemathesis against every operation, as each role.

A demo workspace (:mod:`lessonloop.demo`) is built in a temporary database, plus an outsider in
no team and a team admin who is not an org admin. Each role gets an API token and its own copy of
the workspace, and every operation in ``/api/v1/openapi.json`` is sent ``--examples`` generated
requests (valid and invalid) straight to the ASGI app — nothing leaves the process. Each answer
is checked for: no 5xx, a status code the document declares, the declared content type, a body
matching the declared schema, and the declared headers.

    .venv/bin/python bench/schema_fuzz.py --examples 20
    .venv/bin/python bench/schema_fuzz.py --examples 20 --pg   # PostgreSQL too (127.0.0.1)
    .venv/bin/python bench/schema_fuzz.py --examples 5 --role ben --operation "GET /api/v1/failures"

The exit status is 1 when anything was found. A finding is one distinct (operation, check,
problem) per role; ``-v`` prints each with a reproducing request.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

#: (label, handle): who the API is fuzzed as. ``olga`` and ``tomas`` are added to the demo.
ROLES: list[tuple[str, str]] = [
    ("org admin", "amara"),
    ("team admin", "tomas"),
    ("team lead", "chen"),
    ("member", "ben"),
    ("member of two teams", "dana"),
    ("outsider", "olga"),
]


def checks() -> dict[str, Callable[..., Any]]:
    """The checks by name: every response must pass each of them."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return {
        "not_a_server_error": not_a_server_error,
        "status_code_conformance": status_code_conformance,
        "content_type_conformance": content_type_conformance,
        "response_schema_conformance": response_schema_conformance,
        "response_headers_conformance": response_headers_conformance,
    }


SERVER_ERROR = "not_a_server_error"


@dataclass
class Finding:
    role: str
    operation: str
    check: str
    title: str
    example: str


@dataclass
class RoleResult:
    role: str
    handle: str
    operations: int = 0
    requests: int = 0
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)

    def server_errors(self) -> int:
        return sum(1 for f in self.findings.values() if f.check == SERVER_ERROR)

    def violations(self) -> Counter[str]:
        return Counter(f.check for f in self.findings.values() if f.check != SERVER_ERROR)


# --- the workspace --------------------------------------------------------------------------


def build_workspace(db: Any) -> dict[str, str]:
    """The demo, an outsider and a team admin in ``db``; an API token for each role."""
    from lessonloop.accounts.service import issue_token
    from lessonloop.demo import DEMO, build_demo
    from lessonloop.people.service import add_member, add_person, get_person

    with db.unit(actor="schema-fuzz") as session:
        build_demo(session)
        add_person(session, name="Olga Outsider", handle="olga", email="olga@example.com", viewer=DEMO)
        tomas = add_person(
            session, name="Tomas Admin", handle="tomas", email="tomas@example.com", viewer=DEMO
        )
        add_member(session, team="Customer Success", person=tomas, role="admin", viewer=DEMO)
        tokens = {}
        for _label, handle in ROLES:
            _token, plaintext = issue_token(session, get_person(session, handle, viewer=DEMO), "fuzz")
            tokens[handle] = plaintext
    return tokens


@contextmanager
def sqlite_copies(workdir: Path) -> Iterator[tuple[dict[str, str], Callable[[], Any]]]:
    """The workspace built once in a SQLite file; each call of the factory opens a fresh copy."""
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    template = workdir / "template.db"
    db = Database.open(Settings(database_url=f"sqlite:///{template}"))
    tokens = build_workspace(db)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    opened: list[Any] = []

    def fresh() -> Any:
        path = workdir / f"copy-{len(opened)}.db"
        shutil.copy(template, path)
        opened.append(Database.open(Settings(database_url=f"sqlite:///{path}"), migrate=False))
        return opened[-1]

    try:
        yield tokens, fresh
    finally:
        for each in opened:
            each.close()


@contextmanager
def pg_copies(admin_url: str) -> Iterator[tuple[dict[str, str], Callable[[], Any]]]:
    """The same on PostgreSQL: a template database, copied with ``CREATE DATABASE … TEMPLATE``."""
    from sqlalchemy import create_engine, text

    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = f"lessonloop_fuzz_{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_template"]
    base = admin_url.rsplit("/", 1)[0]
    opened: list[Any] = []
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{names[0]}"'))
    try:
        db = Database.open(Settings(database_url=f"{base}/{names[0]}"))
        tokens = build_workspace(db)
        db.close()

        def fresh() -> Any:
            names.append(f"{prefix}_{len(names)}")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{names[-1]}" TEMPLATE "{names[0]}"'))
            opened.append(Database.open(Settings(database_url=f"{base}/{names[-1]}"), migrate=False))
            return opened[-1]

        yield tokens, fresh
    finally:
        for each in opened:
            each.close()
        with admin.connect() as conn:
            for name in reversed(names):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the fuzzing ----------------------------------------------------------------------------


def operations_of(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())  # an operation the document cannot describe raises here
    return sorted(found, key=lambda op: (op.path, op.method))


def label_of(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def _example(case: Any, response: Any) -> str:
    body = "" if type(case.body).__name__ == "NotSet" else case.body
    text = response.text if hasattr(response, "text") else ""
    return (
        f"{case.method} {case.formatted_path} query={case.query!r} body={str(body)[:300]!r}"
        f" → {response.status_code} {response.headers.get('content-type', '')!r} {text[:300]!r}"
    )


def check_answer(case: Any, headers: dict[str, str], result: RoleResult, **send: Any) -> None:
    """Send ``case`` and run every check on the answer; each failing check is recorded once
    per distinct problem. Nothing is raised: the run goes on."""
    from schemathesis.core.failures import Failure, FailureGroup

    label = label_of(case.operation)

    def record(check: str, title: str, example: str) -> None:
        key = (label, check, title)
        if key not in result.findings:
            result.findings[key] = Finding(result.handle, label, check, title, example)

    result.requests += 1
    try:
        response = case.call(headers=headers, **send)
    except Exception as exc:  # the app raised through the transport: a server error
        record(SERVER_ERROR, f"{type(exc).__name__}: {exc}"[:200], f"{case.method} {case.formatted_path}")
        return
    for name, check in checks().items():
        try:
            case.validate_response(response, checks=[check], headers=headers)
        except Failure as failure:
            record(name, failure.title, _example(case, response))
        except FailureGroup as group:  # one check can report several problems
            for each in group.exceptions:
                record(name, each.title, _example(case, response))


#: Fixed requests every operation also gets, whatever is generated: an id that does not exist
#: (the error answers' content type), and for a body, bytes that are not UTF-8 and JSON holding a
#: lone surrogate (text neither database can store).
PROBE_BODIES: list[bytes | None] = [None, b"\xff", b'{"title": "x\\ud800", "name": "x\\u0000"}']


def probe_operation(operation: Any, token: str, result: RoleResult) -> None:
    names = re.findall(r"{(\w+)}", operation.path)
    case = operation.Case(path_parameters=dict.fromkeys(names, "999999"))
    headers = {"Authorization": f"Bearer {token}"}
    for body in PROBE_BODIES if len(operation.body) else PROBE_BODIES[:1]:
        if body is None:
            check_answer(case, headers, result)
        else:
            check_answer(case, {**headers, "Content-Type": "application/json"}, result, data=body)


def fuzz_operation(
    operation: Any, token: str, result: RoleResult, *, examples: int, seed: int | None
) -> None:
    """The fixed probes, then ``examples`` generated requests (valid and invalid)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    headers = {"Authorization": f"Bearer {token}"}
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=seed is None,  # by default the same requests every run: findings reproduce
        database=None,
        phases=[Phase.generate],  # nothing is raised, so there is nothing to replay or shrink
    )
    def run(case: Any) -> None:
        check_answer(case, headers, result)

    if seed is not None:
        run = hypothesis_seed(seed)(run)
    probe_operation(operation, token, result)
    run()
    result.operations += 1


def fuzz_role(
    db: Any,
    label: str,
    handle: str,
    token: str,
    *,
    examples: int,
    seed: int | None = None,
    only: str | None = None,
) -> RoleResult:
    import schemathesis

    from lessonloop.app import create_app

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(database=db))
    result = RoleResult(role=label, handle=handle)
    for operation in operations_of(schema):
        if only is None or label_of(operation) == only:
            fuzz_operation(operation, token, result, examples=examples, seed=seed)
    return result


# --- the report -----------------------------------------------------------------------------


def report(backend: str, results: list[RoleResult], *, verbose: bool, out: Any = sys.stdout) -> None:
    names = [n for n in checks() if n != SERVER_ERROR]
    print(f"\n[{backend}]", file=out)
    head = f"{'role':<28}{'ops':>5}{'requests':>10}{'5xx':>6}{'violations':>12}  by check"
    print(head, file=out)
    total_violations: Counter[str] = Counter()
    for r in results:
        by = r.violations()
        total_violations.update(by)
        detail = ", ".join(f"{n}={by[n]}" for n in names if by[n]) or "-"
        who = f"{r.role} ({r.handle})"
        print(
            f"{who:<28}{r.operations:>5}{r.requests:>10}{r.server_errors():>6}{sum(by.values()):>12}  {detail}",
            file=out,
        )
    errors = sum(r.server_errors() for r in results)
    detail = ", ".join(f"{n}={total_violations[n]}" for n in names if total_violations[n]) or "-"
    print(
        f"{'total':<28}{sum(r.operations for r in results):>5}{sum(r.requests for r in results):>10}"
        f"{errors:>6}{sum(total_violations.values()):>12}  {detail}",
        file=out,
    )
    if verbose:
        for r in results:
            for f in r.findings.values():
                print(f"  {f.role}: {f.operation} [{f.check}] {f.title}\n      {f.example}", file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=20, help="generated requests per operation per role")
    ap.add_argument("--pg", action="store_true", help="also run on PostgreSQL")
    ap.add_argument("--pg-url", default=PG_ADMIN_URL, help="an admin URL (databases are created and dropped)")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--seed", type=int, default=None, help="random examples from this seed (default: fixed)")
    ap.add_argument("--role", default=None, help="only this handle")
    ap.add_argument("--operation", default=None, help='only this operation, e.g. "GET /api/v1/failures"')
    ap.add_argument("-v", "--verbose", action="store_true", help="print each finding")
    args = ap.parse_args()

    import logging

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)

    logging.disable(logging.CRITICAL)  # the app logs each refused request; the table is the output
    backends: list[tuple[str, Callable[[], Any]]] = []
    workdir = Path(tempfile.mkdtemp(prefix="lessonloop-fuzz-"))
    if not args.no_sqlite:
        backends.append(("sqlite", lambda: sqlite_copies(workdir)))
    if args.pg:
        backends.append(("postgresql", lambda: pg_copies(args.pg_url)))
    found = 0
    try:
        for backend, workspace in backends:
            started = time.monotonic()
            with workspace() as (tokens, fresh):
                results = [
                    fuzz_role(
                        fresh(),
                        label,
                        handle,
                        tokens[handle],
                        examples=args.examples,
                        seed=args.seed,
                        only=args.operation,
                    )
                    for label, handle in ROLES
                    if args.role in (None, handle)
                ]
            report(backend, results, verbose=args.verbose)
            print(f"({time.monotonic() - started:.0f} s, {args.examples} examples per operation)")
            found += sum(len(r.findings) for r in results)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

"""lessonloop signals benchmark: "similar failures", suggested labels and the learning metrics
at 10k and 100k failures on SQLite.

For each size it builds (once) or reuses a synthetic workspace in ``--workdir``:

1. ``bench/generate.py`` writes the public-postmortems JSONL (cached in ``bench/out/``);
2. ``lessonloop import FILE --format public-postmortems`` loads it (a subprocess, as a user would);
3. :func:`generate.enrich` adds teams, people, reviews, assumptions, actions and lessons;
4. :func:`follow_through` adds what the metrics also read and ``enrich`` does not write:
   experiments with observations on done primary actions, "did this work?" checks on their
   review date, recognition, people involved in failures (visibility rule "own") and confirmed
   repeats (4% of failures, half of them repeating a failure that has a lesson).

then measures, in this process, each call in its own session:

* ``similar_failures`` (lexical, ``limit=5``) over ``--queries`` whole synthetic write-ups
  (title + text, drawn from the generator's vocabulary with another random stream, so not in
  the database) and as many short titles; p50/p95 wall clock and CPU time, with the time spent
  in each stage of the lookup;
* ``suggest_labels`` over the write-ups;
* ``compute_metrics`` for the whole workspace and for one team, with ``viewer=None`` and with a
  team member's viewer (median and worst of ``--metrics-reps`` runs, wall and CPU);
* with ``--semantic`` (needs the ``semantic`` extra in the running interpreter; never installed
  into the project's .venv): ``similar_failures(semantic=True)`` too. Every failure gets a
  stored vector first, but a **synthetic** one (seeded random unit vectors, ``text_hash``
  ``synthetic``, so ``lessonloop embed --all`` would replace them): the lookup's cost (query
  embedding by the real model, one matrix-vector product, BM25F over the extra candidates) does
  not depend on what the stored vectors say; the ranking quality is measured by
  ``bench/similar_eval.py``, not here.

CPU time is this process's (``time.process_time``): SQLite runs in-process, so it includes the
database's work. The machine is shared: the load average is recorded beside every section.

    .venv/bin/python bench/signals_bench.py                          # 10k and 100k, lexical
    .venv/bin/python bench/signals_bench.py --sizes 10000 --queries 50
    PYTHONPATH=src /tmp/llsem/bin/python bench/signals_bench.py --semantic   # extra in another venv

Results: a table on stdout and JSON in ``bench/out/signals-bench.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import generate
from lessonloop.access.actor import SystemActor

OUT_DIR = Path(__file__).resolve().parent / "out"
CLI = [sys.executable, "-c", "from lessonloop.cli.main import main; main()"]
TARGETS = {"similar_p95_ms": 50.0, "semantic_p95_ms": 150.0, "metrics_ms": 500.0}
#: Bump when the workspace recipe changes, so an old cached database is rebuilt.
WORKSPACE_VERSION = 2


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def stats(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
    }


# ------------------------------------------------------------------------------------------------
# Workspace
# ------------------------------------------------------------------------------------------------


def follow_through(db: Any, seed: int) -> dict[str, int]:
    """Experiments, review-date checks, recognition and involved people, written with bulk
    Core inserts (no history: they stand for records a team would have written over time)."""
    from sqlalchemy import bindparam, insert, select, update

    from lessonloop.actions.models import Action
    from lessonloop.experiments.models import Experiment, Observation
    from lessonloop.failures.models import Failure, failure_people
    from lessonloop.followthrough.models import Recognition, RecognitionKind
    from lessonloop.lessons.models import Lesson, lesson_failures
    from lessonloop.people.models import Membership
    from lessonloop.worker.models import ActionCheck

    rng = random.Random(seed + 505)
    counts: dict[str, int] = {}
    with db.unit(actor="bench") as s:
        done = s.execute(
            select(Action.id, Action.review_date, Action.owner_id).where(
                Action.is_primary.is_(True), Action.status == "done"
            )
        ).all()
        failures = s.execute(select(Failure.id, Failure.team_id, Failure.reporter_id)).all()
        people = [r[0] for r in s.execute(select(Membership.person_id).order_by(Membership.person_id))]
        member_team = dict(s.execute(select(Membership.person_id, Membership.team_id)).all())
        lessons = list(s.scalars(select(Lesson.id)))
        detected = dict(s.execute(select(Failure.id, Failure.detected_at)).all())
        lessoned = set(s.scalars(select(lesson_failures.c.failure_id)))
    experiments, checks = [], []
    for aid, review_date, owner in done:
        start = review_date - dt.timedelta(days=14)
        if rng.random() < 0.35:
            experiments.append(
                {
                    "action_id": aid,
                    "hypothesis": "The fix keeps the error rate under the threshold.",
                    "metric": "error rate %",
                    "comparator": "<=",
                    "threshold": 1.0,
                    "start_date": start,
                    "end_date": review_date,
                }
            )
        if rng.random() < 0.5:
            for k in range(rng.choice((1, 1, 2))):
                checks.append(
                    {
                        "action_id": aid,
                        "person_id": owner,
                        "worked": rng.choices(("yes", "partly", "no"), weights=(6, 2, 2))[0],
                        "note": "",
                        "checked_at": dt.datetime.combine(review_date, dt.time(9 + k), dt.UTC),
                    }
                )
    with db.engine.begin() as conn:
        if experiments:
            conn.execute(insert(Experiment), experiments)
        eids = [(r[0], r[1]) for r in conn.execute(select(Experiment.id, Experiment.start_date))]
        observations = [
            {
                "experiment_id": eid,
                "value": round(rng.uniform(0.0, 2.5), 2),
                "observed_at": dt.datetime.combine(start + dt.timedelta(days=k), dt.time(12), dt.UTC),
                "note": "",
            }
            for eid, start in eids
            for k in range(rng.randrange(0, 5))
        ]
        if observations:
            conn.execute(insert(Observation), observations)
        if checks:
            conn.execute(insert(ActionCheck), checks)
        kinds = [k.value for k in RecognitionKind]
        recognitions = []
        for _ in range(max(1, len(failures) // 40)):
            person = rng.choice(people)
            kind = rng.choice(kinds)
            fid = rng.choice(failures)[0]
            recognitions.append(
                {
                    "person_id": person,
                    "team_id": member_team.get(person),
                    "kind": kind,
                    "note": "",
                    "given_by_id": rng.choice(people),
                    "failure_id": fid if kind in ("candid-review", "win") else None,
                    "lesson_id": rng.choice(lessons) if kind == "shared-lesson" and lessons else None,
                    "experiment_id": rng.choice(eids)[0] if kind == "validated-fix" and eids else None,
                    "created_at": dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
                    + dt.timedelta(days=rng.randrange(0, 11 * 365)),
                }
            )
        conn.execute(insert(Recognition), recognitions)
        involved = {
            (fid, rng.choice(people)) for fid, _t, _r in rng.sample(failures, max(1, len(failures) // 10))
        }
        conn.execute(insert(failure_people), [{"failure_id": f, "person_id": p} for f, p in sorted(involved)])
        # Confirmed repeats: 4% of failures repeat an earlier one, half of those a failure with a
        # lesson (so "lessons not implemented" has something to count).
        order = [fid for fid, _d in sorted(detected.items(), key=lambda kv: (kv[1], kv[0]))]
        rank = {fid: i for i, fid in enumerate(order)}
        with_lesson = sorted(lessoned)
        repeats = []
        for fid in rng.sample(order[1:], len(order) // 25):
            earlier = [f for f in with_lesson if rank[f] < rank[fid]] if rng.random() < 0.5 else []
            target = rng.choice(earlier[-50:]) if earlier else order[rng.randrange(0, rank[fid])]
            repeats.append({"fid": fid, "repeat_of": target})
        failures_table: Any = Failure.__table__
        conn.execute(
            update(failures_table)
            .where(failures_table.c.id == bindparam("fid"))
            .values(repeat_of_id=bindparam("repeat_of")),
            repeats,
        )
    counts.update(
        experiments=len(experiments),
        observations=len(observations),
        action_checks=len(checks),
        recognitions=len(recognitions),
        involved=len(involved),
        repeats=len(repeats),
    )
    return counts


def workspace(workdir: Path, n: int, seed: int, rebuild: bool = False) -> tuple[str, dict[str, Any]]:
    """The SQLite URL of the ``n``-failure workspace, built unless a complete one is cached."""
    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"signals-{n}-s{seed}.db"
    marker = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    if not rebuild and path.exists() and marker.exists():
        info = json.loads(marker.read_text())
        if info.get("version") == WORKSPACE_VERSION:
            Database.open(Settings(database_url=url)).close()  # newer migrations, if any
            log(f"reusing {path} ({path.stat().st_size / 1e6:.0f} MB)")
            return url, info
    for p in (path, marker, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)
    data = generate.dataset(n, seed)
    log(f"building {path} from {data.name}")
    Database.open(Settings(database_url=url)).close()
    t0 = time.perf_counter()
    src = str(Path(__file__).resolve().parents[1] / "src")
    argv = [
        *CLI,
        "--database-url",
        url,
        "--as",
        "bench",
        "import",
        str(data),
        "--format",
        "public-postmortems",
    ]
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"import failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    imported = time.perf_counter() - t0
    db = Database.open(Settings(database_url=url), migrate=False)
    try:
        t1 = time.perf_counter()
        counts = generate.enrich(db, seed=seed)
        counts |= follow_through(db, seed)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        enriched = time.perf_counter() - t1
    finally:
        db.close()
    info = {
        "version": WORKSPACE_VERSION,
        "failures": n,
        "seed": seed,
        **counts,
        "import_seconds": round(imported, 1),
        "enrich_seconds": round(enriched, 1),
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    marker.write_text(json.dumps(info, indent=2))
    log(f"built {path} in {imported + enriched:.0f} s: {counts}")
    return url, info


# ------------------------------------------------------------------------------------------------
# Queries
# ------------------------------------------------------------------------------------------------


def writeups(count: int, seed: int, stream: int) -> list[dict[str, Any]]:
    """Synthetic write-ups from the generator's vocabulary, with a random stream the workspace
    never used (so none of them is in the database)."""
    v = generate.Vocabulary(seed)
    rng = random.Random(seed * 1000 + stream)
    return [generate.record(v, rng, 9_000_000 + stream * 10_000 + i, seed) for i in range(count)]


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------

#: Stages of a lookup, timed by wrapping these functions of lessonloop.signals.similar (those
#: that exist: the module may change).
STAGES = ["_excluded_docs", "_document_frequencies", "_candidate_ids", "_load_docs", "_details"]


class StageTimer:
    def __init__(self) -> None:
        self.current: dict[str, float] = defaultdict(float)
        self.per_call: dict[str, list[float]] = defaultdict(list)
        self._undo: list[Callable[[], None]] = []

    @contextlib.contextmanager
    def installed(self, module: Any, names: list[str]) -> Iterator[None]:
        for name in names:
            original = getattr(module, name, None)
            if original is None:
                continue

            def wrapper(*a: Any, _f: Any = original, _n: str = name, **kw: Any) -> Any:
                t = time.perf_counter()
                try:
                    return _f(*a, **kw)
                finally:
                    self.current[_n] += time.perf_counter() - t

            setattr(module, name, wrapper)
            self._undo.append(lambda n=name, o=original: setattr(module, n, o))
        try:
            yield
        finally:
            for undo in reversed(self._undo):
                undo()
            self._undo.clear()

    def start(self) -> None:
        self.current = defaultdict(float)

    def stop(self, total: float) -> None:
        staged = 0.0
        for name, seconds in self.current.items():
            self.per_call[name].append(seconds * 1000)
            staged += seconds
        self.per_call["(ranking in Python)"].append((total - staged) * 1000)

    def summary(self) -> dict[str, dict[str, float]]:
        return {name: stats(ms) for name, ms in self.per_call.items()}


def timed_calls(
    db: Any, calls: list[Callable[[Any], Any]], stages: StageTimer | None = None
) -> tuple[list[float], list[float], list[Any]]:
    """Run each call in its own session; wall and CPU ms per call, and the results."""
    walls, cpus, results = [], [], []
    for call in calls:
        with db.unit() as s:
            if stages is not None:
                stages.start()
            c0, t0 = time.process_time(), time.perf_counter()
            results.append(call(s))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if stages is not None:
                stages.stop(wall)
        walls.append(wall * 1000)
        cpus.append(cpu * 1000)
    return walls, cpus, results


_CAUSED_BY = re.compile(r"^(.*?) caused by (.*?)\.")


def _topic(text: str | None) -> tuple[str, str] | None:
    """(system + symptom, cause) from a generated write-up's first sentence
    ("{System} {symptom} caused by {cause}." -- see generate.record)."""
    m = _CAUSED_BY.match(text or "")
    return (m.group(1).lower(), m.group(2).lower()) if m else None


def topic_precision(db: Any, queries: list[dict[str, Any]], results: list[Any]) -> dict[str, float]:
    """Precision@5 by topic, a relevance proxy the synthetic data allows (its cause labels are
    random): a match is relevant when its write-up names the same cause, or the same system and
    symptom, as the query's."""
    from sqlalchemy import select

    from lessonloop.failures.models import Failure

    ids = sorted({m.id for res in results for m in res})
    topics: dict[int, tuple[str, str] | None] = {}
    with db.unit() as s:
        for start in range(0, len(ids), 900):
            for fid, observation in s.execute(
                select(Failure.id, Failure.observation).where(Failure.id.in_(ids[start : start + 900]))
            ):
                topics[fid] = _topic(observation)
    cause, system = [], []
    for q, res in zip(queries, results, strict=True):
        want = _topic(q["text"])
        if want is None or not res:
            continue
        got = [topics.get(m.id) for m in res]
        system.append(sum(1 for t in got if t and t[0] == want[0]) / len(res))
        cause.append(sum(1 for t in got if t and t[1] == want[1]) / len(res))
    return {
        "same_cause_p5": round(statistics.fmean(cause), 3) if cause else float("nan"),
        "same_system_symptom_p5": round(statistics.fmean(system), 3) if system else float("nan"),
    }


def bench_similar(
    db: Any,
    texts: list[dict[str, Any]],
    titles: list[dict[str, Any]],
    warm: list[dict[str, Any]],
    agreement: bool = True,
) -> dict[str, Any]:
    from lessonloop.signals import similar

    for r in warm:  # caches (stemmer, page cache) as in a running server
        with db.unit() as s:
            similar.similar_failures(s, title=r["title"], text=r["text"], viewer=SystemActor("bench"))
    out: dict[str, Any] = {}
    results_by_kind: dict[str, list[Any]] = {}
    for name, recs, with_text in (("writeups", texts, True), ("titles", titles, False)):
        stage = StageTimer()
        la = loadavg()
        with stage.installed(similar, STAGES):
            walls, cpus, results = timed_calls(
                db,
                [
                    (
                        lambda s, r=r, t=with_text: similar.similar_failures(
                            s,
                            title=r["title"],
                            text=r["text"] if t else "",
                            limit=5,
                            viewer=SystemActor("bench"),
                        )
                    )
                    for r in recs
                ],
                stage,
            )
        results_by_kind[name] = results
        out[name] = {
            "wall": stats(walls),
            "cpu": stats(cpus),
            "stages_wall": stage.summary(),
            "empty_results": sum(1 for r in results if not r),
            "mean_query_chars": round(
                statistics.fmean(len(r["title"]) + (len(r["text"]) + 1 if with_text else 0) for r in recs)
            ),
            "loadavg": [la, loadavg()],
        }
        if with_text:
            out[name]["topic_precision"] = topic_precision(db, recs, results)
        log(f"  similar {name}: p50 {out[name]['wall']['p50_ms']} ms, p95 {out[name]['wall']['p95_ms']} ms")
    if agreement and hasattr(similar, "RETRIEVAL_POSTINGS"):
        # The same lookups with unbounded candidate retrieval (the plain OR-query of the 40
        # heaviest terms, no phrases): how often does the bounded retrieval change the top 5?
        bound = similar.RETRIEVAL_POSTINGS
        phrases = getattr(similar, "RETRIEVAL_PHRASES", 0)
        similar.RETRIEVAL_POSTINGS = 10**12
        similar.RETRIEVAL_PHRASES = 0
        try:
            for name, recs, with_text in (("writeups", texts, True), ("titles", titles, False)):
                walls, _c, full = timed_calls(
                    db,
                    [
                        (
                            lambda s, r=r, t=with_text: similar.similar_failures(
                                s,
                                title=r["title"],
                                text=r["text"] if t else "",
                                limit=5,
                                viewer=SystemActor("bench"),
                            )
                        )
                        for r in recs
                    ],
                )
                got = results_by_kind[name]
                overlap = [
                    len({m.id for m in a} & {m.id for m in b}) / max(len(b), 1) if b else float(not a)
                    for a, b in zip(got, full, strict=True)
                ]
                out[name]["vs_unbounded_retrieval"] = {
                    "mean_top5_overlap": round(statistics.fmean(overlap), 3),
                    "same_top1": round(
                        statistics.fmean(
                            float((a[0].id if a else None) == (b[0].id if b else None))
                            for a, b in zip(got, full, strict=True)
                        ),
                        3,
                    ),
                    "identical_top5": round(
                        statistics.fmean(
                            float([m.id for m in a] == [m.id for m in b])
                            for a, b in zip(got, full, strict=True)
                        ),
                        3,
                    ),
                    # Final scores of the top 5 found / of the unbounded top 5: how good the matches
                    # are by the ranking's own measure (1.0: as good; near-ties make overlap low).
                    "score_ratio_top5": round(
                        statistics.fmean(
                            sum(m.score for m in a) / sum(m.score for m in b)
                            for a, b in zip(got, full, strict=True)
                            if b
                        ),
                        3,
                    ),
                    "worst_score_ratio_top5": round(
                        min(
                            sum(m.score for m in a) / sum(m.score for m in b)
                            for a, b in zip(got, full, strict=True)
                            if b
                        ),
                        3,
                    ),
                    "unbounded_wall": stats(walls),
                }
                if with_text:
                    out[name]["vs_unbounded_retrieval"]["unbounded_topic_precision"] = topic_precision(
                        db, recs, full
                    )
                log(f"  {name} vs unbounded retrieval: {out[name]['vs_unbounded_retrieval']}")
        finally:
            similar.RETRIEVAL_POSTINGS = bound
            similar.RETRIEVAL_PHRASES = phrases
    la = loadavg()
    walls, cpus, _ = timed_calls(
        db,
        [
            (
                lambda s, r=r: similar.suggest_labels(
                    s, title=r["title"], text=r["text"], viewer=SystemActor("bench")
                )
            )
            for r in texts
        ],
    )
    out["suggest_labels"] = {"wall": stats(walls), "cpu": stats(cpus), "loadavg": [la, loadavg()]}
    log(
        f"  suggest_labels: p50 {out['suggest_labels']['wall']['p50_ms']} ms, p95 {out['suggest_labels']['wall']['p95_ms']} ms"
    )
    return out


def synthetic_embeddings(db: Any, seed: int) -> dict[str, Any]:
    """Give every failure without a stored vector a seeded random unit vector (see the module
    docstring: the lookup's cost does not depend on the vectors' content)."""
    import numpy as np
    from sqlalchemy import insert, select

    from lessonloop.failures.models import Failure
    from lessonloop.signals import semantic
    from lessonloop.signals.models import FailureEmbedding

    with db.unit() as s:
        have = set(s.scalars(select(FailureEmbedding.failure_id)))
        todo = [fid for fid in s.scalars(select(Failure.id).order_by(Failure.id)) if fid not in have]
    rng = np.random.default_rng(seed)
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(todo), 5000):
        chunk = todo[start : start + 5000]
        vectors = rng.standard_normal((len(chunk), semantic.DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with db.engine.begin() as conn:
            conn.execute(
                insert(FailureEmbedding),
                [
                    {
                        "failure_id": fid,
                        "model": semantic.MODEL_NAME,
                        "dim": semantic.DIM,
                        "vector": semantic.to_bytes(vectors[i]),
                        "text_hash": "synthetic",
                        "updated_at": now,
                    }
                    for i, fid in enumerate(chunk)
                ],
            )
    return {"stored_before": len(have), "added_synthetic": len(todo)}


def bench_semantic(
    db: Any, seed: int, texts: list[dict[str, Any]], titles: list[dict[str, Any]]
) -> dict[str, Any]:
    from lessonloop.signals import semantic, similar

    if not semantic.available():
        return {"measured": False, "why": f"semantic extra missing: {', '.join(semantic.missing())}"}
    out: dict[str, Any] = {"measured": True, "vectors": synthetic_embeddings(db, seed)}
    t0 = time.perf_counter()
    encoder = semantic.get_encoder()
    out["model_load_s"] = round(time.perf_counter() - t0, 1)
    with db.unit() as s:
        t0 = time.perf_counter()
        semantic.matrix(s)
        out["matrix_load_ms"] = round((time.perf_counter() - t0) * 1000)
    walls = []
    for r in texts:
        t0 = time.perf_counter()
        encoder.encode([semantic.embedding_text(r["title"], r["text"])])
        walls.append((time.perf_counter() - t0) * 1000)
    out["query_embedding"] = {"wall": stats(walls)}
    for name, recs, with_text in (("writeups", texts, True), ("titles", titles, False)):
        la = loadavg()
        walls, cpus, _ = timed_calls(
            db,
            [
                (
                    lambda s, r=r, t=with_text: similar.similar_failures(
                        s,
                        title=r["title"],
                        text=r["text"] if t else "",
                        limit=5,
                        semantic=True,
                        viewer=SystemActor("bench"),
                    )
                )
                for r in recs
            ],
        )
        out[name] = {"wall": stats(walls), "cpu": stats(cpus), "loadavg": [la, loadavg()]}
        log(f"  semantic {name}: p50 {out[name]['wall']['p50_ms']} ms, p95 {out[name]['wall']['p95_ms']} ms")
    return out


def bench_metrics(db: Any, reps: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from lessonloop.access.actor import SystemActor
    from lessonloop.access.viewer import viewer_for
    from lessonloop.failures.models import Failure
    from lessonloop.people.models import Membership
    from lessonloop.signals.metrics import compute_metrics

    with db.unit() as s:
        # A plain member of the team with the most failures (a lead sees more, an admin all).
        team_id = s.execute(
            select(Failure.team_id, func.count()).group_by(Failure.team_id).order_by(func.count().desc())
        ).first()[0]
        person_id = s.scalar(
            select(Membership.person_id)
            .where(Membership.team_id == team_id, Membership.role == "member")
            .order_by(Membership.person_id)
        )
        viewer = viewer_for(s, person_id)
    cases = {
        "workspace, viewer=None": {},
        "workspace, member viewer": {"viewer": viewer},
        "one team, viewer=None": {"team_id": team_id},
        "one team, member viewer": {"team_id": team_id, "viewer": viewer},
    }
    out: dict[str, Any] = {"team_id": team_id, "viewer_person_id": person_id, "cases": {}}
    with db.unit() as s:
        compute_metrics(s, viewer=SystemActor("bench"))  # warm the page cache
    for name, kwargs in cases.items():
        la = loadavg()
        walls, cpus, results = timed_calls(
            db, [(lambda s, kw=kwargs: compute_metrics(s, **kw)) for _ in range(reps)]
        )
        out["cases"][name] = {
            "wall_median_ms": round(statistics.median(walls), 1),
            "wall_max_ms": round(max(walls), 1),
            "cpu_median_ms": round(statistics.median(cpus), 1),
            "cpu_max_ms": round(max(cpus), 1),
            "failures_counted": results[-1]["totals"]["failures"],
            "loadavg": [la, loadavg()],
        }
        log(f"  metrics {name}: median {out['cases'][name]['wall_median_ms']} ms")
    return out


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    lines = []
    head = f"{'failures':>9}  {'what':<56} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8}"
    lines += [head, "-" * len(head)]
    for n, r in results["sizes"].items():
        sim = r["similar"]
        rows = [
            ("similar, write-ups (lexical)", sim["writeups"]),
            ("similar, short titles (lexical)", sim["titles"]),
            ("suggest_labels, write-ups", sim["suggest_labels"]),
        ]
        sem = r.get("semantic") or {}
        if sem.get("measured"):
            rows += [
                ("similar, write-ups (semantic)", sem["writeups"]),
                ("similar, short titles (semantic)", sem["titles"]),
            ]
        for label, s in rows:
            cpu = s.get("cpu") or {}
            lines.append(
                f"{int(n):>9,}  {label:<56} {s['wall']['p50_ms']:>8} {s['wall']['p95_ms']:>8} "
                f"{cpu.get('p50_ms', ''):>8} {cpu.get('p95_ms', ''):>8}"
            )
        if sem.get("measured"):
            q = sem["query_embedding"]["wall"]
            lines.append(
                f"{int(n):>9,}  {'  of which: embedding the query':<56} {q['p50_ms']:>8} {q['p95_ms']:>8}"
            )
        for stage, s in sim["writeups"]["stages_wall"].items():
            lines.append(f"{int(n):>9,}  {'  write-up stage ' + stage:<56} {s['p50_ms']:>8} {s['p95_ms']:>8}")
        for name, c in r["metrics"]["cases"].items():
            lines.append(
                f"{int(n):>9,}  {'compute_metrics, ' + name + ' (median/max)':<56} "
                f"{c['wall_median_ms']:>8} {c['wall_max_ms']:>8} {c['cpu_median_ms']:>8} {c['cpu_max_ms']:>8}"
            )
    return "\n".join(lines)


def git_commit() -> str | None:
    with contextlib.suppress(Exception):
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated failure counts")
    ap.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    ap.add_argument("--workdir", type=Path, default=OUT_DIR / "signals", help="where the workspaces live")
    ap.add_argument("--rebuild", action="store_true", help="build the workspaces again")
    ap.add_argument("--queries", type=int, default=200, help="write-ups and titles each (default 200)")
    ap.add_argument("--metrics-reps", type=int, default=5)
    ap.add_argument("--semantic", action="store_true", help="also semantic ranking (needs the extra)")
    ap.add_argument("--skip-similar", action="store_true")
    ap.add_argument(
        "--no-agreement", action="store_true", help="skip comparing with unbounded candidate retrieval"
    )
    ap.add_argument("--skip-metrics", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT_DIR / "signals-bench.json")
    args = ap.parse_args(argv)

    import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
    from lessonloop.settings import Settings
    from lessonloop.store.engine import Database

    texts = writeups(args.queries, args.seed, stream=1)
    titles = writeups(args.queries, args.seed, stream=2)
    warm = writeups(10, args.seed, stream=3)
    c0, t0 = time.process_time(), time.perf_counter()
    results: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": git_commit(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "targets": TARGETS,
        "queries": args.queries,
        "sizes": {},
    }
    for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
        url, info = workspace(args.workdir, n, args.seed, args.rebuild)
        db = Database.open(Settings(database_url=url), migrate=False)
        entry: dict[str, Any] = {"workspace": info}
        try:
            log(f"{n:,} failures: measuring")
            if not args.skip_similar:
                entry["similar"] = bench_similar(db, texts, titles, warm, not args.no_agreement)
            if args.semantic:
                entry["semantic"] = bench_semantic(db, args.seed, texts, titles)
            if not args.skip_metrics:
                entry["metrics"] = bench_metrics(db, args.metrics_reps)
        finally:
            db.close()
        results["sizes"][str(n)] = entry
    results["bench_wall_s"] = round(time.perf_counter() - t0, 1)
    results["bench_cpu_s"] = round(time.process_time() - c0, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    if not args.skip_similar and not args.skip_metrics:
        print(table(results))
    print(
        f"\nbench: {results['bench_wall_s']} s wall, {results['bench_cpu_s']} s CPU (this process); "
        f"JSON in {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

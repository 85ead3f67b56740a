"""Does "have we seen this before?" find the same failure told in other words?

``tests/signals/paraphrases.jsonl`` holds pairs of descriptions of one failure in different
words (abbreviations, synonyms; software and non-software teams), ``pair`` naming the pair, and
unrelated distractors (``pair`` null). All are stored in a fresh workspace; each member of a pair
is a query (title + text, itself left out) and a **hit** when its partner is among the top
:data:`TOP` matches. The pairs are split once into *dev* and *test* by a stable hash of the pair
name (:func:`split`): the synonym list (``lessonloop.signals.synonyms``) is extended by looking
at dev misses only, test measures what that generalises to.

    .venv/bin/python bench/similar_paraphrases.py [--no-synonyms] [--misses] [--json]

prints the hit rate per split (and how often the partner came first), with and without synonym folding (``--no-synonyms``: only
without); ``--misses`` lists the dev queries whose partner was not found.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
from lessonloop.access.actor import SystemActor
from lessonloop.failures.service import log_failure
from lessonloop.settings import Settings
from lessonloop.signals import similar, synonyms
from lessonloop.signals.similar import similar_failures
from lessonloop.store.engine import Database

PARAPHRASES = Path(__file__).resolve().parents[1] / "tests" / "signals" / "paraphrases.jsonl"
#: The partner must be among this many matches.
TOP = 3
#: One pair in this many goes to the test split.
TEST_SHARE = 3
ACTOR = SystemActor("paraphrase-eval")


def read(path: Path = PARAPHRASES) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def split(pair: str) -> str:
    """``"test"`` or ``"dev"``, fixed by the pair's name (SHA-256, not Python's salted hash)."""
    return "test" if int(hashlib.sha256(pair.encode()).hexdigest(), 16) % TEST_SHARE == 0 else "dev"


def load(session: Any, records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store every record as a failure (title, text as observation); record id → failure id."""
    return {
        rec["id"]: log_failure(
            session, title=rec["title"], observation=rec["text"], external_id=rec["id"], viewer=ACTOR
        ).id
        for rec in records
    }


@dataclass
class Score:
    queries: int = 0
    hits: int = 0
    first: int = 0  # the partner ranked first
    misses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.hits / self.queries if self.queries else 0.0


def evaluate(session: Any, records: Sequence[dict[str, Any]], ids: dict[str, int]) -> dict[str, Score]:
    """Hit rate at :data:`TOP` per split (``dev``, ``test``, ``all``)."""
    partners: dict[str, list[str]] = {}
    for rec in records:
        if rec.get("pair"):
            partners.setdefault(rec["pair"], []).append(rec["id"])
    scores = {name: Score() for name in ("dev", "test", "all")}
    for rec in records:
        pair = rec.get("pair")
        if not pair:
            continue
        (partner,) = [i for i in partners[pair] if i != rec["id"]]
        matches = similar_failures(
            session,
            title=rec["title"],
            text=rec["text"],
            limit=TOP,
            exclude_ids=[ids[rec["id"]]],
            viewer=ACTOR,
        )
        hit = ids[partner] in {m.id for m in matches}
        for name in (split(pair), "all"):
            scores[name].queries += 1
            scores[name].hits += hit
            scores[name].first += bool(matches) and matches[0].id == ids[partner]
            if not hit:
                top = ", ".join(m.external_id or str(m.id) for m in matches)
                scores[name].misses.append(f"{rec['id']} -> wanted {partner}, got [{top}]")
    return scores


@contextmanager
def synonyms_off() -> Iterator[None]:
    """Rank without synonym folding (the table emptied) for the duration."""
    saved = similar.SYNONYMS
    similar.SYNONYMS = synonyms.NONE
    try:
        yield
    finally:
        similar.SYNONYMS = saved


def run(records: Sequence[dict[str, Any]], *, fold: bool) -> dict[str, Score]:
    with tempfile.TemporaryDirectory(prefix="paraphrases-") as tmp:
        db = Database.open(Settings(database_url=f"sqlite:///{Path(tmp) / 'eval.db'}"))
        try:
            with db.unit(actor="paraphrase-eval") as session:
                ids = load(session, records)
            with db.unit(actor="paraphrase-eval") as session:
                if fold:
                    return evaluate(session, records, ids)
                with synonyms_off():
                    return evaluate(session, records, ids)
        finally:
            db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-synonyms", action="store_true", help="only the run without synonym folding")
    parser.add_argument("--misses", action="store_true", help="list the dev queries whose partner was missed")
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    args = parser.parse_args(argv)
    records = read()
    pairs = {r["pair"] for r in records if r.get("pair")}
    distractors = sum(1 for r in records if not r.get("pair"))
    runs = [("without synonyms", False)] + ([] if args.no_synonyms else [("with synonyms", True)])
    if not args.json:
        n_test = sum(1 for p in pairs if split(p) == "test")
        print(
            f"{len(pairs)} pairs ({len(pairs) - n_test} dev, {n_test} test), {distractors} distractors, "
            f"{len(synonyms.GROUPS)} synonym groups; partner in the top {TOP}:"
        )
    for name, fold in runs:
        scores = run(records, fold=fold)
        if args.json:
            print(
                json.dumps(
                    {"run": name}
                    | {k: {"queries": s.queries, "hits": s.hits, "first": s.first} for k, s in scores.items()}
                )
            )
            continue
        cells = "   ".join(
            f"{k} {s.rate:.3f} ({s.hits}/{s.queries}, first {s.first})" for k, s in scores.items()
        )
        print(f"  {name:<17} {cells}")
        if args.misses:
            for miss in scores["dev"].misses:
                print(f"      dev miss: {miss}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

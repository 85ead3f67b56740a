"""Evaluate "have we seen this before?" on the public post-mortem sets, leave-one-out.

For each JSONL file (default: every ``*.jsonl`` in ../shared/data), the records are imported
into a fresh temporary SQLite database with ``log_failure`` (title, text as observation,
categories as labels, id as external id, company, url: only what an import stores). Then each
record whose labels name a cause is a query against all the others:

* **precision@5**: of the top 5 matches, the share that has a cause label in common with the
  query (exact label, case-insensitive; ``Uncategorized`` / ``unknown`` never match). Fewer than
  5 matches count as misses.
* **label accuracy**: the top suggested label is one of the query's labels.

Baselines, computed in the same run on the same records and the same tokens (stop words
removed, Porter stems; the document is title + text, the query title + text, the query's own
record left out of the statistics, as for lessonloop):

* TF-IDF cosine (raw tf, smoothed idf, l2-normalised, as scikit-learn's defaults);
* BM25 (k1 = 1.2, b = 0.75, every query word once per occurrence);
* majority label (the most frequent cause label among the other records).

With the ``semantic`` extra installed (``pip install 'lessonloop[semantic]'``), two more columns:
``semantic`` (``similar_failures(..., semantic=True)``: BM25F blended with sentence-embedding
cosine, then cause agreement) and ``cosine`` (the 5 nearest by cosine alone, a baseline).
``--no-semantic`` leaves them out (NaN).

    .venv/bin/python bench/similar_eval.py [FILE.jsonl ...] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lessonloop.bootstrap  # noqa: F401  (wires storage before it is opened)
from lessonloop.access.actor import SystemActor
from lessonloop.failures.service import log_failure
from lessonloop.settings import Settings
from lessonloop.signals import semantic as sem
from lessonloop.signals import similar
from lessonloop.signals.similar import SimilarMatch, is_cause_label, similar_failures, suggest_labels
from lessonloop.signals.text import tokens
from lessonloop.store.engine import Database

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
K = 5


@dataclass
class Result:
    file: str
    records: int
    queries: int
    lessonloop_p5: float
    text_only_p5: float
    tfidf_p5: float
    bm25_p5: float
    lessonloop_label_acc: float
    majority_label_acc: float
    seconds: float
    semantic_p5: float = math.nan  # NaN without the semantic extra
    cosine_p5: float = math.nan
    # Diagnostics per method: the share of top-5 matches that have a cause label at all, and
    # the precision among those (how well the cause is matched once a cause is known).
    labelled_share: dict[str, float] = field(default_factory=dict)
    labelled_precision: dict[str, float] = field(default_factory=dict)

    @property
    def best_baseline(self) -> float:
        return max(self.tfidf_p5, self.bm25_p5)

    @property
    def ratio(self) -> float:
        return self.lessonloop_p5 / self.best_baseline if self.best_baseline else math.inf


def read_records(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def import_records(db: Database, records: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Store each record as a failure; returns external id → failure id."""
    ids: dict[str, int] = {}
    with db.unit(actor="similar-eval") as session:
        for rec in records:
            failure = log_failure(
                session,
                title=(rec.get("title") or rec["id"])[:300],
                observation=rec.get("text") or "",
                labels=rec.get("categories") or [],
                external_id=rec["id"],
                source=(rec.get("source") or None),
                company=rec.get("company") or None,
                url=rec.get("url") or None,
                viewer=SystemActor("bench"),
            )
            ids[rec["id"]] = failure.id
    return ids


def cause_labels(labels: Sequence[str]) -> set[str]:
    return {lbl.strip().lower() for lbl in labels if is_cause_label(lbl)}


def precision(query_labels: set[str], matched: Sequence[set[str]]) -> float:
    return sum(1 for labels in matched[:K] if labels & query_labels) / K


# --- baselines ----------------------------------------------------------------------------------


class Baselines:
    """TF-IDF cosine and BM25 over title + text, leave-one-out statistics."""

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.docs = [Counter(tokens(f"{r.get('title') or ''}\n{r.get('text') or ''}")) for r in records]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.df: Counter[str] = Counter()
        for doc in self.docs:
            self.df.update(doc.keys())

    def _stats(self, q: int) -> tuple[int, float]:
        n = len(self.docs) - 1
        return n, (sum(self.lengths) - self.lengths[q]) / n

    def tfidf(self, q: int) -> list[int]:
        n, _ = self._stats(q)

        own = self.docs[q]
        idf = {t: math.log((1 + n) / (1 + df - (1 if t in own else 0))) + 1 for t, df in self.df.items()}

        def vec(doc: Counter[str]) -> dict[str, float]:
            v = {t: c * idf[t] for t, c in doc.items()}
            norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
            return {t: x / norm for t, x in v.items()}

        qv = vec(self.docs[q])
        scores = []
        for i, doc in enumerate(self.docs):
            if i == q:
                continue
            dv = vec(doc)
            scores.append((sum(w * dv.get(t, 0.0) for t, w in qv.items()), i))
        return [i for s, i in sorted(scores, key=lambda x: (-x[0], x[1])) if s > 0][:K]

    def bm25(self, q: int, k1: float = 1.2, b: float = 0.75) -> list[int]:
        n, avgdl = self._stats(q)
        qdoc = self.docs[q]
        idf = {}
        for term in qdoc:
            df = self.df[term] - 1
            idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        scores = []
        for i, doc in enumerate(self.docs):
            if i == q:
                continue
            norm = k1 * (1 - b + b * self.lengths[i] / avgdl)
            s = sum(qtf * idf[t] * doc[t] * (k1 + 1) / (doc[t] + norm) for t, qtf in qdoc.items() if t in doc)
            scores.append((s, i))
        return [i for s, i in sorted(scores, key=lambda x: (-x[0], x[1])) if s > 0][:K]


# --- the run ------------------------------------------------------------------------------------


def evaluate(path: Path, *, progress: bool = False, extras: bool = True, semantic: bool = False) -> Result:
    """Leave-one-out over one file. ``extras=False`` skips the text-only ablation and the label
    suggestions (their figures are then NaN): precision@5 against the baselines only.
    ``semantic=True`` adds the semantic and cosine columns (needs the semantic extra)."""
    started = time.perf_counter()
    records = read_records(path)
    labels = [cause_labels(r.get("categories") or []) for r in records]
    queries = [i for i, lbls in enumerate(labels) if lbls]
    baselines = Baselines(records)
    methods = ["lessonloop", "text-only", "tfidf", "bm25"] if extras else ["lessonloop", "tfidf", "bm25"]
    if semantic:
        methods += ["semantic", "cosine"]
    tops: dict[str, list[tuple[set[str], list[set[str]]]]] = {m: [] for m in methods}
    acc_ll = acc_major = 0
    with tempfile.TemporaryDirectory(prefix="similar-eval-") as tmp:
        db = Database.open(Settings(database_url=f"sqlite:///{Path(tmp) / 'eval.db'}"))
        try:
            ids = import_records(db, records)
            if semantic:
                sem.clear_cache()
                sem.embed_all(db.unit)
                by_id = {fid: i for i, fid in enumerate(ids[r["id"]] for r in records)}
            with db.unit(actor="similar-eval") as session:
                for n, q in enumerate(queries, 1):
                    if progress and n % 50 == 0:
                        print(f"  {path.name}: {n}/{len(queries)}", file=sys.stderr)
                    rec = records[q]
                    own = [ids[rec["id"]]]
                    title, body = rec.get("title") or "", rec.get("text") or ""

                    def found(matches: Sequence[SimilarMatch]) -> list[set[str]]:
                        return [cause_labels(m.labels) for m in matches]

                    got = {
                        "lessonloop": found(
                            similar_failures(
                                session,
                                title=title,
                                text=body,
                                limit=K,
                                exclude_ids=own,
                                viewer=SystemActor("bench"),
                            )
                        ),
                        "tfidf": [labels[i] for i in baselines.tfidf(q)],
                        "bm25": [labels[i] for i in baselines.bm25(q)],
                    }
                    if semantic:
                        got["semantic"] = found(
                            similar_failures(
                                session,
                                title=title,
                                text=body,
                                limit=K,
                                exclude_ids=own,
                                semantic=True,
                                viewer=SystemActor("bench"),
                            )
                        )
                        near = sem.semantic_scores(session, title=title, text=body, exclude=own, k=K)
                        got["cosine"] = [labels[by_id[fid]] for fid in near.top]
                    if extras:
                        got["text-only"] = found(
                            similar_failures(
                                session,
                                title=title,
                                text=body,
                                limit=K,
                                exclude_ids=own,
                                cause_agreement=False,
                                viewer=SystemActor("bench"),
                            )
                        )
                        suggested = suggest_labels(
                            session, title=title, text=body, k=1, exclude_ids=own, viewer=SystemActor("bench")
                        )
                        if suggested and suggested[0][0].strip().lower() in labels[q]:
                            acc_ll += 1
                        counts = Counter(lbl for i, lbls in enumerate(labels) if i != q for lbl in lbls)
                        if counts and counts.most_common(1)[0][0] in labels[q]:
                            acc_major += 1
                    for method, matched in got.items():
                        tops[method].append((labels[q], matched[:K]))
        finally:
            db.close()
    nq = len(queries) or 1

    def p5(method: str) -> float:
        return sum(precision(q, m) for q, m in tops[method]) / nq if method in tops else math.nan

    share: dict[str, float] = {}
    among: dict[str, float] = {}
    for method, rows in tops.items():
        labelled = [(q, lbls) for q, matched in rows for lbls in matched if lbls]
        share[method] = len(labelled) / (K * nq)
        among[method] = sum(1 for q, lbls in labelled if q & lbls) / len(labelled) if labelled else math.nan
    return Result(
        file=path.name,
        records=len(records),
        queries=len(queries),
        lessonloop_p5=p5("lessonloop"),
        text_only_p5=p5("text-only"),
        tfidf_p5=p5("tfidf"),
        bm25_p5=p5("bm25"),
        lessonloop_label_acc=acc_ll / nq if extras else math.nan,
        majority_label_acc=acc_major / nq if extras else math.nan,
        seconds=time.perf_counter() - started,
        semantic_p5=p5("semantic"),
        cosine_p5=p5("cosine"),
        labelled_share=share,
        labelled_precision=among,
    )


def table(results: Sequence[Result]) -> str:
    head = (
        f"{'file':<48} {'n':>4} {'q':>4} | {'P@5 lessonloop':>14} {'text-only':>9} {'TF-IDF':>7} "
        f"{'BM25':>7} {'ratio':>6} | {'label acc':>9} {'majority':>8} | {'semantic':>8} {'cosine':>7} | {'s':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.file:<48} {r.records:>4} {r.queries:>4} | {r.lessonloop_p5:>14.3f} {r.text_only_p5:>9.3f} "
            f"{r.tfidf_p5:>7.3f} {r.bm25_p5:>7.3f} {r.ratio:>5.2f}x | {r.lessonloop_label_acc:>9.3f} "
            f"{r.majority_label_acc:>8.3f} | {r.semantic_p5:>8.3f} {r.cosine_p5:>7.3f} | {r.seconds:>5.1f}"
        )
    lines += ["", "top-5 matches with a cause label (share) / same cause among those (precision):"]
    for r in results:
        cells = "  ".join(
            f"{m} {r.labelled_share[m]:.3f}/{r.labelled_precision[m]:.3f}" for m in r.labelled_share
        )
        lines.append(f"  {r.file:<48} {cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path, help=f"JSONL files (default: {DATA_DIR}/*.jsonl)")
    parser.add_argument("--json", action="store_true", help="one JSON object per file instead of a table")
    parser.add_argument(
        "--no-semantic", action="store_true", help="leave out the semantic columns even with the extra"
    )
    parser.add_argument(
        "--retrieval-share",
        type=float,
        metavar="F",
        help="bound the candidate query as in a large workspace: RETRIEVAL_POSTINGS = F x the "
        "number of records, the phrase bounds scaled alike (at 100k failures the default bound "
        "is about 0.045 of the 110,000 documents)",
    )
    args = parser.parse_args(argv)
    files = args.files or sorted(DATA_DIR.glob("*.jsonl"))
    if not files:
        print(f"no data: {DATA_DIR} has no .jsonl files", file=sys.stderr)
        return 2
    use_semantic = sem.available() and not args.no_semantic
    if not use_semantic and not args.no_semantic:
        print(f"semantic columns left out: {sem.INSTALL_HINT}", file=sys.stderr)
    results = []
    defaults = {
        name: getattr(similar, name) for name in ("RETRIEVAL_POSTINGS", "PHRASE_MAX_DF", "PHRASE_POSTINGS")
    }
    for path in files:
        if args.retrieval_share is not None:
            scale = args.retrieval_share * len(read_records(path)) / defaults["RETRIEVAL_POSTINGS"]
            for name, value in defaults.items():
                setattr(similar, name, max(1, round(value * scale)))
        results.append(evaluate(path, progress=not args.json, semantic=use_semantic))
    if args.json:
        for r in results:
            print(json.dumps({**asdict(r), "ratio": round(r.ratio, 4)}))
    else:
        print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

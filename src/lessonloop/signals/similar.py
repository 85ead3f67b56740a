"""“Have we seen this before?”: the past failures most like a new one, and the labels they suggest.

Three steps, the same on SQLite and PostgreSQL:

1. **Query terms and their weights.** The query (title + text) becomes stemmed content words
   (:mod:`lessonloop.signals.text`); a word's weight is ``(1 + ln tf) × idf``, where title words
   count double and ``idf`` is the BM25 idf over the failure and review documents of the
   full-text index. The counts come from the index itself, one statement per call that reads
   only the index, so nothing is stored and the statistics are always current. Words no
   document contains are dropped.
2. **Candidates from the full-text index.** An OR-query of the :data:`RETRIEVAL_TERMS`
   heaviest terms fetches up to :data:`CANDIDATES` failure and review documents from
   ``search_fts`` / ``search_documents``; a review stands for its failure, so a past root cause
   can bring its failure in.
3. **Re-ranking in Python.**

   * *Text similarity*: BM25F over four fields of each candidate: title, observation
     (+ impact), the review's root cause (+ contributing factors) and its labels, with field
     weights (:data:`FIELD_WEIGHTS`); title, text and cause are length-normalised, labels are
     not. ``Uncategorized`` / ``unknown`` are the absence of a cause, not a cause, so they are
     never part of the label field, never vote and are never suggested.
   * *Cause agreement*: the cause labels of the :data:`NEIGHBOURS` most similar labelled
     candidates vote, weighted by text similarity (this vote is also what
     :func:`suggest_labels` returns). A candidate's score is multiplied by
     ``1 + CONSENSUS × share of the vote its best label got``: at most doubled, never lowered.
     An unlabelled failure keeps its text score (it cannot gain, so among equally close
     matches the ones with a known, agreeing cause come first). The query's own labels never
     vote.
   * When the caller passes labels for the query, sharing them raises a score too
     (:data:`LABEL_BONUS`).

Leave-one-out: ``exclude_ids`` removes failures from the candidates *and* from the corpus
statistics, so an excluded record never influences the ranking of the others.

Optional semantic ranking (``semantic=True``, the ``semantic`` extra): the nearest stored
failures by sentence-embedding cosine join the candidates and the text score becomes a blend of
BM25F and cosine before cause agreement; see :mod:`lessonloop.signals.semantic`.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure
from lessonloop.lessons.models import Lesson, lesson_failures
from lessonloop.reviews.models import Review
from lessonloop.signals.text import is_content_word, stem, term_counts, words
from lessonloop.store.search import KIND_CODES, doc_id

#: Labels that say "no cause known": never evidence of similarity, never suggested.
NO_CAUSE_LABELS = frozenset({"uncategorized", "unknown"})

#: How many failures (or their reviews) the full-text index hands over for re-ranking.
CANDIDATES = 200
#: How many of the heaviest query terms form the OR-query for candidates (all terms rank).
RETRIEVAL_TERMS = 40
#: BM25 saturation and length normalisation (the usual defaults).
K1 = 1.2
B = 0.75
#: Field weights: a title and a root cause say what the failure was; the text says much else.
FIELD_WEIGHTS: dict[str, float] = {"title": 2.0, "body": 1.0, "cause": 2.0, "labels": 1.0}
#: Length normalisation per field (labels are a handful of words: none).
FIELD_B: dict[str, float] = {"title": B, "body": B, "cause": B, "labels": 0.0}
#: Query words in the title count this many times.
QUERY_TITLE_WEIGHT = 2.0
#: How many of the nearest labelled candidates vote on the cause.
NEIGHBOURS = 10
#: Full agreement with the vote multiplies a candidate's score by ``1 + CONSENSUS``.
CONSENSUS = 1.0
#: Sharing all of the caller-given query labels multiplies a score by ``1 + LABEL_BONUS``.
LABEL_BONUS = 0.5

#: Optional visibility hook: ``visible(failure)`` is False for a failure the viewer may not see.
Visible = Callable[[Failure], bool]


def is_cause_label(label: str) -> bool:
    """A label that names a cause (not empty, not ``Uncategorized`` / ``unknown``)."""
    return bool(label.strip()) and label.strip().lower() not in NO_CAUSE_LABELS


@dataclass(frozen=True)
class SimilarMatch:
    """One past failure like the query, with what was learned from it."""

    id: int
    external_id: str | None
    title: str
    score: float
    labels: tuple[str, ...] = ()
    root_cause: str | None = None
    primary_action: str | None = None
    lessons: tuple[str, ...] = ()
    matched_terms: tuple[str, ...] = ()  # the query words that contributed most
    semantic: float | None = None  # cosine similarity, with semantic ranking only

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "external_id": self.external_id,
            "title": self.title,
            "score": round(self.score, 4),
            "labels": list(self.labels),
            "root_cause": self.root_cause,
            "primary_action": self.primary_action,
            "lessons": list(self.lessons),
            "matched_terms": list(self.matched_terms),
        } | ({"semantic": round(self.semantic, 4)} if self.semantic is not None else {})


# --- the query ----------------------------------------------------------------------------------


@dataclass
class Query:
    """Stemmed query terms with their raw weights and one surface word each for the index."""

    weights: dict[str, float]
    surface: dict[str, str]

    @classmethod
    def parse(cls, title: str, text_: str = "") -> Query:
        weights: dict[str, float] = defaultdict(float)
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        for part, weight in ((title, QUERY_TITLE_WEIGHT), (text_, 1.0)):
            for word in words(part):
                if is_content_word(word):
                    term = stem(word)
                    weights[term] += weight
                    seen[term][word] += 1
        surface = {term: forms.most_common(1)[0][0] for term, forms in seen.items()}
        return cls(dict(weights), surface)


def _query_weight(tf: float) -> float:
    """Saturating: a word used ten times is not ten times as telling as one used once."""
    return 1.0 + math.log(tf) if tf >= 1 else tf


def _idf(df: int, n: int) -> float:
    return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


# --- statistics and candidates from the index --------------------------------------------------


# Document ids encode the kind (``KIND_CODE * 10**10 + record id``, see
# :func:`lessonloop.store.search.doc_id`): failures and reviews are one id range, so filtering
# on it needs only the index, never the stored row.
_FIRST_DOC = doc_id("failure", 0)
_REVIEW_BASE = doc_id("review", 0)
_LAST_DOC = _REVIEW_BASE + (_REVIEW_BASE - _FIRST_DOC) - 1
assert KIND_CODES["review"] == KIND_CODES["failure"] + 1


def _excluded_docs(session: Session, exclude: Collection[int]) -> list[int]:
    """The documents of the excluded failures and of their reviews."""
    if not exclude:
        return []
    reviews = session.scalars(select(Review.id).where(Review.failure_id.in_(list(exclude))))
    return [doc_id("failure", i) for i in exclude] + [doc_id("review", i) for i in reviews]


def _doc_filter(column: str, excluded: Sequence[int], params: dict[str, Any]) -> str:
    params["first"], params["last"] = _FIRST_DOC, _LAST_DOC
    clause = f"{column} BETWEEN :first AND :last"
    if excluded:
        names = []
        for i, value in enumerate(sorted(excluded)):
            params[f"x{i}"] = value
            names.append(f":x{i}")
        clause += f" AND {column} NOT IN ({', '.join(names)})"
    return clause


def _document_frequencies(
    session: Session, surface: dict[str, str], excluded: Sequence[int]
) -> tuple[int, dict[str, int]]:
    """The number of failure and review documents, and how many contain each term.

    One statement for all terms; it reads only the index. A reviewed failure is two documents
    (its own and its review's), the usual BM25 view of a collection.
    """
    conn = session.connection()
    terms = sorted(surface)
    params: dict[str, Any] = {}
    if conn.dialect.name == "sqlite":
        where = _doc_filter("rowid", excluded, params)
        params["words"] = json.dumps([f'"{surface[t]}"' for t in terms])
        sql = (
            "SELECT j.key, (SELECT count(*) FROM search_fts WHERE search_fts MATCH j.value "
            f"AND {where}) FROM json_each(:words) AS j"
        )
        total_sql = f"SELECT count(*) FROM search_fts WHERE {where}"
    else:
        where = _doc_filter("d.doc_id", excluded, params)
        params["words"] = [surface[t] for t in terms]
        sql = (
            "SELECT t.i - 1, (SELECT count(*) FROM search_documents d "
            f"WHERE d.tsv @@ to_tsquery('english', t.w) AND {where}) "
            "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, i)"
        )
        total_sql = f"SELECT count(*) FROM search_documents d WHERE {where}"
    n = int(conn.execute(text(total_sql), params).scalar_one())
    df: dict[str, int] = {}
    if terms:
        for i, count in conn.execute(text(sql), params):
            df[terms[int(i)]] = int(count)
    return n, df


def _candidate_ids(session: Session, words_: Sequence[str], excluded: Sequence[int], limit: int) -> list[int]:
    """Failure ids whose failure or review document matches any of ``words_``, best first."""
    if not words_:
        return []
    conn = session.connection()
    params: dict[str, Any] = {"limit": limit}
    if conn.dialect.name == "sqlite":
        params["q"] = " OR ".join(f'"{w}"' for w in words_)
        sql = (
            f"SELECT rowid FROM search_fts WHERE search_fts MATCH :q AND {_doc_filter('rowid', excluded, params)} "
            "ORDER BY bm25(search_fts, 0.0, 0.0, 2.0, 1.0) LIMIT :limit"
        )
    else:
        params["q"] = " | ".join(words_)
        sql = (
            "SELECT d.doc_id FROM search_documents d, to_tsquery('english', :q) AS q "
            f"WHERE d.tsv @@ q AND {_doc_filter('d.doc_id', excluded, params)} "
            "ORDER BY ts_rank(d.tsv, q) DESC, d.doc_id LIMIT :limit"
        )
    docs = [int(r[0]) for r in conn.execute(text(sql), params)]
    review_ids = [d - _REVIEW_BASE for d in docs if d >= _REVIEW_BASE]
    review_failure: dict[int, int] = {}
    if review_ids:
        review_failure = {
            int(rid): int(fid)
            for rid, fid in conn.execute(
                select(Review.id, Review.failure_id).where(Review.id.in_(review_ids))
            )
        }
    ordered: dict[int, None] = {}
    for d in docs:
        fid = d - _FIRST_DOC if d < _REVIEW_BASE else review_failure.get(d - _REVIEW_BASE)
        if fid is not None:
            ordered[fid] = None
    return list(ordered)


# --- ranking ------------------------------------------------------------------------------------


@dataclass
class _Doc:
    failure: Failure
    fields: dict[str, Counter[str]]
    lengths: dict[str, int]
    root_cause: str | None
    cause_labels: tuple[str, ...]


@dataclass
class _Ranked:
    doc: _Doc
    text_score: float
    parts: list[tuple[float, str]]
    score: float = 0.0
    cosine: float | None = None  # semantic ranking only


def _field_terms(value: str) -> Counter[str]:
    """Term counts of one field value. Cached by value (up to :data:`_CACHED_CHARS` characters),
    so re-ranking the same records again is cheap; the counter is shared: never change it."""
    return _cached_terms(value) if len(value) <= _CACHED_CHARS else term_counts(value)


_CACHED_CHARS = 20_000


@lru_cache(maxsize=4096)
def _cached_terms(value: str) -> Counter[str]:
    return term_counts(value)


def _load_docs(session: Session, ids: Sequence[int], visible: Visible | None) -> list[_Doc]:
    if not ids:
        return []
    failures = {f.id: f for f in session.scalars(select(Failure).where(Failure.id.in_(ids)))}
    reviews = {
        r.failure_id: r for r in session.scalars(select(Review).where(Review.failure_id.in_(list(failures))))
    }
    docs = []
    for fid in ids:
        failure = failures.get(fid)
        if failure is None or (visible is not None and not visible(failure)):
            continue
        review = reviews.get(fid)
        cause = ""
        if review is not None:
            cause = "\n".join(p for p in (review.root_cause, *(review.contributing_factors or [])) if p)
        labels = tuple(lbl for lbl in failure.labels if is_cause_label(lbl))
        body = "\n".join(p for p in (failure.observation, failure.impact) if p)
        values = {"title": failure.title, "body": body, "cause": cause, "labels": " ".join(labels)}
        docs.append(
            _Doc(
                failure=failure,
                fields={name: _field_terms(value) for name, value in values.items()},
                lengths={name: len(value) for name, value in values.items()},
                root_cause=(review.root_cause or None) if review is not None else None,
                cause_labels=labels,
            )
        )
    return docs


def _average_lengths(docs: Sequence[_Doc]) -> dict[str, float]:
    """Mean character length per field over the candidates that have the field."""
    out: dict[str, float] = {}
    for name in FIELD_WEIGHTS:
        present = [d.lengths[name] for d in docs if d.lengths[name]]
        out[name] = (sum(present) / len(present)) if present else 1.0
    return out


def _bm25f(doc: _Doc, terms: dict[str, float], avg: dict[str, float]) -> _Ranked:
    norms = {
        name: (1.0 - FIELD_B[name] + FIELD_B[name] * doc.lengths[name] / avg[name])
        if doc.lengths[name]
        else 1.0
        for name in FIELD_WEIGHTS
    }
    tf: dict[str, float] = defaultdict(float)
    for name, weight in FIELD_WEIGHTS.items():
        counts = doc.fields[name]
        if counts:
            scale = weight / norms[name]
            for term in counts.keys() & terms.keys():
                tf[term] += scale * counts[term]
    parts = [(terms[term] * t / (K1 + t), term) for term, t in tf.items()]
    score = math.fsum(gain for gain, _ in parts)  # exact: independent of the order of terms
    return _Ranked(doc=doc, text_score=score, parts=parts, score=score)


def _rank_by_text(
    session: Session,
    query: Query,
    *,
    exclude: Collection[int],
    visible: Visible | None,
    also: Sequence[int] = (),
) -> list[_Ranked]:
    """Candidates from the index, ranked by BM25F text similarity (best first). ``also``: more
    candidate failure ids (semantic neighbours), kept even when no query term matches them."""
    excluded = _excluded_docs(session, exclude)
    n, df = _document_frequencies(session, query.surface, excluded)
    terms = {
        term: _query_weight(weight) * _idf(df[term], n)
        for term, weight in query.weights.items()
        if df.get(term, 0) > 0
    }
    heaviest = sorted(terms, key=lambda t: (-terms[t], t))[:RETRIEVAL_TERMS]
    ids = _candidate_ids(session, [query.surface[t] for t in heaviest], excluded, CANDIDATES)
    keep = {i for i in also if i not in exclude}
    docs = _load_docs(session, list(dict.fromkeys([*ids[:CANDIDATES], *keep])), visible)
    avg = _average_lengths(docs)
    ranked = []
    for doc in docs:
        item = _bm25f(doc, terms, avg)
        if item.text_score > 0 or doc.failure.id in keep:
            ranked.append(item)
    ranked.sort(key=lambda r: (-r.text_score, r.doc.failure.id))
    return ranked


def _apply_label_bonus(ranked: list[_Ranked], labels: Iterable[str]) -> list[_Ranked]:
    """Sharing the caller-given query labels raises a text score (:data:`LABEL_BONUS`)."""
    wanted = {lbl.strip().lower() for lbl in labels if is_cause_label(lbl)}
    if not wanted:
        return ranked
    for item in ranked:
        shared = wanted & {lbl.lower() for lbl in item.doc.cause_labels}
        item.text_score *= 1.0 + LABEL_BONUS * len(shared) / len(wanted)
        item.score = item.text_score
    return sorted(ranked, key=lambda r: (-r.text_score, r.doc.failure.id))


def _cause_votes(ranked: Sequence[_Ranked]) -> dict[str, float]:
    """Share of the similarity-weighted vote per cause label (lower-cased) among the
    :data:`NEIGHBOURS` nearest candidates that have a cause label."""
    votes: dict[str, float] = defaultdict(float)
    voters = [r for r in ranked if r.doc.cause_labels][:NEIGHBOURS]
    for item in voters:
        for key in {lbl.lower() for lbl in item.doc.cause_labels}:
            votes[key] += item.text_score
    total = math.fsum(votes.values())
    return {key: value / total for key, value in votes.items()} if total > 0 else {}


def _apply_consensus(ranked: list[_Ranked]) -> list[_Ranked]:
    votes = _cause_votes(ranked)
    for item in ranked:
        agree = max((votes.get(lbl.lower(), 0.0) for lbl in item.doc.cause_labels), default=0.0)
        item.score = item.text_score * (1.0 + CONSENSUS * agree)
    return sorted(ranked, key=lambda r: (-r.score, r.doc.failure.id))


def _details(session: Session, ids: Sequence[int]) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Primary corrective action title and linked lesson titles per failure id."""
    actions: dict[int, str] = {}
    lessons: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return actions, lessons
    for fid, title in session.execute(
        select(Action.failure_id, Action.title)
        .where(Action.failure_id.in_(ids), Action.is_primary.is_(True))
        .order_by(Action.id)
    ):
        actions.setdefault(int(fid), title)
    for fid, title in session.execute(
        select(lesson_failures.c.failure_id, Lesson.title)
        .join(Lesson, Lesson.id == lesson_failures.c.lesson_id)
        .where(lesson_failures.c.failure_id.in_(ids))
        .order_by(Lesson.id)
    ):
        lessons[int(fid)].append(title)
    return actions, lessons


def similar_failures(
    session: Session,
    *,
    title: str,
    text: str = "",
    labels: Iterable[str] = (),
    limit: int = 5,
    exclude_ids: Iterable[int] = (),
    visible: Visible | None = None,
    cause_agreement: bool = True,
    semantic: bool = False,
) -> list[SimilarMatch]:
    """The logged failures most like the one described, best first.

    ``labels``: the query's own labels when known (sharing them raises a score).
    ``exclude_ids``: failure ids left out of candidates and statistics (e.g. the failure
    being looked at). ``visible``: optional predicate on a candidate :class:`Failure`; hidden
    ones are dropped before ranking, so they never show and never vote.
    ``cause_agreement=False`` ranks by text similarity alone. ``semantic=True`` blends in
    sentence-embedding similarity (needs the ``semantic`` extra, else
    :class:`~lessonloop.signals.semantic.SemanticUnavailable`), so a failure described in other
    words can match.
    """
    if limit <= 0:
        return []
    query = Query.parse(title, text)
    exclude = {int(i) for i in exclude_ids}
    if semantic:
        from lessonloop.signals.semantic import blend, semantic_scores

        if not (title.strip() or text.strip()):
            return []
        scores = semantic_scores(session, title=title, text=text, exclude=exclude)
        ranked = _rank_by_text(session, query, exclude=exclude, visible=visible, also=list(scores.top))
        ranked = blend(ranked, scores)
    elif not query.weights:
        return []
    else:
        ranked = _rank_by_text(session, query, exclude=exclude, visible=visible)
    ranked = _apply_label_bonus(ranked, labels)
    if cause_agreement:
        ranked = _apply_consensus(ranked)
    ranked = ranked[:limit]
    actions, lessons = _details(session, [r.doc.failure.id for r in ranked])
    out = []
    for item in ranked:
        failure = item.doc.failure
        best = [query.surface[t] for _, t in sorted(item.parts, key=lambda p: (-p[0], p[1]))[:5]]
        out.append(
            SimilarMatch(
                id=failure.id,
                external_id=failure.external_id,
                title=failure.title,
                score=item.score,
                labels=tuple(failure.labels),
                root_cause=item.doc.root_cause,
                primary_action=actions.get(failure.id),
                lessons=tuple(lessons.get(failure.id, ())),
                matched_terms=tuple(best),
                semantic=item.cosine,
            )
        )
    return out


def suggest_labels(
    session: Session,
    *,
    title: str,
    text: str = "",
    k: int = 3,
    exclude_ids: Iterable[int] = (),
    visible: Visible | None = None,
) -> list[tuple[str, float]]:
    """Cause labels voted by the nearest labelled failures, best first, with their vote share.

    The :data:`NEIGHBOURS` most similar failures that have a cause label vote, each with its
    text similarity; a score is a label's share of the vote (0..1). ``Uncategorized`` /
    ``unknown`` never vote and are never suggested.
    """
    query = Query.parse(title, text)
    if k <= 0 or not query.weights:
        return []
    ranked = _rank_by_text(session, query, exclude={int(i) for i in exclude_ids}, visible=visible)
    votes = _cause_votes(ranked)
    names: dict[str, str] = {}
    for item in ranked:
        for label in item.doc.cause_labels:
            names.setdefault(label.lower(), label)
    best = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [(names[key], share) for key, share in best]

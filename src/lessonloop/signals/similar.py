"""“Have we seen this before?”: the past failures most like a new one, and the labels they suggest.

Three steps, the same on SQLite and PostgreSQL:

1. **Query terms and their weights.** The query (title + text) becomes stemmed content words
   (:mod:`lessonloop.signals.text`), abbreviations and synonyms folded into one term per meaning
   ("db" and "database", "k8s" and "kubernetes": :mod:`lessonloop.signals.synonyms`, applied to
   the candidates' fields alike; the index is asked for any of a group's variants); a word's
   weight is ``(1 + ln tf) × idf``, where title words count double and ``idf`` is the BM25 idf
   over the failure and review documents of the full-text index. The counts come from the index itself, one statement per call that reads
   only the index; the counts of common terms (in :data:`DF_CACHE_MIN` documents or more) are
   kept per database and process for a while (:func:`_document_frequencies`), nothing is
   stored. Words no document contains are dropped.
2. **Candidates from the full-text index.** An OR-query of the heaviest terms and of the
   query's phrases (adjacent content words: "load balancer") fetches up to
   :data:`CANDIDATES` failure and review documents from ``search_fts`` /
   ``search_documents``; a review stands for its failure, so a past root cause can bring its
   failure in. The index ranks every document the query matches, so in a large workspace the
   query is bounded (:data:`RETRIEVAL_POSTINGS`, :data:`PHRASE_POSTINGS`): rare terms alone,
   phrases whose words are not too common, and pairs of common terms only when no phrase
   qualifies (:func:`_phrases`, :func:`_retrieval_query`). In a small workspace it is the plain
   OR-query of the :data:`RETRIEVAL_TERMS` heaviest terms and up to :data:`RETRIEVAL_PHRASES`
   phrases.
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
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Engine, func, select, text
from sqlalchemy.orm import Session

from lessonloop.access.actor import Actor, is_system
from lessonloop.access.policy import visible_failures_clause
from lessonloop.actions.models import Action
from lessonloop.failures.models import Failure, FailureCount, FailureLabel
from lessonloop.lessons.models import Lesson, lesson_failures
from lessonloop.reviews.models import Review
from lessonloop.signals import synonyms
from lessonloop.signals.synonyms import Synonyms, canonical_counts, canonical_words
from lessonloop.store.search import KIND_CODES, doc_id

if TYPE_CHECKING:
    from lessonloop.signals.semantic import SemanticScores

#: Labels that say "no cause known": never evidence of similarity, never suggested.
NO_CAUSE_LABELS = frozenset({"uncategorized", "unknown"})

#: How many failures (or their reviews) the full-text index hands over for re-ranking.
CANDIDATES = 100
#: How many of the heaviest query terms form the OR-query for candidates (all terms rank).
RETRIEVAL_TERMS = 40
#: Cost bound of the candidate query: the index ranks every document its query matches (about
#: 0.7 µs each in SQLite), so the OR-query takes the heaviest terms only while their document
#: frequencies add up to at most this many. Terms too common for that (at 100k failures:
#: "outage", "service", "error", ...) retrieve in pairs (see :func:`_retrieval_query`). Only a
#: workspace of tens of thousands of failures reaches the bound; docs/similar.md has what it
#: costs in ranking quality.
RETRIEVAL_POSTINGS = 5_000
#: At most this many pairs of common terms in the candidate query (only when no phrase fits).
RETRIEVAL_PAIRS = 8
#: Phrases: the query's adjacent content words ("load balancer", "error rate") join the candidate
#: query, the heaviest first (the two words' weights added), at most this many ...
RETRIEVAL_PHRASES = 8
#: ... of those found in at most this many documents each and this many together: a common
#: phrase retrieves much (and costs as much) while saying little.
PHRASE_MAX_DF = 5_000
PHRASE_POSTINGS = 10_000
#: How many of the best phrases are looked up in the index (counted, or read from the cache) ...
PHRASE_LOOKUPS = 16
#: ... as long as their words' document lists add up to at most this many entries (the cost of
#: matching them).
PHRASE_WALK = 150_000
#: At most this many phrase counts are cached per database and process.
PHRASE_CACHE_SIZE = 100_000
#: Document frequencies of terms in at least this many documents are cached per database and
#: process (see :func:`_document_frequencies`); the cache is emptied when the number of documents
#: moves by more than ``DF_CACHE_DRIFT`` (a share) or after ``DF_CACHE_SECONDS``.
DF_CACHE_MIN = 1000
DF_CACHE_DRIFT = 0.01
DF_CACHE_SECONDS = 600.0
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

#: Abbreviations and synonyms folded into one term, in the candidates' fields and in the query
#: alike (:mod:`lessonloop.signals.synonyms`); ``synonyms.NONE`` turns folding off.
SYNONYMS: Synonyms = synonyms.DEFAULT

#: Optional visibility hook: ``visible(failure)`` is False for a failure the viewer may not see.
Visible = Callable[[Failure], bool]


@dataclass(frozen=True)
class _Shown:
    """Which candidates a ranking may use: those matching ``clause`` (the visibility rule in SQL,
    for a person) and passing ``check`` (a caller's predicate on :class:`Failure` objects)."""

    clause: ColumnElement[bool] | None = None
    check: Visible | None = None


def _visible_to(viewer: Actor, visible: Visible | None) -> _Shown:
    """The candidates' filter for ``viewer``: the policy for a person (and ``visible`` too when
    given); only ``visible``, or nothing, for a named system job. ``None`` is refused.

    A person's rule is applied in SQL (:func:`~lessonloop.access.policy.visible_failures_clause`,
    the twin of :func:`~lessonloop.access.policy.can_see_failure`) on the candidates' columns:
    checking it in Python needed every candidate as a :class:`Failure` with its people, about a
    third of the ranking's time on the failure page (decision 54)."""
    if is_system(viewer):
        return _Shown(check=visible)
    return _Shown(clause=visible_failures_clause(viewer), check=visible)


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
    """Stemmed query terms (synonyms folded, :data:`SYNONYMS`) with their raw weights, one
    surface word each (shown as a matched term) and what the index is asked for each."""

    weights: dict[str, float]
    surface: dict[str, str]
    #: Adjacent content words (stemmed pair → the words as first written), in order of first
    #: appearance: "load balancer", "error rate". Candidates for phrase retrieval.
    bigrams: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    #: Per term, what the full-text index matches: the surface word, or for a synonym group any
    #: of its variants (:class:`_AnyOf`). Defaults to the surface words.
    match: dict[str, str | _AnyOf] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for term, word in self.surface.items():
            self.match.setdefault(term, word)

    @classmethod
    def parse(cls, title: str, text_: str = "") -> Query:
        table = SYNONYMS
        weights: dict[str, float] = defaultdict(float)
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        bigrams: dict[tuple[str, str], tuple[str, str]] = {}
        for part, weight in ((title, QUERY_TITLE_WEIGHT), (text_, 1.0)):
            previous: tuple[str, str] | None = None  # (word, term) of the word just before
            for term, word in canonical_words(part, table):
                if term is None:
                    previous = None  # a stop word between two words breaks the phrase
                    continue
                weights[term] += weight
                seen[term][word] += 1
                if " " in word:  # a variant of several words: no phrase across it
                    previous = None
                    continue
                if previous is not None and previous[1] != term:
                    bigrams.setdefault((previous[1], term), (previous[0], word))
                previous = (word, term)
        surface = {term: forms.most_common(1)[0][0] for term, forms in seen.items()}
        # A group's variants include a word of the same stem as each word folded into it (that
        # is how it was folded), so the index, stemming alike, matches what was written.
        match: dict[str, str | _AnyOf] = {
            term: _AnyOf(variants) for term in seen if (variants := table.alternatives(term))
        }
        return cls(dict(weights), surface, bigrams, match)


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
    # The bounds are constants written into the text, not parameters (decision 73): psycopg
    # prepares a statement run five times on a connection, and PostgreSQL's generic plan for it,
    # not knowing that the range spans every failure and review document, read the range by
    # document id and checked each vector (1.2 s at 1M, for a count a GIN lookup answers in ms).
    clause = f"{column} BETWEEN {int(_FIRST_DOC)} AND {int(_LAST_DOC)}"
    if excluded:
        names = []
        for i, value in enumerate(sorted(excluded)):
            params[f"x{i}"] = value
            names.append(f":x{i}")
        clause += f" AND {column} NOT IN ({', '.join(names)})"
    return clause


def _document_count(session: Session) -> int:
    """The number of failure and review documents. Every failure and every review is one
    document, so this is the failures' trigger-kept count (``failure_counts``, migration 0024:
    a sum of a few dozen rows, where counting 100,000 failures took 5–10 ms on PostgreSQL on
    every call) plus the reviews' row count."""
    n = session.scalar(select(func.sum(FailureCount.n))) or 0
    return int(n) + int(session.scalar(select(func.count()).select_from(Review)) or 0)


@dataclass
class _DfCache:
    documents: int  # the collection size the counts were read at
    since: float  # time.monotonic() when started
    df: dict[str, int]
    phrases: dict[tuple[str, str], int] = field(default_factory=dict)  # see _phrase_frequencies


_df_caches: dict[tuple[str, int], _DfCache] = {}
_df_lock = threading.Lock()


def _df_cache(session: Session, documents: int) -> _DfCache:
    """This database's cached document frequencies, emptied when the collection has grown or
    shrunk by more than :data:`DF_CACHE_DRIFT` or after :data:`DF_CACHE_SECONDS`."""
    bind = session.get_bind()
    url = (bind if isinstance(bind, Engine) else bind.engine).url.render_as_string(hide_password=True)
    key = (url, id(SYNONYMS))  # a synonym group's count depends on the table
    now = time.monotonic()
    with _df_lock:
        cache = _df_caches.get(key)
        if (
            cache is None
            or abs(documents - cache.documents) > DF_CACHE_DRIFT * max(cache.documents, 1)
            or now - cache.since > DF_CACHE_SECONDS
        ):
            cache = _df_caches[key] = _DfCache(documents, now, {})
        return cache


def clear_df_cache() -> None:
    with _df_lock:
        _df_caches.clear()


def _count_matches(
    session: Session,
    surface: Mapping[str, str | _AnyOf],
    terms: Sequence[str],
    excluded: Sequence[int] | None,
) -> dict[str, int]:
    """Failure and review documents containing each term (a synonym group: any of its
    variants): all of them (``excluded=None``) or only the documents in ``excluded`` (a lookup
    by document id per term: cheap). One statement for all terms; it reads only the index."""
    if not terms:
        return {}
    counts = _count_expressions(session, [_expression(surface[t]) for t in terms], excluded)
    return {term: counts[i] for i, term in enumerate(terms)}


@dataclass(frozen=True)
class _Phrase:
    """Words that must appear in this order, next to each other (one word: just that word)."""

    words: tuple[str, ...]

    def sqlite(self) -> str:
        return '"' + " ".join(self.words) + '"'

    def postgres(self) -> str:
        return " <-> ".join(self.words) if len(self.words) > 1 else self.words[0]


@dataclass(frozen=True)
class _AnyOf:
    """Any of these phrases (a synonym group's variants, each one or more words)."""

    phrases: tuple[tuple[str, ...], ...]

    def sqlite(self) -> str:
        parts = [_Phrase(p).sqlite() for p in self.phrases]
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def postgres(self) -> str:
        parts = [_Phrase(p).postgres() for p in self.phrases]
        if len(parts) == 1:
            return parts[0]
        return "(" + " | ".join(f"({p})" if " " in p else p for p in parts) + ")"


def _expression(item: str | _AnyOf) -> _Phrase | _AnyOf:
    """What the index is asked for one retrieval item: a word, or any of a group's variants."""
    return _Phrase((item,)) if isinstance(item, str) else item


def _count_expressions(
    session: Session, phrases: Sequence[_Phrase | _AnyOf], excluded: Sequence[int] | None
) -> list[int]:
    """How many failure and review documents match each phrase (see :func:`_count_matches`)."""
    conn = session.connection()
    params: dict[str, Any] = {}
    sql = _count_statement(conn.dialect.name, phrases, excluded, params)
    counts = [0] * len(phrases)
    for i, count in conn.execute(text(sql), params):
        counts[int(i)] = int(count)
    return counts


def _count_statement(
    dialect: str, phrases: Sequence[_Phrase | _AnyOf], excluded: Sequence[int] | None, params: dict[str, Any]
) -> str:
    """:func:`_count_expressions`' statement (its parameters go into ``params``)."""
    if dialect == "sqlite":
        where = _doc_filter("rowid", (), params) if excluded is None else _doc_in("rowid", excluded, params)
        params["words"] = json.dumps([p.sqlite() for p in phrases])
        return (
            "SELECT j.key, (SELECT count(*) FROM search_fts WHERE search_fts MATCH j.value "
            f"AND {where}) FROM json_each(:words) AS j"
        )
    where = _doc_filter("d.doc_id", (), params) if excluded is None else _doc_in("d.doc_id", excluded, params)
    params["words"] = [p.postgres() for p in phrases]
    return (
        "SELECT t.i - 1, (SELECT count(*) FROM search_documents d "
        f"WHERE d.tsv @@ to_tsquery('english', t.w) AND {where}) "
        "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, i)"
    )


def _doc_in(column: str, docs: Sequence[int], params: dict[str, Any]) -> str:
    names = []
    for i, value in enumerate(sorted(docs)):
        params[f"e{i}"] = value
        names.append(f":e{i}")
    return f"{column} IN ({', '.join(names)})"


def _document_frequencies(
    session: Session, surface: Mapping[str, str | _AnyOf], excluded: Sequence[int]
) -> tuple[int, dict[str, int]]:
    """The number of failure and review documents, and how many contain each term, leaving
    out the ``excluded`` documents.

    A reviewed failure is two documents (its own and its review's), the usual BM25 view of a
    collection. Counting a term reads its whole document list in the index (about 1 ms for a
    term in 50,000 documents), so the counts of common terms (at least :data:`DF_CACHE_MIN`
    documents) are kept per database and process (:func:`_df_cache`): for them a few
    documents more or less do not matter. Rarer terms are counted on every call. The excluded
    documents are subtracted exactly, by looking each term up in those documents only.

    On PostgreSQL a count reads every matching row, not just the index: at 1M failures a common
    term took 0.3–1.2 s and one failure's first lookup 70 s. In a collection of at least
    :data:`ESTIMATE_MIN_DOCUMENTS`, the terms the database's own statistics name as common are
    estimated from them instead (:func:`_estimated_counts`); the rest are counted.
    """
    documents = _document_count(session)
    cache = _df_cache(session, documents)
    terms = sorted(surface)
    df = {t: cache.df[t] for t in terms if t in cache.df}
    todo = [t for t in terms if t not in df]
    estimated = _estimated_counts(session, surface, todo, documents)
    fresh = _count_matches(session, surface, [t for t in todo if t not in estimated], None)
    for term, count in {**estimated, **fresh}.items():
        df[term] = count
        if count >= DF_CACHE_MIN:
            cache.df[term] = count
    n = documents
    if excluded:
        present = [d for d in excluded if d < _REVIEW_BASE]  # failure documents asked for
        n -= len(excluded) - len(present)  # their reviews' documents (looked up: they exist)
        n -= int(
            session.scalar(select(func.count()).where(Failure.id.in_([d - _FIRST_DOC for d in present]))) or 0
        )
        for term, count in _count_matches(
            session, surface, [t for t in terms if df.get(t)], excluded
        ).items():
            df[term] = max(df[term] - count, 0)
    return max(n, 0), df


#: PostgreSQL: in a collection of at least this many documents, common terms' document counts
#: are estimated from the database's statistics (:func:`_estimated_counts`).
ESTIMATE_MIN_DOCUMENTS = 200_000

#: The lexemes PostgreSQL's ``ANALYZE`` found most common in the search vectors, with the share
#: of rows holding each (``most_common_elem_freqs`` ends with three summary numbers, which the
#: shorter list of elements pads with NULL lexemes: never matched).
_COMMON_LEXEMES = (
    "SELECT e.lexeme, e.freq FROM pg_stats AS p, "
    "unnest(CAST(CAST(p.most_common_elems AS text) AS text[]), p.most_common_elem_freqs) AS e(lexeme, freq) "
    "WHERE p.schemaname = current_schema() AND p.tablename = 'search_documents' AND p.attname = 'tsv'"
)


def _estimated_counts(
    session: Session, surface: Mapping[str, str | _AnyOf], terms: Sequence[str], documents: int
) -> dict[str, int]:
    """PostgreSQL, large collections only: the document counts of the ``terms`` its statistics
    call common (at least :data:`DF_CACHE_MIN` documents), as ``share of rows × documents``; a
    synonym group adds its one-word variants' shares. The statistics are ``ANALYZE``'s sample
    (autovacuum keeps them fresh), so a count is off by a few percent: for common terms "a few
    documents more or less do not matter" (:func:`_document_frequencies`), and they only weigh
    the terms. A term they do not list (rarer than the rarest they keep), a phrase variant, or
    a database never analysed: left out, to be counted."""
    if not terms or documents < ESTIMATE_MIN_DOCUMENTS:
        return {}
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        return {}
    keys: list[int] = []
    words: list[str] = []
    for i, term in enumerate(terms):
        item = surface[term]
        variants = [item] if isinstance(item, str) else [p[0] for p in item.phrases if len(p) == 1]
        keys += [i] * len(variants)
        words += variants
    if not words:
        return {}
    sql = (
        f"WITH s AS MATERIALIZED ({_COMMON_LEXEMES}) "
        "SELECT w.k, sum(f.freq) FROM unnest(CAST(:keys AS int[]), CAST(:words AS text[])) AS w(k, w) "
        "CROSS JOIN LATERAL (SELECT max(s.freq) AS freq FROM s "
        "WHERE s.lexeme = ANY(tsvector_to_array(to_tsvector('english', w.w)))) AS f "
        "GROUP BY w.k"
    )
    out: dict[str, int] = {}
    for k, share in conn.execute(text(sql), {"keys": keys, "words": words}):
        if share is not None and float(share) * documents >= DF_CACHE_MIN:
            out[terms[int(k)]] = min(round(float(share) * documents), documents)
    return out


def _phrase_frequencies(
    session: Session, phrases: Sequence[tuple[tuple[str, str], tuple[str, str]]], documents: int
) -> dict[tuple[str, str], int]:
    """How many failure and review documents contain each phrase (stemmed pair → count).

    ``phrases``: (stemmed pair, surface words). Used only to choose which phrases retrieve
    candidates, never to score, so every count is cached per database and process (a few
    documents more or less change nothing) with the same expiry as the term counts; excluded
    documents are not subtracted. Counting a phrase reads both words' document lists."""
    cache = _df_cache(session, documents)
    out = {key: cache.phrases[key] for key, _ in phrases if key in cache.phrases}
    todo = [(key, words_) for key, words_ in phrases if key not in out]
    if todo:
        counts = _count_expressions(session, [_Phrase(words_) for _, words_ in todo], None)
        with _df_lock:
            if len(cache.phrases) + len(todo) > PHRASE_CACHE_SIZE:
                cache.phrases.clear()
            for (key, _), count in zip(todo, counts, strict=True):
                out[key] = cache.phrases[key] = count
    return out


@dataclass(frozen=True)
class _Retrieval:
    """What the candidate query asks the index: any of ``any_of``, any of ``phrases`` (words
    next to each other), or all words of any group."""

    any_of: list[str | _AnyOf]
    groups: list[list[str | _AnyOf]]
    postings: float  # estimated number of documents matching the terms and groups
    phrases: list[tuple[str, str]] = field(default_factory=list)  # words next to each other

    def sqlite(self) -> str:
        parts = [_expression(w).sqlite() for w in self.any_of]
        parts += [_Phrase(p).sqlite() for p in self.phrases]
        parts += ["(" + " AND ".join(_expression(w).sqlite() for w in g) + ")" for g in self.groups]
        return " OR ".join(parts)

    def postgres(self) -> str:
        parts = [*(_expression(w).postgres() for w in self.any_of)]
        parts += ["(" + _Phrase(p).postgres() + ")" for p in self.phrases]
        groups = ["(" + " & ".join(_expression(w).postgres() for w in g) + ")" for g in self.groups]
        return " | ".join([*parts, *groups])


def _retrieval_query(
    terms: dict[str, float],
    df: dict[str, int],
    surface: Mapping[str, str | _AnyOf],
    n: int,
    phrases: Sequence[tuple[tuple[str, str], int]] = (),
) -> _Retrieval:
    """Which terms and phrases fetch the candidates, within a cost bound.

    The index ranks every document its query matches (about 0.7 µs each in SQLite's FTS5, more
    for long documents full of query words), so a query is only as cheap as its terms are rare.
    The heaviest terms (query weight × idf; the rare ones) join the OR-query while their
    document frequencies add up to at most :data:`RETRIEVAL_POSTINGS`; at most
    :data:`RETRIEVAL_TERMS` of them. ``phrases`` (surface words, document count; heaviest first)
    join while each is in at most :data:`PHRASE_MAX_DF` documents and together in at most
    :data:`PHRASE_POSTINGS`; at most :data:`RETRIEVAL_PHRASES`. Two common words next to each
    other ("connection pool") say what a failure was about far better than either word, and
    cost a fraction of ranking every document that has them. Only when no phrase qualifies do
    the common terms retrieve in pairs (the heaviest with the next, and so on: a document must
    have both), as long as the pairs' estimated sizes (terms taken as independent) fit
    :data:`RETRIEVAL_POSTINGS` again. In a small collection every term fits and this is the
    plain OR-query of the heaviest terms (and phrases). Ranking is not affected: every query
    term still scores every candidate.
    """
    heaviest = sorted(terms, key=lambda t: (-terms[t], t))
    any_of: list[str] = []
    common: list[str] = []
    postings = 0.0
    for term in heaviest:
        if len(any_of) < RETRIEVAL_TERMS and postings + df[term] <= RETRIEVAL_POSTINGS:
            any_of.append(term)
            postings += df[term]
        else:
            common.append(term)
    chosen: list[tuple[str, str]] = []
    phrase_postings = 0
    for words_, count in phrases:
        if len(chosen) >= RETRIEVAL_PHRASES:
            break
        if 0 < count <= PHRASE_MAX_DF and phrase_postings + count <= PHRASE_POSTINGS:
            chosen.append(words_)
            phrase_postings += count
    groups: list[list[str]] = []
    spent = 0.0
    if chosen:
        common = []  # phrases stand in for the pairs
    if len(common) == 1 and not any_of:
        groups.append(common)
        spent = df[common[0]]
    for i in range(0, len(common) - 1, 2):
        if len(any_of) + 2 * len(groups) >= RETRIEVAL_TERMS or len(groups) >= RETRIEVAL_PAIRS:
            break
        a, b = common[i], common[i + 1]
        size = df[a] * df[b] / max(n, 1)
        if spent + size > RETRIEVAL_POSTINGS and (groups or any_of):
            break
        groups.append([a, b])
        spent += size
    return _Retrieval(
        [surface[t] for t in any_of], [[surface[t] for t in g] for g in groups], postings + spent, chosen
    )


def _candidate_ids(session: Session, retrieval: _Retrieval, excluded: Sequence[int], limit: int) -> list[int]:
    """Failure ids whose failure or review document matches the retrieval query, best first.

    When the query can match more than :data:`RETRIEVAL_POSTINGS` documents anyway (a query of
    common words only), only the newest that many matches are ranked: finding the bound walks
    document ids, which costs no ranking."""
    if not (retrieval.any_of or retrieval.groups or retrieval.phrases):
        return []
    conn = session.connection()
    params: dict[str, Any] = {"limit": limit}
    bounded = retrieval.postings > 2 * RETRIEVAL_POSTINGS  # the OR-terms and the group: each fits one
    if conn.dialect.name == "sqlite":
        params["q"] = retrieval.sqlite()
        where = _doc_filter("rowid", excluded, params)
        if bounded:
            params["skip"] = RETRIEVAL_POSTINGS - 1
            where += (
                " AND rowid >= coalesce((SELECT rowid FROM search_fts WHERE search_fts MATCH :q "
                f"AND {where} ORDER BY rowid DESC LIMIT 1 OFFSET :skip), 0)"
            )
        sql = (
            f"SELECT rowid FROM search_fts WHERE search_fts MATCH :q AND {where} "
            "ORDER BY bm25(search_fts, 0.0, 0.0, 2.0, 1.0) LIMIT :limit"
        )
    else:
        params["q"] = retrieval.postgres()
        where = _doc_filter("d.doc_id", excluded, params)
        source = "search_documents d"
        if bounded:
            params["cap"] = RETRIEVAL_POSTINGS
            source = (
                "(SELECT d.* FROM search_documents d, to_tsquery('english', :q) AS q "
                f"WHERE d.tsv @@ q AND {where} ORDER BY d.doc_id DESC LIMIT :cap) AS d"
            )
        sql = (
            f"SELECT d.doc_id FROM {source}, to_tsquery('english', :q) AS q "
            f"WHERE d.tsv @@ q AND {where} "
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


@dataclass(frozen=True)
class _Failure:
    """The columns of a candidate failure that ranking and the result need."""

    id: int
    external_id: str | None
    title: str
    labels: tuple[str, ...]


@dataclass
class _Doc:
    failure: _Failure
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
    table = SYNONYMS
    return _cached_terms(value, table) if len(value) <= _CACHED_CHARS else canonical_counts(value, table)


_CACHED_CHARS = 20_000


@lru_cache(maxsize=4096)
def _cached_terms(value: str, table: Synonyms) -> Counter[str]:
    return canonical_counts(value, table)


def _load_docs(session: Session, ids: Sequence[int], shown: _Shown) -> list[_Doc]:
    """The candidates' fields, in the order of ``ids``, of those ``shown`` lets through: columns
    only (three statements, the visibility rule in the first), unless a caller's predicate
    needs the :class:`Failure` objects."""
    if not ids:
        return []
    wanted = list(ids)
    if shown.check is not None:
        check = shown.check
        passed = {f.id for f in session.scalars(select(Failure).where(Failure.id.in_(wanted))) if check(f)}
        wanted = [fid for fid in wanted if fid in passed]
        if not wanted:
            return []
    columns = select(
        Failure.id, Failure.external_id, Failure.title, Failure.observation, Failure.impact
    ).where(Failure.id.in_(wanted))
    if shown.clause is not None:
        columns = columns.where(shown.clause)
    rows = {int(r[0]): r for r in session.execute(columns)}
    wanted = [fid for fid in wanted if fid in rows]
    if not wanted:
        return []
    labels: dict[int, list[str]] = defaultdict(list)
    for fid, label in session.execute(
        select(FailureLabel.failure_id, FailureLabel.label)
        .where(FailureLabel.failure_id.in_(wanted))
        .order_by(FailureLabel.failure_id, FailureLabel.label)
    ):
        labels[int(fid)].append(label)
    reviews: dict[int, tuple[str | None, list[str] | None]] = {}
    for fid, root_cause, factors in session.execute(
        select(Review.failure_id, Review.root_cause, Review.contributing_factors)
        .where(Review.failure_id.in_(wanted))
        .order_by(Review.id)
    ):
        reviews[int(fid)] = (root_cause, factors)
    docs = []
    for fid in wanted:
        row = rows.get(fid)
        if row is None:
            continue
        _id, external_id, title, observation, impact = row
        all_labels = tuple(labels.get(fid, ()))
        review = reviews.get(fid)
        cause = ""
        if review is not None:
            cause = "\n".join(p for p in (review[0], *(review[1] or [])) if p)
        cause_labels = tuple(lbl for lbl in all_labels if is_cause_label(lbl))
        body = "\n".join(p for p in (observation, impact) if p)
        values = {"title": title, "body": body, "cause": cause, "labels": " ".join(cause_labels)}
        docs.append(
            _Doc(
                failure=_Failure(id=fid, external_id=external_id, title=title, labels=all_labels),
                fields={name: _field_terms(value) for name, value in values.items()},
                lengths={name: len(value) for name, value in values.items()},
                root_cause=(review[0] or None) if review is not None else None,
                cause_labels=cause_labels,
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


def _phrases(
    session: Session, query: Query, terms: dict[str, float], df: dict[str, int], documents: int
) -> list[tuple[tuple[str, str], int]]:
    """The query's bigrams worth retrieving with, best first, with how many documents contain
    each (at most :data:`PHRASE_LOOKUPS` are looked up).

    A phrase is as telling as its *less* telling word ("caused partial" says little more than
    "partial"), so phrases rank by the smaller of their words' weights. Matching a phrase walks
    both words' document lists, so a phrase whose words together are in more than
    :data:`PHRASE_WALK` documents is left out, and so are the next ones once the phrases kept
    add up to that many (a word in nearly every document, like "caused" in a corpus of
    incident reports, makes a phrase slow and no more precise)."""
    ranked = sorted(
        (
            (min(terms[a], terms[b]), key)
            for key in query.bigrams
            if (a := key[0]) in terms and (b := key[1]) in terms
        ),
        key=lambda wk: (-wk[0], wk[1]),
    )
    lookups: list[tuple[tuple[str, str], tuple[str, str]]] = []
    walk = 0
    for _, key in ranked:
        cost = df[key[0]] + df[key[1]]
        if walk + cost > PHRASE_WALK:
            continue
        lookups.append((key, query.bigrams[key]))
        walk += cost
        if len(lookups) >= PHRASE_LOOKUPS:
            break
    if not lookups:
        return []
    counts = _phrase_frequencies(session, lookups, documents)
    return [(words_, counts[key]) for key, words_ in lookups]


def _rank_by_text(
    session: Session,
    query: Query,
    *,
    exclude: Collection[int],
    shown: _Shown,
    also: Callable[[], Sequence[int]] | None = None,
) -> list[_Ranked]:
    """Candidates from the index, ranked by BM25F text similarity (best first). ``also``: gives
    more candidate failure ids (semantic neighbours), kept even when no query term matches
    them; called once the index has been read, so the neighbours can be found meanwhile."""
    excluded = _excluded_docs(session, exclude)
    n, df = _document_frequencies(session, query.match, excluded)
    terms = {
        term: _query_weight(weight) * _idf(df[term], n)
        for term, weight in query.weights.items()
        if df.get(term, 0) > 0
    }
    retrieval = _retrieval_query(terms, df, query.match, n, _phrases(session, query, terms, df, n))
    ids = _candidate_ids(session, retrieval, excluded, CANDIDATES)
    keep = {i for i in (also() if also is not None else ()) if i not in exclude}
    docs = _load_docs(session, list(dict.fromkeys([*ids[:CANDIDATES], *keep])), shown)
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


def blend(ranked: list[_Ranked], scores: SemanticScores) -> list[_Ranked]:
    """Re-score lexical + semantic candidates: ``(1 - w) × lexical / best lexical + w × cosine``
    (negative cosines count as 0); candidates scoring 0 are dropped. Best first.

    Here rather than in :mod:`~lessonloop.signals.semantic`: the ranking imports the embeddings,
    never the other way round (no import cycle)."""
    from lessonloop.signals.semantic import SEMANTIC_WEIGHT

    best = max((r.text_score for r in ranked), default=0.0)
    out = []
    for item in ranked:
        lexical = item.text_score / best if best > 0 else 0.0
        cosine = scores.of(item.doc.failure.id)
        item.cosine = cosine
        score = (1.0 - SEMANTIC_WEIGHT) * lexical + SEMANTIC_WEIGHT * max(cosine or 0.0, 0.0)
        item.text_score = item.score = score
        if score > 0:
            out.append(item)
    out.sort(key=lambda r: (-r.text_score, r.doc.failure.id))
    return out


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
        .where(lesson_failures.c.failure_id.in_(ids), Lesson.retracted_at.is_(None))
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
    viewer: Actor,
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
    shown = _visible_to(viewer, visible)
    if limit <= 0:
        return []
    query = Query.parse(title, text)
    exclude = {int(i) for i in exclude_ids}
    if semantic:
        from lessonloop.signals.semantic import (
            embed_query_async,
            require,
            semantic_scores,
        )

        require()
        if not (title.strip() or text.strip()):
            return []
        # The query is embedded on a worker thread while this one reads the index; the vectors
        # are scored (a database read: this thread's session) once the candidates are in.
        embedding = embed_query_async(title, text)
        found: list[SemanticScores] = []

        def neighbours() -> list[int]:
            found.append(
                semantic_scores(session, title=title, text=text, exclude=exclude, query=embedding.result())
            )
            return list(found[0].top)

        ranked = _rank_by_text(session, query, exclude=exclude, shown=shown, also=neighbours)
        ranked = blend(ranked, found[0])
    elif not query.weights:
        return []
    else:
        ranked = _rank_by_text(session, query, exclude=exclude, shown=shown)
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
    viewer: Actor,
) -> list[tuple[str, float]]:
    """Cause labels voted by the nearest labelled failures, best first, with their vote share.

    The :data:`NEIGHBOURS` most similar failures that have a cause label vote, each with its
    text similarity; a score is a label's share of the vote (0..1). ``Uncategorized`` /
    ``unknown`` never vote and are never suggested.
    """
    shown = _visible_to(viewer, visible)
    query = Query.parse(title, text)
    if k <= 0 or not query.weights:
        return []
    ranked = _rank_by_text(session, query, exclude={int(i) for i in exclude_ids}, shown=shown)
    votes = _cause_votes(ranked)
    names: dict[str, str] = {}
    for item in ranked:
        for label in item.doc.cause_labels:
            names.setdefault(label.lower(), label)
    best = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [(names[key], share) for key, share in best]

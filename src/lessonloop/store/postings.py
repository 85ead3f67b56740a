"""Complete postings: an exact search page from every match's precomputed impact (decision 72).

PostgreSQL ranks with ``ts_rank(tsv, 'a | b', 1)``: the mean over the query's terms of the term's
own ``ts_rank(tsv, 'a', 1)``, its **impact** in the document, which depends on the document alone
(no corpus statistics: an impact never changes while the document does not; decision 68). For
each frequent term (in more than :data:`~lessonloop.store.postings_base.MIN_DF` documents) ``search_terms`` keeps its complete
postings: every document that has the term, in document order (``docs``, big-endian 8-byte ids),
and the term's impact in each (``impacts``, big-endian 4-byte floats), written by one pass of the
worker's ``search-lists`` job (:func:`build`).

A search whose terms all have postings (:func:`top`):

1. reads the terms' postings (one row each) and intersects them in numpy: the documents with every
   term and the mean of their impacts, an estimate of each match's score within :data:`SLACK`;
2. scores exactly, best estimate first and a batch at a time, those documents with the statement
   the full ranking uses (``ts_rank`` itself, the match of every term and the viewer's access),
   after every document written since the build (the *tail*, whose postings may be stale);
3. stops when the page's last score is above every estimate left, or every match was scored.

The page equals the full ranking's head: every match is either in the tail or in the postings
(a term's postings hold every document that had it at the build, and a document written since
is in the tail), and a document estimated lower than the page's last score cannot beat it.
Decision 68's champion lists kept only the best 1,000 of each term, which settled a page only
when its best documents were near the top of some term's list; an *and* of several frequent terms
(its best common documents near the top of none) was ranked in full, and kept the p95 at 40-80 ms.
With every posting kept, the estimates are tight and the first batch of 200 usually settles it.

It answers ``None``, and the caller ranks every match as before, when: a term is rare (its few
matches are cheap to rank), the postings were never built, the tail is long (an import: the job
builds again), or the viewer may see so few of the best matches that :data:`~lessonloop.store.postings_base.ROUNDS` batches did
not fill the page.

**Staleness cannot make it wrong.** Triggers on ``search_documents`` (migration 0027) put every
inserted or updated document in ``search_tail``, an import's ``COPY`` included; a document written
since the build is scored only from the tail; a deleted one may linger in the postings, and the
exact statement (which reads the document) drops it. The job builds every postings list again
when the tail has grown past :data:`~lessonloop.store.postings_base.REBUILD_AT`, removing only the tail rows it read, at the
version it read them, so a write during the build stays in the tail.

SQLite keeps postings too, of what FTS5's ``bm25()`` needs (:mod:`lessonloop.store.postings_fts5`);
the tail, the build's record, the cache and the job are this module's for both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from lessonloop.store import postings_base as base
from lessonloop.store import postings_fts5

#: Relative margin on every estimate: ``ts_rank`` adds the terms' parts in single precision, so a
#: score and the mean of its impacts may differ in the last bits.
SLACK = 1e-4


def available(conn: Connection) -> bool:
    """Whether ``conn``'s database keeps postings: PostgreSQL (here) and SQLite
    (:mod:`lessonloop.store.postings_fts5`)."""
    return conn.dialect.name in ("postgresql", "sqlite")


def _sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


_TSQUERY_OPERAND = re.compile(r"'((?:[^'\\]|''|\\.)*)'")


def query_terms(conn: Connection, rank_query: str) -> list[str]:
    """The lexemes of ``to_tsquery('english', rank_query)`` as ``ts_rank`` sees them: each once
    (it ranks unique operands), stop words gone. Empty when ``ts_rank`` would not score it as
    the mean of its terms' ranks: only a query whose top is an *or* (or a single lexeme) is
    ranked that way; a word PostgreSQL's parser splits (``foo_bar``: ``'foo' <-> 'bar'``) left
    alone, or with stop words only, makes a phrase, ranked by how close its terms stand."""
    shown = conn.execute(text("SELECT CAST(to_tsquery('english', :q) AS text)"), {"q": rank_query}).scalar()
    shown = shown or ""
    found = [m.replace("''", "'").replace("\\\\", "\\") for m in _TSQUERY_OPERAND.findall(shown)]
    if len(set(found)) > 1 and not _or_at_top(shown):
        return []
    return sorted(set(found))


def _or_at_top(shown: str) -> bool:
    """Whether a ``tsquery``'s text has ``|`` outside every parenthesis and quoted lexeme: its
    root is then an *or* (``|`` binds loosest, and the text brackets whatever binds looser than
    its context)."""
    bare = _TSQUERY_OPERAND.sub("''", shown)
    depth = 0
    for ch in bare:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


Scorer = Callable[[Sequence[int]], list[tuple[int, float]]]


Postings = tuple[np.ndarray, np.ndarray]  # document ids (int64, ascending), impacts (float32)


def _read_postings(conn: Connection, terms: Sequence[str], generation: str) -> list[Postings] | None:
    """The postings of ``terms`` as built by ``generation``; ``None`` when a term has none or a
    build has replaced that one since. Read in PostgreSQL's binary format: as text, ``bytea``
    comes as hex, twice the bytes and a parse (23 ms against 8 for the 1.8 MB of a five-term
    query at 100k); kept in :data:`_CACHE` once decoded."""
    found: dict[str, Postings] = {}
    for t in terms:
        hit = base.cached(generation, t)
        if hit is not None:
            found[t] = (hit[0], hit[1])
    missing = [t for t in terms if t not in found]
    if missing:
        dbapi: Any = conn.connection.dbapi_connection
        with dbapi.cursor(binary=True) as cursor:
            cursor.execute(
                "SELECT term, docs, impacts FROM search_terms WHERE term = ANY(%s) "
                "AND EXISTS (SELECT 1 FROM search_list_builds WHERE generation = CAST(%s AS uuid))",
                (missing, generation),
            )
            for term, docs, impacts in cursor.fetchall():
                decoded = (
                    np.frombuffer(bytes(docs), dtype=">i8").astype(np.int64),
                    np.frombuffer(bytes(impacts), dtype=">f4").astype(np.float32),
                )
                base.keep(generation, term, decoded)
                found[term] = decoded
    if len(found) != len(terms):
        return None
    return [found[t] for t in terms]


def _matches(postings: Sequence[Postings]) -> tuple[np.ndarray, np.ndarray]:
    """The documents on every one of ``postings`` and the sum of their impacts: walked from the
    shortest list, each next list searched for the survivors."""
    lists = sorted(postings, key=lambda p: len(p[0]))
    docs, total = lists[0][0], lists[0][1].astype(np.float64)
    for other, impacts in lists[1:]:
        if not len(docs) or not len(other):
            return docs[:0], total[:0]
        at = np.searchsorted(other, docs)
        at[at == len(other)] = 0
        hit = other[at] == docs
        docs, total = docs[hit], total[hit] + impacts[at[hit]]
    return docs, total


def top(
    conn: Connection,
    *,
    rank_query: str,
    ranges: Sequence[tuple[int, int]],
    wanted: int,
    score: Scorer,
) -> list[tuple[int, float]] | None:
    """The best ``wanted`` documents ``(doc, score)`` of the full ranking, best first (ties by
    document id), or ``None`` when the postings cannot say (see the module).

    ``score(ids)`` scores exactly those of ``ids`` that match every term and that the viewer may
    see (one statement); ``ranges`` are the ``[low, high)`` document ids of the kinds asked for.
    PostgreSQL's; SQLite's is :func:`lessonloop.store.postings_fts5.top`.
    """
    if conn.dialect.name != "postgresql":
        return None
    terms = query_terms(conn, rank_query)
    if not terms:
        return None
    n = len(terms)
    # the build and the documents written since it, in one statement (one snapshot): the tail
    # is then exactly what that build's postings do not hold
    generation, written = conn.execute(
        text(
            "SELECT (SELECT CAST(generation AS text) FROM search_list_builds WHERE id = 1), "
            "ARRAY(SELECT doc_id FROM search_tail LIMIT :cap)"
        ),
        {"cap": base.TAIL_LIMIT + 1},
    ).one()
    if generation is None or len(written) > base.TAIL_LIMIT:
        return None
    postings = _read_postings(conn, terms, generation)
    if postings is None:
        return None
    tail = np.array(written, dtype=np.int64)
    docs, total = _matches(postings)
    keep = np.zeros(len(docs), dtype=bool)
    fresh = np.zeros(len(tail), dtype=bool)
    for lo, hi in ranges:
        keep |= (docs >= lo) & (docs < hi)
        fresh |= (tail >= lo) & (tail < hi)
    if len(tail):
        keep &= ~np.isin(docs, tail)  # written since the build: scored from the tail
    docs, estimate = docs[keep], total[keep] / n
    # only as many as the rounds can score are put in order; the best of the rest is the
    # estimate every scored page must beat when they run out
    reach = min(
        len(docs), sum(max(base.BATCH, base.BATCH_PER_RESULT * wanted) << r for r in range(base.ROUNDS))
    )
    if reach < len(docs):
        part = np.argpartition(-estimate, reach)
        rest = float(estimate[part[reach]])
        head = part[:reach]
    else:
        rest, head = -math.inf, np.arange(len(docs))
    order = head[np.lexsort((docs[head], -estimate[head]))]
    queue = [int(d) for d in docs[order]]
    upper = [float(e) for e in estimate[order]]
    # the documents written since the build first, in one statement of their own
    found = score([int(d) for d in tail[fresh]]) if fresh.any() else []
    at, size = 0, max(base.BATCH, base.BATCH_PER_RESULT * wanted)
    for _round in range(base.ROUNDS):
        batch = queue[at : at + size]
        at += len(batch)
        if batch:
            found.extend(score(batch))
        found.sort(key=lambda r: (-r[1], r[0]))
        left = upper[at] if at < len(queue) else rest
        if left == -math.inf:
            return found[:wanted]  # every match scored
        if len(found) >= wanted and found[wanted - 1][1] > left * (1 + SLACK) + 1e-12:
            return found[:wanted]
        size *= 2
    return None


# ----------------------------------------------------------------------------------------------
# Building the postings
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a run of :func:`catch_up` did: terms with postings and postings kept after it,
    documents waiting in the tail, and whether every list was built again."""

    terms: int
    postings: int
    waiting: int
    rebuilt: bool


def _as_tsquery(column: str) -> str:
    """A lexeme as a one-operand ``tsquery``, verbatim (quoted: no parser, no stemming)."""
    return f"CAST('''' || replace(replace({column}, '\\', '\\\\'), '''', '''''') || '''' AS tsquery)"


def _lock(conn: Connection) -> None:
    """One run at a time keeps the postings (two workers on one database). SQLite has one
    writer at a time already."""
    if _sqlite(conn):
        return
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('lessonloop.search_postings'))"))


def _read_tail(conn: Connection) -> list[tuple[int, int]]:
    sql = "SELECT doc_id, version FROM search_tail ORDER BY doc_id"
    return [(int(d), int(v)) for d, v in conn.execute(text(sql))]


def _drop_tail(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Remove the tail rows read, each only if no write came since (its version)."""
    if rows and _sqlite(conn):
        conn.execute(
            text("DELETE FROM search_tail WHERE doc_id = :d AND version = :v"),
            [{"d": d, "v": v} for d, v in rows],
        )
    elif rows:
        conn.execute(
            text(
                "DELETE FROM search_tail AS t USING unnest(CAST(:d AS bigint[]), CAST(:v AS integer[])) "
                "AS r(doc_id, version) WHERE t.doc_id = r.doc_id AND t.version = r.version"
            ),
            {"d": [d for d, _v in rows], "v": [v for _d, v in rows]},
        )


def _counts(conn: Connection) -> tuple[int, int, int]:
    terms, postings, waiting = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM search_terms), (SELECT coalesce(sum(df), 0) FROM search_terms), "
            "(SELECT count(*) FROM search_tail)"
        )
    ).one()
    return int(terms), int(postings), int(waiting)


def build(conn: Connection, *, min_df: int | None = None) -> Progress:
    """Every term's postings made again from the documents as they are; the tail as read is
    emptied. One pass over the documents: every (frequent term, document) impact, gathered per
    term in document order (SQLite: :func:`lessonloop.store.postings_fts5.build`). The caller
    owns the transaction (searches see the old postings until it commits)."""
    if not available(conn):
        return Progress(0, 0, 0, rebuilt=False)
    _lock(conn)
    floor = base.MIN_DF if min_df is None else min_df
    tail = _read_tail(conn)
    if _sqlite(conn):
        postings_fts5.build(conn, min_df=floor)
    else:
        _build_postgresql(conn, floor)
    _drop_tail(conn, tail)
    documents = (
        "(SELECT count(*) FROM search_fts_docsize)"
        if _sqlite(conn)
        else "(SELECT count(*) FROM search_documents)"
    )
    stamp, fresh = (
        ("CURRENT_TIMESTAMP", "lower(hex(randomblob(16)))")
        if _sqlite(conn)
        else ("now()", "gen_random_uuid()")
    )
    conn.execute(
        text(
            "INSERT INTO search_list_builds (id, documents, built_at, generation) "
            f"SELECT 1, {documents}, {stamp}, {fresh} "
            "ON CONFLICT (id) DO UPDATE SET documents = excluded.documents, built_at = excluded.built_at, "
            "generation = excluded.generation"
        )
    )
    terms, postings, waiting = _counts(conn)
    return Progress(terms=terms, postings=postings, waiting=waiting, rebuilt=True)


def _build_postgresql(conn: Connection, min_df: int) -> None:
    # for this transaction only: the pairs are joined to the few frequent terms by hash (the
    # planner, misled by unnest's estimate, sorted every document's vector to merge instead:
    # 49 s and 2.6 GB of temporary files at 100k, against 29 s and 170 MB), sorted in memory
    # where they fit, and compiled by no JIT (a second of compiling for one statement)
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    conn.execute(text("SET LOCAL enable_mergejoin = off"))
    conn.execute(text("SET LOCAL jit = off"))
    conn.execute(text("DELETE FROM search_terms"))
    conn.execute(
        text(
            "CREATE TEMP TABLE posting_terms ON COMMIT DROP AS "
            f"SELECT word AS term, {_as_tsquery('word')} AS q "
            "FROM ts_stat('SELECT tsv FROM search_documents') WHERE ndoc > :min_df"
        ),
        {"min_df": min_df},
    )
    conn.execute(text("ANALYZE posting_terms"))
    # the pairs first, each impact computed once: aggregated straight from the join, the
    # grouping spilled every pair's whole document vector to disk (it computes the aggregate's
    # arguments after spilling), and filled 65 GB at 1M
    conn.execute(
        text(
            "CREATE TEMP TABLE posting_pairs ON COMMIT DROP AS "
            "SELECT t.term, d.doc_id, ts_rank(d.tsv, t.q, 1) AS impact "
            "FROM search_documents AS d CROSS JOIN LATERAL unnest(d.tsv) AS u "
            "JOIN posting_terms AS t ON t.term = u.lexeme"
        )
    )
    # grouped by sorting (one term's pairs at a time, each sorted by document in memory), not
    # by hashing every term's at once
    conn.execute(text("SET LOCAL enable_hashagg = off"))
    conn.execute(
        text(
            "INSERT INTO search_terms (term, df, docs, impacts) "
            "SELECT term, count(*), string_agg(int8send(doc_id), ''::bytea ORDER BY doc_id), "
            "string_agg(float4send(impact), ''::bytea ORDER BY doc_id) FROM posting_pairs GROUP BY term"
        )
    )
    conn.execute(text("DROP TABLE posting_pairs"))
    conn.execute(text("DROP TABLE posting_terms"))


def catch_up(conn: Connection, *, rebuild_at: int | None = None) -> Progress:
    """Build every term's postings when they were never built or more than ``rebuild_at``
    (:data:`~lessonloop.store.postings_base.REBUILD_AT`) documents were written since; otherwise nothing (searches score the
    tail's few documents exactly). The caller owns the transaction."""
    if not available(conn):
        return Progress(0, 0, 0, rebuilt=False)
    _lock(conn)
    built, waiting = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM search_list_builds), "
            "(SELECT count(*) FROM (SELECT 1 FROM search_tail LIMIT :cap) AS w)"
        ),
        {"cap": (base.REBUILD_AT if rebuild_at is None else rebuild_at) + 1},
    ).one()
    if not built or waiting > (base.REBUILD_AT if rebuild_at is None else rebuild_at):
        return build(conn)
    terms, postings, waiting = _counts(conn)
    return Progress(terms=terms, postings=postings, waiting=waiting, rebuilt=False)

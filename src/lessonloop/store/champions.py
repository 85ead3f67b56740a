"""Champion lists: an exact search page without scoring every match, on PostgreSQL (decision 68).

Decision 44 made search exact by scoring every match; that is linear in the matches (35,000 for
"outage" at 100k, ten times that at 1M), and on PostgreSQL each match is a heap row read for its
``tsvector``. PostgreSQL ranks with ``ts_rank(tsv, 'a | b', 1)``: the mean over the query's
terms of the term's own ``ts_rank(tsv, 'a', 1)``, its **impact** in the document (which depends on
the document alone, no corpus statistics: an impact never changes while the document does not).
For each frequent term (in more than :data:`MIN_DF` documents) the database keeps its
:data:`LIST_SIZE` documents of highest impact (``search_champions``) and a **bound**: no document
off the list has a higher impact for that term (``search_terms.bound``).

A search whose terms all have lists (:func:`top`):

1. asks the database for the documents on the lists that could beat every document on none of
   them: a document's upper bound is the mean of its listed impacts and, for a term whose list it
   is not on, that term's bound; a document on no list scores at most the mean of the bounds;
2. scores exactly, a batch at a time and best bound first, those documents (``ts_rank`` itself,
   the match of every term and the viewer's access checked in the same statement), plus every
   document written since the lists were brought up to date (the *tail*);
3. stops when the page's last score is above every bound left: nothing not scored can reach the
   page, so it is the head of the full ranking.

Otherwise it answers ``None`` and the caller ranks every match as before: a rare term (its few
matches are cheap to score), no lists yet, a long tail, or a page the lists cannot settle (an
*and* of several frequent terms whose best common documents are not near the top of any one
term's list: the common case that keeps the p95 far from its target; see decision 68).

Correctness never depends on the lists being current, only on the **invariant**: a document not
in ``search_tail`` has, for each listed term, an impact at most the term's bound, unless it is on
the term's list with that impact. Triggers on ``search_documents`` (migration 0027) put every
inserted or updated document in the tail, an import's ``COPY`` included, and take a deleted one
off the lists; :func:`catch_up` folds the tail in and removes only the tail rows it read, at the
version it read them, so a write during the job stays in the tail.

SQLite is left out: FTS5's ``bm25()`` walks a match in ~1.2 µs from its own index, and reading
the lists cost more than it saved (measured in decision 68).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: A term gets a list when more documents than this have it; a search with a rarer term scores
#: its (at most this many) matches directly.
MIN_DF = 1000
#: Documents kept per term.
LIST_SIZE = 1000
#: More documents written since the lists were brought up to date than this, and a search does
#: not use the lists (it would score all those anyway); the job folds them in.
TAIL_LIMIT = 2000
#: Relative margin on every bound: ``ts_rank`` adds the terms' parts in single precision, so a
#: score and the mean of its impacts may differ in the last bits.
SLACK = 1e-4
#: Documents scored per statement: at least this many, or the page times :data:`BATCH_PER_RESULT`
#: (some will not match every term or not be the viewer's to see); doubled each round.
BATCH = 200
BATCH_PER_RESULT = 4
#: Rounds of scoring before giving up for the full ranking: 89 of the 105 bench queries the
#: lists settle at 100k are settled by the first round; the rest cost more rounds than the full
#: ranking they spare (and a page the lists cannot settle costs the rounds *and* the ranking).
ROUNDS = 2
#: A tail longer than this share of the documents is folded in by building every list again.
REBUILD_SHARE = 0.2
#: The lists are built again when the documents have grown by this share since the last build.
GROWTH = 0.25


def available(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


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


def top(
    conn: Connection,
    *,
    rank_query: str,
    within: Callable[[int], bool],
    wanted: int,
    score: Scorer,
) -> list[tuple[int, float]] | None:
    """The best ``wanted`` documents ``(doc, score)`` of the full ranking, best first (ties by
    document id), or ``None`` when the lists cannot settle it (see the module).

    ``score(ids)`` scores exactly those of ``ids`` that match every term and that the viewer may
    see (one statement); ``within(doc)`` says whether a document is of a kind asked for.
    """
    if not available(conn):
        return None
    terms = query_terms(conn, rank_query)
    if not terms:
        return None
    n = len(terms)
    listed, bounds, waiting = conn.execute(
        text(
            "SELECT count(*), coalesce(sum(bound), 0), "
            "(SELECT count(*) FROM (SELECT 1 FROM search_tail LIMIT :cap) AS w) "
            "FROM search_terms WHERE term = ANY(:t)"
        ),
        {"t": terms, "cap": TAIL_LIMIT + 1},
    ).one()
    if listed != n or waiting > TAIL_LIMIT:
        return None
    rest = float(bounds) / n  # the best a document on no list can score
    floor = rest * (1 + SLACK) + 1e-12
    # a listed document's upper bound is rest + (sum of its impacts above their terms' bounds) / n;
    # only those above the floor could settle the page
    hopeful = conn.execute(
        text(
            "SELECT c.doc_id, sum(c.impact - t.bound) AS gain FROM search_champions AS c "
            "JOIN search_terms AS t ON t.term = c.term WHERE c.term = ANY(:t) "
            "GROUP BY c.doc_id HAVING sum(c.impact - t.bound) > :need ORDER BY gain DESC, c.doc_id"
        ),
        {"t": terms, "need": (floor - rest) * n},
    ).all()
    upper = {int(doc): rest + float(gain) / n for doc, gain in hopeful}
    if waiting:
        for doc in conn.execute(text("SELECT doc_id FROM search_tail")).scalars():
            upper[int(doc)] = math.inf  # written since: its listed impacts may be stale
    queue = sorted((d for d in upper if within(d)), key=lambda d: (-upper[d], d))
    if len(queue) < wanted:
        return None  # fewer documents than the page could beat the unlisted ones
    found: list[tuple[int, float]] = []
    at, size = 0, max(BATCH, BATCH_PER_RESULT * wanted)
    for _round in range(ROUNDS):
        if at >= len(queue):
            break
        batch = queue[at : at + size]
        at += len(batch)
        found.extend(score(batch))
        found.sort(key=lambda r: (-r[1], r[0]))
        left = upper[queue[at]] if at < len(queue) else -math.inf
        if len(found) >= wanted and found[wanted - 1][1] > max(left, rest) * (1 + SLACK) + 1e-12:
            return found[:wanted]
        size *= 2
    return None


# ----------------------------------------------------------------------------------------------
# Keeping the lists
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a run of :func:`catch_up` did: lists and listed documents after it, tail documents
    folded in, and whether every list was built again."""

    terms: int
    listed: int
    folded: int
    rebuilt: bool


def _as_tsquery(column: str) -> str:
    """A lexeme as a one-operand ``tsquery``, verbatim (quoted: no parser, no stemming)."""
    return f"CAST('''' || replace(replace({column}, '\\', '\\\\'), '''', '''''') || '''' AS tsquery)"


def _lock(conn: Connection) -> None:
    """One run at a time keeps the lists (two workers on one database)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('lessonloop.search_champions'))"))


def _read_tail(conn: Connection, limit: int | None = None) -> list[tuple[int, int]]:
    sql = "SELECT doc_id, version FROM search_tail ORDER BY doc_id" + (" LIMIT :n" if limit else "")
    return [(int(d), int(v)) for d, v in conn.execute(text(sql), {"n": limit} if limit else {})]


def _drop_tail(conn: Connection, rows: Sequence[tuple[int, int]]) -> None:
    """Remove the tail rows read, each only if no write came since (its version)."""
    if rows:
        conn.execute(
            text(
                "DELETE FROM search_tail AS t USING unnest(CAST(:d AS bigint[]), CAST(:v AS integer[])) "
                "AS r(doc_id, version) WHERE t.doc_id = r.doc_id AND t.version = r.version"
            ),
            {"d": [d for d, _v in rows], "v": [v for _d, v in rows]},
        )


def _counts(conn: Connection) -> tuple[int, int]:
    terms, listed = conn.execute(
        text("SELECT (SELECT count(*) FROM search_terms), (SELECT count(*) FROM search_champions)")
    ).one()
    return int(terms), int(listed)


def build(conn: Connection, *, min_df: int = MIN_DF, size: int = LIST_SIZE) -> Progress:
    """Every list made again from the documents as they are; the tail as read is emptied.

    One pass over the documents: every (frequent term, document) impact, the best ``size`` of
    each term kept, the next one its bound. The caller owns the transaction (searches see the
    old lists until it commits).
    """
    if not available(conn):
        return Progress(0, 0, 0, rebuilt=False)
    _lock(conn)
    # for this transaction only: the pairs are joined to the few frequent terms by hash (the
    # planner, misled by unnest's estimate, sorted every document's vector to merge instead:
    # 49 s and 2.6 GB of temporary files at 100k, against 29 s and 170 MB), sorted in memory
    # where they fit, and compiled by no JIT (a second of compiling for one statement)
    conn.execute(text("SET LOCAL work_mem = '256MB'"))
    conn.execute(text("SET LOCAL enable_mergejoin = off"))
    conn.execute(text("SET LOCAL jit = off"))
    tail = _read_tail(conn)
    conn.execute(text("DELETE FROM search_champions"))
    conn.execute(text("DELETE FROM search_terms"))
    conn.execute(
        text(
            "CREATE TEMP TABLE champion_terms ON COMMIT DROP AS "
            f"SELECT word AS term, ndoc AS df, {_as_tsquery('word')} AS q "
            "FROM ts_stat('SELECT tsv FROM search_documents') WHERE ndoc > :min_df"
        ),
        {"min_df": min_df},
    )
    conn.execute(text("ANALYZE champion_terms"))
    conn.execute(
        text(
            "CREATE TEMP TABLE champion_ranked ON COMMIT DROP AS "
            "SELECT term, doc_id, impact, "
            "row_number() OVER (PARTITION BY term ORDER BY impact DESC, doc_id) AS n "
            "FROM (SELECT t.term, d.doc_id, ts_rank(d.tsv, t.q, 1) AS impact "
            "FROM search_documents AS d CROSS JOIN LATERAL unnest(d.tsv) AS u "
            "JOIN champion_terms AS t ON t.term = u.lexeme) AS pairs"
        )
    )
    conn.execute(
        text(
            "INSERT INTO search_champions (term, doc_id, impact) "
            "SELECT term, doc_id, impact FROM champion_ranked WHERE n <= :size"
        ),
        {"size": size},
    )
    conn.execute(
        text(
            "INSERT INTO search_terms (term, bound, df) "
            "SELECT t.term, coalesce(max(r.impact), 0), t.df FROM champion_terms AS t "
            "LEFT JOIN champion_ranked AS r ON r.term = t.term AND r.n > :size GROUP BY t.term, t.df"
        ),
        {"size": size},
    )
    conn.execute(text("DROP TABLE champion_ranked"))
    conn.execute(text("DROP TABLE champion_terms"))
    _drop_tail(conn, tail)
    conn.execute(
        text(
            "INSERT INTO search_list_builds (id, documents, built_at) "
            "SELECT 1, count(*), now() FROM search_documents "
            "ON CONFLICT (id) DO UPDATE SET documents = excluded.documents, built_at = excluded.built_at"
        )
    )
    terms, listed = _counts(conn)
    return Progress(terms=terms, listed=listed, folded=len(tail), rebuilt=True)


def catch_up(conn: Connection, *, batch: int = 5000) -> Progress:
    """Fold the tail into the lists: each document written since leaves the lists, then joins
    the list of every listed term where its impact beats the bound. Builds every list instead
    when they were never built, when the tail is a large share of the documents (an import),
    or when the documents have grown by :data:`GROWTH` since the last build: a term that
    became frequent since gets its list then, and the lists (which only grow between builds:
    a written document joins a list, none leaves it for a better one) are cut back to
    :data:`LIST_SIZE`. The caller owns the transaction."""
    if not available(conn):
        return Progress(0, 0, 0, rebuilt=False)
    _lock(conn)
    built_for, waiting = conn.execute(
        text(
            "SELECT (SELECT documents FROM search_list_builds WHERE id = 1), "
            "(SELECT count(*) FROM search_tail)"
        )
    ).one()
    if not waiting:  # nothing written since
        terms, listed = _counts(conn)
        return Progress(terms=terms, listed=listed, folded=0, rebuilt=False)
    # the planner's estimate of the documents is enough to choose; a count (which reads them
    # all) only when the estimate is small or missing (a table never analysed says -1)
    documents = float(
        conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST('search_documents' AS regclass)")
        ).scalar()
        or 0
    )
    if documents < 50_000:
        documents = float(conn.execute(text("SELECT count(*) FROM search_documents")).scalar() or 0)
    if (
        built_for is None
        or waiting > REBUILD_SHARE * max(documents, 1.0)
        or documents > (1 + GROWTH) * max(int(built_for), MIN_DF)
    ):
        return build(conn)
    folded = 0
    while True:
        tail = _read_tail(conn, batch)
        if not tail:
            break
        docs = [d for d, _v in tail]
        conn.execute(text("DELETE FROM search_champions WHERE doc_id = ANY(:d)"), {"d": docs})
        conn.execute(
            text(
                "INSERT INTO search_champions (term, doc_id, impact) "
                "SELECT p.term, p.doc_id, p.impact FROM ("
                f"SELECT t.term, t.bound, d.doc_id, ts_rank(d.tsv, {_as_tsquery('t.term')}, 1) AS impact "
                "FROM search_documents AS d CROSS JOIN LATERAL unnest(d.tsv) AS u "
                "JOIN search_terms AS t ON t.term = u.lexeme WHERE d.doc_id = ANY(:d)) AS p "
                "WHERE p.impact > p.bound"
            ),
            {"d": docs},
        )
        _drop_tail(conn, tail)
        folded += len(tail)
        if len(tail) < batch:
            break
    terms, listed = _counts(conn)
    return Progress(terms=terms, listed=listed, folded=folded, rebuilt=False)

"""Full-text search over failures, reviews, assumptions and lessons.

SQLite uses an FTS5 table, PostgreSQL a table with a weighted ``tsvector`` (:data:`VECTOR_SQL`)
and a GIN index. Both are created by the first migration; since migration 0009 the ``tsvector`` is
written by :func:`index_documents` instead of being a generated column, so a bulk import can have
a second connection compute the vectors while the first one writes (:func:`document_vectors`). Rows are kept in step by a session hook
(:func:`index_flush`) on every write through the ORM, and bulk paths call :func:`index_documents`.

A record opts in by defining ``search_document() -> (title, body)`` and ``__search_kind__``.
Each indexed record gets a stable document id ``KIND_CODE * 10**10 + record id`` so an update
is a delete + insert by rowid (SQLite) or an upsert on the primary key (PostgreSQL): no scan.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Float, and_, column, or_, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from lessonloop.store import postings, postings_fts5

KIND_CODES: dict[str, int] = {"failure": 1, "review": 2, "assumption": 3, "lesson": 4, "action": 5}
_STRIDE = 10**10
_TOKEN = re.compile(r"\w+", re.UNICODE)


def doc_id(kind: str, record_id: int) -> int:
    return KIND_CODES[kind] * _STRIDE + record_id


@dataclass(frozen=True)
class Hit:
    kind: str
    record_id: int
    title: str
    snippet: str
    score: float  # higher is better on both backends


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


#: The PostgreSQL search vector of a document: title words weigh A, body words B. The one
#: definition: every write of ``search_documents.tsv`` goes through it.
VECTOR_SQL = (
    "setweight(to_tsvector('english', {title}), 'A') || setweight(to_tsvector('english', {body}), 'B')"
)


def document_vectors(conn: Connection, docs: Sequence[tuple[str, int, str, str]]) -> list[str]:
    """The ``tsvector`` of each document, as text, computed by the database ``conn`` talks to.

    Nothing is read or written: any connection to the same server gives the same answer, so a
    bulk import asks a second one and the stemming runs on a second core (``bulk.VectorHelper``).
    """
    if not docs:
        return []
    sql = (
        f"SELECT CAST({VECTOR_SQL.format(title='x.t', body='x.b')} AS text) "
        "FROM unnest(CAST(%s AS text[]), CAST(%s AS text[])) WITH ORDINALITY AS x(t, b, n) ORDER BY x.n"
    )
    dbapi: Any = conn.connection.dbapi_connection
    with dbapi.cursor() as cursor:
        cursor.execute(sql, ([t or "" for _k, _r, t, _b in docs], [b or "" for _k, _r, _t, b in docs]))
        return [row[0] for row in cursor.fetchall()]


def index_documents(
    conn: Connection,
    docs: Sequence[tuple[str, int, str, str]],
    *,
    new: bool = False,
    vectors: Sequence[str] | None = None,
) -> None:
    """Insert or replace ``(kind, record_id, title, body)`` documents.

    ``new=True`` promises that none of them is indexed yet (records just bulk-inserted): the
    documents are then only inserted, with ``COPY`` on PostgreSQL, which is much cheaper; their
    vectors are ``vectors`` (from :func:`document_vectors`, same order) or computed here.
    """
    if not docs:
        return
    if new and not _is_sqlite(conn):
        if vectors is None:
            vectors = document_vectors(conn, docs)
        if len(vectors) != len(docs):
            raise ValueError(f"{len(vectors)} search vectors for {len(docs)} documents")
        dbapi: Any = conn.connection.dbapi_connection  # psycopg: COPY is not in the DB-API
        with (
            dbapi.cursor() as cursor,
            cursor.copy(
                "COPY search_documents (doc_id, kind, record_id, title, body, tsv) FROM STDIN"
            ) as copy,
        ):
            for (k, rid, title, body), vector in zip(docs, vectors, strict=True):
                copy.write_row((doc_id(k, rid), k, rid, title or "", body or "", vector))
        return
    rows = [
        {"doc_id": doc_id(k, rid), "kind": k, "record_id": rid, "title": title or "", "body": body or ""}
        for k, rid, title, body in docs
    ]
    if _is_sqlite(conn):
        if not new:
            conn.execute(
                text("DELETE FROM search_fts WHERE rowid = :doc_id"), [{"doc_id": r["doc_id"]} for r in rows]
            )
        conn.execute(
            text(
                "INSERT INTO search_fts(rowid, kind, record_id, title, body) "
                "VALUES (:doc_id, :kind, :record_id, :title, :body)"
            ),
            rows,
        )
        _written_since(conn, [doc_id(k, rid) for k, rid, _t, _b in docs])
    else:
        vector = VECTOR_SQL.format(title="CAST(:title AS text)", body="CAST(:body AS text)")
        conn.execute(
            text(
                "INSERT INTO search_documents (doc_id, kind, record_id, title, body, tsv) "
                f"VALUES (:doc_id, :kind, :record_id, :title, :body, {vector}) "
                "ON CONFLICT (doc_id) DO UPDATE SET title = excluded.title, body = excluded.body, tsv = excluded.tsv"
            ),
            rows,
        )


def unindex_documents(conn: Connection, keys: Iterable[tuple[str, int]]) -> None:
    ids = [{"doc_id": doc_id(k, rid)} for k, rid in keys]
    if not ids:
        return
    table, col = ("search_fts", "rowid") if _is_sqlite(conn) else ("search_documents", "doc_id")
    conn.execute(text(f"DELETE FROM {table} WHERE {col} = :doc_id"), ids)
    if _is_sqlite(conn):
        _written_since(conn, [i["doc_id"] for i in ids])


def _written_since(conn: Connection, docs: Sequence[int]) -> None:
    """On SQLite, what PostgreSQL's triggers do (FTS5 tables take none): every document written
    or deleted joins the postings' tail, in the same transaction (decision 72), with a random
    version: a search process remembers how a waiting document tokenizes by its version, and a
    rolled-back write's version must never come back with other text."""
    conn.execute(
        text(
            "INSERT INTO search_tail (doc_id, version) VALUES (:d, random()) "
            "ON CONFLICT (doc_id) DO UPDATE SET version = excluded.version"
        ),
        [{"d": d} for d in docs],
    )


def index_flush(session: Session, _flush_context: Any) -> None:
    """``after_flush`` hook: re-index every searchable record written in this flush."""
    upserts: list[tuple[str, int, str, str]] = []
    deletes: list[tuple[str, int]] = []
    for obj in list(session.new) + list(session.dirty):
        kind = getattr(obj, "__search_kind__", None)
        if kind is None or (obj in session.dirty and not session.is_modified(obj)):
            continue
        title, body = obj.search_document()
        upserts.append((kind, obj.id, title, body))
    for obj in session.deleted:
        kind = getattr(obj, "__search_kind__", None)
        if kind is not None:
            deletes.append((kind, obj.id))
    conn = session.connection()
    unindex_documents(conn, deletes)
    index_documents(conn, upserts)


def terms(query: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(query)]


def fts5_query(query: str, *, any_term: bool = False) -> str:
    """Quote every term so user input can never be read as FTS5 syntax."""
    quoted = [f'"{t}"' for t in terms(query)]
    return (" OR " if any_term else " ").join(quoted)


def _kind_ranges(kinds: Sequence[str] | None) -> list[tuple[str, int, int]]:
    """``(kind, low, high)``: the ``[low, high)`` document-id range of each kind asked for (all
    kinds when ``None``)."""
    names = list(KIND_CODES) if not kinds else [k for k in KIND_CODES if k in set(kinds)]
    return [(k, KIND_CODES[k] * _STRIDE, (KIND_CODES[k] + 1) * _STRIDE) for k in names]


@dataclass(frozen=True)
class Visibility:
    """Which documents may be shown, built by :mod:`lessonloop.access.indexed` (storage knows no
    people): ``clause(kind, record_id)`` is a SQL clause on one record given the SQL expression
    of its id. ``key`` says whom it is for: two visibilities with the same key must allow the
    same documents, so the compiled SQL is kept per key (building and compiling it costs more
    than a search)."""

    key: Hashable
    clause: Callable[[str, ColumnElement[int]], ColumnElement[bool]]


#: Every match ranked, best first, in one materialised common table expression: ``doc`` (the
#: document id) and ``score`` (higher is better on both backends). FTS5's ``bm25()`` is
#: lower-is-better and title matches weigh 4x the body; PostgreSQL's ``ts_rank(tsv, r, 1)``
#: weighs the title (A) above the body (B) and divides by the document's length, as BM25 does.
#: PostgreSQL ranks by the query's terms *or*-ed (``r``, the mean of each term's rank) while
#: matching them all (``m``): that score is a sum of per-term parts, which the postings need
#: (decisions 68, 72); ``ts_rank`` of an *and* query weighs how close the terms stand instead.
_RANKED = {
    "sqlite": (
        "SELECT rowid AS doc, -bm25(search_fts, 0.0, 0.0, 4.0, 1.0) AS score FROM search_fts "
        "WHERE search_fts MATCH :q AND ({within}) ORDER BY score DESC, doc LIMIT :depth"
    ),
    "postgresql": (
        "SELECT d.doc_id AS doc, ts_rank(d.tsv, q.r, 1) AS score "
        "FROM search_documents AS d, "
        "(SELECT to_tsquery('english', :q) AS m, to_tsquery('english', :rq) AS r) AS q "
        "WHERE d.tsv @@ q.m AND ({within}) ORDER BY score DESC, doc LIMIT :depth"
    ),
}
#: The same scores for some documents only (``:ids``): the postings' candidates (decision 72).
_SCORED = (
    "SELECT d.doc_id AS doc, ts_rank(d.tsv, q.r, 1) AS score "
    "FROM search_documents AS d, "
    "(SELECT to_tsquery('english', :q) AS m, to_tsquery('english', :rq) AS r) AS q "
    "WHERE d.doc_id = ANY(:ids) AND d.tsv @@ q.m"
)
#: How deep a person's search first reads the ranking, per result wanted: a page of 40 reads the
#: best 160 matches and drops what the person may not see (see :func:`rank`).
DEPTH = 4
MIN_DEPTH = 200

#: The ranked rows as the visibility clause sees them (``ranked.doc``).
_RANKED_ROWS = table("ranked", column("doc", BigInteger), column("score", Float))
_VISIBLE_SQL: OrderedDict[Hashable, str] = OrderedDict()
_VISIBLE_SQL_SIZE = 512
_VISIBLE_SQL_LOCK = threading.Lock()


def _visible_sql(conn: Connection, visible: Visibility, ranges: Sequence[tuple[str, int, int]]) -> str:
    """``SELECT doc, score FROM ranked WHERE …``: the ranked rows ``visible`` allows, as SQL text.

    Compiled as a whole statement, so each record's clause is correlated to ``ranked.doc``, with
    its values inline (person and team ids, visibility names: integers and fixed words, never
    user input), and kept per dialect, key and kinds: a search builds no SQL expression, and a
    person's clause is built once per process, not once per search.
    """
    cache_key = (conn.dialect.name, visible.key, tuple(ranges))
    with _VISIBLE_SQL_LOCK:
        sql = _VISIBLE_SQL.get(cache_key)
        if sql is not None:
            _VISIBLE_SQL.move_to_end(cache_key)
            return sql
    doc = _RANKED_ROWS.c.doc
    allowed = or_(*(and_(doc >= lo, doc < hi, visible.clause(kind, doc - lo)) for kind, lo, hi in ranges))
    stmt = select(doc, _RANKED_ROWS.c.score).where(allowed)
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    with _VISIBLE_SQL_LOCK:
        _VISIBLE_SQL[cache_key] = sql
        while len(_VISIBLE_SQL) > _VISIBLE_SQL_SIZE:
            _VISIBLE_SQL.popitem(last=False)
    return sql


def rank(
    session: Session,
    query: str,
    *,
    kinds: Sequence[str] | None = None,
    limit: int = 20,
    offset: int = 0,
    any_term: bool = False,
    visible: Visibility | None = None,
) -> list[Hit]:
    """Rank every matching document (all terms must match unless ``any_term``), best first.

    Exact: the page is cut from the ranking of *every* match (decision 44). ``visible``, when
    given, keeps only the documents it allows, in the same statement, and ``limit``/``offset``
    count those; ``None`` ranks every document (a system job). One SQL statement:

    1. ``ranked``: every match scored, the best ``depth`` kept in order (a materialised CTE;
       the engine scores every match and keeps the best in a bounded sort);
    2. ``page``: read ``ranked`` in that order, keep what ``visible`` allows, stop after
       ``offset + limit`` rows. So the access check is a correlated lookup of the few documents
       read, not a join of every match with the records. A materialised CTE is read back in the
       order it was written (both engines store it as a plain list); the final ``ORDER BY``
       sorts the page itself;
    3. the page's titles and the text its snippets are cut from.

    ``depth`` is ``offset + limit`` without ``visible``; with it, :data:`DEPTH` times that (at
    least :data:`MIN_DEPTH`), and when that leaves the page short the statement runs again with
    no depth, so documents the viewer may not see never push a visible one off the page.

    An *and* search first asks the postings (decision 72): on PostgreSQL
    (:mod:`lessonloop.store.postings`) they settle most pages from a few hundred documents scored
    by the database; on SQLite (:mod:`lessonloop.store.postings_fts5`) they give every match's
    ``bm25()`` itself and the database only says which the viewer may see. Either way the same
    answer; when they cannot say, the statement above answers.

    People search through :func:`lessonloop.search.service.search`, which passes ``visible``.
    """
    words = terms(query)
    ranges = _kind_ranges(kinds)
    if not words or not ranges or limit < 1 or offset < 0:
        return []
    conn = session.connection()
    sqlite = _is_sqlite(conn)
    key = "rowid" if sqlite else "d.doc_id"
    within = " OR ".join(f"({key} >= {lo} AND {key} < {hi})" for _k, lo, hi in ranges)
    q = fts5_query(query, any_term=any_term) if sqlite else (" | " if any_term else " & ").join(words)
    rq = q if sqlite else " | ".join(words)
    rows_of = _visible_sql(conn, visible, ranges) if visible is not None else "SELECT doc, score FROM ranked"
    docs, doc_key = ("search_fts", "rowid") if sqlite else ("search_documents", "doc_id")
    wanted = offset + limit
    params: dict[str, Any] = {"q": q, "rq": rq, "window": SNIPPET_WINDOW}
    if not any_term and postings.available(conn):
        if sqlite:
            head = _from_fts5_postings(conn, rows_of, params, words, ranges, wanted)
        else:
            head = _from_postings(conn, rows_of, params, ranges, wanted)
        if head is not None:
            return [
                Hit(kind, rid, title, snippet(body, words), s) for kind, rid, title, body, s in head[offset:]
            ]
    sql = (
        f"WITH ranked AS MATERIALIZED ({_RANKED[conn.dialect.name].format(within=within)}), "
        f"page AS ({rows_of} LIMIT :limit OFFSET :offset) "
        f"SELECT d.kind, d.record_id, d.title, substr(d.body, 1, :window), page.score "
        f"FROM page JOIN {docs} AS d ON d.{doc_key} = page.doc ORDER BY page.score DESC, page.doc"
    )
    depth = wanted if visible is None else max(DEPTH * wanted, MIN_DEPTH)
    params |= {"limit": limit, "offset": offset, "depth": depth}
    if sqlite:
        del params["rq"]  # one query matches and ranks
    rows = conn.execute(text(sql), params).all()
    if visible is not None and len(rows) < limit:
        # short: the best `depth` matches held too few the viewer may see, or there are no more
        # matches (then this is as cheap as the first run)
        rows = conn.execute(text(sql), params | {"depth": -1 if sqlite else None}).all()
    return [Hit(r[0], int(r[1]), r[2], snippet(r[3] or "", words), float(r[4])) for r in rows]


def _from_postings(
    conn: Connection,
    rows_of: str,
    params: dict[str, Any],
    ranges: Sequence[tuple[str, int, int]],
    wanted: int,
) -> list[tuple[str, int, str, str, float]] | None:
    """The head of the full ranking through the terms' postings (PostgreSQL, decision 72), as
    ``(kind, record_id, title, body window, score)``; ``None`` when the postings cannot say."""
    scored = f"WITH ranked AS MATERIALIZED ({_SCORED}) {rows_of}"

    def score(ids: Sequence[int]) -> list[tuple[int, float]]:
        return [(int(d), float(s)) for d, s in conn.execute(text(scored), params | {"ids": list(ids)})]

    head = postings.top(
        conn,
        rank_query=params["rq"],
        ranges=[(lo, hi) for _k, lo, hi in ranges],
        wanted=wanted,
        score=score,
    )
    return None if head is None else _page_rows(conn, head)


def _from_fts5_postings(
    conn: Connection,
    rows_of: str,
    params: dict[str, Any],
    words: Sequence[str],
    ranges: Sequence[tuple[str, int, int]],
    wanted: int,
) -> list[tuple[str, int, str, str, float]] | None:
    """The head of the full ranking through the tokens' postings (SQLite, decision 72), as
    ``(kind, record_id, title, body window, score)``; ``None`` when the postings cannot say."""
    allowed = (
        f"WITH ranked AS (SELECT CAST(value AS INTEGER) AS doc, 0.0 AS score FROM json_each(:ids)) {rows_of}"
    )

    def visible(ids: Sequence[int]) -> set[int]:
        return {int(r[0]) for r in conn.execute(text(allowed), {"ids": json.dumps(list(ids))})}

    head = postings_fts5.top(
        conn,
        words=words,
        ranges=[(lo, hi) for _k, lo, hi in ranges],
        wanted=wanted,
        visible=visible,
    )
    return None if head is None else _page_rows(conn, head)


def _page_rows(conn: Connection, head: Sequence[tuple[int, float]]) -> list[tuple[str, int, str, str, float]]:
    """``(kind, record_id, title, body window, score)`` of each ``(doc, score)`` of a page, in
    its order, in one statement."""
    ids = [d for d, _s in head]
    sql, listed = (
        (
            "SELECT rowid, kind, record_id, title, substr(body, 1, :window) FROM search_fts "
            "WHERE rowid IN (SELECT value FROM json_each(:ids))",
            json.dumps(ids),
        )
        if _is_sqlite(conn)
        else (
            "SELECT doc_id, kind, record_id, title, substr(body, 1, :window) FROM search_documents "
            "WHERE doc_id = ANY(:ids)",
            ids,
        )
    )
    found = {int(r[0]): r[1:] for r in conn.execute(text(sql), {"window": SNIPPET_WINDOW, "ids": listed})}
    return [(found[d][0], int(found[d][1]), found[d][2], found[d][3] or "", s) for d, s in head if d in found]


# ----------------------------------------------------------------------------------------------
# Snippets
# ----------------------------------------------------------------------------------------------

#: How much of a document's body (in characters, from its start) a snippet is made from. FTS5's
#: snippet() and ts_headline() read the whole body: a 2 MB observation made one SQLite search
#: take 17 s (issue #17). The database hands over only this prefix (``substr``), and the
#: snippet is cut from it: the cost per hit is bounded whatever is stored. A match further in is
#: still found and ranked; its snippet is then the body's first words, unmarked.
SNIPPET_WINDOW = 16_384
#: Words in a snippet (as FTS5's snippet(..., 12) gave).
SNIPPET_WORDS = 12

# Endings taken off before comparing a word with a query term, so "deploys" marks "deploy".
# Only which words get the [brackets] depends on it: the index (Porter stemming) decides what
# matches; the store layer imports nothing above it, so not signals.text's stemmer.
_ENDINGS: tuple[str, ...] = ("ations", "ation", "ments", "ment", "ingly", "ings", "ing", "edly")
_ENDINGS += ("ies", "ied", "ed", "es", "ly", "s")  # longest first: "ings" before "s"


def _word_key(word: str) -> str:
    w = word.lower()
    for ending in _ENDINGS:
        if w.endswith(ending) and len(w) - len(ending) >= 3 and not (ending == "s" and w.endswith("ss")):
            w = w[: -len(ending)] + ("y" if ending in ("ies", "ied") else "")
            break
    return w.rstrip("e") or w


def snippet(window: str, query_terms: Sequence[str]) -> str:
    """About :data:`SNIPPET_WORDS` words of ``window`` (a body's first :data:`SNIPPET_WINDOW`
    characters) around its first match of ``query_terms``, matches in ``[`` ``]``, cuts marked
    with ``…``; the first words when nothing matches. Costs O(len(window))."""
    wanted = {_word_key(t) for t in query_terms}
    # A word's key is a prefix of the word (endings come off its end), so only words starting
    # with a wanted key's first letter can match: _word_key runs on those only.
    initials = {k[0] for k in wanted if k}
    spans = [m.span() for m in _TOKEN.finditer(window)]
    if not spans:
        return ""
    hits = {
        i
        for i, (a, b) in enumerate(spans)
        if window[a].lower()[:1] in initials and _word_key(window[a:b]) in wanted
    }
    first = max(0, min(hits) - SNIPPET_WORDS // 4) if hits else 0
    last = min(len(spans), first + SNIPPET_WORDS)
    first = max(0, last - SNIPPET_WORDS)
    out = ["…" if first > 0 else ""]
    pos = spans[first][0]
    for i in range(first, last):
        a, b = spans[i]
        out.append(window[pos:a])
        out.append(f"[{window[a:b]}]" if i in hits else window[a:b])
        pos = b
    out.append("…" if last < len(spans) or len(window) >= SNIPPET_WINDOW else "")
    return " ".join("".join(out).split())

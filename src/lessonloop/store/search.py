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

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

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


#: How many matches of each kind are ranked: the newest (highest record ids) of that kind. A query
#: that matches more documents than this (a common word in a large workspace) is answered from
#: these candidates only, so its cost is bounded by this number instead of by the workspace —
#: see docs/decisions.md ("Search ranks a bounded set of recent matches").
CANDIDATES = 500


def _kind_ranges(kinds: Sequence[str] | None) -> list[tuple[int, int]]:
    """``[low, high)`` document-id ranges of the kinds asked for (all kinds when ``None``)."""
    names = list(KIND_CODES) if not kinds else [k for k in KIND_CODES if k in set(kinds)]
    return [(KIND_CODES[k] * _STRIDE, (KIND_CODES[k] + 1) * _STRIDE) for k in names]


#: PostgreSQL first reads the matches among the newest ``WINDOW * cap`` documents of each kind
#: (``cap``: the candidate bound); see :func:`_pg_sql`.
WINDOW = 4
#: How much wider than the matches seen so far suggest the second window is made, so that it is
#: rarely too narrow (the third window, the rest of the kind, then covers the shortfall).
MARGIN = 2


def _pg_sql(ranges: Sequence[tuple[int, int]]) -> str:
    """The PostgreSQL search statement: the newest ``:cap`` matches per kind, ranked, one page.

    The newest ``cap`` matches of a kind cannot come from the GIN index in order, and the planner
    cannot tell how many documents a query of several words matches (it multiplies the words'
    frequencies: it underestimates common phrases tenfold), so a plain ``ORDER BY doc_id DESC
    LIMIT cap`` per kind either visits every match of the kind (a bitmap scan) or walks the
    kind's newest documents until it has ``cap`` (a primary-key scan: all of them when the
    query is rare), and each kind built the GIN bitmap again. Instead, at most three bitmap scans
    cover all kinds at once (the GIN match AND'ed with a primary-key range per kind), each
    building the GIN bitmap once:

    1. ``w0``: the matches among each kind's newest ``WINDOW * cap`` documents;
    2. ``w1``, only for the kinds short of ``cap`` matches: the next older window, sized from the
       density seen in ``w0`` (``MARGIN`` times what should hold the missing matches; the whole
       rest of the kind when ``w0`` found none);
    3. ``w2``, only for the kinds still short: the rest of the kind.

    A kind that has its ``cap`` matches gets an empty range, and a window no kind needs is not
    read (a one-time filter). So a common query visits about ``MARGIN * cap`` matching rows per
    kind whatever the planner thinks, and a rare one visits its few matches. The windows decide
    only how much is read: the candidates are exactly each kind's newest ``cap`` matches.
    """
    kinds = list(enumerate(ranges))
    first = f"least({WINDOW} * CAST(:cap AS bigint), {_STRIDE})"  # a kind spans fewer ids
    match = "tsv @@ to_tsquery('english', :q)"

    def counts(names: Sequence[str]) -> str:
        rows = " UNION ALL ".join(f"SELECT doc_id FROM {n}" for n in names)
        per_kind = ", ".join(
            f"count(*) FILTER (WHERE doc_id >= {lo} AND doc_id < {hi}) AS c{k}" for k, (lo, hi) in kinds
        )
        return f"(SELECT {per_kind} FROM ({rows}) AS seen) AS c"

    def scan(name: str, bounds: str, arms: Sequence[str], gate: str | None) -> str:
        where = f"{match} AND ({' OR '.join(arms)})"
        if gate:
            where += f" AND (SELECT {gate} FROM {bounds})"
        return f"{name} AS (SELECT doc_id, tsv FROM search_documents WHERE {where})"

    # each kind's newest document id (a step back along the primary key) and the first window
    b0 = ", ".join(
        f"(SELECT max(doc_id) FROM search_documents WHERE doc_id >= {lo} AND doc_id < {hi}) AS m{k}"
        for k, (lo, hi) in kinds
    )
    ctes = [f"b0 AS (SELECT {b0})"]
    ctes.append(
        scan(
            "w0",
            "b0",
            [
                f"(doc_id > (SELECT m{k} - {first} FROM b0) AND doc_id >= {lo} AND doc_id <= (SELECT m{k} FROM b0))"
                for k, (lo, hi) in kinds
            ],
            None,
        )
    )
    # the second window: below the first, for the kinds short of cap that have older documents
    b1 = []
    for k, (lo, _hi) in kinds:
        top = f"b0.m{k} - {first}"
        short = f"c.c{k} < :cap AND {top} >= {lo}"
        # numeric: a huge cap (a far page) must not overflow bigint
        width = f"least({MARGIN} * CAST(:cap - c.c{k} AS numeric) * {first} / greatest(c.c{k}, 1), {_STRIDE})"
        b1.append(
            f"CASE WHEN {short} THEN {top} END AS u{k}, greatest({top} - CAST({width} AS bigint), {lo - 1}) AS l{k}"
        )
    ctes.append(f"b1 AS (SELECT {', '.join(b1)} FROM b0, {counts(['w0'])})")
    ctes.append(
        scan(
            "w1",
            "b1",
            [f"(doc_id > (SELECT l{k} FROM b1) AND doc_id <= (SELECT u{k} FROM b1))" for k, _ in kinds],
            " OR ".join(f"u{k} IS NOT NULL" for k, _ in kinds),
        )
    )
    # the third: the rest of each kind still short
    b2 = ", ".join(
        f"CASE WHEN b1.u{k} IS NOT NULL AND c.c{k} < :cap AND b1.l{k} >= {lo} THEN b1.l{k} END AS u{k}"
        for k, (lo, _hi) in kinds
    )
    ctes.append(f"b2 AS (SELECT {b2} FROM b1, {counts(['w0', 'w1'])})")
    ctes.append(
        scan(
            "w2",
            "b2",
            [f"(doc_id >= {lo} AND doc_id <= (SELECT u{k} FROM b2))" for k, (lo, _hi) in kinds],
            " OR ".join(f"u{k} IS NOT NULL" for k, _ in kinds),
        )
    )
    union = " UNION ALL ".join(f"SELECT doc_id, tsv FROM {n}" for n in ("w0", "w1", "w2"))
    return (
        "WITH q AS (SELECT to_tsquery('english', :q) AS tsq), "
        + ", ".join(ctes)
        + f", cand AS (SELECT doc_id, tsv FROM (SELECT doc_id, tsv, row_number() OVER "
        f"(PARTITION BY doc_id / {_STRIDE} ORDER BY doc_id DESC) AS n FROM ({union}) AS w) AS c "
        "WHERE n <= :cap), "
        "top AS (SELECT cand.doc_id, ts_rank(cand.tsv, q.tsq, 1) AS score FROM cand, q "
        "ORDER BY score DESC, cand.doc_id LIMIT :limit OFFSET :offset) "
        f"SELECT d.kind, d.record_id, d.title, {_SNIPPET_TEXT.format(body='d.body')} AS snip, "
        "top.score FROM top JOIN search_documents d ON d.doc_id = top.doc_id, q "
        "ORDER BY top.score DESC, top.doc_id"
    )


def rank(
    session: Session,
    query: str,
    *,
    kinds: Sequence[str] | None = None,
    limit: int = 20,
    offset: int = 0,
    any_term: bool = False,
    candidates: int | None = None,
) -> list[Hit]:
    """Rank matching documents; all terms must match unless ``any_term``.

    Only the newest ``candidates`` (default :data:`CANDIDATES`) matches of each kind are ranked,
    then merged by score; a query matching fewer is ranked in full. ``offset + limit`` past the
    bound widens it for that call, so a page is never cut short by it. Snippets are made for the
    returned page only.

    Every document is ranked: this is the index, below the policy. People search through
    :func:`lessonloop.search.service.search`, which takes the actor and drops what they may not see.
    """
    if not terms(query):
        return []
    ranges = _kind_ranges(kinds)
    if not ranges or limit < 1:
        return []
    # The bound never cuts a page short: asking for results past it widens it for that request.
    cap = max(CANDIDATES if candidates is None else candidates, offset + limit)
    conn = session.connection()
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if _is_sqlite(conn):
        params["q"] = fts5_query(query, any_term=any_term)
        params["skip"] = cap - 1
        # Per kind, the rowid of its cap-th newest match (FTS5 walks its doclists by rowid, so
        # finding it ranks nothing) bounds the candidates. One ranking cursor filters all kinds
        # at once: bm25() is computed for the candidates only, and its corpus statistics once.
        # bm25() is lower-is-better; title matches weigh 4x the body. snippet() runs in the last
        # step, on the page only.
        within = " OR ".join(
            f"(rowid < {hi} AND rowid >= coalesce((SELECT rowid FROM search_fts WHERE search_fts MATCH :q "
            f"AND rowid >= {lo} AND rowid < {hi} ORDER BY rowid DESC LIMIT 1 OFFSET :skip), {lo}))"
            for lo, hi in ranges
        )
        sql = (
            "WITH page AS (SELECT rowid AS doc, bm25(search_fts, 0.0, 0.0, 4.0, 1.0) AS rank "
            f"FROM search_fts WHERE search_fts MATCH :q AND ({within}) "
            "ORDER BY rank, doc LIMIT :limit OFFSET :offset) "
            f"SELECT f.kind, f.record_id, f.title, {_SNIPPET_TEXT.format(body='f.body')} AS snip, "
            "-page.rank AS score FROM page JOIN search_fts AS f ON f.rowid = page.doc "
            "ORDER BY page.rank, page.doc"
        )
    else:
        joiner = " | " if any_term else " & "
        params["q"] = joiner.join(terms(query))
        params["cap"] = cap
        sql = _pg_sql(ranges)
    params["window"] = SNIPPET_WINDOW
    rows = conn.execute(text(sql), params).all()
    words = terms(query)
    return [Hit(r[0], int(r[1]), r[2], snippet(r[3] or "", words), float(r[4])) for r in rows]


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
#: The same on both backends: character positions, 1-based.
_SNIPPET_TEXT = "substr({body}, 1, :window)"

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
    spans = [m.span() for m in _TOKEN.finditer(window)]
    if not spans:
        return ""
    hits = {i for i, (a, b) in enumerate(spans) if _word_key(window[a:b]) in wanted}
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

"""Complete postings on SQLite: an exact search page without FTS5 scoring every match (decision 72).

FTS5 ranks with ``bm25()``: for each phrase of the query, in order, ``idf * f * (k1 + 1) / (f +
k1 * (1 - b + b * D / avgdl))``, where ``f`` is the phrase's weighted count in the document
(title 4, body 1), ``D`` the document's tokens, ``avgdl`` the table's tokens per row and ``idf``
from the number of rows with the phrase. Only ``f`` and ``D`` belong to a document; the rest is
three numbers of the table. So, for each frequent token (in more than
:data:`~lessonloop.store.postings_base.MIN_DF` documents), ``search_terms`` keeps every document that
has it (``docs``), ``f`` there (``freqs``) and ``D`` (``sizes``), read from FTS5's own index
(``fts5vocab``) and document sizes by :func:`build`; and a search whose words are all frequent
single tokens (:func:`top`) computes every match's ``bm25()`` in numpy, **the same floating-point
operations in the same order** as FTS5's C, so the same doubles (a test compares them bit for
bit), and then only asks the database which of the best the viewer may see.

The table's numbers are FTS5's own: the rows and tokens from its *averages* record (brought up
to date first: FTS5 writes it when a savepoint is taken), the rows with each token from the
postings, corrected by the documents written since the build (the *tail*). Those are scored
from their *profiles*: their text as ``search_fts`` holds it now, run through FTS5's own
tokenizer in a private in-memory table, remembered per process by the random version their
last write gave them. The page is then the head of the full ranking (decision 44) exactly;
:func:`top` answers ``None`` and the caller ranks every match as before when a word is rare, is
not one token (``foo_bar`` is a phrase to FTS5), the postings were never built, or the tail is
long.

Every write of ``search_fts`` goes through :func:`lessonloop.store.search.index_documents` and
``unindex_documents``, which put the document in ``search_tail`` in the same transaction (FTS5
tables take no triggers).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from lessonloop.store import postings_base as shared

#: FTS5's ``bm25()`` constants (fts5_aux.c) and the column weights search ranks with: the
#: ``bm25(search_fts, 0.0, 0.0, 4.0, 1.0)`` of :data:`lessonloop.store.search._RANKED`.
K1 = 1.2
B = 0.75
WEIGHTS = {"title": 4.0, "body": 1.0}

_TOKENIZER_LOCK = threading.Lock()
_TOKENIZER: list[sqlite3.Connection] = []
_TOKENS: dict[str, tuple[str, ...]] = {}


def _tokenizer() -> sqlite3.Connection:
    """A private in-memory database with an FTS5 table tokenized as ``search_fts`` (its two
    indexed columns) and its instances; held under :data:`_TOKENIZER_LOCK`."""
    if not _TOKENIZER:
        db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
        db.execute("CREATE VIRTUAL TABLE docs_seen USING fts5vocab(docs, 'instance')")
        _TOKENIZER.append(db)
    return _TOKENIZER[0]


def tokens(word: str) -> tuple[str, ...]:
    """What FTS5's ``porter unicode61`` tokenizer (``search_fts``'s) makes of ``word``,
    remembered."""
    found = _TOKENS.get(word)
    if found is not None:
        return found
    with _TOKENIZER_LOCK:
        db = _tokenizer()
        db.execute("BEGIN")
        try:
            db.execute("INSERT INTO docs (rowid, title, body) VALUES (1, ?, '')", (word,))
            found = tuple(t for (t,) in db.execute('SELECT term FROM docs_seen ORDER BY "offset"'))
        finally:
            db.execute("ROLLBACK")
        if len(_TOKENS) > 100_000:
            _TOKENS.clear()
        _TOKENS[word] = found
    return found


def _varints(buf: bytes) -> list[int]:
    """SQLite's big-endian varints, as FTS5 writes its sizes and totals."""
    out, i = [], 0
    while i < len(buf):
        value = 0
        for k in range(9):
            byte = buf[i]
            i += 1
            if k == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        out.append(value)
    return out


def _totals(conn: Connection) -> tuple[int, int] | None:
    """FTS5's rows and tokens (all columns), as ``bm25()`` reads them. FTS5 keeps them in memory
    while this transaction writes and saves them when a savepoint is taken: one is, first."""
    conn.exec_driver_sql("SAVEPOINT lessonloop_fts_totals")
    conn.exec_driver_sql("RELEASE lessonloop_fts_totals")
    block = conn.execute(text("SELECT block FROM search_fts_data WHERE id = 1")).scalar()
    values = _varints(bytes(block or b""))
    if not values or values[0] <= 0:
        return None
    return values[0], sum(values[1:])


Visible = Callable[[Sequence[int]], set[int]]

#: A document written since the build, as FTS5 indexed it: each token's weighted count there,
#: and its size (tokens). ``None``: deleted.
Profile = tuple[dict[str, float], int] | None
#: Profiles kept per process, by document and the random version its last write gave it in
#: ``search_tail`` (a rolled-back write's version is never seen again): a document is tokenized
#: once, not by every search while it waits for the next build.
_PROFILES: OrderedDict[tuple[int, int], Profile] = OrderedDict()
_PROFILES_SIZE = 20_000
_PROFILES_LOCK = threading.Lock()


def _profiles(conn: Connection, written: dict[int, int]) -> dict[int, Profile]:
    """The profile of each document in ``written`` (document -> version): remembered ones, and
    the rest read from ``search_fts`` and run through FTS5's own tokenizer (the private table of
    :func:`tokens`, with the same two indexed columns): the same tokens FTS5 indexed."""
    found: dict[int, Profile] = {}
    with _PROFILES_LOCK:
        for doc, version in written.items():
            if (doc, version) in _PROFILES:
                found[doc] = _PROFILES[(doc, version)]
    missing = [doc for doc in written if doc not in found]
    if not missing:
        return found
    texts = {
        int(doc): (title or "", body or "")
        for doc, title, body in conn.execute(
            text(
                "SELECT rowid, title, body FROM search_fts WHERE rowid IN (SELECT value FROM json_each(:ids))"
            ),
            {"ids": json.dumps(missing)},
        )
    }
    made = _tokenize(texts)
    with _PROFILES_LOCK:
        for doc in missing:
            profile = made.get(doc)
            found[doc] = profile
            _PROFILES[(doc, written[doc])] = profile
        while len(_PROFILES) > _PROFILES_SIZE:
            _PROFILES.popitem(last=False)
    return found


def _tokenize(texts: dict[int, tuple[str, str]]) -> dict[int, Profile]:
    if not texts:
        return {}
    weight = " ".join(f"WHEN '{col}' THEN {w!r}" for col, w in WEIGHTS.items())
    with _TOKENIZER_LOCK:
        db = _tokenizer()
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO docs (rowid, title, body) VALUES (?, ?, ?)",
                [(doc, title, body) for doc, (title, body) in texts.items()],
            )
            counts: dict[int, dict[str, float]] = {doc: {} for doc in texts}
            for doc, term, f in db.execute(
                f"SELECT doc, term, sum(CASE col {weight} ELSE 0.0 END) FROM docs_seen GROUP BY doc, term"
            ):
                counts[int(doc)][term] = float(f)
            sizes = {
                int(doc): sum(_varints(bytes(sz)))
                for doc, sz in db.execute("SELECT id, sz FROM docs_docsize")
            }
        finally:
            db.execute("ROLLBACK")
    return {doc: (counts[doc], sizes.get(doc, 0)) for doc in texts}


def top(
    conn: Connection,
    *,
    words: Sequence[str],
    ranges: Sequence[tuple[int, int]],
    wanted: int,
    visible: Visible,
) -> list[tuple[int, float]] | None:
    """The best ``wanted`` documents ``(doc, score)`` of the full ranking of ``words`` (every one
    must match, each as FTS5 reads it), best first (ties by document id), or ``None`` (see the
    module). ``visible(ids)`` says which of ``ids`` the viewer may see."""
    phrases: list[str] = []
    for word in words:
        made = tokens(word)
        if len(made) != 1:
            return None  # a phrase, or nothing FTS5 indexes
        phrases.append(made[0])
    unique = sorted(set(phrases))
    generation, waiting = conn.execute(
        text(
            "SELECT (SELECT generation FROM search_list_builds WHERE id = 1), "
            "(SELECT json_group_array(json_array(doc_id, version)) "
            "FROM (SELECT doc_id, version FROM search_tail LIMIT :cap))"
        ),
        {"cap": shared.TAIL_LIMIT + 1},
    ).one()
    written = {int(d): int(v) for d, v in json.loads(str(waiting or "[]"))}
    if generation is None or len(written) > shared.TAIL_LIMIT:
        return None
    lists = _read_postings(conn, unique, str(generation))
    if lists is None:
        return None
    totals = _totals(conn)
    if totals is None:
        return None
    rows, tokens_all = totals
    tail = np.array(sorted(written), dtype=np.int64)
    fresh = _profiles(conn, written) if written else {}
    # rows with each token now: the build's, less its documents written since, plus those
    # written since that have it now
    hits = {
        token: len(docs)
        - int(np.isin(docs, tail).sum())
        + sum(1 for p in fresh.values() if p and token in p[0])
        for token, (docs, _f, _d) in zip(unique, lists, strict=True)
    }
    idf = {}
    for token in unique:
        value = math.log((rows - hits[token] + 0.5) / (hits[token] + 0.5))
        idf[token] = value if value > 0.0 else 1e-6
    avgdl = float(tokens_all) / float(rows)
    slot = {token: i for i, token in enumerate(unique)}
    # the documents with every token, from the shortest list
    by_length = sorted(range(len(unique)), key=lambda i: len(lists[i][0]))
    docs = lists[by_length[0]][0]
    for i in by_length[1:]:
        other = lists[i][0]
        if not len(docs) or not len(other):
            docs = docs[:0]
            break
        pos = np.searchsorted(other, docs)
        pos[pos == len(other)] = 0
        docs = docs[other[pos] == docs]
    keep = np.zeros(len(docs), dtype=bool)
    for lo, hi in ranges:
        keep |= (docs >= lo) & (docs < hi)
    if len(tail):
        keep &= ~np.isin(docs, tail)  # written since the build: scored from their profiles
    docs = docs[keep]
    d = lists[by_length[0]][2][np.searchsorted(lists[by_length[0]][0], docs)].astype(np.float64)
    # fts5Bm25Function, operation for operation (doubles throughout)
    score = np.zeros(len(docs), dtype=np.float64)
    for phrase in phrases:
        pdocs, pfreqs, _sizes = lists[slot[phrase]]
        f = pfreqs[np.searchsorted(pdocs, docs)].astype(np.float64)
        score = score + idf[phrase] * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + B * d / avgdl)))
    extra_docs, extra_scores = [], []
    for doc, profile in fresh.items():
        if profile is None or not any(lo <= doc < hi for lo, hi in ranges):
            continue
        counts, size = profile
        if not all(p in counts for p in phrases):
            continue
        one, dd = 0.0, float(size)
        for phrase in phrases:
            fp = counts[phrase]
            one += idf[phrase] * ((fp * (K1 + 1.0)) / (fp + K1 * (1 - B + B * dd / avgdl)))
        extra_docs.append(doc)
        extra_scores.append(one)
    if extra_docs:
        docs = np.concatenate([docs, np.array(extra_docs, dtype=np.int64)])
        score = np.concatenate([score, np.array(extra_scores, dtype=np.float64)])
    found: list[tuple[int, float]] = []
    size = max(shared.BATCH, shared.BATCH_PER_RESULT * wanted)
    for part in _best_first(score, 4 * size):
        order = part[np.lexsort((docs[part], -score[part]))]
        at = 0
        while at < len(order) and len(found) < wanted:
            chunk = order[at : at + size]
            at += len(chunk)
            batch = [(int(doc), float(sc)) for doc, sc in zip(docs[chunk], score[chunk], strict=True)]
            seen = visible([doc for doc, _s in batch])
            found.extend(r for r in batch if r[0] in seen)
            size *= 2
        if len(found) >= wanted:
            break
    return found[:wanted]


def _best_first(score: np.ndarray, first: int) -> list[np.ndarray]:
    """The positions of ``score`` in two parts, every score of the first above every one of
    the second: about the best ``first`` (ties with the last of them included), then the rest.
    Ordering all of 50,000 matches costs more than the page needs."""
    if len(score) <= first:
        return [np.arange(len(score))]
    cut = score[np.argpartition(-score, first - 1)[first - 1]]
    return [np.flatnonzero(score >= cut), np.flatnonzero(score < cut)]


Decoded = tuple[np.ndarray, np.ndarray, np.ndarray]  # documents (int64), f (float32), D (uint32)


def _read_postings(conn: Connection, unique: Sequence[str], generation: str) -> list[Decoded] | None:
    found: dict[str, Decoded] = {}
    missing = []
    for token in unique:
        cached = shared.cached(generation, token)
        if cached is None:
            missing.append(token)
        else:
            found[token] = cached  # type: ignore[assignment]
    if missing:
        rows = conn.execute(
            text(
                "SELECT term, docs, freqs, sizes FROM search_terms WHERE term IN "
                "(SELECT value FROM json_each(:t)) "
                "AND EXISTS (SELECT 1 FROM search_list_builds WHERE generation = :g)"
            ),
            {"t": _json_list(missing), "g": generation},
        ).all()
        for term, docs, freqs, sizes in rows:
            decoded = (
                np.frombuffer(bytes(docs), dtype="<i8").astype(np.int64),
                np.frombuffer(bytes(freqs), dtype="<f4"),
                np.frombuffer(bytes(sizes), dtype="<u4"),
            )
            shared.keep(generation, term, decoded)
            found[term] = decoded
    if len(found) != len(unique):
        return None
    return [found[t] for t in unique]


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values))


# ----------------------------------------------------------------------------------------------
# Building the postings
# ----------------------------------------------------------------------------------------------


def build(conn: Connection, *, min_df: int) -> None:
    """Every frequent token's postings made again from FTS5's index as it is (pending writes of
    this transaction included); the caller has read the tail and drops it, and owns the
    transaction."""
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_rows USING fts5vocab(main, search_fts, 'row')"
    )
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_instances "
        "USING fts5vocab(main, search_fts, 'instance')"
    )
    sizes = {
        int(doc): sum(_varints(bytes(sz)))
        for doc, sz in conn.execute(text("SELECT id, sz FROM search_fts_docsize"))
    }
    conn.execute(text("DELETE FROM search_terms"))
    frequent = (
        conn.execute(
            text("SELECT term FROM temp.search_fts_rows WHERE doc > :min_df ORDER BY term"),
            {"min_df": min_df},
        )
        .scalars()
        .all()
    )
    weight = " ".join(f"WHEN '{col}' THEN {w!r}" for col, w in WEIGHTS.items())
    for term in frequent:
        pairs = conn.execute(
            text(
                f"SELECT doc, sum(CASE col {weight} ELSE 0.0 END) FROM temp.search_fts_instances "
                "WHERE term = :t GROUP BY doc ORDER BY doc"
            ),
            {"t": term},
        ).all()
        docs = np.array([p[0] for p in pairs], dtype="<i8")
        conn.execute(
            text("INSERT INTO search_terms (term, df, docs, freqs, sizes) VALUES (:t, :n, :d, :f, :s)"),
            {
                "t": term,
                "n": len(pairs),
                "d": docs.tobytes(),
                "f": np.array([p[1] for p in pairs], dtype="<f4").tobytes(),
                "s": np.array([sizes.get(int(p[0]), 0) for p in pairs], dtype="<u4").tobytes(),
            },
        )

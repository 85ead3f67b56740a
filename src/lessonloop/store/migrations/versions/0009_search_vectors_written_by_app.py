"""search vectors written by the application: a bulk import computes them on a second connection

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 11:00:00.000000

PostgreSQL only. ``search_documents.tsv`` was a generated column, so the one backend that
receives an import's ``COPY`` also ran the English stemmer over every document: 6.8 of the 16.5
CPU-seconds a 100k-failure import cost that backend, which bounded the import rate while the
other core idled. As a plain column (same values, same GIN index), the vector is written by
``lessonloop.store.search.index_documents`` from one SQL definition (``VECTOR_SQL``), and a bulk
import has a second connection compute it (docs/decisions.md, "Search vectors are written by the
application"). ``NOT NULL`` makes a writer that forgets the vector fail instead of leaving an
unsearchable document.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_GENERATED = (
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_documents ALTER COLUMN tsv DROP EXPRESSION")
    op.execute("ALTER TABLE search_documents ALTER COLUMN tsv SET NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # An existing column cannot become generated again: drop it (and its index) and add it back.
    op.execute("ALTER TABLE search_documents DROP COLUMN tsv")
    op.execute(
        f"ALTER TABLE search_documents ADD COLUMN tsv tsvector GENERATED ALWAYS AS ({_GENERATED}) STORED"
    )
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING GIN (tsv)")

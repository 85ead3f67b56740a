"""search vectors kept in the row: no TOAST lookup per ranked match on PostgreSQL (issue #13, decision 71)

Revision ID: 0028
Revises: 0027

A ``tsvector`` over ~2 KB (a long post-mortem's: 5,521 of 131,165 documents in the 100k bench,
1.5 KB on average among those over 1 KB) was moved out of the row into the TOAST table, where
ranking a match reads it back through the TOAST index: an *and* of frequent terms (9,798
matches) touched 26,500 buffers for 7,772 heap pages, and the full ranking took 61 ms. With
``STORAGE MAIN`` PostgreSQL keeps the vector in the row (it moves the body out first, and the
vector only when the row still does not fit a page): 8,160 buffers, 31 ms; "software & bug"
56 → 40 ms. The heap grows 147 → 151 MB; the whole table shrinks 237 → 219 MB.

``SET STORAGE`` applies to rows written after it, so the upgrade also rewrites the table once
(``ALTER COLUMN … TYPE tsvector USING tsv || ''``: the same vector, every position and weight;
the GIN index is rebuilt; no trigger fires, so the champion lists and their tail stay as they
are). A one-off inside the migration's transaction: 5 s at 100k documents, 35 s at 1M.
Nothing on SQLite (FTS5 keeps its own index).
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # One statement: a change of type resets the column's storage to the type's own (EXTENDED),
    # so the storage is set in the same ALTER TABLE, whose rewrite runs after both.
    op.execute(
        "ALTER TABLE search_documents ALTER COLUMN tsv TYPE tsvector USING tsv || ''::tsvector, "
        "ALTER COLUMN tsv SET STORAGE MAIN"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    # the vectors stay where they are; rows written from now on are toasted as before
    op.execute("ALTER TABLE search_documents ALTER COLUMN tsv SET STORAGE EXTENDED")

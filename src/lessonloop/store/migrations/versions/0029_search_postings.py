"""complete search postings replace the champion lists on PostgreSQL (issue #13, decision 72)

Revision ID: 0029
Revises: 0028

Decision 68's champion lists kept, per frequent term, its 1,000 documents of highest impact and
a bound for the rest; an *and* of several frequent terms was still ranked in full. Every term's
complete postings settle those too (``store.postings``):

* ``search_terms (term, df, docs, impacts)``: a frequent term, how many documents have it, and
  every one of them in document order (``docs``: 8-byte big-endian ids) with the term's impact
  in each (``impacts``: 4-byte big-endian floats). Stored out of the row uncompressed
  (``STORAGE EXTERNAL``): a search reads a few whole lists, and pglz would cost it a
  decompression each time for little space (sorted ids and floats hardly compress).
* ``search_champions`` and ``search_terms.bound`` go, and so does the trigger that took a
  deleted document off the lists (a deleted document lingers in the postings until the next
  build; the exact scoring, which reads the document, drops it).
* ``search_list_builds.generation``: a new random id at every build, so a server process can
  keep decoded postings by the build that wrote them, and a search knows its postings and its
  tail belong together.
* ``search_tail`` and its insert/update triggers stay: a document written since the build.

The old lists are dropped here and the build's record emptied, so the worker's ``search-lists``
job builds the postings on its next pass; until then searches rank every match, as before the
lists.

On SQLite (``store.postings_fts5``) the same three tables are made, new: ``search_terms (term,
df, docs, freqs, sizes)`` (each document with the token, its weighted count there and its size,
little-endian), ``search_tail`` (written by the code that writes ``search_fts``: FTS5 tables
take no triggers) and ``search_list_builds``.
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE search_terms (term TEXT NOT NULL PRIMARY KEY, df INTEGER NOT NULL, "
            "docs BLOB NOT NULL, freqs BLOB NOT NULL, sizes BLOB NOT NULL)"
        )
        op.execute("CREATE TABLE search_tail (doc_id INTEGER NOT NULL PRIMARY KEY, version INTEGER NOT NULL)")
        op.execute(
            "CREATE TABLE search_list_builds (id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1), "
            "documents INTEGER NOT NULL, built_at TEXT NOT NULL, generation TEXT NOT NULL)"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS search_tail_delete ON search_documents")
    op.execute("DROP FUNCTION IF EXISTS search_tail_delete()")
    op.execute("DROP TABLE search_champions")
    op.execute("DELETE FROM search_terms")
    op.execute("DELETE FROM search_list_builds")
    op.execute(
        "ALTER TABLE search_terms DROP COLUMN bound, "
        "ADD COLUMN docs BYTEA NOT NULL, ADD COLUMN impacts BYTEA NOT NULL, "
        "ALTER COLUMN docs SET STORAGE EXTERNAL, ALTER COLUMN impacts SET STORAGE EXTERNAL"
    )
    op.execute("ALTER TABLE search_list_builds ADD COLUMN generation UUID NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("search_list_builds", "search_tail", "search_terms"):
            op.execute(f"DROP TABLE {table}")
        return
    op.execute("DELETE FROM search_terms")
    op.execute("DELETE FROM search_list_builds")
    op.execute("ALTER TABLE search_list_builds DROP COLUMN generation")
    op.execute(
        "ALTER TABLE search_terms DROP COLUMN docs, DROP COLUMN impacts, "
        "ADD COLUMN bound DOUBLE PRECISION NOT NULL"
    )
    op.execute(
        "CREATE TABLE search_champions (term TEXT NOT NULL, doc_id BIGINT NOT NULL, "
        "impact DOUBLE PRECISION NOT NULL, "
        "CONSTRAINT pk_search_champions PRIMARY KEY (term, doc_id) INCLUDE (impact))"
    )
    op.execute("CREATE INDEX ix_search_champions_doc ON search_champions (doc_id)")
    op.execute(
        "CREATE FUNCTION search_tail_delete() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN DELETE FROM search_champions AS c USING old_rows AS o WHERE c.doc_id = o.doc_id; "
        "RETURN NULL; END$$"
    )
    op.execute(
        "CREATE TRIGGER search_tail_delete AFTER DELETE ON search_documents "
        "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_tail_delete()"
    )

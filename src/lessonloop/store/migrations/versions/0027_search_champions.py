"""champion lists: exact search without scoring every match, on PostgreSQL (issue #13, decision 68)

Revision ID: 0027
Revises: 0026

* ``search_terms (term, bound, df)``: a frequent term that has a list, the highest impact of a
  document *not* on its list, and how many documents had it when the list was built.
* ``search_champions (term, doc_id, impact)``: the documents where the term weighs most, with
  that weight; ``ix_search_champions_doc`` lets a re-indexed or deleted document's rows go.
* ``search_list_builds``: one row, how many documents there were at the last build (the job
  builds again when they have grown by a quarter).
* ``search_tail (doc_id, version)``: documents written since the lists were brought up to date;
  a search scores these exactly whatever the lists say. ``version`` counts writes, so the job
  that folds the tail in removes only the rows it read, never a newer write's.

Statement triggers on ``search_documents`` keep the tail (every insert or update, an import's
``COPY`` included: one statement per ``COPY``) and take a deleted document off the lists. The
lists start empty, every document already indexed in the tail: every search ranks every match
(decision 44) until the worker's ``search-lists`` job builds them. Nothing on SQLite (see
``store.champions``).
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_PG_TRIGGERS = {
    "insert": (
        "NEW TABLE AS new_rows",
        "INSERT INTO search_tail (doc_id, version) SELECT doc_id, 1 FROM new_rows "
        "ON CONFLICT (doc_id) DO UPDATE SET version = search_tail.version + 1",
    ),
    "update": (
        "NEW TABLE AS new_rows",
        "INSERT INTO search_tail (doc_id, version) SELECT doc_id, 1 FROM new_rows "
        "ON CONFLICT (doc_id) DO UPDATE SET version = search_tail.version + 1",
    ),
    "delete": (
        "OLD TABLE AS old_rows",
        "DELETE FROM search_champions AS c USING old_rows AS o WHERE c.doc_id = o.doc_id",
    ),
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite's FTS5 ranks every match from its own index (decision 68)
    op.execute(
        "CREATE TABLE search_terms (term TEXT NOT NULL, bound DOUBLE PRECISION NOT NULL, "
        "df INTEGER NOT NULL, CONSTRAINT pk_search_terms PRIMARY KEY (term))"
    )
    # a term's list is read whole off the primary key alone (INCLUDE: no heap visit)
    op.execute(
        "CREATE TABLE search_champions (term TEXT NOT NULL, doc_id BIGINT NOT NULL, "
        "impact DOUBLE PRECISION NOT NULL, "
        "CONSTRAINT pk_search_champions PRIMARY KEY (term, doc_id) INCLUDE (impact))"
    )
    op.execute("CREATE INDEX ix_search_champions_doc ON search_champions (doc_id)")
    op.execute(
        "CREATE TABLE search_tail (doc_id BIGINT NOT NULL, version INTEGER NOT NULL, "
        "CONSTRAINT pk_search_tail PRIMARY KEY (doc_id))"
    )
    op.execute(
        "CREATE TABLE search_list_builds (id INTEGER NOT NULL, documents BIGINT NOT NULL, "
        "built_at TIMESTAMP WITH TIME ZONE NOT NULL, "
        "CONSTRAINT pk_search_list_builds PRIMARY KEY (id), CONSTRAINT ck_search_list_builds_one CHECK (id = 1))"
    )
    # every document indexed so far waits to be listed: the job's first run builds the lists
    op.execute("INSERT INTO search_tail (doc_id, version) SELECT doc_id, 1 FROM search_documents")
    for event, (referencing, body) in _PG_TRIGGERS.items():
        op.execute(
            f"CREATE FUNCTION search_tail_{event}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {body}; RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER search_tail_{event} AFTER {event.upper()} ON search_documents "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION search_tail_{event}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for event in _PG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS search_tail_{event} ON search_documents")
        op.execute(f"DROP FUNCTION IF EXISTS search_tail_{event}()")
    op.execute("DROP TABLE search_list_builds")
    op.execute("DROP TABLE search_tail")
    op.execute("DROP TABLE search_champions")
    op.execute("DROP TABLE search_terms")

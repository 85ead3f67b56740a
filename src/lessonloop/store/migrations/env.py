"""Alembic environment: runs on the connection handed in by :mod:`lessonloop.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from lessonloop.store.migrate import include_object, migration_connection
from lessonloop.store.registry import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` command line: build from the configured URL
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///./lessonloop.db")
        with migration_connection(engine) as conn:  # foreign keys off on SQLite, checked after
            _run_with(conn)
        return
    _run_with(connection)


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies to alter
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run()

"""Every PostgreSQL connection the application opens runs without JIT compilation (decision 73)."""

from __future__ import annotations

from sqlalchemy import text

from lessonloop.store.engine import Database


def test_connections_run_without_jit_even_after_a_rollback(pg_db: Database) -> None:
    with pg_db.engine.connect() as conn:
        # the server's own default is on (PostgreSQL's stock setting, as on this machine)
        assert conn.scalar(text("SELECT boot_val FROM pg_settings WHERE name = 'jit'")) == "on"
        assert conn.scalar(text("SHOW jit")) == "off"
        conn.rollback()  # set outside any transaction: a rollback does not undo it
        assert conn.scalar(text("SHOW jit")) == "off"
    with pg_db.sessions() as session:  # a pooled connection again
        assert session.scalar(text("SHOW jit")) == "off"

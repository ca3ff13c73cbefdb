"""Migrations are the only source of the schema: head must equal the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from portal.database import include_object
from portal.extensions import db


def test_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_sqlite_connections_are_configured_for_concurrency(app):
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_reads_begin_deferred_and_writes_begin_immediate(app):
    """A deferred transaction that reads and then writes fails at once under
    concurrency; writes must take the lock when they begin. Read from SQLite's own
    trace of what it runs, which is what counts."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    from portal.database import immediate

    def begins(context) -> list[str]:
        seen: list[str] = []
        with context, db.engine.connect() as c:
            driver = c.connection.driver_connection
            driver.set_trace_callback(lambda sql: sql.startswith("BEGIN") and seen.append(sql))
            try:
                c.execute(text("select 1"))
            finally:
                driver.set_trace_callback(None)
        return seen

    assert begins(app.test_request_context("/", method="GET")) == ["BEGIN"]
    assert begins(app.test_request_context("/", method="POST")) == ["BEGIN IMMEDIATE"]
    assert begins(immediate()) == ["BEGIN IMMEDIATE"]


def test_connections_are_pinged_only_where_they_can_go_stale(app):
    """A server may drop an idle connection; an SQLite file cannot."""
    assert db.engine.pool._pre_ping is (db.engine.dialect.name != "sqlite")

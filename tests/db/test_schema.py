"""Migrations are the only source of the schema: head must equal the models."""

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
    concurrency; writes must take the lock when they begin."""
    if db.engine.dialect.name != "sqlite":
        return
    from portal.database import immediate

    seen = []

    from sqlalchemy import event

    def record(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with app.test_request_context("/", method="GET"), db.engine.connect() as c:
            c.execute(text("select 1"))
        with app.test_request_context("/", method="POST"), db.engine.connect() as c:
            c.execute(text("select 1"))
        with immediate(), db.engine.connect() as c:
            c.execute(text("select 1"))
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]


def test_connections_are_pinged_only_where_they_can_go_stale(app):
    """A server may drop an idle connection; an SQLite file cannot."""
    assert db.engine.pool._pre_ping is (db.engine.dialect.name != "sqlite")

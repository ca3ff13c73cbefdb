"""Engine set-up that makes SQLite safe under concurrent writers.

WAL and a busy timeout alone are not enough: a deferred transaction that has
read cannot wait for the write lock and fails at once with "database is
locked". Requests that may write (any method but GET/HEAD/OPTIONS) and code
inside ``immediate()`` therefore begin with ``BEGIN IMMEDIATE``; pure reads
stay deferred so readers never queue behind writers.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_force_immediate: ContextVar[bool] = ContextVar("force_immediate", default=False)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@contextmanager
def immediate() -> Iterator[None]:
    """Begin SQLite transactions started inside this block with BEGIN IMMEDIATE."""
    token = _force_immediate.set(True)
    try:
        yield
    finally:
        _force_immediate.reset(token)


def _wants_write_lock() -> bool:
    if _force_immediate.get():
        return True
    return has_request_context() and request.method not in SAFE_METHODS


def configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not the driver, decide when and how to BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Straight to the driver: every request begins a transaction, and the
        # statement machinery of exec_driver_sql was a tenth of a plain page's CPU.
        statement = "BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN"
        connection.connection.driver_connection.execute(statement)


# Search structures made by raw SQL in the migrations, per database: not in the models.
UNMODELLED = ("article_fts", "ix_article_search")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Tell Alembic's comparison to leave the unmodelled search structures alone."""
    return not (name and name.startswith(UNMODELLED))

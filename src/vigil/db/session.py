"""Engine and session factory. SQLite runs in WAL mode with secure_delete and foreign keys on.

SQLite transactions are read-only until they write. A transaction starts with a plain (deferred) ``BEGIN``,
so any number of readers run beside the one writer and never wait for its lock. The first write of a
transaction (INSERT, UPDATE, DELETE, DDL, a SAVEPOINT, or a ``SELECT ... FOR UPDATE``, which SQLite cannot
express and so marks the intent to write) ends the read snapshot and re-opens the transaction with
``BEGIN IMMEDIATE``: it queues for the write lock (up to the busy timeout) and reads fresh data from there on.

Why not let SQLite upgrade the deferred transaction in place: when another writer commits after our snapshot
began, the upgrade fails at once with SQLITE_BUSY (the busy timeout is not applied), so under concurrent
writes requests would fail instead of queueing. Re-opening gives SQLite the semantics PostgreSQL has at
READ COMMITTED (vigil's PostgreSQL level): reads before the first write may be a moment old, rows that decide
a write are read ``FOR UPDATE`` (the audit chain's head), and from the first write on the transaction is
strictly serial with every other writer.

Within one process, writers wait their turn on a lock of the engine's, and only the first asks SQLite, whose
busy handler polls with pauses of up to 100 ms: the next writer starts as soon as the last commits, and another
process's writer (an analysis worker's checkpoint) is not starved by a stream of web requests' appends.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from vigil.settings import Settings

log = logging.getLogger(__name__)

WRITE_LOCKED = "vigil_write_locked"  # connection.info key: False while the SQLite transaction only reads
LOCKED_AT = "vigil_write_locked_at"  # connection.info key: when this transaction took the write lock
FIRST_WRITE = "vigil_first_write"  # connection.info key: the start of the transaction's first write
SLOW_WRITE_S = 0.25  # a write transaction holding SQLite's lock longer than this is logged: others wait for it
WRITE_KEYWORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "SAVEPOINT")
BUSY_TIMEOUT_MS = 30_000
POOL_OVERFLOW = 8  # connections beyond the pool for background work (scheduler, progress, live FR)


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the configured database (the data folder is created for SQLite).

    The pool holds ``settings.web.db_slots`` connections (every request admitted to the database gets one
    without waiting) plus a few for background work; waiting for a connection beyond that times out after
    ``settings.web.pool_timeout_s``.
    """
    url = settings.effective_database_url
    pool = {
        "pool_size": settings.web.db_slots,
        "max_overflow": POOL_OVERFLOW,
        "pool_timeout": settings.web.pool_timeout_s,
    }
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **pool)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is switched off: the events below issue BEGIN themselves.
    writers = threading.Lock()  # this engine's writers queue here, one at a time asks SQLite for its lock

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA secure_delete=ON",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.info[WRITE_LOCKED] = False
        connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection: Connection) -> None:
        release_write_lock(connection.info, writers)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:  # returned without commit/rollback (pool reset)
        release_write_lock(record.info, writers)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection: Any, record: Any, _error: Any) -> None:  # a broken connection
        release_write_lock(record.info, writers)

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(
        connection: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if connection.info.get(WRITE_LOCKED) is False and is_write(statement, context):
            take_write_lock(connection, writers)
            connection.info[FIRST_WRITE] = " ".join(statement.split()[:4])


def is_write(statement: str, context: Any) -> bool:
    """Whether a statement writes (or, as SELECT ... FOR UPDATE, announces a write) on SQLite."""
    if context is not None and (context.isinsert or context.isupdate or context.isdelete or context.isddl):
        return True
    compiled_statement = getattr(getattr(context, "compiled", None), "statement", None)
    if getattr(compiled_statement, "_for_update_arg", None) is not None:
        return True
    return statement.lstrip().upper().startswith(WRITE_KEYWORDS)


def take_write_lock(connection: Connection, writers: threading.Lock) -> None:
    """Re-open the connection's read transaction as a write transaction, in turn with this process's writers.

    Waiting writers of this process sleep on ``writers`` and wake the moment it is free; only the one at the front
    waits in SQLite's busy handler (which polls with growing pauses), against other processes' writers only.
    """
    if not writers.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise sqlite3.OperationalError("database is locked (other writers of this process for too long)")
    connection.info[WRITE_LOCKED] = True
    connection.info[LOCKED_AT] = time.monotonic()
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    try:
        if dbapi_connection.in_transaction:
            dbapi_connection.execute("COMMIT")  # only reads so far: ends the (possibly stale) read snapshot
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except BaseException:
        release_write_lock(connection.info, writers)
        raise


def release_write_lock(info: dict[Any, Any], writers: threading.Lock) -> None:
    if info.pop(WRITE_LOCKED, None) is True:
        writers.release()
        held_s = time.monotonic() - info.pop(LOCKED_AT, time.monotonic())
        if held_s > SLOW_WRITE_S:
            first = info.pop(FIRST_WRITE, "")
            log.warning("a write transaction (%s ...) held the database for %.0f ms", first, 1000 * held_s)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

"""SQLite transactions read without the write lock and take it at their first write (vigil.db.session).

Each test uses its own SQLite file with the real migrations. The sessions here stand for concurrent requests: one
reads while another writes and commits, and the first still writes afterwards, on fresh data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_settings
from tests.support.builders import make_user
from vigil.db.migrate import upgrade
from vigil.db.models import AuditEntry, Case, User
from vigil.db.session import SLOW_WRITE_S, make_engine, make_session_factory, session_scope
from vigil.errors import Conflict
from vigil.governance import audit
from vigil.governance.cases import open_case_record

THREADS, APPENDS_EACH = 8, 10


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(make_settings(tmp_path / "data"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(sqlite: Engine) -> sessionmaker[Session]:
    return make_session_factory(sqlite)


def entries(sessions: sessionmaker[Session]) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_a_reading_transaction_does_not_hold_up_a_writer(sessions: sessionmaker[Session]) -> None:
    reader = sessions()
    try:
        assert reader.scalar(select(func.count()).select_from(AuditEntry)) == 0  # a read transaction stays open
        writer_done = threading.Event()

        def write() -> None:
            with session_scope(sessions) as db:
                audit.record(db, actor="system", action="test.write")
            writer_done.set()

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        thread.join(timeout=20)  # before: the reader's BEGIN IMMEDIATE held the lock for 30 s, then "locked"
        assert writer_done.is_set()
        # reads before the first write see one snapshot: the reader still counts none
        assert reader.scalar(select(func.count()).select_from(AuditEntry)) == 0
    finally:
        reader.close()
    assert entries(sessions) == 1


def test_a_transaction_that_read_before_another_commit_still_writes_on_fresh_data(
    sessions: sessionmaker[Session],
) -> None:
    late = sessions()
    try:
        assert late.scalar(select(func.count()).select_from(AuditEntry)) == 0  # its snapshot predates the write
        with session_scope(sessions) as early:
            first = audit.record(early, actor="early", action="test.write")
        # a plain deferred upgrade fails here at once with "database is locked" (SQLITE_BUSY_SNAPSHOT)
        second = audit.record(late, actor="late", action="test.write")
        late.commit()
    finally:
        late.close()
    assert (first.seq, second.seq) == (1, 2) and second.prev_hash == first.hash  # chained to the fresh head
    with sessions() as db:
        assert audit.verify(db).ok


def test_concurrent_appends_form_one_unbroken_chain(sessions: sessionmaker[Session]) -> None:
    failures: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for k in range(APPENDS_EACH):
                with session_scope(sessions) as db:
                    db.scalar(select(func.count()).select_from(User))  # each unit of work reads before it writes
                    audit.record(db, actor=f"worker{worker}", action="test.append", details={"k": k})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    with sessions() as db:
        report = audit.verify(db)
    assert report.ok, report.describe()
    assert report.checked == THREADS * APPENDS_EACH


def test_two_supervisors_opening_the_same_case_at_once_get_one_case_and_a_clear_conflict(
    sessions: sessionmaker[Session],
) -> None:
    with session_scope(sessions) as db:
        make_user(db, "ann", "supervisor")
        make_user(db, "bob", "supervisor")
    bob_db = sessions()
    try:
        bob = bob_db.execute(select(User).where(User.username == "bob")).scalar_one()  # bob's snapshot starts
        with session_scope(sessions) as ann_db:
            ann = ann_db.execute(select(User).where(User.username == "ann")).scalar_one()
            opened = open_case_record(db=ann_db, actor=ann, reference="CUM-2026-000001", title="Burglary")
        # bob's snapshot has no case yet: his insert meets the unique reference and he is told, not a 500
        with pytest.raises(Conflict, match="already open"):
            open_case_record(db=bob_db, actor=bob, reference="CUM-2026-000001", title="Burglary")
        bob_db.commit()
    finally:
        bob_db.close()
    with sessions() as db:
        assert db.scalar(select(func.count()).select_from(Case)) == 1
        assert db.get(Case, opened.id) is not None
        assert db.scalar(select(func.count()).where(AuditEntry.action == "case.open")) == 1
        assert audit.verify(db).ok


def test_a_write_abandoned_without_commit_frees_the_lock_for_the_next_writer(sessions: sessionmaker[Session]) -> None:
    abandoned = sessions()
    audit.record(abandoned, actor="system", action="test.abandoned")  # holds the write lock
    abandoned.close()  # no commit: rolled back, the lock is free again
    with session_scope(sessions) as db:  # same thread: a leaked lock would stall this for 30 s, then fail
        audit.record(db, actor="system", action="test.next")
    with sessions() as db:
        assert [e.action for e in db.execute(select(AuditEntry)).scalars()] == ["test.next"]


def test_a_write_transaction_that_holds_the_database_long_is_logged_with_its_first_write(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Every other writer waits while one holds SQLite's lock: the slow ones are named in the log."""
    with caplog.at_level(logging.WARNING, logger="vigil.db.session"):
        with session_scope(sessions) as db:
            audit.record(db, actor="system", action="test.quick")
        assert not caplog.records
        with session_scope(sessions) as db:
            make_user(db, "slowpoke")
            db.flush()  # the write lock is taken here
            time.sleep(1.2 * SLOW_WRITE_S)  # e.g. work done while holding it
    [record] = caplog.records
    assert "(INSERT INTO users" in record.getMessage() and "held the database for" in record.getMessage()

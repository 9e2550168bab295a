"""Group commit for SQLite: many concurrent write transactions, one fsync.

SQLite has one writer and, with ``synchronous=FULL``, one fsync per commit: on an
ordinary disk that caps writes at a few hundred per second however fast the rest is.
Here concurrent writers share one database transaction: each runs inside a SAVEPOINT of
it (so each stays all-or-nothing on its own), and the last writer in line commits for
all of them. Nobody is answered before the commit that holds their work is durable, so
"nothing acknowledged is lost" still holds; a failed commit fails every writer in it.

Across worker processes a file lock (``flock``) hands the write lock over without
SQLite's sleeping busy handler, which otherwise adds tens of milliseconds of waiting.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fellesjournal.store.engine import WRITE_OPTION


class GroupCommit:
    """Hands out savepoints of a shared write transaction; the last writer commits."""

    def __init__(self, engine: sa.Engine, lock_path: Path | None) -> None:
        self._engine = engine
        self._lock_path = lock_path
        self._mutex = threading.Lock()
        self._cond = threading.Condition()
        self._waiting = 0
        self._conn: sa.Connection | None = None
        self._outer: sa.RootTransaction | None = None
        self._lock_fd: int | None = None
        self._pending = 0
        self._batch = 0
        self._committed = -1
        self._failures: dict[int, BaseException] = {}

    @contextmanager
    def transaction(self, wrap: Callable[[sa.Connection], Any]) -> Iterator[Any]:
        """Yield ``wrap(connection)`` inside a savepoint; return once it is durable."""
        with self._cond:
            self._waiting += 1
        self._mutex.acquire()
        with self._cond:
            self._waiting -= 1
        succeeded = False
        batch = self._batch
        try:
            conn = self._open()
            savepoint = conn.begin_nested()
            try:
                yield wrap(conn)
            except BaseException:
                savepoint.rollback()
                raise
            savepoint.commit()
            self._pending += 1
            succeeded = True
        finally:
            with self._cond:
                last = self._waiting == 0
            if last or (not succeeded and self._pending == 0):
                self._finish()
            self._mutex.release()
        if succeeded:
            self._await(batch)

    def _open(self) -> sa.Connection:
        if self._conn is None:
            if self._lock_path is not None:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_fd = fd
            conn = self._engine.connect().execution_options(**{WRITE_OPTION: True})
            self._conn = conn
            self._outer = conn.begin()
        return self._conn

    def _finish(self) -> None:
        """Commit (or roll back) the shared transaction and wake its writers."""
        conn, outer, batch = self._conn, self._outer, self._batch
        error: BaseException | None = None
        try:
            if outer is not None:
                if self._pending:
                    outer.commit()
                else:
                    outer.rollback()
        except BaseException as exc:  # noqa: BLE001 - handed to every writer of the batch
            error = exc
        finally:
            if conn is not None:
                conn.close()
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._conn = self._outer = None
            self._lock_fd = None
            self._pending = 0
            self._batch += 1
        with self._cond:
            if error is not None:
                self._failures[batch] = error
            self._committed = batch
            self._cond.notify_all()

    def _await(self, batch: int) -> None:
        with self._cond:
            while self._committed < batch:
                self._cond.wait()
            error = self._failures.pop(batch, None)
        if error is not None:
            raise error

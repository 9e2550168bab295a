"""The AuditEvents of reads, appended in batches by one writer thread per process.

A read changes nothing its AuditEvent could commit with, and a commit per read costs
more than the read itself (measured: 0.12–0.2 ms of CPU for a one-row SQLite commit,
against 0.3 ms for a whole read by id; `docs/benchmarks.md`). So a request hands the
events it owes to the :class:`AuditSink` (:meth:`AuditSink.submit`, which does not
block) and the writer thread appends everything queued in one transaction every
``linger`` seconds (default 10 ms), on a connection of its own.

What that promises, and what it does not (``docs/access.md``, "Audit of reads"):

* Every read's event is queued before its data is sent, and committed within
  ``linger`` plus one batch's write time. A clean shutdown (:meth:`AuditSink.stop`)
  writes everything queued. A crash of the worker process loses at most that window of
  its reads' events; the events of changes are never in it (they commit with the change,
  ``log.append``).
* Fail closed: when the log cannot be written, the events stay queued and are retried,
  and :meth:`AuditSink.submit` refuses (503) until a write succeeds, so no more data is
  disclosed unrecorded than the one window. It also refuses when ``max_pending``
  requests' events wait (the log cannot keep up).
* Readers of the log in this process see every event submitted before they asked:
  :meth:`AuditSink.drain` waits for the queue to be written.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.pool import PoolProxiedConnection

from fellesjournal.audit import log
from fellesjournal.fhir.errors import error
from fellesjournal.store.sql import SqlStore

_log = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]
"""Called on the writer thread once an item's batch is committed (None) or failed."""

_Item = tuple[list[log.PreparedEvent], Done | None]

_IDLE_WAKE = 1.0
"""Seconds an idle writer sleeps between looks at its queue (a backstop: submitters
wake it when the queue stops being empty)."""


class AuditSink:
    """Appends the events of reads in shared transactions; one per store, thread safe."""

    def __init__(
        self,
        store: SqlStore,
        *,
        linger: float = 0.01,
        max_batch: int = 2000,
        max_pending: int = 50_000,
    ) -> None:
        self._store = store
        self._linger = linger
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._queue: deque[_Item] = deque()
        self._wake = threading.Event()
        self._urgent = False
        self._failure: BaseException | None = None
        self._lock = threading.Lock()  # starting and stopping the thread
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._conn: PoolProxiedConnection | None = None

    # -- submitting -----------------------------------------------------------------------

    def submit(self, events: Sequence[dict[str, Any]]) -> None:
        """Queue ``events`` for the next batch and return at once.

        Raises ValueError, before anything is queued, for an event that cannot be
        stored, and a 503 FhirError while the log cannot be written or is too far behind:
        the caller must then not send the data the events record.
        """
        if not events:
            return
        if self._failure is not None:
            raise error(503, "transient", "the audit log cannot be written; try again shortly")
        if len(self._queue) >= self._max_pending:
            raise error(503, "throttled", "the audit log is behind; try again shortly")
        prepared = log.prepare(events)
        self._enqueue((prepared, None), urgent=False)

    def record(self, events: Sequence[dict[str, Any]]) -> None:
        """Append ``events`` and return once they are committed, or raise the batch's
        error. Blocks the calling thread (tests, and callers that must know)."""
        self._wait_for(log.prepare(events))

    def drain(self) -> None:
        """Return once everything queued before the call is committed; raises the error
        of a batch that failed meanwhile."""
        self._wait_for([])

    def _wait_for(self, prepared: list[log.PreparedEvent]) -> None:
        finished = threading.Event()
        outcome: list[BaseException | None] = []

        def done(failure: BaseException | None) -> None:
            outcome.append(failure)
            finished.set()

        self._enqueue((prepared, done), urgent=True)
        finished.wait()
        if outcome[0] is not None:
            raise outcome[0]

    def _enqueue(self, item: _Item, *, urgent: bool) -> None:
        if self._thread is None:
            self._start()
        was_empty = not self._queue
        self._queue.append(item)
        if urgent:
            self._urgent = True
        if was_empty or urgent:
            self._wake.set()

    # -- the writer thread ------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._run, name="fellesjournal-audit", daemon=True
                )
                self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the writer thread (a later event starts a new
        one: an application may be started and stopped again, as tests do)."""
        with self._lock:
            thread, self._stopping = self._thread, True
            self._wake.set()
            if thread is not None:
                thread.join(timeout)
            self._thread = None
            self._stopping = False
            if self._queue and (thread is None or not thread.is_alive()):
                _log.error(
                    "audit log not written at shutdown: %d requests' events are lost",
                    len(self._queue),
                )
                self._queue.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.wait(_IDLE_WAKE)  # set by the first submit after the queue emptied
                self._wake.clear()
                continue
            self._wake.clear()
            if not (self._urgent or self._stopping or len(self._queue) >= self._max_batch):
                self._wake.wait(self._linger)  # gather a batch; a waiting caller cuts it short
            self._urgent = False
            if not self._write(self._take()):
                if self._stopping:
                    return  # stop() logs what is still queued as lost
                time.sleep(min(1.0, self._linger * 10))  # the database is failing

    def _take(self) -> list[_Item]:
        batch = [self._queue.popleft()]
        size = len(batch[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self._max_batch:
            item = self._queue.popleft()
            batch.append(item)
            size += len(item[0])
        return batch

    def _write(self, batch: list[_Item]) -> bool:
        """Append ``batch``; True if committed. On failure the waiting callers get the
        error and the submitted events go back to the front of the queue."""
        failure: BaseException | None = None
        try:
            self._append([e for events, _ in batch for e in events])
        except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
            _log.exception("audit append failed; %d items wait for a retry", len(batch))
            failure = exc
        self._failure = failure
        if failure is not None:
            self._queue.extendleft(reversed([item for item in batch if item[1] is None]))
        for _, done in batch:
            if done is not None:
                done(failure)
        return failure is None

    def _append(self, prepared: list[log.PreparedEvent]) -> list[int]:
        """One transaction on the sink's own connection (no pool round trip, no
        savepoints: measured, those cost more than the append itself)."""
        if not prepared:
            return []
        if self._conn is None:
            self._conn = self._store.engine.raw_connection()
        driver: Any = self._conn.driver_connection
        lock_fd = self._writer_lock()
        try:
            if self._store.dialect == "sqlite":
                driver.execute("BEGIN IMMEDIATE")
            seqs = log.append_on(driver, self._store.dialect, prepared)
            driver.commit()
            return seqs
        except BaseException:
            conn, self._conn = self._conn, None
            conn.invalidate()  # closed, its transaction rolled back; the next batch reconnects
            raise
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)
                os.close(lock_fd)

    def _writer_lock(self) -> int | None:
        """SQLite: take the writers' file lock, as the store's own writers do, so that
        the log and a change never meet in SQLite's sleeping busy handler."""
        path = self._store.writer_lock
        if path is None:
            return None
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

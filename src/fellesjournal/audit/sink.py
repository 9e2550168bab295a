"""Group commit for the AuditEvents of reads: one writer thread, many waiting requests.

A read changes nothing its AuditEvent could commit with; what matters is that no data
leaves before the record of its disclosure is durable. So a request hands its events to
the :class:`AuditSink` and waits (a thread with :meth:`AuditSink.record`, the event loop
with :meth:`AuditSink.record_async`) while one writer thread appends everything queued
since its last transaction in one transaction (``log.append_prepared``). Under load the
cost of a commit is shared by every request in the batch; alone, a request pays one
commit. If the append fails, every request in the batch gets the error and must not send
its data.

Changes append inside their own transaction instead (``log.append``), so that a change
and its record commit or fail together.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from fellesjournal.audit import log
from fellesjournal.store.sql import SqlStore

_log = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]


class AuditSink:
    """Appends the events of reads in shared transactions; one per store, thread safe."""

    def __init__(self, store: SqlStore, *, max_batch: int = 1000) -> None:
        self._store = store
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: deque[tuple[list[log.PreparedEvent], Done]] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- submitting -----------------------------------------------------------------------

    def record(self, events: Sequence[dict[str, Any]]) -> None:
        """Append ``events``; return once they are committed, or raise the batch's error.

        Raises ValueError, before anything is queued, for an event that cannot be
        stored. Blocks the calling thread.
        """
        if not events:
            return
        finished = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            finished.set()

        self._submit(log.prepare(events), done)
        finished.wait()
        if outcome[0] is not None:
            raise outcome[0]

    async def record_async(self, events: Sequence[dict[str, Any]]) -> None:
        """:meth:`record` for the event loop: awaits the commit without blocking it."""
        if not events:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: BaseException | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, error)

        self._submit(log.prepare(events), done)
        await future

    def _submit(self, prepared: list[log.PreparedEvent], done: Done) -> None:
        with self._cond:
            self._queue.append((prepared, done))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fellesjournal-audit", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    # -- the writer thread ------------------------------------------------------------------

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the writer thread (a later event starts a new
        one: an application may be started and stopped again, as tests do)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._stopping = False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if not self._queue:
                    self._thread = None
                    return
                batch = self._take()
            self._write(batch)

    def _take(self) -> list[tuple[list[log.PreparedEvent], Done]]:
        batch = [self._queue.popleft()]
        size = len(batch[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self._max_batch:
            item = self._queue.popleft()
            batch.append(item)
            size += len(item[0])
        return batch

    def _write(self, batch: list[tuple[list[log.PreparedEvent], Done]]) -> None:
        error: BaseException | None = None
        try:
            with self._store.transaction() as tx:
                log.append_prepared(tx, [e for events, _ in batch for e in events])
        except Exception as exc:  # noqa: BLE001 - handed to every request of the batch
            _log.exception("audit append failed; %d requests are refused", len(batch))
            error = exc
        for _, done in batch:
            done(error)

"""Group append: the AuditEvents of concurrent reads in one transaction, one append.

Every append holds the log's head (``log.py``) until its transaction commits, so on
PostgreSQL audited transactions pass one at a time, each waiting for its own commit to
reach disk: about 1 / (commit latency) transactions per second in all, however many
clients there are. A read changes nothing that its AuditEvent must commit with; what
matters is that no data leaves before its record is durable. So reads hand their events
to an :class:`AuditWriter`: callers that arrive while a batch is being written wait, and
the next batch carries all of them in one transaction and one :func:`log.append`. Each
caller returns once its own events are committed, or gets the batch's error.

Changes still append inside their own transaction (:func:`log.append`), so a change and
its record commit or fail together.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fellesjournal.audit import log
from fellesjournal.store.sql import SqlStore


@dataclass(eq=False)
class _Request:
    events: list[log.PreparedEvent]
    seqs: list[int] = field(default_factory=list)
    error: BaseException | None = None
    done: bool = False


class AuditWriter:
    """Appends AuditEvents in shared transactions; thread-safe, one per store."""

    def __init__(self, store: SqlStore, *, max_batch: int = 500) -> None:
        self._store = store
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._writing = False

    def record(self, events: Sequence[dict[str, Any]]) -> list[int]:
        """Append ``events`` in order; return their seqs once they are durable.

        Blocks the calling thread (call it from a worker thread, not an event loop).
        Raises ValueError, before anything is queued, for an event that cannot be
        stored (:func:`log.prepare`); otherwise whatever the batch's transaction raised,
        and then the events are not recorded, nor those of the callers that shared the
        batch.
        """
        if not events:
            return []
        request = _Request(log.prepare(events))
        with self._cond:
            self._queue.append(request)
        while True:
            with self._cond:
                while self._writing and not request.done:
                    self._cond.wait()
                if request.done:
                    return self._result(request)
                self._writing = True
            # This caller writes the next batch (its own events are in it unless the
            # queue ahead of them fills a whole batch; then it writes another).
            self._write_batch()

    def _write_batch(self) -> None:
        with self._cond:
            batch = self._take()
        error: BaseException | None = None
        seqs: list[int] = []
        try:
            with self._store.transaction() as tx:
                seqs = log.append_prepared(tx, [e for r in batch for e in r.events])
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            error = exc
        with self._cond:
            at = 0
            for r in batch:
                r.seqs, r.error, r.done = seqs[at : at + len(r.events)], error, True
                at += len(r.events)
            self._writing = False
            self._cond.notify_all()

    def _take(self) -> list[_Request]:
        batch: list[_Request] = []
        size = 0
        while self._queue and (not batch or size + len(self._queue[0].events) <= self._max_batch):
            request = self._queue.pop(0)
            batch.append(request)
            size += len(request.events)
        return batch

    @staticmethod
    def _result(request: _Request) -> list[int]:
        if request.error is not None:
            raise request.error
        return request.seqs

"""The audit trail of one request: which events it owes the log, and when they go in.

The guarded repository notes an event for every disclosure of patient data, every
change and every denial (``audit/events.py`` builds them). Events of changes go into
the change's own transaction (:meth:`AuditTrail.append_in`), so the change and its
record commit or fail together. Events of reads and denials wait in :attr:`pending`
until :meth:`flush`, which hands them to the application's audit sink (committed in
batches within milliseconds, ``audit/sink.py``) or, without a sink (the CLI), appends
them in a transaction of their own. The caller sends the data only after :meth:`flush`
returns, and answers its error instead (503 while the log cannot be written).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fellesjournal.audit import log
from fellesjournal.audit.sink import AuditSink
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlStore, SqlTransaction

#: At most this many ``entity.what`` references per event (a page of 1,000 Observations
#: is one event naming the first 100 and the query).
MAX_WHAT = 100


class AuditTrail:
    """The events one request owes the audit log."""

    def __init__(self, store: SqlStore, sink: AuditSink | None, *, enabled: bool = True) -> None:
        self._store = store
        self._sink = sink
        self.enabled = enabled
        self.pending: list[dict[str, Any]] = []

    def note(self, event: dict[str, Any]) -> None:
        """Owe ``event`` to the log (a read or a denial)."""
        if self.enabled:
            self.pending.append(event)

    def append_in(self, tx: SqlTransaction, events: list[dict[str, Any]]) -> list[int]:
        """Append ``events`` (of a change) in the change's transaction; their seqs."""
        if self.enabled and events:
            return log.append(tx, events)
        return []

    def flush(self) -> None:
        """Hand the pending events to the sink (or append them now, without one)."""
        events, self.pending = self.pending, []
        if not events:
            return
        if self._sink is not None:
            self._sink.submit(events)
            return
        with self._store.transaction() as tx:
            log.append(tx, events)

    def settle(self) -> None:
        """Return once every event this process has handed to the log is committed: called
        before reading the log, so a reader sees the accesses made before it asked."""
        if self._sink is not None:
            self._sink.drain()


def by_patient(resources: Iterable[StoredResource]) -> dict[str | None, list[str]]:
    """``Type/id/_history/v`` of each resource, grouped by its patient (None: none)."""
    out: dict[str | None, list[str]] = {}
    for r in resources:
        refs = out.setdefault(r.patient_id, [])
        if len(refs) < MAX_WHAT:
            refs.append(f"{r.res_type}/{r.res_id}/_history/{r.version}")
    return out

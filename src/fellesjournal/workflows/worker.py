"""The background worker: delivers the outbox and escalates overdue work items.

The server runs it on a thread beside the event loop every ``worker_interval_s``
(0: off); ``fellesjournal outbox run`` runs the same rounds from the command line. Several
processes may run it at once: a round leases the rows it takes (``outbox.claim_due``).
Escalation runs at most once a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import httpx

from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import delivery, queues

log = logging.getLogger(__name__)

ESCALATE_EVERY_S = 60.0


class Worker:
    """Rounds of delivery and escalation on a daemon thread until :meth:`stop`."""

    def __init__(self, store: SqlStore, settings: Settings) -> None:
        self.repo = delivery.worker_repository(store, settings)
        self.interval = settings.worker_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._escalated_at = 0.0

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fellesjournal-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def round(self, client: httpx.Client) -> delivery.RoundStats:
        """One round: deliver what is due (until nothing is), escalate once a minute."""
        total = delivery.RoundStats()
        while not self._stop.is_set():
            stats = delivery.deliver_due(self.repo, client)
            total.add(stats)
            if stats.handled < self.repo.settings.outbox_batch:
                break
        if time.monotonic() - self._escalated_at >= ESCALATE_EVERY_S:
            self._escalated_at = time.monotonic()
            queues.escalate(self.repo, datetime.now(UTC))
        return total

    def _run(self) -> None:
        with delivery.http_client(self.repo.settings) as client:
            while not self._stop.is_set():
                try:
                    self.round(client)
                except Exception:
                    log.exception("worker: a round failed; trying again next interval")
                self._stop.wait(self.interval)

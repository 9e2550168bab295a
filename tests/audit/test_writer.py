"""Group append: concurrent callers share transactions, each returns once durable."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from fellesjournal.audit import log
from fellesjournal.audit.verify import verify
from fellesjournal.audit.writer import AuditWriter
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import access_event


def _until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


def test_waiting_callers_share_the_next_batches(
    log_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = AuditWriter(log_store, max_batch=3)
    batches: list[int] = []
    entered, release = threading.Event(), threading.Event()
    real = log.append_prepared

    def held(tx: Any, prepared: Sequence[log.PreparedEvent]) -> list[int]:
        batches.append(len(prepared))
        entered.set()
        release.wait(10)
        return real(tx, prepared)

    monkeypatch.setattr(log, "append_prepared", held)
    results: dict[str, list[int]] = {}

    def call(name: str, n: int) -> None:
        results[name] = writer.record([access_event(name) for _ in range(n)])

    first = threading.Thread(target=call, args=("a", 2))
    first.start()
    entered.wait(10)  # the first batch is being written; the others queue behind it
    others = [threading.Thread(target=call, args=(name, 1)) for name in "bcdefgh"]
    for t in others:
        t.start()
    _until(lambda: len(writer._queue) == 7)
    release.set()
    for t in [first, *others]:
        t.join(10)

    assert batches == [2, 3, 3, 1]  # a alone, then the seven in batches of at most three
    assert results["a"] == [1, 2]
    assert sorted(s for name in "bcdefgh" for s in results[name]) == list(range(3, 10))
    with log_store.snapshot() as tx:
        owner = {r.seq: r.patient_id for r in log.iter_events(tx)}
    assert all(owner[s] == name for name, seqs in results.items() for s in seqs)
    assert verify(log_store.engine).rows == 9


def test_a_failed_batch_fails_its_callers_only(
    log_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = AuditWriter(log_store)
    real = log.append_prepared
    calls = iter([RuntimeError("disk full"), None])

    def flaky(tx: Any, prepared: Sequence[log.PreparedEvent]) -> list[int]:
        seqs = real(tx, prepared)
        error = next(calls, None)
        if error is not None:
            raise error  # after the rows went in: the rollback must take them away
        return seqs

    monkeypatch.setattr(log, "append_prepared", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        writer.record([access_event("lost")])
    assert writer.record([access_event("kept")]) == [1]
    with pytest.raises(ValueError, match="not an instant"):
        writer.record([access_event("bad", recorded="soon")])
    assert writer.record([]) == []
    with log_store.snapshot() as tx:
        assert [r.patient_id for r in log.iter_events(tx)] == ["kept"]


def test_many_threads_one_intact_chain(log_store: SqlStore) -> None:
    writer = AuditWriter(log_store)
    results: list[list[int]] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for i in range(25):
            results.append(writer.record([access_event(f"w{worker}")] * (1 + i % 2)))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = sorted(s for r in results for s in r)
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 8 * (13 + 2 * 12)
    assert all(r == list(range(r[0], r[0] + len(r))) for r in results)
    result = verify(log_store.engine)
    assert (result.ok, result.rows) == (True, len(seqs))

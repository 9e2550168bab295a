"""The audit sink: reads' events queued without waiting, committed in shared batches,
retried when the database fails (refusing new reads meanwhile), written out on stop."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from fellesjournal.audit import log
from fellesjournal.audit.sink import AuditSink
from fellesjournal.audit.verify import verify
from fellesjournal.fhir.errors import FhirError
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import access_event


@pytest.fixture
def sink(log_store: SqlStore) -> Iterator[AuditSink]:
    s = AuditSink(log_store, linger=0.05)
    yield s
    s.stop()


def _patients(store: SqlStore) -> list[str | None]:
    with store.snapshot() as tx:
        return [r.patient_id for r in log.iter_events(tx)]


def _count_appends(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = log.append_on

    def counted(driver: Any, dialect: str, prepared: Sequence[log.PreparedEvent]) -> list[int]:
        sizes.append(len(prepared))
        return real(driver, dialect, prepared)

    monkeypatch.setattr(log, "append_on", counted)
    return sizes


def test_submitted_events_share_one_transaction(
    sink: AuditSink, log_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _count_appends(monkeypatch)
    for name in "abcdefgh":
        sink.submit([access_event(name)])  # returns at once: the writer lingers 50 ms
    sink.drain()
    assert sizes == [8]
    assert _patients(log_store) == list("abcdefgh")
    assert verify(log_store.engine).rows == 8


def test_drain_and_record_wait_for_the_commit(sink: AuditSink, log_store: SqlStore) -> None:
    sink.submit([access_event("queued")])
    sink.record([access_event("waited")])  # everything before it is committed too
    assert _patients(log_store) == ["queued", "waited"]
    sink.drain()  # nothing queued: returns
    with pytest.raises(ValueError, match="not an instant"):
        sink.submit([access_event("bad", recorded="soon")])
    sink.submit([])
    sink.drain()
    assert _patients(log_store) == ["queued", "waited"]


def test_a_failing_log_refuses_reads_and_keeps_what_it_was_given(
    sink: AuditSink, log_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = log.append_on
    broken = threading.Event()
    broken.set()

    def flaky(driver: Any, dialect: str, prepared: Sequence[log.PreparedEvent]) -> list[int]:
        seqs = real(driver, dialect, prepared)
        if broken.is_set():
            raise RuntimeError("disk full")  # after the rows went in: the rollback removes them
        return seqs

    monkeypatch.setattr(log, "append_on", flaky)
    sink.submit([access_event("kept")])
    with pytest.raises(RuntimeError, match="disk full"):
        sink.drain()
    with pytest.raises(FhirError) as refused:
        sink.submit([access_event("refused")])
    assert refused.value.status == 503
    assert _patients(log_store) == []
    broken.clear()
    sink.drain()  # the retry commits what was submitted before the failure
    assert _patients(log_store) == ["kept"]
    sink.submit([access_event("after")])
    sink.drain()
    assert _patients(log_store) == ["kept", "after"]
    assert verify(log_store.engine).ok


def test_too_far_behind_is_refused(log_store: SqlStore) -> None:
    sink = AuditSink(log_store, linger=5.0, max_pending=3)
    try:
        for name in "abc":
            sink.submit([access_event(name)])
        with pytest.raises(FhirError) as refused:
            sink.submit([access_event("d")])
        assert refused.value.status == 503
    finally:
        sink.stop()
    assert _patients(log_store) == list("abc")  # stop wrote the queue


def test_stop_writes_the_queue_and_the_sink_restarts(log_store: SqlStore) -> None:
    sink = AuditSink(log_store, linger=5.0)
    sink.submit([access_event("one")])
    sink.stop()
    assert _patients(log_store) == ["one"]
    sink.submit([access_event("two")])
    sink.stop()
    assert _patients(log_store) == ["one", "two"]


def test_many_threads_one_intact_chain(sink: AuditSink, log_store: SqlStore) -> None:
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for i in range(25):
            events = [access_event(f"w{worker}")] * (1 + i % 2)
            if i % 5:
                sink.submit(events)
            else:
                sink.record(events)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.drain()
    result = verify(log_store.engine)
    assert (result.ok, result.rows) == (True, 8 * (13 + 2 * 12))

"""Concurrent write transactions: each all-or-nothing, none lost, none blocking forever.

On SQLite these share commits (``store/group_commit.py``); on PostgreSQL they are plain
transactions. The contract is the same on both.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from fellesjournal.store.base import WriteOp


def _basic(tag: str) -> dict[str, object]:
    return {"resourceType": "Basic", "code": {"text": tag}}


def test_concurrent_writers_are_independent_and_durable(store) -> None:
    tag = uuid.uuid4().hex
    ids = [f"gc-{tag[:12]}-{i}" for i in range(40)]
    failing = set(ids[::7])
    errors: list[BaseException] = []

    def write(res_id: str) -> None:
        try:
            with store.transaction() as tx:
                tx.apply(WriteOp("PUT", "Basic", res_id, _basic(tag)))
                if res_id in failing:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer never finished"
    assert errors == []
    with store.snapshot() as tx:
        for res_id in ids:
            stored = tx.read("Basic", res_id)
            if res_id in failing:
                assert stored is None, res_id
            else:
                assert stored is not None and stored.version == 1, res_id


def test_a_failing_transaction_leaves_no_trace_and_the_next_one_works(store) -> None:
    res_id = f"gc-{uuid.uuid4().hex[:12]}"
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Basic", res_id, _basic("x")))
        raise RuntimeError("boom")
    with store.snapshot() as tx:
        assert tx.read("Basic", res_id) is None
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Basic", res_id, _basic("y")))
    with store.snapshot() as tx:
        stored = tx.read("Basic", res_id)
    assert stored is not None and stored.version == 1

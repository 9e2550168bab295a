"""Concurrent appenders, each in its own transaction: one gapless, intact chain.

On PostgreSQL the transactions really overlap and queue on the head row; on SQLite they
share commits (``store/group_commit.py``). Some transactions fail after appending: their
events vanish with them and leave no gap.
"""

from __future__ import annotations

import threading

from fellesjournal.audit import log
from fellesjournal.audit.verify import verify
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import access_event, raw

THREADS = 8
ROUNDS = 15


def test_concurrent_appenders_keep_one_gapless_chain(log_store: SqlStore) -> None:
    committed: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        start.wait()
        for round_ in range(ROUNDS):
            name = f"w{worker}-r{round_}"
            batch = [access_event(f"p{worker}", note=name) for _ in range(1 + round_ % 3)]
            fails = round_ % 5 == 4
            try:
                with log_store.transaction() as tx:
                    seqs = log.append(tx, batch)
                    if fails:
                        raise RuntimeError("rolled back")
                committed[name] = seqs
            except RuntimeError:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors, errors
    expected_events = sum(1 + r % 3 for r in range(ROUNDS) if r % 5 != 4) * THREADS
    all_seqs = sorted(s for seqs in committed.values() for s in seqs)
    assert all_seqs == list(range(1, expected_events + 1))
    for seqs in committed.values():  # a transaction's events sit side by side
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    stored = dict(raw(log_store, "SELECT seq, content FROM audit_log").all())
    for name, seqs in committed.items():
        assert all(f'"outcomeDesc":"{name}"' in stored[s] for s in seqs)
    result = verify(log_store.engine)
    assert (result.ok, result.rows) == (True, expected_events), result.summary

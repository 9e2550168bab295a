"""Appending to the log, reading it back, and the database refusing changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fellesjournal.access.actor import Actor
from fellesjournal.audit import log
from fellesjournal.audit.chain import GENESIS
from fellesjournal.audit.events import merge_event
from fellesjournal.audit.verify import verify
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import access_event, fill, raw


def test_an_empty_log_is_intact(log_store: SqlStore) -> None:
    result = verify(log_store.engine)
    assert (result.ok, result.rows, result.last_seq, result.last_hash) == (True, 0, 0, GENESIS)
    with log_store.snapshot() as tx:
        assert log.head(tx) == (0, GENESIS)


def test_seqs_are_gapless_across_transactions_and_rollbacks(log_store: SqlStore) -> None:
    with log_store.transaction() as tx:
        assert log.append(tx, [access_event("p1"), access_event("p2"), access_event(None)]) == [
            1,
            2,
            3,
        ]
        assert log.append(tx, []) == []
        assert log.append(tx, [access_event("p1")]) == [4]
    with pytest.raises(RuntimeError, match="boom"), log_store.transaction() as tx:
        log.append(tx, [access_event("p1")])
        raise RuntimeError("boom")
    with log_store.transaction() as tx:
        assert log.append(tx, [access_event("p3")]) == [5]
    result = verify(log_store)  # a store will do as well as an engine
    assert (result.ok, result.rows, result.last_seq) == (True, 5, 5)
    with log_store.snapshot() as tx:
        assert log.head(tx) == (5, result.last_hash)


def test_rows_carry_the_event_and_its_columns(log_store: SqlStore) -> None:
    actor = Actor("system", "cli")
    event = {**merge_event(actor, "src-1", "tgt-1", 3, "merged"), "id": "from-elsewhere"}
    with log_store.transaction() as tx:
        [seq] = log.append(tx, [event])
    with log_store.snapshot() as tx:
        [record] = list(log.iter_events(tx))
        stored = log.read_event(tx, seq)
        assert log.read_event(tx, seq + 1) is None
    assert (record.seq, record.patient_id, record.agent, record.action, record.outcome) == (
        seq,
        "src-1",
        "system cli",
        "U",
        "0",
    )
    assert stored == {**event, "id": str(seq)}
    assert record.event() == stored


def test_a_missing_recorded_is_set_on_the_event(log_store: SqlStore) -> None:
    event = access_event("p1")
    del event["recorded"]
    with log_store.transaction() as tx:
        [seq] = log.append(tx, [event])
    assert event["recorded"].endswith("Z")
    with log_store.snapshot() as tx:
        assert log.read_event(tx, seq)["recorded"] == event["recorded"]  # type: ignore[index]


def test_a_snapshot_cannot_append(log_store: SqlStore) -> None:
    with log_store.snapshot() as tx, pytest.raises(RuntimeError, match="write transaction"):
        log.append(tx, [access_event("p1")])


def test_events_for_a_patient_newest_first_with_paging_and_since(log_store: SqlStore) -> None:
    with log_store.transaction() as tx:
        log.append(
            tx,
            [
                access_event("anna", recorded=f"2026-03-0{day}T08:00:00.000Z", note=str(day))
                for day in range(1, 6)
            ]
            + [access_event("bert"), access_event("anna-old")],
        )
    with log_store.snapshot() as tx:
        notes = [e["outcomeDesc"] for e in log.events_for_patient(tx, "anna")]
        assert notes == ["5", "4", "3", "2", "1"]
        page = log.events_for_patient(tx, "anna", count=2, offset=2)
        assert [e["outcomeDesc"] for e in page] == ["3", "2"]
        assert [e["id"] for e in page] == ["3", "2"]
        since = log.events_for_patient(tx, "anna", since="2026-03-04T09:00:00+01:00")
        assert [e["outcomeDesc"] for e in since] == ["5", "4"]
        assert log.count_for_patient(tx, "anna") == 5
        assert log.count_for_patient(tx, "anna", since="2026-03-04T08:00:00Z") == 2
        assert log.count_for_patient(tx, ["anna", "anna-old"]) == 6
        assert log.count_for_patient(tx, []) == 0
        assert log.events_for_patient(tx, "nobody") == []


def test_iter_events_pages_in_seq_order(log_store: SqlStore) -> None:
    with log_store.transaction() as tx:
        log.append(
            tx, [access_event(f"p{i}", recorded=f"2026-03-01T08:00:{i:02d}.000Z") for i in range(7)]
        )
    with log_store.snapshot() as tx:
        assert [r.seq for r in log.iter_events(tx, page=2)] == list(range(1, 8))
        assert [r.seq for r in log.iter_events(tx, after_seq=5, page=2)] == [6, 7]
        since = log.iter_events(tx, "2026-03-01T08:00:03Z", page=3)
        assert [r.patient_id for r in since] == ["p3", "p4", "p5", "p6"]


def test_the_database_refuses_update_and_delete(log_store: SqlStore) -> None:
    fill(log_store, 3)
    refused = (sa.exc.IntegrityError, sa.exc.InternalError, sa.exc.DatabaseError)
    for sql in (
        "UPDATE audit_log SET content = '{}' WHERE seq = 2",
        "UPDATE audit_log SET patient_id = NULL",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
        "DELETE FROM audit_head",
        "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')",
        # the head moves only forward, onto a row of the log
        "UPDATE audit_head SET seq = 2",
        f"UPDATE audit_head SET seq = 4, hash = '{'1' * 64}'",
    ) + (("TRUNCATE audit_log",) if log_store.dialect == "postgresql" else ()):
        with pytest.raises(refused, match=r"append-only|one row|only moves forward"):
            raw(log_store, sql)
    result = verify(log_store.engine)
    assert (result.ok, result.rows) == (True, 3)


def test_the_migration_matches_the_schema_module(log_store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fellesjournal.store.schema import metadata

    with log_store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diffs if "audit_" in repr(d)]
    assert ours == []

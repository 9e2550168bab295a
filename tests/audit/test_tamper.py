"""Tampering with the log directly in the database, as its owner could, and finding it.

Each case drops the append-only triggers first (an attacker with the database owner's
rights can), changes ten intact rows with raw SQL, and expects ``verify`` to name the
first bad seq and what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fellesjournal.audit.chain import row_hash
from fellesjournal.audit.verify import verify
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import drop_guards, fill, raw

_COLUMNS = "seq, recorded, patient_id, agent, action, outcome, content, prev_hash, hash"


def _row(store: SqlStore, seq: int) -> dict[str, object]:
    return dict(
        raw(store, f"SELECT {_COLUMNS} FROM audit_log WHERE seq = :s", {"s": seq}).one()._mapping
    )


def _insert(store: SqlStore, row: dict[str, object]) -> None:
    names = _COLUMNS.split(", ")
    raw(
        store,
        f"INSERT INTO audit_log ({_COLUMNS}) VALUES ({', '.join(':' + n for n in names)})",
        row,
    )


def _rehash(row: dict[str, object], prev: str) -> dict[str, object]:
    """The row with a correct hash after ``prev``: an attacker who knows the scheme."""
    fields = [
        row[n] for n in ("seq", "recorded", "patient_id", "agent", "action", "outcome", "content")
    ]
    return {**row, "prev_hash": prev, "hash": row_hash(prev, *fields)}  # type: ignore[arg-type]


def alter_content(s: SqlStore) -> None:
    raw(s, "UPDATE audit_log SET content = replace(content, 'event 3', 'event 9') WHERE seq = 4")


def alter_patient(s: SqlStore) -> None:
    raw(s, "UPDATE audit_log SET patient_id = 'someone-else' WHERE seq = 6")


def alter_recorded(s: SqlStore) -> None:
    raw(s, "UPDATE audit_log SET recorded = '2020-01-01T00:00:00.000Z' WHERE seq = 2")


def delete_middle(s: SqlStore) -> None:
    raw(s, "DELETE FROM audit_log WHERE seq = 5")


def delete_first(s: SqlStore) -> None:
    raw(s, "DELETE FROM audit_log WHERE seq = 1")


def delete_last(s: SqlStore) -> None:
    raw(s, "DELETE FROM audit_log WHERE seq = 10")


def delete_and_renumber(s: SqlStore) -> None:
    """Remove seq 5 and close the gap, so no seq is missing."""
    raw(s, "DELETE FROM audit_log WHERE seq = 5")
    for seq in range(6, 11):
        raw(s, "UPDATE audit_log SET seq = :new WHERE seq = :old", {"new": seq - 1, "old": seq})
    raw(s, "UPDATE audit_head SET seq = 9")


def rewrite_with_fresh_hash(s: SqlStore) -> None:
    """Change seq 3 and give it a correct hash; the rows after it still point at the old one."""
    row = _row(s, 3)
    raw(s, "DELETE FROM audit_log WHERE seq = 3")
    _insert(s, _rehash({**row, "patient_id": "someone-else"}, str(row["prev_hash"])))


def insert_at_end(s: SqlStore) -> None:
    """A well-formed eleventh row that did not go through append (the head stays at 10)."""
    last = _row(s, 10)
    _insert(s, _rehash({**last, "seq": 11, "patient_id": "forged"}, str(last["hash"])))


def insert_in_middle(s: SqlStore) -> None:
    """Move seq 6-10 up by one and put a well-formed forged row at 6."""
    for seq in range(10, 5, -1):
        raw(s, "UPDATE audit_log SET seq = :new WHERE seq = :old", {"new": seq + 1, "old": seq})
    fifth = _row(s, 5)
    _insert(s, _rehash({**fifth, "seq": 6, "patient_id": "forged"}, str(fifth["hash"])))
    raw(s, "UPDATE audit_head SET seq = 11")


def swap_contents(s: SqlStore) -> None:
    three, four = _row(s, 3), _row(s, 4)
    for mine, theirs in ((three, four), (four, three)):
        raw(
            s,
            "UPDATE audit_log SET content = :c WHERE seq = :s",
            {"c": theirs["content"], "s": mine["seq"]},
        )


def swap_rows(s: SqlStore) -> None:
    """Swap seq 3 and 4 whole (their hashes go with them)."""
    raw(s, "UPDATE audit_log SET seq = -3 WHERE seq = 3")
    raw(s, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    raw(s, "UPDATE audit_log SET seq = 4 WHERE seq = -3")


def remove_head(s: SqlStore) -> None:
    raw(s, "DELETE FROM audit_head")


CASES: list[tuple[Callable[[SqlStore], None], int, str]] = [
    (alter_content, 4, "row altered (hash mismatch)"),
    (alter_patient, 6, "row altered (hash mismatch)"),
    (alter_recorded, 2, "row altered (hash mismatch)"),
    (delete_middle, 5, "row removed (seq 5 missing before seq 6)"),
    (delete_first, 1, "row removed (seq 1 missing before seq 2)"),
    (
        delete_last,
        10,
        "rows removed at the end (the log ends at seq 9, the recorded head is seq 10)",
    ),
    (delete_and_renumber, 5, "row altered (hash mismatch)"),
    (rewrite_with_fresh_hash, 4, "chain broken (prev_hash is not the hash of seq 3"),
    (insert_at_end, 11, "row inserted (beyond the recorded head, seq 10"),
    (insert_in_middle, 7, "row altered (hash mismatch)"),
    (swap_contents, 3, "row altered (hash mismatch)"),
    (swap_rows, 3, "row altered (hash mismatch)"),
    (remove_head, 1, "audit_head is missing"),
]


@pytest.mark.parametrize(("tamper", "seq", "reason"), CASES, ids=[c[0].__name__ for c in CASES])
def test_tampering_is_found_at_the_first_bad_row(
    log_store: SqlStore, tamper: Callable[[SqlStore], None], seq: int, reason: str
) -> None:
    fill(log_store, 10)
    assert verify(log_store.engine).ok
    drop_guards(log_store)
    tamper(log_store)
    result = verify(log_store.engine, page=3)  # small pages: the break may sit on a page edge
    assert not result.ok
    assert result.first_bad_seq == seq
    assert result.reason is not None and result.reason.startswith(reason), result.reason
    assert result.summary.startswith(f"audit log broken at seq {seq}: ")


def test_a_full_rewrite_needs_an_anchor_to_show(log_store: SqlStore) -> None:
    """Rewriting seq 3, recomputing every later hash and moving the head passes the chain
    check: only a hash noted outside the database shows it."""
    fill(log_store, 6)
    anchor = (5, str(_row(log_store, 5)["hash"]))
    drop_guards(log_store)
    rows = [_row(log_store, seq) for seq in range(1, 7)]
    raw(log_store, "DELETE FROM audit_log WHERE seq >= 3")
    prev = str(rows[1]["hash"])
    for row in rows[2:]:
        forged = _rehash({**row, "agent": "someone-else"} if row["seq"] == 3 else row, prev)
        _insert(log_store, forged)
        prev = str(forged["hash"])
    raw(log_store, "UPDATE audit_head SET hash = :h", {"h": prev})

    assert verify(log_store.engine).ok
    result = verify(log_store.engine, anchor=anchor)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert result.reason == "row differs from the anchor (the log was rewritten up to here)"


def test_cutting_the_tail_and_the_head_needs_an_anchor_to_show(log_store: SqlStore) -> None:
    fill(log_store, 6)
    anchor = (6, str(_row(log_store, 6)["hash"]))
    drop_guards(log_store)
    raw(log_store, "DELETE FROM audit_log WHERE seq = 6")
    raw(log_store, "UPDATE audit_head SET seq = 5, hash = :h", {"h": _row(log_store, 5)["hash"]})

    assert verify(log_store.engine).ok
    result = verify(log_store.engine, anchor=anchor)
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert (
        result.reason == "rows removed at the end (the log ends at seq 5, before the anchor seq 6)"
    )
    assert verify(log_store.engine, anchor=(5, str(_row(log_store, 5)["hash"]))).ok

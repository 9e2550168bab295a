"""The storage contract (``store/base.py``) on the backend under test.

Written against ``Store.transaction()`` / ``snapshot()`` and :class:`WriteOp` only (plus
the search, to see the index): versions and history, If-Match (412), tombstones,
atomic rollback, index rows replaced on update, and a Hypothesis property that random
sequences of writes leave versions and history exactly as a simple model says.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fellesjournal.fhir.errors import FhirError
from fellesjournal.store import schema
from fellesjournal.store.base import WriteOp
from fellesjournal.store.sql import SqlStore


def _uid(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _patient(pid: str, family: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "name": [{"family": family}], **extra}


def _basic(bid: str, text: str) -> dict[str, Any]:
    return {"resourceType": "Basic", "id": bid, "code": {"text": text}}


def _history_rows(store: SqlStore, res_type: str, res_id: str) -> list[tuple[int, bool]]:
    H = schema.resource_history
    with store.snapshot() as tx:
        rows = tx.execute(
            sa.select(H.c.version, H.c.deleted)
            .where(H.c.res_type == res_type, H.c.res_id == res_id)
            .order_by(H.c.version)
        ).all()
    return [(int(v), bool(d)) for v, d in rows]


def _index_count(store: SqlStore, res_type: str, res_id: str) -> int:
    with store.snapshot() as tx:
        return sum(
            int(
                tx.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.res_type == res_type, t.c.res_id == res_id)
                ).scalar_one()
            )
            for t in schema.INDEX_TABLES.values()
        )


def _search_ids(repo, res_type: str, **params: str) -> set[str]:  # type: ignore[no-untyped-def]
    result = repo.search(res_type, [*params.items(), ("_count", "100")])
    return {m.res_id for m in result.matches}


# -- create, read, vread, update, delete ---------------------------------------------------


def test_create_read_vread(store: SqlStore) -> None:
    pid = _uid()
    with store.transaction() as tx:
        res = tx.apply(WriteOp("POST", "Patient", pid, _patient(pid, "Nordmann")))
    assert res.created and not res.noop
    assert res.stored.version == 1 and not res.stored.deleted
    assert res.stored.etag == 'W/"1"'
    with store.snapshot() as tx:
        cur = tx.read("Patient", pid)
        v1 = tx.vread("Patient", pid, 1)
        assert tx.vread("Patient", pid, 2) is None
        assert tx.read("Patient", _uid()) is None
    assert cur is not None and v1 is not None
    assert cur.version == 1 and not cur.deleted
    body = orjson.loads(cur.content or "")
    assert body["id"] == pid and body["name"] == [{"family": "Nordmann"}]
    assert body["meta"] == {"versionId": "1", "lastUpdated": cur.last_updated}
    assert orjson.loads(v1.content or "") == body
    assert v1.method == "POST"


def test_store_owns_version_and_last_updated(store: SqlStore) -> None:
    pid = _uid()
    mine = {
        "versionId": "42",
        "lastUpdated": "1999-01-01T00:00:00Z",
        "tag": [{"system": "urn:t", "code": "x"}],
    }
    with store.transaction() as tx:
        stored = tx.apply(
            WriteOp("PUT", "Patient", pid, _patient(pid, "Meta", meta=dict(mine)))
        ).stored
    body = orjson.loads(stored.content or "")
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] == stored.last_updated != mine["lastUpdated"]
    assert body["meta"]["tag"] == mine["tag"]


def test_update_increments_version_and_keeps_history(store: SqlStore) -> None:
    pid = _uid()
    stamps = []
    for n, family in enumerate(["A", "B", "C"], 1):
        with store.transaction() as tx:
            res = tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, family)))
        assert res.stored.version == n
        assert res.created == (n == 1)
        stamps.append((res.stored.seq, res.stored.last_updated))
    assert [s for s, _ in stamps] == sorted({s for s, _ in stamps})
    assert [t for _, t in stamps] == sorted(t for _, t in stamps)
    with store.snapshot() as tx:
        assert tx.read("Patient", pid).version == 3  # type: ignore[union-attr]
        families = [
            orjson.loads(tx.vread("Patient", pid, v).content or "")["name"][0]["family"]  # type: ignore
            for v in (1, 2, 3)
        ]
    assert families == ["A", "B", "C"]
    assert _history_rows(store, "Patient", pid) == [(1, False), (2, False), (3, False)]


def test_expected_version_mismatch_is_412_and_changes_nothing(store: SqlStore) -> None:
    pid = _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "First")))
    with store.transaction() as tx:
        assert (
            tx.apply(
                WriteOp("PUT", "Patient", pid, _patient(pid, "Second"), expected_version=1)
            ).stored.version
            == 2
        )
    for expected in (1, 3):
        with pytest.raises(FhirError) as exc, store.transaction() as tx:
            tx.apply(
                WriteOp("PUT", "Patient", pid, _patient(pid, "Stale"), expected_version=expected)
            )
        assert exc.value.status == 412
    with pytest.raises(FhirError) as exc, store.transaction() as tx:
        tx.apply(WriteOp("DELETE", "Patient", pid, expected_version=1))
    assert exc.value.status == 412
    # If-Match on a resource that does not exist cannot match either
    with pytest.raises(FhirError) as exc, store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", _uid(), _patient("x", "New"), expected_version=1))
    assert exc.value.status == 412
    with store.snapshot() as tx:
        cur = tx.read("Patient", pid)
    assert cur is not None and cur.version == 2
    assert orjson.loads(cur.content or "")["name"][0]["family"] == "Second"
    assert len(_history_rows(store, "Patient", pid)) == 2


def test_must_not_exist_is_409_unless_deleted(store: SqlStore) -> None:
    pid = _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "One")))
    with pytest.raises(FhirError) as exc, store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "Two"), must_not_exist=True))
    assert exc.value.status == 409
    with store.transaction() as tx:
        tx.apply(WriteOp("DELETE", "Patient", pid))
    with store.transaction() as tx:
        res = tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "Three"), must_not_exist=True))
    assert res.created and res.stored.version == 3


def test_delete_makes_a_tombstone(store: SqlStore) -> None:
    pid = _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "Gone")))
    with store.transaction() as tx:
        res = tx.apply(WriteOp("DELETE", "Patient", pid))
    assert not res.noop and res.stored.deleted and res.stored.version == 2
    with store.snapshot() as tx:
        cur = tx.read("Patient", pid)
        old = tx.vread("Patient", pid, 1)
        tomb = tx.vread("Patient", pid, 2)
    assert cur is not None and cur.deleted and cur.version == 2 and cur.content is None
    assert old is not None and not old.deleted and old.content
    assert tomb is not None and tomb.deleted and tomb.method == "DELETE"
    # deleting again, or deleting what never was, writes nothing
    with store.transaction() as tx:
        again = tx.apply(WriteOp("DELETE", "Patient", pid))
        never = tx.apply(WriteOp("DELETE", "Patient", _uid()))
    assert again.noop and never.noop and not again.created
    assert _history_rows(store, "Patient", pid) == [(1, False), (2, True)]
    assert _index_count(store, "Patient", pid) == 0


def test_failing_transaction_leaves_nothing(store: SqlStore) -> None:
    new, old = _uid(), _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", old, _patient(old, "Kept")))
    before = _index_count(store, "Patient", old)
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.apply(WriteOp("POST", "Patient", new, _patient(new, "Lost")))
        tx.apply_many(
            [
                WriteOp("PUT", "Patient", old, _patient(old, "Changed")),
                WriteOp("PUT", "Basic", new, _basic(new, "lost too")),
            ]
        )
        assert tx.read("Patient", new) is not None  # visible inside the transaction
        raise RuntimeError("boom")
    with store.snapshot() as tx:
        assert tx.read("Patient", new) is None
        assert tx.read("Basic", new) is None
        kept = tx.read("Patient", old)
    assert kept is not None and kept.version == 1
    assert orjson.loads(kept.content or "")["name"][0]["family"] == "Kept"
    assert _history_rows(store, "Patient", new) == []
    assert _history_rows(store, "Patient", old) == [(1, False)]
    assert _index_count(store, "Patient", new) == 0
    assert _index_count(store, "Patient", old) == before


def test_a_conflict_inside_a_transaction_rolls_back_its_earlier_writes(store: SqlStore) -> None:
    a, b = _uid(), _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", b, _patient(b, "B")))
    with pytest.raises(FhirError) as exc, store.transaction() as tx:
        tx.apply_many(
            [
                WriteOp("PUT", "Patient", a, _patient(a, "A")),
                WriteOp("PUT", "Patient", b, _patient(b, "B2"), expected_version=7),
            ]
        )
    assert exc.value.status == 412
    with store.snapshot() as tx:
        assert tx.read("Patient", a) is None
        assert tx.read("Patient", b).version == 1  # type: ignore[union-attr]


def test_apply_many_writes_distinct_resources_at_once(store: SqlStore) -> None:
    ids = [_uid() for _ in range(5)]
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Basic", ids[0], _basic(ids[0], "pre")))
    with store.transaction() as tx:
        results = tx.apply_many([WriteOp("PUT", "Basic", i, _basic(i, "bulk")) for i in ids])
    assert [r.stored.version for r in results] == [2, 1, 1, 1, 1]
    assert [r.created for r in results] == [False, True, True, True, True]
    assert len({r.stored.seq for r in results}) == 5


def test_snapshot_is_read_only(store: SqlStore) -> None:
    pid = _uid()
    with pytest.raises(RuntimeError), store.snapshot() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "No")))
    with store.snapshot() as tx:
        assert tx.read("Patient", pid) is None


def test_snapshot_is_one_consistent_view(store: SqlStore) -> None:
    """A snapshot does not see a write committed after it began reading."""
    pid = _uid()
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "Before")))
    with store.snapshot() as snap:
        assert snap.read("Patient", pid).version == 1  # type: ignore[union-attr]
        with store.transaction() as tx:
            tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, "After")))
        again = snap.read("Patient", pid)
    assert again is not None and again.version == 1
    with store.snapshot() as tx:
        assert tx.read("Patient", pid).version == 2  # type: ignore[union-attr]


def test_index_rows_are_replaced_on_update(store: SqlStore, repo) -> None:  # type: ignore
    pid = _uid()
    old, new = f"Old{uuid.uuid4().hex[:10]}", f"New{uuid.uuid4().hex[:10]}"
    ident = uuid.uuid4().hex
    with store.transaction() as tx:
        tx.apply(
            WriteOp(
                "PUT",
                "Patient",
                pid,
                _patient(
                    pid, old, gender="male", identifier=[{"system": "urn:old", "value": ident}]
                ),
            )
        )
    assert _search_ids(repo, "Patient", family=old) == {pid}
    assert _search_ids(repo, "Patient", identifier=f"urn:old|{ident}") == {pid}
    with store.transaction() as tx:
        tx.apply(WriteOp("PUT", "Patient", pid, _patient(pid, new, gender="female")))
    assert _search_ids(repo, "Patient", family=old) == set()
    assert _search_ids(repo, "Patient", identifier=f"urn:old|{ident}") == set()
    assert _search_ids(repo, "Patient", family=new) == {pid}
    female = repo.search("Patient", [("family", new), ("gender", "female")])
    assert [m.res_id for m in female.matches] == [pid]
    assert repo.search("Patient", [("family", new), ("gender", "male")]).matches == []
    with store.transaction() as tx:
        tx.apply(WriteOp("DELETE", "Patient", pid))
    assert _search_ids(repo, "Patient", family=new) == set()
    assert _index_count(store, "Patient", pid) == 0


# -- property: random writes against a model -------------------------------------------------


@dataclass
class _Model:
    """What the store should hold for one id: a list of (deleted, text) per version."""

    versions: list[tuple[bool, str | None]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return bool(self.versions) and not self.versions[-1][0]


_OP = st.tuples(
    st.integers(min_value=0, max_value=2),  # which id
    st.sampled_from(["create", "put", "delete"]),  # what
    st.sampled_from([None, "current", "stale"]),  # If-Match
)


@hsettings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(groups=st.lists(st.lists(_OP, min_size=1, max_size=3), min_size=1, max_size=8))
def test_random_writes_match_a_model(store: SqlStore, groups: list[list[Any]]) -> None:
    """Each group is one transaction; a 409/412 anywhere in it undoes the whole group."""
    run = uuid.uuid4().hex[:12]
    ids = [f"h-{run}-{n}" for n in range(3)]
    models = [_Model() for _ in ids]
    counter = 0
    for group in groups:
        planned = [_Model(list(m.versions)) for m in models]
        expect_fail: int | None = None
        try:
            with store.transaction() as tx:
                for which, what, if_match in group:
                    m = planned[which]
                    have = len(m.versions) if m.live else None
                    expected = {
                        None: None,
                        "current": len(m.versions) or 1,
                        "stale": len(m.versions) + 5,
                    }[if_match]
                    counter += 1
                    text = f"w{counter}"
                    if what == "delete":
                        op = WriteOp("DELETE", "Basic", ids[which], expected_version=expected)
                    elif what == "create" and not m.versions:
                        op = WriteOp(
                            "POST",
                            "Basic",
                            ids[which],
                            _basic(ids[which], text),
                            expected_version=expected,
                        )
                    else:
                        op = WriteOp(
                            "PUT",
                            "Basic",
                            ids[which],
                            _basic(ids[which], text),
                            expected_version=expected,
                            must_not_exist=what == "create",
                        )
                    if expected is not None and have != expected:
                        expect_fail = 412
                    elif what == "create" and m.live:
                        expect_fail = 409
                    if expect_fail:
                        with pytest.raises(FhirError) as exc:
                            tx.apply(op)
                        assert exc.value.status == expect_fail
                        raise exc.value
                    res = tx.apply(op)
                    if what == "delete" and not m.live:
                        assert res.noop
                        continue
                    assert res.created == (what != "delete" and not m.live)
                    m.versions.append((what == "delete", None if what == "delete" else text))
                    assert res.stored.version == len(m.versions)
                    assert res.stored.deleted == (what == "delete")
        except FhirError as exc:
            assert exc.status == expect_fail
        else:
            assert expect_fail is None
            models = planned
    with store.snapshot() as tx:
        for res_id, m in zip(ids, models, strict=True):
            cur = tx.read("Basic", res_id)
            if not m.versions:
                assert cur is None
                continue
            assert cur is not None
            assert cur.version == len(m.versions)
            assert cur.deleted == (not m.live)
            for v, (deleted, text) in enumerate(m.versions, 1):
                old = tx.vread("Basic", res_id, v)
                assert old is not None and old.deleted == deleted
                if text is not None:
                    assert orjson.loads(old.content or "")["code"]["text"] == text
            assert tx.vread("Basic", res_id, len(m.versions) + 1) is None
    for res_id, m in zip(ids, models, strict=True):
        assert _history_rows(store, "Basic", res_id) == [
            (v, d) for v, (d, _t) in enumerate(m.versions, 1)
        ]

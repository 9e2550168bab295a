"""The SQL store: one implementation of the storage contract for SQLite and PostgreSQL.

Every write puts the current row, a history row and the search-index rows in the same
transaction. Dialect differences (transaction start, change sequence, row locks) are
confined to ``engine.py`` and the small ``_Dialect`` helpers at the bottom of this file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import Issue, conflict, precondition_failed, unprocessable
from fellesjournal.fhir.instants import now_instant
from fellesjournal.search.extract import IndexRows, extract
from fellesjournal.search.registry import Registry, load_registry
from fellesjournal.settings import Settings
from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource, WriteOp, WriteResult
from fellesjournal.store.engine import WRITE_OPTION, create_engine
from fellesjournal.store.group_commit import GroupCommit

_R = schema.resources
_H = schema.resource_history

_READ = sa.select(
    _R.c.version, _R.c.last_updated, _R.c.deleted, _R.c.content, _R.c.seq, _R.c.patient_id
).where(_R.c.res_type == sa.bindparam("t"), _R.c.res_id == sa.bindparam("i"))
_VREAD = sa.select(
    _H.c.version,
    _H.c.last_updated,
    _H.c.deleted,
    _H.c.content,
    _H.c.method,
    _H.c.seq,
    _H.c.patient_id,
).where(
    _H.c.res_type == sa.bindparam("t"),
    _H.c.res_id == sa.bindparam("i"),
    _H.c.version == sa.bindparam("v"),
)


class SqlStore:
    """SQLite or PostgreSQL behind the :class:`~fellesjournal.store.base.Store` contract."""

    def __init__(self, engine: sa.Engine, registry: Registry | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.registry = registry or load_registry()
        self._group: GroupCommit | None = None
        self.writer_lock: Path | None = None
        """SQLite: the file whose ``flock`` every writing process takes (``group_commit.py``)."""
        if self.dialect == "sqlite":
            db = engine.url.database
            self.writer_lock = Path(db + ".writer-lock") if db and db != ":memory:" else None
            self._group = GroupCommit(engine, self.writer_lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlStore:
        return cls(create_engine(settings.database_url, pool_size=settings.db_pool_size))

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        """A write transaction; commits on normal exit, rolls back on any exception.

        Returns only when the work is durable. On SQLite concurrent transactions share
        one commit (``group_commit.py``), each in a savepoint of its own.
        """
        if self._group is not None:
            with self._group.transaction(lambda conn: SqlTransaction(self, conn)) as tx:
                yield tx
            return
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin():
                    yield SqlTransaction(self, conn)
        except sa.exc.IntegrityError as exc:
            raise conflict(f"a concurrent change got there first: {exc.orig}") from None

    @contextmanager
    def snapshot(self) -> Iterator[SqlTransaction]:
        """A read transaction with one consistent view (no writes).

        PostgreSQL's default READ COMMITTED would let a search's total and its page see
        different data; REPEATABLE READ gives the snapshot (SQLite's read transactions
        are snapshots already).
        """
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with conn.begin():
                yield SqlTransaction(self, conn, read_only=True)

    def read_current(self, res_type: str, res_id: str) -> StoredResource | None:
        """:meth:`SqlTransaction.read` outside a transaction: one statement, no BEGIN.

        The hot path of the API (read by id); a single SELECT is consistent on its own.
        """
        raw = self.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(self._read_sql, (res_type, res_id))
            row = cursor.fetchone()
            cursor.close()
        finally:
            raw.close()
        if row is None:
            return None
        return StoredResource(
            res_type, res_id, row[0], row[1], bool(row[2]), row[3], seq=row[4], patient_id=row[5]
        )

    @property
    def _read_sql(self) -> str:
        if self.dialect == "postgresql":
            return (
                "SELECT version, last_updated, deleted, content::text, seq, patient_id "
                "FROM resources "
                "WHERE res_type = %s AND res_id = %s"
            )
        return (
            "SELECT version, last_updated, deleted, content, seq, patient_id FROM resources "
            "WHERE res_type = ? AND res_id = ?"
        )

    def iter_types(self) -> Iterator[str]:
        with self.engine.connect() as conn:
            yield from conn.execute(sa.select(_R.c.res_type).distinct()).scalars()


class SqlTransaction:
    """Reads and writes inside one open transaction on one connection."""

    def __init__(self, store: SqlStore, conn: sa.Connection, read_only: bool = False) -> None:
        self.store = store
        self.conn = conn
        self.read_only = read_only
        self.dialect = store.dialect
        self._raw_cursor: Any = None

    def _cursor(self) -> Any:
        """The DBAPI cursor of this transaction's connection.

        The write path runs a dozen small statements per resource; going past
        SQLAlchemy's statement construction and caching for them halves the time of an
        update (docs/benchmarks.md). The SQL is fixed text in :data:`_SQL`.
        """
        if self._raw_cursor is None:
            self._raw_cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self._raw_cursor

    def _sql(self, name: str) -> str:
        return _SQL[self.dialect][name]

    # -- reads ---------------------------------------------------------------------------

    def read(self, res_type: str, res_id: str) -> StoredResource | None:
        row = self.conn.execute(_READ, {"t": res_type, "i": res_id}).first()
        if row is None:
            return None
        return StoredResource(
            res_type, res_id, row[0], row[1], row[2], row[3], seq=row[4], patient_id=row[5]
        )

    def vread(self, res_type: str, res_id: str, version: int) -> StoredResource | None:
        row = self.conn.execute(_VREAD, {"t": res_type, "i": res_id, "v": version}).first()
        if row is None:
            return None
        return StoredResource(
            res_type, res_id, row[0], row[1], row[2], row[3], row[4], row[5], row[6]
        )

    def execute(self, stmt: sa.Executable, params: dict[str, Any] | None = None) -> Any:
        """Run a statement built elsewhere (search plans) on this transaction's connection."""
        return self.conn.execute(stmt, params or {})

    def lock_key(self, key: str) -> None:
        """Serialise writers that use the same logical key (conditional create, MPI).

        SQLite already has one writer; PostgreSQL takes a transaction advisory lock.
        """
        self.lock_keys([key])

    def lock_keys(self, keys: list[str]) -> None:
        """:meth:`lock_key` for many keys at once, in a fixed order (no deadlocks)."""
        if self.dialect != "postgresql" or not keys:
            return
        digests = sorted(
            {
                int.from_bytes(
                    hashlib.blake2b(k.encode(), digest_size=8).digest(), "big", signed=True
                )
                for k in keys
            }
        )
        self._cursor().execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(%s AS bigint[])) AS k", (digests,)
        )

    # -- writes --------------------------------------------------------------------------

    def apply(self, op: WriteOp) -> WriteResult:
        """Apply one write; see :meth:`apply_many`."""
        return self.apply_many([op])[0]

    def apply_many(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Apply writes to distinct resources with one bulk statement per table.

        Raises FhirError 412 when ``expected_version`` does not match, 409 when
        ``must_not_exist`` and the resource exists (deleted ones may be re-created).
        """
        if self.read_only:
            raise RuntimeError("write in a read-only snapshot")
        if not ops:
            return []
        current = self._current_versions(ops)
        stamp = now_instant()
        seqs = self._next_seqs(len(ops))
        results: list[WriteResult] = []
        pending = _Pending()
        inserts, updates, history = pending.inserts, pending.updates, pending.history
        stale, index_rows = pending.stale, pending.index_rows
        for op, seq in zip(ops, seqs, strict=True):
            key = (op.res_type, op.res_id)
            cur = current.get(key)
            self._check_preconditions(op, cur)
            if op.method == "DELETE" and (cur is None or cur[1]):
                existing = cur or (0, True, "", None)
                results.append(
                    WriteResult(
                        StoredResource(
                            op.res_type,
                            op.res_id,
                            existing[0],
                            existing[2],
                            True,
                            None,
                            patient_id=existing[3],
                        ),
                        created=False,
                        noop=True,
                    )
                )
                continue
            version = cur[0] + 1 if cur else 1
            content: str | None = None
            # A deletion stays in the compartment it left, so that access to the
            # tombstone in the history follows the patient as the versions before it.
            patient_id: str | None = cur[3] if cur else None
            deleted = op.method == "DELETE"
            if not deleted:
                assert op.resource is not None
                resource = op.resource
                resource["id"] = op.res_id
                meta = dict(resource.get("meta") or {})
                meta["versionId"] = str(version)
                meta["lastUpdated"] = stamp
                resource["meta"] = meta
                content = jsonio.dumps(resource).decode()
                if "\\u0000" in content:
                    # PostgreSQL cannot store NUL in text or JSONB; SQLite would, but one
                    # record must behave the same on both.
                    raise unprocessable(
                        [
                            Issue(
                                "error",
                                "value",
                                "text must not contain NUL characters",
                                op.res_type,
                            )
                        ]
                    )
                rows = extract(resource, self.store.registry)
                patient_id = self._patient_of(op.res_type, op.res_id, rows)
                _collect_index_rows(index_rows, op.res_type, op.res_id, rows)
            row = {
                "res_type": op.res_type,
                "res_id": op.res_id,
                "version": version,
                "last_updated": stamp,
                "seq": seq,
                "deleted": deleted,
                "patient_id": patient_id,
                "content": content,
            }
            if cur:
                updates.append(
                    (version, stamp, seq, deleted, patient_id, content, op.res_type, op.res_id)
                )
                stale.append((op.res_type, op.res_id))
            else:
                inserts.append(tuple(row.values()))
            history.append(
                (
                    seq,
                    op.res_type,
                    op.res_id,
                    version,
                    stamp,
                    op.method,
                    deleted,
                    patient_id,
                    content,
                )
            )
            results.append(
                WriteResult(
                    StoredResource(
                        op.res_type,
                        op.res_id,
                        version,
                        stamp,
                        deleted,
                        content,
                        op.method,
                        seq,
                        patient_id,
                    ),
                    created=cur is None or bool(cur[1]),
                )
            )
            current[key] = (version, deleted, stamp, patient_id)
        self._write_rows(pending)
        return results

    def _check_preconditions(
        self, op: WriteOp, cur: tuple[int, bool, str, str | None] | None
    ) -> None:
        if op.expected_version is not None:
            have = cur[0] if cur and not cur[1] else None
            if have != op.expected_version:
                raise precondition_failed(
                    f"{op.res_type}/{op.res_id} is at version {have or 'none'}, "
                    f"If-Match asked for {op.expected_version}"
                )
        if op.must_not_exist and cur is not None and not cur[1]:
            raise conflict(f"{op.res_type}/{op.res_id} already exists")

    def _current_versions(self, ops: Sequence[WriteOp]) -> dict[tuple[str, str], Any]:
        keys = [(op.res_type, op.res_id) for op in ops if op.method != "POST"]
        if not keys:
            return {}
        # FOR UPDATE locks nothing for a row that does not exist yet: two PUTs creating
        # the same id would both insert. The advisory lock makes the second one wait.
        self.lock_keys([f"{t}/{i}" for t, i in keys])
        found: dict[tuple[str, str], Any] = {}
        if len(keys) == 1:
            cursor = self._cursor()
            cursor.execute(self._sql("current"), keys[0])
            row = cursor.fetchone()
            if row is not None:
                found[keys[0]] = (row[0], bool(row[1]), row[2], row[3])
            return found
        # One query per type with ``res_id IN (...)``: SQLite scans the whole table for a
        # row-value ``(res_type, res_id) IN (VALUES ...)``, so bulk PUTs slowed down as the
        # table grew (7 s a batch at 100,000 resources; 0.35 s grouped by type).
        by_type: dict[str, list[str]] = {}
        for t, i in keys:
            by_type.setdefault(t, []).append(i)
        for res_type, ids in by_type.items():
            for chunk in _chunks(ids, 400):
                stmt = (
                    sa.select(
                        _R.c.res_id, _R.c.version, _R.c.deleted, _R.c.last_updated, _R.c.patient_id
                    )
                    .where(_R.c.res_type == res_type, _R.c.res_id.in_(chunk))
                    .with_for_update()
                )
                for i, v, d, lu, pid in self.conn.execute(stmt):
                    found[(res_type, i)] = (v, d, lu, pid)
        return found

    def _next_seqs(self, n: int) -> list[int]:
        cursor = self._cursor()
        cursor.execute(self._sql("seq"), (n,))
        if self.dialect == "postgresql":
            return [r[0] for r in cursor.fetchall()]
        last = cursor.fetchone()[0]
        return list(range(last - n + 1, last + 1))

    def _patient_of(self, res_type: str, res_id: str, rows: IndexRows) -> str | None:
        if res_type == "Patient":
            return res_id
        params = self.store.registry.patient_compartment(res_type)
        if not params:
            return None
        for param, target_type, target_id, _url in rows.reference:
            if target_type == "Patient" and param in params and target_id:
                return target_id
        return None

    def _write_rows(self, p: _Pending) -> None:
        small = max(len(p.inserts), len(p.history), *map(len, p.index_rows.values())) < _COPY_FROM
        if self.dialect == "postgresql" and small:
            # One round trip for the whole write instead of one per statement.
            driver = self.conn.connection.driver_connection
            with driver.pipeline():  # type: ignore[union-attr]
                self._write_statements(p)
            return
        self._write_statements(p)

    def _write_statements(self, p: _Pending) -> None:
        cursor = self._cursor()
        if p.stale:
            for kind in schema.INDEX_TABLES:
                cursor.executemany(self._sql(f"delete_{kind}"), p.stale)
        if p.updates:
            cursor.executemany(self._sql("update"), p.updates)
        self._bulk_insert(_R, _RESOURCE_COLUMNS, p.inserts)
        self._bulk_insert(_H, _HISTORY_COLUMNS, p.history)
        for kind, rows in p.index_rows.items():
            self._bulk_insert(schema.INDEX_TABLES[kind], _INDEX_COLUMNS[kind], rows)

    def _bulk_insert(
        self, table: sa.Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert tuples in ``columns`` order, bypassing per-row SQLAlchemy processing.

        PostgreSQL gets ``COPY`` for bundles (an order of magnitude faster than INSERT
        there) and a pipelined ``executemany`` for the few rows of a single write; SQLite
        gets one prepared INSERT run with ``executemany``.
        """
        if not rows:
            return
        cursor = self._cursor()
        if self.dialect == "postgresql" and len(rows) >= _COPY_FROM:
            names = ", ".join(columns)
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(_insert_sql(self.dialect, table.name, columns), rows)


@dataclass
class _Pending:
    """The rows one :meth:`SqlTransaction.apply_many` call writes, per table."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    stale: list[tuple[str, str]] = field(default_factory=list)
    """(type, id) whose old index rows go before the new ones are written."""
    index_rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {k: [] for k in schema.INDEX_TABLES}
    )


_COPY_FROM = 64
"""Rows from which COPY beats executemany on PostgreSQL."""


def _insert_sql(dialect: str, table: str, columns: tuple[str, ...]) -> str:
    mark = "?" if dialect == "sqlite" else "%s"
    marks = [
        "CAST(%s AS jsonb)" if dialect == "postgresql" and c == "content" else mark for c in columns
    ]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(marks)})"


def _dialect_sql(dialect: str) -> dict[str, str]:
    """The fixed statements of the write path, in the driver's placeholder style."""
    m = "?" if dialect == "sqlite" else "%s"
    content = m if dialect == "sqlite" else "CAST(%s AS jsonb)"
    out = {
        "current": f"SELECT version, deleted, last_updated, patient_id FROM resources "
        f"WHERE res_type = {m} AND res_id = {m}"
        + (" FOR UPDATE" if dialect == "postgresql" else ""),
        "seq": "UPDATE change_counter SET value = value + ? WHERE name = 'change' RETURNING value"
        if dialect == "sqlite"
        else "SELECT nextval('change_seq') FROM generate_series(1, %s)",
        "update": f"UPDATE resources SET version = {m}, last_updated = {m}, seq = {m}, "
        f"deleted = {m}, patient_id = {m}, content = {content} "
        f"WHERE res_type = {m} AND res_id = {m}",
    }
    for kind, table in schema.INDEX_TABLES.items():
        out[f"delete_{kind}"] = f"DELETE FROM {table.name} WHERE res_type = {m} AND res_id = {m}"
    return out


_SQL = {d: _dialect_sql(d) for d in ("sqlite", "postgresql")}


_RESOURCE_COLUMNS = (
    "res_type",
    "res_id",
    "version",
    "last_updated",
    "seq",
    "deleted",
    "patient_id",
    "content",
)
_HISTORY_COLUMNS = (
    "seq",
    "res_type",
    "res_id",
    "version",
    "last_updated",
    "method",
    "deleted",
    "patient_id",
    "content",
)
_INDEX_COLUMNS: dict[str, tuple[str, ...]] = {
    kind: tuple(c.name for c in table.columns) for kind, table in schema.INDEX_TABLES.items()
}


def _collect_index_rows(
    out: dict[str, list[tuple[Any, ...]]], res_type: str, res_id: str, rows: IndexRows
) -> None:
    for kind in _INDEX_COLUMNS:
        values = getattr(rows, kind)
        if values:
            out[kind].extend((res_type, res_id, *value) for value in values)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

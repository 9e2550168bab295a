"""The one relational schema, shared by SQLite and PostgreSQL.

``resources`` holds the current version of every resource (deleted ones as tombstones),
``resource_history`` every version, and one index table per search-parameter type holds
the values extracted from the *current* version (see ``search/extract.py``). All of them
are written in one transaction by ``store/sql.py``. Clinical rows carry ``patient_id``,
the patient compartment they belong to, so access filtering and distribution by patient
(Citus-style) need no redesign. Migrations live in ``store/migrations`` (Alembic).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import UserDefinedType

metadata = sa.MetaData()


class PgJsonbText(UserDefinedType[str]):
    """JSONB on PostgreSQL, handed in and out as *text*.

    The store never parses stored JSON to answer a read (it returns the text as it came),
    so values are bound as text and cast to JSONB, and selected back cast to TEXT.
    """

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "JSONB"

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.cast(bindvalue, JSONB)

    def column_expression(self, colexpr: Any) -> Any:
        return sa.cast(colexpr, sa.Text)


def _content_column(name: str, nullable: bool) -> sa.Column[Any]:
    return sa.Column(name, sa.Text().with_variant(PgJsonbText(), "postgresql"), nullable=nullable)


ID_LEN = 64
TYPE_LEN = 64

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("res_type", sa.String(TYPE_LEN), primary_key=True),
    sa.Column("res_id", sa.String(ID_LEN), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_updated", sa.String(40), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("patient_id", sa.String(ID_LEN)),
    _content_column("content", nullable=True),
    sa.Index("ix_resources_patient", "patient_id", "res_type"),
    sa.Index("ix_resources_type_seq", "res_type", "seq"),
)

resource_history = sa.Table(
    "resource_history",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("res_type", sa.String(TYPE_LEN), nullable=False),
    sa.Column("res_id", sa.String(ID_LEN), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("last_updated", sa.String(40), nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("patient_id", sa.String(ID_LEN)),
    _content_column("content", nullable=True),
    sa.UniqueConstraint("res_type", "res_id", "version", name="uq_history_version"),
    sa.Index("ix_history_type_seq", "res_type", "seq"),
)


def _index_table(
    name: str, *columns: sa.Column[Any], lookup: tuple[str, ...], covering: tuple[str, ...] = ()
) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("res_type", sa.String(TYPE_LEN), nullable=False),
        sa.Column("res_id", sa.String(ID_LEN), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        *columns,
        sa.Index(f"ix_{name}_owner", "res_type", "res_id"),
        # Covering: a criterion's subquery reads res_id from the index alone (0002).
        sa.Index(f"ix_{name}_lookup", "res_type", "param", *lookup, *covering),
    )


idx_string = _index_table(
    "idx_string",
    sa.Column("value", sa.String(512), nullable=False),
    sa.Column("exact", sa.String(512), nullable=False),
    lookup=("value",),
    covering=("res_id",),
)
idx_token = _index_table(
    "idx_token",
    sa.Column("system", sa.String(512)),
    sa.Column("code", sa.String(512)),
    sa.Column("text", sa.String(512)),
    lookup=("code", "system"),
    covering=("res_id",),
)
idx_reference = _index_table(
    "idx_reference",
    sa.Column("target_type", sa.String(TYPE_LEN)),
    sa.Column("target_id", sa.String(ID_LEN)),
    sa.Column("url", sa.String(1024)),
    lookup=("target_id", "target_type"),
)
sa.Index("ix_idx_reference_target", idx_reference.c.target_type, idx_reference.c.target_id)
idx_date = _index_table(
    "idx_date",
    sa.Column("low", sa.BigInteger, nullable=False),
    sa.Column("high", sa.BigInteger, nullable=False),
    lookup=("low", "high"),
    covering=("res_id",),
)
idx_number = _index_table(
    "idx_number",
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    lookup=("value",),
)
idx_quantity = _index_table(
    "idx_quantity",
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("high", sa.Float, nullable=False),
    sa.Column("system", sa.String(512)),
    sa.Column("code", sa.String(512)),
    sa.Column("unit", sa.String(512)),
    lookup=("value",),
)
idx_uri = _index_table(
    "idx_uri", sa.Column("value", sa.String(1024), nullable=False), lookup=("value",)
)
idx_composite = _index_table(
    "idx_composite",
    sa.Column("c1_system", sa.String(512)),
    sa.Column("c1_code", sa.String(512)),
    sa.Column("c2_system", sa.String(512)),
    sa.Column("c2_code", sa.String(512)),
    sa.Column("c2_number", sa.Float),
    sa.Column("c2_low", sa.BigInteger),
    sa.Column("c2_high", sa.BigInteger),
    lookup=("c1_code", "c2_code"),
)

INDEX_TABLES: dict[str, sa.Table] = {
    "string": idx_string,
    "token": idx_token,
    "reference": idx_reference,
    "date": idx_date,
    "number": idx_number,
    "quantity": idx_quantity,
    "uri": idx_uri,
    "composite": idx_composite,
}

change_counter = sa.Table(
    "change_counter",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""SQLite's change sequence (one writer, so a counter row suffices). PostgreSQL uses the
SEQUENCE ``change_seq`` instead, which takes no row lock."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("recorded", sa.String(40), nullable=False),
    sa.Column("patient_id", sa.String(ID_LEN)),
    sa.Column("agent", sa.Text, nullable=False),
    sa.Column("action", sa.String(8), nullable=False),
    sa.Column("outcome", sa.String(8), nullable=False),
    # Text on both backends, never JSONB: the hash covers these exact bytes.
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_log_patient", "patient_id", "seq"),
    sa.Index("ix_audit_log_recorded", "recorded"),
)
"""The append-only, hash-chained AuditEvent log (``audit/log.py``; triggers in 0003)."""

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
"""One row: the last seq and hash of ``audit_log``, moved in the appending transaction."""

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("sender", sa.String(ID_LEN + 16), nullable=False),
    sa.Column("recipient", sa.String(ID_LEN + 16), nullable=False),
    sa.Column("patient_id", sa.String(ID_LEN)),
    sa.Column("focus", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("updated", sa.BigInteger, nullable=False),
    sa.Column("next_attempt", sa.BigInteger, nullable=False),
    sa.Column("sent", sa.BigInteger),
    sa.Column("delivered", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("receipt", sa.Text),
    sa.Index("ix_outbox_due", "state", "next_attempt"),
    sa.Index("ix_outbox_sender", "sender", "state"),
    sa.Index("ix_outbox_recipient", "recipient", "state"),
    sa.Index("ix_outbox_patient", "patient_id"),
    sa.Index("ix_outbox_created", "created"),
)
"""The transactional outbox: one row per message and recipient, written in the
transaction of the clinical change that sends it; moved through queued → sent →
delivered | failed by the delivery worker (``workflows/outbox.py``). Times in µs."""

SCHEMA_REVISION = "0005"
"""The Alembic head this code expects; the server refuses to start on any other."""

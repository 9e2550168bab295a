"""Initial schema: resources, history, search index tables, change sequence.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:25:09.319458
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "idx_composite",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("c1_system", sa.String(length=512), nullable=True),
        sa.Column("c1_code", sa.String(length=512), nullable=True),
        sa.Column("c2_system", sa.String(length=512), nullable=True),
        sa.Column("c2_code", sa.String(length=512), nullable=True),
        sa.Column("c2_number", sa.Float(), nullable=True),
        sa.Column("c2_low", sa.BigInteger(), nullable=True),
        sa.Column("c2_high", sa.BigInteger(), nullable=True),
    )
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_composite_lookup", ["res_type", "param", "c1_code", "c2_code"], unique=False
        )
        batch_op.create_index("ix_idx_composite_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_date",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("low", sa.BigInteger(), nullable=False),
        sa.Column("high", sa.BigInteger(), nullable=False),
    )
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_date_lookup", ["res_type", "param", "low", "high"], unique=False
        )
        batch_op.create_index("ix_idx_date_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_number",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
    )
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.create_index("ix_idx_number_lookup", ["res_type", "param", "value"], unique=False)
        batch_op.create_index("ix_idx_number_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_quantity",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("system", sa.String(length=512), nullable=True),
        sa.Column("code", sa.String(length=512), nullable=True),
        sa.Column("unit", sa.String(length=512), nullable=True),
    )
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_quantity_lookup", ["res_type", "param", "value"], unique=False
        )
        batch_op.create_index("ix_idx_quantity_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_reference",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=1024), nullable=True),
    )
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_reference_lookup",
            ["res_type", "param", "target_id", "target_type"],
            unique=False,
        )
        batch_op.create_index("ix_idx_reference_owner", ["res_type", "res_id"], unique=False)
        batch_op.create_index("ix_idx_reference_target", ["target_type", "target_id"], unique=False)

    op.create_table(
        "idx_string",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("exact", sa.String(length=512), nullable=False),
    )
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.create_index("ix_idx_string_lookup", ["res_type", "param", "value"], unique=False)
        batch_op.create_index("ix_idx_string_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_token",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("system", sa.String(length=512), nullable=True),
        sa.Column("code", sa.String(length=512), nullable=True),
        sa.Column("text", sa.String(length=512), nullable=True),
    )
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_token_lookup", ["res_type", "param", "code", "system"], unique=False
        )
        batch_op.create_index("ix_idx_token_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "idx_uri",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
    )
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.create_index("ix_idx_uri_lookup", ["res_type", "param", "value"], unique=False)
        batch_op.create_index("ix_idx_uri_owner", ["res_type", "res_id"], unique=False)

    op.create_table(
        "resource_history",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column(
            "content", sa.Text().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("res_type", "res_id", "version", name="uq_history_version"),
    )
    with op.batch_alter_table("resource_history", schema=None) as batch_op:
        batch_op.create_index("ix_history_type_seq", ["res_type", "seq"], unique=False)

    op.create_table(
        "resources",
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("res_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column(
            "content", sa.Text().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("res_type", "res_id"),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index("ix_resources_patient", ["patient_id", "res_type"], unique=False)
        batch_op.create_index("ix_resources_type_seq", ["res_type", "seq"], unique=False)

    op.execute("INSERT INTO change_counter (name, value) VALUES ('change', 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE change_seq")
        # LIKE 'prefix%' can only use a btree index with pattern ops (or the C collation).
        op.execute(
            "CREATE INDEX ix_idx_string_prefix ON idx_string "
            "(res_type, param, value varchar_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_idx_string_prefix")
        op.execute("DROP SEQUENCE change_seq")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resources_type_seq")
        batch_op.drop_index("ix_resources_patient")

    op.drop_table("resources")
    with op.batch_alter_table("resource_history", schema=None) as batch_op:
        batch_op.drop_index("ix_history_type_seq")

    op.drop_table("resource_history")
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_uri_owner")
        batch_op.drop_index("ix_idx_uri_lookup")

    op.drop_table("idx_uri")
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_token_owner")
        batch_op.drop_index("ix_idx_token_lookup")

    op.drop_table("idx_token")
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_string_owner")
        batch_op.drop_index("ix_idx_string_lookup")

    op.drop_table("idx_string")
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_reference_target")
        batch_op.drop_index("ix_idx_reference_owner")
        batch_op.drop_index("ix_idx_reference_lookup")

    op.drop_table("idx_reference")
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_quantity_owner")
        batch_op.drop_index("ix_idx_quantity_lookup")

    op.drop_table("idx_quantity")
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_number_owner")
        batch_op.drop_index("ix_idx_number_lookup")

    op.drop_table("idx_number")
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_date_owner")
        batch_op.drop_index("ix_idx_date_lookup")

    op.drop_table("idx_date")
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_composite_owner")
        batch_op.drop_index("ix_idx_composite_lookup")

    op.drop_table("idx_composite")
    op.drop_table("change_counter")

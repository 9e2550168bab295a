"""The reference lookup index without res_id again.

0002 made every lookup index covering. For ``idx_reference`` that misled SQLite (which
keeps no statistics): joining the table by (res_type, res_id) — ``$everything``'s
referenced resources, ``_include`` — it preferred the covering lookup index, usable only
by its res_type prefix, over the owner index, and ``$everything`` of the largest patient
went from 65 ms to 28 s. References are looked up by target, where the lookup index is
selective enough without covering.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_NAME = "ix_idx_reference_lookup"
_COLUMNS = ["res_type", "param", "target_id", "target_type"]


def upgrade() -> None:
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.drop_index(_NAME)
        batch_op.create_index(_NAME, _COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.drop_index(_NAME)
        batch_op.create_index(_NAME, [*_COLUMNS, "res_id"], unique=False)

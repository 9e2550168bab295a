"""The transactional outbox (``workflows/outbox.py``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(80), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("patient_id", sa.String(64)),
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
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt"])
    op.create_index("ix_outbox_sender", "outbox", ["sender", "state"])
    op.create_index("ix_outbox_recipient", "outbox", ["recipient", "state"])
    op.create_index("ix_outbox_patient", "outbox", ["patient_id"])
    op.create_index("ix_outbox_created", "outbox", ["created"])


def downgrade() -> None:
    op.drop_table("outbox")

"""Alembic environment: runs migrations on the connection the CLI hands over."""

from __future__ import annotations

from alembic import context

from fellesjournal.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `fellesjournal db upgrade`")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

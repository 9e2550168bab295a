"""Schema migrations (Alembic), run by ``fellesjournal db upgrade``.

The server checks the database's revision at start-up and refuses to run on a schema it
does not know (:func:`check_current`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from fellesjournal.store.schema import SCHEMA_REVISION

_SCRIPTS = Path(__file__).with_name("migrations")


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (idempotent)."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


class SchemaMismatch(RuntimeError):
    """The database is not at the schema revision this code was written for."""


def check_current(engine: sa.Engine) -> None:
    """Raise :class:`SchemaMismatch` unless the database is at this code's head revision."""
    have = current_revision(engine)
    if have != SCHEMA_REVISION:
        raise SchemaMismatch(
            f"database schema is at revision {have or 'none'}, this version needs "
            f"{SCHEMA_REVISION}: run `fellesjournal db upgrade`"
        )

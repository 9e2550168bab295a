"""Engines for the two backends; every dialect difference in connection set-up lives here.

SQLite: WAL, ``synchronous=FULL`` (an acknowledged write survives a crash), foreign keys
on, one writer (``BEGIN IMMEDIATE``; writers queue in ``group_commit.py`` rather than
spinning on ``SQLITE_BUSY``). PostgreSQL: psycopg 3 with a connection pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

WRITE_OPTION = "fellesjournal_write"


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; SQLite paths get their folder created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


def create_engine(url: str, *, pool_size: int = 8) -> sa.Engine:
    """An Engine configured for Fellesjournal's transaction discipline on either backend."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool_size)
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        insertmanyvalues_page_size=1000,
        # PostgreSQL's JIT compiles a query whose cost estimate is high; the access
        # filter's many subqueries make every queue search look expensive, and the
        # compilation cost a unit's queue of 10,000 items 48 s instead of 0.85 s
        # (docs/benchmarks.md). Our queries are short: never worth compiling.
        connect_args={"options": "-c jit=off"},
    )


def _sqlite_engine(url: str, pool_size: int) -> sa.Engine:
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        pool_size=pool_size,
        max_overflow=pool_size,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, below, decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-524288")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine

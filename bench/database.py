"""The benchmark's own, fresh database: a SQLite file in a temporary folder, or a new
PostgreSQL database created for the run and dropped after it (unless ``--keep``).

A PostgreSQL database that already exists is never dropped unless ``--replace`` says so.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a ``FELLESJOURNAL_DATABASE_URL`` (psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@dataclass
class BenchDatabase:
    """Context manager: a folder for the run and an empty database named by :attr:`url`."""

    requested_url: str | None = None
    keep: bool = False
    replace: bool = False
    folder: Path | None = None
    url: str = ""

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def __enter__(self) -> BenchDatabase:
        self.folder = Path(tempfile.mkdtemp(prefix="fj-bench-"))
        if self.requested_url is None:
            self.url = f"sqlite:///{self.folder / 'fellesjournal.db'}"
        elif self.requested_url.startswith("sqlite"):
            path = make_url(self.requested_url).database
            if path and Path(path).exists():
                shutil.rmtree(self.folder, ignore_errors=True)
                raise SystemExit(f"{path} exists: the benchmark needs a new database file")
            self.url = self.requested_url
        else:
            self.url = self.requested_url
            try:
                self._create_postgres()
            except BaseException:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.keep:
            print(f"kept {self.folder} and {self.url}", flush=True)
            return
        if self.backend == "postgresql":
            self._drop_postgres()
        elif self.requested_url is not None:
            path = make_url(self.url).database
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- PostgreSQL ------------------------------------------------------------------------

    def _admin(self) -> tuple[sa.Engine, str]:
        parsed = make_url(engine_url(self.url))
        name = parsed.database
        if not name:
            raise SystemExit("the PostgreSQL URL must name the database to create")
        admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        return admin, name

    def _create_postgres(self) -> None:
        admin, name = self._admin()
        try:
            with admin.connect() as conn:
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                ).first()
                if exists and not self.replace:
                    raise SystemExit(
                        f"database {name} exists; pass --replace to drop and "
                        "recreate it, or name another"
                    )
                quoted = conn.dialect.identifier_preparer.quote(name)
                if exists:
                    conn.execute(sa.text(f"DROP DATABASE {quoted} WITH (FORCE)"))
                conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
        finally:
            admin.dispose()

    def _drop_postgres(self) -> None:
        admin, name = self._admin()
        try:
            with admin.connect() as conn:
                quoted = conn.dialect.identifier_preparer.quote(name)
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        finally:
            admin.dispose()

    # -- questions about the data ----------------------------------------------------------

    def largest_patient(self) -> tuple[str, int]:
        """The patient with the most resources in its compartment, and that number."""
        engine = sa.create_engine(engine_url(self.url))
        try:
            with engine.connect() as conn:
                row = conn.execute(
                    sa.text(
                        "SELECT patient_id, COUNT(*) FROM resources WHERE patient_id IS NOT NULL "
                        "AND NOT deleted GROUP BY patient_id ORDER BY 2 DESC, 1 LIMIT 1"
                    )
                ).one()
                return str(row[0]), int(row[1])
        finally:
            engine.dispose()

    def server_version(self) -> str:
        """SQLite's library version, or PostgreSQL's ``server_version``."""
        engine = sa.create_engine(engine_url(self.url))
        try:
            with engine.connect() as conn:
                if self.backend == "sqlite":
                    return "SQLite " + str(
                        conn.execute(sa.text("SELECT sqlite_version()")).scalar_one()
                    )
                return "PostgreSQL " + str(
                    conn.execute(sa.text("SHOW server_version")).scalar_one()
                )
        finally:
            engine.dispose()

"""Shared fixtures: one backend per run (``FELLESJOURNAL_TEST_BACKEND``), real databases.

``make test`` runs the suite once on SQLite and once on PostgreSQL. On PostgreSQL every
xdist worker gets a database of its own, created fresh; if PostgreSQL cannot be reached
the run fails (it is never silently skipped).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from fellesjournal.access.actor import Actor
from fellesjournal.app import create_app
from fellesjournal.audit.sink import AuditSink
from fellesjournal.auth.tokens import issue_system_token
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.engine import create_engine
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore

BACKEND = os.environ.get("FELLESJOURNAL_TEST_BACKEND", "sqlite")
PG_URL = os.environ.get(
    "FELLESJOURNAL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SHARED = Path(
    os.environ.get("FELLESJOURNAL_SHARED", Path(__file__).resolve().parents[2] / "shared")
)


def shared_path(*parts: str) -> Path:
    """A path in the third-party test data; the test is skipped when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"test data not found: {path}")
    return path


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _fresh_pg_database(name: str) -> str:
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {PG_URL}: {exc}", returncode=3)
    finally:
        admin.dispose()
    base, _, _db = PG_URL.rpartition("/")
    return f"{base}/{name}"


def fresh_database_url(tmp: Path, label: str) -> str:
    """A new, empty database on the backend under test.

    PostgreSQL databases are named by label, xdist worker and process, so that two test
    runs on one machine never drop each other's database; they are dropped at exit.
    """
    if BACKEND == "postgresql":
        name = f"fj_{label}_{_worker()}_{os.getpid()}".lower()
        url = _fresh_pg_database(name)
        atexit.register(_drop_pg_database, name)
        return url
    return f"sqlite:///{tmp / (label + '.db')}"


def _drop_pg_database(name: str) -> None:
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except sa.exc.SQLAlchemyError:
        pass  # best effort: a leftover test database harms nothing
    finally:
        admin.dispose()


def make_settings(url: str, data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "data_dir": data_dir,
        "secret_key": "test-secret",
        "allow_test_identities": True,
        "db_pool_size": 4,
        "worker_interval_s": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fj")


@pytest.fixture(scope="session")
def settings(session_dir: Path) -> Settings:
    url = fresh_database_url(session_dir, "suite")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return make_settings(url, session_dir)


@pytest.fixture(scope="session")
def store(settings: Settings) -> Iterator[SqlStore]:
    s = SqlStore.from_settings(settings)
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings, store: SqlStore):  # type: ignore[no-untyped-def]
    application = create_app(settings, store=store)
    _SINKS[id(store)] = application.state.audit_sink
    return application


_SINKS: dict[int, AuditSink] = {}


def settle_audit(store: SqlStore) -> None:
    """Wait until the events of reads served by the app on ``store`` are in the log: the
    app commits them in batches a few milliseconds after answering (``audit/sink.py``).
    Call before reading the log directly."""
    sink = _SINKS.get(id(store))
    if sink is not None:
        sink.drain()


@pytest.fixture(scope="session")
def system_token(settings: Settings) -> str:
    return issue_system_token(settings, ttl=6 * 3600)


@pytest.fixture()
def client(app, system_token: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        c.headers.update(
            {"Authorization": f"Bearer {system_token}", "Accept": "application/fhir+json"}
        )
        yield c


@pytest.fixture()
def anon_client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture()
def repo(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor("system", "test", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))

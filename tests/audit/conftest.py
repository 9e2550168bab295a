"""An empty audit log per test: the log is one chain per database, and the tamper tests
break it on purpose. One migrated database per module; before each test the audit
migration is taken down and up again (which also keeps the downgrade working)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from fellesjournal.audit import log
from fellesjournal.audit.events import OBJECT_ROLE
from fellesjournal.store import migrate
from fellesjournal.store.engine import create_engine
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url


@pytest.fixture(scope="module")
def _module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    url = fresh_database_url(tmp_path_factory.mktemp("audit"), "auditlog")
    engine = create_engine(url, pool_size=4)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    yield store
    store.dispose()


@pytest.fixture()
def log_store(_module_store: SqlStore) -> SqlStore:
    _module_store.engine.dispose()  # no pooled connection holds the old tables
    with _module_store.engine.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
        command.upgrade(cfg, "head")
    return _module_store


def access_event(
    patient: str | None,
    *,
    who: str = "Practitioner/hpr-9144897",
    action: str = "R",
    outcome: str = "0",
    recorded: str = "2026-03-01T08:00:00.000Z",
    note: str = "",
) -> dict[str, Any]:
    """A read of a patient's record by a practitioner, as the chokepoint will write it."""
    entities = []
    if patient is not None:
        entities.append(
            {
                "what": {"reference": f"Patient/{patient}"},
                "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
            }
        )
    return {
        "resourceType": "AuditEvent",
        "type": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
        "action": action,
        "recorded": recorded,
        "outcome": outcome,
        "outcomeDesc": note,
        "agent": [{"who": {"reference": who}, "requestor": True}],
        "source": {"observer": {"display": "Fellesjournal"}},
        "entity": entities,
    }


def fill(store: SqlStore, n: int, patient: str = "p1") -> list[int]:
    """Append ``n`` events, one transaction each; return their seqs."""
    seqs: list[int] = []
    for i in range(n):
        with store.transaction() as tx:
            seqs += log.append(tx, [access_event(patient, note=f"event {i}")])
    return seqs


def drop_guards(store: SqlStore) -> None:
    """What an attacker with the database owner's rights does first."""
    with store.engine.begin() as conn:
        if store.dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.exec_driver_sql("ALTER TABLE audit_head DISABLE TRIGGER USER")
            return
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit_%'"
        ).scalars()
        for name in list(names):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")


def raw(store: SqlStore, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Run SQL straight on the database (named ``:params``), committed."""
    with store.engine.begin() as conn:
        return conn.execute(sa.text(sql), params or {})

"""The workflow tests' world: the region seeded in a database of its own, the app on it,
tokens for its staff, patients with a fastlege, and the invariant checked after each test.

Every test in this package ends with :func:`fellesjournal.workflows.queues.check` (what
``fellesjournal queues check`` runs) over the whole database: a workflow that leaves an
orphan work item fails the test that made it. A test that breaks the invariant on
purpose uses :func:`isolated` (a database of its own) instead of ``world``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from fellesjournal.access.actor import Actor
from fellesjournal.app import create_app
from fellesjournal.auth.issuer import issue_practitioner_token, issue_system_token
from fellesjournal.demo.identity import person_number
from fellesjournal.norway.identifiers import FNR_SYSTEM
from fellesjournal.region.model import Staff
from fellesjournal.region.options import seed_region
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.engine import create_engine
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import delivery, queues
from tests.conftest import BACKEND, PG_URL, fresh_database_url, make_settings

REGION = build_region()
_SERIAL = itertools.count()
FHIR_JSON = "application/fhir+json"


def staff(unit_id: str, role: str = "doctor") -> Staff:
    """The first staff member of ``unit_id`` in ``role``."""
    for unit in REGION.units():
        if unit.id == unit_id:
            for s in unit.staff:
                if s.role == role:
                    return s
    raise LookupError(f"no {role} at {unit_id}")


@dataclass
class World:
    settings: Settings
    store: SqlStore
    app: Any
    repo: GuardedRepository  #: a system repository
    system: TestClient
    used: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=lambda: random.Random(6))
    _clients: dict[str, TestClient] = field(default_factory=dict)

    def as_staff(self, member: Staff) -> TestClient:
        """A client signed in as ``member`` in their work context."""
        if member.role_id not in self._clients:
            token = issue_practitioner_token(
                self.settings, member.hpr, member.role_id, member.practitioner_id, ttl=6 * 3600
            )
            c = TestClient(self.app, base_url="http://testserver")
            c.headers.update({"Authorization": f"Bearer {token}", "Accept": FHIR_JSON})
            self._clients[member.role_id] = c
        return self._clients[member.role_id]

    def patient(self, *, gp: Staff | None = None, municipality: str = "5001") -> str:
        """A new patient (test fødselsnummer) living in ``municipality``, with ``gp`` as
        fastlege when given; the id."""
        born = dt.date(1950, 1, 1) + dt.timedelta(days=self.rng.randrange(25_000))
        fnr = person_number(born, self.rng.random() < 0.5, self.rng, self.used)
        body: dict[str, Any] = {
            "resourceType": "Patient",
            "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
            "name": [{"family": "Testesen", "given": ["Kari"]}],
            "birthDate": born.isoformat(),
            "address": [
                {
                    "line": ["Testveien 1"],
                    "postalCode": "7010",
                    "city": "Trondheim",
                    "district": municipality,
                }
            ],
        }
        if gp is not None:
            body["generalPractitioner"] = [{"reference": f"PractitionerRole/{gp.role_id}"}]
        r = self.system.post("/fhir/Patient", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def read(self, reference: str) -> dict[str, Any]:
        r = self.system.get(f"/fhir/{reference}")
        assert r.status_code == 200, r.text
        return dict(r.json())

    def tasks(self, **params: str) -> list[dict[str, Any]]:
        """Work items matching a Task search (as the system sees them)."""
        r = self.system.get("/fhir/Task", params={"_count": "500", **params})
        assert r.status_code == 200, r.text
        return [e["resource"] for e in r.json().get("entry", ())]

    def deliver(self, client: Any = None, now: dt.datetime | None = None) -> delivery.RoundStats:
        """One round of the delivery worker."""
        return delivery.deliver_due(
            delivery.worker_repository(self.store, self.settings), client, now=now
        )

    def violations(self) -> list[queues.Violation]:
        return queues.check(self.repo)


def _seeded_template(tmp: Path) -> str:
    """A database with the region seeded, to copy for each world (seeding takes ~20 s on
    PostgreSQL; a copy well under a second)."""
    url = fresh_database_url(tmp, "wf_template")
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = make_settings(url, tmp)
    store = SqlStore.from_settings(settings)
    repo = GuardedRepository(
        store,
        settings,
        RequestContext(actor=Actor("system", "workflow-test", scopes=("system/*.*",))),
    )
    seed_region(repo)
    store.dispose()
    return url


def _copy(template: str, tmp: Path, label: str) -> str:
    if BACKEND == "postgresql":
        url = fresh_database_url(tmp, label)  # registers the drop at exit
        name = url.rsplit("/", 1)[1]
        source = template.rsplit("/", 1)[1]
        admin = sa.create_engine(
            PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        admin.dispose()
        return url
    source_path = Path(template.removeprefix("sqlite:///"))
    target = tmp / f"{label}.db"
    with sqlite3.connect(source_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source_path, target)
    return f"sqlite:///{target}"


def _world(template: str, tmp: Path, label: str) -> Iterator[World]:
    url = _copy(template, tmp, label)
    settings = make_settings(url, tmp)
    store = SqlStore.from_settings(settings)
    repo = GuardedRepository(
        store,
        settings,
        RequestContext(actor=Actor("system", "workflow-test", scopes=("system/*.*",))),
    )
    app = create_app(settings, store=store)
    token = issue_system_token(settings, ttl=6 * 3600)
    with TestClient(app, base_url="http://testserver") as system:
        system.headers.update({"Authorization": f"Bearer {token}", "Accept": FHIR_JSON})
        yield World(settings, store, app, repo, system)
    store.dispose()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _seeded_template(tmp_path_factory.mktemp("wf_template"))


@pytest.fixture(scope="session")
def world(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared workflow world (one per xdist worker)."""
    yield from _world(_template, tmp_path_factory.mktemp("workflows"), "workflows")


@pytest.fixture()
def isolated(_template: str, tmp_path: Path) -> Iterator[World]:
    """A world of its own, for tests that break the invariant on purpose."""
    yield from _world(_template, tmp_path, f"isolated_{next(_SERIAL)}")


@pytest.fixture(autouse=True)
def _invariant_holds(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used ``world``: ``fellesjournal queues check`` is clean."""
    yield
    if "world" in request.fixturenames:
        w: World = request.getfixturevalue("world")
        found = w.violations()
        assert not found, "work-item invariant broken:\n" + "\n".join(map(str, found))

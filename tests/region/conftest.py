"""A database of the region's own: seeded once per session, joined into by the tests.

The suite's shared database is not used: joining changes a municipality for good, and
other tests (the demo population) seed the region there and expect the seed's options.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fellesjournal.access.actor import Actor
from fellesjournal.region.options import seed_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.engine import create_engine
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings


@dataclass
class Seeded:
    settings: Settings
    repo: GuardedRepository
    written: int
    seconds: float


def _database(tmp: Path, label: str) -> Settings:
    url = fresh_database_url(tmp, label)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return make_settings(url, tmp, allow_test_identities=False)


def _repo(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor("system", "region-test", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """A fresh database with the region written once (and the time that took)."""
    settings = _database(tmp_path_factory.mktemp("region"), "region")
    store = SqlStore.from_settings(settings)
    repo = _repo(store, settings)
    started = time.perf_counter()
    written = seed_region(repo)
    yield Seeded(settings, repo, written, time.perf_counter() - started)
    store.dispose()


@pytest.fixture(scope="session")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, GuardedRepository]]:
    """A fresh, migrated database without the region."""
    settings = _database(tmp_path_factory.mktemp("region-empty"), "region_empty")
    store = SqlStore.from_settings(settings)
    yield settings, _repo(store, settings)
    store.dispose()

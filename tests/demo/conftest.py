"""Shared fixtures for the demo population tests: the region and one generated population."""

from __future__ import annotations

import datetime

import pytest

from fellesjournal.demo.population import PatientRecord, generate
from fellesjournal.region.model import Region
from fellesjournal.region.seed import build_region

TODAY = datetime.date(2026, 11, 25)
#: Big enough to hold every kind of person at least once (duplicates are ~0.3 %).
SIZE = 2000


@pytest.fixture(scope="session")
def region() -> Region:
    return build_region()


@pytest.fixture(scope="session")
def population(region: Region) -> list[PatientRecord]:
    return list(generate(region, 1, SIZE, TODAY))


@pytest.fixture(scope="session")
def resources(population: list[PatientRecord]) -> list[dict]:  # type: ignore[type-arg]
    return [res for record in population for res in record.resources]

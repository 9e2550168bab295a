"""Review tests get a database per module, and each test a time window of its own.

The review scans the whole log from ``since`` on, so these tests keep out of the suite
database (where a far-off window would show up in other tests' reviews). Within a
module the log grows from test to test: every test records its events in a fresh
window (:class:`Window`, later than every earlier test's) and asks from its start, and
its patients and practitioners have fresh ids.
"""

from __future__ import annotations

import datetime
import itertools
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
from fellesjournal.access.context import CitizenContext, WorkContext
from fellesjournal.audit import events, log
from fellesjournal.fhir.instants import format_instant
from fellesjournal.norway.confidentiality import grading_extension
from fellesjournal.norway.identifiers import FNR_SYSTEM, HPR_SYSTEM
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.engine import create_engine
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings

_windows = itertools.count()
_START = datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC)


class Window:
    """Instants no earlier test used: ``since`` is the start, ``at(k)`` k seconds in."""

    def __init__(self) -> None:
        self.start = _START + datetime.timedelta(days=next(_windows))

    @property
    def since(self) -> str:
        return format_instant(self.start)

    def at(self, seconds: int) -> str:
        return format_instant(self.start + datetime.timedelta(seconds=seconds))


@pytest.fixture()
def window() -> Window:
    return Window()


@pytest.fixture(scope="module")
def review_settings(tmp_path_factory: pytest.TempPathFactory, request: Any) -> Settings:
    directory: Path = tmp_path_factory.mktemp("review")
    label = "rv_" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")[:20]
    url = fresh_database_url(directory, label)
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return make_settings(url, directory)


@pytest.fixture(scope="module")
def review_store(review_settings: Settings) -> Iterator[SqlStore]:
    store = SqlStore.from_settings(review_settings)
    yield store
    store.dispose()


def repo_for(store: SqlStore, settings: Settings, actor: Actor) -> GuardedRepository:
    return GuardedRepository(store, settings, RequestContext(actor=actor))


@pytest.fixture()
def system_repo(review_store: SqlStore, review_settings: Settings) -> GuardedRepository:
    actor = Actor(
        "system", "test", scopes=("system/*.*",), claims={"fj_permissions": [PROTECTED_ADDRESSES]}
    )
    return repo_for(review_store, review_settings, actor)


# ----------------------------------------------------------------------------- people


def fresh(prefix: str) -> str:
    """A fresh id; for ``hpr`` a Practitioner id ``hpr-{HPR-nummer}`` (9 digits, below
    the region's synthetic range)."""
    if prefix == "hpr":
        return f"hpr-{800_000_000 + uuid.uuid4().int % 100_000_000}"
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def practitioner_actor(
    practitioner_id: str, name: str = "Kari Lege", role: str = "doctor"
) -> Actor:
    """A health worker in a work context, as the resolver attaches it."""
    hpr = practitioner_id.rsplit("-", 1)[-1]
    work = WorkContext(
        practitioner_id=practitioner_id,
        hpr=hpr,
        role_id=f"{practitioner_id}-role",
        unit_id="unit-ward",
        parents=("trust", "rhf"),
        role=role,
        practitioner_name=name,
        unit_name="Sengepost",
        organization_name="Test HF",
    )
    return Actor("practitioner", hpr, scopes=("user/*.*",), work=work)


def citizen_actor(patient_id: str, fnr: str) -> Actor:
    citizen = CitizenContext(fnr=fnr, patient_id=patient_id)
    return Actor("patient", fnr, scopes=("patient/*.read",), citizen=citizen)


def system_actor() -> Actor:
    return Actor("system", "batch", scopes=("system/*.*",))


def address(line: str, postal: str, *, use: str | None = None, grade: str | None = None) -> Any:
    out: dict[str, Any] = {"line": [line], "postalCode": postal, "city": "Trondheim"}
    if use is not None:
        out["use"] = use
    if grade is not None:
        out["extension"] = [grading_extension(grade)]
    return out


def person(
    res_type: str,
    res_id: str,
    family: str,
    given: str = "Ola",
    *,
    fnr: str | None = None,
    birth: str | None = None,
    addresses: Sequence[Any] = (),
) -> dict[str, Any]:
    """A Patient or Practitioner with what the review rules look at."""
    identifiers = []
    if fnr is not None:
        identifiers.append({"system": FNR_SYSTEM, "value": fnr})
    if res_type == "Practitioner":
        identifiers.append({"system": HPR_SYSTEM, "value": res_id.rsplit("-", 1)[-1]})
    out: dict[str, Any] = {
        "resourceType": res_type,
        "id": res_id,
        "name": [{"family": family, "given": [given]}],
    }
    if identifiers:
        out["identifier"] = identifiers
    if birth is not None:
        out["birthDate"] = birth
    if addresses:
        out["address"] = list(addresses)
    return out


def access(
    actor: Actor,
    patient_id: str | None,
    recorded: str,
    *,
    basis: str = "encounter",
    outcome: str = events.SUCCESS,
) -> dict[str, Any]:
    """A read of the patient's record, shaped as the chokepoint writes it."""
    return events.access_event(
        actor,
        interaction="read",
        patient_id=patient_id,
        what=[f"Patient/{patient_id}/_history/1"] if patient_id else None,
        basis=basis,
        outcome=outcome,
        recorded=recorded,
    )


def record(store: SqlStore, *evs: dict[str, Any]) -> list[int]:
    """Append events in one transaction; their seqs."""
    with store.transaction() as tx:
        return log.append(tx, list(evs))

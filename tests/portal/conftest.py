"""The portal on its own database: the region and a small demo population, served in
process (Starlette's TestClient over HTTPS, so the Secure session cookie travels).

:class:`People` picks citizens from the seeded population by what the tests need (an
adult with released documents and results, a child under 16, a second adult), read
through a system repository as a test fixture, never through the portal.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.access.actor import PROTECTED_ADDRESSES, Actor
from fellesjournal.app import create_app
from fellesjournal.audit.log import events_for_patient
from fellesjournal.audit.sink import AuditSink
from fellesjournal.demo.seeder import seed_population, with_members
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import FNR_SYSTEM, birth_date
from fellesjournal.region.options import list_memberships, seed_region
from fellesjournal.region.seed import build_region
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from tests.conftest import fresh_database_url, make_settings

PATIENTS = 40
TODAY = datetime.datetime.now(datetime.UTC).date()
SYSTEM = Actor(
    "system", "test", scopes=("system/*.*",), claims={"fj_permissions": [PROTECTED_ADDRESSES]}
)


def system_repo(settings: Settings, store: SqlStore) -> GuardedRepository:
    return GuardedRepository(store, settings, RequestContext(actor=SYSTEM))


@pytest.fixture(scope="package")
def portal_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("portal")
    url = fresh_database_url(folder, "portal")
    settings = make_settings(url, folder, base_url="https://testserver")
    store = SqlStore.from_settings(settings)
    upgrade(store.engine)
    repo = system_repo(settings, store)
    seed_region(repo)
    members = {m.number for m in list_memberships(repo) if m.member}
    seed_population(
        repo, with_members(build_region(), members), patients=PATIENTS, seed=7, today=TODAY
    )
    store.dispose()
    return settings


@pytest.fixture(scope="package")
def portal_app(portal_settings: Settings) -> Iterator[Any]:
    yield create_app(portal_settings)


@pytest.fixture(scope="package")
def portal_store(portal_app: Any) -> SqlStore:
    store: SqlStore = portal_app.state.store
    return store


@pytest.fixture
def visitor(portal_app: Any) -> Iterator[TestClient]:
    """A fresh browser (own cookie jar) on the portal."""
    with TestClient(portal_app, base_url="https://testserver") as c:
        yield c


@dataclass(frozen=True)
class Person:
    patient_id: str
    fnr: str
    name: str
    born: datetime.date


def age(born: datetime.date) -> int:
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


class People:
    """The seeded population, read as a fixture through a system repository (sorted by
    id, whichever tests ran before)."""

    def __init__(self, settings: Settings, store: SqlStore, sink: AuditSink) -> None:
        self.repo = system_repo(settings, store)
        self.sink = sink
        found = self.repo.search("Patient", [("_count", "500")], audit=False)
        self.all: list[Person] = []
        for stored in found.matches:
            patient = jsonio.loads(stored.content or "{}")
            if patient.get("link"):
                continue  # merged away
            if not stored.res_id.startswith("pop"):
                # Only the seeded population (``pop{seed}-{k}``): the citizens other
                # tests create on the same database (tests/portal/acting.py) may hold a
                # fullmakt, which would make the sign-in ask whose record.
                continue
            fnr = next(
                (
                    i["value"]
                    for i in patient.get("identifier") or ()
                    if i.get("system") == FNR_SYSTEM
                ),
                None,
            )
            born = birth_date(fnr) if fnr else None
            if fnr and born:
                name = patient["name"][0]
                self.all.append(
                    Person(
                        stored.res_id,
                        fnr,
                        f"{' '.join(name.get('given', []))} {name['family']}",
                        born,
                    )
                )

        self.all.sort(key=lambda p: p.patient_id)

    def search(self, res_type: str, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = self.repo.search(res_type, [*items, ("_count", "500")], audit=False)
        return [jsonio.loads(s.content) for s in found.matches if s.content]

    def audit(self, person: Person, count: int = 200) -> list[dict[str, Any]]:
        """The newest AuditEvents about ``person`` (the audit log, not the resources)."""
        self.sink.drain()
        with self.repo.store.snapshot() as tx:
            return events_for_patient(tx, person.patient_id, count=count)

    def adults(self) -> list[Person]:
        return [p for p in self.all if age(p.born) >= 18]

    def child(self) -> Person:
        return next(p for p in self.all if 0 < age(p.born) < 16)

    def count(self, person: Person, res_type: str) -> int:
        return len(self.search(res_type, [("patient", f"Patient/{person.patient_id}")]))

    def richest(self) -> Person:
        """The adult with the most documents and lab reports."""
        return max(
            self.adults(),
            key=lambda p: (
                self.count(p, "DiagnosticReport") > 0,
                self.count(p, "DocumentReference"),
            ),
        )


@pytest.fixture(scope="package")
def people(portal_settings: Settings, portal_app: Any) -> People:
    return People(portal_settings, portal_app.state.store, portal_app.state.audit_sink)


def hidden_fields(form_html: str) -> dict[str, str]:
    return {
        k: html.unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form_html)
    }


def sign_in(client: TestClient, fnr: str, *, follow: bool = True) -> Any:
    """Sign in through the built-in ID-porten's page as the holder of ``fnr``; the
    response after the callback (followed to the page it leads to unless ``follow``)."""
    start = client.get("/portal/signin", follow_redirects=False)
    assert start.status_code == 303, start.text
    issuer = client.get(start.headers["location"])
    assert issuer.status_code == 200, issuer.text
    form = re.search(
        r'<form method="post" action="/auth/idporten/authorize" class="stack fnr">(.*?)</form>',
        issuer.text,
        re.S,
    )
    assert form is not None, issuer.text
    data = hidden_fields(form.group(1))
    data["fnr"] = fnr
    back = client.post("/auth/idporten/authorize", data=data, follow_redirects=False)
    assert back.status_code == 303, back.text
    return client.get(back.headers["location"], follow_redirects=follow)


def csrf_of(page_html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert found is not None
    return found.group(1)

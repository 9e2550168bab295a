"""The patient portal's demo citizens (``demo/portal.py``) and their records as
``fellesjournal demo seed`` writes them (``demo/portal_seed.py``), on a database of
their own: valid and unique numbers, the family's representations, the documents,
results and appointments in every release case, the referrals and the message thread
made by the workflows, the access log's entries, what Kari herself is shown, and that
seeding again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from fellesjournal.access.actor import Actor
from fellesjournal.demo.portal import (
    ALL_CITIZENS,
    DEMO_CITIZENS,
    EMMA,
    INGRID,
    JONAS,
    KARI,
    LARS,
    NINA,
    OLA,
    PER,
)
from fellesjournal.demo.portal_seed import (
    MARKER,
    MESSAGE,
    REFERRAL_RIGHT,
    REFERRAL_WAITING,
    PortalSummary,
    citizen_repository,
    seed_portal,
)
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import FNR_SYSTEM, birth_date, check, sex
from fellesjournal.region.options import seed_region
from fellesjournal.service.access_ops import audit_log_search
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store import schema
from fellesjournal.store.migrate import upgrade
from fellesjournal.store.sql import SqlStore
from fellesjournal.workflows import model, referral
from tests.conftest import fresh_database_url, make_settings

Resource = dict[str, Any]
WITHHOLD = "urn:oid:2.16.578.1.12.4.1.1.9603"
RELEASE = "https://fellesjournal.no/fhir/CodeSystem/result-release"
PROXY = "https://fellesjournal.no/fhir/CodeSystem/proxy-access"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
K = str(KARI.patient)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("portal_demo")
    settings = make_settings(fresh_database_url(folder, "portal_demo"), folder)
    store = SqlStore.from_settings(settings)
    upgrade(store.engine)
    repo = _system(store, settings)
    seed_region(repo)
    today = dt.datetime.now(dt.UTC).astimezone(referral.OSLO).date()
    summary = seed_portal(repo, today)
    yield {"store": store, "settings": settings, "summary": summary, "today": today}
    store.dispose()


def _system(store: SqlStore, settings: Settings) -> GuardedRepository:
    actor = Actor("system", "test", scopes=("system/*.*",))
    return GuardedRepository(store, settings, RequestContext(actor=actor))


@pytest.fixture
def system(world: dict[str, Any]) -> GuardedRepository:
    return _system(world["store"], world["settings"])


def read(repo: GuardedRepository, res_type: str, res_id: str) -> Resource:
    return dict(jsonio.loads(repo.read(res_type, res_id, audit=False).content or "{}"))


def search(repo: GuardedRepository, res_type: str, **params: str) -> list[Resource]:
    found = repo.search(res_type, [*params.items(), ("_count", "500")], audit=False)
    return [dict(jsonio.loads(s.content)) for s in found.matches if s.content]


def codes(resource: Resource, where: str, system: str) -> set[str]:
    return {
        str(c.get("code"))
        for c in (resource.get("meta") or {}).get(where) or ()
        if c.get("system") == system
    }


def age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# -- the citizens ---------------------------------------------------------------------------


def test_every_demo_number_is_a_valid_unique_test_number_matching_the_person() -> None:
    numbers = [c.fnr for c in ALL_CITIZENS]
    assert len(set(numbers)) == len(numbers)
    assert len({c.patient for c in ALL_CITIZENS if c.patient}) == len(
        [c for c in ALL_CITIZENS if c.patient]
    )
    for citizen in ALL_CITIZENS:
        assert check(FNR_SYSTEM, citizen.fnr, allow_test_identities=True) is None, citizen
        # A Tenor test number: production refuses it.
        assert check(FNR_SYSTEM, citizen.fnr) is not None
        assert birth_date(citizen.fnr) == citizen.birth_date
        assert citizen.note and "\n" not in citizen.note and len(citizen.note) < 120
    assert EMMA not in DEMO_CITIZENS and KARI in DEMO_CITIZENS and LARS in DEMO_CITIZENS


def test_the_ages_are_those_the_portal_demo_shows(world: dict[str, Any]) -> None:
    today = world["today"]
    assert 18 <= age(KARI.birth_date, today) < 67
    assert age(INGRID.birth_date, today) >= 80
    assert age(EMMA.birth_date, today) < 12
    assert 12 <= age(JONAS.birth_date, today) < 16
    assert age(LARS.birth_date, today) >= 16
    assert all(age(c.birth_date, today) >= 18 for c in (PER, OLA, NINA))


def test_the_patients_hold_the_numbers_and_who_has_no_record(system: GuardedRepository) -> None:
    for citizen in ALL_CITIZENS:
        if citizen.patient is None:
            continue
        patient = read(system, "Patient", citizen.patient)
        assert {"system": FNR_SYSTEM, "value": citizen.fnr} in [
            {"system": i["system"], "value": i["value"]} for i in patient["identifier"]
        ]
        assert patient["birthDate"] == citizen.birth_date.isoformat()
        assert patient["gender"] == sex(citizen.fnr)
        assert patient["name"][0]["text"] == citizen.name
    # Ola and Nina have no record of their own: they sign in only to act for Ingrid.
    for citizen in (OLA, NINA):
        assert citizen.patient is None
        assert not search(system, "Patient", identifier=f"{FNR_SYSTEM}|{citizen.fnr}")


# -- representations ------------------------------------------------------------------------


def _representations(repo: GuardedRepository, patient: str | None) -> dict[str, Resource]:
    """The patient's RelatedPersons by the proxy's number."""
    return {
        r["identifier"][0]["value"]: r
        for r in search(repo, "RelatedPerson", patient=f"Patient/{patient}")
    }


def test_kari_is_the_parent_of_emma_and_jonas(system: GuardedRepository) -> None:
    for child in (EMMA, JONAS):
        found = _representations(system, child.patient)
        related = found[KARI.fnr]
        assert related["active"] is True
        assert related["identifier"][0]["system"] == FNR_SYSTEM
        coding = related["relationship"][0]["coding"]
        assert {"system": PROXY, "code": "parent"} in coding
        assert any(
            c["system"] == "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
            and c["code"] == "PRN"
            for c in coding
        )
        assert related["period"]["start"] < dt.datetime.now(dt.UTC).isoformat()


def test_ingrid_has_given_fullmakt_at_each_level(system: GuardedRepository) -> None:
    found = _representations(system, INGRID.patient)
    levels = {
        fnr: next(c["code"] for c in r["relationship"][0]["coding"] if c["system"] == PROXY)
        for fnr, r in found.items()
    }
    assert levels == {
        KARI.fnr: "full",
        PER.fnr: "standard",
        OLA.fnr: "read-only",
        NINA.fnr: "communicate",
    }
    assert all(r["active"] is True and "end" not in r["period"] for r in found.values())


# -- Kari's record --------------------------------------------------------------------------


def test_kari_has_documents_in_every_release_case(system: GuardedRepository) -> None:
    now = dt.datetime.now(dt.UTC)

    def doc(key: str) -> Resource:
        return read(system, "DocumentReference", f"{K}-{key}")

    def loinc(res: Resource) -> str:
        return str(res["type"]["coding"][0]["code"])

    def signed(res: Resource) -> dt.datetime:
        return dt.datetime.fromisoformat(res["date"])

    shown = doc("discharge")
    assert loinc(shown) == "18842-5" and now - signed(shown) > dt.timedelta(hours=24)
    fresh = doc("discharge-today")
    assert loinc(fresh) == "18842-5"
    assert dt.timedelta(hours=1) < now - signed(fresh) < dt.timedelta(hours=24)
    assert loinc(doc("admission-note")) == "34117-2"
    assert loinc(doc("nursing-note")) == "34746-8"
    assert codes(doc("withheld-ffl"), "security", WITHHOLD) == {"NORN_FFL"}
    assert codes(doc("withheld-epo"), "security", WITHHOLD) == {"NORN_EPO"}
    assert codes(doc("sensitive"), "security", ACT_CODE) == {"PSY"}
    emma = read(system, "DocumentReference", f"{EMMA.patient}-withheld-from-parents")
    assert codes(emma, "security", WITHHOLD) == {"NORN_FORANS"}
    ingrid = read(system, "DocumentReference", f"{INGRID.patient}-sensitive")
    assert "PSY" in codes(ingrid, "security", ACT_CODE)


def test_kari_has_results_in_every_release_category(system: GuardedRepository) -> None:
    now = dt.datetime.now(dt.UTC)

    def report(key: str) -> tuple[set[str], float, Resource]:
        res = read(system, "DiagnosticReport", f"{K}-{key}")
        days = (now - dt.datetime.fromisoformat(res["issued"])).total_seconds() / 86400
        return codes(res, "tag", RELEASE), days, res

    tags, _, automatic = report("result-automatic")
    assert tags == {"automatic"} and automatic["result"]
    for ref in automatic["result"]:
        obs = read(system, "Observation", ref["reference"].split("/")[1])
        assert obs["category"][0]["coding"][0]["code"] == "laboratory"
    tags, days, released = report("result-released")
    assert tags == {"clinician", "released"} and days < 14
    assert released["extension"] == [
        {
            "url": "https://fellesjournal.no/fhir/StructureDefinition/release-comment",
            "valueString": "Stoffskiftet er godt regulert. Fortsett med samme dose Levaxin.",
        }
    ]
    tags, days, _ = report("result-recent")
    assert tags == {"clinician"} and 2 < days < 4
    tags, days, _ = report("result-14-days")
    assert tags == {"clinician"} and days > 14
    tags, days, _ = report("result-manual")
    assert tags == {"manual"} and days > 14
    tags, _, _ = report("result-never")
    assert tags == {"never"}


def test_kari_has_upcoming_and_past_appointments_with_the_unit(system: GuardedRepository) -> None:
    now = dt.datetime.now(dt.UTC)
    found = search(system, "Appointment", patient=f"Patient/{K}")
    upcoming = [a for a in found if dt.datetime.fromisoformat(a["start"]) > now]
    past = [a for a in found if dt.datetime.fromisoformat(a["start"]) <= now]
    assert len(upcoming) >= 3 and all(a["status"] == "booked" for a in upcoming)
    assert len(past) >= 2 and all(a["status"] == "fulfilled" for a in past)
    assert {f"{K}-appointment-gp", f"{K}-appointment-heart"} <= {a["id"] for a in upcoming}
    for appointment in found:
        actors = [p["actor"]["reference"] for p in appointment["participant"]]
        assert actors[0] == f"Patient/{K}" and actors[1].startswith("PractitionerRole/")
        # The unit's role exists (the region's staff), so the unit has the relation.
        read(system, "PractitionerRole", actors[1].split("/")[1])


def test_kari_has_the_record_the_portal_lists(system: GuardedRepository) -> None:
    pid = f"Patient/{K}"
    assert len(search(system, "Condition", patient=pid, **{"clinical-status": "active"})) >= 2
    assert len(search(system, "MedicationStatement", patient=pid, status="active")) >= 3
    assert search(system, "AllergyIntolerance", patient=pid)
    assert search(system, "Flag", patient=pid)
    assert len(search(system, "Immunization", patient=pid)) >= 2
    classes = {e["class"]["code"] for e in search(system, "Encounter", patient=pid)}
    assert {"IMP", "AMB", "EMER"} <= classes
    providers = {
        e["serviceProvider"]["reference"] for e in search(system, "Encounter", patient=pid)
    }
    assert "Organization/stolav-lunge-sengepost" in providers  # hospital
    assert "Organization/kommune-5059-fastlegekontor" in providers  # municipality
    assert search(system, "EpisodeOfCare", patient=f"Patient/{INGRID.patient}")  # home care


# -- made by the workflows ------------------------------------------------------------------


def test_the_referrals_one_with_a_right_and_a_deadline_one_waiting(
    system: GuardedRepository, world: dict[str, Any]
) -> None:
    assessed = read(system, "ServiceRequest", REFERRAL_RIGHT)
    found = referral.assessment_of(assessed)
    assert found is not None and found["outcome"]["code"] == referral.RIGHT
    assert dt.date.fromisoformat(found["deadline"]) > world["today"]
    waiting = search(
        system,
        "Task",
        focus=f"ServiceRequest/{REFERRAL_RIGHT}",
        code=f"{model.CODE_SYSTEM}|{model.WAITING_LIST}",
    )
    assert [t["status"] for t in waiting] == ["requested"]
    letters = [
        c
        for c in search(system, "Communication", patient=f"Patient/{K}")
        if c["category"][0]["coding"][0]["code"] == "vurderingsbrev"
        and c["recipient"] == [{"reference": f"Patient/{K}"}]
    ]
    assert len(letters) == 1
    pending = read(system, "ServiceRequest", REFERRAL_WAITING)
    assert referral.assessment_of(pending) is None and pending["status"] == "active"
    items = search(system, "Task", focus=f"ServiceRequest/{REFERRAL_WAITING}")
    assert [(t["code"]["coding"][0]["code"], t["status"]) for t in items] == [
        (model.REFERRAL_ASSESSMENT, "requested")
    ]


def test_the_message_thread_and_its_work_item(system: GuardedRepository) -> None:
    message = read(system, "Communication", MESSAGE)
    assert message["sender"] == {"reference": f"Patient/{K}"}
    assert message["recipient"] == [{"reference": "Organization/kommune-5059-fastlegekontor"}]
    answer = read(system, "Communication", MARKER)
    assert answer["inResponseTo"] == [{"reference": f"Communication/{MESSAGE}"}]
    assert answer["recipient"] == [{"reference": f"Patient/{K}"}]
    [item] = search(system, "Task", focus=f"Communication/{MESSAGE}")
    assert item["owner"] == {"reference": "Organization/kommune-5059-fastlegekontor"}
    assert item["status"] == "completed" and item["statusReason"]["text"]


def test_the_access_log_has_the_fastlege_and_a_break_the_glass(
    system: GuardedRepository, world: dict[str, Any]
) -> None:
    summary = world["summary"]
    assert isinstance(summary, PortalSummary) and summary.break_glass.startswith("Consent/")
    kari = citizen_repository(system, KARI)
    found = audit_log_search(kari, [("_count", "200")]).matches
    events = [jsonio.loads(s.content) for s in found if s.content]
    names = {
        str(agent.get("who", {}).get("display")) for e in events for agent in e.get("agent") or ()
    }
    assert {"Marit Myklebust", "Sondre Myklebust", "Jan Evensen"} <= names
    emergency = [
        e for e in events if any(c.get("code") == "break-the-glass" for c in e.get("subtype") or ())
    ]
    assert len(emergency) == 1


def test_kari_is_shown_what_the_release_rules_release(system: GuardedRepository) -> None:
    kari = citizen_repository(system, KARI)
    docs = {d["id"] for d in search(kari, "DocumentReference", patient=f"Patient/{K}")}
    assert {f"{K}-discharge", f"{K}-sensitive"} <= docs
    hidden = {"discharge-today", "admission-note", "nursing-note", "withheld-ffl", "withheld-epo"}
    assert not docs & {f"{K}-{key}" for key in hidden}
    reports = {r["id"] for r in search(kari, "DiagnosticReport", patient=f"Patient/{K}")}
    assert {f"{K}-result-{key}" for key in ("automatic", "released", "14-days")} <= reports
    assert not reports & {f"{K}-result-{key}" for key in ("recent", "manual", "never")}
    messages = {c["id"] for c in search(kari, "Communication", patient=f"Patient/{K}")}
    assert {MESSAGE, MARKER} <= messages
    with pytest.raises(FhirError):
        search(kari, "Task", patient=f"Patient/{K}")


# -- written once ---------------------------------------------------------------------------


def test_seeding_again_changes_nothing(system: GuardedRepository, world: dict[str, Any]) -> None:
    store: SqlStore = world["store"]

    def counts() -> tuple[int, int, int]:
        with store.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(sa.func.count()).select_from(schema.resource_history)
                ).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(schema.outbox)).scalar_one(),
                conn.execute(sa.select(sa.func.max(schema.resources.c.seq))).scalar_one(),
            )

    before = counts()
    assert seed_portal(system, world["today"]) is None
    assert counts() == before

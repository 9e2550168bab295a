"""Resolution of a health worker's work context and a citizen's record (access/resolve.py)."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest

from fellesjournal.access.actor import Actor, actor_from_claims
from fellesjournal.access.context import CitizenContext, WorkContext
from fellesjournal.access.resolve import (
    ContextResolver,
    NotResolved,
    citizen_context,
    store_reader,
    work_context,
)
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.access.conftest import World, role_resource
from tests.mpi.people import fresh_dnr, fresh_fnr


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _practitioner(w: World, **claims: Any) -> Actor:
    base = {
        "fhir_actor": "practitioner",
        "sub": w.hpr,
        "fhirUser": f"Practitioner/{w.practitioner_id}",
        "fj_role": f"PractitionerRole/{w.role_id}",
    }
    return actor_from_claims({**base, **claims}, ("user/*.*",))


def _citizen(w: World, **claims: Any) -> Actor:
    base = {"fhir_actor": "patient", "sub": w.fnr, "fhirUser": f"Patient/{w.patient_id}"}
    return actor_from_claims({**base, **claims}, ("patient/*.read",))


def _edit(repo: GuardedRepository, res_type: str, res_id: str, **changes: Any) -> None:
    from fellesjournal.fhir import jsonio

    stored = repo.read(res_type, res_id)
    assert stored.content is not None
    res = jsonio.loads(stored.content)
    res.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del res[key]
    repo.update(res_type, res_id, res)


def _login_error(exc: pytest.ExceptionInfo[FhirError]) -> str:
    assert exc.value.status == 401
    assert exc.value.issues[0].code == "login"
    assert exc.value.headers["WWW-Authenticate"].startswith("Bearer")
    return str(exc.value)


# ------------------------------------------------------------------ work context


def test_work_context_from_the_stored_role(store: SqlStore, world: World) -> None:
    work = work_context(store_reader(store), hpr=world.hpr, role_id=world.role_id)
    # Names for the audit log, from the stored resources (this Practitioner has none).
    assert work.unit_name and work.organization_name
    named = dataclasses.replace(work, practitioner_name="", unit_name="", organization_name="")
    assert named == WorkContext(
        practitioner_id=world.practitioner_id,
        hpr=world.hpr,
        role_id=world.role_id,
        unit_id=world.unit,
        parents=(world.trust, world.top),
        role="doctor",
        profession="LE",
        specialty="S0208",
    )
    assert work.organizations == (world.unit, world.trust, world.top)


def test_work_context_in_the_seeded_region_shape(store: SqlStore, repo: GuardedRepository) -> None:
    """The region's own resources (region/fhir.py) resolve: the unit, its clinic, the
    trust and the RHF, the work role and the profession."""
    from fellesjournal.region import fhir
    from fellesjournal.region.model import HealthTrust, Region, Staff, Unit
    from fellesjournal.region.seed import build_region
    from tests.access.conftest import fresh_hpr

    real = build_region()
    hpr = fresh_hpr()
    trust_id = f"hf{hpr}"
    clinic = Unit(f"{trust_id}-medisin", "Medisinsk klinikk", "clinic", trust_id, her_id="81234")
    staff = Staff(hpr, "Kari", "Lege", "SP", "nurse", f"{trust_id}-post")
    ward = Unit(
        f"{trust_id}-post",
        "Post 1",
        "ward",
        clinic.id,
        her_id="81235",
        specialty="S0208",
        staff=(staff,),
    )
    trust = HealthTrust(trust_id, "Test HF", real.trusts[0].orgnr, (clinic, ward))
    region = Region(f"rhf{hpr}", "Test RHF", real.rhf_orgnr, (trust,), ())
    resources = [
        fhir.rhf_organization(region),
        fhir.trust_organization(region, trust),
        fhir.unit_organization(clinic, trust.name, member=True),
        fhir.unit_organization(ward, clinic.name, member=True),
        fhir.practitioner(staff),
        fhir.practitioner_role(staff, ward, active=True),
    ]
    for res in resources:
        res.pop("meta", None)
        repo.update(res["resourceType"], res["id"], res)
    work = work_context(store_reader(store), hpr=hpr, role_id=staff.role_id)
    assert work.unit_id == ward.id
    assert work.parents == (clinic.id, trust_id, f"rhf{hpr}")
    assert (work.role, work.profession, work.specialty) == ("nurse", "SP", "S0208")
    assert work.practitioner_id == f"hpr-{hpr}"


@pytest.mark.parametrize(
    ("hpr", "message"),
    [("12", "invalid HPR-nummer"), ("0123456", "invalid HPR-nummer"), ("12a4567", "invalid")],
)
def test_invalid_hpr(store: SqlStore, world: World, hpr: str, message: str) -> None:
    with pytest.raises(NotResolved, match=message):
        work_context(store_reader(store), hpr=hpr, role_id=world.role_id)


def test_unknown_role_and_role_of_another(store: SqlStore, world: World) -> None:
    read = store_reader(store)
    with pytest.raises(NotResolved, match=r"^unknown role"):
        work_context(read, hpr=world.hpr, role_id=world.role_id + "-nope")
    with pytest.raises(NotResolved, match=r"^role of another HPR-nummer"):
        work_context(read, hpr=world.other_hpr, role_id=world.role_id)
    with pytest.raises(NotResolved, match=r"^role of another practitioner"):
        work_context(
            read,
            hpr=world.hpr,
            role_id=world.role_id,
            practitioner_id=world.other_practitioner_id,
        )


@pytest.mark.parametrize(
    ("changes", "in_force"),
    [
        ({"active": False}, False),
        ({"active": None}, True),  # absent: in use
        ({"period": {"end": "2001-05-01"}}, False),
        ({"period": {"end": "2001"}}, False),
        ({"period": {"end": "2001-05-01T10:00:00+02:00"}}, False),
        ({"period": {"start": "2001-01-01", "end": "2999-12"}}, True),
        ({"period": {"start": "2999-01-01"}}, False),
        ({"period": {"start": "2999-01-01T00:00:00Z"}}, False),
    ],
)
def test_inactive_role(
    store: SqlStore,
    repo: GuardedRepository,
    world: World,
    changes: dict[str, Any],
    in_force: bool,
) -> None:
    _edit(repo, "PractitionerRole", world.role_id, **changes)
    read = store_reader(store)
    if in_force:
        assert work_context(read, hpr=world.hpr, role_id=world.role_id).role == "doctor"
    else:
        with pytest.raises(NotResolved, match=r"^inactive role"):
            work_context(read, hpr=world.hpr, role_id=world.role_id)


def test_period_compared_to_the_given_moment(
    store: SqlStore, repo: GuardedRepository, world: World
) -> None:
    _edit(repo, "PractitionerRole", world.role_id, period={"end": "2030-06-15"})
    read = store_reader(store)
    before = datetime.datetime(2030, 6, 15, 23, 0, tzinfo=datetime.UTC)
    after = datetime.datetime(2030, 6, 16, 0, 1, tzinfo=datetime.UTC)
    assert work_context(read, hpr=world.hpr, role_id=world.role_id, now=before)
    with pytest.raises(NotResolved, match=r"^inactive role"):
        work_context(read, hpr=world.hpr, role_id=world.role_id, now=after)


def test_inactive_unit_or_practitioner(
    store: SqlStore, repo: GuardedRepository, world: World
) -> None:
    read = store_reader(store)
    _edit(repo, "Organization", world.unit, active=False)
    with pytest.raises(NotResolved, match=r"unit Organization/.* is not active"):
        work_context(read, hpr=world.hpr, role_id=world.role_id)
    _edit(repo, "Organization", world.unit, active=True)
    _edit(repo, "Practitioner", world.practitioner_id, active=False)
    with pytest.raises(NotResolved, match=r"Practitioner/.* is not active"):
        work_context(read, hpr=world.hpr, role_id=world.role_id)


def test_broken_chains_fail_closed(store: SqlStore, repo: GuardedRepository, world: World) -> None:
    read = store_reader(store)
    _edit(repo, "Organization", world.top, partOf={"reference": f"Organization/{world.unit}"})
    with pytest.raises(NotResolved, match="loops"):
        work_context(read, hpr=world.hpr, role_id=world.role_id)
    _edit(repo, "Organization", world.top, partOf={"reference": f"Organization/{world.top}-x"})
    with pytest.raises(NotResolved, match=f"Organization/{world.top}-x .* not found"):
        work_context(read, hpr=world.hpr, role_id=world.role_id)
    _edit(repo, "Organization", world.top, partOf=None)
    _edit(repo, "PractitionerRole", world.role_id, code=[{"text": "lege"}])
    with pytest.raises(NotResolved, match="no work role"):
        work_context(read, hpr=world.hpr, role_id=world.role_id)


# ------------------------------------------------------------------ citizens


def test_citizen_context(store: SqlStore, repo: GuardedRepository, world: World) -> None:
    read = store_reader(store)
    assert citizen_context(read, fnr=world.fnr, patient_id=world.patient_id) == CitizenContext(
        world.fnr, world.patient_id
    )
    with pytest.raises(NotResolved, match="does not hold"):
        citizen_context(read, fnr=fresh_fnr(), patient_id=world.patient_id)
    with pytest.raises(NotResolved, match="does not exist"):
        citizen_context(read, fnr=world.fnr, patient_id=world.patient_id + "-x")


def test_d_nummer_citizen_and_merged_record(store: SqlStore, repo: GuardedRepository) -> None:
    dnr = fresh_dnr()
    survivor = repo.create(
        "Patient", {"resourceType": "Patient", "identifier": [{"system": DNR_SYSTEM, "value": dnr}]}
    ).stored.res_id
    read = store_reader(store)
    assert citizen_context(read, fnr=dnr, patient_id=survivor).patient_id == survivor
    merged = repo.create(
        "Patient",
        {
            "resourceType": "Patient",
            "active": False,
            "identifier": [{"system": DNR_SYSTEM, "value": dnr, "use": "old"}],
            "link": [{"type": "replaced-by", "other": {"reference": f"Patient/{survivor}"}}],
        },
    ).stored.res_id
    with pytest.raises(NotResolved, match="merged"):
        citizen_context(read, fnr=dnr, patient_id=merged)


# ------------------------------------------------------------------ the resolver


def test_resolver_caches_and_revocation_takes_effect_after_the_ttl(
    store: SqlStore, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    clock = Clock()
    resolver = ContextResolver(store, settings, ttl=60, clock=clock)
    actor = resolver.resolve(_practitioner(world))
    assert actor.work is not None and actor.work.role_id == world.role_id
    assert actor.kind == "practitioner" and actor.subject == world.hpr

    _edit(repo, "PractitionerRole", world.role_id, active=False)  # revoked
    clock.now += 59
    assert resolver.resolve(_practitioner(world)).work == actor.work  # still cached
    clock.now += 2
    with pytest.raises(FhirError) as exc:
        resolver.resolve(_practitioner(world))
    assert "inactive role" in _login_error(exc)

    _edit(repo, "PractitionerRole", world.role_id, active=True)  # failures are not cached
    assert resolver.resolve(_practitioner(world)).work == actor.work
    resolver.clear()
    assert len(resolver) == 0


def test_deleted_role_and_changed_number(
    store: SqlStore, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    resolver = ContextResolver(store, settings, ttl=0)  # no caching: every call reads
    citizen = resolver.resolve(_citizen(world)).citizen
    assert citizen == CitizenContext(world.fnr, world.patient_id)
    _edit(
        repo, "Patient", world.patient_id, identifier=[{"system": FNR_SYSTEM, "value": fresh_fnr()}]
    )
    with pytest.raises(FhirError) as exc:
        resolver.resolve(_citizen(world))
    assert "does not hold" in _login_error(exc)

    repo.delete("PractitionerRole", world.role_id)
    with pytest.raises(FhirError) as exc:
        resolver.resolve(_practitioner(world))
    assert "unknown role" in _login_error(exc)


def test_cache_is_bounded(
    store: SqlStore, settings: Settings, repo: GuardedRepository, world: World
) -> None:
    other_role = world.role_id + "-2"
    repo.update(
        "PractitionerRole",
        other_role,
        role_resource(other_role, world.other_practitioner_id, world.unit, work_role="nurse"),
    )
    resolver = ContextResolver(store, settings, max_entries=2)
    resolver.resolve(_practitioner(world))
    resolver.resolve(_citizen(world))
    nurse = resolver.resolve(
        _practitioner(
            world,
            sub=world.other_hpr,
            fhirUser=f"Practitioner/{world.other_practitioner_id}",
            fj_role=f"PractitionerRole/{other_role}",
        )
    )
    assert nurse.work is not None and nurse.work.role == "nurse"
    assert len(resolver) == 2


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"fj_role": None}, "no work context"),
        ({"fj_role": "Organization/x"}, "not a reference to a PractitionerRole"),
        ({"fhirUser": "Patient/x"}, "not a reference to a Practitioner"),
        ({"sub": "", "fj_role": "PractitionerRole/x"}, "no HPR-nummer"),
    ],
)
def test_bad_practitioner_claims(
    store: SqlStore, settings: Settings, world: World, claims: dict[str, Any], message: str
) -> None:
    base = {
        "fhir_actor": "practitioner",
        "sub": world.hpr,
        "fj_role": f"PractitionerRole/{world.role_id}",
    }
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}
    with pytest.raises(FhirError) as exc:
        ContextResolver(store, settings).resolve(actor_from_claims(merged, ()))
    assert message in _login_error(exc)


def test_external_issuer_claims(store: SqlStore, settings: Settings, world: World) -> None:
    """HelseID names the HPR-nummer in its own claim (``sub`` is a pseudonym); ID-porten
    names the citizen in ``pid`` and carries no fhirUser, so the Patient is looked up."""
    resolver = ContextResolver(store, settings)
    helseid = actor_from_claims(
        {
            "sub": "pseudonym-abc",
            "helseid://claims/hpr/hpr_number": world.hpr,
            "fj_role": f"PractitionerRole/{world.role_id}",
        },
        ("openid",),
    )
    assert helseid.kind == "practitioner"
    work = resolver.resolve(helseid).work
    assert work is not None and (work.hpr, work.unit_id) == (world.hpr, world.unit)

    idporten = actor_from_claims({"sub": "pseudonym-def", "pid": world.fnr}, ("openid",))
    assert idporten.kind == "patient"
    assert resolver.resolve(idporten).citizen == CitizenContext(world.fnr, world.patient_id)

    with pytest.raises(FhirError) as exc:
        resolver.resolve(actor_from_claims({"sub": "x", "pid": fresh_fnr()}, ()))
    assert "no Patient holds" in _login_error(exc)
    with pytest.raises(FhirError) as exc:
        resolver.resolve(actor_from_claims({"sub": "x", "pid": "12345678901"}, ()))
    assert "invalid fødselsnummer" in _login_error(exc)


def test_other_actors_pass_unchanged(store: SqlStore, settings: Settings) -> None:
    resolver = ContextResolver(store, settings)
    system = actor_from_claims({"fhir_actor": "system", "sub": "system"}, ("system/*.*",))
    assert resolver.resolve(system) is system
    anonymous = actor_from_claims({"sub": "who"}, ())
    assert anonymous.kind == "anonymous" and resolver.resolve(anonymous) is anonymous
    assert len(resolver) == 0

"""The world of the access matrix: a small region, its staff, and one record per scenario.

Built once per test run of the package (per xdist worker) by the system repository, in
one transaction, with ids unique to the run: the suite database is shared with every
other test. Dates are relative to the build time; the run ends long before any window
used here (days) moves.

The organisation tree::

    top (RHF)
    ├── trust (HF)
    │   └── clinic
    │       ├── unit        doctor, nurse, therapist, secretary, unit-leader, privacy
    │       │               officer, a PSY-cleared doctor (clearance on the role)
    │       ├── sibling     a doctor; the unit doctor's second role (``doc_alt``)
    │       └── psy_unit    a doctor (clearance PSY on the unit's ``type``)
    │       (the clinic itself: a doctor working at clinic level)
    └── other_trust
        └── other_unit      a doctor

Every record holds the same clinical core, so each scenario also checks the labels:
``patient``, ``obs`` and ``obs2`` (plain Observations, two so paging has two pages),
``psy`` (an Observation labelled PSY), ``cond`` (a Condition), plus the scenario's care
relation resources and blocks under their own labels.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.testclient import TestClient

from fellesjournal.access import consents, roles
from fellesjournal.access.context import WorkContext
from fellesjournal.access.labels import ACT_CODE, CLEARANCE_SYSTEM, CONFIDENTIALITY
from fellesjournal.auth.issuer import issue_token
from fellesjournal.fhir.instants import format_instant
from fellesjournal.norway.identifiers import FNR_SYSTEM, HPR_SYSTEM
from fellesjournal.region.fhir import ROLE_SYSTEM, VOLVEN_9060
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.base import WriteOp
from tests.access.conftest import fresh_hpr
from tests.mpi.people import fresh_fnr

Resource = dict[str, Any]

#: The code system of the test Observations and Conditions (one code per resource, so
#: that ``_has`` names exactly one of them).
CODES: Final = "https://fellesjournal.no/fhir/CodeSystem/access-matrix-test"
DAY: Final = datetime.timedelta(days=1)


def ref(reference: str) -> Resource:
    return {"reference": reference}


def label(system: str, code: str) -> Resource:
    return {"system": system, "code": code}


PSY: Final = label(ACT_CODE, "PSY")
SEX: Final = label(ACT_CODE, "SEX")
RESTRICTED: Final = label(CONFIDENTIALITY, "R")


# -- the people ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Staff:
    """One health worker in one work context."""

    key: str
    practitioner_id: str
    hpr: str
    role_id: str
    unit_id: str
    role: str
    name: str

    @property
    def practitioner(self) -> str:
        return f"Practitioner/{self.practitioner_id}"

    @property
    def practitioner_role(self) -> str:
        return f"PractitionerRole/{self.role_id}"


@dataclass(frozen=True, slots=True)
class Caller:
    """A token and what the rules outside any record let it do.

    ``types``: the record types it may read at all (work role and token scopes), None
    for every type. ``system_wide``: it has a read scope at all (system-wide history and
    search are allowed, narrowed to ``types``). ``agent``: ``agent[0].who`` of its
    AuditEvents.
    """

    name: str
    token: str
    kind: str
    agent: str
    types: frozenset[str] | None = None
    system_wide: bool = True

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    def reads(self, res_type: str) -> bool:
        return self.types is None or res_type in self.types

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/fhir+json"}


#: The scope contexts each kind of token may use (``access/policy.py``).
CONTEXTS: Final = {"system": ("system",), "practitioner": ("user",), "patient": ("patient", "user")}


def scope_types(scope: str, kind: str) -> tuple[frozenset[str] | None, bool]:
    """(types, system_wide) of the read scopes in ``scope`` that a ``kind`` token may
    use: the types they name (None: every type), and whether there is any (a search or
    history across types needs one; its rows are then narrowed to the types)."""
    types: set[str] = set()
    usable = False
    for item in scope.split():
        context, _, rest = item.partition("/")
        stype, _, perm = rest.partition(".")
        if context not in CONTEXTS[kind]:
            continue
        if perm not in ("read", "*") and not (perm and set(perm) <= set("cruds") and "r" in perm):
            continue
        if stype == "*":
            return None, True
        types.add(stype)
        usable = True
    return frozenset(types), usable


# -- the records --------------------------------------------------------------------------------


@dataclass
class Record:
    """One patient's record: its resources by label (``Type/id``)."""

    key: str
    patient_id: str
    family: str
    fnr: str
    refs: dict[str, str] = field(default_factory=dict)
    #: ``Type/id`` -> the token code of the test Observations and Conditions.
    codes: dict[str, str] = field(default_factory=dict)

    @property
    def patient(self) -> str:
        return f"Patient/{self.patient_id}"

    def __getitem__(self, name: str) -> str:
        return self.refs[name]

    def id_of(self, name: str) -> str:
        return self.refs[name].partition("/")[2]

    def all(self) -> frozenset[str]:
        return frozenset(self.refs.values())

    def ids(self) -> set[str]:
        return {r.partition("/")[2] for r in self.refs.values()}

    def without(self, *names: str) -> frozenset[str]:
        return frozenset(r for n, r in self.refs.items() if n not in names)

    def only(self, *names: str) -> frozenset[str]:
        return frozenset(self.refs[n] for n in names)


#: A record's extra resources, each with its label: made from the world and the record so
#: far (the clinical core and the extras before it).
Extra = Callable[["World", Record], Iterable[tuple[str, Resource]]]


class World:
    """The organisations, staff, callers and records of one run (see the module doc)."""

    def __init__(self, repo: GuardedRepository, settings: Settings) -> None:
        self.repo = repo
        self.settings = settings
        self.tag = uuid.uuid4().hex[:8]
        self.now = datetime.datetime.now(datetime.UTC)
        #: Every resource of the world was written at or after this instant.
        self.since = format_instant(self.now - datetime.timedelta(seconds=2))
        self.staff: dict[str, Staff] = {}
        self.records: dict[str, Record] = {}
        self._pending: list[Resource] = []
        self._callers: dict[tuple[str, str], Caller] = {}
        #: Bumped by every test that changes who sees what (:meth:`changed`).
        self.generation = 0
        self._histories: dict[tuple[str, str, int], tuple[int, list[Resource]]] = {}
        #: Checked groups of records that no test changes, by name (``paths.Views``).
        self.groups: dict[str, Any] = {}

    # -- ids and times ---------------------------------------------------------------------

    def org(self, name: str) -> str:
        return f"mx-{self.tag}-{name.replace('_', '-')}"

    def unit_ref(self, name: str) -> str:
        return f"Organization/{self.org(name)}"

    def new_id(self, kind: str) -> str:
        """A fresh resource id (``[A-Za-z0-9-.]``: ``kind`` loses its underscores)."""
        return f"mx-{self.tag}-{kind.replace('_', '-')}-{uuid.uuid4().hex[:8]}"

    def at(self, days: float) -> str:
        """An instant ``days`` from the build time (negative: in the past)."""
        return format_instant(self.now + days * DAY)

    # -- writing ---------------------------------------------------------------------------

    def put(self, *resources: Resource) -> None:
        """Write ``resources`` (with ids) in one transaction, as the system."""
        ops = [WriteOp("PUT", r["resourceType"], r["id"], r) for r in resources]
        with self.repo.writing() as tx:
            self.repo.apply_many(tx, ops)

    def flush(self) -> None:
        if self._pending:
            self.put(*self._pending)
            self._pending = []

    def changed(self) -> None:
        """A test changed who may see what (a grant, a block, a write)."""
        self.generation += 1

    def history(self, http: TestClient, caller: Caller, path: str) -> tuple[int, list[Resource]]:
        """The status and pages of ``GET /fhir/{path}?_since=...`` (a system or type
        history of everything since the world was built) for ``caller``, every ``next``
        link followed; asked once per caller while nothing has :meth:`changed`."""
        key = (caller.token, path, self.generation)
        found = self._histories.get(key)
        if found is not None:
            return found
        resp = http.get(
            f"/fhir/{path}",
            params={"_since": self.since, "_count": "1000"},
            headers=caller.headers(),
        )
        pages: list[Resource] = []
        while resp.status_code == 200 and len(pages) < 20:
            body = resp.json()
            pages.append(body)
            link = next(
                (x["url"] for x in body.get("link") or () if x.get("relation") == "next"), None
            )
            if link is None:
                break
            resp = http.get("/fhir/" + link.split("/fhir/", 1)[1], headers=caller.headers())
        found = (resp.status_code, pages)
        self._histories[key] = found
        return found

    # -- organisations and staff -----------------------------------------------------------

    def _organisation(
        self, name: str, display: str, parent: str | None, clearance: str | None = None
    ) -> Resource:
        body: Resource = {
            "resourceType": "Organization",
            "id": self.org(name),
            "active": True,
            "name": f"{display} {self.tag}",
        }
        if parent:
            body["partOf"] = ref(self.unit_ref(parent))
        if clearance:
            body["type"] = [{"coding": [{"system": CLEARANCE_SYSTEM, "code": clearance}]}]
        return body

    def _worker(
        self,
        key: str,
        unit: str,
        role: str,
        *,
        clearance: str | None = None,
        same_person_as: str | None = None,
    ) -> list[Resource]:
        out: list[Resource] = []
        if same_person_as is not None:
            person = self.staff[same_person_as]
            hpr, practitioner_id, name = person.hpr, person.practitioner_id, person.name
        else:
            hpr = fresh_hpr()
            practitioner_id = f"mx-{self.tag}-hpr-{hpr}"
            given, family = key.capitalize(), f"Matrise{self.tag}"
            name = f"{given} {family}"
            out.append(
                {
                    "resourceType": "Practitioner",
                    "id": practitioner_id,
                    "active": True,
                    "identifier": [{"system": HPR_SYSTEM, "value": hpr}],
                    "name": [{"family": family, "given": [given]}],
                    "qualification": [
                        {"code": {"coding": [{"system": VOLVEN_9060, "code": "LE"}]}}
                    ],
                }
            )
        role_id = f"mx-{self.tag}-role-{key.replace('_', '-')}"
        codes = [{"system": ROLE_SYSTEM, "code": role}]
        if clearance:
            codes.append({"system": CLEARANCE_SYSTEM, "code": clearance})
        out.append(
            {
                "resourceType": "PractitionerRole",
                "id": role_id,
                "active": True,
                "practitioner": ref(f"Practitioner/{practitioner_id}"),
                "organization": ref(self.unit_ref(unit)),
                "code": [{"coding": codes}],
            }
        )
        self.staff[key] = Staff(key, practitioner_id, hpr, role_id, self.org(unit), role, name)
        return out

    def build_organisation(self) -> None:
        resources = [
            self._organisation("top", "Matrise RHF", None),
            self._organisation("trust", "Matrise HF", "top"),
            self._organisation("clinic", "Klinikk", "trust"),
            self._organisation("unit", "Sengepost", "clinic"),
            self._organisation("sibling", "Naboavdeling", "clinic"),
            self._organisation("psy_unit", "DPS poliklinikk", "clinic", clearance="PSY"),
            self._organisation("other_trust", "Annet HF", "top"),
            self._organisation("other_unit", "Annen sengepost", "other_trust"),
        ]
        for key, role in (
            ("doc", "doctor"),
            ("nurse", "nurse"),
            ("therapist", "therapist"),
            ("secretary", "secretary"),
            ("leader", "unit-leader"),
            ("privacy", "privacy-officer"),
        ):
            resources += self._worker(key, "unit", role)
        resources += self._worker("doc_psy", "unit", "doctor", clearance="PSY")
        resources += self._worker("doc_sibling", "sibling", "doctor")
        resources += self._worker("doc_alt", "sibling", "doctor", same_person_as="doc")
        resources += self._worker("doc_psy_unit", "psy_unit", "doctor")
        resources += self._worker("doc_clinic", "clinic", "doctor")
        resources += self._worker("doc_other", "other_unit", "doctor")
        self.put(*resources)

    # -- callers -----------------------------------------------------------------------------

    def caller(self, key: str, scope: str | None = None) -> Caller:
        """The token of staff member ``key`` (default scope ``user/*.*``)."""
        found = self._callers.get((key, scope or ""))
        if found is not None:
            return found
        s = self.staff[key]
        scope_text = scope or "user/*.*"
        claims = {
            "fhir_actor": "practitioner",
            "scope": scope_text,
            "fhirUser": s.practitioner,
            "fj_role": s.practitioner_role,
        }
        types, system_wide = scope_types(scope_text, "practitioner")
        by_role = roles.readable_types(s.role)
        if by_role is not None:
            types = by_role if types is None else types & by_role
        token = issue_token(self.settings, s.hpr, claims, ttl=3600)
        found = Caller(
            f"{key}[{scope_text}]", token, "practitioner", s.practitioner, types, system_wide
        )
        self._callers[(key, scope or "")] = found
        return found

    def citizen(self, record: str, scope: str = "patient/*.read") -> Caller:
        """The token of the citizen whose record is ``record``."""
        found = self._callers.get((f"citizen {record}", scope))
        if found is None:
            rec = self.records[record]
            claims = {"fhir_actor": "patient", "scope": scope, "fhirUser": rec.patient}
            types, system_wide = scope_types(scope, "patient")
            token = issue_token(self.settings, rec.fnr, claims, ttl=3600)
            found = Caller(
                f"citizen:{record}[{scope}]", token, "patient", rec.patient, types, system_wide
            )
            self._callers[(f"citizen {record}", scope)] = found
        return found

    def system(self, scope: str = "system/*.*") -> Caller:
        found = self._callers.get(("system", scope))
        if found is None:
            claims = {"fhir_actor": "system", "scope": scope}
            types, system_wide = scope_types(scope, "system")
            token = issue_token(self.settings, "system", claims, ttl=3600)
            found = Caller(f"system[{scope}]", token, "system", "system", types, system_wide)
            self._callers[("system", scope)] = found
        return found

    # -- records -----------------------------------------------------------------------------

    def record(
        self,
        key: str,
        *extras: Extra,
        gp: Iterable[str] = (),
        cond_labels: Iterable[Resource] = (),
    ) -> Record:
        """Queue a record: the clinical core plus ``extras`` (relations, blocks...);
        ``gp`` the Patient's ``generalPractitioner`` references."""
        pid = self.new_id("pat")
        family = f"Fam{uuid.uuid4().hex[:12]}"  # fixed length: no name is a prefix of another
        rec = Record(key, pid, family, fresh_fnr())
        patient: Resource = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": FNR_SYSTEM, "value": rec.fnr}],
            "name": [{"family": family, "given": ["Matrise"]}],
            "gender": "female",
        }
        gps = list(gp)
        if gps:
            patient["generalPractitioner"] = [ref(r) for r in gps]
        items: list[tuple[str, Resource]] = [("patient", patient)]
        items.append(("obs", self.observation(rec, "obs")))
        items.append(("obs2", self.observation(rec, "obs2")))
        items.append(("psy", self.observation(rec, "psy", PSY)))
        items.append(("cond", self.condition(rec, "cond", *cond_labels)))
        for name, body in items:
            rec.refs[name] = f"{body['resourceType']}/{body['id']}"
        for extra in extras:
            for name, body in extra(self, rec):
                rec.refs[name] = f"{body['resourceType']}/{body['id']}"
                items.append((name, body))
        self._pending += [body for _name, body in items]
        self.records[key] = rec
        return rec

    def grant_consent(self, key: str, patient_id: str, start: float, end: float) -> Resource:
        """The Consent ``$break-glass`` writes for staff member ``key``, from ``start``
        to ``end`` days from the build time."""
        s = self.staff[key]
        ctx = WorkContext(s.practitioner_id, s.hpr, s.role_id, s.unit_id, (), s.role)
        return consents.break_glass_consent(
            patient_id, ctx, "emergency", "Bevisstløs i mottak", self.at(start), self.at(end)
        )

    def observation(self, rec: Record, name: str, *labels: Resource) -> Resource:
        oid = self.new_id(name)
        code = f"{self.tag}-{oid}"
        body: Resource = {
            "resourceType": "Observation",
            "id": oid,
            "status": "final",
            "code": {"coding": [{"system": CODES, "code": code}]},
            "subject": ref(rec.patient),
            "effectiveDateTime": self.at(-1),
            "valueString": f"{name} of {rec.key}",
        }
        if labels:
            body["meta"] = {"security": list(labels)}
        rec.codes[f"Observation/{oid}"] = code
        return body

    def condition(self, rec: Record, name: str, *labels: Resource) -> Resource:
        cid = self.new_id(name)
        code = f"{self.tag}-{cid}"
        body: Resource = {
            "resourceType": "Condition",
            "id": cid,
            "code": {"coding": [{"system": CODES, "code": code}]},
            "subject": ref(rec.patient),
        }
        if labels:
            body["meta"] = {"security": list(labels)}
        rec.codes[f"Condition/{cid}"] = code
        return body


# -- the care relation resources (each an :data:`Extra`) ------------------------------------------


def encounter(
    status: str, provider: str, *, start: float = -2, end: float | None = None, name: str = "enc"
) -> Extra:
    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        period: Resource = {"start": w.at(start)}
        if end is not None:
            period["end"] = w.at(end)
        yield (
            name,
            {
                "resourceType": "Encounter",
                "id": w.new_id(name),
                "status": status,
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": ref(rec.patient),
                "serviceProvider": ref(w.unit_ref(provider)),
                "period": period,
            },
        )

    return make


def episode(status: str, manager: str) -> Extra:
    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        yield (
            "eoc",
            {
                "resourceType": "EpisodeOfCare",
                "id": w.new_id("eoc"),
                "status": status,
                "patient": ref(rec.patient),
                "managingOrganization": ref(w.unit_ref(manager)),
                "period": {"start": w.at(-100)},
            },
        )

    return make


def referral(status: str, performer: Callable[[World], str]) -> Extra:
    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        yield (
            "referral",
            {
                "resourceType": "ServiceRequest",
                "id": w.new_id("sr"),
                "status": status,
                "intent": "order",
                "subject": ref(rec.patient),
                "performer": [ref(performer(w))],
            },
        )

    return make


def appointment(status: str, actor: Callable[[World], str], days: float = 3) -> Extra:
    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        yield (
            "appointment",
            {
                "resourceType": "Appointment",
                "id": w.new_id("apt"),
                "status": status,
                "start": w.at(days),
                "end": w.at(days + 0.02),
                "participant": [
                    {"actor": ref(rec.patient), "status": "accepted"},
                    {"actor": ref(actor(w)), "status": "accepted"},
                ],
            },
        )

    return make


def care_team(status: str, member: Callable[[World], str]) -> Extra:
    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        yield (
            "careteam",
            {
                "resourceType": "CareTeam",
                "id": w.new_id("ct"),
                "status": status,
                "subject": ref(rec.patient),
                "participant": [{"member": ref(member(w))}],
            },
        )

    return make


def practitioner_of(key: str) -> Callable[[World], str]:
    return lambda w: w.staff[key].practitioner


def role_of(key: str) -> Callable[[World], str]:
    return lambda w: w.staff[key].practitioner_role


def org_ref(name: str) -> Callable[[World], str]:
    return lambda w: w.unit_ref(name)


def block(
    actor: Callable[[World], str],
    *,
    data: Iterable[str] = (),
    name: str = "block",
    status: str = "active",
    provision_type: str = "deny",
) -> Extra:
    """A block (sperring) of ``actor``; ``data``: labels of the blocked resources (built
    before this extra, from the clinical core)."""
    data = tuple(data)

    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        body = consents.block_consent(rec.patient_id, actor(w), resources=[rec[n] for n in data])
        body["id"] = w.new_id(name)
        body["status"] = status
        body["provision"]["type"] = provision_type
        yield (name, body)

    return make


def observation(name: str, *labels: Resource) -> Extra:
    """One more Observation (with its own code), labelled ``labels``."""

    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        yield (name, w.observation(rec, name, *labels))

    return make


def grant(key: str, start: float, end: float, name: str = "grant") -> Extra:
    """A break-the-glass grant of staff member ``key`` from ``start`` to ``end`` days
    from now, written as ``$break-glass`` writes it (an expired one: both negative)."""

    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        body = w.grant_consent(key, rec.patient_id, start, end)
        body["id"] = w.new_id(name)
        yield (name, body)

    return make


def linked_observation(name: str, target: str, member: str = "obs") -> Extra:
    """An Observation whose ``hasMember`` and ``derivedFrom`` point at resource
    ``member`` of the record ``target`` (built before this one)."""

    def make(w: World, rec: Record) -> Iterable[tuple[str, Resource]]:
        body = w.observation(rec, name)
        pointed = ref(w.records[target][member])
        body["hasMember"] = [pointed]
        body["derivedFrom"] = [pointed]
        yield (name, body)

    return make

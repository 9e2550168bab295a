"""The shape of the region, as plain data the seeders and the demo population share.

:func:`fellesjournal.region.seed.build_region` returns a :class:`Region`; the organisation
seed turns it into FHIR Organizations, Practitioners, PractitionerRoles and Endpoints, and
the demo population places its patients, fastleger and contacts in it. Everything here is
deterministic: the same code gives the same ids on every machine.

Id scheme (FHIR logical ids, stable across runs):

* ``Organization/hmn``: Helse Midt-Norge RHF; ``Organization/{trust.key}`` for a health
  trust (``stolav``, ``hmr``, ``hnt``); ``Organization/{trust.key}-{slug}`` for its units.
* ``Organization/kommune-{number}`` for a municipality (``kommune-5001`` is Trondheim);
  ``Organization/kommune-{number}-{kind}`` (and ``-{kind}-{n}`` when there are several)
  for its service units.
* ``Practitioner/hpr-{hpr}``; ``PractitionerRole/{unit_id}-{hpr}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Unit kinds. Hospital units: a clinic (klinikk) holds wards and outpatient clinics.
HOSPITAL_KINDS = ("clinic", "ward", "outpatient", "emergency")
#: Municipal service kinds, each a unit under its municipality.
MUNICIPAL_KINDS = ("fastlegekontor", "hjemmetjeneste", "sykehjem", "legevakt", "helsestasjon")
#: What a staff member does in a unit (the work context's role).
ROLES = ("doctor", "nurse", "secretary", "therapist", "unit-leader", "privacy-officer")


@dataclass(frozen=True, slots=True)
class Staff:
    """One person in one work context (a Practitioner acting in a PractitionerRole)."""

    hpr: str  #: HPR-nummer (synthetic range, see seed)
    given: str
    family: str
    profession: str  #: Volven 9060 helsepersonellkategori code, e.g. "LE", "SP"
    role: str  #: one of :data:`ROLES`
    unit_id: str  #: the Organization id of the unit

    @property
    def practitioner_id(self) -> str:
        return f"hpr-{self.hpr}"

    @property
    def role_id(self) -> str:
        return f"{self.unit_id}-{self.hpr}"


@dataclass(frozen=True, slots=True)
class Unit:
    """A care unit: an Organization with ``partOf`` its parent."""

    id: str
    name: str
    kind: str  #: one of :data:`HOSPITAL_KINDS` or :data:`MUNICIPAL_KINDS`
    parent_id: str
    her_id: str | None = None  #: message address (Adresseregisteret)
    resh_id: str | None = None  #: specialist-care units only
    specialty: str | None = None  #: Volven 8655 code for hospital units, e.g. "S0208"
    staff: tuple[Staff, ...] = ()


@dataclass(frozen=True, slots=True)
class HealthTrust:
    """A helseforetak (HF) under the RHF, with its units (clinics, wards, ...)."""

    key: str  #: short id, e.g. "stolav"
    name: str
    orgnr: str
    units: tuple[Unit, ...] = ()

    @property
    def id(self) -> str:
        return self.key


@dataclass(frozen=True, slots=True)
class Municipality:
    """A kommune: member of the shared record or holding an option."""

    number: str  #: kommunenummer, 4 digits
    name: str
    county: str  #: "Trøndelag" or "Møre og Romsdal"
    orgnr: str
    population: int  #: approximate inhabitants, to weight the demo population
    member: bool  #: True: a member of the shared record; False: holds an option
    postcodes: tuple[tuple[str, str], ...]  #: (postnummer, poststed) pairs in it
    trust_key: str  #: the health trust whose catchment it lies in
    units: tuple[Unit, ...] = ()

    @property
    def id(self) -> str:
        return f"kommune-{self.number}"

    def units_of(self, kind: str) -> tuple[Unit, ...]:
        return tuple(u for u in self.units if u.kind == kind)


@dataclass(frozen=True, slots=True)
class Region:
    rhf_id: str
    rhf_name: str
    rhf_orgnr: str
    trusts: tuple[HealthTrust, ...]
    municipalities: tuple[Municipality, ...]
    _by_number: dict[str, Municipality] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self._by_number.update({m.number: m for m in self.municipalities})

    def municipality(self, number: str) -> Municipality | None:
        return self._by_number.get(number)

    def trust(self, key: str) -> HealthTrust | None:
        return next((t for t in self.trusts if t.key == key), None)

    def units(self) -> list[Unit]:
        out = [u for t in self.trusts for u in t.units]
        out += [u for m in self.municipalities for u in m.units]
        return out

    def staff(self) -> list[Staff]:
        return [s for u in self.units() for s in u.staff]

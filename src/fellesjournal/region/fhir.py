"""The region as FHIR R4 resources (HL7 Norway no-basis where it has a profile).

* **Organization** for the RHF (``hmn``), each trust, each hospital unit, each
  municipality and each municipal service unit. Identifiers: organisasjonsnummer
  (``urn:oid:2.16.578.1.12.4.1.4.101``) and kommunenummer for legal entities, RESH-id
  (``…4.1.4.102``) for hospital units, HER-id (``urn:oid:2.16.578.1.12.4.1.2``) for every
  unit. ``type`` carries one CodeableConcept per code system: Volven 8628 (organisatorisk
  nivå: RHF, HF) or 8624 (organisatorisk betegnelse: klinikk, post, poliklinikk, ...)
  where they fit, the FHIR ``organization-type``, and :data:`KIND_SYSTEM` (what the unit
  is in this region's model). ``partOf`` points to the parent: units → clinic or
  municipality, clinics → trust, trusts → RHF; the RHF and municipalities have none.
* **Membership**: every Organization of the region carries the extension
  :data:`MEMBERSHIP_URL` with ``valueCode`` ``member`` or ``option``. A municipality that
  holds an option, and all its units, are ``active: false`` and ``option`` until it joins
  (:func:`fellesjournal.region.options.join`); then ``active: true`` and ``member``. The
  RHF, the trusts and their units are always members.
* **Endpoint** ``{unit id}-her``: the unit's message address (AMQP queue named by its
  HER-id, as in the national messaging), ``managingOrganization`` the unit. Only units
  of members have one. Organization.endpoint is not set: no-basis reserves it for
  endpoints that are not in Adresseregisteret.
* **Practitioner** ``hpr-{hpr}``: HPR-nummer (``…4.1.4.4``) and the Volven 9060
  helsepersonellkategori as ``qualification``; always active (a person's authorisation
  does not depend on where they work).
* **PractitionerRole** ``{unit id}-{hpr}``: practitioner, ``organization`` the unit,
  ``code`` the work role (:data:`ROLE_SYSTEM`), ``specialty`` the unit's Volven 8655
  code when it has one; ``active`` follows the unit.

Volven code values (8628: ``1`` RHF, ``2`` HF; 8624: ``01`` Sykehus, ``02`` Klinikk,
``05`` Avdeling, ``08`` Post, ``11`` Poliklinikk, ``73`` Stab; 9060 professions) are
taken from the code lists as published in NorskHelsenett/FHIRCodeAndMore and KS Fiks'
9060 enumeration; the connection type ``no-amqp`` from HL7 Norway's
``no-basis-connection-type`` CodeSystem (basisprofiler-r4).

Everything is built fresh on each call: callers may mutate what they get.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

from fellesjournal.norway.identifiers import (
    HER_SYSTEM,
    HPR_SYSTEM,
    KOMMUNENUMMER_SYSTEM,
    ORGNR_SYSTEM,
    RESH_SYSTEM,
)
from fellesjournal.region import facts, names
from fellesjournal.region.model import HealthTrust, Municipality, Region, Staff, Unit
from fellesjournal.region.seed import short_name

Resource = dict[str, Any]

#: Extension on Organization: ``valueCode`` ``member`` or ``option`` (see module doc).
MEMBERSHIP_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/membership"
#: What an Organization is in the region's model: ``rhf``, ``hf``, ``kommune`` or a unit
#: kind from :mod:`fellesjournal.region.model` (``ward``, ``fastlegekontor``, ...).
KIND_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/organization-kind"
#: The work role of a PractitionerRole: one of :data:`fellesjournal.region.model.ROLES`.
ROLE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/work-role"

VOLVEN_9060: Final = "urn:oid:2.16.578.1.12.4.1.1.9060"  # kategori helsepersonell
VOLVEN_8655: Final = "urn:oid:2.16.578.1.12.4.1.1.8655"  # helsehjelpsområde
VOLVEN_8628: Final = "urn:oid:2.16.578.1.12.4.1.1.8628"  # organisatorisk nivå
VOLVEN_8624: Final = "urn:oid:2.16.578.1.12.4.1.1.8624"  # organisatorisk betegnelse
ORGANIZATION_TYPE: Final = "http://terminology.hl7.org/CodeSystem/organization-type"
CONNECTION_TYPE: Final = "http://hl7.no/fhir/CodeSystem/no-basis-connection-type"
PAYLOAD_TYPE: Final = "http://terminology.hl7.org/CodeSystem/endpoint-payload-type"
MUNICIPALITY_CODE_URL: Final = "http://hl7.no/fhir/StructureDefinition/no-basis-municipalitycode"
#: Where the demo's message queues would live (a reserved example domain, RFC 2606).
MESSAGE_BROKER: Final = "amqps://meldingstjener.fellesjournal.example"

_PROFILE = "http://hl7.no/fhir/StructureDefinition/no-basis-"

PROFESSIONS: Final = {
    "LE": "Lege",
    "SP": "Sykepleier",
    "HE": "Helsesekretær",
    "JO": "Jordmor",
    "PS": "Psykolog",
    "FT": "Fysioterapeut",
    "HF": "Helsefagarbeider",
}
ROLE_NAMES: Final = {
    "doctor": "Lege",
    "nurse": "Sykepleier",
    "secretary": "Sekretær",
    "therapist": "Terapeut",
    "unit-leader": "Enhetsleder",
    "privacy-officer": "Personvernombud",
}
KIND_NAMES: Final = {
    "rhf": "Regionalt helseforetak",
    "hf": "Helseforetak",
    "kommune": "Kommune",
    "clinic": "Klinikk",
    "ward": "Sengepost",
    "outpatient": "Poliklinikk",
    "emergency": "Akuttmottak",
    "fastlegekontor": "Fastlegekontor",
    "hjemmetjeneste": "Hjemmetjeneste",
    "sykehjem": "Sykehjem",
    "legevakt": "Legevakt",
    "helsestasjon": "Helsestasjon",
}
#: Volven 8624 by unit kind (top-level units that are no klinikk: facts.DESIGNATION_BY_SLUG).
_DESIGNATION: Final = {
    "clinic": ("02", "Klinikk"),
    "ward": ("08", "Post"),
    "outpatient": ("11", "Poliklinikk"),
    "emergency": ("05", "Avdeling"),
}


def _coding(system: str, code: str, display: str) -> Resource:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _ref(res_type: str, res_id: str, display: str) -> Resource:
    return {"reference": f"{res_type}/{res_id}", "display": display}


def _membership(member: bool) -> list[Resource]:
    return [{"url": MEMBERSHIP_URL, "valueCode": "member" if member else "option"}]


def membership_of(organization: Resource) -> str | None:
    """``"member"``, ``"option"``, or ``None`` for an Organization without the marker."""
    for ext in organization.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == MEMBERSHIP_URL:
            value = ext.get("valueCode")
            return value if isinstance(value, str) else None
    return None


def _organization(
    res_id: str,
    name: str,
    *,
    member: bool,
    identifiers: list[Resource],
    types: list[Resource],
    part_of: Resource | None = None,
    address: Resource | None = None,
) -> Resource:
    org: Resource = {
        "resourceType": "Organization",
        "id": res_id,
        "meta": {"profile": [_PROFILE + "Organization"]},
        "extension": _membership(member),
        "identifier": identifiers,
        "active": member,
        "type": types,
        "name": name,
    }
    if address is not None:
        org["address"] = [address]
    if part_of is not None:
        org["partOf"] = part_of
    return org


def _kind(kind: str) -> Resource:
    return _coding(KIND_SYSTEM, kind, KIND_NAMES[kind])


def _address(municipality: Municipality, index: int) -> Resource:
    """A unit's (or the municipality's) address: one of the municipality's postcodes."""
    postcode, place = municipality.postcodes[index % len(municipality.postcodes)]
    return {
        "type": "physical",
        "postalCode": postcode,
        "city": place,
        "district": short_name(municipality.number),
        "_district": {
            "extension": [
                {
                    "url": MUNICIPALITY_CODE_URL,
                    "valueCoding": {
                        "system": KOMMUNENUMMER_SYSTEM,
                        "code": municipality.number,
                        "display": municipality.name,
                    },
                }
            ]
        },
        "country": "NO",
    }


# ------------------------------------------------------------------ organizations
def rhf_organization(region: Region) -> Resource:
    return _organization(
        region.rhf_id,
        region.rhf_name,
        member=True,
        identifiers=[{"system": ORGNR_SYSTEM, "value": region.rhf_orgnr}],
        types=[
            _coding(VOLVEN_8628, "1", "RHF"),
            _coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider"),
            _kind("rhf"),
        ],
    )


def trust_organization(region: Region, trust: HealthTrust) -> Resource:
    return _organization(
        trust.id,
        trust.name,
        member=True,
        identifiers=[{"system": ORGNR_SYSTEM, "value": trust.orgnr}],
        types=[
            _coding(VOLVEN_8628, "2", "HF"),
            _coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider"),
            _kind("hf"),
        ],
        part_of=_ref("Organization", region.rhf_id, region.rhf_name),
    )


def municipality_organization(municipality: Municipality, *, member: bool) -> Resource:
    return _organization(
        municipality.id,
        f"{short_name(municipality.number)} kommune",
        member=member,
        identifiers=[
            {"system": ORGNR_SYSTEM, "value": municipality.orgnr},
            {"system": KOMMUNENUMMER_SYSTEM, "value": municipality.number},
        ],
        types=[_coding(ORGANIZATION_TYPE, "govt", "Government"), _kind("kommune")],
        address=_address(municipality, 0),
    )


def unit_organization(
    unit: Unit,
    parent_name: str,
    *,
    member: bool,
    address: Resource | None = None,
) -> Resource:
    """A hospital or municipal unit, ``partOf`` its parent (named ``parent_name``)."""
    identifiers = []
    if unit.resh_id:
        identifiers.append({"system": RESH_SYSTEM, "value": unit.resh_id})
    if unit.her_id:
        identifiers.append({"system": HER_SYSTEM, "value": unit.her_id})
    types = []
    if unit.kind in _DESIGNATION:
        slug = unit.id.split("-", 1)[1]
        code, display = facts.DESIGNATION_BY_SLUG.get(slug) or _DESIGNATION[unit.kind]
        types.append(_coding(VOLVEN_8624, code, display))
        types.append(_coding(ORGANIZATION_TYPE, "dept", "Hospital Department"))
    else:
        types.append(_coding(ORGANIZATION_TYPE, "prov", "Healthcare Provider"))
    types.append(_kind(unit.kind))
    return _organization(
        unit.id,
        unit.name,
        member=member,
        identifiers=identifiers,
        types=types,
        part_of=_ref("Organization", unit.parent_id, parent_name),
        address=address,
    )


# ------------------------------------------------------------------ endpoints, people
def endpoint_id(unit: Unit) -> str:
    return f"{unit.id}-her"


def endpoint(unit: Unit) -> Resource:
    """The unit's message address; the unit must have a HER-id."""
    if not unit.her_id:
        raise ValueError(f"{unit.id} has no HER-id, so no message address")
    return {
        "resourceType": "Endpoint",
        "id": endpoint_id(unit),
        "meta": {"profile": [_PROFILE + "Endpoint"]},
        "identifier": [{"system": HER_SYSTEM, "value": unit.her_id}],
        "status": "active",
        "connectionType": {"system": CONNECTION_TYPE, "code": "no-amqp", "display": "AMQP"},
        "name": f"{unit.name} (HER-id {unit.her_id})",
        "managingOrganization": _ref("Organization", unit.id, unit.name),
        "payloadType": [_coding(PAYLOAD_TYPE, "any", "Any")],
        "payloadMimeType": ["text/xml"],
        "address": f"{MESSAGE_BROKER}/{unit.her_id}_async",
    }


def _full_name(staff: Staff) -> str:
    return f"{staff.given} {staff.family}"


def practitioner(staff: Staff) -> Resource:
    gender = "female" if staff.given in names.FEMALE else "male"
    return {
        "resourceType": "Practitioner",
        "id": staff.practitioner_id,
        "meta": {"profile": [_PROFILE + "Practitioner"]},
        "identifier": [{"system": HPR_SYSTEM, "value": staff.hpr}],
        "active": True,
        "name": [{"use": "official", "family": staff.family, "given": [staff.given]}],
        "gender": gender,
        "qualification": [
            {"code": _coding(VOLVEN_9060, staff.profession, PROFESSIONS[staff.profession])}
        ],
    }


def practitioner_role(staff: Staff, unit: Unit, *, active: bool) -> Resource:
    role: Resource = {
        "resourceType": "PractitionerRole",
        "id": staff.role_id,
        "meta": {"profile": [_PROFILE + "PractitionerRole"]},
        "active": active,
        "practitioner": _ref("Practitioner", staff.practitioner_id, _full_name(staff)),
        "organization": _ref("Organization", unit.id, unit.name),
        "code": [_coding(ROLE_SYSTEM, staff.role, ROLE_NAMES[staff.role])],
    }
    if unit.specialty:
        role["specialty"] = [
            _coding(VOLVEN_8655, unit.specialty, facts.SPECIALTIES[unit.specialty])
        ]
    return role


def _unit_resources(
    unit: Unit, parent_name: str, *, member: bool, address: Resource | None = None
) -> list[Resource]:
    out = [unit_organization(unit, parent_name, member=member, address=address)]
    if member and unit.her_id:
        out.append(endpoint(unit))
    for staff in unit.staff:
        out.append(practitioner(staff))
        out.append(practitioner_role(staff, unit, active=member))
    return out


# ------------------------------------------------------------------ whole sets
def trust_resources(region: Region, trust: HealthTrust) -> list[Resource]:
    """A trust's Organization, its units, their Endpoints, staff and roles."""
    names_by_id = {trust.id: trust.name, **{u.id: u.name for u in trust.units}}
    out = [trust_organization(region, trust)]
    for unit in trust.units:
        out += _unit_resources(unit, names_by_id[unit.parent_id], member=True)
    return out


def municipality_resources(municipality: Municipality, *, member: bool) -> list[Resource]:
    """Everything that belongs to one municipality, as it is when ``member`` (or not).

    The municipality's Organization, its units, their staff (Practitioner and
    PractitionerRole) and, for a member, the units' Endpoints. Nothing outside it.
    """
    out = [municipality_organization(municipality, member=member)]
    parent_name = out[0]["name"]
    for i, unit in enumerate(municipality.units):
        out += _unit_resources(unit, parent_name, member=member, address=_address(municipality, i))
    return out


def region_resources(region: Region, members: Collection[str]) -> list[Resource]:
    """Every resource of the region; ``members`` are the kommunenumre that are members."""
    out = [rhf_organization(region)]
    for trust in region.trusts:
        out += trust_resources(region, trust)
    for municipality in region.municipalities:
        out += municipality_resources(municipality, member=municipality.number in members)
    return out

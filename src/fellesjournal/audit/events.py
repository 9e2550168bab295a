"""Building AuditEvent resources (FHIR R4, shaped for the Norwegian AuditEvent profile).

Each event names who acted (the actor of the request), what was done, to which patient,
when, on what basis and with what outcome. The shape follows the HL7 Norway trust
framework AuditEvent (``hl7norway/auditevent``):

* ``extension``: ``auditevent-patient-extension`` (the patient) and
  ``auditevent-carerelation-metadata-extension`` (the basis: ``decision-ref-id`` the
  resource that grants it, e.g. ``Encounter/12``; ``decision-ref-description`` one
  sentence; ``decision-ref-user-selected`` true for break-the-glass) plus our
  :data:`BASIS_EXTENSION` with the basis code (:data:`BASES`).
* ``purposeOfEvent``: v3-ActReason ``TREAT`` (care relation), ``ETREAT`` (break-the-glass),
  ``PATRQT`` (the citizen's own record), ``HOPERAT`` (system clients, privacy review).
* ``agent[0]`` (requestor): the Practitioner with HPR-nummer, name and work role, or the
  citizen's Patient, or the system client; ``agent[1]`` and ``agent[2]``: the unit and
  the legal organisation (``type`` :data:`AGENT_TYPE` ``unit`` / ``organization``).
* ``outcome`` ``0`` (success) or ``4`` (denied), ``outcomeDesc`` the rule that decided.
* ``entity``: the patient (object-role 1) and what was touched (``Type/id/_history/v``)
  or the query (``entity.query``, base64).

The events of changes are appended in the transaction of the change; those of reads are
appended before the read's answer is sent (``service/auditing.py``).
"""

from __future__ import annotations

import base64
from typing import Any, Final

from fellesjournal.access.actor import Actor
from fellesjournal.fhir.instants import now_instant

DCM: Final = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL: Final = "http://hl7.org/fhir/restful-interaction"
OBJECT_ROLE: Final = "http://terminology.hl7.org/CodeSystem/object-role"
#: Our own subtypes, for events with no standard code (``patient-merge``).
SUBTYPE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/audit-event-subtype"
ACT_REASON: Final = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#: On a proxy's agent: the patient they acted for.
ON_BEHALF_OF_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/on-behalf-of"
PROXY_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/proxy-access"
PATIENT_EXTENSION: Final = "http://hl7.no/fhir/StructureDefinition/auditevent-patient-extension"
CARE_RELATION_EXTENSION: Final = (
    "http://hl7.no/fhir/StructureDefinition/auditevent-carerelation-metadata-extension"
)
BASIS_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/access-basis"
AGENT_TYPE: Final = "https://fellesjournal.no/fhir/CodeSystem/audit-agent-type"
HPR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.4"
FNR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.1"
WORK_ROLE_SYSTEM: Final = (
    "https://fellesjournal.no/fhir/CodeSystem/work-role"  # region.fhir.ROLE_SYSTEM
)

#: Basis codes: the care relation kinds of ``access/relation_rules.py`` plus these.
BREAK_GLASS: Final = "break-the-glass"
OWN_RECORD: Final = "own-record"
SYSTEM: Final = "system"
NO_BASIS: Final = "none"
#: Basis code -> purposeOfEvent (v3-ActReason).
_PURPOSE: Final = {BREAK_GLASS: "ETREAT", OWN_RECORD: "PATRQT", SYSTEM: "HOPERAT"}
#: Interaction -> AuditEvent.action.
ACTIONS: Final = {
    "read": "R",
    "vread": "R",
    "search": "E",
    "history": "R",
    "operation": "E",
    "create": "C",
    "update": "U",
    "patch": "U",
    "delete": "D",
    "break-glass": "E",
    "review": "U",
    "login": "E",
}
SUCCESS: Final = "0"
DENIED: Final = "4"


def agent(actor: Actor) -> dict[str, Any]:
    """The requesting agent: the actor of the request."""
    who: dict[str, Any] = {"display": f"{actor.kind} {actor.subject}"}
    fhir_user = actor.claims.get("fhirUser")
    if isinstance(fhir_user, str) and "/" in fhir_user:
        who = {"reference": fhir_user}
    return {
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                    "code": "humanuser" if actor.kind != "system" else "dataprocessor",
                }
            ]
        },
        "who": who,
        "requestor": True,
    }


def patient_entity(patient_id: str, description: str) -> dict[str, Any]:
    return {
        "what": {"reference": f"Patient/{patient_id}"},
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
        "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
        "description": description,
    }


def merge_event(
    actor: Actor, source_id: str, target_id: str, moved: int, description: str
) -> dict[str, Any]:
    """The one AuditEvent of a ``Patient/$merge``."""
    return {
        "resourceType": "AuditEvent",
        "type": {"system": DCM, "code": "110110", "display": "Patient Record"},
        "subtype": [
            {"system": RESTFUL, "code": "operation", "display": "operation"},
            {"system": SUBTYPE_SYSTEM, "code": "patient-merge", "display": "Patient merge"},
        ],
        "action": "U",
        "recorded": now_instant(),
        "outcome": "0",
        "outcomeDesc": description,
        "agent": [agent(actor)],
        "source": {"observer": {"display": "Fellesjournal"}},
        "entity": [
            patient_entity(source_id, f"merged away; {moved} resources moved to the target"),
            patient_entity(target_id, "kept; now holds the merged record"),
        ],
    }


def _agents(actor: Actor) -> list[dict[str, Any]]:
    """The requestor, with the unit and organisation of a health worker's context."""
    work = actor.work
    if work is None:
        requestor = agent(actor)
        citizen = actor.citizen
        if citizen is not None and citizen.proxy is not None:
            # A proxy acts as themselves, on behalf of the patient (docs/portal.md).
            requestor["who"] = {
                "reference": f"RelatedPerson/{citizen.proxy.related_person_id}",
                "identifier": {"system": FNR_SYSTEM, "value": citizen.fnr},
                "display": citizen.proxy.name or "Fullmektig",
            }
            requestor["role"] = [
                {"coding": [{"system": PROXY_SYSTEM, "code": citizen.proxy.level}]}
            ]
            requestor["extension"] = [
                {
                    "url": ON_BEHALF_OF_EXTENSION,
                    "valueReference": {"reference": f"Patient/{citizen.patient_id}"},
                }
            ]
        elif citizen is not None:
            requestor["who"] = {
                "reference": f"Patient/{citizen.patient_id}",
                "display": "Pasienten selv",
            }
        return [requestor]
    person: dict[str, Any] = {
        "type": agent(actor)["type"],
        "who": {
            "reference": f"Practitioner/{work.practitioner_id}",
            "identifier": {"system": HPR_SYSTEM, "value": work.hpr},
            "display": work.practitioner_name or f"HPR {work.hpr}",
        },
        "role": [{"coding": [{"system": WORK_ROLE_SYSTEM, "code": work.role}]}],
        "requestor": True,
        "extension": [
            {
                "url": "https://fellesjournal.no/fhir/StructureDefinition/practitioner-role",
                "valueReference": {"reference": f"PractitionerRole/{work.role_id}"},
            }
        ],
    }
    unit = {
        "type": {"coding": [{"system": AGENT_TYPE, "code": "unit"}]},
        "who": {"reference": f"Organization/{work.unit_id}", "display": work.unit_name},
        "requestor": False,
    }
    org = {
        "type": {"coding": [{"system": AGENT_TYPE, "code": "organization"}]},
        "who": {
            "reference": f"Organization/{work.organization_id}",
            "display": work.organization_name,
        },
        "requestor": False,
    }
    return [person, unit, org]


def access_event(
    actor: Actor,
    *,
    interaction: str,
    patient_id: str | None,
    what: list[str] | None = None,
    query: str | None = None,
    basis: str = NO_BASIS,
    basis_reference: str = "",
    basis_detail: str = "",
    outcome: str = SUCCESS,
    outcome_desc: str = "",
    subtype: str | None = None,
    recorded: str | None = None,
) -> dict[str, Any]:
    """One AuditEvent: ``actor`` did ``interaction`` (:data:`ACTIONS`) on ``patient_id``'s
    record (None: no patient's), touching ``what`` (``Type/id/_history/v``) or asking
    ``query``, on ``basis`` (a care relation kind or :data:`BREAK_GLASS`,
    :data:`OWN_RECORD`, :data:`SYSTEM`, :data:`NO_BASIS`), with ``outcome``."""
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": DCM, "code": "110110", "display": "Patient Record"},
        "subtype": [
            {"system": RESTFUL, "code": interaction}
            if subtype is None
            else {"system": SUBTYPE_SYSTEM, "code": subtype}
        ],
        "action": ACTIONS.get(interaction, "E"),
        "recorded": recorded or now_instant(),
        "outcome": outcome,
        "agent": _agents(actor),
        "source": {"observer": {"display": "Fellesjournal"}},
    }
    if outcome_desc:
        event["outcomeDesc"] = outcome_desc
    extensions: list[dict[str, Any]] = [
        {"url": BASIS_EXTENSION, "valueCode": basis},
    ]
    if basis_reference or basis_detail:
        meta: list[dict[str, Any]] = []
        if basis_reference:
            meta.append({"url": "decision-ref-id", "valueString": basis_reference})
        if basis_detail:
            meta.append({"url": "decision-ref-description", "valueString": basis_detail})
        meta.append({"url": "decision-ref-user-selected", "valueBoolean": basis == BREAK_GLASS})
        extensions.append({"url": CARE_RELATION_EXTENSION, "extension": meta})
    entities: list[dict[str, Any]] = []
    if patient_id is not None:
        extensions.insert(
            0, {"url": PATIENT_EXTENSION, "valueReference": {"reference": f"Patient/{patient_id}"}}
        )
        entities.append(patient_entity(patient_id, "the patient whose record was accessed"))
    event["extension"] = extensions
    purpose = _PURPOSE.get(basis, "TREAT" if basis != NO_BASIS else None)
    if purpose is not None:
        event["purposeOfEvent"] = [{"coding": [{"system": ACT_REASON, "code": purpose}]}]
    for ref in what or ():
        entities.append({"what": {"reference": ref}})
    if query is not None:
        entities.append(
            {
                "type": {
                    "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "2",
                },
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "query": base64.b64encode(query.encode()).decode(),
            }
        )
    if entities:
        event["entity"] = entities
    return event


def basis_of(event: dict[str, Any]) -> str:
    """The basis code of an event written by :func:`access_event` (``none`` if absent)."""
    for ext in event.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == BASIS_EXTENSION:
            return str(ext.get("valueCode") or NO_BASIS)
    return NO_BASIS


def login_event(actor: Actor) -> dict[str, Any]:
    """A sign-in: a token issued to a health worker in a work context or to a citizen
    (DICOM 110114 User Authentication, subtype 110122 Login). A citizen's sign-in is in
    their own access log."""
    patient_id = actor.citizen.patient_id if actor.citizen is not None else None
    event = access_event(
        actor,
        interaction="login",
        patient_id=patient_id,
        basis=OWN_RECORD if patient_id else NO_BASIS,
        outcome_desc="signed in through the built-in issuer",
    )
    event["type"] = {"system": DCM, "code": "110114", "display": "User Authentication"}
    event["subtype"] = [{"system": DCM, "code": "110122", "display": "Login"}]
    return event

"""Building AuditEvent resources (FHIR R4, shaped for the Norwegian AuditEvent profile).

Each event names who acted (the actor of the request), what was done, to which patient
and when. The events are written through the guarded repository in the transaction of the
change itself, so a change and its record commit or fail together.
"""

from __future__ import annotations

from typing import Any, Final

from fellesjournal.access.actor import Actor
from fellesjournal.fhir.instants import now_instant

DCM: Final = "http://dicom.nema.org/resources/ontology/DCM"
RESTFUL: Final = "http://hl7.org/fhir/restful-interaction"
OBJECT_ROLE: Final = "http://terminology.hl7.org/CodeSystem/object-role"
#: Our own subtypes, for events with no standard code (``patient-merge``).
SUBTYPE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/audit-event-subtype"


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

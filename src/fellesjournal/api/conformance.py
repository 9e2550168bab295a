"""What the server does, declared as data.

The router dispatches from :data:`INTERACTIONS` and :data:`OPERATIONS`, and the
CapabilityStatement at ``/metadata`` is generated from the same tables, so the statement
cannot claim what the routes do not do (or miss what they do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fellesjournal.fhir.validation import RESOURCE_TYPES
from fellesjournal.search.registry import Registry
from fellesjournal.settings import Settings

INSTANCE_INTERACTIONS = ("read", "vread", "update", "patch", "delete", "history-instance")
TYPE_INTERACTIONS = ("create", "search-type", "history-type")
SYSTEM_INTERACTIONS = ("transaction", "batch", "search-system", "history-system")


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    definition: str
    resource_types: tuple[str, ...]
    """Types it applies to; empty means every type."""
    instance: bool
    type_level: bool


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "everything",
        "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        ("Patient",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "summary",
        "http://hl7.org/fhir/uv/ips/OperationDefinition/summary",
        ("Patient",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "validate",
        "http://hl7.org/fhir/OperationDefinition/Resource-validate",
        (),
        instance=True,
        type_level=True,
    ),
    Operation(
        "merge",
        "http://hl7.org/fhir/OperationDefinition/Patient-merge",
        ("Patient",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "lookup",
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
        ("CodeSystem",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "validate-code",
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
        ("CodeSystem",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "expand",
        "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
        ("ValueSet",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "validate-code",
        "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
        ("ValueSet",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "break-glass",
        "https://fellesjournal.no/fhir/OperationDefinition/Patient-break-glass",
        ("Patient",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "access-explain",
        "https://fellesjournal.no/fhir/OperationDefinition/Patient-access-explain",
        ("Patient",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "review",
        "https://fellesjournal.no/fhir/OperationDefinition/AuditEvent-review",
        ("AuditEvent",),
        instance=True,
        type_level=True,
    ),
    Operation(
        "delivery",
        "https://fellesjournal.no/fhir/OperationDefinition/Communication-delivery",
        ("Communication",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "queues",
        "https://fellesjournal.no/fhir/OperationDefinition/Task-queues",
        ("Task",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "acknowledge",
        "https://fellesjournal.no/fhir/OperationDefinition/DiagnosticReport-acknowledge",
        ("DiagnosticReport", "Observation"),
        instance=True,
        type_level=False,
    ),
    Operation(
        "release",
        "https://fellesjournal.no/fhir/OperationDefinition/DiagnosticReport-release",
        ("DiagnosticReport",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "duplicates",
        "https://fellesjournal.no/fhir/OperationDefinition/Patient-duplicates",
        ("Patient",),
        instance=False,
        type_level=True,
    ),
    Operation(
        "discharge-ready",
        "https://fellesjournal.no/fhir/OperationDefinition/Encounter-discharge-ready",
        ("Encounter",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "discharge-ready-reply",
        "https://fellesjournal.no/fhir/OperationDefinition/Encounter-discharge-ready-reply",
        ("Encounter",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "discharge-ready-withdraw",
        "https://fellesjournal.no/fhir/OperationDefinition/Encounter-discharge-ready-withdraw",
        ("Encounter",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "discharge-ready-billing",
        "https://fellesjournal.no/fhir/OperationDefinition/Encounter-discharge-ready-billing",
        ("Encounter",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "assess",
        "https://fellesjournal.no/fhir/OperationDefinition/ServiceRequest-assess",
        ("ServiceRequest",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "start-care",
        "https://fellesjournal.no/fhir/OperationDefinition/ServiceRequest-start-care",
        ("ServiceRequest",),
        instance=True,
        type_level=False,
    ),
    Operation(
        "breaches",
        "https://fellesjournal.no/fhir/OperationDefinition/ServiceRequest-breaches",
        ("ServiceRequest",),
        instance=False,
        type_level=True,
    ),
)


#: Operations on the whole server (``[base]/$name``).
SYSTEM_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "process-message",
        "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
        (),
        instance=False,
        type_level=False,
    ),
)


def find_operation(name: str, res_type: str | None, instance: bool) -> Operation | None:
    for op in OPERATIONS:
        if op.name != name:
            continue
        if op.resource_types and res_type not in op.resource_types:
            continue
        if (instance and op.instance) or (not instance and res_type and op.type_level):
            return op
    return None


def capability_statement(
    settings: Settings, registry: Registry, software_version: str
) -> dict[str, Any]:
    """The CapabilityStatement, generated from the tables above and the search registry."""
    resources = []
    for res_type in sorted(RESOURCE_TYPES):
        params = [
            {
                "name": p.code,
                "definition": f"http://hl7.org/fhir/SearchParameter/{p.code}"
                if p.code.startswith("_")
                else f"http://hl7.org/fhir/SearchParameter/"
                f"{(p.base[0] if p.base else res_type)}-{p.code}",
                "type": p.type,
            }
            for p in sorted(registry.params_for(res_type).values(), key=lambda p: p.code)
            if p.type != "special" or p.code == "_id"
        ]
        ops = [
            {"name": op.name, "definition": op.definition}
            for op in OPERATIONS
            if not op.resource_types or res_type in op.resource_types
        ]
        resources.append(
            {
                "type": res_type,
                "interaction": [{"code": c} for c in INSTANCE_INTERACTIONS + TYPE_INTERACTIONS],
                "versioning": "versioned-update",
                "readHistory": True,
                "updateCreate": True,
                "conditionalCreate": True,
                "conditionalRead": "not-supported",
                "conditionalUpdate": True,
                "conditionalDelete": "single",
                "referencePolicy": ["literal", "logical"],
                "searchInclude": ["*"],
                "searchRevInclude": ["*"],
                "searchParam": params,
                "operation": ops,
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-25",
        "publisher": "Fellesjournal",
        "kind": "instance",
        "software": {"name": "Fellesjournal", "version": software_version},
        "implementation": {
            "description": "Fellesjournal FHIR server",
            "url": settings.fhir_base_url,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "Bearer JWT from a trusted issuer; see "
                    "/.well-known/smart-configuration",
                },
                "resource": resources,
                "interaction": [{"code": c} for c in SYSTEM_INTERACTIONS],
                "operation": [
                    {"name": op.name, "definition": op.definition}
                    for op in (*OPERATIONS, *SYSTEM_OPERATIONS)
                    if not op.resource_types
                ],
            }
        ],
    }

"""What each work role may do with a patient's record, once a care relation exists.

The care relation (``access/relations.py``) decides *whose* record a health worker may
open; the role decides *what* they may do in it: which resource types they read and
which they write. The table is deliberately small and explicit, in the spirit of
Normen's role templates (rollemaler): a secretary books and registers but does not read
clinical notes; a nurse documents care; a doctor diagnoses and prescribes; a privacy
officer reviews the audit log and reads no clinical content.

Non-patient resources (organisations, practitioners, code systems) are readable by every
health worker and are not governed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

#: Administrative resources: who the patient is, where they are booked, what is asked.
ADMINISTRATIVE: Final = frozenset(
    {
        "Patient",
        "RelatedPerson",
        "Appointment",
        "AppointmentResponse",
        "Encounter",
        "EpisodeOfCare",
        "ServiceRequest",
        "Task",
        "Communication",
        "CommunicationRequest",
        "Consent",
        "Coverage",
        "Flag",
    }
)
#: Clinical content: findings, diagnoses, medication, notes, plans.
CLINICAL: Final = frozenset(
    {
        "AllergyIntolerance",
        "CarePlan",
        "CareTeam",
        "ClinicalImpression",
        "Composition",
        "Condition",
        "DiagnosticReport",
        "DocumentReference",
        "FamilyMemberHistory",
        "Goal",
        "ImagingStudy",
        "Immunization",
        "List",
        "MedicationAdministration",
        "MedicationDispense",
        "MedicationRequest",
        "MedicationStatement",
        "NutritionOrder",
        "Observation",
        "Procedure",
        "QuestionnaireResponse",
        "RiskAssessment",
        "Specimen",
    }
)
ALL_RECORD: Final = ADMINISTRATIVE | CLINICAL


@dataclass(frozen=True, slots=True)
class RolePermissions:
    reads: frozenset[str]
    writes: frozenset[str]


ROLE_PERMISSIONS: Final = {
    "doctor": RolePermissions(reads=ALL_RECORD, writes=ALL_RECORD),
    "nurse": RolePermissions(
        reads=ALL_RECORD,
        writes=ADMINISTRATIVE
        | frozenset(
            {
                "Observation",
                "DocumentReference",
                "Composition",
                "CarePlan",
                "Goal",
                "MedicationAdministration",
                "AllergyIntolerance",
                "QuestionnaireResponse",
                "Procedure",
            }
        ),
    ),
    "therapist": RolePermissions(
        reads=ALL_RECORD,
        writes=frozenset(
            {
                "Observation",
                "DocumentReference",
                "Composition",
                "CarePlan",
                "Goal",
                "Procedure",
                "QuestionnaireResponse",
                "Task",
                "Appointment",
            }
        ),
    ),
    # A secretary reads critical information (Flag: it is in every banner) but does not
    # register it: doctors and nurses do (domain.md, kritisk informasjon).
    "secretary": RolePermissions(reads=ADMINISTRATIVE, writes=ADMINISTRATIVE - {"Consent", "Flag"}),
    "unit-leader": RolePermissions(reads=ALL_RECORD, writes=ADMINISTRATIVE),
    # Reviews the audit log (AuditEvent is governed by the audit rules, not this table)
    # and needs to know who a patient is, not what is in the record.
    "privacy-officer": RolePermissions(reads=frozenset({"Patient"}), writes=frozenset()),
}


def allows(role: str, action: str, res_type: str) -> bool:
    """May a worker in ``role`` do ``action`` ("read" or "write") on ``res_type`` in a
    record they have a care relation with? Unknown roles may do nothing.

    A record type the table does not list (Device, Media, Claim...) counts as clinical
    content: allowed to roles that read (or write) every clinical type.
    """
    perms = ROLE_PERMISSIONS.get(role)
    if perms is None:
        return False
    types = perms.writes if action == "write" else perms.reads
    return res_type in types or (res_type not in ALL_RECORD and types >= CLINICAL)


def readable_types(role: str) -> frozenset[str] | None:
    """The record types ``role`` reads, or None when it reads every record type."""
    perms = ROLE_PERMISSIONS.get(role)
    if perms is None:
        return frozenset()
    return None if perms.reads >= ALL_RECORD else perms.reads

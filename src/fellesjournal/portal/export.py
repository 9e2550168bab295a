"""Download my record: the patient summary as an IPS-style FHIR document Bundle.

The shape is that of the International Patient Summary
(https://hl7.org/fhir/uv/ips/) on plain R4 documents
(https://hl7.org/fhir/R4/documents.html): a Bundle of type ``document`` whose first
entry is a Composition (LOINC 60591-5 "Patient summary Document", title
"Pasientsammendrag", author the system as a Device), with one section per part of the
record (:data:`SECTIONS`, IPS section codes) whose entries reference resources of the
Bundle. Then the Device, the Patient, every resource a section lists, and the resources
those point at that a reader needs to make sense of them (a report's results, the units,
practitioners, medicines and places named), one level after another.

Every read goes through the :class:`~fellesjournal.service.repository.GuardedRepository`
it is given, in one snapshot, with the searches' SQL access filter: the Bundle holds
exactly what that actor may see (for a citizen what is released to them, for a proxy
what their level shows; ``access/release.py``), and nothing of another patient. The
whole download is one disclosure: one AuditEvent per patient shown, with the query
``Patient/{id}/$summary``.

Stored resources keep their ids and relative references; their ``fullUrl`` is the
server's (``{base}/{type}/{id}``), so a relative reference resolves inside the Bundle
(https://hl7.org/fhir/R4/bundle.html#references). The Composition and the Device were
never stored: they get ``urn:uuid:`` URLs, and the Composition's references are the
absolute URLs of the entries.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from fellesjournal.access import policy
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.portal import summary_rows
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]

LOINC: Final = "http://loinc.org"
SUMMARY_CODE: Final = "60591-5"
SUMMARY_DISPLAY: Final = "Patient summary Document"
TITLE: Final = "Pasientsammendrag"
LIST_EMPTY_REASON: Final = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
XHTML: Final = "http://www.w3.org/1999/xhtml"

#: How much of the long lists the summary takes (newest first); the rest stays in the
#: record, reachable through the portal's pages and the API.
ENCOUNTERS_LIMIT: Final = 50
REPORTS_LIMIT: Final = 50
OBSERVATIONS_LIMIT: Final = 100
DOCUMENTS_LIMIT: Final = 50
#: Types a summary's resources point at that are taken into the Bundle too.
LINKED_TYPES: Final = frozenset(
    {"Observation", "Medication", "Organization", "Practitioner", "PractitionerRole", "Location"}
)
_LINK_ROUNDS: Final = 3
_ID_CHUNK: Final = 100


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the summary: its IPS code, its bokmål title, and which of the
    patient's resources it lists. ``required`` sections are there even when empty (with
    an ``emptyReason``), as the IPS asks of problems, medication and allergies."""

    key: str
    code: str
    display: str
    title: str
    types: tuple[str, ...]
    keep: Callable[[Resource], bool]
    required: bool = False


def _coded(resource: Resource, element: str) -> set[str]:
    concept = resource.get(element) or {}
    return {str(c.get("code")) for c in concept.get("coding") or () if isinstance(c, dict)}


def _not_in_error(resource: Resource) -> bool:
    return resource.get("status") not in ("entered-in-error", "cancelled", "not-done") and not (
        _coded(resource, "verificationStatus") & {"entered-in-error", "refuted"}
    )


def _active_condition(resource: Resource) -> bool:
    status = _coded(resource, "clinicalStatus")
    return _not_in_error(resource) and (
        not status or bool(status & {"active", "recurrence", "relapse"})
    )


def _past_condition(resource: Resource) -> bool:
    return _not_in_error(resource) and not _active_condition(resource)


def _current_medication(resource: Resource) -> bool:
    return resource.get("status") in ("active", "intended", "on-hold")


def _current_document(resource: Resource) -> bool:
    return resource.get("status") == "current"


def _active_flag(resource: Resource) -> bool:
    return resource.get("status") == "active"


SECTIONS: Final[tuple[Section, ...]] = (
    Section("alerts", "104605-1", "Alert", "Kritisk informasjon", ("Flag",), _active_flag),
    Section(
        "allergies",
        "48765-2",
        "Allergies and adverse reactions Document",
        "Allergier og intoleranser",
        ("AllergyIntolerance",),
        _not_in_error,
        required=True,
    ),
    Section(
        "problems",
        "11450-4",
        "Problem list - Reported",
        "Aktive problemer og diagnoser",
        ("Condition",),
        _active_condition,
        required=True,
    ),
    Section(
        "past-illness",
        "11348-0",
        "History of Past illness Narrative",
        "Tidligere sykdommer",
        ("Condition",),
        _past_condition,
    ),
    Section(
        "medications",
        "10160-0",
        "History of Medication use Narrative",
        "Legemidler",
        ("MedicationStatement", "MedicationRequest"),
        _current_medication,
        required=True,
    ),
    Section(
        "immunizations",
        "11369-6",
        "History of Immunization Narrative",
        "Vaksinasjoner",
        ("Immunization",),
        _not_in_error,
    ),
    Section(
        "results",
        "30954-2",
        "Relevant diagnostic tests/laboratory data Narrative",
        "Prøvesvar",
        ("DiagnosticReport", "Observation"),
        _not_in_error,
    ),
    Section(
        "procedures",
        "47519-4",
        "History of Procedures Document",
        "Prosedyrer",
        ("Procedure",),
        _not_in_error,
    ),
    Section(
        "encounters",
        "46240-8",
        "History of Hospitalizations+Outpatient visits Narrative",
        "Kontakter og opphold",
        ("Encounter",),
        _not_in_error,
    ),
    Section(
        "documents", "34109-9", "Note", "Dokumenter", ("DocumentReference",), _current_document
    ),
)

#: What is read of the record: (type, extra search parameters, at most how many).
_READS: Final[tuple[tuple[str, tuple[tuple[str, str], ...], int | None], ...]] = (
    ("Flag", (("status", "active"),), None),
    ("AllergyIntolerance", (), None),
    ("Condition", (), None),
    ("MedicationStatement", (("status", "active,intended,on-hold"),), None),
    ("MedicationRequest", (("status", "active,on-hold"),), None),
    ("Immunization", (("_sort", "-date"),), None),
    ("DiagnosticReport", (("_sort", "-date"),), REPORTS_LIMIT),
    ("Observation", (("category", "laboratory"), ("_sort", "-date")), OBSERVATIONS_LIMIT),
    ("Procedure", (("_sort", "-date"),), None),
    ("Encounter", (("_sort", "-date"),), ENCOUNTERS_LIMIT),
    ("DocumentReference", (("_sort", "-date"),), DOCUMENTS_LIMIT),
)


def ips_bundle(
    repo: GuardedRepository,
    patient_id: str,
    *,
    base: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The summary of ``patient_id``'s record as ``repo``'s actor may see it: a FHIR R4
    Bundle of type ``document`` (see the module docstring).

    Raises the repository's 404 when the actor may not see the patient (410 when the
    Patient was deleted). Types the actor may not read at all are left out, as a search
    leaves out rows. ``base`` is the FHIR base of the ``fullUrl`` s (default: the
    configured public FHIR base); ``now`` stamps the Bundle and the Composition.
    """
    base = (base or repo.settings.fhir_base_url).rstrip("/")
    stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    try:
        with repo.reading() as tx:
            patient = _Item.of(repo.read("Patient", patient_id, tx, audit=False))
            record = [_Item.of(row) for row in _read_record(repo, tx, patient_id)]
            members = {s.key: _section_members(s, record) for s in SECTIONS}
            listed = _unique(item for items in members.values() for item in items)
            linked = _read_linked(repo, tx, [patient, *listed], record)
            shown = [item.stored for item in (patient, *listed, *linked)]
            repo.gate.disclosed(tx, "operation", shown, query=f"Patient/{patient_id}/$summary")
    finally:
        if not repo.defer_audit:
            repo.trail.flush()
    return _assemble(base, stamp, patient.resource, members, [i.resource for i in listed], linked)


# -- reading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    """A resource read: the stored row (for the audit) and its parsed content."""

    stored: StoredResource
    resource: Resource

    @classmethod
    def of(cls, stored: StoredResource) -> _Item:
        return cls(stored, jsonio.loads(stored.content or "{}"))

    @property
    def key(self) -> tuple[str, str]:
        return (self.stored.res_type, self.stored.res_id)


def _unique(items: Iterable[_Item]) -> list[_Item]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            out.append(item)
    return out


def _may_search(repo: GuardedRepository, res_type: str) -> bool:
    return policy.decide(
        actor=repo.ctx.actor,
        action="search",
        res_type=res_type,
        record_type=repo.gate.record_type(res_type),
    ).allowed


def _search_all(
    repo: GuardedRepository,
    tx: SqlTransaction,
    res_type: str,
    items: list[tuple[str, str]],
    limit: int | None,
) -> list[StoredResource]:
    """Every match (at most ``limit``), page by page, filtered as the actor's search."""
    out: list[StoredResource] = []
    page = repo.settings.max_page_size
    while True:
        count = page if limit is None else min(page, limit - len(out))
        query = [*items, ("_count", str(count)), ("_offset", str(len(out)))]
        result = repo.search(res_type, query, tx, audit=False)
        out.extend(result.matches)
        if not result.has_more or not result.matches or (limit is not None and len(out) >= limit):
            return out


def _read_record(
    repo: GuardedRepository, tx: SqlTransaction, patient_id: str
) -> list[StoredResource]:
    found: list[StoredResource] = []
    for res_type, params, limit in _READS:
        if _may_search(repo, res_type):
            items = [("patient", patient_id), *params]
            found.extend(_search_all(repo, tx, res_type, items, limit))
    return found


def _section_members(section: Section, record: list[_Item]) -> list[_Item]:
    members = [
        item
        for item in record
        if item.stored.res_type in section.types and section.keep(item.resource)
    ]
    if section.key == "results":
        # A report's results are listed under the report, not again on their own.
        listed = {
            str((ref or {}).get("reference"))
            for item in members
            if item.stored.res_type == "DiagnosticReport"
            for ref in item.resource.get("result") or ()
        }
        members = [
            item
            for item in members
            if item.stored.res_type != "Observation"
            or f"Observation/{item.stored.res_id}" not in listed
        ]
    return members


def _references(resource: Any) -> Iterator[str]:
    """Every ``reference`` string inside ``resource``."""
    if isinstance(resource, dict):
        for key, value in resource.items():
            if key == "reference" and isinstance(value, str):
                yield value
            elif isinstance(value, dict | list):
                yield from _references(value)
    elif isinstance(resource, list):
        for item in resource:
            yield from _references(item)


def _read_linked(
    repo: GuardedRepository, tx: SqlTransaction, start: list[_Item], record: list[_Item]
) -> list[_Item]:
    """The resources of :data:`LINKED_TYPES` that ``start`` points at, and those they
    point at in turn (a few rounds), as far as the actor may see them: taken from
    ``record`` (already read) when there, else searched by id."""
    have = {item.key for item in start}
    read = {item.key: item for item in record}
    out: list[_Item] = []
    frontier = start
    for _round in range(_LINK_ROUNDS):
        wanted: dict[str, set[str]] = {}
        found: list[_Item] = []
        for item in frontier:
            for ref in _references(item.resource):
                res_type, _, res_id = ref.partition("/")
                key = (res_type, res_id)
                if res_type not in LINKED_TYPES or not res_id or "/" in res_id or key in have:
                    continue
                if key in read:
                    found.append(read[key])
                else:
                    wanted.setdefault(res_type, set()).add(res_id)
        for res_type, ids in sorted(wanted.items()):
            if not _may_search(repo, res_type):
                continue
            ordered = sorted(ids)
            for first in range(0, len(ordered), _ID_CHUNK):
                chunk = ordered[first : first + _ID_CHUNK]
                items = [("_id", ",".join(chunk)), ("_count", str(len(chunk)))]
                found.extend(
                    _Item.of(row) for row in repo.search(res_type, items, tx, audit=False).matches
                )
        frontier = [item for item in _unique(found) if item.key not in have]
        have.update(item.key for item in frontier)
        out.extend(frontier)
        if not frontier:
            break
    return out


# -- the document --------------------------------------------------------------------------


def _full_url(base: str, resource: Resource) -> str:
    return f"{base}/{resource['resourceType']}/{resource['id']}"


def national_id(patient: Resource) -> str:
    """The fødselsnummer (else the D-nummer) of ``patient``, or ''."""
    for system in (FNR_SYSTEM, DNR_SYSTEM):
        for ident in patient.get("identifier") or ():
            if isinstance(ident, dict) and ident.get("system") == system and ident.get("value"):
                return str(ident["value"])
    return ""


def reference_index(base: str, resources: Iterable[Resource]) -> dict[str, Resource]:
    """Resources by ``Type/id`` and by full URL, for resolving references."""
    index: dict[str, Resource] = {}
    for r in resources:
        key = f"{r['resourceType']}/{r['id']}"
        index[key] = r
        index[f"{base}/{key}"] = r
    return index


def _narrative(rows: list[summary_rows.Row], empty: str) -> dict[str, str]:
    if rows:
        items = "".join(
            "<li>"
            + html.escape(" — ".join(p for p in (row.what, row.when, row.detail) if p) or "-")
            + "</li>"
            for row in rows
        )
        body = f"<ul>{items}</ul>"
    else:
        body = f"<p>{html.escape(empty)}</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def _assemble(
    base: str,
    stamp: str,
    patient: Resource,
    members: dict[str, list[_Item]],
    listed: list[Resource],
    linked: list[_Item],
) -> dict[str, Any]:
    linked_resources = [item.resource for item in linked]
    index = reference_index(base, [patient, *listed, *linked_resources])
    composition_id, device_id, bundle_id = (str(uuid.uuid4()) for _ in range(3))
    device_url = f"urn:uuid:{device_id}"
    patient_url = _full_url(base, patient)
    name = summary_rows.person_name(patient)
    sections: list[dict[str, Any]] = []
    for section in SECTIONS:
        resources = [item.resource for item in members[section.key]]
        if not resources and not section.required:
            continue
        rows = [row for r in resources for row in summary_rows.rows(r, index)]
        entry: dict[str, Any] = {
            "title": section.title,
            "code": {
                "coding": [{"system": LOINC, "code": section.code, "display": section.display}]
            },
            "text": _narrative(rows, "Ingenting registrert."),
        }
        if resources:
            entry["entry"] = [{"reference": _full_url(base, r)} for r in resources]
        else:
            entry["emptyReason"] = {
                "coding": [
                    {
                        "system": LIST_EMPTY_REASON,
                        "code": "unavailable",
                        "display": "Unavailable",
                    }
                ]
            }
        sections.append(entry)
    composition: Resource = {
        "resourceType": "Composition",
        "id": composition_id,
        "language": "nb",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{composition_id}"},
        "status": "final",
        "type": {"coding": [{"system": LOINC, "code": SUMMARY_CODE, "display": SUMMARY_DISPLAY}]},
        "subject": {"reference": patient_url, **({"display": name} if name else {})},
        "date": stamp,
        "author": [{"reference": device_url, "display": "Fellesjournal"}],
        "title": TITLE,
        "confidentiality": "N",
        "event": [
            {
                "code": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ActClass",
                                "code": "PCPR",
                            }
                        ]
                    }
                ],
                "period": {"end": stamp},
            }
        ],
        "section": sections,
    }
    device: Resource = {
        "resourceType": "Device",
        "id": device_id,
        "deviceName": [{"name": "Fellesjournal", "type": "user-friendly-name"}],
        "type": {"text": "Fellesjournal, felles pasientjournal"},
    }
    entries = [
        {"fullUrl": f"urn:uuid:{composition_id}", "resource": composition},
        {"fullUrl": device_url, "resource": device},
        {"fullUrl": patient_url, "resource": patient},
        *({"fullUrl": _full_url(base, r), "resource": r} for r in [*listed, *linked_resources]),
    ]
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "language": "nb",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{bundle_id}"},
        "type": "document",
        "timestamp": stamp,
        "entry": entries,
    }

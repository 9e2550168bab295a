"""Reading a patient's record for a portal page, through the citizen's repository.

A page reads the record as a chart (``GuardedRepository.chart``: the types it shows in
one query, each row judged as a read by id, so the release rules of
``access/release.py`` apply exactly as in the FHIR API) and notes what it showed as one
access (:func:`read_chart`). Units and organisations are directory data, looked up by id
without being audited (:class:`Units`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fellesjournal.access.context import legal_organization
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.search.normalize import date_range
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]
#: The longest chain of ``partOf`` followed to name a unit's organisation.
MAX_CHAIN = 8


def load(stored: StoredResource) -> Resource:
    value = jsonio.loads(stored.content) if stored.content else {}
    return value if isinstance(value, dict) else {}


def read_chart(
    repo: GuardedRepository, patient_id: str, types: Iterable[str], query: str
) -> tuple[Resource, dict[str, list[Resource]]]:
    """The Patient and the resources of ``types`` in their record that the actor may
    see (current versions), noted as one read named ``query``. Raises the repository's
    404 when the actor may not see the patient."""
    wanted = list(types)
    with repo.reading() as tx:
        patient, rows = repo.chart(patient_id, wanted, tx)
        repo.gate.disclosed(tx, "read", [patient, *rows], query=query)
    repo.trail.flush()
    out: dict[str, list[Resource]] = {t: [] for t in wanted}
    for row in rows:
        out.setdefault(row.res_type, []).append(load(row))
    return load(patient), out


def read_one(repo: GuardedRepository, res_type: str, res_id: str) -> Resource:
    """One resource of the record, read by id as the actor (404 when it is not theirs
    to see, or not released to them)."""
    return load(repo.read(res_type, res_id))


def ref_id(value: Any, res_type: str) -> str | None:
    """The id in a Reference to ``res_type`` (``Type/id``), else None."""
    ref = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(ref, str):
        return None
    parts = ref.split("/")
    if len(parts) >= 2 and parts[-2] == res_type and parts[-1]:
        return parts[-1]
    return None


def text(concept: Any) -> str:
    """The words of a CodeableConcept: its ``text``, else the first coding's display."""
    if not isinstance(concept, dict):
        return ""
    if isinstance(concept.get("text"), str) and concept["text"]:
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and coding.get("display"):
            return str(coding["display"])
    return ""


def code(concept: Any, system: str | None = None) -> str:
    """The first code of a CodeableConcept (in ``system``, when given)."""
    if not isinstance(concept, dict):
        return ""
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and (system is None or coding.get("system") == system):
            return str(coding.get("code") or "")
    return ""


def when(resource: Resource, *fields: str) -> str:
    """The first of ``fields`` that holds a date (a Period counts by its start)."""
    for name in fields:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start")
        if isinstance(value, str) and value:
            return value
    return ""


def sort_key(value: str) -> int:
    """A FHIR date or dateTime as a number to sort by (0 when unreadable)."""
    try:
        return date_range(value)[0] if value else 0
    except ValueError:
        return 0


def newest_first(resources: list[Resource], *fields: str) -> list[Resource]:
    return sorted(resources, key=lambda r: sort_key(when(r, *fields)), reverse=True)


@dataclass
class Units:
    """Names of units and their organisations (hospital trust, municipality), looked
    up through the actor's repository and kept for one page."""

    repo: GuardedRepository
    tx: SqlTransaction | None = None
    _orgs: dict[str, Resource] = field(default_factory=dict)

    def _fetch(self, ids: set[str]) -> None:
        # Reads by id, not a search: a search's access filter carries the citizen's
        # release clause, which costs more to build than these few reads take.
        for res_id in sorted(i for i in ids if i not in self._orgs):
            try:
                stored = self.repo.read("Organization", res_id, self.tx, audit=False)
            except FhirError as exc:
                if exc.status not in (404, 410):
                    raise
                self._orgs[res_id] = {}
            else:
                self._orgs[res_id] = load(stored)

    def prepare(self, unit_ids: Iterable[str]) -> None:
        """Fetch ``unit_ids`` and the organisations above them (a few searches)."""
        wanted = {u for u in unit_ids if u}
        for _level in range(MAX_CHAIN):
            self._fetch(wanted)
            wanted = {
                parent
                for org in (self._orgs.get(u, {}) for u in wanted)
                if (parent := ref_id(org.get("partOf"), "Organization")) is not None
            } - self._orgs.keys()
            if not wanted:
                return

    def _parents(self, unit_id: str) -> tuple[str, ...]:
        out: list[str] = []
        current = self._orgs.get(unit_id, {})
        while len(out) < MAX_CHAIN:
            parent = ref_id(current.get("partOf"), "Organization")
            if parent is None or parent in out:
                break
            out.append(parent)
            current = self._orgs.get(parent, {})
        return tuple(out)

    def name(self, unit_id: str | None, fallback: str = "") -> str:
        if not unit_id:
            return fallback
        return str(self._orgs.get(unit_id, {}).get("name") or fallback)

    def organization(self, unit_id: str | None) -> str:
        """The name of the hospital trust or municipality ``unit_id`` belongs to."""
        if not unit_id:
            return ""
        legal = legal_organization(unit_id, self._parents(unit_id))
        return "" if legal == unit_id else self.name(legal)

    def of(self, reference: Any) -> tuple[str, str]:
        """(unit name, organisation name) of an Organization Reference."""
        unit_id = ref_id(reference, "Organization")
        fallback = str(reference.get("display") or "") if isinstance(reference, dict) else ""
        return self.name(unit_id, fallback), self.organization(unit_id)

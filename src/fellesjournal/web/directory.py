"""Staff directory look-ups for signing in: who a health worker is and where they work.

Practitioner, PractitionerRole and Organization are not patient data; they are read
through a system repository, as the token resolver does (``access/resolve.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fellesjournal.access.actor import Actor
from fellesjournal.access.resolve import NotResolved, store_reader, work_context
from fellesjournal.fhir import jsonio
from fellesjournal.norway.identifiers import HPR_SYSTEM
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore


@dataclass(frozen=True, slots=True)
class RoleChoice:
    """One work context a health worker may choose."""

    role_id: str
    role: str  #: ``doctor``, ``nurse``...
    unit_id: str
    unit_name: str
    organization_name: str


class Directory:
    """Look-ups on the staff directory (one per application)."""

    def __init__(self, store: SqlStore, settings: Settings) -> None:
        self._store = store
        self._settings = settings

    def _repo(self) -> GuardedRepository:
        actor = Actor("system", "workspace-directory", scopes=("system/*.read",))
        return GuardedRepository(
            self._store, self._settings, RequestContext(actor=actor, audited=False)
        )

    def _search(self, res_type: str, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        found = self._repo().search(res_type, items, audit=False)
        return [jsonio.loads(r.content) for r in found.matches if r.content]

    def practitioner_by_hpr(self, hpr: str) -> tuple[str, str] | None:
        """(Practitioner id, display name) of the holder of HPR-nummer ``hpr``."""
        found = self._search("Practitioner", [("identifier", f"{HPR_SYSTEM}|{hpr}")])
        if not found:
            return None
        return str(found[0]["id"]), person_name(found[0])

    def name_of(self, practitioner_id: str) -> str:
        found = self._search("Practitioner", [("_id", practitioner_id)])
        return person_name(found[0]) if found else practitioner_id

    def roles_of(self, hpr: str, practitioner_id: str) -> list[RoleChoice]:
        """The work contexts (active PractitionerRoles) a practitioner may choose, named
        as the token resolver names them (unit, legal organisation)."""
        roles = self._search(
            "PractitionerRole",
            [("practitioner", f"Practitioner/{practitioner_id}"), ("active", "true")],
        )
        read = store_reader(self._store)
        out = []
        for role in roles:
            try:
                work = work_context(
                    read, hpr=hpr, role_id=str(role["id"]), practitioner_id=practitioner_id
                )
            except NotResolved:
                continue  # not a usable context (unit inactive, role expired...)
            out.append(
                RoleChoice(
                    work.role_id,
                    work.role,
                    work.unit_id,
                    work.unit_name or work.unit_id,
                    work.organization_name,
                )
            )
        return sorted(out, key=lambda c: (c.organization_name, c.unit_name, c.role))


def person_name(resource: dict[str, Any]) -> str:
    """``Given Family`` of the first name of a Patient or Practitioner."""
    for name in resource.get("name") or ():
        if isinstance(name, dict):
            given = " ".join(g for g in name.get("given") or () if isinstance(g, str))
            text = f"{given} {name.get('family') or ''}".strip()
            if text:
                return text
            if isinstance(name.get("text"), str):
                return str(name["text"])
    return str(resource.get("id", ""))

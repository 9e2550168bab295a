"""What the workflows need to know about a unit: is it a member, who works there, who
leads it, where do its messages go. Read from the stored Organizations, PractitionerRoles
and Endpoints (the region seed and ``fellesjournal org join`` keep them), per call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from fellesjournal.fhir import jsonio
from fellesjournal.region.fhir import KIND_SYSTEM, ROLE_SYSTEM, membership_of
from fellesjournal.store.sql import SqlTransaction

Resource = dict[str, Any]
#: ``Endpoint.connectionType`` of a receiver that takes FHIR messages over HTTP.
FHIR_MESSAGING: Final = "hl7-fhir-msg"

Search = Callable[[str, list[tuple[str, str]]], list[str]]

if TYPE_CHECKING:
    from fellesjournal.service.repository import GuardedRepository


def search_ids(
    repo: GuardedRepository, tx: SqlTransaction, res_type: str, params: list[Any], count: int
) -> list[str]:
    """Ids of current resources matching ``params``, unfiltered: the workflows' own
    look-ups (what is then read or written goes through the repository's checks)."""
    from fellesjournal.service.searching import Searcher

    req = repo.parser.parse(res_type, params)
    req.count = count
    req.total = "none"
    return Searcher(tx, repo.store.registry).ids(req)


def searcher(repo: GuardedRepository, tx: SqlTransaction, count: int = 1000) -> Search:
    """:func:`search_ids` bound to ``repo``, ``tx`` and ``count``."""
    return lambda res_type, params: search_ids(repo, tx, res_type, params, count)


@dataclass(frozen=True, slots=True)
class UnitInfo:
    id: str
    name: str
    active: bool
    membership: str | None  #: ``member``, ``option`` or None (an Organization from outside)
    kind: str | None  #: the region model's kind (``ward``, ``hjemmetjeneste``...)
    parent: str | None  #: ``partOf`` id

    @property
    def reference(self) -> str:
        return f"Organization/{self.id}"

    @property
    def member(self) -> bool:
        """A member of the shared record: its work lands in its queues here. An active
        Organization without the marker (created by an operator) counts as one."""
        return self.active and self.membership != "option"


def _read(tx: SqlTransaction, res_type: str, res_id: str) -> Resource | None:
    stored = tx.read(res_type, res_id)
    if stored is None or stored.deleted or stored.content is None:
        return None
    return dict(jsonio.loads(stored.content))


def unit(tx: SqlTransaction, reference: str | None) -> UnitInfo | None:
    """The unit ``Organization/id`` names (None: not an Organization reference, or absent)."""
    if not reference or not reference.startswith("Organization/") or reference.count("/") != 1:
        return None
    org_id = reference.split("/", 1)[1]
    org = _read(tx, "Organization", org_id)
    if org is None:
        return None
    kind = None
    for concept in org.get("type") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == KIND_SYSTEM:
                kind = coding.get("code")
    parent = (org.get("partOf") or {}).get("reference") or ""
    return UnitInfo(
        id=org_id,
        name=str(org.get("name") or org_id),
        active=org.get("active", True) is not False,
        membership=membership_of(org),
        kind=kind,
        parent=parent.split("/", 1)[1] if parent.startswith("Organization/") else None,
    )


def staff_roles(search: Search, unit_id: str, role: str | None = None) -> list[str]:
    """Ids of the active PractitionerRoles at the unit (in ``role``, when given)."""
    params = [("organization", f"Organization/{unit_id}"), ("active", "true")]
    if role:
        params.append(("role", f"{ROLE_SYSTEM}|{role}"))
    return search("PractitionerRole", params)


def unit_of_role(tx: SqlTransaction, reference: str | None) -> str | None:
    """The unit (``Organization/id``) of ``PractitionerRole/id``, or the Organization
    itself when ``reference`` names one."""
    if not reference:
        return None
    if reference.startswith("Organization/"):
        return reference
    if reference.startswith("PractitionerRole/"):
        role = _read(tx, "PractitionerRole", reference.split("/", 1)[1])
        ref = ((role or {}).get("organization") or {}).get("reference")
        return ref if isinstance(ref, str) else None
    return None


def role_active(tx: SqlTransaction, reference: str | None) -> bool:
    """Is ``PractitionerRole/id`` stored and active (the person still works there)?"""
    if not reference or not reference.startswith("PractitionerRole/"):
        return False
    role = _read(tx, "PractitionerRole", reference.split("/", 1)[1])
    return role is not None and role.get("active", True) is not False


def message_endpoint(tx: SqlTransaction, search: Search, unit_id: str) -> Resource | None:
    """The active FHIR-messaging Endpoint of a unit outside the shared record, if any."""
    for endpoint_id in search(
        "Endpoint", [("organization", f"Organization/{unit_id}"), ("status", "active")]
    ):
        endpoint = _read(tx, "Endpoint", endpoint_id)
        if endpoint and (endpoint.get("connectionType") or {}).get("code") == FHIR_MESSAGING:
            return endpoint
    return None

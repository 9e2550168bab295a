"""The work context a health worker acts in, and the citizen behind a patient token.

A practitioner's token names one PractitionerRole (the work context chosen at sign-in):
the Practitioner (HPR-nummer), the unit (an Organization, ``PractitionerRole.organization``)
with its ``partOf`` chain up to the health trust or municipality, the role (what they do
there) and the profession. Access decisions (``access/policy.py``,
``access/relations.py``) read it from here; it is resolved from the stored resources once
per role and cached briefly.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WorkContext:
    """One health worker in one work context."""

    practitioner_id: str  #: ``Practitioner`` id, e.g. ``hpr-991234567``
    hpr: str  #: HPR-nummer
    role_id: str  #: ``PractitionerRole`` id
    unit_id: str  #: ``Organization`` id of the unit (``PractitionerRole.organization``)
    #: The unit's ``partOf`` chain, nearest first, ending at the health trust or
    #: municipality and then the RHF (e.g. ``("stolav-medisin", "stolav", "hmn")``).
    parents: tuple[str, ...]
    #: ``doctor``, ``nurse``, ``secretary``, ``therapist``, ``unit-leader`` or
    #: ``privacy-officer`` (``fellesjournal.region.model.ROLES``)
    role: str
    profession: str | None = None  #: Volven 9060 code, e.g. ``LE``, ``SP``
    specialty: str | None = None  #: Volven 8655 code of the unit/role, when known
    #: Confidentiality labels this role or unit is cleared to read (``PSY``, ``SEX``...):
    #: codes of :data:`fellesjournal.access.labels.CLEARANCE_SYSTEM` on the role's
    #: ``code`` or the unit's ``type``.
    clearances: frozenset[str] = frozenset()
    #: Names for the audit log and the citizen's access list (as stored at resolution).
    practitioner_name: str = ""
    unit_name: str = ""
    organization_name: str = ""

    @property
    def organization_id(self) -> str:
        """The legal organisation (health trust or municipality) the unit belongs to:
        the organisation just below the top of the ``partOf`` chain (the top being the
        RHF), or the top itself for a chain of one, or the unit when it has no parent."""
        return legal_organization(self.unit_id, self.parents)

    @property
    def organizations(self) -> tuple[str, ...]:
        """The unit and every organisation above it."""
        return (self.unit_id, *self.parents)


def legal_organization(unit_id: str, parents: tuple[str, ...]) -> str:
    """See :attr:`WorkContext.organization_id`."""
    if len(parents) >= 2:
        return parents[-2]
    return parents[-1] if parents else unit_id


@dataclass(frozen=True, slots=True)
class Proxy:
    """Whom a citizen acts for, and how far (``access/proxy.py``, docs/portal.md).

    ``relation`` is ``parent`` or ``fullmakt``; ``level`` the effective proxy-access
    level (a parent's follows the child's age); ``related_person_id`` the RelatedPerson
    that grants it; ``name`` the proxy's name (for the audit log).
    """

    related_person_id: str
    relation: str
    level: str
    name: str


@dataclass(frozen=True, slots=True)
class CitizenContext:
    """The citizen behind a patient token and the record they act on.

    ``fnr`` is the signed-in person's number. ``patient_id`` is their own Patient, or,
    with ``proxy`` set, the Patient they act for.
    """

    fnr: str
    patient_id: str
    proxy: Proxy | None = None

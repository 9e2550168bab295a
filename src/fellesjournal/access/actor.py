"""Who is asking: the actor behind a request, built once from the verified token.

Claims we read (the built-in issuer sets the first group; trusted external issuers may
send either group):

* ``fhir_actor``: ``system``, ``practitioner`` or ``patient`` (anything else: anonymous).
  ``fhirUser`` (``Practitioner/{id}`` or ``Patient/{id}``), ``fj_role``
  (``PractitionerRole/{id}``, the work context) and ``fj_permissions`` (special
  permissions) complete the picture; ``sub`` is the HPR-nummer or fødselsnummer.
* HelseID (personnel): :data:`HELSEID_HPR_CLAIM` carries the HPR-nummer. ID-porten
  (citizens): :data:`IDPORTEN_PID_CLAIM` carries the fødselsnummer or D-nummer. A token
  without ``fhir_actor`` that carries one of these is a practitioner's or a citizen's.

The work context and the citizen's record are attached by
:class:`fellesjournal.access.resolve.ContextResolver`, which checks them against the
stored PractitionerRole and Patient on every request (cached briefly).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from fellesjournal.access.context import CitizenContext, WorkContext

#: HelseID's claim for the HPR-nummer of the signed-in health worker.
HELSEID_HPR_CLAIM: Final = "helseid://claims/hpr/hpr_number"
#: ID-porten's claim for the citizen's fødselsnummer or D-nummer.
IDPORTEN_PID_CLAIM: Final = "pid"


@dataclass(frozen=True, slots=True)
class Actor:
    """A system client, a health worker in one work context, or a citizen.

    ``kind`` is ``"system"``, ``"practitioner"`` or ``"patient"``. ``scopes`` are the
    SMART scopes of the token; they narrow, never widen, what the policy allows.
    ``work`` (practitioners) and ``citizen`` (patients) are set once the token's
    identity has been checked against the stored data; an actor of those kinds without
    them has not been resolved and must be denied everything.
    """

    kind: str
    subject: str
    scopes: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    work: WorkContext | None = None
    citizen: CitizenContext | None = None

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def permissions(self) -> frozenset[str]:
        """Special permissions granted by the token's ``fj_permissions`` claim."""
        granted = self.claims.get("fj_permissions")
        if not isinstance(granted, list):
            return frozenset()
        return frozenset(p for p in granted if isinstance(p, str))

    @property
    def sees_protected_addresses(self) -> bool:
        """May this actor see fortrolig and strengt fortrolig addresses in the clear?"""
        return PROTECTED_ADDRESSES in self.permissions


#: The permission to see protected (fortrolig / strengt fortrolig) addresses.
PROTECTED_ADDRESSES = "protected-addresses"

ANONYMOUS = Actor(kind="anonymous", subject="anonymous")


def actor_from_claims(claims: dict[str, Any], scopes: tuple[str, ...]) -> Actor:
    """Map verified token claims to an :class:`Actor` (``fhir_actor`` names the kind).

    Without ``fhir_actor``, a HelseID HPR claim makes a practitioner and an ID-porten
    ``pid`` a patient (see the module docstring). Contexts are not resolved here.
    """
    kind = str(claims.get("fhir_actor") or _external_kind(claims))
    if kind not in ("system", "practitioner", "patient"):
        kind = "anonymous"
    return Actor(kind=kind, subject=str(claims.get("sub", "")), scopes=scopes, claims=claims)


def _external_kind(claims: dict[str, Any]) -> str:
    if claims.get(HELSEID_HPR_CLAIM):
        return "practitioner"
    if claims.get(IDPORTEN_PID_CLAIM):
        return "patient"
    return "anonymous"

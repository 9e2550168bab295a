"""Who is asking: the actor behind a request, built once from the verified token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """A system client, a health worker in one work context, or a citizen.

    ``kind`` is ``"system"``, ``"practitioner"`` or ``"patient"``. ``scopes`` are the
    SMART scopes of the token; they narrow, never widen, what the policy allows.
    """

    kind: str
    subject: str
    scopes: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

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
    """Map verified token claims to an :class:`Actor` (``fhir_actor`` names the kind)."""
    kind = str(claims.get("fhir_actor") or "anonymous")
    if kind not in ("system", "practitioner", "patient"):
        kind = "anonymous"
    return Actor(kind=kind, subject=str(claims.get("sub", "")), scopes=scopes, claims=claims)

"""Confidentiality labels: restricted resources only roles or units cleared for them see.

A resource is *restricted* when its ``meta.security`` carries one of :data:`RESTRICTED`:
the HL7 confidentiality codes ``R`` (restricted) and ``V`` (very restricted), or one of
the HL7 sensitivity codes for psychiatry (``PSY``), sexual and reproductive health
(``SEX``, ``STD``, ``HIV``), substance abuse (``ETH``), sexual violence (``SDV``) and
social and child welfare matters (``SOC``). Each label needs its own clearance: a code of
:data:`CLEARANCE_SYSTEM` equal to the label's code, on the PractitionerRole's ``code`` (the
person's clearance) or on the unit Organization's ``type`` (every role at, say, a
psychiatric outpatient clinic). A resource with two labels needs both clearances.

Citizens see their own labelled resources (what is withheld from them is a separate
rule); system clients see everything their scopes allow.

The check is made in two places with the same rule: :func:`uncleared` on one resource
(reads by id) and :func:`hidden_clause` in SQL (searches, includes, history, ``$everything``),
over the ``_security`` rows of the token index.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import sqlalchemy as sa

from fellesjournal.fhir import jsonio
from fellesjournal.store import schema

CLEARANCE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/clearance"
CONFIDENTIALITY: Final = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

#: (system, code) of the labels that restrict a resource.
RESTRICTED: Final = frozenset(
    {(CONFIDENTIALITY, "R"), (CONFIDENTIALITY, "V")}
    | {(ACT_CODE, c) for c in ("PSY", "SEX", "STD", "HIV", "ETH", "SDV", "SOC")}
)

TOK = schema.idx_token


def labels_of(content: str | None) -> set[tuple[str, str]]:
    """The restricting labels of a stored resource (its JSON text)."""
    if not content or '"security"' not in content:
        return set()
    resource = jsonio.loads(content)
    found: set[tuple[str, str]] = set()
    for coding in (resource.get("meta") or {}).get("security") or ():
        if isinstance(coding, dict):
            pair = (str(coding.get("system") or ""), str(coding.get("code") or ""))
            if pair in RESTRICTED:
                found.add(pair)
    return found


def uncleared(content: str | None, clearances: frozenset[str]) -> list[str]:
    """The codes of the labels on ``content`` that ``clearances`` does not cover."""
    return sorted(code for _system, code in labels_of(content) if code not in clearances)


def hidden_clause(res_type: Any, res_id: Any, clearances: Iterable[str]) -> Any:
    """SQL: the resource at (``res_type``, ``res_id``) carries a label not cleared.

    The columns may be those of ``resources`` or ``resource_history`` (a version is
    judged by the labels of the current version, which the index holds).
    """
    cleared = set(clearances)
    pairs = sorted(p for p in RESTRICTED if p[1] not in cleared)
    if not pairs:
        return sa.false()
    return sa.exists().where(
        TOK.c.res_type == res_type,
        TOK.c.res_id == res_id,
        TOK.c.param == "_security",
        sa.or_(*[sa.and_(TOK.c.system == s, TOK.c.code == c) for s, c in pairs]),
    )

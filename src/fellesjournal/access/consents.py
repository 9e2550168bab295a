"""Patient blocks (sperring) and break-the-glass grants, both kept as FHIR Consent.

* A **block** (pasient- og brukerrettighetsloven § 5-3) is a Consent with
  ``provision.type = deny``, category :data:`BLOCK`, ``provision.actor`` naming the
  Practitioner, PractitionerRole or Organization (unit or whole organisation) that may
  not see the record, and optionally ``provision.data`` naming the resources blocked
  (none: the whole record, now and in future). A block on a named practitioner holds even
  in an emergency; one on a unit or organisation yields only to break-the-glass.
* A **break-the-glass grant** is a Consent with ``provision.type = permit``, category
  :data:`BREAK_GLASS`, the practitioner and their role as ``provision.actor``, and
  ``provision.period`` the few hours it lasts; the reason is the Consent's
  ``policyRule`` (:data:`REASONS`) and its free text an extension.

Keeping both as Consent makes them ordinary, versioned, audited resources in the
patient's compartment, findable with the index tables: the queries below use the
Consent search parameters ``category``, ``status``, ``actor``, ``period`` and the
compartment column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from fellesjournal.access.context import WorkContext
from fellesjournal.fhir import jsonio
from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource
from fellesjournal.store.sql import SqlTransaction

CATEGORY_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/consent-category"
BLOCK: Final = "sperring"
BREAK_GLASS: Final = "break-the-glass"
REASON_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/break-glass-reason"
#: Break-the-glass reasons: code -> Norwegian display.
REASONS: Final = {
    "emergency": "Akutt helsehjelp (nødrett)",
    "consent": "Samtykke fra pasienten",
    "other": "Annen grunn",
}
TEXT_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/break-glass-text"
SCOPE: Final = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy",
        }
    ]
}

R = schema.resources
#: The Consent rows, aliased: these queries are embedded in the access filter of
#: searches over ``resources`` and must not correlate with the outer rows.
C = schema.resources.alias("consent_rows")
TOK = schema.idx_token
REF = schema.idx_reference
DATE = schema.idx_date
DATA = schema.idx_reference.alias("blocked_data")


@dataclass(frozen=True, slots=True)
class Block:
    """One active block that names the caller (or their unit or organisation)."""

    consent_id: str
    actor: str  #: the reference the block names, e.g. ``Organization/stolav``
    kind: str  #: ``practitioner``, ``role``, ``unit`` or ``organization``
    resources: tuple[str, ...]  #: blocked resources (``Type/id``); empty: the whole record

    @property
    def whole_record(self) -> bool:
        return not self.resources

    @property
    def yields_to_break_glass(self) -> bool:
        """A block on a named person holds even in an emergency; others yield."""
        return self.kind not in ("practitioner", "role")


def _provision_actor(ref: str) -> dict[str, Any]:
    """A ``provision.actor``: the person or organisation the provision is about."""
    role = {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "PRCP"}
    return {"role": {"coding": [role]}, "reference": {"reference": ref}}


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}]}]


def block_consent(
    patient_id: str,
    actor_ref: str,
    *,
    resources: Iterable[str] = (),
    performer: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """A block of ``actor_ref`` from the patient's record (or from ``resources`` only)."""
    provision: dict[str, Any] = {
        "type": "deny",
        "actor": [_provision_actor(actor_ref)],
    }
    data = [{"meaning": "instance", "reference": {"reference": r}} for r in resources]
    if data:
        provision["data"] = data
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "status": "active",
        "scope": SCOPE,
        "category": _category(BLOCK, "Sperring av journalopplysninger"),
        "patient": {"reference": f"Patient/{patient_id}"},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}
            ]
        },
        "provision": provision,
    }
    if performer:
        consent["performer"] = [{"reference": performer}]
    if text:
        consent["text"] = {
            "status": "additional",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{_escape(text)}</div>',
        }
    return consent


def break_glass_consent(
    patient_id: str, ctx: WorkContext, reason: str, text: str, start: str, end: str
) -> dict[str, Any]:
    """A time-limited grant for ``ctx``'s practitioner to read the patient's record."""
    if reason not in REASONS:
        raise ValueError(f"unknown break-the-glass reason {reason!r}")
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": SCOPE,
        "category": _category(BREAK_GLASS, "Akuttilgang (break-the-glass)"),
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": start,
        "performer": [{"reference": f"Practitioner/{ctx.practitioner_id}"}],
        "policyRule": {
            "coding": [{"system": REASON_SYSTEM, "code": reason, "display": REASONS[reason]}],
            "text": text,
        },
        "extension": [{"url": TEXT_EXTENSION, "valueString": text}],
        "provision": {
            "type": "permit",
            "period": {"start": start, "end": end},
            "actor": [_provision_actor(f"Practitioner/{ctx.practitioner_id}")],
        },
    }


def is_block_naming(resource: dict[str, Any] | StoredResource | None, ctx: WorkContext) -> bool:
    """Whether a Consent is a block (sperring) that names the caller, their role, unit
    or an organisation above it: one the blocked may not change or lift."""
    if isinstance(resource, StoredResource):
        if not resource.content or BLOCK not in resource.content:
            return False
        resource = jsonio.loads(resource.content)
    if not isinstance(resource, dict) or not _has_category(resource, BLOCK):
        return False
    refs = actor_refs(ctx)
    provision = resource.get("provision") or {}
    return any(
        isinstance(a, dict) and ((a.get("reference") or {}).get("reference") in refs)
        for a in provision.get("actor") or ()
    )


def _has_category(resource: dict[str, Any], code: str) -> bool:
    return any(
        isinstance(coding, dict)
        and coding.get("system") == CATEGORY_SYSTEM
        and coding.get("code") == code
        for concept in resource.get("category") or ()
        if isinstance(concept, dict)
        for coding in concept.get("coding") or ()
    )


def is_block(resource: dict[str, Any]) -> bool:
    """Whether a Consent is a block (sperring), whoever it names."""
    return _has_category(resource, BLOCK)


def is_break_glass_grant(resource: dict[str, Any] | StoredResource | None) -> bool:
    """Whether a Consent (a resource, or a stored version) is a break-the-glass grant."""
    if isinstance(resource, StoredResource):
        if not resource.content or BREAK_GLASS not in resource.content:
            return False
        resource = jsonio.loads(resource.content)
    return isinstance(resource, dict) and _has_category(resource, BREAK_GLASS)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def actor_refs(ctx: WorkContext) -> dict[str, str]:
    """The references a consent may name the caller by, with their kind."""
    refs = {
        f"Practitioner/{ctx.practitioner_id}": "practitioner",
        f"PractitionerRole/{ctx.role_id}": "role",
        f"Organization/{ctx.unit_id}": "unit",
    }
    for org in ctx.parents:
        refs[f"Organization/{org}"] = "organization"
    return refs


def _split(ref: str) -> tuple[str, str]:
    rtype, _, rid = ref.partition("/")
    return rtype, rid


def _consents(category: str) -> sa.Select[Any]:
    """Current, active Consents of one category: (res_id, patient_id)."""
    is_category = sa.select(TOK.c.res_id).where(
        TOK.c.res_type == "Consent",
        TOK.c.param == "category",
        TOK.c.code == category,
        TOK.c.system == CATEGORY_SYSTEM,
    )
    is_active = sa.select(TOK.c.res_id).where(
        TOK.c.res_type == "Consent", TOK.c.param == "status", TOK.c.code == "active"
    )
    return sa.select(C.c.res_id, C.c.patient_id).where(
        C.c.res_type == "Consent",
        C.c.deleted.is_(False),
        C.c.res_id.in_(is_category),
        C.c.res_id.in_(is_active),
    )


def _naming(refs: Iterable[str]) -> sa.Select[Any]:
    conds = [sa.and_(REF.c.target_type == t, REF.c.target_id == i) for t, i in map(_split, refs)]
    return sa.select(REF.c.res_id).where(
        REF.c.res_type == "Consent", REF.c.param == "actor", sa.or_(*conds)
    )


def blocks_against(tx: SqlTransaction, ctx: WorkContext, patient_id: str) -> list[Block]:
    """The patient's active blocks that name the caller, their role, unit or organisation."""
    refs = actor_refs(ctx)
    consents = _consents(BLOCK).where(C.c.patient_id == patient_id, C.c.res_id.in_(_naming(refs)))
    return _blocks(tx, [row[0] for row in tx.execute(consents)], refs)


def blocks_against_many(
    tx: SqlTransaction, ctx: WorkContext, patient_ids: list[str]
) -> dict[str, list[Block]]:
    """:func:`blocks_against` for many patients in one query, by patient."""
    refs = actor_refs(ctx)
    found: dict[str, list[str]] = {}
    for start in range(0, len(patient_ids), 500):
        chunk = patient_ids[start : start + 500]
        consents = (
            _consents(BLOCK)
            .where(C.c.patient_id.in_(chunk), C.c.res_id.in_(_naming(refs)))
            .with_only_columns(C.c.res_id, C.c.patient_id)
        )
        for consent_id, patient_id in tx.execute(consents):
            found.setdefault(patient_id, []).append(consent_id)
    return {pid: _blocks(tx, ids, refs) for pid, ids in found.items()}


def _blocks(tx: SqlTransaction, ids: list[str], refs: dict[str, str]) -> list[Block]:
    out: list[Block] = []
    for consent_id in ids:
        stored = tx.read("Consent", consent_id)
        if stored is None or stored.content is None:
            continue
        # A sperring Consent is a block whatever its provision.type says, as the SQL
        # filter (blocked_patients) counts it: the two must never disagree.
        provision = jsonio.loads(stored.content).get("provision") or {}
        resources = tuple(
            str(d["reference"]["reference"])
            for d in provision.get("data") or ()
            if isinstance(d, dict) and isinstance((d.get("reference") or {}).get("reference"), str)
        )
        for a in provision.get("actor") or ():
            ref = ((a or {}).get("reference") or {}).get("reference")
            if ref in refs:
                out.append(Block(consent_id, ref, refs[ref], resources))
    return out


def _refs_of_kind(ctx: WorkContext, personal: bool | None) -> list[str]:
    """The caller's references: personal ones (who holds against break-the-glass), the
    unit and organisations (who yield to it), or all (None)."""
    return [
        ref
        for ref, kind in actor_refs(ctx).items()
        if personal is None or (kind in ("practitioner", "role")) == personal
    ]


def blocked_patients(ctx: WorkContext, *, personal: bool | None = None) -> sa.Select[Any]:
    """Patients whose whole record is blocked for the caller: by any block (None), by a
    block naming the person (True) or by one naming their unit or organisation (False).

    Blocks of single resources are not in this set (:func:`resource_block_clause`).
    Never NULL, so that ``NOT IN`` on it is safe.
    """
    with_data = sa.select(REF.c.res_id).where(REF.c.res_type == "Consent", REF.c.param == "data")
    whole = _consents(BLOCK).where(
        C.c.res_id.in_(_naming(_refs_of_kind(ctx, personal))),
        C.c.res_id.not_in(with_data),
        C.c.patient_id.is_not(None),
    )
    return sa.select(whole.subquery().c.patient_id)


def resource_block_clause(ctx: WorkContext, now_us: int, table: sa.Table) -> Any:
    """SQL: the row of ``table`` (``resources`` or ``resource_history``) is named by a
    block of single resources against the caller.

    A block naming the person holds always; one naming the unit or organisation holds
    unless the caller has broken the glass for the row's patient.
    """

    def named_by(refs: list[str]) -> Any:
        blocks = _consents(BLOCK).where(C.c.res_id.in_(_naming(refs)))
        data = sa.select(DATA.c.res_id).where(
            DATA.c.res_type == "Consent",
            DATA.c.param == "data",
            DATA.c.target_type == table.c.res_type,
            DATA.c.target_id == table.c.res_id,
            DATA.c.res_id.in_(blocks.with_only_columns(C.c.res_id)),
        )
        return sa.exists(data)

    personal = named_by(_refs_of_kind(ctx, True))
    yielding = sa.and_(
        named_by(_refs_of_kind(ctx, False)),
        table.c.patient_id.not_in(break_glass_patients(ctx, now_us)),
    )
    return sa.or_(personal, yielding)


def break_glass_patients(ctx: WorkContext, now_us: int) -> sa.Select[Any]:
    """Patients the caller holds an unexpired break-the-glass grant for."""
    current = sa.select(DATE.c.res_id).where(
        DATE.c.res_type == "Consent",
        DATE.c.param == "period",
        DATE.c.low <= now_us,
        DATE.c.high > now_us,
    )
    grants = _consents(BREAK_GLASS).where(
        C.c.res_id.in_(_naming([f"Practitioner/{ctx.practitioner_id}"])),
        C.c.res_id.in_(current),
        C.c.patient_id.is_not(None),
    )
    return sa.select(grants.subquery().c.patient_id)


def break_glass_set(tx: SqlTransaction, ctx: WorkContext, now_us: int) -> frozenset[str]:
    """Every patient the caller holds an unexpired break-the-glass grant for (few)."""
    return frozenset(str(row[0]) for row in tx.execute(break_glass_patients(ctx, now_us)))


def has_break_glass(tx: SqlTransaction, ctx: WorkContext, patient_id: str, now_us: int) -> bool:
    stmt = break_glass_patients(ctx, now_us)
    sub = stmt.subquery()
    found = tx.execute(sa.select(sub.c.patient_id).where(sub.c.patient_id == patient_id).limit(1))
    return found.first() is not None


def break_glass_until(
    tx: SqlTransaction, ctx: WorkContext, patient_id: str, now_us: int
) -> str | None:
    """When the caller's current break-the-glass grant for the patient ends (the latest
    ``provision.period.end`` as written), or None when there is none."""
    grants = _consents(BREAK_GLASS).where(
        C.c.patient_id == patient_id,
        C.c.res_id.in_(_naming([f"Practitioner/{ctx.practitioner_id}"])),
    )
    current = sa.select(DATE.c.res_id).where(
        DATE.c.res_type == "Consent",
        DATE.c.param == "period",
        DATE.c.low <= now_us,
        DATE.c.high > now_us,
        DATE.c.res_id.in_(grants.with_only_columns(C.c.res_id)),
    )
    ends = []
    for consent_id in tx.execute(current).scalars():
        stored = tx.read("Consent", consent_id)
        if stored is not None and stored.content:
            end = ((jsonio.loads(stored.content).get("provision") or {}).get("period") or {}).get(
                "end"
            )
            if isinstance(end, str):
                ends.append(end)
    return max(ends) if ends else None

"""The access operations: break-the-glass, the access explanation, the citizen's log.

* :func:`break_glass` (``POST Patient/{id}/$break-glass``): a health worker without a
  care relation gets time-limited access (``Settings.break_glass_hours``), recorded as a
  break-the-glass Consent (``access/consents.py``) and a specially marked AuditEvent in
  the same transaction; the privacy officer's review lists every one
  (``audit/review.py``). A block naming the person holds even now: 403.
* :func:`explain` (``GET Patient/{id}/$access-explain``): whether the caller has access
  to the record and why (every care relation, grant and block, and what their role may
  do), so that no clinician has to wonder.
* :func:`audit_log_search` (``GET AuditEvent?patient=``): the accesses to a patient's
  record from the hash-chained log, for the citizen (their own record only) and the
  privacy officer; :func:`audit_log_agents` the newest event of each who accessed it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Final

from fellesjournal.access import consents, policy, proxy, relations, roles
from fellesjournal.audit import events as ev
from fellesjournal.audit import log
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import bad_request, error, not_found
from fellesjournal.fhir.instants import format_instant
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.searching import SearchResult
from fellesjournal.service.writes import new_id
from fellesjournal.store.base import StoredResource, WriteOp

#: Work roles that give care and so may break the glass.
CARE_ROLES: Final = frozenset({"doctor", "nurse", "therapist"})
MAX_TEXT: Final = 1000


@dataclass(frozen=True, slots=True)
class Grant:
    consent_id: str
    start: str
    end: str


def break_glass(repo: GuardedRepository, patient_id: str, reason: str, text: str) -> Grant:
    """Grant the calling health worker emergency access to ``patient_id``'s record."""
    actor = repo.ctx.actor
    work = actor.work
    if work is None:
        raise error(403, "forbidden", "only a health worker in a work context breaks the glass")
    if not policy.scope_allows(actor, "create", "Consent"):
        repo.gate.deny("break-glass", None, "the token's scopes do not allow writing a grant")
    if reason not in consents.REASONS:
        raise bad_request(
            f"reason must be one of {', '.join(sorted(consents.REASONS))}, not '{reason}'",
            "reason",
        )
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise bad_request(f"text must say why, in 1 to {MAX_TEXT} characters", "text")
    now = datetime.datetime.now(datetime.UTC)
    start = format_instant(now)
    end = format_instant(now + datetime.timedelta(hours=repo.settings.break_glass_hours))
    gate = repo.gate
    try:
        with repo.writing() as tx:
            patient = tx.read("Patient", patient_id)
            if patient is None or patient.deleted:
                raise not_found(f"Patient/{patient_id} not found")
            if work.role not in CARE_ROLES:
                gate.deny(
                    "break-glass",
                    patient_id,
                    f"the work role '{work.role}' gives no care; only doctors, nurses and "
                    "therapists break the glass",
                )
            personal = [
                b
                for b in consents.blocks_against(tx, work, patient_id)
                if b.whole_record and not b.yields_to_break_glass
            ]
            if personal:
                gate.deny(
                    "break-glass",
                    patient_id,
                    "the patient has blocked you by name (sperring, "
                    f"Consent/{personal[0].consent_id}); break-the-glass cannot lift it",
                )
            consent = consents.break_glass_consent(patient_id, work, reason, text, start, end)
            consent_id = new_id()
            tx.apply_many([WriteOp("POST", "Consent", consent_id, consent)])
            repo.audit_append(
                tx,
                [
                    ev.access_event(
                        actor,
                        interaction="break-glass",
                        patient_id=patient_id,
                        what=[f"Consent/{consent_id}"],
                        basis=ev.BREAK_GLASS,
                        basis_reference=f"Consent/{consent_id}",
                        basis_detail=f"{consents.REASONS[reason]}: {text}",
                        subtype="break-the-glass",
                        outcome_desc=f"access until {end}",
                    )
                ],
            )
    finally:
        if not repo.defer_audit:
            repo.trail.flush()
    return Grant(consent_id, start, end)


@dataclass
class Explanation:
    """Whether the caller may open the record, and every reason for and against."""

    access: bool
    reason: str
    basis: str
    relations: list[relations.Relation] = field(default_factory=list)
    grant_until: str | None = None
    blocks: list[consents.Block] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)


def explain(repo: GuardedRepository, patient_id: str) -> Explanation:
    """The access explanation for the calling health worker (system clients and the
    citizen get a one-line one)."""
    actor = repo.ctx.actor
    gate = repo.gate
    if not policy.scope_allows(actor, "read", "Patient"):
        gate.deny("operation", None, "the token's scopes do not cover the patient's record")
    with repo.reading() as tx:
        patient = tx.read("Patient", patient_id)
        if patient is None or patient.deleted:
            raise not_found(f"Patient/{patient_id} not found")
        decision = gate.patient(tx, patient_id)
        work = actor.work
        if work is None:
            if not decision.allowed:
                raise not_found(f"Patient/{patient_id} not found")
            return Explanation(True, decision.reason, decision.basis)
        found = relations.relations_for(
            tx, work, patient_id, gate.now_us, repo.settings.relation_settings
        )
        blocks = consents.blocks_against(tx, work, patient_id)
        grant = consents.break_glass_until(tx, work, patient_id, gate.now_us)
    perms = roles.ROLE_PERMISSIONS.get(work.role)
    gate.trail.note(
        ev.access_event(
            actor,
            interaction="operation",
            patient_id=patient_id,
            subtype="access-explain",
            basis=decision.basis,
            outcome=ev.SUCCESS if decision.allowed else ev.DENIED,
            outcome_desc=decision.reason,
        )
    )
    if not repo.defer_audit:
        repo.trail.flush()
    return Explanation(
        access=decision.allowed,
        reason=decision.reason,
        basis=decision.basis,
        relations=found,
        grant_until=grant,
        blocks=blocks,
        reads=sorted(perms.reads) if perms else [],
        writes=sorted(perms.writes) if perms else [],
    )


def audit_log_search(repo: GuardedRepository, items: list[tuple[str, str]]) -> SearchResult:
    """``AuditEvent?patient=`` from the audit log: a citizen's own record only (their id
    or none given), the privacy officer any patient's. Newest first; ``_count``,
    ``_offset`` and ``date=ge`` (``_since``) page and filter."""
    actor = repo.ctx.actor
    params: dict[str, str] = {}
    for key, value in items:
        if key not in ("patient", "_count", "_offset", "date", "_total", "_format"):
            raise bad_request(f"the audit log is searched by patient and date, not '{key}'", key)
        params[key] = value
    wanted = params.get("patient", "").removeprefix("Patient/")
    if actor.citizen is not None:
        if not policy.scope_allows(actor, "search", "AuditEvent"):
            repo.gate.deny("search", None, "the token's scopes do not cover the access log")
        if "access-log" not in proxy.capabilities(actor.citizen):
            repo.gate.deny(
                "search", None, "acting for the patient at this level does not show the access log"
            )
        own = actor.citizen.patient_id
        if wanted and wanted != own:
            return SearchResult(repo.parse_search("AuditEvent", []), [], total=0)
        wanted = own
    else:
        repo.guard_review()
        if not wanted:
            raise bad_request("the audit log is searched by patient", "patient")
    count = _bounded(params.get("_count"), repo.settings.default_page_size, "_count")
    count = min(count, repo.settings.max_page_size)
    offset = _bounded(params.get("_offset"), 0, "_offset")
    since = params.get("date")
    if since is not None:
        if not since.startswith("ge"):
            raise bad_request("date is given as ge<instant>", "date")
        since = since[2:]
    repo.trail.settle()
    try:
        with repo.reading() as tx:
            found = log.events_for_patient(tx, wanted, since=since, count=count, offset=offset)
            total = log.count_for_patient(tx, wanted, since=since)
    except ValueError as exc:
        raise bad_request(str(exc), "date") from None
    matches = [
        StoredResource(
            "AuditEvent",
            str(e["id"]),
            1,
            str(e.get("recorded", "")),
            False,
            jsonio.dumps(e).decode(),
        )
        for e in found
    ]
    req = repo.parse_search("AuditEvent", [])
    req.count, req.offset = count, offset
    return SearchResult(req, matches, total=total, has_more=offset + len(matches) < total)


def audit_log_agents(repo: GuardedRepository, patient_id: str) -> list[dict[str, Any]]:
    """The newest AuditEvent of each person or system that has acted on a patient's
    record, newest first (the portal's choice of whom to block): a citizen's own record
    only (another's: none), the privacy officer any patient's, as
    :func:`audit_log_search`."""
    actor = repo.ctx.actor
    if actor.citizen is not None:
        if not policy.scope_allows(actor, "search", "AuditEvent"):
            repo.gate.deny("search", None, "the token's scopes do not cover the access log")
        if patient_id != actor.citizen.patient_id:
            return []
    else:
        repo.guard_review()
    repo.trail.settle()
    with repo.reading() as tx:
        return list(log.latest_by_agent(tx, patient_id))


def _bounded(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    if not raw.isdigit():
        raise bad_request(f"{name} must be a whole number, not '{raw}'", name)
    return int(raw)

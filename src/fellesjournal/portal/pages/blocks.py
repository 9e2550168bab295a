"""Blocks (sperring) in the portal: see, make and lift them.

* ``GET /portal/blocks``: the patient's blocks (Consent, category ``sperring``,
  ``access/consents.py``), active and lifted, with whom each names and what it covers.
* ``GET|POST /portal/blocks/new``: choose whom to block (:func:`candidates`): a named
  health worker (searched by name among those who have been involved: in the access log
  or the record), a unit or an organisation; the whole record or one document. The
  consequences are explained on a confirmation step before anything is written
  (``step=review``), then :func:`create_block` writes the Consent made by
  ``consents.block_consent`` with the patient as performer (``step=confirm``). It
  holds from the blocked person's next request.
* ``GET|POST /portal/blocks/{id}/lift``: a confirmation page, then :func:`lift`:
  ``status`` ``inactive``.

Needs the capability ``blocks`` (the citizen, or a proxy with full fullmakt); the
repository enforces the same (``access/citizen_writes.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access import consents
from fellesjournal.fhir.errors import FhirError, conflict, error, not_found
from fellesjournal.portal.base import Portal, answers, checked_form, page
from fellesjournal.portal.pages.acting import (
    Directory,
    care_references,
    concept_text,
    general_practitioners,
    iso,
    load,
    now_utc,
    patient_appointments,
    read_own,
    record_references,
    ref_of,
    search_all,
    without_meta,
)
from fellesjournal.portal.pages.appointments import unit_of as appointment_unit
from fellesjournal.service.access_ops import audit_log_agents
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web.i18n import N_

Resource = dict[str, Any]

PRACTITIONER, UNIT, ORGANIZATION = "practitioner", "unit", "organization"
KINDS: Final[dict[str, str]] = {
    PRACTITIONER: N_("A named health worker"),
    UNIT: N_("A unit (department, office, home care service)"),
    ORGANIZATION: N_("A whole organisation (health trust or municipality)"),
}
#: The most candidates of one kind a page lists (a search narrows them).
MAX_LISTED: Final = 50
#: The document types a block of one document may name.
DOCUMENT_TYPES: Final = ("DocumentReference", "Composition")


@dataclass(frozen=True, slots=True)
class Candidate:
    """Someone the patient may block."""

    reference: str  #: ``Practitioner/id`` or ``Organization/id``
    kind: str  #: :data:`PRACTITIONER`, :data:`UNIT` or :data:`ORGANIZATION`
    name: str
    detail: str  #: where a health worker works; the organisation of a unit


@dataclass(frozen=True, slots=True)
class Document:
    reference: str
    title: str
    date: str


@dataclass(frozen=True, slots=True)
class BlockView:
    id: str
    version: int
    active: bool
    target: str | None
    kind: str
    name: str
    documents: list[Document]
    created: str
    changed: str


# -- reading ------------------------------------------------------------------------------


def _kind_of(ref: str | None, directory: Directory) -> str:
    if ref and ref.startswith("Organization/"):
        return ORGANIZATION if directory.is_organisation(ref) else UNIT
    return PRACTITIONER


def documents(repo: GuardedRepository, patient_id: str) -> list[Document]:
    """The documents the citizen sees (what the release rules let through), newest
    first: the ones a block may name."""
    out: list[Document] = []
    for res_type in DOCUMENT_TYPES:
        try:
            found = search_all(repo, res_type, [("patient", f"Patient/{patient_id}")], limit=300)
        except FhirError as exc:
            if exc.status in (403, 404):
                continue
            raise
        for stored in found:
            resource = load(stored)
            title = str(resource.get("title") or resource.get("description") or "") or (
                concept_text(resource.get("type"))
            )
            out.append(
                Document(f"{res_type}/{stored.res_id}", title, str(resource.get("date") or ""))
            )
    out.sort(key=lambda d: d.date, reverse=True)
    return out


def block_list(repo: GuardedRepository, patient_id: str) -> list[BlockView]:
    """The patient's blocks, active first, then lifted; the newest first within each."""
    found = search_all(
        repo,
        "Consent",
        [
            ("patient", f"Patient/{patient_id}"),
            ("category", f"{consents.CATEGORY_SYSTEM}|{consents.BLOCK}"),
        ],
    )
    directory = Directory(repo)
    items = [(load(s), s) for s in found if s.content]
    directory.fetch(
        ref_of(a.get("reference"))
        for c, _ in items
        for a in (c.get("provision") or {}).get("actor") or ()
    )
    docs = {d.reference: d for d in documents(repo, patient_id)} if items else {}
    out = []
    for consent, stored in items:
        provision = consent.get("provision") or {}
        target = next((ref_of(a.get("reference")) for a in provision.get("actor") or () if a), None)
        blocked = [
            docs.get(ref) or Document(ref, "", "")
            for ref in (ref_of(d.get("reference")) for d in provision.get("data") or ())
            if ref
        ]
        out.append(
            BlockView(
                id=stored.res_id,
                version=stored.version,
                active=consent.get("status") == "active",
                target=target,
                kind=_kind_of(target, directory),
                name=directory.name(target, target or ""),
                documents=blocked,
                created=str(consent.get("dateTime") or ""),
                changed=str((consent.get("meta") or {}).get("lastUpdated") or ""),
            )
        )
    active = sorted(
        (b for b in out if b.active), key=lambda b: b.created or b.changed, reverse=True
    )
    lifted = sorted(
        (b for b in out if not b.active), key=lambda b: b.changed or b.created, reverse=True
    )
    return active + lifted


def _log_people(repo: GuardedRepository, patient_id: str) -> tuple[dict[str, str], set[str]]:
    """From the access log, the newest event of each who has acted on the record: the
    health workers (``Practitioner/id`` -> the unit they worked in) and those units."""
    people: dict[str, str] = {}
    units: set[str] = set()
    for event in audit_log_agents(repo, patient_id):
        person = unit = None
        unit_name = ""
        for agent in event.get("agent") or ():
            ref = ref_of(agent.get("who"))
            if ref and ref.startswith("Practitioner/"):
                person = ref
            elif ref and ref.startswith("Organization/"):
                codes = {c.get("code") for c in (agent.get("type") or {}).get("coding") or ()}
                if "unit" in codes:
                    unit = ref
                    unit_name = str((agent.get("who") or {}).get("display") or "")
        if person:
            people.setdefault(person, unit_name)
        if unit:
            units.add(unit)
    return people, units


def candidates(repo: GuardedRepository, patient_id: str) -> list[Candidate]:
    """Whom the patient may block: the health workers, units and organisations that
    have been involved (the access log, their Encounters, EpisodeOfCare, CareTeams,
    Appointments, documents' authors, their fastlege), by kind and name."""
    people, units = _log_people(repo, patient_id)
    refs = care_references(repo, patient_id)
    for res_type in DOCUMENT_TYPES:
        refs += record_references(
            repo, res_type, patient_id, ("author", "custodian"), participants=False
        )
    directory = Directory(repo)
    for appointment in patient_appointments(repo, patient_id):
        refs += [
            r for r in (ref_of(p.get("actor")) for p in appointment.get("participant") or ()) if r
        ]
        unit = appointment_unit(appointment, directory)
        if unit:
            refs.append(unit)
    refs += general_practitioners(repo, patient_id)
    directory.fetch([*refs, *people, *units])
    for ref in refs:
        res_type = ref.split("/", 1)[0]
        if res_type == "Practitioner":
            people.setdefault(ref, "")
        elif res_type == "PractitionerRole":
            person = ref_of((directory.get(ref) or {}).get("practitioner"))
            unit = directory.unit_of(ref)
            if person:
                where = directory.name(unit) if unit else ""
                if not people.get(person):
                    people[person] = where
            if unit:
                units.add(unit)
        else:
            unit = directory.unit_of(ref)
            if unit:
                units.add(unit)
    organisations = {u for u in units if directory.is_organisation(u)}
    organisations |= {o for o in (directory.organization_of(u) for u in units) if o}
    units -= organisations
    out = [
        Candidate(ref, PRACTITIONER, directory.name(ref, ref), where)
        for ref, where in people.items()
    ]
    out += [
        Candidate(u, UNIT, directory.name(u, u), directory.name(directory.organization_of(u)))
        for u in units
    ]
    out += [Candidate(o, ORGANIZATION, directory.name(o, o), "") for o in organisations]
    return sorted(out, key=lambda c: (c.kind, c.name.casefold(), c.reference))


def matching(found: list[Candidate], kind: str, query: str) -> list[Candidate]:
    """The candidates of ``kind`` whose name holds every word of ``query``."""
    words = query.casefold().split()
    return [
        c
        for c in found
        if c.kind == kind and all(w in f"{c.name} {c.detail}".casefold() for w in words)
    ]


# -- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """What the patient chose to block: checked against what the pages offer."""

    target: Candidate
    document: Document | None


def check_choice(
    repo: GuardedRepository, patient_id: str, target: str, document: str | None
) -> Choice:
    """The chosen target and document, when they are among the candidates and the
    documents the patient sees; 422 otherwise."""
    chosen = next((c for c in candidates(repo, patient_id) if c.reference == target), None)
    if chosen is None:
        raise error(422, "business-rule", f"{target} is not among those who may be blocked")
    doc = None
    if document:
        doc = next((d for d in documents(repo, patient_id) if d.reference == document), None)
        if doc is None:
            raise error(422, "business-rule", f"{document} is not a document of the record")
    return Choice(chosen, doc)


def create_block(
    repo: GuardedRepository,
    patient_id: str,
    choice: Choice,
    now: dt.datetime | None = None,
) -> str:
    """Write the block (``consents.block_consent``, the patient as performer); its id."""
    consent = consents.block_consent(
        patient_id,
        choice.target.reference,
        resources=[choice.document.reference] if choice.document else (),
        performer=f"Patient/{patient_id}",
    )
    consent["dateTime"] = iso(now or now_utc())
    actor = (consent["provision"].get("actor") or [{}])[0]
    actor["reference"]["display"] = choice.target.name
    return str(repo.create("Consent", consent).stored.res_id)


def one(repo: GuardedRepository, patient_id: str, block_id: str) -> tuple[Resource, BlockView]:
    """The patient's block ``block_id`` (404 when it is none of theirs)."""
    consent, _ = read_own(repo, "Consent", block_id)
    if not consents.is_block(consent) or ref_of(consent.get("patient")) != f"Patient/{patient_id}":
        raise not_found(f"Consent/{block_id} not found")
    for view in block_list(repo, patient_id):
        if view.id == block_id:
            return consent, view
    raise not_found(f"Consent/{block_id} not found")


def lift(repo: GuardedRepository, patient_id: str, block_id: str, version: int) -> None:
    """Lift the block: ``status`` ``inactive``. 409 when it changed since ``version``
    or is lifted already."""
    consent, view = one(repo, patient_id, block_id)
    if view.version != version or not view.active:
        raise conflict(f"Consent/{block_id} was changed meanwhile")
    updated = without_meta(consent)
    updated["status"] = "inactive"
    repo.update("Consent", block_id, updated, if_match=version)


# -- pages ----------------------------------------------------------------------------------


class BlockPages:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    @answers
    async def index(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "blocks")
        return page(
            request,
            "portal/blocks.html",
            blocks=block_list(repo, patient_id),
            done=str(request.query_params.get("done") or ""),
        )

    @answers
    async def new(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "blocks")
        if request.method == "POST":
            return await self._post_new(request, repo, patient_id)
        kind = str(request.query_params.get("kind") or PRACTITIONER)
        kind = kind if kind in KINDS else PRACTITIONER
        query = " ".join(str(request.query_params.get("q") or "").split())[:100]
        return self._choose(request, repo, patient_id, kind, query)

    def _choose(
        self,
        request: Request,
        repo: GuardedRepository,
        patient_id: str,
        kind: str,
        query: str,
        *,
        problem: str = "",
        status_code: int = 200,
    ) -> Response:
        found = matching(candidates(repo, patient_id), kind, query)
        return page(
            request,
            "portal/block_new.html",
            status_code=status_code,
            kind=kind,
            kinds=KINDS,
            query=query,
            found=found[:MAX_LISTED],
            more=max(0, len(found) - MAX_LISTED),
            documents=documents(repo, patient_id),
            problem=problem,
        )

    async def _post_new(
        self, request: Request, repo: GuardedRepository, patient_id: str
    ) -> Response:
        form = await checked_form(request)
        kind = str(form.get("kind") or PRACTITIONER)
        kind = kind if kind in KINDS else PRACTITIONER
        target = str(form.get("target") or "")
        scope = str(form.get("scope") or "whole")
        document = str(form.get("document") or "") if scope == "document" else ""
        if not target:
            return self._choose(
                request, repo, patient_id, kind, "", problem="target", status_code=422
            )
        if scope == "document" and not document:
            return self._choose(
                request, repo, patient_id, kind, "", problem="document", status_code=422
            )
        choice = check_choice(repo, patient_id, target, document or None)
        if form.get("step") == "confirm":
            create_block(repo, patient_id, choice)
            return RedirectResponse("/portal/blocks?done=created", status_code=303)
        return page(request, "portal/block_confirm.html", choice=choice)

    @answers
    async def lift(self, request: Request) -> Response:
        repo, patient_id = self.portal.page_repository(request, "blocks")
        block_id = str(request.path_params["block_id"])
        if request.method == "POST":
            form = await checked_form(request)
            shown = str(form.get("version") or "")
            if not shown.isdigit():
                raise error(400, "invalid", "the form names no version")
            lift(repo, patient_id, block_id, int(shown))
            return RedirectResponse("/portal/blocks?done=lifted", status_code=303)
        _, view = one(repo, patient_id, block_id)
        if not view.active:
            return page(request, "portal/conflict.html", status_code=409)
        return page(request, "portal/block_lift.html", block=view)


def routes(portal: Portal) -> list[BaseRoute]:
    pages = BlockPages(portal)
    return [
        Route("/portal/blocks", pages.index),
        Route("/portal/blocks/new", pages.new, methods=["GET", "POST"]),
        Route("/portal/blocks/{block_id}/lift", pages.lift, methods=["GET", "POST"]),
    ]

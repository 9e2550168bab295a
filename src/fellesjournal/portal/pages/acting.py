"""What the portal's acting pages share (appointments, referrals, messages, who has
looked, blocks): the directory look-ups that name units and people, the sender of a
citizen's message, time and form helpers.

Everything is read through the citizen's :class:`GuardedRepository`. Organisations,
practitioners, their roles, locations and services are directory data, not a patient's
record: their look-ups are searches by ``_id`` that are not audited as accesses (as the
workspace's are not, ``web/queue_data.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from fellesjournal.access.actor import Actor
from fellesjournal.access.proxy import person_name
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import ORGNR_SYSTEM
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource

Resource = dict[str, Any]

#: The directory types :class:`Directory` looks up (none is patient data).
DIRECTORY_TYPES: Final = frozenset(
    {"Organization", "Practitioner", "PractitionerRole", "Location", "HealthcareService"}
)
#: What a directory resource points at: a role's practitioner and unit, a location's or
#: service's unit.
_POINTERS: Final = ("practitioner", "organization", "managingOrganization", "providedBy")
#: The longest text a citizen writes in one message.
MAX_TEXT: Final = 4000


def load(stored: StoredResource) -> Resource:
    return dict(jsonio.loads(stored.content)) if stored.content else {}


def ref_of(value: Any) -> str | None:
    """The ``reference`` of a Reference (``Type/id``, a version suffix dropped)."""
    ref = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(ref, str) or ref.count("/") not in (1, 3):
        return None
    parts = ref.split("/")
    return f"{parts[0]}/{parts[1]}"


def id_of(ref: str | None, res_type: str) -> str | None:
    """The id of ``ref`` when it names a ``res_type``."""
    if ref and ref.startswith(f"{res_type}/") and ref.count("/") == 1:
        return ref.split("/", 1)[1]
    return None


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def instant(value: Any) -> dt.datetime | None:
    """A FHIR date or dateTime as an aware datetime (a date: its start in UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def concept_text(concept: Any) -> str:
    """A CodeableConcept's text, else its first coding's display (or code)."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def clean_text(value: Any) -> str:
    """A citizen's text: line breaks kept, other runs of whitespace left as they are,
    surrounding blank space removed."""
    return str(value or "").replace("\r\n", "\n").strip()


def sender_reference(actor: Actor) -> dict[str, str]:
    """Who sends a citizen's message: the Patient themselves, or the proxy's
    RelatedPerson when someone acts on their behalf (docs/portal.md)."""
    citizen = actor.citizen
    assert citizen is not None  # the portal's repository acts as a citizen
    proxy = getattr(citizen, "proxy", None)
    if proxy is not None:
        ref = {"reference": f"RelatedPerson/{proxy.related_person_id}"}
        if getattr(proxy, "name", ""):
            ref["display"] = str(proxy.name)
        return ref
    return {"reference": f"Patient/{citizen.patient_id}"}


def is_citizen_side(ref: str | None) -> bool:
    """Does ``ref`` name the patient's side of a conversation (the patient or a proxy)?"""
    return bool(ref) and str(ref).split("/", 1)[0] in ("Patient", "RelatedPerson")


class Directory:
    """Names and units of the directory resources a page refers to, fetched in one
    search per type (:meth:`fetch`) and remembered for the request."""

    def __init__(self, repo: GuardedRepository) -> None:
        self.repo = repo
        self._found: dict[str, Resource | None] = {}

    def fetch(self, refs: Iterable[str | None]) -> None:
        """Look up every directory resource of ``refs`` not looked up yet, and what they
        point at (a role's practitioner and unit, a location's or service's unit, a
        unit's parents).

        By reads of one id each, not searches: for a citizen a search's access filter
        costs more to build (about 2.5 ms) than a read by id takes (0.1 ms)."""
        wanted = {r for r in refs if r and r not in self._found and r.count("/") == 1}
        for _ in range(10):  # role -> unit -> its parents: a few rounds at most
            for ref in wanted:
                self._found[ref] = self._read(ref)
            wanted = set()
            for resource in self._found.values():
                if resource is None:
                    continue
                for key in (*_POINTERS, "partOf"):
                    target = ref_of(resource.get(key))
                    if target and target not in self._found:
                        wanted.add(target)
            if not wanted:
                return

    def _read(self, ref: str) -> Resource | None:
        res_type, res_id = ref.split("/", 1)
        if res_type not in DIRECTORY_TYPES:
            return None
        try:
            return load(self.repo.read(res_type, res_id, audit=False))
        except FhirError as exc:
            if exc.status in (400, 403, 404, 410):
                return None
            raise

    def get(self, ref: str | None) -> Resource | None:
        if not ref:
            return None
        if ref not in self._found:
            self.fetch([ref])
        return self._found.get(ref)

    def unit_of(self, ref: str | None) -> str | None:
        """The unit (``Organization/id``) behind ``ref``: an Organization itself, a
        PractitionerRole's organization, a Location's managing organisation, a
        HealthcareService's provider."""
        if not ref:
            return None
        res_type = ref.split("/", 1)[0]
        if res_type == "Organization":
            return ref
        resource = self.get(ref) or {}
        key = {
            "PractitionerRole": "organization",
            "Location": "managingOrganization",
            "HealthcareService": "providedBy",
        }.get(res_type)
        target = ref_of(resource.get(key)) if key else None
        return target if target and target.startswith("Organization/") else None

    def parent_of(self, ref: str | None) -> str | None:
        parent = ref_of((self.get(ref) or {}).get("partOf"))
        return parent if parent and parent.startswith("Organization/") else None

    def organization_of(self, unit: str | None) -> str | None:
        """The legal organisation (health trust or municipality) ``unit`` belongs to: the
        nearest one up its ``partOf`` chain with an organisasjonsnummer, else as
        ``access/context.py`` reckons it (the one just below the top of the chain)."""
        chain: list[str] = []
        current = unit
        while current and current not in chain and len(chain) < 10:
            chain.append(current)
            current = self.parent_of(current)
        for ref in chain:
            if self._legal_entity(ref):
                return ref
        if len(chain) >= 3:
            return chain[-2]
        return chain[-1] if chain else None

    def is_organisation(self, ref: str | None) -> bool:
        """Is ``ref`` a whole organisation (a legal entity: the RHF, a health trust, a
        municipality) rather than a unit in one?"""
        return bool(ref) and self.organization_of(ref) == ref

    def _legal_entity(self, ref: str) -> bool:
        return any(
            isinstance(i, dict) and i.get("system") == ORGNR_SYSTEM
            for i in (self.get(ref) or {}).get("identifier") or ()
        )

    def name(self, ref: str | None, fallback: str = "") -> str:
        """The name of what ``ref`` names (a role: its practitioner's name)."""
        resource = self.get(ref)
        if resource is None:
            return fallback
        res_type = resource.get("resourceType")
        if res_type == "PractitionerRole":
            return self.name(ref_of(resource.get("practitioner")), fallback)
        if res_type == "Practitioner":
            return person_name(resource) or fallback
        return str(resource.get("name") or fallback)


def read_own(repo: GuardedRepository, res_type: str, res_id: str) -> tuple[Resource, int]:
    """The resource and its version, when the citizen may see it (the repository's 404
    otherwise: another's record looks like nothing)."""
    stored = repo.read(res_type, res_id)
    return load(stored), stored.version


def without_meta(resource: Resource) -> Resource:
    """``resource`` to write back: the server's meta (version, time) left out."""
    out = dict(resource)
    meta = out.get("meta")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        if meta:
            out["meta"] = meta
        else:
            del out["meta"]
    return out


def search_all(
    repo: GuardedRepository, res_type: str, params: list[tuple[str, str]], limit: int = 500
) -> list[StoredResource]:
    """Up to ``limit`` matches of a search, in pages."""
    out: list[StoredResource] = []
    page_size = min(limit, repo.settings.max_page_size)
    while len(out) < limit:
        found = repo.search(
            res_type,
            [*params, ("_count", str(page_size)), ("_offset", str(len(out))), ("_total", "none")],
        )
        out.extend(found.matches)
        if not found.has_more or not found.matches:
            break
    return out[:limit]


def record_references(
    repo: GuardedRepository,
    res_type: str,
    patient_id: str,
    keys: tuple[str, ...],
    *,
    participants: bool = True,
    limit: int = 300,
) -> list[str]:
    """The references under ``keys`` (and, with ``participants``, those of
    ``participant.member``/``actor``/``individual`` that are not the patient's side) of
    the patient's ``res_type`` resources; none when the citizen's representation does
    not read that type."""
    try:
        found = search_all(repo, res_type, [("patient", f"Patient/{patient_id}")], limit=limit)
    except FhirError as exc:
        if exc.status in (403, 404):
            return []
        raise
    out: list[str] = []
    for stored in found:
        resource = load(stored)
        for key in keys:
            value = resource.get(key)
            for item in value if isinstance(value, list) else [value]:
                ref = ref_of(item)
                if ref:
                    out.append(ref)
        if not participants:
            continue
        for participant in resource.get("participant") or ():
            for sub in ("member", "actor", "individual"):
                ref = ref_of((participant or {}).get(sub))
                if ref and not is_citizen_side(ref):
                    out.append(ref)
    return out


def care_references(repo: GuardedRepository, patient_id: str) -> list[str]:
    """The units (and, as :func:`record_references` finds them, participants) of the
    patient's Encounters, EpisodeOfCare and CareTeams."""
    refs = record_references(repo, "Encounter", patient_id, ("serviceProvider",))
    refs += record_references(repo, "EpisodeOfCare", patient_id, ("managingOrganization",))
    refs += record_references(repo, "CareTeam", patient_id, ("managingOrganization",))
    return refs


def patient_appointments(repo: GuardedRepository, patient_id: str) -> list[Resource]:
    """The patient's Appointments (at most 300); none when the citizen's representation
    does not read them."""
    try:
        found = search_all(repo, "Appointment", [("patient", f"Patient/{patient_id}")], limit=300)
    except FhirError as exc:
        if exc.status not in (403, 404):
            raise
        return []
    return [load(stored) for stored in found]


def general_practitioners(repo: GuardedRepository, patient_id: str) -> list[str]:
    """The references of the patient's fastlege; none when the citizen's representation
    does not read the Patient."""
    try:
        patient = load(repo.read("Patient", patient_id))
    except FhirError as exc:
        if exc.status not in (403, 404):
            raise
        return []
    return [r for r in (ref_of(g) for g in patient.get("generalPractitioner") or ()) if r]

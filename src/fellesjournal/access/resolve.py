"""From a verified token to the person in the stored data: work context and citizen.

A token says who someone *was* when it was issued; the record says who they are now.
Every request from a health worker or a citizen is checked against the stored
resources (cached for :data:`CACHE_TTL_SECONDS`), so a revoked role or a changed
identity stops working within that time, however long the token lives.

* Health worker: the token names an HPR-nummer (``sub``, or HelseID's
  ``helseid://claims/hpr/hpr_number``) and a PractitionerRole (``fj_role``:
  ``PractitionerRole/{id}``; optional ``fhirUser``: ``Practitioner/{id}``). The role must
  exist, be active (``active`` not false, ``period`` covering now), name a Practitioner
  (the ``fhirUser`` one, when given) that is not inactive and holds that HPR-nummer, carry
  a work role (:data:`~fellesjournal.region.fhir.ROLE_SYSTEM`), and point to an existing,
  active unit whose ``partOf`` chain can be read to its top. The result is a
  :class:`WorkContext`.
* Citizen: the token names a fødselsnummer or D-nummer (``sub``, or ID-porten's ``pid``)
  and a Patient (``fhirUser``: ``Patient/{id}``). The Patient must exist, stand (not be
  merged away) and still hold that number (any ``use``). Without ``fhirUser`` (ID-porten
  tokens carry none) the one standing Patient holding the number is looked up. The
  result is a :class:`CitizenContext`.

When this fails the request is answered 401 (``login``): the token no longer describes
anyone who may act. Failures are never cached, so a restored role works at once.

**The one exception to "all reads through the guarded repository".** These lookups read
PractitionerRole, Practitioner, Organization and Patient *before* the access decision
can be made, because the decision needs their result. They go straight to the store
(:meth:`SqlStore.read_current`, one statement per resource), are never returned to the
caller, and are not audited as accesses: they are infrastructure, like verifying the
token's signature. The only search (a citizen's Patient by number, for tokens without
``fhirUser``) runs through a :class:`GuardedRepository` with the internal system actor
:data:`LOOKUP_ACTOR`. Nothing here may be used to serve data to a caller.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

from fellesjournal.access import proxy
from fellesjournal.access.actor import HELSEID_HPR_CLAIM, IDPORTEN_PID_CLAIM, Actor
from fellesjournal.access.context import CitizenContext, WorkContext, legal_organization
from fellesjournal.access.labels import CLEARANCE_SYSTEM
from fellesjournal.auth.tokens import invalid_token
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.mpi.identity import SYSTEM_VARIANTS, is_superseded, national_identifiers
from fellesjournal.norway.identifiers import (
    DNR_SYSTEM,
    FNR_SYSTEM,
    HPR_SYSTEM,
    canonical_system,
    check,
    classify,
)
from fellesjournal.region.fhir import ROLE_SYSTEM, VOLVEN_8655, VOLVEN_9060
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore

#: How long a resolved context is trusted before the stored data is read again.
CACHE_TTL_SECONDS: Final = 60.0
#: How many resolved contexts are kept (least recently used ones are dropped).
CACHE_SIZE: Final = 4096
#: The work context's claim: ``PractitionerRole/{id}``.
ROLE_CLAIM: Final = "fj_role"
#: SMART's claim for the user's own resource: ``Practitioner/{id}`` or ``Patient/{id}``.
FHIR_USER_CLAIM: Final = "fhirUser"
#: The longest ``partOf`` chain we follow (the region has four levels).
MAX_CHAIN: Final = 16
#: The internal actor of the one search done here (see the module docstring).
LOOKUP_ACTOR: Final = Actor("system", "access-resolver", scopes=("system/Patient.read",))
#: The same, for the RelatedPersons that make someone a proxy.
PROXY_LOOKUP_ACTOR: Final = Actor(
    "system", "access-resolver", scopes=("system/RelatedPerson.read",)
)

Resource = dict[str, Any]
Reader = Callable[[str, str], Resource | None]
"""The current content of ``(type, id)``, or ``None`` when it is missing or deleted."""


class NotResolved(Exception):
    """The token's identity does not hold in the stored data; ``str()`` says why."""


# ------------------------------------------------------------------ readers


def store_reader(store: SqlStore) -> Reader:
    """A :data:`Reader` straight on the store (infrastructure lookups only)."""

    def read(res_type: str, res_id: str) -> Resource | None:
        stored = store.read_current(res_type, res_id)
        if stored is None or stored.deleted or not stored.content:
            return None
        value = jsonio.loads(stored.content)
        return value if isinstance(value, dict) else None

    return read


def repo_reader(repo: GuardedRepository) -> Reader:
    """A :data:`Reader` through a guarded repository (the CLI's system repository)."""

    def read(res_type: str, res_id: str) -> Resource | None:
        try:
            stored = repo.read(res_type, res_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                return None
            raise
        value = jsonio.loads(stored.content) if stored.content else None
        return value if isinstance(value, dict) else None

    return read


# ------------------------------------------------------------------ small FHIR helpers


def _ref_id(ref: Any, res_type: str) -> str | None:
    """The id in a Reference to ``res_type`` (relative, or absolute ending in it)."""
    if not isinstance(ref, dict):
        return None
    value = ref.get("reference")
    if not isinstance(value, str):
        return None
    parts = value.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == res_type and parts[-1]:
        return parts[-1]
    return None


def _claim_ref(value: Any, res_type: str) -> str | None:
    """The id in a claim ``{res_type}/{id}``; ``None`` when the claim is absent."""
    if value is None:
        return None
    if isinstance(value, str):
        found = _ref_id({"reference": value}, res_type)
        if found is not None:
            return found
    raise NotResolved(f"the token's claim {value!r} is not a reference to a {res_type}")


def _code(concepts: Any, system: str) -> str | None:
    """The first code in ``system`` among CodeableConcepts (a list of them)."""
    for concept in concepts or ():
        if not isinstance(concept, dict):
            continue
        for coding in concept.get("coding") or ():
            if not isinstance(coding, dict) or coding.get("system") != system:
                continue
            code = coding.get("code")
            if isinstance(code, str) and code:
                return code
    return None


def _hpr_numbers(practitioner: Resource) -> set[str]:
    out = set()
    for ident in practitioner.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        system, value = ident.get("system"), ident.get("value")
        if (
            isinstance(system, str)
            and isinstance(value, str)
            and canonical_system(system) == HPR_SYSTEM
        ):
            out.add(value)
    return out


def _compare(value: str, now: datetime.datetime) -> int:
    """-1, 0 or 1 as the FHIR dateTime ``value`` lies before, at or after ``now``, at
    ``value``'s own precision (``2024`` is "at" any moment of 2024). Raises ValueError
    for text that is no dateTime."""
    if len(value) <= 10:  # YYYY, YYYY-MM or YYYY-MM-DD
        if not value[:4].isdigit():
            raise ValueError(value)
        today = now.date().isoformat()[: len(value)]
        return (value > today) - (value < today)
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return (moment > now) - (moment < now)


def _in_force(resource: Resource, now: datetime.datetime) -> bool:
    """``active`` is not false and ``period`` (if any) covers ``now``; an unreadable
    period counts as not in force (fail closed)."""
    if resource.get("active") is False:
        return False
    period = resource.get("period")
    if not isinstance(period, dict):
        return True
    start, end = period.get("start"), period.get("end")
    try:
        if isinstance(start, str) and _compare(start, now) > 0:
            return False
        if isinstance(end, str) and _compare(end, now) < 0:
            return False
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ health workers


def check_hpr(hpr: str) -> None:
    """Raise :class:`NotResolved` unless ``hpr`` is a well-formed HPR-nummer."""
    reason = check(HPR_SYSTEM, hpr)
    if reason is not None:
        raise NotResolved(f"invalid HPR-nummer {hpr!r}: {reason}")


def _parents(read: Reader, unit_id: str, unit: Resource) -> tuple[str, ...]:
    """The ``partOf`` chain above ``unit``, nearest first. Raises when a link is broken,
    loops or runs too long: a truncated chain could hide an organisation-level rule."""
    out: list[str] = []
    seen = {unit_id}
    current = unit
    while "partOf" in current:
        parent_id = _ref_id(current.get("partOf"), "Organization")
        below = out[-1] if out else unit_id
        if parent_id is None:
            raise NotResolved(f"Organization/{below} has an unreadable partOf")
        if parent_id in seen or len(out) >= MAX_CHAIN:
            raise NotResolved(f"the partOf chain above Organization/{unit_id} loops")
        parent = read("Organization", parent_id)
        if parent is None:
            raise NotResolved(f"Organization/{parent_id} (partOf of {below}) not found")
        out.append(parent_id)
        seen.add(parent_id)
        current = parent
    return tuple(out)


def work_context(
    read: Reader,
    *,
    hpr: str,
    role_id: str,
    practitioner_id: str | None = None,
    now: datetime.datetime | None = None,
) -> WorkContext:
    """The work context of HPR-nummer ``hpr`` acting in ``PractitionerRole/{role_id}``.

    ``practitioner_id``, when given (the token's ``fhirUser``), must be the role's
    practitioner. Raises :class:`NotResolved` whose message starts with ``invalid
    HPR-nummer``, ``unknown role``, ``role of another HPR-nummer`` or ``inactive role``
    for those cases, and explains any other inconsistency (missing Practitioner, unit or
    parent, no work role).
    """
    now = now or datetime.datetime.now(datetime.UTC)
    check_hpr(hpr)
    role = read("PractitionerRole", role_id)
    if role is None:
        raise NotResolved(f"unknown role: PractitionerRole/{role_id} does not exist")
    owner = _ref_id(role.get("practitioner"), "Practitioner")
    if owner is None:
        raise NotResolved(f"PractitionerRole/{role_id} names no Practitioner")
    if practitioner_id is not None and practitioner_id != owner:
        raise NotResolved(
            f"role of another practitioner: PractitionerRole/{role_id} belongs to "
            f"Practitioner/{owner}, not Practitioner/{practitioner_id}"
        )
    person = read("Practitioner", owner)
    if person is None:
        raise NotResolved(f"Practitioner/{owner} of PractitionerRole/{role_id} not found")
    if hpr not in _hpr_numbers(person):
        raise NotResolved(
            f"role of another HPR-nummer: PractitionerRole/{role_id} belongs to "
            f"Practitioner/{owner}, who does not hold HPR-nummer {hpr}"
        )
    if not _in_force(role, now):
        raise NotResolved(f"inactive role: PractitionerRole/{role_id} is not active")
    if person.get("active") is False:
        raise NotResolved(f"Practitioner/{owner} is not active")
    work_role = _code(role.get("code"), ROLE_SYSTEM)
    if work_role is None:
        raise NotResolved(f"PractitionerRole/{role_id} has no work role ({ROLE_SYSTEM})")
    unit_id = _ref_id(role.get("organization"), "Organization")
    if unit_id is None:
        raise NotResolved(f"PractitionerRole/{role_id} names no unit (organization)")
    unit = read("Organization", unit_id)
    if unit is None:
        raise NotResolved(f"Organization/{unit_id} of PractitionerRole/{role_id} not found")
    if unit.get("active") is False:
        raise NotResolved(f"inactive role: its unit Organization/{unit_id} is not active")
    parents = _parents(read, unit_id, unit)
    legal = legal_organization(unit_id, parents)
    organization = read("Organization", legal) if legal != unit_id else unit
    return WorkContext(
        practitioner_id=owner,
        hpr=hpr,
        role_id=role_id,
        unit_id=unit_id,
        parents=parents,
        role=work_role,
        profession=_code(
            [q.get("code") for q in person.get("qualification") or () if isinstance(q, dict)],
            VOLVEN_9060,
        ),
        specialty=_code(role.get("specialty"), VOLVEN_8655),
        clearances=frozenset(
            _codes(role.get("code"), CLEARANCE_SYSTEM) | _codes(unit.get("type"), CLEARANCE_SYSTEM)
        ),
        practitioner_name=_person_name(person),
        unit_name=str(unit.get("name") or ""),
        organization_name=str((organization or {}).get("name") or ""),
    )


def _codes(concepts: Any, system: str) -> set[str]:
    """Every code in ``system`` among CodeableConcepts (a list of them)."""
    return {
        str(coding["code"])
        for concept in concepts or ()
        if isinstance(concept, dict)
        for coding in concept.get("coding") or ()
        if isinstance(coding, dict) and coding.get("system") == system and coding.get("code")
    }


def _person_name(person: Resource) -> str:
    """``given family`` of the first name, or its text."""
    for name in person.get("name") or ():
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str):
            return str(name["text"])
        parts = [*(g for g in name.get("given") or () if isinstance(g, str))]
        if isinstance(name.get("family"), str):
            parts.append(name["family"])
        if parts:
            return " ".join(parts)
    return ""


# ------------------------------------------------------------------ citizens


def person_system(fnr: str, *, allow_test_identities: bool) -> str:
    """The identifier system of a citizen's number: fødselsnummer or D-nummer.

    Raises :class:`NotResolved` for anything else (invalid numbers, H-nummer and
    FH-nummer, which are help numbers and never a citizen's sign-in identity; test
    identities unless allowed).
    """
    info = classify(fnr, allow_test_identities=allow_test_identities)
    if info.system not in (FNR_SYSTEM, DNR_SYSTEM):
        why = info.reason or f"it is {info.kind}, not a fødselsnummer or D-nummer"
        raise NotResolved(f"invalid fødselsnummer {fnr!r}: {why}")
    reason = check(info.system, fnr, allow_test_identities=allow_test_identities)
    if reason is not None:
        raise NotResolved(f"invalid fødselsnummer {fnr!r}: {reason}")
    return info.system


def _holds(patient: Resource, fnr: str) -> bool:
    return any(
        system in (FNR_SYSTEM, DNR_SYSTEM) and value == fnr
        for _i, (system, value) in national_identifiers(patient)
    )


def find_patient(repo: GuardedRepository, fnr: str, system: str) -> str:
    """The id of the one standing Patient holding ``fnr`` in ``system`` (any alias).

    ``repo`` must be a system repository. Raises :class:`NotResolved` when none or
    several hold it.
    """
    tokens = ",".join(f"{variant}|{fnr}" for variant in SYSTEM_VARIANTS[system])
    result = repo.search("Patient", [("identifier", tokens), ("_count", "10")])
    standing = []
    for stored in result.matches:
        patient = jsonio.loads(stored.content) if stored.content else None
        if isinstance(patient, dict) and not is_superseded(patient) and _holds(patient, fnr):
            standing.append(stored.res_id)
    if not standing:
        raise NotResolved(f"no Patient holds the number {fnr}")
    if len(standing) > 1:
        found = ", ".join(f"Patient/{p}" for p in sorted(standing))
        raise NotResolved(f"several Patients hold the number {fnr} ({found}); merge them")
    return standing[0]


def citizen_context(read: Reader, *, fnr: str, patient_id: str) -> CitizenContext:
    """The citizen ``fnr`` as ``Patient/{patient_id}``: it must stand and hold ``fnr``."""
    patient = read("Patient", patient_id)
    if patient is None:
        raise NotResolved(f"Patient/{patient_id} does not exist")
    if is_superseded(patient):
        raise NotResolved(f"Patient/{patient_id} was merged into another record")
    if not _holds(patient, fnr):
        raise NotResolved(f"Patient/{patient_id} does not hold the token's number")
    return CitizenContext(fnr=fnr, patient_id=patient_id)


# ------------------------------------------------------------------ claims


def _text_claim(claims: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = claims.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def practitioner_claims(claims: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """``(hpr, role_id, practitioner_id or None)`` from a health worker's token."""
    hpr = _text_claim(claims, HELSEID_HPR_CLAIM, "sub")
    if hpr is None:
        raise NotResolved("the token names no HPR-nummer")
    role_id = _claim_ref(claims.get(ROLE_CLAIM), "PractitionerRole")
    if role_id is None:
        raise NotResolved(f"the token names no work context ({ROLE_CLAIM})")
    return hpr, role_id, _claim_ref(claims.get(FHIR_USER_CLAIM), "Practitioner")


def citizen_claims(claims: Mapping[str, Any]) -> tuple[str, str | None]:
    """``(fnr, patient_id or None)`` from a citizen's token."""
    fnr = _text_claim(claims, IDPORTEN_PID_CLAIM, "sub")
    if fnr is None:
        raise NotResolved("the token names no fødselsnummer")
    return fnr, _claim_ref(claims.get(FHIR_USER_CLAIM), "Patient")


# ------------------------------------------------------------------ the resolver

_Context = WorkContext | CitizenContext


class ContextResolver:
    """Attaches the work or citizen context to each request's actor, with a cache.

    One per application, shared by all requests (thread safe). Entries live ``ttl``
    seconds (``clock`` in seconds; tests may replace it) and at most ``max_entries`` are
    kept, least recently used dropped first. Only successes are cached.
    """

    def __init__(
        self,
        store: SqlStore,
        settings: Settings,
        *,
        ttl: float = CACHE_TTL_SECONDS,
        max_entries: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._read = store_reader(store)
        self._cache: OrderedDict[tuple[str, ...], tuple[float, _Context]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, actor: Actor) -> Actor:
        """``actor`` with ``work`` (practitioners) or ``citizen`` (patients) set.

        Other actors are returned unchanged. Raises a 401 :class:`FhirError` (``login``)
        when the token's identity does not hold in the stored data.
        """
        if actor.kind == "practitioner":
            try:
                hpr, role_id, practitioner_id = practitioner_claims(actor.claims)
            except NotResolved as exc:
                raise invalid_token(str(exc)) from None
            key: tuple[str, ...] = ("practitioner", hpr, role_id, practitioner_id or "")
            work = self._cached(
                key,
                lambda: work_context(
                    self._read, hpr=hpr, role_id=role_id, practitioner_id=practitioner_id
                ),
            )
            assert isinstance(work, WorkContext)
            return dataclasses.replace(actor, work=work)
        if actor.kind == "patient":
            try:
                fnr, patient_id = citizen_claims(actor.claims)
            except NotResolved as exc:
                raise invalid_token(str(exc)) from None
            on_behalf = _claim_ref(actor.claims.get(proxy.ON_BEHALF_CLAIM), "Patient")
            if on_behalf is not None:
                # Never cached: a revoked fullmakt must stop the very next request.
                return dataclasses.replace(actor, citizen=self.proxy_context(fnr, on_behalf))
            key = ("patient", fnr, patient_id or "")
            citizen = self._cached(key, lambda: self._citizen(fnr, patient_id))
            assert isinstance(citizen, CitizenContext)
            return dataclasses.replace(actor, citizen=citizen)
        return actor

    def proxy_context(self, fnr: str, patient_id: str) -> CitizenContext:
        """``fnr`` acting for ``Patient/{patient_id}`` as a parent or with a fullmakt,
        checked against the stored RelatedPersons now; 401 when it does not hold."""
        try:
            person_system(fnr, allow_test_identities=self.settings.allow_test_identities)
            found = proxy.representation(
                fnr,
                patient_id,
                self._related_holding,
                lambda pid: self._read("Patient", pid),
                datetime.datetime.now(datetime.UTC),
                superseded=lambda p: is_superseded(dict(p)),
            )
        except (NotResolved, proxy.NotRepresented) as exc:
            raise invalid_token(f"the token's identity does not hold: {exc}") from None
        return CitizenContext(fnr=fnr, patient_id=patient_id, proxy=found)

    def representations(self, fnr: str) -> list[proxy.Representation]:
        """Everyone ``fnr`` may act for now (the portal's choice after sign-in)."""
        return proxy.representations_of(
            fnr,
            self._related_holding,
            lambda pid: self._read("Patient", pid),
            datetime.datetime.now(datetime.UTC),
            superseded=lambda p: is_superseded(dict(p)),
        )

    def own_patient(self, fnr: str) -> str | None:
        """The id of the one standing Patient holding ``fnr`` (None: none, or several)."""
        try:
            return self._citizen(fnr, None).patient_id
        except NotResolved:
            return None

    def _related_holding(self, fnr: str) -> list[Resource]:
        """The RelatedPersons whose identifier is ``fnr`` (any system alias)."""
        repo = GuardedRepository(
            self.store, self.settings, RequestContext(PROXY_LOOKUP_ACTOR, audited=False)
        )
        tokens = ",".join(
            f"{variant}|{fnr}"
            for system in (FNR_SYSTEM, DNR_SYSTEM)
            for variant in SYSTEM_VARIANTS[system]
        )
        result = repo.search("RelatedPerson", [("identifier", tokens), ("_count", "100")])
        out: list[Resource] = []
        for stored in result.matches:
            value = jsonio.loads(stored.content) if stored.content else None
            if isinstance(value, dict):
                out.append(value)
        return out

    def clear(self) -> None:
        """Forget every resolved context (the next request reads the data again)."""
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)

    # ------------------------------------------------------------------ internals

    def _citizen(self, fnr: str, patient_id: str | None) -> CitizenContext:
        if patient_id is None:
            system = person_system(fnr, allow_test_identities=self.settings.allow_test_identities)
            repo = GuardedRepository(
                self.store, self.settings, RequestContext(LOOKUP_ACTOR, audited=False)
            )
            patient_id = find_patient(repo, fnr, system)
        return citizen_context(self._read, fnr=fnr, patient_id=patient_id)

    def _cached(self, key: tuple[str, ...], build: Callable[[], _Context]) -> _Context:
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                if now < hit[0]:
                    self._cache.move_to_end(key)
                    return hit[1]
                del self._cache[key]
        try:
            value = build()
        except NotResolved as exc:
            raise invalid_token(f"the token's identity no longer holds: {exc}") from None
        with self._lock:
            self._cache[key] = (now + self.ttl, value)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return value

"""The privacy officer's review: suspicious accesses in the audit log, and their marks.

Normen (faktaark 15) and pasientjournalforskriften § 14 ask that the log be *checked*,
not only kept; domain.md §3.7 names the rule-based checks. Each health worker's event
about a patient is held against these rules (:data:`REASONS`):

* ``break-the-glass``: the access was made under a break-the-glass grant (basis code).
* ``no-care-relation``: the event's basis is ``none``: the access had no care relation,
  or was denied for want of one (outcome ``4``).
* ``same-surname``: a family name of the patient equals one of the practitioner's
  (any ``name`` entry; compared as the search index compares names: case, accents and
  å/aa folded).
* ``same-address``: a home address of the patient (``use`` home or absent) has the line
  and postal code of one of the practitioner's (``Practitioner.address``).
* ``colleague``: the patient is staff: a Practitioner holds the patient's fødselsnummer
  or D-nummer as an identifier, or has the patient's family name, first given name and
  birth date. A practitioner opening their own record is flagged too (that is no
  colleague, but as reviewable).
* ``confidential-address``: the patient has a fortrolig or strengt fortrolig address.

Only events whose requesting agent is a ``Practitioner/...`` are reviewed: system
clients and citizens reading their own record are not. Events that name no patient are
left out, except break-the-glass. Patients and practitioners are judged as they are
*now* (the caller's ``read``), not as they were at the time of the access.

Marking an event reviewed appends an AuditEvent (subtype ``access-review``, entity
``AuditEvent/{seq}``, the comment as ``outcomeDesc``) to the same hash chain: a mark
cannot be changed or removed without breaking the chain, and needs no table of its own.
An event is reviewed once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, Final, NamedTuple

import orjson
import sqlalchemy as sa

from fellesjournal.access.actor import Actor
from fellesjournal.audit import events, log
from fellesjournal.audit.fields import normalise_instant, patient_of
from fellesjournal.norway.confidentiality import strictest_protection
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM, canonical_system
from fellesjournal.search.normalize import normalize_string
from fellesjournal.store import schema
from fellesjournal.store.sql import SqlTransaction

#: The subtype code of a review mark (``events.SUBTYPE_SYSTEM``).
REVIEW_SUBTYPE: Final = "access-review"

BREAK_THE_GLASS: Final = "break-the-glass"
NO_CARE_RELATION: Final = "no-care-relation"
SAME_SURNAME: Final = "same-surname"
SAME_ADDRESS: Final = "same-address"
COLLEAGUE: Final = "colleague"
CONFIDENTIAL_ADDRESS: Final = "confidential-address"


class Reason(NamedTuple):
    """One review rule, described in one line each in Norwegian (bokmål) and English."""

    nb: str
    en: str


#: Reason code -> description, in the order reasons are listed.
REASONS: Final[dict[str, Reason]] = {
    BREAK_THE_GLASS: Reason(
        "Nødtilgang («bryte glasset»): tilgang brukeren ga seg selv",
        "Break-the-glass: emergency access the user granted themselves",
    ),
    NO_CARE_RELATION: Reason(
        "Tilgang uten behandlingsrelasjon, eller avvist fordi den manglet",
        "Access without a care relation, or denied for want of one",
    ),
    SAME_SURNAME: Reason(
        "Pasienten har samme etternavn som brukeren",
        "The patient has the user's surname",
    ),
    SAME_ADDRESS: Reason(
        "Pasienten bor på samme adresse som brukeren",
        "The patient lives at the user's home address",
    ),
    COLLEAGUE: Reason(
        "Pasienten er ansatt: en kollega slått opp som pasient",
        "The patient is staff: a colleague looked up as a patient",
    ),
    CONFIDENTIAL_ADDRESS: Reason(
        "Pasienten har fortrolig eller strengt fortrolig adresse",
        "The patient has a confidential (fortrolig or strengt fortrolig) address",
    ),
}

#: ``read(type, id)``: the current content of a resource, or None (unknown, deleted).
Reader = Callable[[str, str], dict[str, Any] | None]
#: Every current Practitioner's content (for the colleague rule); called at most once.
StaffSource = Callable[[], Iterable[dict[str, Any]]]

_STAFF_IDENTIFIERS: Final = (FNR_SYSTEM, DNR_SYSTEM)
_L = schema.audit_log
_RECORD_COLUMNS: Final = ("seq", "recorded", "patient_id", "agent", "action", "outcome", "content")
_R = schema.resources


@dataclasses.dataclass(frozen=True, slots=True)
class ReviewItem:
    """One suspicious access, and its review mark if it has one."""

    seq: int  #: the event's seq (its AuditEvent id)
    recorded: str
    agent: str  #: ``Practitioner/{id}``
    agent_name: str
    patient_id: str | None
    reasons: tuple[str, ...]  #: codes of :data:`REASONS`, in that order
    reviewed: bool = False
    review_comment: str = ""
    reviewed_by: str = ""  #: the reviewer's agent (``Practitioner/{id}``, ``system cli``)
    reviewed_at: str = ""  #: when the mark was recorded


class Review(NamedTuple):
    """A review mark found in the log."""

    comment: str
    reviewer: str
    recorded: str


class UnknownEvent(ValueError):
    """The seq to mark names no event in the log."""


def find_suspicious(
    tx: SqlTransaction,
    *,
    since: str | None,
    read: Reader,
    include_reviewed: bool = False,
    staff: StaffSource | None = None,
) -> list[ReviewItem]:
    """The suspicious accesses recorded at or after ``since`` (an instant), newest first.

    ``read`` gives the current Patient and Practitioner content (each id is read once);
    ``staff`` every current Practitioner, for the colleague rule (default: read from
    ``tx``; asked only when an event needs it). Reviewed items are left out unless
    ``include_reviewed``. Raises ValueError when ``since`` is not an instant with a time
    zone. One pass over the log from ``since`` on; within a snapshot ``tx`` the result
    is consistent.
    """
    after_seq = 0
    since_at: str | None = None
    if since is not None:
        since_at = normalise_instant(since)
        first = tx.execute(sa.select(sa.func.min(_L.c.seq)).where(_L.c.recorded >= since_at))
        first_seq = first.scalar()
        if first_seq is None:
            return []
        after_seq = int(first_seq) - 1
    rules = _Rules(read, staff if staff is not None else lambda: _current_practitioners(tx))
    found: list[ReviewItem] = []
    marks: dict[int, Review] = {}
    # From the first event in range on, with no time filter: a mark is always later in
    # the chain than what it marks, but its clock may say otherwise.
    for record in log.iter_events(tx, after_seq=after_seq):
        if _may_be_review(record.action, record.content):
            event = record.event()
            target = _review_target(event)
            if target is not None:
                marks.setdefault(target, _mark_of(event, record))
                continue
        if since_at is not None and record.recorded < since_at:
            continue
        if not record.agent.startswith("Practitioner/"):
            continue
        item = rules.judge(record)
        if item is not None:
            found.append(item)
    out = []
    for item in reversed(found):
        mark = marks.get(item.seq)
        if mark is None:
            out.append(item)
        elif include_reviewed:
            out.append(
                dataclasses.replace(
                    item,
                    reviewed=True,
                    review_comment=mark.comment,
                    reviewed_by=mark.reviewer,
                    reviewed_at=mark.recorded,
                )
            )
    return out


def review_event(
    reviewer: Actor, seq: int, comment: str, *, patient_id: str | None = None
) -> dict[str, Any]:
    """The AuditEvent that marks event ``seq`` (about ``patient_id``) reviewed by
    ``reviewer`` with ``comment``. Builds only; see :func:`new_review` for the checks."""
    return events.access_event(
        reviewer,
        interaction="review",
        patient_id=patient_id,
        what=[f"AuditEvent/{seq}"],
        subtype=REVIEW_SUBTYPE,
        outcome_desc=comment,
        basis=events.SYSTEM,
    )


def new_review(tx: SqlTransaction, reviewer: Actor, seq: int, comment: str) -> dict[str, Any]:
    """The review mark for event ``seq``, checked against the log, for the caller to
    :func:`~fellesjournal.audit.log.append` in the same write transaction ``tx``.

    Raises ValueError (one line) for a blank comment, for a seq that is itself a review
    or was reviewed already, and :class:`UnknownEvent` for a seq not in the log.
    Concurrent marks of one seq are serialised (PostgreSQL: an advisory lock until
    ``tx`` ends; SQLite has one writer), so an event is never marked twice.
    """
    text = comment.strip()
    if not text:
        raise ValueError("a review needs a comment")
    tx.lock_key(f"audit-review/{seq}")
    event = log.read_event(tx, seq)
    if event is None:
        raise UnknownEvent(f"the audit log has no event {seq}")
    if _review_target(event) is not None:
        raise ValueError(f"event {seq} is itself a review mark")
    earlier = _marks_of(tx, seq)
    if earlier:
        mark = earlier[0]
        raise ValueError(f"event {seq} was already reviewed by {mark.reviewer} at {mark.recorded}")
    return review_event(reviewer, seq, text, patient_id=patient_of(event))


def reviews(tx: SqlTransaction, *, after_seq: int = 0) -> dict[int, Review]:
    """The review marks in the log after ``after_seq``: reviewed seq -> its (first) mark."""
    out: dict[int, Review] = {}
    for record in log.iter_events(tx, after_seq=after_seq):
        if _may_be_review(record.action, record.content):
            event = record.event()
            target = _review_target(event)
            if target is not None:
                out.setdefault(target, _mark_of(event, record))
    return out


# ---------------------------------------------------------------------------- marks


def _may_be_review(action: str, content: str) -> bool:
    """A cheap test on the stored text before parsing it."""
    return action == events.ACTIONS["review"] and REVIEW_SUBTYPE in content


def _review_target(event: dict[str, Any]) -> int | None:
    """The seq a review mark marks, or None when ``event`` is no review mark."""
    subtypes = event.get("subtype") or ()
    if not any(
        isinstance(s, dict)
        and s.get("system") == events.SUBTYPE_SYSTEM
        and s.get("code") == REVIEW_SUBTYPE
        for s in subtypes
    ):
        return None
    for entity in event.get("entity") or ():
        what = entity.get("what") if isinstance(entity, dict) else None
        ref = what.get("reference") if isinstance(what, dict) else None
        if isinstance(ref, str) and ref.startswith("AuditEvent/") and ref[11:].isdigit():
            return int(ref[11:])
    return None


def _mark_of(event: dict[str, Any], record: log.AuditRecord) -> Review:
    return Review(str(event.get("outcomeDesc") or ""), record.agent, record.recorded)


def _marks_of(tx: SqlTransaction, seq: int) -> list[Review]:
    """The marks of one event, oldest first. The text filters run in the database, so
    only candidates are parsed; a mark always comes after what it marks."""
    stmt = (
        sa.select(*(_L.c[name] for name in _RECORD_COLUMNS))
        .where(
            _L.c.seq > seq,
            _L.c.action == events.ACTIONS["review"],
            _L.c.content.contains(REVIEW_SUBTYPE, autoescape=True),
            _L.c.content.contains(f'"AuditEvent/{seq}"', autoescape=True),
        )
        .order_by(_L.c.seq)
    )
    out = []
    for row in tx.execute(stmt):
        record = log.AuditRecord(*row)
        event = record.event()
        if _review_target(event) == seq:
            out.append(_mark_of(event, record))
    return out


# ---------------------------------------------------------------------------- rules


@dataclasses.dataclass(frozen=True, slots=True)
class _Person:
    """What the rules compare of a Patient or Practitioner."""

    families: frozenset[str]
    homes: frozenset[tuple[str, str]]  #: (normalised lines, postal code)
    name_and_birth: tuple[str, str, str] | None  #: (family, first given, birthDate)
    national: frozenset[str]  #: fødselsnummer and D-nummer values
    display: str
    protected: bool


class _Rules:
    """The review rules, with the people they compare read once each."""

    def __init__(self, read: Reader, staff: StaffSource) -> None:
        self._read = read
        self._staff_source = staff
        self._people: dict[tuple[str, str], _Person | None] = {}
        self._staff: tuple[frozenset[str], frozenset[tuple[str, str, str]]] | None = None

    def judge(self, record: log.AuditRecord) -> ReviewItem | None:
        """The review item for a practitioner's event, or None when nothing is amiss."""
        event = orjson.loads(record.content)
        practitioner_id = record.agent.removeprefix("Practitioner/")
        basis = events.basis_of(event)
        patient_id = record.patient_id
        reasons: set[str] = set()
        if basis == events.BREAK_GLASS:
            reasons.add(BREAK_THE_GLASS)
        user = self._person("Practitioner", practitioner_id)
        if patient_id is not None:
            if basis == events.NO_BASIS:
                reasons.add(NO_CARE_RELATION)
            patient = self._person("Patient", patient_id)
            if patient is not None:
                reasons.update(self._compare(patient, user))
        if not reasons:
            return None
        return ReviewItem(
            seq=record.seq,
            recorded=record.recorded,
            agent=record.agent,
            agent_name=_agent_name(event) or (user.display if user else "") or record.agent,
            patient_id=patient_id,
            reasons=tuple(code for code in REASONS if code in reasons),
        )

    def _compare(self, patient: _Person, user: _Person | None) -> set[str]:
        reasons = set()
        if patient.protected:
            reasons.add(CONFIDENTIAL_ADDRESS)
        if user is not None and patient.families & user.families:
            reasons.add(SAME_SURNAME)
        if user is not None and patient.homes & user.homes:
            reasons.add(SAME_ADDRESS)
        if self._is_staff(patient):
            reasons.add(COLLEAGUE)
        return reasons

    def _person(self, res_type: str, res_id: str) -> _Person | None:
        key = (res_type, res_id)
        if key not in self._people:
            content = self._read(res_type, res_id)
            self._people[key] = None if content is None else _person(content)
        return self._people[key]

    def _is_staff(self, patient: _Person) -> bool:
        if self._staff is None:
            numbers: set[str] = set()
            names: set[tuple[str, str, str]] = set()
            for resource in self._staff_source():
                staff = _person(resource)
                numbers.update(staff.national)
                if staff.name_and_birth is not None:
                    names.add(staff.name_and_birth)
            self._staff = (frozenset(numbers), frozenset(names))
        numbers_held, names_held = self._staff
        if patient.national & numbers_held:
            return True
        return patient.name_and_birth is not None and patient.name_and_birth in names_held


def _person(resource: dict[str, Any]) -> _Person:
    names = [n for n in resource.get("name") or () if isinstance(n, dict)]
    families = frozenset(
        normalize_string(n["family"]) for n in names if isinstance(n.get("family"), str)
    ) - {""}
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    family = official.get("family") if isinstance(official.get("family"), str) else ""
    given_list = official.get("given") or []
    given = given_list[0] if given_list and isinstance(given_list[0], str) else ""
    birth = resource.get("birthDate")
    name_and_birth = None
    if family and given and isinstance(birth, str) and birth:
        name_and_birth = (normalize_string(family), normalize_string(given), birth)
    return _Person(
        families=families,
        homes=frozenset(_homes(resource)),
        name_and_birth=name_and_birth,
        national=frozenset(_national(resource)),
        display=" ".join(p for p in (given, family) if p),
        protected=strictest_protection(resource) is not None,
    )


def _homes(resource: dict[str, Any]) -> Iterable[tuple[str, str]]:
    addresses = resource.get("address") or ()
    for a in addresses if isinstance(addresses, list) else (addresses,):
        if not isinstance(a, dict) or a.get("use") not in (None, "home"):
            continue
        lines = [normalize_string(x) for x in a.get("line") or () if isinstance(x, str)]
        postal = a.get("postalCode")
        line = " ".join(x for x in lines if x)
        if line and isinstance(postal, str) and postal.strip():
            yield line, "".join(postal.split())


def _national(resource: dict[str, Any]) -> Iterable[str]:
    for ident in resource.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        system, value = ident.get("system"), ident.get("value")
        if (
            isinstance(system, str)
            and isinstance(value, str)
            and value
            and canonical_system(system) in _STAFF_IDENTIFIERS
        ):
            yield value


def _agent_name(event: dict[str, Any]) -> str:
    agents = [a for a in event.get("agent") or () if isinstance(a, dict)]
    chosen = next((a for a in agents if a.get("requestor") is True), agents[0] if agents else {})
    who = chosen.get("who")
    display = who.get("display") if isinstance(who, dict) else None
    return display if isinstance(display, str) else ""


def _current_practitioners(tx: SqlTransaction) -> Iterable[dict[str, Any]]:
    stmt = sa.select(_R.c.content).where(
        _R.c.res_type == "Practitioner", _R.c.deleted.is_(False), _R.c.content.is_not(None)
    )
    for (content,) in tx.execute(stmt):
        yield orjson.loads(content)

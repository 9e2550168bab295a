"""Acting for someone else: parents and fullmakt, kept as FHIR RelatedPerson.

A representation is a RelatedPerson of the represented patient whose ``identifier``
holds the proxy's fødselsnummer or D-nummer and whose ``relationship`` carries a
:data:`PROXY_SYSTEM` code (docs/portal.md):

* ``parent`` (from the population register): for a child under 12 the parent acts as
  with :data:`FULL` (documents withheld from parents stay withheld, ``NORN_FORANS``);
  for a child of 12 to 15 only appointments and messages (:data:`COMMUNICATE`); from
  16 the child acts alone.
* a fullmakt at one of four levels (HelsaMi's): :data:`FULL`, :data:`STANDARD`,
  :data:`READ_ONLY`, :data:`COMMUNICATE`; granted by the citizen (16 or older) to someone
  18 or older; revoked by ``active: false``.

A representation holds while the RelatedPerson is active, within its ``period``, the
proxy is 18 or older and the represented Patient stands. It is checked against the
stored data on every request (:func:`representation`), never cached, so a revoked
fullmakt stops the proxy's next request.

:func:`capabilities` says what the citizen or proxy may do, for pages to show only what
works; the access layer enforces the same (``policy.py``, ``release.py``,
``citizen_writes.py``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from fellesjournal.access.context import CitizenContext, Proxy
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM, birth_date
from fellesjournal.search.normalize import date_range

Resource = Mapping[str, Any]

PROXY_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/proxy-access"
#: The claim (and session field) naming the Patient a citizen acts for.
ON_BEHALF_CLAIM: Final = "fj_on_behalf_of"

PARENT: Final = "parent"
FULL: Final = "full"
STANDARD: Final = "standard"
READ_ONLY: Final = "read-only"
COMMUNICATE: Final = "communicate"
#: The fullmakt levels, with HelsaMi's names for them.
FULLMAKT_LEVELS: Final[dict[str, str]] = {
    FULL: "Full tilgang",
    STANDARD: "Standard",
    READ_ONLY: "Lesetilgang",
    COMMUNICATE: "Bare kommunisere",
}
#: A parent acts fully for a child younger than this ...
PARENT_FULL_UNTIL: Final = 12
#: ... and for appointments and messages until the child is this old.
OWN_ACCESS_AGE: Final = 16
#: A proxy must be at least this old.
PROXY_MIN_AGE: Final = 18

ALL: Final = frozenset(
    {"read", "sensitive", "appointments", "act", "blocks", "access-log", "download", "proxies"}
)
#: What each level may do (the citizen themselves: :data:`ALL`).
CAPABILITIES: Final[dict[str, frozenset[str]]] = {
    FULL: ALL - {"proxies"},
    STANDARD: frozenset({"read", "appointments", "act", "download"}),
    READ_ONLY: frozenset({"read", "appointments", "download"}),
    COMMUNICATE: frozenset({"appointments", "act"}),
    # A parent of a child under 12: as full, but neither blocks nor fullmakt.
    PARENT: frozenset({"read", "sensitive", "appointments", "act", "access-log", "download"}),
}


class NotRepresented(Exception):
    """The signed-in person does not (or no longer) act for that patient; one line."""


def capabilities(citizen: CitizenContext | None) -> frozenset[str]:
    """What ``citizen`` may do in the record they act on (empty: nothing)."""
    if citizen is None:
        return frozenset()
    if citizen.proxy is None:
        return ALL
    return CAPABILITIES.get(citizen.proxy.level, frozenset())


def age_on(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def level_code(related: Resource) -> str | None:
    """The :data:`PROXY_SYSTEM` code of a RelatedPerson (None: not a representation)."""
    for concept in related.get("relationship") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == PROXY_SYSTEM and isinstance(coding.get("code"), str):
                return str(coding["code"])
    return None


def holds_number(related: Resource, fnr: str) -> bool:
    return any(
        ident.get("system") in (FNR_SYSTEM, DNR_SYSTEM) and ident.get("value") == fnr
        for ident in related.get("identifier") or ()
    )


def in_period(related: Resource, now: datetime.datetime) -> bool:
    period = related.get("period") or {}
    now_us = int(now.timestamp() * 1_000_000)
    try:
        starts = date_range(str(period["start"]))[0] if period.get("start") else None
        ends = date_range(str(period["end"]))[1] if period.get("end") else None
    except ValueError:
        return False
    return (starts is None or starts <= now_us) and (ends is None or now_us < ends)


def effective_level(
    code: str, child_birth: datetime.date | None, today: datetime.date
) -> str | None:
    """The level a representation gives today (None: none). A parent's follows the age
    of the child; a parent of a child whose birth date is unknown gets nothing."""
    if code in FULLMAKT_LEVELS:
        return code
    if code != PARENT or child_birth is None:
        return None
    age = age_on(child_birth, today)
    if age < PARENT_FULL_UNTIL:
        return PARENT
    if age < OWN_ACCESS_AGE:
        return COMMUNICATE
    return None


def person_name(resource: Resource | None) -> str:
    """The text, else ``given family``, of the first usable name; "" when there is none."""
    for name in (resource or {}).get("name") or ():
        if not isinstance(name, dict):
            continue
        if name.get("text"):
            return str(name["text"])
        parts = [*(name.get("given") or ()), name.get("family") or ""]
        joined = " ".join(str(p) for p in parts if p)
        if joined:
            return joined
    return ""


def _birth(patient: Resource) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(patient.get("birthDate") or "")[:10])
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Representation:
    """Someone the signed-in person may act for: a choice on the portal."""

    patient_id: str
    name: str
    relation: str
    level: str
    related_person_id: str


#: ``(RelatedPerson resources holding the number)`` and ``Patient by id`` look-ups.
FindRelated = Callable[[str], Iterable[Resource]]
ReadPatient = Callable[[str], Resource | None]


def representations(store: Any, settings: Any, fnr: str) -> list[Representation]:
    """Everyone ``fnr`` may act for now, read from ``store`` (a SqlStore): the portal's
    choice after sign-in. Same as ``ContextResolver.representations``."""
    from fellesjournal.access.resolve import ContextResolver

    return ContextResolver(store, settings).representations(fnr)


def representations_of(
    fnr: str,
    find_related: FindRelated,
    read_patient: ReadPatient,
    now: datetime.datetime,
    *,
    superseded: Callable[[Resource], bool] = lambda _p: False,
) -> list[Representation]:
    """Everyone ``fnr`` acts for now, by name. Nothing when ``fnr`` is under 18."""
    born = birth_date(fnr)
    if born is None or age_on(born, now.date()) < PROXY_MIN_AGE:
        return []
    found: dict[str, Representation] = {}
    for related in find_related(fnr):
        rep = _judge(related, fnr, read_patient, now, superseded)
        if isinstance(rep, Representation):
            best = found.get(rep.patient_id)
            if best is None or _rank(rep.level) < _rank(best.level):
                found[rep.patient_id] = rep
    return sorted(found.values(), key=lambda r: (r.name, r.patient_id))


def representation(
    fnr: str,
    patient_id: str,
    find_related: FindRelated,
    read_patient: ReadPatient,
    now: datetime.datetime,
    *,
    superseded: Callable[[Resource], bool] = lambda _p: False,
) -> Proxy:
    """The proxy context of ``fnr`` acting for ``Patient/{patient_id}``; raises
    :class:`NotRepresented` (one line) when no representation holds now."""
    born = birth_date(fnr)
    if born is None or age_on(born, now.date()) < PROXY_MIN_AGE:
        raise NotRepresented(f"a proxy must be {PROXY_MIN_AGE} or older")
    best: Representation | None = None
    holder = ""
    why = f"no active representation of Patient/{patient_id} holds the number"
    for related in find_related(fnr):
        patient_ref = str((related.get("patient") or {}).get("reference") or "")
        if patient_ref != f"Patient/{patient_id}":
            continue
        rep = _judge(related, fnr, read_patient, now, superseded)
        if isinstance(rep, str):
            why = rep
        elif best is None or _rank(rep.level) < _rank(best.level):
            best, holder = rep, person_name(related)
    if best is None:
        raise NotRepresented(why)
    relation = PARENT if best.relation == PARENT else "fullmakt"
    # The proxy's own name (the RelatedPerson's), not the represented patient's.
    return Proxy(best.related_person_id, relation, best.level, holder)


def _judge(
    related: Resource,
    fnr: str,
    read_patient: ReadPatient,
    now: datetime.datetime,
    superseded: Callable[[Resource], bool],
) -> Representation | str:
    """The representation ``related`` gives ``fnr`` now, or why it gives none."""
    if related.get("active") is False:
        return "the representation has been revoked"
    if not holds_number(related, fnr) or not in_period(related, now):
        return "the representation is not in force"
    code = level_code(related)
    if code is None:
        return "the RelatedPerson grants no access"
    patient_id = str((related.get("patient") or {}).get("reference") or "").removeprefix("Patient/")
    patient = read_patient(patient_id) if patient_id else None
    if patient is None or superseded(patient):
        return "the represented record does not stand"
    level = effective_level(code, _birth(patient), now.date())
    if level is None:
        return "the child is old enough to act alone"
    return Representation(
        patient_id, person_name(patient), code, level, str(related.get("id") or "")
    )


def _rank(level: str) -> int:
    """Lower is wider: when two representations hold, the wider one counts."""
    order = (FULL, PARENT, STANDARD, READ_ONLY, COMMUNICATE)
    return order.index(level) if level in order else len(order)

"""Duplicate candidates: records that may be the same person but share no identifier.

Two rules, each a reason a registration clerk or the MPI steward would recognise:

* ``same-name-and-birth-date``: same family name, first given name and birth date
  (compared as the search index compares names: case, accents and å/aa folded).
* ``temporary-identity``: a patient known only by a help number (H-nummer, FH-nummer, or
  no national identifier at all) and another with a fødselsnummer or D-nummer who share
  the birth date and gender and at least the family or the first given name — the
  temporary record of an unidentified patient who was later identified.

Pairs that share a national identifier cannot exist (see :mod:`fellesjournal.mpi.identity`);
merged-away patients are left out. Candidates are found by birth date blocks, so the
work is linear in the number of patients.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fellesjournal.fhir import jsonio
from fellesjournal.mpi.identity import is_superseded, national_identifiers
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.search.normalize import normalize_string
from fellesjournal.service.repository import GuardedRepository

SAME_NAME = "same-name-and-birth-date"
TEMPORARY = "temporary-identity"


@dataclass(frozen=True)
class Person:
    """What the rules compare of one Patient."""

    id: str
    family: str
    given: str
    birth_date: str
    gender: str
    national: frozenset[tuple[str, str]]
    display: str

    @property
    def identified(self) -> bool:
        """Known by a fødselsnummer or D-nummer (not only a help number)."""
        return any(system in (FNR_SYSTEM, DNR_SYSTEM) for system, _v in self.national)


@dataclass(frozen=True)
class Candidate:
    a: Person
    b: Person
    reason: str


def person(res_id: str, resource: dict[str, Any]) -> Person | None:
    """The comparable facts of a Patient, or None when it cannot take part."""
    if is_superseded(resource) or type(resource.get("birthDate")) is not str:
        return None
    names = [n for n in resource.get("name") or () if type(n) is dict]
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    family = official.get("family")
    family = family if type(family) is str else ""
    given_list = official.get("given") or []
    given = given_list[0] if given_list and type(given_list[0]) is str else ""
    display = " ".join(p for p in (given, family) if p)
    return Person(
        id=res_id,
        family=normalize_string(family),
        given=normalize_string(given),
        birth_date=resource["birthDate"],
        gender=str(resource.get("gender") or ""),
        national=frozenset(key for _i, key in national_identifiers(resource)),
        display=display,
    )


def _pair_reason(a: Person, b: Person) -> str | None:
    if a.national & b.national:
        return None  # the same identity: not a duplicate but one person (cannot happen)
    if a.family and a.family == b.family and a.given and a.given == b.given:
        return SAME_NAME
    shares_a_name = (a.family and a.family == b.family) or (a.given and a.given == b.given)
    if a.identified != b.identified and a.gender and a.gender == b.gender and shares_a_name:
        return TEMPORARY
    return None


def find_candidates(people: Iterable[Person]) -> list[Candidate]:
    """Candidate pairs among ``people``, ordered by birth date and id."""
    blocks: dict[str, list[Person]] = defaultdict(list)
    for p in people:
        blocks[p.birth_date].append(p)
    out = []
    for date in sorted(blocks):
        block = sorted(blocks[date], key=lambda p: p.id)
        for i, a in enumerate(block):
            for b in block[i + 1 :]:
                reason = _pair_reason(a, b)
                if reason:
                    out.append(Candidate(a, b, reason))
    return out


def duplicates(repo: GuardedRepository) -> list[Candidate]:
    """Every duplicate candidate pair in the database (through the guarded repository)."""
    people = []
    with repo.reading() as tx:
        for stored in repo.scan(tx, "Patient"):
            if stored.content is None:
                continue
            p = person(stored.res_id, jsonio.loads(stored.content))
            if p is not None:
                people.append(p)
    return find_candidates(people)

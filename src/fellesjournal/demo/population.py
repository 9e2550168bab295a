"""The deterministic synthetic demo population: ``(seed, n, today, region)`` → resources.

:func:`generate` yields one :class:`PatientRecord` per person, in order. Pure: no I/O,
no clock, no global state. The same seed, anchor date and region give byte-identical
resources with the same ids on every run. Person ``k`` draws from a random generator
seeded by ``(seed, k)`` alone, and depends on persons ``0..k-1`` only through the set of
person numbers already handed out (to keep them unique), so the first 200 persons of a
100,000-person run are exactly the 200 persons of a 200-person run.

Ids: ``Patient/pop{seed}-{k}``; the person's other resources ``pop{seed}-{k}-{tag}{n}``.

Duplicates, for the master patient index to find (about 0.3 % of persons; ten times as
many among the first :data:`~fellesjournal.demo.person.SHOWCASE` persons):

* ``-d``: the same name, sex and birth date, no identifier and an old address in another
  municipality (a registration made without the fødselsnummer);
* ``-h``: a temporary patient with a hospital H-nummer (``system`` ``HNR``, type Volven
  8327 ``HNR``, assigned by the health trust), registered when an unidentified patient
  came to the akuttmottak; half of these are to be merged into the real patient after
  writing (:attr:`PatientRecord.merge`).
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from fellesjournal.demo import clock, notes
from fellesjournal.demo.clinical import ICD10_SYSTEM, ICD10_TEXT
from fellesjournal.demo.encounters import Chart
from fellesjournal.demo.fhirdata import Json, concept, ref
from fellesjournal.demo.identity import person_number, street_line
from fellesjournal.demo.person import (
    Person,
    address,
    human_name,
    make_person,
    patient_resource,
    showcase,
)
from fellesjournal.demo.places import Places
from fellesjournal.demo.records import build_record
from fellesjournal.norway.identifiers import HNR_SYSTEM, ID_TYPE_SYSTEM
from fellesjournal.region.model import Region

#: Shares of persons with a duplicate record: no identifier, H-nummer left for the MPI,
#: H-nummer merged after writing.
DUPLICATE_NO_ID: Final = 0.001
DUPLICATE_HNR: Final = 0.001
MERGED_HNR: Final = 0.001


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """One person's resources (Patient first) and, for some, a merge to do after writing."""

    k: int
    resources: list[Json]
    merge: tuple[str, str] | None = None
    """``(source id, target id)``: merge ``Patient/source`` into ``Patient/target``."""


def patient_id(seed: int, k: int) -> str:
    return f"pop{seed}-{k}"


class Population:
    """A generator of persons for one (region, seed, today); call :meth:`record` in order."""

    def __init__(self, region: Region, seed: int, today: datetime.date) -> None:
        if seed < 0:
            raise ValueError("the seed must be 0 or more")
        self.places = Places(region)
        self.seed = seed
        self.today = today
        self._used: set[str] = set()
        self._next = 0

    def record(self, k: int) -> PatientRecord:
        """Person ``k``; persons must be asked for in order 0, 1, 2, ..."""
        if k != self._next:
            raise ValueError(f"persons are made in order: expected {self._next}, got {k}")
        self._next += 1
        rng = random.Random(f"fellesjournal-demo/{self.seed}/{k}")
        roll = rng.random() / showcase(k, 10)
        pid = patient_id(self.seed, k)
        person = make_person(k, pid, rng, self.places, self.today, self._used)
        resources = [patient_resource(person, rng), *build_record(person, self.places, self.today)]
        merge = None
        if person.alive:
            if roll < DUPLICATE_NO_ID:
                resources += self._unidentified_twin(person, rng)
            elif roll < DUPLICATE_NO_ID + DUPLICATE_HNR + MERGED_HNR:
                resources += self._hnr_twin(person, rng)
                if roll >= DUPLICATE_NO_ID + DUPLICATE_HNR:
                    merge = (f"{pid}-h", pid)
        return PatientRecord(k, resources, merge)

    def _unidentified_twin(self, person: Person, rng: random.Random) -> list[Json]:
        """A Patient with the same name and birth date, no identifier, an old address."""
        other = self.places.municipality(rng)
        codes = other.municipality.postcodes
        twin: Json = {
            "resourceType": "Patient",
            "id": f"{person.pid}-d",
            "active": True,
            "name": [human_name(person)],
            "gender": "female" if person.female else "male",
            "birthDate": person.born.isoformat(),
            "address": [
                address(
                    "ugradert",
                    other.municipality,
                    street_line(rng, other.town),
                    rng.choice(codes) if codes else None,
                )
            ],
        }
        chart = Chart(str(twin["id"]), rng, person.female)
        team = self.places.outpatient(person.local, (), rng)
        if team is not None:
            day = self.today - datetime.timedelta(days=rng.randint(4 * 365, 8 * 365))
            start = clock.at(day, 9 * 60 + 15 * rng.randrange(24))
            chart.encounter(
                "AMB", team, team.doctor(rng), start, start + datetime.timedelta(minutes=30),
                "Poliklinisk konsultasjon",
            )  # fmt: skip
        return [twin, *chart.resources]

    def _hnr_twin(self, person: Person, rng: random.Random) -> list[Json]:
        """A temporary H-nummer patient with an akuttmottak visit from before identification."""
        local = person.local
        team = self.places.emergency(local, rng)
        if team is None or local.trust is None:
            return []
        trust = local.trust
        hnr = person_number(person.born, person.female, rng, self._used, month_add=40)
        twin_id = f"{person.pid}-h"
        twin_person = dataclasses.replace(person, pid=twin_id, chronic=[])
        twin: Json = {
            "resourceType": "Patient",
            "id": twin_id,
            "identifier": [
                {
                    "use": "temp",
                    "type": concept(ID_TYPE_SYSTEM, "HNR", "H-nummer"),
                    "system": HNR_SYSTEM,
                    "value": hnr,
                    "assigner": ref("Organization", trust.id, trust.name),
                }
            ],
            "active": True,
            "name": [human_name(twin_person)],
            "gender": "female" if person.female else "male",
            "birthDate": person.born.isoformat(),
        }
        chart = Chart(twin_id, rng, person.female)
        doctor = team.doctor(rng)
        day = self.today - datetime.timedelta(days=rng.randint(30, 3 * 365))
        start = clock.at(day, rng.randrange(24 * 60))
        end = start + datetime.timedelta(minutes=rng.randint(120, 360))
        enc = chart.encounter("EMER", team, doctor, start, end, "Akuttmottak")
        code = rng.choice(("S060", "R55"))
        cid = chart.condition(
            ICD10_SYSTEM, code, ICD10_TEXT[code], category="encounter-diagnosis",
            onset=start - datetime.timedelta(hours=1), recorded=start.date(), recorder=doctor,
            encounter=enc, abated=end.date(),
        )  # fmt: skip
        chart.set_diagnosis(enc, [cid])
        text = (
            "Innbrakt av ambulanse uten legitimasjon; registrert med H-nummer til identiteten "
            f"er bekreftet. Vurdert som {ICD10_TEXT[code].lower()}. Observert i akuttmottaket "
            "uten funn som krever innleggelse. Reiser hjem med pårørende."
        )
        chart.note(notes.EMERGENCY, text, end, doctor, team, enc)
        return [twin, *chart.resources]


def generate(region: Region, seed: int, n: int, today: datetime.date) -> Iterator[PatientRecord]:
    """Persons ``0..n-1`` of the population (see the module docstring)."""
    population = Population(region, seed, today)
    for k in range(n):
        yield population.record(k)

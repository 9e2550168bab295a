"""One synthetic person: demographics and the no-basis Patient resource.

:func:`make_person` draws a person from the population's distributions: age (Norway's
age pyramid, SSB 2024, rounded to 5-year bands), sex, municipality (weighted by
population), name, person number, fastlege (a doctor at a fastlegekontor in the same
municipality), address with its confidentiality grading, whether they have died.
:func:`patient_resource` writes the HL7 Norway no-basis Patient (docs/domain.md §4.4).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from typing import Any, Final

from fellesjournal.demo import clock, names
from fellesjournal.demo.clinical import CHRONIC, Chronic
from fellesjournal.demo.fhirdata import Json, coding, concept, ref
from fellesjournal.demo.identity import (
    Weighted,
    email,
    foreign_name,
    mobile,
    norwegian_name,
    person_number,
    street_line,
)
from fellesjournal.demo.places import Local, Places, Team
from fellesjournal.norway import confidentiality
from fellesjournal.norway.identifiers import (
    DNR_SYSTEM,
    FNR_SYSTEM,
    HER_SYSTEM,
    KOMMUNENUMMER_SYSTEM,
)
from fellesjournal.region.model import Municipality, Staff
from fellesjournal.search.extract import MIDDLENAME_URL

MUNICIPALITY_URL: Final = confidentiality.MUNICIPALITY_EXTENSION
OFFICIAL_URL: Final = "http://hl7.no/fhir/StructureDefinition/no-basis-address-official"
GRADING_URL: Final = confidentiality.EXTENSION_URL
GRADING_SYSTEM: Final = confidentiality.CODE_SYSTEM
GRADINGS: Final = {
    "ugradert": "Ugradert",
    "klientadresse": "Klientadresse",
    "fortrolig": "Fortrolig",
    "strengtFortrolig": "Strengt fortrolig",
}
#: Share of fortrolig and strengt fortrolig addresses (the rest is ugradert).
FORTROLIG: Final = 0.005
STRENGT_FORTROLIG: Final = 0.002
#: The first persons of every population are a showcase: rare things (protected
#: addresses, duplicates, stays in progress, home care) are several times likelier, so
#: that even the small demo population (``make run``: 200) shows each of them. A
#: person's chances depend on its number, never on the population's size, so the
#: prefix property holds; in 100,000 persons the showcase changes the shares by < 1 %.
SHOWCASE: Final = 300


def showcase(k: int, factor: float) -> float:
    """``factor`` for showcase persons, else 1."""
    return factor if k < SHOWCASE else 1.0


#: Share of the population in each 5-year band from 0-4 to 100-104 (SSB 2024, rounded).
_AGE_BANDS: Final = Weighted(
    list(
        enumerate(
            (5.3, 5.9, 6.1, 6.0, 6.3, 6.7, 7.0, 6.8, 6.5, 6.8, 7.0, 6.6, 5.9, 5.2, 4.9, 4.0,
             2.5, 1.3, 0.6, 0.2, 0.03)
        )
    )
)  # fmt: skip
_MARITAL: Final = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
_MARITAL_NAMES: Final = {"S": "Never Married", "M": "Married", "D": "Divorced", "W": "Widowed"}
_LANGUAGES: Final = {
    "nb": "Norsk bokmål",
    "nn": "Norsk nynorsk",
    "pl": "Polski",
    "lt": "Lietuvių",
    "so": "Soomaali",
    "ar": "العربية",
    "vi": "Tiếng Việt",
    "sv": "Svenska",
}
#: Municipalities where nynorsk is the official written language (Sunnmøre, Nordmøre
#: inland); a share of their people prefer it.
_NYNORSK: Final = frozenset(
    {"1511", "1514", "1515", "1516", "1517", "1520", "1525", "1528", "1577", "1578", "1563"}
)


@dataclass(slots=True)
class Person:
    """Everything the record generator needs to know about one person."""

    k: int
    pid: str
    rng: random.Random
    female: bool
    born: datetime.date
    age: int
    local: Local
    number: str
    number_system: str
    given: list[str]
    middle: str | None
    family: str
    language: str
    grading: str
    gp: tuple[Team, Staff] | None
    deceased: datetime.datetime | None
    chronic: list[Chronic] = field(default_factory=list)
    address_line: str = ""
    postcode: tuple[str, str] | None = None

    @property
    def full_name(self) -> str:
        return " ".join([*self.given, *([self.middle] if self.middle else []), self.family])

    @property
    def alive(self) -> bool:
        return self.deceased is None

    @property
    def member(self) -> bool:
        """Whether the home municipality is a member of the shared record."""
        return self.local.municipality.member


def _birth(rng: random.Random, today: datetime.date) -> tuple[datetime.date, int]:
    """A birth date from the age pyramid, and the age it gives on ``today``."""
    years = min(_AGE_BANDS.pick(rng) * 5 + rng.randrange(5), 102) + rng.random()
    born = today - datetime.timedelta(days=int(years * 365.2425))
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return born, age


def _deceased(rng: random.Random, age: int, today: datetime.date) -> datetime.datetime | None:
    # died within the last two years (Norway: ~0.8 % of the population dies each year)
    chance = 0.25 if age >= 85 else 0.07 if age >= 75 else 0.01 if age >= 50 else 0.001
    if rng.random() >= chance:
        return None
    day = today - datetime.timedelta(days=rng.randint(20, 700))
    return clock.at(day, rng.randint(0, 24 * 60 - 1))


def make_person(
    k: int, pid: str, rng: random.Random, places: Places, today: datetime.date, used: set[str]
) -> Person:
    """Draw person ``k`` (see the module docstring); adds its number to ``used``."""
    female_share = 0.5
    born, age = _birth(rng, today)
    if age >= 80:
        female_share = 0.6
    female = rng.random() < female_share
    local = places.municipality(rng)
    number_system = FNR_SYSTEM
    language = "nb"
    if 20 <= age <= 65 and rng.random() < 0.08:
        origin, given, family = foreign_name(rng, female)
        middle = None
        language = names.FOREIGN_LANGUAGES[origin]
        if rng.random() < 0.15:  # working in Norway for a while: D-nummer
            number_system = DNR_SYSTEM
    else:
        given, middle, family = norwegian_name(rng, female, born)
        if local.municipality.number in _NYNORSK and rng.random() < 0.6:
            language = "nn"
    number = person_number(
        born, female, rng, used, day_add=40 if number_system == DNR_SYSTEM else 0
    )
    roll = rng.random() / showcase(k, 5)
    grading = (
        "strengtFortrolig"
        if roll < STRENGT_FORTROLIG
        else "fortrolig"
        if roll < STRENGT_FORTROLIG + FORTROLIG
        else "ugradert"
    )
    gp = rng.choice(local.fastleger) if local.fastleger else None
    person = Person(
        k=k,
        pid=pid,
        rng=rng,
        female=female,
        born=born,
        age=age,
        local=local,
        number=number,
        number_system=number_system,
        given=given,
        middle=middle,
        family=family,
        language=language,
        grading=grading,
        gp=gp,
        deceased=_deceased(rng, age, today),
    )
    person.address_line = street_line(rng, local.town)
    codes = local.municipality.postcodes
    person.postcode = rng.choice(codes) if codes else None
    person.chronic = [c for c in CHRONIC if rng.random() < c.chance(age, female)]
    return person


def human_name(person: Person) -> Json:
    name: Json = {"use": "official", "text": person.full_name, "family": person.family}
    name["given"] = list(person.given)
    if person.middle:
        name["extension"] = [{"url": MIDDLENAME_URL, "valueString": person.middle}]
    return name


def address(
    grading: str,
    municipality: Municipality | None,
    line: str,
    postcode: tuple[str, str] | None,
) -> Json:
    """A Folkeregister address; a strengt fortrolig address is not given out at all."""
    out: Json = {
        "extension": [
            {"url": OFFICIAL_URL, "valueBoolean": True},
            {"url": GRADING_URL, "valueCoding": coding(GRADING_SYSTEM, grading, GRADINGS[grading])},
        ],
        "use": "home",
    }
    if grading == "strengtFortrolig":
        return out
    out["type"] = "physical"
    out["line"] = [line]
    if postcode:
        out["city"] = postcode[1]
    if municipality is not None:
        m = municipality
        out["district"] = m.name
        out["_district"] = {
            "extension": [
                {
                    "url": MUNICIPALITY_URL,
                    "valueCoding": coding(KOMMUNENUMMER_SYSTEM, m.number, m.name),
                }
            ]
        }
    if postcode:
        out["postalCode"] = postcode[0]
    out["country"] = "NO"
    return out


def general_practitioner(person: Person) -> list[Json]:
    if person.gp is None:
        return []
    team, doctor = person.gp
    org = ref("Organization", team.unit.id, team.unit.name)
    if team.unit.her_id:
        org["identifier"] = {"system": HER_SYSTEM, "value": team.unit.her_id}
    return [ref("Practitioner", doctor.practitioner_id, f"{doctor.given} {doctor.family}"), org]


def patient_resource(person: Person, rng: random.Random) -> Json:
    """The no-basis Patient for ``person`` (its id is ``person.pid``)."""
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": person.pid,
        "identifier": [{"use": "official", "system": person.number_system, "value": person.number}],
        "active": True,
        "name": [human_name(person)],
    }
    telecom = []
    if person.age >= 12:
        telecom.append({"system": "phone", "value": mobile(rng), "use": "mobile"})
    if person.age >= 18 and rng.random() < 0.4:
        telecom.append(
            {"system": "email", "value": email(person.given[0], person.family, person.k)}
        )
    if telecom:
        res["telecom"] = telecom
    res["gender"] = "female" if person.female else "male"
    res["birthDate"] = person.born.isoformat()
    if person.deceased is not None:
        res["deceasedDateTime"] = clock.instant(person.deceased)
    res["address"] = [
        address(person.grading, person.local.municipality, person.address_line, person.postcode)
    ]
    if person.age >= 18:
        status = _marital(rng, person.age)
        res["maritalStatus"] = concept(_MARITAL, status, _MARITAL_NAMES[status])
    res["communication"] = [
        {
            "language": concept("urn:ietf:bcp:47", person.language, _LANGUAGES[person.language]),
            "preferred": True,
        }
    ]
    gp = general_practitioner(person)
    if gp:
        res["generalPractitioner"] = gp
    return res


def _marital(rng: random.Random, age: int) -> str:
    roll = rng.random()
    if age < 30:
        return "S" if roll < 0.8 else "M"
    if age >= 75:
        return "W" if roll < 0.35 else "M" if roll < 0.8 else "D"
    return "M" if roll < 0.55 else "S" if roll < 0.8 else "D"

"""The region as data: :func:`build_region` builds it from :mod:`fellesjournal.region.facts`.

Deterministic (no clock, no randomness beyond ``random.Random(SEED)``), so every machine
gets the same ids, numbers and names; cached, so only the first call costs anything
(a few milliseconds).

Identifiers that are not public are synthetic, from ranges chosen so that they look
like the real thing, pass :func:`fellesjournal.norway.identifiers.check`, and are easy
to recognise. None of them has been looked up: a synthetic number may by chance belong
to a real organisation or person elsewhere, and must never be used outside the demo.

* **Organisasjonsnummer of a municipality**: ``99`` + kommunenummer + ``0`` + a serial
  digit (the lowest that gives a valid control digit, so 0 or 1) + the mod-11 control
  digit; e.g. Trondheim (5001) → ``99500100`` + control. The health trusts and the RHF
  carry their real, public numbers (:data:`~fellesjournal.region.facts.TRUSTS`).
* **HER-id** (8 digits, first digit 8; the real HER-ids we have seen have 6–7):
  municipal unit ``8`` + kommunenummer + kind digit (fastlegekontor 1, hjemmetjeneste 2,
  sykehjem 3, legevakt 4, helsestasjon 5) + the unit's number of that kind (``01``…);
  hospital unit ``89`` + trust digit (St. Olavs 1, HMR 2, HNT 3) + a 5-digit serial.
* **RESH-id** (8 digits, first digit 9; the real ones we have seen have 6–7): ``9`` + trust
  digit + a 6-digit serial, hospital units only.
* **HPR-nummer** (9 digits starting ``99``; real ones have 7): ``990000001``
  upwards, in the order the staff are generated.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from typing import Final

from fellesjournal.norway import municipalities
from fellesjournal.region import facts, names
from fellesjournal.region.model import (
    MUNICIPAL_KINDS,
    HealthTrust,
    Municipality,
    Region,
    Staff,
    Unit,
)

#: The seed of the staff generator; change it and every name changes.
SEED: Final = 2024
RHF_ID: Final = "hmn"
_HPR_BASE: Final = 990_000_000
_KIND_DIGIT: Final = {kind: str(i) for i, kind in enumerate(MUNICIPAL_KINDS, start=1)}
_ORGNR_WEIGHTS: Final = (3, 2, 7, 6, 5, 4, 3, 2)

#: (profession, role, count) per staffing line; Volven 9060 professions.
Staffing = tuple[tuple[str, str, int], ...]


def orgnr_control(first8: str) -> str | None:
    """The mod-11 control digit for eight digits, or ``None`` when none exists."""
    r = sum(int(d) * w for d, w in zip(first8, _ORGNR_WEIGHTS, strict=True)) % 11
    control = 0 if r == 0 else 11 - r
    return None if control == 10 else str(control)


def synthetic_orgnr(kommunenummer: str) -> str:
    """The synthetic organisasjonsnummer of a municipality (rule in the module doc)."""
    for serial in "0123456789":
        first8 = f"99{kommunenummer}0{serial}"
        control = orgnr_control(first8)
        if control is not None:
            return first8 + control
    raise AssertionError("unreachable: two serials never both give control digit 10")


def short_name(kommunenummer: str) -> str:
    """The name used in unit names ("Snåsa" for "Snåase (Snåsa)")."""
    return facts.SHORT_NAMES.get(kommunenummer) or municipalities.MUNICIPALITIES[kommunenummer]


def size_class(population: int) -> str:
    """``"small"`` (< 5,000), ``"medium"`` (< 20,000), ``"large"``, or ``"city"`` (≥ 100,000)."""
    if population >= 100_000:
        return "city"
    if population >= 20_000:
        return "large"
    if population >= 5_000:
        return "medium"
    return "small"


# ---------------------------------------------------------------------------- staff
class _People:
    """Deterministic Norwegian names and HPR numbers, without repeating a full name."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.next_hpr = _HPR_BASE + 1
        self.used: set[tuple[str, str]] = set()

    def person(self, profession: str) -> tuple[str, str, str]:
        female_share = 0.85 if profession in ("SP", "JO", "HE") else 0.5
        for _ in range(50):
            pool = names.FEMALE if self.rng.random() < female_share else names.MALE
            given, family = self.rng.choice(pool), self.rng.choice(names.FAMILY)
            if (given, family) not in self.used:
                break
        self.used.add((given, family))
        hpr = str(self.next_hpr)
        self.next_hpr += 1
        return hpr, given, family

    def staff(self, unit_id: str, staffing: Staffing) -> tuple[Staff, ...]:
        out = []
        for profession, role, count in staffing:
            for _ in range(count):
                hpr, given, family = self.person(profession)
                out.append(Staff(hpr, given, family, profession, role, unit_id))
        return tuple(out)


def _hospital_staffing(slug: str, kind: str) -> Staffing:
    """Who works in a hospital unit: by kind, with a few specialities of the unit."""
    if slug == "personvern":
        return (("SP", "privacy-officer", 1),)
    if kind == "clinic":
        return (("LE", "unit-leader", 1),)
    if kind == "emergency":
        return (("LE", "doctor", 3), ("SP", "nurse", 4), ("HE", "secretary", 1))
    if slug.startswith("dps"):
        return (("LE", "doctor", 1), ("PS", "therapist", 2), ("HE", "secretary", 1))
    if kind == "outpatient":
        extra = (("FT", "therapist", 1),) if "ortopedi" in slug else ()
        return (("LE", "doctor", 2), ("SP", "nurse", 1), ("HE", "secretary", 1), *extra)
    # wards; midwives work the maternity wards (in the nursing role)
    nurse = "JO" if "fode" in slug or slug == "barsel" else "SP"
    extra = (("PS", "therapist", 1),) if slug.startswith("psyk") else ()
    return (("LE", "doctor", 2), (nurse, "nurse", 3), ("HE", "secretary", 1), *extra)


def _municipal_staffing(kind: str, size: str) -> Staffing:
    small = size == "small"
    if kind == "fastlegekontor":
        doctors = {"small": 2, "medium": 3, "large": 3, "city": 4}[size]
        return (("LE", "doctor", doctors), ("HE", "secretary", 1))
    if kind == "hjemmetjeneste":
        return (("SP", "nurse", 2 if small else 3), ("SP", "unit-leader", 1))
    if kind == "sykehjem":
        return (("LE", "doctor", 1), ("SP", "nurse", 2 if small else 3), ("SP", "unit-leader", 1))
    if kind == "legevakt":
        n = {"small": 1, "medium": 2, "large": 2, "city": 4}[size]
        return (("LE", "doctor", n), ("SP", "nurse", n))
    # helsestasjon: helsesykepleiere (nurses) and, outside the smallest places, a doctor
    return (("SP", "nurse", 1 if small else 2), *((("LE", "doctor", 1),) if not small else ()))


# ---------------------------------------------------------------------------- units
def _trust(key: str, name: str, orgnr: str, digit: int, people: _People) -> HealthTrust:
    units: list[Unit] = []
    serial = 0
    for (slug, cname, ckind, cspec), children in facts.HOSPITAL_UNITS[key]:
        clinic_id = f"{key}-{slug}"
        for uslug, uname, ukind, uspec, parent in [
            (slug, cname, ckind, cspec, key),
            *((s, n, k, sp, clinic_id) for s, n, k, sp in children),
        ]:
            serial += 1
            unit_id = f"{key}-{uslug}"
            units.append(
                Unit(
                    id=unit_id,
                    name=uname,
                    kind=ukind,
                    parent_id=parent,
                    her_id=f"89{digit}{serial:05d}",
                    resh_id=f"9{digit}{serial:06d}",
                    specialty=uspec,
                    staff=people.staff(unit_id, _hospital_staffing(uslug, ukind)),
                )
            )
    return HealthTrust(key=key, name=name, orgnr=orgnr, units=tuple(units))


def unit_count(kind: str, population: int) -> int:
    """How many units of a kind a municipality of this size has."""
    size = size_class(population)
    if kind == "fastlegekontor":
        return 6 if size == "city" else 3 if population >= 50_000 else 2 if size == "large" else 1
    if kind == "hjemmetjeneste":
        return {"small": 1, "medium": 1, "large": 2, "city": 4}[size]
    if kind == "sykehjem":
        return {"small": 1, "medium": 1, "large": 2, "city": 3}[size]
    if kind == "helsestasjon":
        return 2 if size == "city" else 1
    return 1  # legevakt


def _unit_names(number: str, kind: str, count: int) -> Iterator[str]:
    name = short_name(number)
    districts = facts.DISTRICTS.get(number, {}).get(kind)
    if count > 1 and districts:
        pattern = {
            "fastlegekontor": "{} legesenter",
            "hjemmetjeneste": "Hjemmetjenesten {}",
            "sykehjem": "{} helse- og velferdssenter",
            "helsestasjon": "{} helsestasjon",
        }[kind]
        yield from (pattern.format(d) for d in districts[:count])
        return
    several = {
        "fastlegekontor": (f"{name} legekontor", f"{name} legesenter", f"{name} helsesenter"),
        "hjemmetjeneste": (f"Hjemmetjenesten {name} nord", f"Hjemmetjenesten {name} sør"),
        "sykehjem": (f"{name} sykehjem", f"{name} helsetun"),
        "helsestasjon": (f"{name} helsestasjon", f"{name} helsestasjon for ungdom"),
    }
    if count > 1:
        yield from several[kind][:count]
        return
    yield {
        "fastlegekontor": f"{name} legekontor",
        "hjemmetjeneste": f"Hjemmetjenesten i {name}",
        "sykehjem": f"{name} sykehjem",
        "legevakt": f"{name} legevakt",
        "helsestasjon": f"{name} helsestasjon",
    }[kind]


def _catchment(number: str) -> str:
    if number in facts.HNT_CATCHMENT:
        return "hnt"
    return "stolav" if number.startswith("50") else "hmr"


def _municipality(number: str, people: _People) -> Municipality:
    population, postcodes = facts.MUNICIPALITY_FACTS[number]
    size = size_class(population)
    mid = f"kommune-{number}"
    units: list[Unit] = []
    for kind in MUNICIPAL_KINDS:
        count = unit_count(kind, population)
        unit_names = list(_unit_names(number, kind, count))
        if len(unit_names) != count:
            raise AssertionError(f"{number}: {count} {kind} units but {len(unit_names)} names")
        for n, unit_name in enumerate(unit_names, start=1):
            unit_id = f"{mid}-{kind}" if count == 1 else f"{mid}-{kind}-{n}"
            units.append(
                Unit(
                    id=unit_id,
                    name=unit_name,
                    kind=kind,
                    parent_id=mid,
                    her_id=f"8{number}{_KIND_DIGIT[kind]}{n:02d}",
                    staff=people.staff(unit_id, _municipal_staffing(kind, size)),
                )
            )
    return Municipality(
        number=number,
        name=municipalities.MUNICIPALITIES[number],
        county=municipalities.county(number) or "",
        orgnr=synthetic_orgnr(number),
        population=population,
        member=number in facts.MEMBERS,
        postcodes=postcodes,
        trust_key=_catchment(number),
        units=tuple(units),
    )


@functools.cache
def build_region() -> Region:
    """The whole region: the RHF, its three trusts and the 65 municipalities, with staff.

    The same object on every call (built once per process); treat it as read-only.
    """
    people = _People()
    trusts = tuple(
        _trust(key, name, orgnr, digit, people) for key, name, orgnr, digit in facts.TRUSTS
    )
    munis = tuple(_municipality(number, people) for number in sorted(municipalities.MUNICIPALITIES))
    return Region(
        rhf_id=RHF_ID,
        rhf_name=facts.RHF_NAME,
        rhf_orgnr=facts.RHF_ORGNR,
        trusts=trusts,
        municipalities=munis,
    )

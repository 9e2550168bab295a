"""Who a synthetic person is: person numbers, names, address, phone.

Person numbers follow docs/domain.md §4.1. Everyone gets a Skatteetaten *Tenor* test
number (month + 80), which production refuses and the demo accepts
(``allow_test_identities``); the D-nummer variant adds 40 to the day as well. Temporary
hospital H-numbers add 40 to the month and follow every other fødselsnummer rule (they
are real identifiers, not test numbers). The individnummer is drawn from the range that
gives the right century (000–499 for 1900–1999, also 900–999 from 1940; 500–999 for
2000–2039) and its last digit from the sex (even: female), so birth date and sex read
from the number always match the resource.
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from collections.abc import Sequence
from functools import cache
from itertools import accumulate
from typing import Final, Generic, TypeVar

from fellesjournal.demo import names
from fellesjournal.norway.identifiers import with_control_digits

T = TypeVar("T")


class Weighted(Generic[T]):
    """Draw items with given weights in O(log n) per draw."""

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        if not pairs:
            raise ValueError("nothing to choose from")
        self.items = [item for item, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


@cache
def _individ(era: str, parity: int) -> tuple[int, ...]:
    """Individnummer that give the era's century, with the sex's parity (0: female)."""
    ranges = {
        "2000": (range(500, 1000),),
        "1940": (range(0, 500), range(900, 1000)),
        "1900": (range(0, 500),),
    }[era]
    return tuple(i for r in ranges for i in r if i % 2 == parity)


def _era(year: int) -> str:
    if 2000 <= year <= 2039:
        return "2000"
    if 1940 <= year <= 1999:
        return "1940"
    if 1900 <= year <= 1939:
        return "1900"
    raise ValueError(f"no person numbers for birth year {year} here")


def person_number(
    born: datetime.date,
    female: bool,
    rng: random.Random,
    used: set[str],
    *,
    day_add: int = 0,
    month_add: int = 80,
) -> str:
    """A valid, unused person number; adds it to ``used``.

    ``month_add=80`` gives a Tenor test number, ``day_add=40`` a D-nummer and
    ``month_add=40`` (with ``day_add=0``) an H-nummer.
    """
    prefix = [
        *divmod(born.day + day_add, 10),
        *divmod(born.month + month_add, 10),
        *divmod(born.year % 100, 10),
    ]
    candidates = _individ(_era(born.year), 0 if female else 1)
    start = rng.randrange(len(candidates))
    for n in range(len(candidates)):
        individ = candidates[(start + n) % len(candidates)]
        number = with_control_digits("".join(map(str, prefix)) + f"{individ:03d}")
        if number is not None and number not in used:
            used.add(number)
            return number
    raise ValueError(f"no person numbers left for {born}")  # ~450 per day and sex


_COHORT_GIVEN: Final = {
    (sex, cohort): Weighted(table)
    for sex, tables in (("f", names.FEMALE), ("m", names.MALE))
    for cohort, table in tables.items()
}
_FAMILY: Final = Weighted(names.FAMILY)
_MIDDLE: Final = Weighted(names.MIDDLE)
_ORIGIN: Final = Weighted([(i, o[0]) for i, o in enumerate(names.FOREIGN)])


def _cohort(year: int) -> str:
    return "old" if year < 1960 else ("mid" if year < 1990 else "young")


def norwegian_name(
    rng: random.Random, female: bool, born: datetime.date
) -> tuple[list[str], str | None, str]:
    """(given names, mellomnavn or None, family name)."""
    cohort = _cohort(born.year)
    given = [_COHORT_GIVEN[("f" if female else "m", cohort)].pick(rng)]
    if cohort != "young" and rng.random() < 0.2:
        second = rng.choice(names.SECOND_FEMALE if female else names.SECOND_MALE)
        if second != given[0]:
            given.append(second)
    family = _FAMILY.pick(rng)
    middle = None
    if rng.random() < 0.18:
        middle = _MIDDLE.pick(rng)
        if middle == family:
            middle = None
    return given, middle, family


def foreign_name(rng: random.Random, female: bool) -> tuple[int, list[str], str]:
    """(origin index into names.FOREIGN, given names, family name)."""
    origin = _ORIGIN.pick(rng)
    _, women, men, families = names.FOREIGN[origin]
    family = rng.choice(families)
    if female:
        family = names.FEMININE_FORMS.get(family, family)
    return origin, [rng.choice(women if female else men)], family


_STREETS: Final = (
    "Storgata", "Kirkegata", "Skolegata", "Fjordgata", "Sjøgata", "Strand{v}", "Bakkegata",
    "Elvegata", "Park{v}", "Solbakken", "Gran{v}", "Bjørke{v}", "Furu{v}", "Lyng{v}",
    "Rogne{v}", "Fjell{v}", "Havnegata", "Skog{v}", "Ås{v}", "Kirkebakken", "Myr{v}",
    "Mark{v}", "Eng{v}", "Blomster{v}", "Tun{v}", "Utsikten", "Sjø{v}", "Løkke{v}",
    "Nordre gate", "Søndre gate", "Prestegårds{v}", "Stasjons{v}", "Gamle Kongevei",
    "Hage{v}", "Kløver{v}", "Åker{v}", "Bekke{v}", "Hauge{v}", "Li{v}", "Øvre Bakken",
)  # fmt: skip


def street_line(rng: random.Random, town: bool) -> str:
    """A street address; towns say ``-veien``, the countryside ``-vegen``."""
    street = rng.choice(_STREETS).replace("{v}", "veien" if town else "vegen")
    number = str(rng.randint(1, 120 if town else 60))
    if rng.random() < 0.12:
        number += rng.choice("ABCD")
    return f"{street} {number}"


def mobile(rng: random.Random) -> str:
    """An eight-digit Norwegian mobile number (starting 4 or 9), random."""
    return f"+47{rng.choice('49')}{rng.randrange(10_000_000):07d}"


_ASCII: Final = str.maketrans(
    {"æ": "ae", "ø": "o", "å": "aa", "é": "e", "ł": "l", "ś": "s", "ó": "o", "ū": "u",
     "ė": "e", " ": ""}
)  # fmt: skip


def email(given: str, family: str, k: int) -> str:
    """An address in the reserved ``example.com`` domain (RFC 2606): never delivered."""
    return f"{given.lower()}.{family.lower()}{k % 100}@example.com".translate(_ASCII)

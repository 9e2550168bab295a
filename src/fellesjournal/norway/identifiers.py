"""Norwegian identifiers: what a bare number is, and whether it is valid.

Rules and FHIR systems follow ``docs/domain.md`` §4.1–4.3 (HL7 Norway no-basis):

* **Fødselsnummer** ``DDMMYY`` + individnummer ``III`` + control digits ``K1 K2``. Both
  control digits are mod 11 (weights 3,7,6,1,8,9,4,5,2 and 5,4,3,2,7,6,5,4,3,2). The
  birth date must exist in the calendar, and the individnummer gives the century:
  000–499 → 1900–1999, 500–749 with YY ≥ 54 → 1854–1899, 500–999 with YY ≤ 39 →
  2000–2039, 900–999 with YY ≥ 40 → 1940–1999; anything else is invalid.
* **2032 rule** (Skatteetaten): numbers issued from 1 January 2032 accept a remainder of
  0, 1, 2 or 3 for the *first* control digit (weighted sum of D1–K1 mod 11, weight 1 on
  K1); the second control digit is unchanged. Both rules are accepted in parallel, always.
  A number that passes only with remainder 1–3 is a new-style number: its individnummer
  no longer gives the century and it says nothing about sex, so no birth date or sex is
  read from it (the calendar check assumes 20YY). Caveat: a new number that happens to
  have remainder 0 cannot be told apart; it is read, and its century checked, by the old
  table (revisit before 2032).
* **D-nummer** day + 40. **H-nummer** month + 40, otherwise all fødselsnummer rules.
  **FH-nummer** first digit 8 or 9, both control digits by the old rule, no date.
* **Synthetic test identities**: Skatteetaten Tenor month + 80 (with or without D's
  day + 40); NAV/Dolly month + 40, which is the same shape as an H-nummer. A bare
  month + 40 number is therefore classified as ``"hnr"``, the real kind; the FHIR
  system decides: under ``HNR_SYSTEM`` it is an H-nummer, under ``FNR_SYSTEM`` it can
  only be a Dolly test number. Day + 40 *and* month + 40 is not an H-nummer and is
  treated as a Dolly test D-nummer. Test identities are valid only with
  ``allow_test_identities=True``.
* **Organisasjonsnummer** 9 digits, first digit 8 or 9, mod 11 with weights
  3,2,7,6,5,4,3,2 (remainder giving 10 means no valid number).
* **Kommunenummer** 4 digits; codes in Møre og Romsdal (15) and Trøndelag (50) must be
  current (:mod:`fellesjournal.norway.municipalities`), other counties are format-only.
* Format only, because domain.md gives no check rule: HPR-nummer (7–9 digits), HER-id
  and RESH-id (1–10 digits), DUF-nummer (12 digits), apotekkonsesjonsnummer (4 digits,
  from 1001). Apart from DUF, these are whole numbers written without a leading zero.

Reasons are short English sentences naming the broken rule. They never repeat the whole
value, so they are safe to log and to put in an OperationOutcome. Everything here is
pure integer arithmetic on ASCII digits, with no regular expressions and no I/O.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fellesjournal.norway import municipalities

FNR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.2"
#: no-basis Patient.identifier:HNR fixes ``system`` to the literal ``"HNR"`` (and the
#: type to Volven 8327 ``HNR``); ``assigner`` is mandatory. H-numbers are local.
HNR_SYSTEM: Final = "HNR"
FHNR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.3"
HPR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.4"
DUF_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.5"
ORGNR_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.101"
RESH_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.102"
APOTEK_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.4.107"
HER_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.2"
KOMMUNENUMMER_SYSTEM: Final = (
    "https://register.geonorge.no/subregister/sosi-kodelister/kartverket/kommunenummer-alle"
)
BYDEL_SYSTEM: Final = "http://data.ssb.no/api/klass/v1/versions/919"
#: Volven 8327, the code system for ``Identifier.type`` of official person ids.
ID_TYPE_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.1.8327"

#: Alternative system URIs (no-basis NamingSystems) and the preferred system they mean.
ALIASES: Final = {
    "http://hl7.no/fhir/NamingSystem/FNR": FNR_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/DNR": DNR_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/FHNR": FHNR_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/HPR": HPR_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/DUFN": DUF_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/HERid": HER_SYSTEM,
    "http://data.brreg.no/begrep/28155": ORGNR_SYSTEM,
    "urn:oid:2.16.578.1.12.4.1.1.3402": KOMMUNENUMMER_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/kommunenummer": KOMMUNENUMMER_SYSTEM,
    "https://register.geonorge.no/sosi-kodelister/kommunenummer": KOMMUNENUMMER_SYSTEM,
    "urn:oid:2.16.578.1.12.4.1.1.3403": BYDEL_SYSTEM,
    "http://hl7.no/fhir/NamingSystem/bydelsnummer": BYDEL_SYSTEM,
}

PERSON_KINDS: Final = frozenset({"fnr", "dnr", "hnr", "fhnr", "test-fnr"})


@dataclass(frozen=True)
class IdentifierInfo:
    """What a number is and whether it is valid.

    ``kind`` is one of ``"fnr"``, ``"dnr"``, ``"hnr"``, ``"fhnr"``, ``"test-fnr"``,
    ``"hpr"``, ``"orgnr"``, ``"her"``, ``"resh"``, ``"duf"``, ``"apotek"``,
    ``"kommunenummer"`` or ``"unknown"``. ``reason`` is ``None`` exactly when ``valid``.
    ``system`` is the FHIR ``Identifier.system`` the number belongs in (the system it was
    judged in, when that fits its shape), or ``None`` for ``"unknown"``.
    ``birth_date`` is set only for valid person numbers whose century can be read.
    """

    kind: str
    valid: bool
    reason: str | None = None
    system: str | None = None
    birth_date: datetime.date | None = None


def _bad(kind: str, reason: str, system: str | None = None) -> IdentifierInfo:
    return IdentifierInfo(kind, False, reason, system)


def _digits(value: str) -> bytes | None:
    """The value as ASCII digit bytes, or ``None`` (``str.isdigit`` alone accepts '²')."""
    if value.isascii() and value.isdigit():
        return value.encode("ascii")
    return None


def _not_digits(value: str) -> str:
    return "the value is empty" if not value else "the value has characters other than 0-9"


# ---------------------------------------------------------------------------- persons
# A person number's "flavour" is its shape before any policy is applied, with the kind
# and system it has as a bare number, and a name for reasons.
_FLAVOURS: Final = {
    "fnr": ("fnr", FNR_SYSTEM, "a fødselsnummer"),
    "dnr": ("dnr", DNR_SYSTEM, "a D-nummer"),
    "h40": ("hnr", HNR_SYSTEM, "an H-nummer or a NAV/Dolly test number (month + 40)"),
    "h40-d": ("test-fnr", DNR_SYSTEM, "a NAV/Dolly test D-nummer"),
    "tenor": ("test-fnr", FNR_SYSTEM, "a Tenor test number (month + 80)"),
    "tenor-d": ("test-fnr", DNR_SYSTEM, "a Tenor test D-nummer"),
    "fh": ("fhnr", FHNR_SYSTEM, "an FH-nummer"),
}
_BARE_TESTS: Final = frozenset({"h40-d", "tenor", "tenor-d"})

#: Person systems: (kind, name, real flavours, test-identity flavours).
_PERSON_SYSTEMS: Final = {
    FNR_SYSTEM: ("fnr", "a fødselsnummer", frozenset({"fnr"}), frozenset({"tenor", "h40"})),
    DNR_SYSTEM: ("dnr", "a D-nummer", frozenset({"dnr"}), frozenset({"tenor-d", "h40-d"})),
    # domain.md: older systems made H-numbers with first digit 8/9 (the FH shape).
    HNR_SYSTEM: ("hnr", "an H-nummer", frozenset({"h40", "fh"}), frozenset[str]()),
    FHNR_SYSTEM: ("fhnr", "an FH-nummer", frozenset({"fh"}), frozenset[str]()),
}


def _person(d: bytes) -> tuple[str, str | None, datetime.date | None]:
    """Read 11 digit bytes: ``(flavour, reason or None, birth date)``.

    Structural rules only; whether test identities are welcome is decided by callers.
    """
    d0, d1, d2, d3, d4, d5, d6, d7, d8, k1, k2 = (c - 48 for c in d)
    r1 = (3 * d0 + 7 * d1 + 6 * d2 + d3 + 8 * d4 + 9 * d5 + 4 * d6 + 5 * d7 + 2 * d8 + k1) % 11
    r2 = (
        5 * d0 + 4 * d1 + 3 * d2 + 2 * d3 + 7 * d4 + 6 * d5 + 5 * d6 + 4 * d7 + 3 * d8 + 2 * k1 + k2
    ) % 11
    if d0 >= 8:  # FH-nummer: information-free, old control rule only.
        if r1:
            return "fh", "control digit 1 is wrong", None
        if r2:
            return "fh", "control digit 2 is wrong", None
        return "fh", None, None

    day, month = 10 * d0 + d1, 10 * d2 + d3
    d_number = d0 >= 4
    if month >= 80:
        flavour, month = ("tenor-d" if d_number else "tenor"), month - 80
    elif month >= 40:
        flavour, month = ("h40-d" if d_number else "h40"), month - 40
    else:
        flavour = "dnr" if d_number else "fnr"
    if d_number:
        day -= 40

    if r1 > 3:
        return flavour, "control digit 1 is wrong", None
    if r2:
        return flavour, "control digit 2 is wrong", None
    new_rule = r1 != 0
    if not 1 <= month <= 12:
        return flavour, f"month {10 * d2 + d3} is not a valid month", None
    if day < 1 or day > 31:
        return flavour, f"day {10 * d0 + d1} is not a valid day", None

    yy, ind = 10 * d4 + d5, 100 * d6 + 10 * d7 + d8
    if new_rule:
        year = 2000 + yy  # century unknown: check the calendar as if 20YY.
    elif ind < 500:
        year = 1900 + yy
    elif ind < 750 and yy >= 54:
        year = 1800 + yy
    elif yy <= 39:
        year = 2000 + yy
    elif ind >= 900:
        year = 1900 + yy
    else:
        reason = f"individnummer {ind:03d} fits no century for birth year {yy:02d}"
        return flavour, reason, None
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        reason = f"{day:02d}.{month:02d}.{year} is not a valid date"
        return flavour, reason, None
    return flavour, None, (None if new_rule else born)


def _classify_person(d: bytes, allow_test: bool, system: str | None) -> IdentifierInfo:
    """Judge 11 digits as a bare number (``system`` None) or in a person system."""
    flavour, reason, born = _person(d)
    kind, home, name = _FLAVOURS[flavour]
    tests = _BARE_TESTS
    if system is not None:
        own_kind, label, real, tests = _PERSON_SYSTEMS[system]
        if flavour in real:
            kind, home = own_kind, system
        elif flavour in tests:
            kind, home = "test-fnr", system
        elif reason is None:
            reason = f"the number is {name}, not {label}"
    if reason is None and flavour in tests and not allow_test:
        reason = f"this is {name}, and test identities are not accepted"
    if reason is not None:
        return _bad(kind, reason, home)
    return IdentifierInfo(kind, True, None, home, born)


# ------------------------------------------------------------------ other identifiers
def _orgnr(d: bytes) -> str | None:
    if len(d) != 9:
        return f"an organisasjonsnummer has 9 digits, not {len(d)}"
    d0, d1, d2, d3, d4, d5, d6, d7, k = (c - 48 for c in d)
    if d0 < 8:
        return "an organisasjonsnummer starts with 8 or 9"
    r = (3 * d0 + 2 * d1 + 7 * d2 + 6 * d3 + 5 * d4 + 4 * d5 + 3 * d6 + 2 * d7) % 11
    expected = 0 if r == 0 else 11 - r
    if expected == 10:
        return "the first 8 digits give control digit 10, so no such number exists"
    if k != expected:
        return "the control digit is wrong"
    return None


def _kommunenummer(d: bytes) -> str | None:
    if len(d) != 4:
        return f"a kommunenummer has 4 digits, not {len(d)}"
    code = d.decode("ascii")
    county = municipalities.county(code)
    if county is None or code in municipalities.MUNICIPALITIES:
        return None  # outside the served counties only the format can be checked
    retired = municipalities.RETIRED.get(code)
    if retired is not None:
        return f"kommunenummer {code} is no longer in use: {retired}"
    return f"{code} is not a current municipality in {county}"


def _plain_number(
    label: str, shortest: int, longest: int, *, leading_zero: bool = False
) -> Callable[[bytes], str | None]:
    """A format-only checker: ASCII digits, a length range, no leading zero unless told."""
    span = str(shortest) if shortest == longest else f"{shortest} to {longest}"

    def check_number(d: bytes) -> str | None:
        if not shortest <= len(d) <= longest:
            return f"{label} has {span} digits, not {len(d)}"
        if d[0] == 48 and not leading_zero:
            return f"{label} is written without leading zeros"
        return None

    return check_number


_hpr = _plain_number("an HPR-nummer", 7, 9)
_her = _plain_number("a HER-id", 1, 10)
_resh = _plain_number("a RESH-id", 1, 10)
_duf = _plain_number("a DUF-nummer", 12, 12, leading_zero=True)


def _apotek(d: bytes) -> str | None:
    if len(d) != 4:
        return f"an apotekkonsesjonsnummer has 4 digits, not {len(d)}"
    if int(d) < 1001:
        return "an apotekkonsesjonsnummer is 1001 or higher"
    return None


# --------------------------------------------------------------------------- public
_FORMAT_SYSTEMS: Final[dict[str, tuple[str, Callable[[bytes], str | None]]]] = {
    ORGNR_SYSTEM: ("orgnr", _orgnr),
    KOMMUNENUMMER_SYSTEM: ("kommunenummer", _kommunenummer),
    HPR_SYSTEM: ("hpr", _hpr),
    HER_SYSTEM: ("her", _her),
    RESH_SYSTEM: ("resh", _resh),
    DUF_SYSTEM: ("duf", _duf),
    APOTEK_SYSTEM: ("apotek", _apotek),
}
#: What a bare number of each length is taken to be (11 digits: person numbers).
_BY_LENGTH: Final = {
    4: KOMMUNENUMMER_SYSTEM,
    7: HPR_SYSTEM,
    8: HPR_SYSTEM,
    9: ORGNR_SYSTEM,
    12: DUF_SYSTEM,
}


_K1_WEIGHTS: Final = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS: Final = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def with_control_digits(body: str) -> str | None:
    """The 11-digit person number for a 9-digit ``body`` (date + individnummer), by the
    pre-2032 rule, or None when no control digit exists for it. For making numbers
    (demo data, tests); checking is :func:`check`'s job."""
    digits = [int(c) for c in body]
    k1 = _mod11(digits, _K1_WEIGHTS)
    k2 = None if k1 is None else _mod11([*digits, k1], _K2_WEIGHTS)
    if k1 is None or k2 is None:
        return None
    return f"{body}{k1}{k2}"


def _mod11(digits: list[int], weights: tuple[int, ...]) -> int | None:
    k = 11 - sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if k == 11 else (None if k == 10 else k)


def canonical_system(system: str) -> str:
    """The preferred URI for ``system``: aliases resolved, and an ``urn:oid:`` written in
    any case (RFC 8141: the scheme and namespace are case-insensitive) in lower case."""
    if system[:8].lower() == "urn:oid:" and not system.startswith("urn:oid:"):
        system = "urn:oid:" + system[8:]
    return ALIASES.get(system, system)


def classify(
    value: str, *, allow_test_identities: bool = False, system: str | None = None
) -> IdentifierInfo:
    """Say what kind of Norwegian identifier a number is, and whether it is valid.

    Without ``system`` the number is bare and its length decides: 11 digits → person
    numbers (``fnr``, ``dnr``, ``hnr``, ``fhnr``, ``test-fnr``); 9 → ``orgnr``; 7–8 →
    ``hpr``; 12 → ``duf``; 4 → ``kommunenummer``; anything else → ``unknown``. A bare
    number is never taken for a HER-id, RESH-id or 9-digit HPR-nummer.

    With a known ``system`` (or an alias of one) the number is judged by that system's
    rules, as :func:`check` describes; for an unknown system it is classified as bare.
    ``system`` on the result is where the number belongs. Never raises.
    """
    if system is not None:
        system = canonical_system(system)
        if system not in _PERSON_SYSTEMS and system not in _FORMAT_SYSTEMS:
            system = None
    d = _digits(value)
    if system is None:
        if d is None:
            return _bad("unknown", _not_digits(value))
        if len(d) == 11:
            return _classify_person(d, allow_test_identities, None)
        system = _BY_LENGTH.get(len(d))
        if system is None:
            return _bad("unknown", f"no Norwegian identifier has {len(d)} digits")
    elif system in _PERSON_SYSTEMS:
        kind, label, _, _ = _PERSON_SYSTEMS[system]
        if d is None:
            return _bad(kind, _not_digits(value), system)
        if len(d) != 11:
            return _bad(kind, f"{label} has 11 digits, not {len(d)}", system)
        return _classify_person(d, allow_test_identities, system)
    kind, rule = _FORMAT_SYSTEMS[system]
    reason = _not_digits(value) if d is None else rule(d)
    return IdentifierInfo(kind, reason is None, reason, system)


def check(system: str, value: str, *, allow_test_identities: bool = False) -> str | None:
    """Return ``None`` if ``value`` is valid in ``system``, else the reason it is not.

    Alternative URIs in :data:`ALIASES` count as their preferred system. A system this
    module has no rule for (bydelsnummer, local systems) gets ``None``: no opinion.
    Person systems also require the right shape: a D-nummer under ``FNR_SYSTEM`` is
    invalid. Test identities pass only with ``allow_test_identities=True``: Tenor and
    month + 40 (NAV/Dolly) numbers under ``FNR_SYSTEM``, their D-nummer variants under
    ``DNR_SYSTEM``. Under ``HNR_SYSTEM`` a month + 40 number is a real H-nummer.
    """
    canonical = canonical_system(system)
    if canonical not in _PERSON_SYSTEMS and canonical not in _FORMAT_SYSTEMS:
        return None
    if canonical != ALIASES.get(system, system):
        # The same URN in other letters: refused, so that one number has one spelling
        # and uniqueness checks and searches cannot be sidestepped.
        return f"write the system as {canonical}"
    system = canonical
    return classify(value, allow_test_identities=allow_test_identities, system=system).reason


def birth_date(fnr: str) -> datetime.date | None:
    """The birth date in a valid fødselsnummer, D-nummer, H-nummer or test number.

    ``None`` for anything invalid, for FH-numbers (no date) and for numbers that only
    pass the 2032 rule (century unknown). Test identities are decoded too: this reads
    a number, it does not admit it; use :func:`check` for that.
    """
    return classify(fnr, allow_test_identities=True).birth_date


def sex(fnr: str) -> str | None:
    """``"male"`` (odd 9th digit) or ``"female"`` (even) for a valid person number.

    ``None`` where the number carries no sex: invalid numbers, FH-numbers, numbers that
    only pass the 2032 rule, and anyone born in 2032 or later (numbers issued from 2032
    are gender-neutral). A D-nummer issued after 2032 to someone born earlier cannot be
    recognised; take sex from the Folkeregister, not from the number, when it matters.
    """
    born = birth_date(fnr)
    if born is None or born.year >= 2032:
        return None
    return "male" if (ord(fnr[8]) - 48) % 2 else "female"

"""Tests for fellesjournal.norway.identifiers and .municipalities (domain.md §4.1–4.3).

Valid numbers come from a generator written here, independently of the module, and from
published examples: the no-basis examples (HL7Norway/basisprofiler-r4 ``Examples/``),
Skatteetaten's 2032 examples, NAV fnrvalidator's README and ID-porten's test pid.
"""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from fellesjournal.norway import municipalities
from fellesjournal.norway.identifiers import (
    ALIASES,
    DNR_SYSTEM,
    DUF_SYSTEM,
    FHNR_SYSTEM,
    FNR_SYSTEM,
    HER_SYSTEM,
    HNR_SYSTEM,
    HPR_SYSTEM,
    KOMMUNENUMMER_SYSTEM,
    ORGNR_SYSTEM,
    RESH_SYSTEM,
    IdentifierInfo,
    birth_date,
    check,
    classify,
    sex,
)

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
W_ORG = (3, 2, 7, 6, 5, 4, 3, 2)


# ------------------------------------------------------------------------ generators
def with_controls(first9: str, remainder: int = 0) -> str | None:
    """Append K1 (weighted sum incl. K1 ≡ remainder mod 11) and K2 (≡ 0), or None."""
    digits = [int(c) for c in first9]
    k1 = (remainder - sum(d * w for d, w in zip(digits, W1, strict=True))) % 11
    if k1 == 10:
        return None
    k2 = -sum(d * w for d, w in zip([*digits, k1], W2, strict=True)) % 11
    if k2 == 10:
        return None
    return f"{first9}{k1}{k2}"


def with_org_control(first8: str) -> str | None:
    r = sum(int(c) * w for c, w in zip(first8, W_ORG, strict=True)) % 11
    k = 0 if r == 0 else 11 - r
    return None if k == 10 else f"{first8}{k}"


def individnummer_ranges(year: int) -> list[tuple[int, int]]:
    """The standard table: which individnummer a birth year may have."""
    if year < 1900:
        return [(500, 749)]
    if year < 2000:
        return [(0, 499), (900, 999)] if year >= 1940 else [(0, 499)]
    return [(500, 999)]


@st.composite
def person_numbers(
    draw: st.DrawFn, *, day_plus: int = 0, month_plus: int = 0
) -> tuple[str, datetime.date, int]:
    """(number, birth date, individnummer) under the pre-2032 rule."""
    born = draw(st.dates(datetime.date(1854, 1, 1), datetime.date(2039, 12, 31)))
    lo, hi = draw(st.sampled_from(individnummer_ranges(born.year)))
    ind = draw(st.integers(lo, hi))
    first9 = f"{born.day + day_plus:02d}{born.month + month_plus:02d}{born.year % 100:02d}{ind:03d}"
    value = with_controls(first9)
    assume(value is not None)
    assert value is not None
    return value, born, ind


@st.composite
def new_rule_numbers(draw: st.DrawFn, *, day_plus: int = 0) -> str:
    """Numbers that pass only under the 2032 rule (K1 remainder 1, 2 or 3)."""
    born = draw(st.dates(datetime.date(2000, 1, 1), datetime.date(2099, 12, 31)))
    ind = draw(st.integers(0, 999))
    first9 = f"{born.day + day_plus:02d}{born.month:02d}{born.year % 100:02d}{ind:03d}"
    value = with_controls(first9, remainder=draw(st.integers(1, 3)))
    assume(value is not None)
    assert value is not None
    return value


@st.composite
def fh_numbers(draw: st.DrawFn) -> str:
    value = with_controls(str(draw(st.integers(800_000_000, 999_999_999))))
    assume(value is not None)
    assert value is not None
    return value


@st.composite
def org_numbers(draw: st.DrawFn) -> str:
    value = with_org_control(str(draw(st.integers(80_000_000, 99_999_999))))
    assume(value is not None)
    assert value is not None
    return value


def fnr(first9: str, remainder: int = 0) -> str:
    value = with_controls(first9, remainder)
    assert value is not None, f"{first9} has no control digits"
    return value


# (strategy, system the number belongs to, needs allow_test_identities)
PERSON_CASES = {
    "fnr": (person_numbers().map(lambda t: t[0]), FNR_SYSTEM, False),
    "dnr": (person_numbers(day_plus=40).map(lambda t: t[0]), DNR_SYSTEM, False),
    "hnr": (person_numbers(month_plus=40).map(lambda t: t[0]), HNR_SYSTEM, False),
    "fhnr": (fh_numbers(), FHNR_SYSTEM, False),
    "tenor": (person_numbers(month_plus=80).map(lambda t: t[0]), FNR_SYSTEM, True),
    "tenor-d": (
        person_numbers(day_plus=40, month_plus=80).map(lambda t: t[0]),
        DNR_SYSTEM,
        True,
    ),
    "dolly": (person_numbers(month_plus=40).map(lambda t: t[0]), FNR_SYSTEM, True),
    "dolly-d": (
        person_numbers(day_plus=40, month_plus=40).map(lambda t: t[0]),
        DNR_SYSTEM,
        True,
    ),
    "fnr-2032": (new_rule_numbers(), FNR_SYSTEM, False),
    "dnr-2032": (new_rule_numbers(day_plus=40), DNR_SYSTEM, False),
}


def _tagged(
    numbers: st.SearchStrategy[str], system: str, test: bool
) -> st.SearchStrategy[tuple[str, str, bool]]:
    return st.tuples(numbers, st.just(system), st.just(test))


any_valid = st.one_of(
    *[_tagged(numbers, system, test) for numbers, system, test in PERSON_CASES.values()],
    _tagged(org_numbers(), ORGNR_SYSTEM, False),
)


# ---------------------------------------------------------------- published examples
@pytest.mark.parametrize(
    ("value", "born", "expected_sex"),
    [
        ("21030550231", datetime.date(2005, 3, 21), "female"),  # no-basis Jannice Søreng
        ("04021950128", datetime.date(2019, 2, 4), "male"),  # no-basis RelatedPerson
        ("15080050515", datetime.date(2000, 8, 15), "male"),  # no-basis Solid æresdoktor
        ("05073500186", datetime.date(1935, 7, 5), "male"),  # no-basis Ærlend Sørgård
        ("30108299920", datetime.date(1982, 10, 30), "male"),  # Skatteetaten 2032, rest 0
    ],
)
def test_published_fodselsnummer(value: str, born: datetime.date, expected_sex: str) -> None:
    assert classify(value) == IdentifierInfo("fnr", True, None, FNR_SYSTEM, born)
    assert check(FNR_SYSTEM, value) is None
    assert birth_date(value) == born
    assert sex(value) == expected_sex


def test_no_basis_invalid_and_masked_examples() -> None:
    assert check(FNR_SYSTEM, "13057444850") == "control digit 2 is wrong"  # ^example value
    masked = classify("210377xxxxx")  # Espen Eksempel, masked
    assert (masked.kind, masked.valid) == ("unknown", False)
    assert check(FNR_SYSTEM, "210377xxxxx") == "the value has characters other than 0-9"


def test_skatteetaten_2032_examples() -> None:
    # Born 02.01.2032: valid, but from 2032 numbers carry no sex.
    assert classify("02013299997").valid
    assert sex("02013299997") is None
    # Second number on 30.10.1982 in 2032: K1 remainder 1, valid only by the new rule.
    info = classify("30108299939")
    assert (info.kind, info.valid, info.birth_date) == ("fnr", True, None)
    assert sex("30108299939") is None
    assert check(FNR_SYSTEM, "30108299939") is None


def test_navikt_and_idporten_examples() -> None:
    assert classify("13527248013").kind == "hnr"  # navikt fnrvalidator hnr example
    assert classify("13527248013").birth_date == datetime.date(1972, 12, 13)
    tenor = classify("10915596784")  # navikt "tnr" (Tenor, month + 80)
    assert (tenor.kind, tenor.valid) == ("test-fnr", False)
    assert tenor.reason is not None and "test identities are not accepted" in tenor.reason
    pid = classify("47906701517", allow_test_identities=True)  # ID-porten test pid
    assert pid == IdentifierInfo("test-fnr", True, None, DNR_SYSTEM, datetime.date(1967, 10, 7))


# ------------------------------------------------------------------ person numbers
@given(person_numbers())
def test_fodselsnummer_round_trip(case: tuple[str, datetime.date, int]) -> None:
    value, born, ind = case
    assert classify(value) == IdentifierInfo("fnr", True, None, FNR_SYSTEM, born)
    assert check(FNR_SYSTEM, value) is None
    expected = None if born.year >= 2032 else ("male" if ind % 2 else "female")
    assert sex(value) == expected


@given(person_numbers(day_plus=40))
def test_d_nummer_round_trip(case: tuple[str, datetime.date, int]) -> None:
    value, born, _ = case
    assert classify(value) == IdentifierInfo("dnr", True, None, DNR_SYSTEM, born)
    assert check(DNR_SYSTEM, value) is None
    assert check(FNR_SYSTEM, value) == "the number is a D-nummer, not a fødselsnummer"
    assert birth_date(value) == born


@given(person_numbers(month_plus=40))
def test_month_plus_40_is_h_nummer_or_dolly_by_system(
    case: tuple[str, datetime.date, int],
) -> None:
    value, born, _ = case
    assert classify(value) == IdentifierInfo("hnr", True, None, HNR_SYSTEM, born)
    assert classify(value, allow_test_identities=True).kind == "hnr"
    assert check(HNR_SYSTEM, value) is None
    # Under FNR it can only be a NAV/Dolly synthetic number.
    refused = check(FNR_SYSTEM, value)
    assert refused is not None and "test identities are not accepted" in refused
    assert check(FNR_SYSTEM, value, allow_test_identities=True) is None
    assert classify(value, system=FNR_SYSTEM, allow_test_identities=True).kind == "test-fnr"
    assert check(DNR_SYSTEM, value, allow_test_identities=True) is not None


@given(person_numbers(day_plus=40, month_plus=40))
def test_dolly_d_nummer_is_a_test_identity(case: tuple[str, datetime.date, int]) -> None:
    value, born, _ = case
    assert not classify(value).valid
    assert classify(value, allow_test_identities=True) == IdentifierInfo(
        "test-fnr", True, None, DNR_SYSTEM, born
    )
    assert check(DNR_SYSTEM, value, allow_test_identities=True) is None
    assert check(HNR_SYSTEM, value) is not None


@given(person_numbers(month_plus=80), st.booleans())
def test_tenor_numbers_need_test_identities(
    case: tuple[str, datetime.date, int], d_number: bool
) -> None:
    value, born, _ = case
    system = FNR_SYSTEM
    if d_number:
        value = with_controls(f"{int(value[:2]) + 40}{value[2:9]}") or ""
        assume(value)
        system = DNR_SYSTEM
    off = classify(value)
    assert (off.kind, off.valid, off.system, off.birth_date) == ("test-fnr", False, system, None)
    assert off.reason is not None and off.reason.endswith("test identities are not accepted")
    assert check(system, value) == off.reason
    on = classify(value, allow_test_identities=True)
    assert on == IdentifierInfo("test-fnr", True, None, system, born)
    assert check(system, value, allow_test_identities=True) is None
    assert birth_date(value) == born  # decoding is not admitting


@given(fh_numbers())
def test_fh_nummer(value: str) -> None:
    assert classify(value) == IdentifierInfo("fhnr", True, None, FHNR_SYSTEM, None)
    assert check(FHNR_SYSTEM, value) is None
    assert check(HNR_SYSTEM, value) is None  # older H-numbers used first digit 8/9
    assert check(FNR_SYSTEM, value) == "the number is an FH-nummer, not a fødselsnummer"
    assert birth_date(value) is None
    assert sex(value) is None


def test_fh_nummer_does_not_take_the_2032_rule() -> None:
    value = fnr("812345678", remainder=2)
    assert check(FHNR_SYSTEM, value) == "control digit 1 is wrong"


def test_wrong_system_for_the_shape() -> None:
    assert check(DNR_SYSTEM, "21030550231") == "the number is a fødselsnummer, not a D-nummer"
    assert check(HNR_SYSTEM, "21030550231") == "the number is a fødselsnummer, not an H-nummer"
    assert check(FHNR_SYSTEM, "21030550231") == ("the number is a fødselsnummer, not an FH-nummer")
    assert check(FNR_SYSTEM, "2103055023") == "a fødselsnummer has 11 digits, not 10"


# --------------------------------------------------------------------- the 2032 rule
@given(new_rule_numbers())
def test_2032_rule_accepts_k1_remainders_1_to_3(value: str) -> None:
    info = classify(value)
    assert (info.kind, info.valid, info.birth_date) == ("fnr", True, None)
    assert check(FNR_SYSTEM, value) is None
    assert sex(value) is None


@given(new_rule_numbers(day_plus=40))
def test_2032_rule_applies_to_d_nummer(value: str) -> None:
    assert check(DNR_SYSTEM, value) is None


@given(st.integers(4, 10), person_numbers())
def test_k1_remainders_4_to_10_are_rejected(
    remainder: int, case: tuple[str, datetime.date, int]
) -> None:
    value = with_controls(case[0][:9], remainder)
    assume(value is not None)
    assert value is not None
    assert classify(value).reason == "control digit 1 is wrong"


def test_2032_rule_keeps_k2_strict() -> None:
    value = fnr("301082999", remainder=1)
    bad = value[:10] + str((int(value[10]) + 1) % 10)
    assert classify(bad).reason == "control digit 2 is wrong"


# ---------------------------------------------------------------- dates and century
@pytest.mark.parametrize(
    ("first9", "reason"),
    [
        ("011390123", "month 13 is not a valid month"),
        ("010090124", "month 0 is not a valid month"),
        ("015390123", "month 53 is not a valid month"),
        ("013390123", "month 33 is not a valid month"),
        ("320190123", "day 32 is not a valid day"),
        ("000190123", "day 0 is not a valid day"),
        ("720190123", "day 72 is not a valid day"),
        ("310490123", "31.04.1990 is not a valid date"),
        ("290200123", "29.02.1900 is not a valid date"),  # individnummer < 500: 1900
        ("290201124", "29.02.1901 is not a valid date"),
        ("690290123", "29.02.1990 is not a valid date"),  # D-nummer
        ("010150800", "individnummer 800 fits no century for birth year 50"),
        ("010145600", "individnummer 600 fits no century for birth year 45"),
    ],
)
def test_invalid_dates_and_centuries(first9: str, reason: str) -> None:
    info = classify(fnr(first9))
    assert (info.valid, info.reason) == (False, reason)


@pytest.mark.parametrize(
    ("first9", "year"),
    [
        ("010100499", 1900),
        ("010154500", 1854),
        ("010199749", 1899),
        ("010140900", 1940),
        ("010139501", 2039),
        ("010100999", 2000),
        ("290200500", 2000),  # 29 February 2000 exists
        ("010153499", 1953),
    ],
)
def test_century_table_boundaries(first9: str, year: int) -> None:
    born = classify(fnr(first9)).birth_date
    assert born is not None and born.year == year


# ---------------------------------------------------------- corruption and robustness
@given(any_valid, st.data())
def test_any_single_digit_corruption_is_detected(
    case: tuple[str, str, bool], data: st.DataObject
) -> None:
    value, system, test = case
    assert check(system, value, allow_test_identities=test) is None
    i = data.draw(st.integers(0, len(value) - 1))
    digit = data.draw(st.sampled_from([c for c in "0123456789" if c != value[i]]))
    corrupt = value[:i] + digit + value[i + 1 :]
    assert check(system, corrupt, allow_test_identities=True) is not None
    assert not classify(corrupt, allow_test_identities=True).valid


@given(st.text(max_size=20), st.sampled_from([None, FNR_SYSTEM, ORGNR_SYSTEM, "urn:x"]))
def test_classify_never_raises_and_is_consistent(value: str, system: str | None) -> None:
    info = classify(value, system=system, allow_test_identities=True)
    assert info.valid == (info.reason is None)
    assert info.birth_date is None or info.valid


@given(st.text(max_size=12))
def test_unknown_systems_have_no_opinion(value: str) -> None:
    assert check("http://example.org/local-mrn", value) is None
    assert check("http://data.ssb.no/api/klass/v1/versions/919", value) is None


@pytest.mark.parametrize("value", ["２１０３０５５０２３１", "2103055023¹", " 21030550231", "-1"])
def test_only_ascii_digits_count(value: str) -> None:
    assert not classify(value).valid
    assert check(FNR_SYSTEM, value) is not None


def test_lengths_without_identifiers() -> None:
    assert classify("123").reason == "no Norwegian identifier has 3 digits"
    assert classify("").reason == "the value is empty"


def test_identifier_info_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        classify("21030550231").valid = False  # type: ignore[misc]


# -------------------------------------------------------------- other identifiers
@pytest.mark.parametrize("value", ["915933149", "974749025", "883974832"])
def test_orgnr_checksum_valid(value: str) -> None:
    assert classify(value) == IdentifierInfo("orgnr", True, None, ORGNR_SYSTEM)
    assert check(ORGNR_SYSTEM, value) is None
    assert check("http://data.brreg.no/begrep/28155", value) is None


def test_orgnr_rules() -> None:
    assert check(ORGNR_SYSTEM, "915933148") == "the control digit is wrong"
    assert check(ORGNR_SYSTEM, "715933149") == "an organisasjonsnummer starts with 8 or 9"
    assert check(ORGNR_SYSTEM, "91593314") == "an organisasjonsnummer has 9 digits, not 8"
    assert check(ORGNR_SYSTEM, "test") == "the value has characters other than 0-9"
    first8 = next(f"{n}" for n in range(80_000_000, 80_001_000) if with_org_control(f"{n}") is None)
    assert check(ORGNR_SYSTEM, first8 + "0") == (
        "the first 8 digits give control digit 10, so no such number exists"
    )


@given(org_numbers())
def test_orgnr_round_trip(value: str) -> None:
    assert classify(value).valid
    assert check(ORGNR_SYSTEM, value) is None


def test_hpr_her_resh_duf_formats() -> None:
    assert classify("9144889") == IdentifierInfo("hpr", True, None, HPR_SYSTEM)
    assert check(HPR_SYSTEM, "565501872") is None
    assert check(HPR_SYSTEM, "914488") == "an HPR-nummer has 7 to 9 digits, not 6"
    assert check("http://hl7.no/fhir/NamingSystem/HPR", "0144889") is not None
    assert check(HER_SYSTEM, "720") is None  # no-basis patient example
    assert check(HER_SYSTEM, "0720") == "a HER-id is written without leading zeros"
    assert classify("720", system=HER_SYSTEM).kind == "her"
    assert check(RESH_SYSTEM, "4001031") is None
    assert classify("4001031", system=RESH_SYSTEM).kind == "resh"
    assert check(RESH_SYSTEM, "40 01031") is not None
    assert classify("201012345678") == IdentifierInfo("duf", True, None, DUF_SYSTEM)
    assert check(DUF_SYSTEM, "20101234567") == "a DUF-nummer has 12 digits, not 11"


def test_aliases_point_at_known_systems() -> None:
    for preferred in ALIASES.values():
        assert preferred.startswith(("urn:oid:", "http"))
    assert check("http://hl7.no/fhir/NamingSystem/FNR", "21030550232") is not None
    assert check("urn:oid:2.16.578.1.12.4.1.1.3402", "1507") is not None


# ---------------------------------------------------------------- kommunenummer
def test_kommunenummer_examples() -> None:
    assert classify("5001") == IdentifierInfo("kommunenummer", True, None, KOMMUNENUMMER_SYSTEM)
    assert municipalities.name("5001") == "Trondheim"
    assert municipalities.name("1508") == "Ålesund"
    assert check(KOMMUNENUMMER_SYSTEM, "1508") is None
    assert check(KOMMUNENUMMER_SYSTEM, "1580") is None
    retired = check(KOMMUNENUMMER_SYSTEM, "1507")
    assert retired is not None and "1508" in retired
    assert check(KOMMUNENUMMER_SYSTEM, "5099") == (
        "5099 is not a current municipality in Trøndelag"
    )
    assert check(KOMMUNENUMMER_SYSTEM, "0301") is None  # other counties: format only
    assert check(KOMMUNENUMMER_SYSTEM, "501") == "a kommunenummer has 4 digits, not 3"


def test_municipality_lists() -> None:
    assert len(municipalities.MORE_OG_ROMSDAL) == 27
    assert len(municipalities.TRONDELAG) == 38
    assert len(municipalities.MUNICIPALITIES) == 65
    for code, name in municipalities.MUNICIPALITIES.items():
        assert len(code) == 4 and code.isdigit() and name
        assert municipalities.county(code) in ("Møre og Romsdal", "Trøndelag")
        assert check(KOMMUNENUMMER_SYSTEM, code) is None
    assert set(municipalities.RETIRED).isdisjoint(municipalities.MUNICIPALITIES)
    assert municipalities.county("0301") is None
    assert municipalities.name("1507") is None

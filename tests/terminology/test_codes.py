"""ICD-10-NO and ICPC-2 in Python terms: lookup, validate_code, expand and filters."""

from __future__ import annotations

import re
import time

import pytest

from fellesjournal.terminology import (
    ICD10_NO,
    ICPC2,
    UnknownValueSet,
    expand,
    lookup,
    preload,
    validate_code,
)
from fellesjournal.terminology.index import folded_key, nordic_key, tokens

ICD_VS = ICD10_NO + "?fhir_vs"
ICPC_VS = ICPC2 + "?fhir_vs"


def _all(url: str, filter_text: str | None = None) -> list[tuple[str, str]]:
    total, concepts = expand(url, filter_text, count=100_000)
    assert total == len(concepts)
    return [(c.code, c.display) for c in concepts]


# --- lookup ----------------------------------------------------------------------------


def test_lookup_icd10_with_and_without_dot() -> None:
    plain = lookup(ICD10_NO, "A000")
    assert plain is not None
    assert plain.display == "Kolera som skyldes Vibrio cholerae 01, biovar cholerae"
    assert plain.system == ICD10_NO
    assert lookup(ICD10_NO, "A00.0") == plain
    # five characters and Norwegian sub-codes keep working with the dot
    assert lookup(ICD10_NO, "B18.00") == lookup(ICD10_NO, "B1800") is not None
    assert lookup(ICD10_NO, "I21.0a") == lookup(ICD10_NO, "I210a") is not None


def test_lookup_icpc2_and_the_oid_aliases() -> None:
    concept = lookup(ICPC2, "K86")
    assert concept is not None and concept.code == "K86"
    assert "hypertensjon" in concept.display.lower()
    assert lookup("urn:oid:2.16.840.1.113883.6.139", "K86") == concept
    assert lookup("urn:oid:2.16.578.1.12.4.1.1.7170", "K86") == concept
    assert lookup("urn:oid:2.16.578.1.12.4.1.1.7110", "A000") == lookup(ICD10_NO, "A000")


@pytest.mark.parametrize(
    ("system", "code"),
    [
        (ICD10_NO, "A00"),  # a heading, not a code of the list
        (ICD10_NO, "a000"),  # codes are case-sensitive
        (ICD10_NO, "Z99.99"),
        (ICD10_NO, "A0.00"),  # the dot only after the third character
        (ICD10_NO, ""),
        (ICPC2, "K86.0"),  # ICPC-2 codes have no dot form
        (ICPC2, "A000"),
        ("http://snomed.info/sct", "38341003"),
        (None, "A000"),
    ],
)
def test_lookup_unknown(system: str | None, code: str) -> None:
    assert lookup(system, code) is None


# --- validate_code ---------------------------------------------------------------------


def test_validate_code() -> None:
    assert validate_code(ICD10_NO, "J45.0") == (True, None)
    assert validate_code(ICPC2, "R95") == (True, None)
    ok, message = validate_code(ICD10_NO, "J45.7")
    assert not ok and message is not None and "J45.7" in message and ICD10_NO in message
    assert validate_code(ICD10_NO, "") == (False, "no code given")
    ok, message = validate_code("http://example.org/x", "J450")
    assert not ok and message is not None and "unknown code system" in message


def test_validate_code_display_ignores_case_accents_and_spacing() -> None:
    assert validate_code(ICD10_NO, "H810", "ménières  SYKDOM") == (True, None)
    assert validate_code(ICD10_NO, "H810", "Menieres sykdom") == (True, None)
    ok, message = validate_code(ICD10_NO, "H810", "Migrene")
    assert not ok and message is not None and "Ménières sykdom" in message


# --- expand ----------------------------------------------------------------------------


def test_expand_everything_in_code_order() -> None:
    icd = _all(ICD_VS)
    assert len(icd) == 19_634
    assert [c for c, _ in icd] == sorted((c for c, _ in icd), key=lambda c: (c.upper(), c))
    assert len(_all(ICPC_VS)) == 708


def test_expand_accepts_the_system_url_and_its_version() -> None:
    assert expand(ICPC2, None, 3)[0] == 708
    assert expand(ICPC_VS + "|2026", None, 3)[0] == 708
    for url in (ICPC_VS + "|1999", "http://example.org/vs", ICD10_NO + "-x", None):
        with pytest.raises(UnknownValueSet):
            expand(url, None, 3)


def test_expand_paging_walks_the_whole_ranked_list() -> None:
    full = _all(ICD_VS, "c")  # code range C... and the word "C" (hepatitt C)
    pages: list[tuple[str, str]] = []
    offset = 0
    while True:
        total, page = expand(ICD_VS, "c", count=37, offset=offset)
        assert total == len(full)
        if not page:
            break
        assert len(page) <= 37
        pages.extend((c.code, c.display) for c in page)
        offset += 37
    assert pages == full
    assert expand(ICD_VS, "c", count=0, offset=0) == (len(full), [])
    assert expand(ICD_VS, "c", count=10, offset=len(full)) == (len(full), [])
    with pytest.raises(ValueError):
        expand(ICD_VS, "c", count=-1)
    with pytest.raises(ValueError):
        expand(ICD_VS, "c", offset=-1)


def test_code_prefix_matches_rank_first_then_code_order() -> None:
    ranked = [code for code, _ in _all(ICD_VS, "c")]
    n_code = sum(1 for code in ranked if code.upper().startswith("C"))
    assert n_code > 400
    assert all(code.startswith("C") for code in ranked[:n_code])
    rest = ranked[n_code:]
    assert "B171" in rest  # "Akutt hepatitt C": a text match after every C code
    assert all(not code.startswith("C") for code in rest)
    assert rest == sorted(rest)
    assert ranked[:n_code] == sorted(ranked[:n_code])


def test_code_filter_ignores_case_and_the_icd_dot() -> None:
    kolera = ("A000", "Kolera som skyldes Vibrio cholerae 01, biovar cholerae")
    assert _all(ICD_VS, "a00.0") == _all(ICD_VS, "A000") == [kolera]
    assert [c for c, _ in _all(ICD_VS, "I21.0")][:3] == ["I210", "I2101", "I2102"]
    r9 = [c for c, _ in _all(ICPC_VS, "r9")]
    assert r9 == sorted(r9) and all(c.startswith("R9") for c in r9) and "R95" in r9


def test_filter_every_word_must_prefix_a_word_of_the_display() -> None:
    hits = _all(ICPC_VS, "smerte bryst")
    assert ("X18", "Smerte bryst (K)") in hits
    assert all(code != "A11" for code, _ in hits)  # "Brystsmerte": no word starts "smerte"
    for _, display in hits:
        words = tokens(display)
        assert any(w.startswith("smerte") for w in words)
        assert any(w.startswith("bryst") for w in words)
    assert _all(ICPC_VS, "bryst smerte") == hits  # word order does not matter


def test_filter_hjerte_finds_heart_diagnoses() -> None:
    codes = {c for c, _ in _all(ICD_VS, "hjerte")}
    assert {"I500", "I509"} <= codes  # hjertesvikt
    assert "I210" in {c for c, _ in _all(ICD_VS, "hjerteinf")}
    assert _all(ICD_VS, "HJERTE") == _all(ICD_VS, "hjerte") == _all(ICD_VS, " Hjerte ")
    for _, display in _all(ICD_VS, "hjerte"):
        assert re.search(r"(^|\W)hjerte", display.lower())


def test_filter_with_norwegian_letters_matches_only_those_letters() -> None:
    oe = _all(ICPC_VS, "ø")
    assert ("F01", "Øyesmerte") in oe
    assert all(any(w.startswith("ø") for w in tokens(d)) for _, d in oe)
    hoe = {d for _, d in _all(ICD_VS, "hø")}
    assert any("høyre" in d.lower() for d in hoe)
    assert not any(d.lower().startswith("hode") for d in hoe)


def test_filter_without_norwegian_letters_also_finds_them() -> None:
    # a keyboard without æ/ø/å: o = ø, ae = æ, aa = å (normalize_string's folding)
    assert (
        {c for c, _ in _all(ICD_VS, "hoyresidig")}
        == {c for c, _ in _all(ICD_VS, "høyresidig")}
        != set()
    )
    assert _all(ICPC_VS, "aa") == _all(ICPC_VS, "å")
    assert ("K95", "Åreknuter underekstremitet") in _all(ICPC_VS, "aa")
    assert _all(ICD_VS, "aarsak") == _all(ICD_VS, "årsak") != []
    assert {c for c, _ in _all(ICD_VS, "blaere")} == {c for c, _ in _all(ICD_VS, "blære")} != set()


def test_filter_ignores_accents() -> None:
    assert ("H810", "Ménières sykdom") in _all(ICD_VS, "menier")
    assert ("H810", "Ménières sykdom") in _all(ICD_VS, "ménier")
    assert ("C880", "Waldenströms makroglobulinemi") in _all(ICD_VS, "waldenstrom")
    assert ("C880", "Waldenströms makroglobulinemi") in _all(ICD_VS, "waldenstrø")


def test_filter_splits_at_punctuation() -> None:
    codes = [c for c, _ in _all(ICD_VS, "covid-19")]
    assert "U071" in codes and "U072" in codes
    assert _all(ICD_VS, "zzzzq") == []
    assert _all(ICD_VS, "---") == []
    assert len(_all(ICD_VS, "   ")) == 19_634  # blank: no filter


def _reference(url: str, filter_text: str) -> list[str]:
    """The documented matching rule, brute force over every concept."""
    _, concepts = expand(url, None, count=100_000)
    key = filter_text.strip().upper()
    if url.startswith(ICD10_NO) and len(key) > 3 and key[3] == ".":
        key = key[:3] + key[4:]
    code_hits = [c.code for c in concepts if " " not in key and c.code.upper().startswith(key)]
    wanted = tokens(filter_text)

    def word_match(display: str) -> bool:
        words = tokens(display)
        for w in wanted:
            if any(ch in "æøåäö" for ch in w):
                ok = any(nordic_key(t).startswith(nordic_key(w)) for t in words)
            else:
                ok = any(folded_key(t).startswith(folded_key(w)) for t in words)
            if not ok:
                return False
        return bool(wanted)

    text_hits = [c.code for c in concepts if c.code not in code_hits and word_match(c.display)]
    return code_hits + text_hits


@pytest.mark.parametrize(
    "filter_text",
    ["h", "hj", "hje", "ø", "bry", "sm br", "a0", "e11", "K8", "kr ob", "ut av", "d"],
)
def test_index_agrees_with_brute_force(filter_text: str) -> None:
    for url in (ICD_VS, ICPC_VS):
        assert [c for c, _ in _all(url, filter_text)] == _reference(url, filter_text)


def test_expand_with_filter_is_fast() -> None:
    preload()
    prefixes = [
        w[:n] for w in ("hjerte", "smerte", "diabetes", "brudd", "astma") for n in (1, 3, 5)
    ]
    prefixes += ["smerte br", "I2", "J45.", "k86", "høyre", "akutt hj"]
    for p in prefixes:  # warm the prefix cache, as a running server has it
        expand(ICD_VS, p, 20)
    times = []
    for p in prefixes * 5:
        t0 = time.perf_counter()
        expand(ICD_VS, p, 20)
        times.append(time.perf_counter() - t0)
    times.sort()
    assert times[len(times) // 2] < 0.002  # measured ~0.05 ms; generous for busy CI

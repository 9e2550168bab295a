"""Property tests for ``fellesjournal.search.params``: value splitting, prefixes, the Parser.

The Parser (and the SQL built from what it accepts) must turn any text a client can send
into either a :class:`SearchRequest` or a :class:`FhirError` (a 400) — never an internal
error.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from fellesjournal.fhir.errors import FhirError
from fellesjournal.search.params import (
    PREFIXES,
    Parser,
    SearchRequest,
    split_prefix,
    split_values,
    unescape,
)
from fellesjournal.search.registry import load_registry
from fellesjournal.search.sql import build_search, sort_columns

REGISTRY = load_registry()
TYPES = ("Patient", "Observation", "Encounter", "Practitioner", "ValueSet")
NUMBER_START = re.compile(r"[-+]?\.?[0-9]", re.ASCII)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,")


# ----------------------------------------------------------------------------- split_values


@given(st.lists(st.text(), min_size=1, max_size=6))
def test_split_values_round_trips_escaped_values(values: list[str]) -> None:
    parts = split_values(",".join(_escape(v) for v in values))
    assert tuple(unescape(p) for p in parts) == tuple(values)


@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters=",\\")), min_size=1, max_size=6)
)
def test_split_values_without_escapes_is_a_plain_split(values: list[str]) -> None:
    raw = ",".join(values)
    assert split_values(raw) == tuple(values) == tuple(raw.split(","))


@given(st.text())
def test_split_values_count_matches_unescaped_commas(raw: str) -> None:
    parts = split_values(raw)
    assert len(parts) >= 1
    if "\\" not in raw:
        assert len(parts) == raw.count(",") + 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a,b", ("a", "b")),
        ("a\\,b", ("a,b",)),
        ("a\\\\,b", ("a\\", "b")),
        ("a\\|b", ("a|b",)),
        ("", ("",)),
        (",", ("", "")),
        ("a\\", ("a\\",)),
    ],
)
def test_split_values_examples(raw: str, expected: tuple[str, ...]) -> None:
    # split_values undoes ``\,`` only; the value parsers unescape the rest (``\|`` must
    # survive until the token parser splits on unescaped bars).
    assert tuple(unescape(p) for p in split_values(raw)) == expected


# ----------------------------------------------------------------------------- split_prefix

_numbers = st.from_regex(r"\A[0-9][0-9.\-T:Z]{0,20}\Z")


@given(st.sampled_from(PREFIXES), _numbers)
def test_split_prefix_recognises_every_prefix_before_a_digit(prefix: str, rest: str) -> None:
    assert split_prefix(prefix + rest) == (prefix, rest)


@given(st.sampled_from(PREFIXES), st.from_regex(r"\A[0-9]+(\.[0-9]+)?\Z"))
def test_split_prefix_keeps_signed_numbers(prefix: str, number: str) -> None:
    assert split_prefix(f"{prefix}-{number}") == (prefix, f"-{number}")


_near_numbers = st.one_of(st.text(), st.from_regex(r"\A[-+.]{0,2}[^0-9]?.{0,3}\Z"))


@given(st.sampled_from(PREFIXES), _near_numbers)
def test_split_prefix_ignores_prefix_before_non_numbers(prefix: str, rest: str) -> None:
    # a prefix only counts before a number: a digit, or a sign or point and then a digit
    assume(NUMBER_START.match(rest) is None)
    assert split_prefix(prefix + rest) == ("eq", prefix + rest)


@given(st.text())
def test_split_prefix_is_a_split(value: str) -> None:
    prefix, rest = split_prefix(value)
    assert prefix in PREFIXES
    assert prefix + rest == value or (prefix == "eq" and rest == value)
    if value[:1].isdigit():
        assert (prefix, rest) == ("eq", value)
    if rest != value:  # a prefix was taken off: a number must follow it
        assert NUMBER_START.match(rest) is not None


@pytest.mark.parametrize(
    "value", ["GT5", "Gt5", "gt", "ne", "apple", "eb-", "sample", "le x", "ge\u0665"]
)
def test_split_prefix_needs_a_lowercase_prefix_and_a_number(value: str) -> None:
    assert split_prefix(value) == ("eq", value)


# ----------------------------------------------------------------------------- Parser

_param_names = sorted({code for t in TYPES for code in REGISTRY.params_for(t)})
_modifiers = [
    "",
    ":exact",
    ":contains",
    ":missing",
    ":not",
    ":text",
    ":of-type",
    ":below",
    ":above",
    ":identifier",
    ":Patient",
    ":Practitioner",
    ":Group",
    ":iterate",
    ":",
    ":nosuch",
]
_result = [
    "_sort",
    "_count",
    "_offset",
    "_include",
    "_revinclude",
    "_include:iterate",
    "_revinclude:iterate",
    "_summary",
    "_elements",
    "_total",
    "_id",
    "_has",
    "_format",
]


@st.composite
def _keys(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.text(max_size=30))
    if kind == 1:
        return draw(st.sampled_from(_result))
    name = draw(st.sampled_from(_param_names)) + draw(st.sampled_from(_modifiers))
    if kind == 2:
        return name
    if kind == 3:  # chains, possibly malformed
        parts = [name, *draw(st.lists(st.sampled_from([*_param_names, ""]), max_size=3))]
        return ".".join(parts)
    if kind == 4:  # reverse chains, possibly malformed
        pieces = draw(
            st.lists(st.sampled_from([*TYPES, *_param_names, "_has", "", "Nope"]), max_size=6)
        )
        return ":".join(["_has", *pieces])
    return name + draw(st.text(max_size=8))


_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "true",
            "false",
            "",
            ",",
            "\\",
            "|",
            "$",
            "a|b|c",
            "x$gt5",
            "gt5|u|mg",
            "Patient/1",
            "http://x/Patient/1",
            "urn:uuid:1",
            "ap2020-01-01",
            "*",
            "-birthdate,_id",
            "Observation:subject",
            "Patient:*",
            "eb1e400",
            "2020-02-30",
            "9" * 400,
            "ge-0",
            "sa.",
            "count",
            "none",
            "-1",
        ]
    ),
    st.builds(lambda p, v: p + v, st.sampled_from(PREFIXES), st.text(max_size=20)),
)

_items = st.lists(st.tuples(_keys(), _values), max_size=5)


def _parser(strict: bool) -> Parser:
    return Parser(REGISTRY, default_count=50, max_count=1000, strict=strict)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from((*TYPES, None)), _items, st.booleans())
def test_parser_raises_only_fhir_errors(
    res_type: str | None, items: list[tuple[str, str]], strict: bool
) -> None:
    try:
        req = _parser(strict).parse(res_type, items)
    except FhirError as exc:
        assert exc.status == 400
        return
    assert isinstance(req, SearchRequest)
    assert 0 <= req.count <= 1000 and req.offset >= 0
    if strict:
        assert req.ignored == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TYPES), _items)
def test_sql_for_any_parsed_request_raises_only_fhir_errors(
    res_type: str, items: list[tuple[str, str]]
) -> None:
    try:
        req = _parser(False).parse(res_type, items)
        stmt = build_search(req, [res_type]).order_by(*sort_columns(res_type, req, REGISTRY))
    except FhirError as exc:
        assert exc.status == 400
        return
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert isinstance(stmt, sa.Select)
        stmt.compile(dialect=dialect)


@pytest.mark.parametrize(
    ("res_type", "items"),
    [
        ("Patient", [("name", "x"), ("birthdate", "ge2020"), ("_sort", "-birthdate")]),
        ("Observation", [("subject:Patient.name", "x"), ("_include", "Observation:subject")]),
        ("Patient", [("_has:Observation:patient:code", "1234-5")]),
        ("Observation", [("code-value-quantity", "http://loinc.org|8480-6$gt100")]),
    ],
)
def test_parser_accepts_valid_queries(res_type: str, items: list[tuple[str, str]]) -> None:
    req = _parser(True).parse(res_type, items)
    assert req.ignored == []
    assert req.criteria or req.sort or req.includes

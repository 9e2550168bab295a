"""The filter index on a tiny made-up list: the matching rules of index.py, one by one."""

from __future__ import annotations

import pytest

from fellesjournal.terminology.index import FilterIndex

CODES = ["A1", "A2", "B1", "B2", "B3", "C1"]
DISPLAYS = [
    "Kaasa syndrom",
    "Årsak ukjent",
    "Hode og hals",
    "Høyre øre, smerte",
    "Waldenströms sykdom",
    "Café-au-lait flekker",
]


def _codes(filter_text: str | None, offset: int = 0, count: int = 100) -> list[str]:
    index = FilterIndex(CODES, DISPLAYS, dotted=False)
    return [CODES[i] for i in index.match(filter_text).positions(offset, count)]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("kå", ["A1"]),  # å = aa, also in a spelling with "aa"
        ("kaa", ["A1"]),
        ("å", ["A2"]),
        ("aa", ["A2"]),
        ("hø", ["B2"]),  # with ø: only words with ø
        ("ho", ["B1", "B2"]),  # without: o also finds ø
        ("øre smer", ["B2"]),
        ("smerte øre", ["B2"]),
        ("smerte hode", []),  # every word must match the same display
        ("waldenstrø", ["B3"]),  # ö = ø
        ("waldenstro", ["B3"]),
        ("cafe au", ["C1"]),  # accents and punctuation
        ("CAFÉ", ["C1"]),
        ("b", ["B1", "B2", "B3"]),  # the code prefix; no display word starts with b
        ("s", ["A1", "B2", "B3"]),
        ("", CODES),
        (None, CODES),
        ("-", []),
    ],
)
def test_matching_rules(filter_text: str | None, expected: list[str]) -> None:
    assert _codes(filter_text) == expected


def test_code_prefix_first_then_code_order() -> None:
    codes = ["A1", "C1", "C2", "H1"]
    displays = ["Fase c", "Annet", "Mer", "Type c"]
    index = FilterIndex(codes, displays, dotted=False)
    match = index.match("c")
    assert match.total == 4
    assert [codes[i] for i in match.positions(0, 10)] == ["C1", "C2", "A1", "H1"]
    assert [codes[i] for i in match.positions(1, 2)] == ["C2", "A1"]
    assert [codes[i] for i in match.positions(3, 2)] == ["H1"]
    assert match.positions(4, 2) == []
    assert match.positions(0, 0) == []


def test_dotted_codes() -> None:
    index = FilterIndex(["A000", "A001", "B000"], ["x", "y", "z"], dotted=True)
    assert index.match("a00.").total == 2
    assert index.match("A00.1").positions(0, 5) == [1]
    plain = FilterIndex(["A000", "A001", "B000"], ["x", "y", "z"], dotted=False)
    assert plain.match("A00.1").total == 0


def test_codes_must_be_sorted() -> None:
    with pytest.raises(ValueError):
        FilterIndex(["B1", "A1"], ["x", "y"], dotted=False)

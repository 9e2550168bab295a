"""Tests for fellesjournal.search.normalize: string folding, date ranges, number ranges."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fellesjournal.search.normalize import (
    DATE_MAX,
    DATE_MIN,
    date_range,
    normalize_string,
    number_range,
)

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


# ----------------------------------------------------------------------------- strings
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ærlig", "aerlig"),
        ("Åse", "aase"),
        ("ÅSE", "aase"),
        ("Bjørn Øvre", "bjorn ovre"),
        ("blåbærsyltetøy", "blaabaersyltetoy"),
        ("a\u030ase", "aase"),  # decomposed å is folded like the precomposed one
        ("José Müller-Lüdenscheidt", "jose muller-ludenscheidt"),
        ("Zoë Çelik", "zoe celik"),
        ("Straße", "strasse"),
        ("Ｆｕｌｌ", "full"),  # NFKD compatibility folding
        ("  Ola \t  Nordmann\n", "ola nordmann"),
        ("MIXED Case", "mixed case"),
        ("", ""),
    ],
)
def test_normalize_string(raw: str, expected: str) -> None:
    assert normalize_string(raw) == expected


def test_normalize_query_side_matches() -> None:
    # "å" and "aa" normalise to the same string, so either spelling finds the other
    assert normalize_string("Ålesund") == normalize_string("Aalesund")
    assert normalize_string("Tromsø") == "tromso"


@given(st.text(max_size=40))
def test_normalize_idempotent(s: str) -> None:
    once = normalize_string(s)
    assert normalize_string(once) == once
    assert once == once.strip()
    assert "  " not in once


# ----------------------------------------------------------------------------- dates
@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("2020", datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        ("2020-02", datetime(2020, 2, 1, tzinfo=UTC), datetime(2020, 3, 1, tzinfo=UTC)),
        ("2021-02", datetime(2021, 2, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)),
        ("2020-12", datetime(2020, 12, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        ("2020-02-29", datetime(2020, 2, 29, tzinfo=UTC), datetime(2020, 3, 1, tzinfo=UTC)),
        ("2020-12-31", datetime(2020, 12, 31, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        (
            "2020-05-17T10:30",
            datetime(2020, 5, 17, 10, 30, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 31, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15Z",
            datetime(2020, 5, 17, 10, 30, 15, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 16, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15",
            datetime(2020, 5, 17, 10, 30, 15, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 16, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15.5Z",
            datetime(2020, 5, 17, 10, 30, 15, 500000, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 15, 600000, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15.123Z",
            datetime(2020, 5, 17, 10, 30, 15, 123000, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 15, 124000, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15.123456Z",
            datetime(2020, 5, 17, 10, 30, 15, 123456, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 15, 123457, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:15.1234567Z",
            datetime(2020, 5, 17, 10, 30, 15, 123456, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 15, 123457, tzinfo=UTC),
        ),
        # offsets: local 10:30 at +02:00 is 08:30Z; at -05:00 it is 15:30Z
        (
            "2020-05-17T10:30:00+02:00",
            datetime(2020, 5, 17, 8, 30, tzinfo=UTC),
            datetime(2020, 5, 17, 8, 30, 1, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:00-05:00",
            datetime(2020, 5, 17, 15, 30, tzinfo=UTC),
            datetime(2020, 5, 17, 15, 30, 1, tzinfo=UTC),
        ),
        (
            "2020-01-01T00:30:00+01:00",
            datetime(2019, 12, 31, 23, 30, tzinfo=UTC),
            datetime(2019, 12, 31, 23, 30, 1, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:00+05:30",
            datetime(2020, 5, 17, 5, 0, tzinfo=UTC),
            datetime(2020, 5, 17, 5, 0, 1, tzinfo=UTC),
        ),
        (
            "2020-05-17T10:30:00+00:00",
            datetime(2020, 5, 17, 10, 30, tzinfo=UTC),
            datetime(2020, 5, 17, 10, 30, 1, tzinfo=UTC),
        ),
        (
            "1969-07-20T20:17:40Z",
            datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),
            datetime(1969, 7, 20, 20, 17, 41, tzinfo=UTC),
        ),
        ("0001-01-01", datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)),
    ],
)
def test_date_range(value: str, low: datetime, high: datetime) -> None:
    assert date_range(value) == (us(low), us(high))


def test_date_range_year_9999() -> None:
    low, high = date_range("9999")
    assert low == us(datetime(9999, 1, 1, tzinfo=UTC))
    assert high == us(datetime(9999, 12, 31, tzinfo=UTC)) + 86_400 * US
    assert DATE_MIN < low < high < DATE_MAX


def test_open_end_constants_fit_int64() -> None:
    assert -(2**63) <= DATE_MIN < date_range("0001")[0]
    assert date_range("9999")[1] < DATE_MAX < 2**63


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abcd",
        "20",
        "2020-1",
        "2020-13",
        "2020-00",
        "2020-02-30",
        "2021-02-29",
        "0000",
        "20200101",
        "2020-01-01T",
        "2020-01-01T24:00:00Z",
        "2020-01-01T10:60:00Z",
        "2020-01-01T10:00:61Z",
        "2020-01-01T10:00:00+15:00",
        "2020-01-01T10:00:00+01:60",
        "2020-01-01 10:00:00",
        "2020-01-01T10:00:00.Z",
        "2020-01-01Z",
        "٢٠٢٠",
    ],
)
def test_date_range_invalid(value: str) -> None:
    with pytest.raises(ValueError):
        date_range(value)


def test_date_range_rejects_non_string() -> None:
    with pytest.raises(ValueError):
        date_range(2020)  # type: ignore[arg-type]


_moments = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))


def _renderings(dt: datetime) -> list[str]:
    """The same instant at every precision, coarsest first (all UTC)."""
    return [
        f"{dt.year:04d}",
        f"{dt.year:04d}-{dt.month:02d}",
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}",
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}",
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}Z",
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}"
        f":{dt.second:02d}.{dt.microsecond // 1000:03d}Z",
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}"
        f":{dt.second:02d}.{dt.microsecond:06d}",
    ]


@given(_moments)
def test_date_range_low_below_high(dt: datetime) -> None:
    for text in _renderings(dt):
        low, high = date_range(text)
        assert DATE_MIN < low < high < DATE_MAX


@given(_moments)
def test_finer_precision_nests_in_coarser(dt: datetime) -> None:
    ranges = [date_range(text) for text in _renderings(dt)]
    for (lo_coarse, hi_coarse), (lo_fine, hi_fine) in itertools.pairwise(ranges):
        assert lo_coarse <= lo_fine < hi_fine <= hi_coarse
    exact = us(dt.replace(tzinfo=UTC))
    assert ranges[-1] == (exact, exact + 1)


@given(_moments, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_offset_shifts_instant(dt: datetime, minutes: int) -> None:
    base = dt.replace(microsecond=0)
    sign = "+" if minutes >= 0 else "-"
    off = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    local = _renderings(base)[4][:-1]  # ...Thh:mm:ss without the Z
    z_low, _ = date_range(local + "Z")
    low, high = date_range(local + off)
    assert low == z_low - minutes * 60 * US
    assert high - low == US


# ----------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    ("text", "value", "low", "high"),
    [
        ("100", 100.0, 99.5, 100.5),
        ("100.0", 100.0, 99.95, 100.05),
        ("100.00", 100.0, 99.995, 100.005),
        ("1e2", 100.0, 50.0, 150.0),
        ("1.0e2", 100.0, 95.0, 105.0),
        ("1E-2", 0.01, 0.005, 0.015),
        ("0.1", 0.1, 0.05, 0.15),
        ("-5.5", -5.5, -5.55, -5.45),
        ("+7", 7.0, 6.5, 7.5),
        ("0", 0.0, -0.5, 0.5),
    ],
)
def test_number_range(text: str, value: float, low: float, high: float) -> None:
    v, lo, hi = number_range(text)
    assert v == value
    assert lo == pytest.approx(low, abs=1e-12)
    assert hi == pytest.approx(high, abs=1e-12)


@pytest.mark.parametrize(
    "text", ["", "abc", "1.2.3", "NaN", "inf", "Infinity", "1e", "--1", "1 ", "0x10"]
)
def test_number_range_invalid(text: str) -> None:
    with pytest.raises(ValueError):
        number_range(text)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_number_range_contains_value(d: object) -> None:
    v, lo, hi = number_range(str(d))
    assert lo <= v <= hi  # (lo < hi exactly, but floats may round both to v)

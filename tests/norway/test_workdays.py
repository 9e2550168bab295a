"""Working days in Norway: weekends and public holidays skipped, over Easter, 1 and 17 May,
Ascension Day and Whit Monday, Christmas and the turn of the year."""

from __future__ import annotations

from datetime import date

import pytest

from fellesjournal.norway.workdays import (
    add_working_days,
    is_holiday,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Christmas and New Year: 25 Dec and 1 Jan are holidays, 24 and 31 Dec are not.
        (date(2026, 12, 18), 10, date(2027, 1, 5)),
        (date(2025, 12, 31), 1, date(2026, 1, 2)),
        (date(2026, 12, 23), 1, date(2026, 12, 24)),
        (date(2026, 12, 24), 1, date(2026, 12, 28)),
        (date(2026, 12, 25), 1, date(2026, 12, 28)),  # counting from a holiday
        # Easter 2026: Maundy Thursday 2 Apr, Good Friday 3 Apr, Easter Monday 6 Apr.
        (date(2026, 3, 31), 3, date(2026, 4, 8)),
        (date(2026, 4, 1), 1, date(2026, 4, 7)),
        # 1 May (a Friday in 2026) and Ascension Day 14 May 2026.
        (date(2026, 4, 30), 1, date(2026, 5, 4)),
        (date(2026, 5, 13), 2, date(2026, 5, 18)),
        # Whit Monday 25 May 2026.
        (date(2026, 5, 22), 1, date(2026, 5, 26)),
        # 2024: Ascension 9 May, 17 May a Friday, Whit Monday 20 May.
        (date(2024, 5, 8), 1, date(2024, 5, 10)),
        (date(2024, 5, 16), 1, date(2024, 5, 21)),
        # 2027: Whit Monday falls on 17 May.
        (date(2027, 5, 14), 1, date(2027, 5, 18)),
        # A plain fortnight, and the weekend.
        (date(2026, 2, 2), 10, date(2026, 2, 16)),
        (date(2026, 2, 6), 1, date(2026, 2, 9)),
        (date(2026, 2, 7), 1, date(2026, 2, 9)),
        # Zero days: the day itself, holiday or not.
        (date(2026, 12, 25), 0, date(2026, 12, 25)),
        (date(2026, 2, 3), 0, date(2026, 2, 3)),
    ],
)
def test_add_working_days(start: date, days: int, expected: date) -> None:
    assert add_working_days(start, days) == expected


def test_negative_days_are_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 5), -1)


@pytest.mark.parametrize(
    ("day", "holiday"),
    [
        (date(2026, 1, 1), True),
        (date(2026, 4, 2), True),
        (date(2026, 4, 3), True),
        (date(2026, 4, 6), True),
        (date(2026, 5, 1), True),
        (date(2026, 5, 14), True),
        (date(2026, 5, 17), True),
        (date(2026, 5, 25), True),
        (date(2026, 12, 25), True),
        (date(2026, 12, 26), True),
        (date(2026, 12, 24), False),
        (date(2026, 12, 31), False),
        (date(2026, 4, 1), False),
        (date(2026, 4, 4), False),  # Easter Saturday: a Saturday, not a holiday
    ],
)
def test_the_calendar(day: date, holiday: bool) -> None:
    assert is_holiday(day) is holiday


def test_working_days_are_weekdays_that_are_not_holidays() -> None:
    assert is_working_day(date(2026, 12, 24))  # a Thursday
    assert not is_working_day(date(2026, 12, 26))
    assert not is_working_day(date(2026, 2, 7))  # a Saturday
    assert not is_working_day(date(2026, 5, 14))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 12, 18), date(2027, 1, 5), 10),
        (date(2027, 1, 5), date(2026, 12, 18), -10),  # over: negative
        (date(2026, 3, 31), date(2026, 4, 8), 3),
        (date(2026, 2, 6), date(2026, 2, 7), 0),  # Friday to Saturday
        (date(2026, 2, 6), date(2026, 2, 9), 1),
        (date(2026, 5, 5), date(2026, 5, 5), 0),
        (date(2026, 12, 24), date(2026, 12, 27), 0),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end) == expected


def test_adding_and_counting_agree_across_a_year() -> None:
    start = date(2026, 11, 2)
    for days in range(0, 60, 7):
        assert working_days_between(start, add_working_days(start, days)) == days

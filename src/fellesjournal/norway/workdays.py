"""Working days in Norway: weekdays that are not public holidays (helligdager).

The legal clocks count working days: the 10 working days for assessing a referral
(pasient- og brukerrettighetsloven § 2-2) run from the day after receipt and skip
Saturdays, Sundays and the public holidays of lov om helligdager og helligdagsfred and
lov om 1. og 17. mai (New Year's Day, Maundy Thursday, Good Friday, Easter Monday, 1 May,
17 May, Ascension Day, Whit Monday, Christmas Day and Boxing Day; Easter and Whitsun
Sundays fall on Sundays). The calendar comes from the maintained ``holidays`` package,
without its option that counts every Sunday as a holiday (weekends are handled here).
Christmas Eve and New Year's Eve are not public holidays and count as working days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def _calendar(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NO", years=year, include_sundays=False))


def is_holiday(day: date) -> bool:
    return day in _calendar(day.year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted).

    ``add_working_days(received, 10)`` is the last day of the assessment deadline.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when ``end``
    is before ``start``): the days left on a clock that ends on ``end``."""
    if end < start:
        return -working_days_between(end, start)
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count

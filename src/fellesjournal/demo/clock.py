"""Local time in Norway for generated timestamps, without a time-zone database.

Norway keeps Central European Time (UTC+01:00) and summer time (UTC+02:00) from the last
Sunday of March, 02:00, to the last Sunday of October, 03:00 (EU rule since 1996). Doing
this by hand keeps the generator free of ``zoneinfo``/``tzdata`` and so byte-identical on
every machine.
"""

from __future__ import annotations

import datetime


def _last_sunday(year: int, month: int) -> datetime.date:
    last = datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)
    return last - datetime.timedelta(days=(last.weekday() + 1) % 7)


def offset(moment: datetime.datetime) -> str:
    """``"+01:00"`` or ``"+02:00"`` for a naive local time in Norway."""
    start = datetime.datetime.combine(_last_sunday(moment.year, 3), datetime.time(2))
    end = datetime.datetime.combine(_last_sunday(moment.year, 10), datetime.time(3))
    return "+02:00" if start <= moment < end else "+01:00"


def instant(moment: datetime.datetime) -> str:
    """A FHIR instant with seconds and Norway's offset: ``2026-03-05T09:30:00+01:00``."""
    return moment.replace(microsecond=0).isoformat() + offset(moment)


def at(day: datetime.date, minutes: int) -> datetime.datetime:
    """``minutes`` after midnight on ``day`` (may run into the next day)."""
    return datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(minutes=minutes)

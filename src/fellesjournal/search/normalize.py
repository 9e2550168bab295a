"""Normalisation helpers shared by index extraction and query parsing.

Contracts
---------
* :func:`normalize_string` - the form stored for (and compared by) ``string`` search:
  casefold, Norwegian letters folded (``å``→``aa``, ``æ``→``ae``, ``ø``→``o``), then NFKD with
  combining marks dropped (``é``→``e``, ``ü``→``u``), whitespace collapsed to single spaces and
  stripped. Pure and total (never raises for a ``str``). The query side must use the same
  function so that ``Ås`` and ``aas`` match.
* :func:`date_range` - a FHIR ``date``/``dateTime``/``instant`` of any precision
  (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm[:ss[.fff…]][Z|±hh:mm]``) to
  ``(low, high)`` in integer microseconds since 1970-01-01T00:00:00Z, ``low`` inclusive and
  ``high`` exclusive (the end of the precision range). A time without a zone is taken as UTC.
  Raises :class:`ValueError` for anything else (including impossible dates such as 02-30).
  ``DATE_MIN``/``DATE_MAX`` (±2**62, inside signed 64-bit) stand for open ends.
* :func:`number_range` - a decimal literal to ``(value, low, high)`` with the implicit precision
  of the FHIR spec: half a unit of the last significant digit either side, so ``100`` →
  99.5..100.5, ``100.00`` → 99.995..100.005, ``1e2`` (one significant figure) → 50..150,
  ``1.0e2`` → 95..105. Raises :class:`ValueError` for non-numbers, NaN and infinities.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

__all__ = ["DATE_MAX", "DATE_MIN", "date_range", "normalize_string", "number_range"]

DATE_MIN = -(2**62)
DATE_MAX = 2**62

_NORDIC = str.maketrans({"å": "aa", "æ": "ae", "ø": "o"})


def normalize_string(s: str) -> str:
    """Return the search-normalised form of ``s`` (see module docstring)."""
    if s.isascii():
        return " ".join(s.lower().split())
    s = unicodedata.normalize("NFC", s.casefold()).translate(_NORDIC)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    # NFKD can expose capitals and Nordic letters again (e.g. "㎴" → "pV"): fold once more so
    # that normalisation is idempotent
    return " ".join(s.casefold().translate(_NORDIC).split())


_DATE_RE = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DAY_US = 86_400_000_000


def _day_us(ordinal: int) -> int:
    return (ordinal - _EPOCH_ORDINAL) * _DAY_US


def date_range(value: str) -> tuple[int, int]:
    """Return ``(low, high)`` microseconds for a FHIR date/dateTime/instant (high exclusive)."""
    m = _DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"not a FHIR date/dateTime: {value!r}")
    ys, ms, ds, hs, mins, ss, frac, tz = m.groups()
    year = int(ys)
    if year < 1:
        raise ValueError(f"year out of range: {value!r}")
    if ms is None:
        low = _day_us(date(year, 1, 1).toordinal())
        return low, _day_us(date(year, 12, 31).toordinal() + 1)
    month = int(ms)
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {value!r}")
    if ds is None:
        low = _day_us(date(year, month, 1).toordinal())
        if month == 12:
            return low, _day_us(date(year, 12, 31).toordinal() + 1)
        return low, _day_us(date(year, month + 1, 1).toordinal())
    try:
        day_low = _day_us(date(year, month, int(ds)).toordinal())
    except ValueError:
        raise ValueError(f"invalid calendar date: {value!r}") from None
    if hs is None:
        return day_low, day_low + _DAY_US
    hour, minute = int(hs), int(mins)
    if hour > 23 or minute > 59:
        raise ValueError(f"time out of range: {value!r}")
    low = day_low + (hour * 3600 + minute * 60) * 1_000_000
    if ss is None:
        step = 60_000_000
    else:
        second = int(ss)
        if second > 60:  # 60 = leap second, allowed by the FHIR regex
            raise ValueError(f"seconds out of range: {value!r}")
        low += second * 1_000_000
        if frac is None:
            step = 1_000_000
        elif len(frac) <= 6:
            step = 10 ** (6 - len(frac))
            low += int(frac) * step
        else:
            low += int(frac[:6])
            step = 1
    if tz and tz != "Z":
        tzh, tzm = int(tz[1:3]), int(tz[4:6])
        if tzh > 14 or tzm > 59:
            raise ValueError(f"timezone offset out of range: {value!r}")
        offset = (tzh * 3600 + tzm * 60) * 1_000_000
        low = low - offset if tz[0] == "+" else low + offset
    return low, low + step


_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def number_range(text: str) -> tuple[float, float, float]:
    """Return ``(value, low, high)`` for a decimal literal with implicit precision."""
    if not isinstance(text, str) or _NUMBER_RE.fullmatch(text) is None:
        raise ValueError(f"not a decimal number: {text!r}")
    try:
        dec = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already rejects these
        raise ValueError(f"not a decimal number: {text!r}") from None
    exponent = dec.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: NaN/inf are rejected by the regex
    half = Decimal(5).scaleb(exponent - 1)
    return float(dec), float(dec - half), float(dec + half)

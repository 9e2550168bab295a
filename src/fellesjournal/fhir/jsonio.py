"""FHIR JSON in and out, keeping decimals exactly as written.

R4 requires a decimal's precision to be kept (``0.40`` stays ``0.40``). orjson parses
numbers into floats, which loses that, but it is many times faster than the standard
library. So :func:`loads` uses orjson and checks the number literals of the text: only
when one of them would not come back the same from a float does it parse again with
the standard library, into :class:`~decimal.Decimal` for those numbers. :func:`dumps`
writes Decimals as their exact text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import orjson

JSONDecodeError = json.JSONDecodeError
"""Raised for malformed JSON by both paths (orjson's error is a subclass of it)."""
# Number literals with a fraction or an exponent (integers survive a float round trip
# unchanged up to 2**53, and orjson parses integers as int anyway). Matches inside
# strings are harmless: they can only send a document down the exact path.
_DECIMAL = re.compile(rb"-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+)")


def _exact(literal: bytes) -> bool:
    text = literal.decode("ascii")
    return repr(float(text)) == text


def floats_suffice(raw: bytes) -> bool:
    """True when every number literal in ``raw`` survives a float round trip."""
    return all(_exact(m) for m in _DECIMAL.findall(raw))


def loads(data: bytes | str, *, floats_ok: bool | None = None) -> Any:
    """Parse JSON; decimals that a float would change are parsed as Decimal.

    ``floats_ok`` passes on an earlier :func:`floats_suffice` answer (bulk import asks
    it in a worker process), saving the scan.
    """
    raw = data.encode() if isinstance(data, str) else data
    if floats_ok if floats_ok is not None else floats_suffice(raw):
        return orjson.loads(raw)
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (RecursionError, UnicodeDecodeError) as exc:
        raise JSONDecodeError(str(exc), "", 0) from None


def loads_inexact(data: bytes | str) -> Any:
    """Parse JSON with every decimal as a float (``0.40`` becomes ``0.4``).

    For reading what is not a number (codes, dates, references) or numbers only charted:
    without the scan for decimals, and with no fallback to the standard library, it is
    several times faster than :func:`loads` on records full of measured values. What is
    shown or stored must come from :func:`loads`.
    """
    return orjson.loads(data)


def _no_constant(name: str) -> Any:
    raise JSONDecodeError(f"{name} is not valid JSON", name, 0)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(str(obj).encode())
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dumps(obj: Any) -> bytes:
    """Serialise to compact JSON; Decimals keep their exact text."""
    return orjson.dumps(obj, default=_default)

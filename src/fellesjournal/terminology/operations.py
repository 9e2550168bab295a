"""Terminology answers in Python terms: look up, validate and expand codes.

Contracts
---------
* :func:`lookup` – the :class:`Concept` for ``code`` in ``system`` (canonical URL or an
  alias), accepting an ICD-10 code with a dot (``A00.0`` finds ``A000``); ``None`` when
  the system or the code is unknown. The concept carries the canonical system and code.
* :func:`validate_code` – ``(True, None)`` for a known code (and, when ``display`` is
  given, a display that equals the code's display ignoring case, accents and spacing),
  else ``(False, message)``; the message names the system and code.
* :func:`expand` – ``(total, concepts)`` of the value set ``url`` (the implicit value set
  ``<system>?fhir_vs`` or the system URL itself) filtered as ``index.py`` describes, ranked
  code-prefix matches first, then by code; ``concepts`` is the page ``offset`` ..
  ``offset + count``. Raises :class:`UnknownValueSet` for any other URL and
  :class:`ValueError` for a negative ``count`` or ``offset``.

All three load the code list on first use (see ``codesystems.py``) and are then pure,
in-memory and thread-safe.
"""

from __future__ import annotations

from fellesjournal.search.normalize import normalize_string
from fellesjournal.terminology.codesystems import Concept, loaded
from fellesjournal.terminology.systems import canonical_code, system_info, value_set_info


class UnknownValueSet(LookupError):
    """The value set URL names no value set this server can expand."""


def lookup(system: str | None, code: str | None) -> Concept | None:
    """The concept ``code`` of ``system``, or ``None`` (see the module docstring)."""
    info = system_info(system)
    if info is None or not code:
        return None
    return loaded(info).by_code.get(canonical_code(info, code))


def validate_code(
    system: str | None, code: str | None, display: str | None = None
) -> tuple[bool, str | None]:
    """``(ok, message)`` for ``code`` in ``system`` (see the module docstring)."""
    if system_info(system) is None:
        return False, f"unknown code system '{system}'"
    if not code:
        return False, "no code given"
    concept = lookup(system, code)
    if concept is None:
        return False, f"'{code}' is not a code of {system}"
    if display is not None and normalize_string(display) != normalize_string(concept.display):
        return (
            False,
            f"the display '{display}' does not match '{concept.display}' "
            f"for {concept.code} in {concept.system}",
        )
    return True, None


def expand(
    url: str | None, filter_text: str | None = None, count: int = 20, offset: int = 0
) -> tuple[int, list[Concept]]:
    """``(total, page)`` of the value set ``url`` (see the module docstring)."""
    if count < 0 or offset < 0:
        raise ValueError("count and offset must not be negative")
    info = value_set_info(url)
    if info is None:
        raise UnknownValueSet(f"unknown value set '{url}'")
    cs = loaded(info)
    match = cs.index.match(filter_text)
    return match.total, [cs.concepts[i] for i in match.positions(offset, count)]

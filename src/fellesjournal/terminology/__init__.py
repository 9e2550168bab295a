"""Terminology: ICD-10 (Norwegian edition) and ICPC-2, served from packaged code lists.

Public API (details in each module's docstring):

* :func:`lookup`, :func:`validate_code`, :func:`expand` (``operations.py``) – what the
  FHIR operations ``CodeSystem/$lookup``, ``$validate-code`` and ``ValueSet/$expand``
  (``api/terminology.py``) answer with; ``expand`` does type-ahead filtering from a
  precomputed index (``index.py``).
* :func:`coding_issues` (``checks.py``) – the write check on ``Condition.code``.
* :func:`system_info`, :func:`value_set_info`, :data:`ICD10_NO`, :data:`ICPC2`
  (``systems.py``) – the known systems, their aliases and implicit value sets.
* :func:`preload` – load and index every code list now rather than at first use
  (about 0.15 s), e.g. at server start so the first type-ahead request is not slow.

The code lists are third-party data; origin and licence are in ``README.md`` here.
"""

from __future__ import annotations

from fellesjournal.terminology.checks import coding_issues
from fellesjournal.terminology.codesystems import Concept, loaded
from fellesjournal.terminology.operations import UnknownValueSet, expand, lookup, validate_code
from fellesjournal.terminology.systems import (
    ICD10_NO,
    ICPC2,
    SYSTEMS,
    SystemInfo,
    system_info,
    value_set_info,
)

__all__ = [
    "ICD10_NO",
    "ICPC2",
    "SYSTEMS",
    "Concept",
    "SystemInfo",
    "UnknownValueSet",
    "coding_issues",
    "expand",
    "lookup",
    "preload",
    "system_info",
    "validate_code",
    "value_set_info",
]


def preload() -> None:
    """Load and index all code lists now (idempotent, thread-safe)."""
    for info in SYSTEMS:
        loaded(info)
